//! The streaming columns of the CSV files, added to the right of the plain ones only when the
//! run streamed (a plain run's CSV is unchanged).

use std::fmt::Write as _;

use crate::report::Report;
use crate::stats::hdr::Percentiles;
use crate::stats::rows::StageReport;

/// Per-request metrics and the column prefix of each.
const METRICS: [&str; 8] = [
    "ttfb_ms",
    "ttft_ms",
    "ttfot_ms",
    "itl_ms",
    "tpot_ms",
    "tokens",
    "tokens_per_s",
    "input_tokens",
];

const STATS: [&str; 7] = ["avg", "min", "p50", "p90", "p95", "p99", "max"];

fn percentiles(s: &StageReport) -> Option<[&Percentiles; 8]> {
    let st = s.stream.as_ref()?;
    Some([
        &s.ttfb_ms,
        &st.ttft_ms,
        st.ttfot_ms.as_ref().unwrap_or(&Percentiles::NONE),
        &st.itl_ms,
        &st.tpot_ms,
        &st.tokens_per_request,
        &st.tokens_per_s,
        &st.input_tokens_per_request,
    ])
}

/// Add the streaming columns to the stage table `csv` (header, each stage, the total).
pub fn extend_stage_table(csv: String, r: &Report) -> String {
    if r.total.stream.is_none() {
        return csv;
    }
    let mut header = String::from(
        ",streams,output_tokens,output_tokens_per_s,input_tokens,input_tokens_per_s,\
         total_tokens_per_s,reasoning_tokens,token_source",
    );
    for m in METRICS {
        let (unit, name) = match m.strip_suffix("_ms") {
            Some(n) => ("_ms", n),
            None => ("", m),
        };
        for s in STATS {
            let _ = write!(header, ",{name}_{s}{unit}");
        }
    }
    for e in crate::stream::EndReason::ALL {
        let _ = write!(header, ",ends_{}", e.key());
    }
    // The stage table's rows: stages, total, then one per --targets entry.
    let rows: Vec<&StageReport> = r
        .warmup
        .iter()
        .chain(&r.stages)
        .chain(std::iter::once(&r.total))
        .chain(&r.targets)
        .collect();
    let mut out = String::with_capacity(csv.len() * 3);
    for (i, line) in csv.lines().enumerate() {
        out.push_str(line);
        if i == 0 {
            out.push_str(&header);
        } else if let Some(s) = rows.get(i - 1) {
            match (s.stream.as_ref(), percentiles(s)) {
                (Some(st), Some(ps)) => {
                    let _ = write!(
                        out,
                        ",{},{},{},{},{},{},{},{}",
                        st.streams,
                        st.output_tokens,
                        st.output_tokens_per_s,
                        st.input_tokens,
                        st.input_tokens_per_s,
                        st.total_tokens_per_s,
                        st.reasoning_tokens,
                        st.token_source
                    );
                    for p in ps {
                        match p.measured() {
                            Some(p) => {
                                for v in [p.mean, p.min, p.p50, p.p90, p.p95, p.p99, p.max] {
                                    let _ = write!(out, ",{v}");
                                }
                            }
                            // Never measured (e.g. TPOT without a complete answer): empty cells.
                            None => out.push_str(&",".repeat(STATS.len())),
                        }
                    }
                    for e in crate::stream::EndReason::ALL {
                        let n = st.end_reasons.get(e.key()).copied().unwrap_or(0);
                        let _ = write!(out, ",{n}");
                    }
                }
                // A stage without streams: counts of 0 (as the series writes them), and empty
                // cells for what was not measured.
                _ => {
                    out.push_str(",0,0,0,0,0,0,0,none");
                    out.push_str(&",".repeat(METRICS.len() * STATS.len()));
                    out.push_str(&",0".repeat(crate::stream::EndReason::ALL.len()));
                }
            }
        }
        out.push('\n');
    }
    out
}

/// Add the streaming columns to the per-second series `csv`.
pub fn extend_series(csv: String, r: &Report) -> String {
    if r.seconds.iter().all(|s| s.stream.is_none()) {
        return csv;
    }
    const HEADER: &str = ",streams,output_tokens,output_tokens_per_s,input_tokens_per_s,\
        total_tokens_per_s,ttft_p50_ms,ttft_p99_ms,itl_p50_ms,itl_p99_ms";
    let mut out = String::with_capacity(csv.len() * 2);
    for (i, line) in csv.lines().enumerate() {
        out.push_str(line);
        if i == 0 {
            out.push_str(HEADER);
        } else {
            match r.seconds.get(i - 1).and_then(|s| s.stream.as_ref()) {
                Some(st) => {
                    let _ = write!(
                        out,
                        ",{},{},{},{},{},{},{},{},{}",
                        st.streams,
                        st.output_tokens,
                        st.output_tokens_per_s,
                        st.input_tokens_per_s,
                        st.total_tokens_per_s,
                        number(st.ttft_p50_ms),
                        number(st.ttft_p99_ms),
                        number(st.itl_p50_ms),
                        number(st.itl_p99_ms)
                    );
                }
                None => out.push_str(",0,0,0,0,0,,,,"),
            }
        }
        out.push('\n');
    }
    out
}

/// A number, or an empty cell when nothing was measured (a spreadsheet's average and pandas'
/// `read_csv` both skip an empty cell; a 0 would be averaged in, a `-` would make the column text).
pub(super) fn number(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}
