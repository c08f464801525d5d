//! The summary's tail for real-traffic runs: a row per target, retries, evidence, thresholds
//! (last, where a CI log reader looks).

use crate::output::table::{KEEP, Table};
use crate::stats::hdr::{Percentiles, cell};
use std::fmt::Write as _;

use crate::report::Report;

/// Append the sections that apply to `r` (nothing for a plain run).
pub fn render(out: &mut String, r: &Report, width: Option<usize>) {
    if !r.targets.is_empty() {
        targets_table(
            out,
            "\nTargets (ms, send start -> last body byte, every attempt):",
            &r.targets,
            width,
        );
    }
    for stage in r.stages.iter().filter(|s| !s.targets.is_empty()) {
        targets_table(
            out,
            &format!("\nTargets in stage {} (ms, every attempt):", stage.name),
            &stage.targets,
            width,
        );
    }
    if let Some(rt) = &r.retries {
        let _ = writeln!(
            out,
            "\nRetries (--retries {}, backoff from {} ms): {} for {}, {}; {} a retry",
            rt.max_retries,
            rt.backoff_ms,
            crate::parse::count_of(rt.attempts, "attempt", "attempts"),
            crate::parse::count_of(rt.requests, "logical request", "logical requests"),
            crate::parse::count_of(rt.retries, "retry", "retries"),
            crate::parse::count_of(rt.retried_requests, "request needed", "requests needed")
        );
        let _ = writeln!(
            out,
            "Final outcome per logical request: {} ok, {}, {}",
            rt.ok,
            crate::parse::count_of(rt.errors, "HTTP error", "HTTP errors"),
            crate::parse::count_of(rt.failures, "failure", "failures")
        );
        let p = &rt.latency_ms;
        if rt.requests > 0 {
            let _ = writeln!(
                out,
                "Latency per logical request (ms, first send -> last byte, backoff included): \
                 avg {:.3}  p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}",
                p.mean, p.p50, p.p90, p.p99, p.max
            );
        }
    }
    out.push_str(&crate::traffic::evidence::summary(&r.evidence));
    out.push_str(&crate::report::thresholds::summary(&r.thresholds));
}

/// A table of per-target rows (of the run, or of one stage) under `title`; narrowed to
/// `width`, avg, share %, max, the status codes, then fail % go.
fn targets_table(
    out: &mut String,
    title: &str,
    rows: &[crate::stats::rows::StageReport],
    width: Option<usize>,
) {
    let name_w = rows
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(6)
        .clamp(6, 60);
    let _ = writeln!(out, "{title}");
    let mut t = Table::new()
        .column("target", false, name_w, KEEP)
        .column("requests", true, 9, KEEP)
        .column("share %", true, 7, 2)
        .column("qps", true, 10, KEEP)
        .column("err %", true, 7, KEEP)
        .column("fail %", true, 7, 5)
        .column("avg", true, 8, 1)
        .column("p50", true, 8, KEEP)
        .column("p99", true, 8, KEEP)
        .column("max", true, 8, 3)
        .column(" status codes", false, 0, 4);
    let all: u64 = rows.iter().map(|t| t.requests).sum::<u64>().max(1);
    for row in rows {
        let name: String = row.name.chars().take(60).collect();
        let p = row.latency_ms.measured();
        let v = |pick: fn(&Percentiles) -> f64| cell(p.map(pick), 3);
        t.row([
            name,
            row.requests.to_string(),
            format!("{:.2}", row.requests as f64 * 100.0 / all as f64),
            format!("{:.1}", row.qps),
            crate::stats::hdr::percent(row.error_rate),
            crate::stats::hdr::percent(row.failure_rate),
            v(|p| p.mean),
            v(|p| p.p50),
            v(|p| p.p99),
            v(|p| p.max),
            format!(" {}", row.outcome_counts().join("  ")),
        ]);
    }
    out.push_str(&t.render(width));
}
