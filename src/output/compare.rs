//! `qpsbench compare` in text: a row per run with its change from the baseline beneath, then
//! each run's `--fail-on` verdicts. Fits 100 columns.

use std::fmt::Write as _;

use crate::report::compare::{ComparedRun, Comparison};
use crate::stats::hdr::{cell, percent};

/// The widest run name shown; a longer one is cut, ending in `…`.
const NAME_WIDTH: usize = 24;

/// The whole comparison.
pub fn render(c: &Comparison) -> String {
    let width = c
        .runs
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(13, NAME_WIDTH);
    let mut out = format!(
        "Compared with {} (the first run, the baseline): changes of qps and latency in %,\n\
         of the error and failure rates in percentage points (pp)\n\n",
        crate::parse::one_line(c.baseline.clone())
    );
    let _ = writeln!(
        out,
        "{:<width$} {:>9} {:>10} {:>9} {:>9} {:>9} {:>8} {:>9}",
        "run", "requests", "qps", "p50 ms", "p90 ms", "p99 ms", "error %", "failure %"
    );
    for r in &c.runs {
        let _ = writeln!(
            out,
            "{:<width$} {:>9} {:>10.1} {:>9} {:>9} {:>9} {:>8} {:>9}",
            shown_name(&r.name),
            r.requests,
            r.qps,
            cell(r.p50_ms, 3),
            cell(r.p90_ms, 3),
            cell(r.p99_ms, 3),
            percent(r.error_rate),
            percent(r.failure_rate),
        );
        if r.baseline {
            out.push_str("  (baseline)\n");
        } else {
            let _ = writeln!(out, "{}", change_line(r, width));
        }
    }
    for r in c.runs.iter().filter(|r| !r.thresholds.is_empty()) {
        out.push_str(&crate::report::thresholds::summary_titled(
            &format!("Thresholds of {}", crate::parse::one_line(r.name.clone())),
            &r.thresholds,
        ));
    }
    out
}

/// `  vs baseline   -50.6%  +1047.6% ...`: a run's changes under its figures.
fn change_line(r: &ComparedRun, width: usize) -> String {
    let pct = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:+.1}%"));
    let pp = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:+.2}pp"));
    format!(
        "{:<width$} {:>9} {:>10} {:>9} {:>9} {:>9} {:>8} {:>9}",
        "  vs baseline",
        "",
        pct(r.qps_change_pct),
        pct(r.p50_change_pct),
        pct(r.p90_change_pct),
        pct(r.p99_change_pct),
        pp(r.error_rate_change_pp),
        pp(r.failure_rate_change_pp),
    )
}

/// The name as it fits its column, control characters escaped (a report file says what it
/// likes).
fn shown_name(name: &str) -> String {
    let name = crate::parse::one_line(name.to_string());
    if name.chars().count() <= NAME_WIDTH {
        return name;
    }
    let mut cut: String = name.chars().take(NAME_WIDTH - 1).collect();
    cut.push('…');
    cut
}
