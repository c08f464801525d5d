//! The HTML report's sections for real-traffic runs: thresholds, a row per target, retries and
//! evidence. Every string is escaped (target names, headers and bodies come from users and
//! servers).

use std::fmt::Write as _;

use super::page::esc;
use crate::report::Report;
use crate::stats::hdr::{Percentiles, cell, percent};

/// Append the sections that apply to `r` (nothing for a plain run).
pub fn section(h: &mut String, r: &Report) {
    if !r.thresholds.is_empty() {
        h.push_str("<h2 id=\"thresholds\">Thresholds (--fail-on)</h2>\n<table><tr>\
                    <th class=\"l\">threshold</th><th>result</th><th class=\"l\">measured</th></tr>");
        for t in &r.thresholds {
            // A change from a baseline says what limit it made: `baseline 12.3 ms -> limit ...`.
            let measured = match t.baseline_words() {
                Some(b) => format!("{b}, {}", t.measured_words()),
                None => t.measured_words(),
            };
            let _ = write!(
                h,
                "<tr><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
                esc(&t.expression),
                if t.passed { "passed" } else { "<b>FAILED</b>" },
                esc(&measured)
            );
        }
        h.push_str("</table>\n");
    }
    if !r.targets.is_empty() {
        h.push_str("<h2 id=\"targets\">Targets (ms, every attempt)</h2>\n");
        targets_table(h, &r.targets);
    }
    for stage in r.stages.iter().filter(|s| !s.targets.is_empty()) {
        let _ = writeln!(h, "<h3>Targets in stage {} (ms)</h3>", esc(&stage.name));
        targets_table(h, &stage.targets);
    }
    if let Some(rt) = &r.retries {
        let p = rt.latency_ms.measured();
        let v = |pick: fn(&Percentiles) -> f64| cell(p.map(pick), 3);
        let _ = writeln!(
            h,
            "<h2 id=\"retries\">Retries</h2><p>--retries {}, backoff from {} ms: {} attempts for \
             {} logical requests ({} retries; {} requests needed one). Final outcome: {} ok, {} \
             HTTP errors, {} failures. Latency per logical request (ms, backoff included): avg \
             {}, p50 {}, p99 {}, max {}.</p>",
            rt.max_retries,
            rt.backoff_ms,
            rt.attempts,
            rt.requests,
            rt.retries,
            rt.retried_requests,
            rt.ok,
            rt.errors,
            rt.failures,
            v(|p| p.mean),
            v(|p| p.p50),
            v(|p| p.p99),
            v(|p| p.max)
        );
    }
    if !r.evidence.is_empty() {
        h.push_str(
            "<h2 id=\"evidence\">Evidence</h2><p>The first few samples of each error status, \
             failure kind and failed check (secrets masked).</p>\n<table><tr><th class=\"l\">kind</th>\
             <th class=\"l\">when</th><th class=\"l\">target</th><th>attempt</th>\
             <th class=\"l\">response</th></tr>\n",
        );
        for e in &r.evidence {
            let mut detail = String::new();
            if let Some(err) = &e.error {
                let _ = writeln!(detail, "error: {err}");
            }
            if let Some(why) = &e.check {
                let _ = writeln!(detail, "check: {why}");
            }
            for line in &e.headers {
                let _ = writeln!(detail, "{line}");
            }
            if !e.body.is_empty() {
                let _ = write!(
                    detail,
                    "\n{}{}",
                    e.body,
                    if e.body_truncated { " ..." } else { "" }
                );
            }
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{} (+{:.3} s)</td>\
                 <td class=\"l v\">{}<br>{}</td><td>{}</td><td class=\"l v\"><pre>{}</pre></td></tr>",
                esc(&e.kind()),
                esc(&e.time),
                e.elapsed_s,
                esc(&e.target),
                esc(&e.url),
                e.attempt,
                esc(&detail)
            );
        }
        h.push_str("</table>\n");
    }
}

/// A table of per-target rows (of the run, or of one stage).
fn targets_table(h: &mut String, rows: &[crate::stats::rows::StageReport]) {
    h.push_str(
        "<table><tr>\
                    <th class=\"l\">target</th><th>requests</th><th>QPS</th><th>error %</th>\
                    <th>failure %</th><th>avg</th><th>p50</th><th>p90</th><th>p99</th><th>max</th>\
                    <th class=\"l\">status codes</th></tr>\n",
    );
    for t in rows {
        let p = t.latency_ms.measured();
        let v = |pick: fn(&Percentiles) -> f64| cell(p.map(pick), 3);
        let codes = t.outcome_counts();
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td class=\"l\">{}</td></tr>",
            esc(&t.name),
            t.requests,
            t.qps,
            percent(t.error_rate),
            percent(t.failure_rate),
            v(|p| p.mean),
            v(|p| p.p50),
            v(|p| p.p90),
            v(|p| p.p99),
            v(|p| p.max),
            esc(&codes.join("  "))
        );
    }
    h.push_str("</table>\n");
}
