//! `qpsbench find --html`: one self-contained page: the answer, latency against achieved
//! throughput (p50 and p99 per step, the SLO's latency limits as dashed lines), and the table
//! of steps.

use std::fmt::Write as _;

use super::page::{Axis, Chart, Charts, Series, XAxis, esc, head};
use crate::report::capacity::{Capacity, Step};
use crate::stats::hdr::{cell, percent};
use crate::stats::thresholds::{Metric, Unit};

/// The page for `c`; `title` names the service (its URL, secrets masked).
pub fn render(c: &Capacity, title: &str) -> String {
    let mut steps: Vec<&Step> = c.steps.iter().filter(|s| s.requests > 0).collect();
    steps.sort_by(|a, b| {
        a.achieved_responses_per_s
            .total_cmp(&b.achieved_responses_per_s)
    });
    let xs: Vec<f64> = steps.iter().map(|s| s.achieved_responses_per_s).collect();
    let values = |pick: fn(&Step) -> Option<f64>| steps.iter().map(|s| pick(s)).collect();
    let mut series = vec![
        Series::new("p50", "ms", "#2ca02c", "ms", values(|s| s.p50_ms)),
        Series::new("p99", "ms", "#d62728", "ms", values(|s| s.p99_ms)),
    ];
    // The SLO's latency limits (on the total), across the measured throughput.
    let limits = c.steps.first().map_or(&[][..], |s| &s.slo[..]);
    for t in limits {
        let is_ms = Metric::parse(&t.metric).is_some_and(|m| m.unit() == Unit::Ms);
        if let Some(limit) = t.limit
            && is_ms
            && t.stage.is_none()
            && !xs.is_empty()
        {
            series.push(
                Series::new(
                    format!("SLO {}", t.expression),
                    "ms",
                    "#7f7f7f",
                    "ms",
                    vec![Some(limit); xs.len()],
                )
                .dashed(),
            );
        }
    }
    let chart = Chart {
        id: "capacity",
        title: "Latency against achieved responses per second, one point per step".into(),
        x: XAxis::Values {
            label: "achieved responses/s".into(),
            unit: "req/s",
        },
        xs,
        axes: vec![Axis::left("ms", "latency (ms)")],
        series,
    };
    let mut charts = Charts::default();
    let mut h = head(&format!("qpsbench find: {title}"));
    let _ = write!(
        h,
        "<h1>Capacity</h1><div class=\"sub\">{} &middot; SLO {} &middot; by {}</div>\n\
         <p id=\"answer\">{}</p>\n",
        esc(title),
        esc(&c.slo),
        match c.by {
            crate::report::capacity::By::Rate => "rate",
            crate::report::capacity::By::Users => "users",
        },
        esc(&c.answer())
    );
    charts.place(&mut h, chart);
    h.push_str(
        "\n<h2>Steps</h2>\n<table><tr><th>step</th><th>load</th><th>users</th>\
         <th>achieved responses/s</th><th>requests</th><th>p50 ms</th><th>p99 ms</th><th>err %</th>\
         <th>fail %</th><th class=\"l\">verdict</th></tr>\n",
    );
    for s in &c.steps {
        let verdict = s.verdict();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td class=\"l v\">{}</td></tr>",
            s.step,
            esc(&s.load()),
            s.users,
            s.achieved_responses_per_s,
            s.requests,
            cell(s.p50_ms, 3),
            cell(s.p99_ms, 3),
            percent(s.error_rate),
            percent(s.failure_rate),
            esc(&verdict)
        );
    }
    h.push_str("</table>\n");
    h.push_str(&charts.scripts());
    h.push_str("</body></html>\n");
    h
}
