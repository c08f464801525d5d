//! `qpsbench find --html`: one self-contained page: the answer, latency against achieved
//! throughput (p50 and p99 per step, the SLO's latency limits as dashed lines), and the table
//! of steps.

use std::fmt::Write as _;

use super::html::STYLE;
use super::svg::{Chart, Line, esc};
use crate::report::capacity::{Capacity, Step};
use crate::stats::hdr::{cell, percent};
use crate::stats::thresholds::{Metric, Unit};

/// The page for `c`; `title` names the service (its URL, secrets masked).
pub fn render(c: &Capacity, title: &str) -> String {
    let mut steps: Vec<&Step> = c.steps.iter().filter(|s| s.requests > 0).collect();
    steps.sort_by(|a, b| a.achieved_rps.total_cmp(&b.achieved_rps));
    let points = |pick: fn(&Step) -> Option<f64>| -> Vec<(f64, f64)> {
        steps
            .iter()
            .filter_map(|s| pick(s).map(|v| (s.achieved_rps, v)))
            .collect()
    };
    let mut lines = vec![
        Line {
            name: "p50 ms".into(),
            color: "#2ca02c",
            points: points(|s| s.p50_ms),
            dashed: false,
        },
        Line {
            name: "p99 ms".into(),
            color: "#d62728",
            points: points(|s| s.p99_ms),
            dashed: false,
        },
    ];
    // The SLO's latency limits (on the total), across the measured throughput.
    let (x0, x1) = steps.iter().fold((f64::MAX, 0.0f64), |(lo, hi), s| {
        (lo.min(s.achieved_rps), hi.max(s.achieved_rps))
    });
    let limits = c.steps.first().map_or(&[][..], |s| &s.slo[..]);
    for t in limits {
        let is_ms = Metric::parse(&t.metric).is_some_and(|m| m.unit() == Unit::Ms);
        if let Some(limit) = t.limit
            && is_ms
            && t.stage.is_none()
            && x1 > 0.0
        {
            lines.push(Line {
                name: format!("SLO {}", t.expression),
                color: "#7f7f7f",
                points: vec![(x0, limit), (x1, limit)],
                dashed: true,
            });
        }
    }
    let chart = Chart {
        id: "capacity",
        title: "Latency against achieved throughput, one point per step".into(),
        x_label: "achieved requests/s".into(),
        y_label: "ms".into(),
        lines,
        right: None,
        x_ticks: None,
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>qpsbench find: {}</title><style>{STYLE}</style></head><body>\n\
         <h1>Capacity</h1><div class=\"sub\">{} &middot; SLO {} &middot; by {}</div>\n\
         <p id=\"answer\">{}</p>\n",
        esc(title),
        esc(title),
        esc(&c.slo),
        match c.by {
            crate::report::capacity::By::Rate => "rate",
            crate::report::capacity::By::Users => "users",
        },
        esc(&c.answer())
    );
    h.push_str(&chart.render());
    h.push_str(
        "\n<h2>Steps</h2>\n<table><tr><th>step</th><th>load</th><th>users</th>\
         <th>achieved req/s</th><th>requests</th><th>p50 ms</th><th>p99 ms</th><th>err%</th>\
         <th>fail%</th><th>verdict</th></tr>\n",
    );
    for s in &c.steps {
        let verdict = s.verdict();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            s.step,
            esc(&s.load()),
            s.users,
            s.achieved_rps,
            s.requests,
            cell(s.p50_ms, 3),
            cell(s.p99_ms, 3),
            percent(s.error_rate),
            percent(s.failure_rate),
            esc(&verdict)
        );
    }
    h.push_str("</table>\n</body></html>\n");
    h
}
