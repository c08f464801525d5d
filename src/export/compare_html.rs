//! `qpsbench compare --html`: one self-contained page (the HTML report's style and head, no
//! chart, nothing fetched) with the table of runs, each with its change from the baseline, and each
//! run's `--fail-on` verdicts. Every name is escaped (report files say what they like).

use std::fmt::Write as _;

use super::page::{esc, head};
use crate::report::compare::Comparison;
use crate::stats::hdr::{cell, percent};

/// The page.
pub fn render(c: &Comparison) -> String {
    let mut h = head(&format!("qpsbench compare: {}", c.baseline));
    let _ = writeln!(
        h,
        "<h1>Comparison</h1><div class=\"sub\">baseline {} (the first run) &middot; changes of \
         qps and latency in %, of the error and failure rates in percentage points (pp) \
         &middot; qpsbench {}</div>",
        esc(&c.baseline),
        env!("CARGO_PKG_VERSION")
    );
    h.push_str(
        "<table id=\"compare\"><tr><th class=\"l\">run</th><th class=\"l\">file</th>\
         <th>requests</th><th>QPS</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th>\
         <th>error %</th><th>failure %</th><th>QPS &Delta;</th><th>p50 &Delta;</th>\
         <th>p90 &Delta;</th><th>p99 &Delta;</th><th>error &Delta;</th>\
         <th>failure &Delta;</th></tr>\n",
    );
    let pct = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:+.1}%"));
    let pp = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:+.2} pp"));
    for r in &c.runs {
        let changes = if r.baseline {
            "<td colspan=\"6\" class=\"l\">baseline</td>".to_string()
        } else {
            format!(
                "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                pct(r.qps_change_pct),
                pct(r.p50_change_pct),
                pct(r.p90_change_pct),
                pct(r.p99_change_pct),
                pp(r.error_rate_change_pp),
                pp(r.failure_rate_change_pp)
            )
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{:.1}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{changes}</tr>",
            esc(&r.name),
            esc(&r.file),
            r.requests,
            r.qps,
            cell(r.p50_ms, 3),
            cell(r.p90_ms, 3),
            cell(r.p99_ms, 3),
            percent(r.error_rate),
            percent(r.failure_rate),
        );
    }
    h.push_str("</table>\n");
    for r in c.runs.iter().filter(|r| !r.thresholds.is_empty()) {
        let _ = writeln!(
            h,
            "<h2>Thresholds of {} (--fail-on, baseline {})</h2>\n<table><tr>\
             <th class=\"l\">threshold</th><th>result</th><th class=\"l\">limit</th>\
             <th class=\"l\">measured</th></tr>",
            esc(&r.name),
            esc(&c.baseline)
        );
        for t in &r.thresholds {
            let limit = t.baseline_words().unwrap_or_else(|| "absolute".into());
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td>\
                 <td class=\"l\">{}</td></tr>",
                esc(&t.expression),
                if t.passed { "passed" } else { "<b>FAILED</b>" },
                esc(&limit),
                esc(&t.measured_words())
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("</body></html>\n");
    h
}
