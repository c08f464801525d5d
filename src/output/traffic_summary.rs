//! The summary's tail for real-traffic runs: a row per target, retries, evidence, thresholds
//! (last, where a CI log reader looks).

use crate::stats::hdr::{Percentiles, cell};
use std::fmt::Write as _;

use crate::report::Report;

/// Append the sections that apply to `r` (nothing for a plain run).
pub fn render(out: &mut String, r: &Report) {
    if !r.targets.is_empty() {
        targets_table(
            out,
            "\nTargets (ms, send start -> last body byte, every attempt):",
            &r.targets,
        );
    }
    for stage in r.stages.iter().filter(|s| !s.targets.is_empty()) {
        targets_table(
            out,
            &format!("\nTargets in stage {} (ms, every attempt):", stage.name),
            &stage.targets,
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

/// A table of per-target rows (of the run, or of one stage) under `title`.
fn targets_table(out: &mut String, title: &str, rows: &[crate::stats::rows::StageReport]) {
    let name_w = rows
        .iter()
        .map(|t| t.name.len())
        .max()
        .unwrap_or(6)
        .clamp(6, 60);
    let _ = writeln!(out, "{title}");
    let _ = writeln!(
        out,
        "{:<name_w$} {:>9} {:>7} {:>10} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8}  status codes",
        "target", "requests", "share%", "qps", "err%", "fail%", "avg", "p50", "p99", "max"
    );
    let all: u64 = rows.iter().map(|t| t.requests).sum::<u64>().max(1);
    for t in rows {
        let name: String = t.name.chars().take(60).collect();
        let p = t.latency_ms.measured();
        let v = |pick: fn(&Percentiles) -> f64| cell(p.map(pick), 3);
        let codes = t.outcome_counts();
        let _ = writeln!(
            out,
            "{name:<name_w$} {:>9} {:>7.2} {:>10.1} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8}  {}",
            t.requests,
            t.requests as f64 * 100.0 / all as f64,
            t.qps,
            crate::stats::hdr::percent(t.error_rate),
            crate::stats::hdr::percent(t.failure_rate),
            v(|p| p.mean),
            v(|p| p.p50),
            v(|p| p.p99),
            v(|p| p.max),
            codes.join("  ")
        );
    }
}
