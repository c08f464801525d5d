//! `qpsbench compare --html`: one self-contained page (the HTML report's style and head, no
//! chart, nothing fetched) with the table of runs and each run's `--fail-on` verdicts. Each
//! later run's figure has its change from the baseline under it, in smaller type: red when
//! worse (qps down; latency, error or failure rate up), green when better, plain when 0 or
//! nothing to compare. It fits a 1000 px window without scrolling sideways. Every name is
//! escaped (report files say what they like).

use std::fmt::Write as _;

use super::page::{esc, head};
use crate::report::compare::{ComparedRun, Comparison};
use crate::stats::hdr::{cell, percent};

/// The change colours (the page's style allows inline styles; nothing else is added).
const STYLE: &str = "<style>#compare small{font-size:80%}#compare .worse{color:#b00020}\
#compare .better{color:#137333}#compare td,#compare th{padding:4px 6px}\
#compare td.f{white-space:normal;overflow-wrap:anywhere;max-width:14em;font-size:90%}</style>\n";

/// The page.
pub fn render(c: &Comparison) -> String {
    let mut h = head(&format!("qpsbench compare: {}", c.baseline));
    h.push_str(STYLE);
    let _ = writeln!(
        h,
        "<h1>Comparison</h1><div class=\"sub\">baseline {} (the first run) &middot; under each \
         later run's figure, its change: qps and latency in %, the error and failure rates in \
         percentage points (pp); <span style=\"color:#b00020\">worse</span>, \
         <span style=\"color:#137333\">better</span> &middot; qpsbench {}</div>",
        esc(&c.baseline),
        env!("CARGO_PKG_VERSION")
    );
    h.push_str(
        "<table id=\"compare\"><tr><th class=\"l\">run</th><th class=\"l\">file</th>\
         <th class=\"l\">status</th><th>requests</th><th>QPS</th><th>p50 ms</th>\
         <th>p90 ms</th><th>p99 ms</th><th>error %</th><th>failure %</th>\
         <th class=\"l\">thresholds</th></tr>\n",
    );
    for r in &c.runs {
        let status = if r.status == "complete" {
            r.status.clone()
        } else {
            format!("<b>{}</b>", esc(&r.status))
        };
        let run = if r.baseline {
            format!("{}<br><small>baseline</small>", esc(&r.name))
        } else {
            esc(&r.name)
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"l f\">{run}</td><td class=\"l f\">{}</td><td class=\"l\">{status}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"l\">{}</td></tr>",
            esc(&r.file),
            r.requests,
            figure(r, format!("{:.1}", r.qps), pct(r.qps_change_pct), true),
            figure(r, cell(r.p50_ms, 3), pct(r.p50_change_pct), false),
            figure(r, cell(r.p90_ms, 3), pct(r.p90_change_pct), false),
            figure(r, cell(r.p99_ms, 3), pct(r.p99_change_pct), false),
            figure(r, percent(r.error_rate), pp(r.error_rate_change_pp), false),
            figure(
                r,
                percent(r.failure_rate),
                pp(r.failure_rate_change_pp),
                false
            ),
            thresholds_cell(r),
        );
    }
    h.push_str("</table>\n");
    for r in c.runs.iter().filter(|r| !r.thresholds.is_empty()) {
        let _ = writeln!(
            h,
            "<h2>Thresholds of {}{} (--fail-on, baseline {})</h2>\n<table><tr>\
             <th class=\"l\">threshold</th><th>result</th><th class=\"l\">limit</th>\
             <th class=\"l\">measured</th></tr>",
            esc(&r.name),
            esc(r.status_words()),
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

/// A change in % as shown, and its value as shown (a change that shows as +0.0% is 0).
fn pct(v: Option<f64>) -> (String, Option<f64>) {
    (
        v.map_or_else(|| "-".to_string(), |v| format!("{v:+.1}%")),
        v.map(|v| (v * 10.0).round()),
    )
}

/// A change in percentage points as shown, and its value as shown.
fn pp(v: Option<f64>) -> (String, Option<f64>) {
    (
        v.map_or_else(|| "-".to_string(), |v| format!("{v:+.2}pp")),
        v.map(|v| (v * 100.0).round()),
    )
}

/// A figure, and under it (for a later run) its change: `worse` or `better` by the direction
/// in which more of the figure is better (`up_is_better`); no class for 0 or none.
fn figure(
    r: &ComparedRun,
    value: String,
    (change, v): (String, Option<f64>),
    up_is_better: bool,
) -> String {
    if r.baseline {
        return value;
    }
    let class = match v {
        Some(v) if v != 0.0 && (v > 0.0) == up_is_better => " class=\"better\"",
        Some(v) if v != 0.0 => " class=\"worse\"",
        _ => "",
    };
    format!("{value}<br><small{class}>{change}</small>")
}

/// `passed 3`, `FAILED 1 of 3`, or `-` without `--fail-on` (and for the baseline).
fn thresholds_cell(r: &ComparedRun) -> String {
    let failed = r.thresholds.iter().filter(|t| !t.passed).count();
    match (r.thresholds.len(), failed) {
        (0, _) => "-".to_string(),
        (n, 0) => format!("passed {n}"),
        (n, f) => format!("<b>FAILED {f} of {n}</b>"),
    }
}
