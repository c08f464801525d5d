//! `--csv` (one row per stage, then the total) and `--csv-series` (one row per second).

use std::fmt::Write as _;

use super::Exporter;
use super::csv_stream::number;
use crate::report::Report;
use crate::stats::hdr::Percentiles;
use crate::stats::rows::{SecondReport, StageReport};

/// The per-stage table a performance report uses; times in milliseconds, rates as fractions.
/// Every column is listed, with its unit, in the README's table of CSV columns (a test reads
/// it); the last, `status`, says whether the run was `complete`, `interrupted` or `aborted`.
pub struct StageTable;

/// The per-second series.
pub struct Series;

const STAGE_COLUMNS: &str = "stage,users,requests,qps,error_rate,failure_rate,avg_ms,min_ms,\
max_ms,p90_ms,p95_ms,p99_ms,p50_ms,p999_ms,duration_s,ok,errors,failures";

const SERIES_COLUMNS: &str = "second,start_unix_s,interval_s,users,requests,qps,ok,errors,failures,p50_ms,p90_ms,p99_ms,max_ms";

impl Exporter for StageTable {
    fn serialize(&self, r: &Report) -> anyhow::Result<Vec<u8>> {
        let mut out = String::new();
        let checks = has_checks(r);
        out.push_str(STAGE_COLUMNS);
        if checks {
            out.push_str(",check_failures");
        }
        let goodput = r.config.goodput.is_some();
        if goodput {
            out.push_str(",good_requests,goodput_per_s,goodput_ratio");
        }
        out.push('\n');
        // Then one row per --targets entry, named after it.
        // The warm-up's row (named `warmup`) first, when there was one; it is in no other.
        for s in r
            .warmup
            .iter()
            .chain(&r.stages)
            .chain(std::iter::once(&r.total))
            .chain(&r.targets)
        {
            let p = s.latency_ms.measured();
            let v = |pick: fn(&Percentiles) -> f64| number(p.map(pick));
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}{}{}",
                field(&s.name),
                s.users,
                s.requests,
                number(s.measured_qps()),
                number(s.error_rate),
                number(s.failure_rate),
                v(|p| p.mean),
                v(|p| p.min),
                v(|p| p.max),
                v(|p| p.p90),
                v(|p| p.p95),
                v(|p| p.p99),
                v(|p| p.p50),
                v(|p| p.p999),
                s.duration_s,
                s.ok,
                s.errors,
                s.failures,
                check_cell(checks, s.check_failures),
                goodput_cells(goodput, s)
            );
        }
        let out = super::csv_stream::extend_stage_table(out, r);
        Ok(named(with_status(out, r.status()), r).into_bytes())
    }
}

impl Exporter for Series {
    fn serialize(&self, r: &Report) -> anyhow::Result<Vec<u8>> {
        let checks = has_checks(r);
        let mut out = series_header(checks);
        for s in &r.seconds {
            out.push_str(&series_row(r.started_at_unix_ms, s, checks));
        }
        let out = super::csv_stream::extend_series(out, r);
        Ok(named(with_status(out, r.status()), r).into_bytes())
    }
}

/// `,good_requests,goodput_per_s,goodput_ratio` of a row with `--goodput` (empty cells where
/// nothing was judged); nothing without it.
fn goodput_cells(goodput: bool, s: &StageReport) -> String {
    if !goodput {
        return String::new();
    }
    match s.goodput {
        Some(g) => format!(
            ",{},{},{}",
            g.good_requests,
            g.goodput_per_s,
            number(g.goodput_ratio)
        ),
        None => ",,,".to_string(),
    }
}

/// The series' header line (base columns; `check_failures` when the run has checks).
pub fn series_header(checks: bool) -> String {
    let mut out = SERIES_COLUMNS.to_string();
    if checks {
        out.push_str(",check_failures");
    }
    out.push('\n');
    out
}

/// One second's line of the series (base columns), for a run that started at `start_ms`
/// (milliseconds since the Unix epoch).
pub fn series_row(start_ms: u64, s: &SecondReport, checks: bool) -> String {
    let window_ms = start_ms + (s.second - 1) * 1000;
    let qps = if s.interval_s > 0.0 {
        (s.requests as f64 / s.interval_s * 1e3).round() / 1e3
    } else {
        0.0
    };
    format!(
        "{},{:.3},{},{},{},{},{},{},{},{},{},{},{}{}\n",
        s.second,
        window_ms as f64 / 1e3,
        s.interval_s,
        s.users,
        s.requests,
        qps,
        s.ok,
        s.errors,
        s.failures,
        number(s.p50_ms),
        number(s.p90_ms),
        number(s.p99_ms),
        number(s.max_ms),
        check_cell(checks, s.check_failures)
    )
}

/// A CSV text field with a leading `run` column of `name`, for live lines.
pub fn with_run_column(line: &str, name: Option<&str>, header: bool) -> String {
    match name {
        None => line.to_string(),
        Some(_) if header => format!("run,{line}"),
        Some(n) => format!("{},{line}", field(n)),
    }
}

/// The run had checks (`--expect-*`): the tables end with a `check_failures` column.
fn has_checks(r: &Report) -> bool {
    !r.config.checks().is_empty()
}

/// The `check_failures` cell, with its comma; nothing without checks.
fn check_cell(checks: bool, n: u64) -> String {
    if checks {
        format!(",{n}")
    } else {
        String::new()
    }
}

/// `line` (ending in a newline) with a last cell `cell`: the `status` column of a line written
/// on its own (the live series').
pub fn with_status_cell(line: &str, cell: &str) -> String {
    format!("{},{cell}\n", line.trim_end_matches('\n'))
}

/// A last column `status` holding `status` on every row: `complete`, `interrupted` (Ctrl-C,
/// SIGTERM), `aborted` (`--abort-on`), or `running` in the rows `--csv-series` writes as the
/// run goes. A column rather than a comment line, which most CSV readers cannot skip.
pub fn with_status(csv: String, status: &str) -> String {
    let mut out = String::with_capacity(csv.len() + csv.lines().count() * (status.len() + 1));
    for (i, line) in csv.lines().enumerate() {
        out.push_str(line);
        out.push(',');
        out.push_str(if i == 0 { "status" } else { status });
        out.push('\n');
    }
    out
}

/// With `--name`, a first column `run` holding it on every row, so that the files of several
/// runs stack into one table.
fn named(csv: String, r: &Report) -> String {
    let Some(name) = &r.name else {
        return csv;
    };
    let name = field(name);
    let mut out = String::with_capacity(csv.len() + csv.lines().count() * (name.len() + 1));
    for (i, line) in csv.lines().enumerate() {
        out.push_str(if i == 0 { "run" } else { &name });
        out.push(',');
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// One CSV text field, quoted when it must be (RFC 4180); a text a spreadsheet would run as a
/// formula (starting with `=`, `+`, `-`, `@`) is prefixed with `'` (OWASP's CSV injection rule).
pub(super) fn field(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@']) {
        return field(&format!("'{text}"));
    }
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(field("stage 1 (4 users)"), "stage 1 (4 users)");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(field("@SUM(A1),x"), "\"'@SUM(A1),x\"");
    }
}
