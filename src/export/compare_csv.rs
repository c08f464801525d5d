//! `qpsbench compare --csv`: a row per run, the baseline first. Latencies in milliseconds,
//! rates as fractions, changes in % (`_change_pct`) and percentage points (`_change_pp`); an
//! empty cell where nothing was measured or nothing can be compared (the baseline's changes).

use std::fmt::Write as _;

use super::csv::field;
use super::csv_stream::number;
use crate::report::compare::Comparison;

/// The header line's columns.
pub const COLUMNS: &str = "run,file,baseline,requests,qps,p50_ms,p90_ms,p99_ms,error_rate,\
failure_rate,qps_change_pct,p50_change_pct,p90_change_pct,p99_change_pct,error_rate_change_pp,\
failure_rate_change_pp,thresholds_failed,status";

/// The whole file. `thresholds_failed` counts the run's failed `--fail-on` thresholds (empty
/// without any); `status` is `complete`, `interrupted` or `aborted`, as in the run's `--csv`.
pub fn render(c: &Comparison) -> String {
    let mut out = format!("{COLUMNS}\n");
    for r in &c.runs {
        let failed = (!r.thresholds.is_empty()).then(|| {
            r.thresholds
                .iter()
                .filter(|t| !t.passed)
                .count()
                .to_string()
        });
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            field(&r.name),
            field(&r.file),
            r.baseline,
            r.requests,
            r.qps,
            number(r.p50_ms),
            number(r.p90_ms),
            number(r.p99_ms),
            number(r.error_rate),
            number(r.failure_rate),
            number(r.qps_change_pct),
            number(r.p50_change_pct),
            number(r.p90_change_pct),
            number(r.p99_change_pct),
            number(r.error_rate_change_pp),
            number(r.failure_rate_change_pp),
            failed.unwrap_or_default(),
            r.status,
        );
    }
    out
}
