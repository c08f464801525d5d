//! `--html`: one self-contained page (inline CSS and SVG, no script, nothing fetched; a Content
//! Security Policy forbids any fetch) with charts over time, the latency distribution, the tables
//! and the configuration. Every string from the command line or a server is escaped.

use std::fmt::Write as _;

use super::Exporter;
use super::svg::{Chart, Line, esc, ms_card};
use crate::report::Report;
use crate::stats::hdr::{Percentiles, decode_histogram, percent};
use crate::stats::rows::{SecondReport, StageReport};

/// The HTML report.
pub struct Html;

pub(crate) const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:24px;\
color:#222;background:#f6f7f9}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}\
.sub{color:#555;margin-bottom:16px;word-break:break-all}\
.cards{display:flex;flex-wrap:wrap;gap:10px}\
.card{background:#fff;border:1px solid #dde;border-radius:6px;padding:10px 14px;min-width:120px}\
.card b{display:block;font-size:20px}.card span{color:#666;font-size:12px}\
.warn{background:#fff4d6;border:1px solid #e8c04a;padding:8px 12px;border-radius:6px;margin:12px 0}\
svg.chart{background:#fff;border:1px solid #dde;border-radius:6px;width:100%;max-width:960px;\
height:auto;display:block;margin:10px 0}\
svg .ct{font-size:15px;font-weight:600;fill:#222}svg .tk{font-size:11px;fill:#555}\
svg .al{font-size:12px;fill:#333}svg .lg{font-size:12px;fill:#333}\
table{border-collapse:collapse;background:#fff;font-size:13px;margin:6px 0}\
th,td{border:1px solid #dde;padding:4px 8px;text-align:right}\
th{background:#eef0f4}td.l,th.l{text-align:left;word-break:break-all}\
.defs dt{font-weight:600}.defs dd{margin:0 0 6px 16px;color:#444}";

const QPS_COLOR: &str = "#1f77b4";
const OK_COLOR: &str = "#2ca02c";
const USERS_COLOR: &str = "#7f7f7f";
const P50_COLOR: &str = "#2ca02c";
const P90_COLOR: &str = "#ff7f0e";
const P99_COLOR: &str = "#d62728";
const MAX_COLOR: &str = "#9467bd";
const ERR_COLOR: &str = "#d62728";
const FAIL_COLOR: &str = "#8c564b";

impl Exporter for Html {
    fn serialize(&self, r: &Report) -> anyhow::Result<Vec<u8>> {
        Ok(render(r).into_bytes())
    }
}

/// A page's start, to its `<body>`: the style, a Content Security Policy that forbids any
/// fetch, and `title` (escaped here).
pub(crate) fn page_head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(title)
    )
}

/// The whole page.
pub fn render(r: &Report) -> String {
    let c = &r.config;
    let t = &r.total;
    let mut h = String::new();
    let title = match &r.name {
        Some(name) => format!("{name}: qpsbench report, {} {}", c.method, c.url),
        None => format!("qpsbench report: {} {}", c.method, c.url),
    };
    h.push_str(&page_head(&title));
    let _ = writeln!(
        h,
        "<h1>{}</h1><div class=\"sub\">{} {} &middot; started {} &middot; {:.1} s \
         &middot; qpsbench {}{}</div>",
        r.name
            .as_deref()
            .map_or_else(|| "qpsbench report".to_string(), esc),
        esc(&c.method),
        esc(&c.url),
        esc(&r.started_at),
        r.elapsed_s,
        esc(&r.version),
        if r.runs > 1 {
            format!(" &middot; {} runs merged", r.runs)
        } else {
            String::new()
        }
    );
    if r.interrupted {
        h.push_str("<div class=\"warn\">The run was interrupted (Ctrl-C): it ended early.</div>\n");
    }
    if let Some(a) = &r.aborted {
        let _ = writeln!(
            h,
            "<div class=\"warn\">Stopped early by --abort-on: {}.</div>",
            esc(&crate::report::aborted_words(a))
        );
    }
    if r.in_flight_at_end > 0 {
        let _ = writeln!(
            h,
            "<div class=\"warn\">{} requests were still waiting for an answer when the run ended \
             (not counted).</div>",
            r.in_flight_at_end
        );
    }
    cards(&mut h, t);
    if !c.checks().is_empty() {
        let _ = writeln!(
            h,
            "<p>Checks ({}): {} of {} requests failed a check (check failures, counted apart \
             from HTTP errors and client failures).{}</p>",
            esc(&c.checks().join("; ")),
            t.check_failures,
            t.requests,
            match r.streams_judged_by_status_only() {
                0 => String::new(),
                n => format!(
                    " {n} event streams were judged by status only (body and JSON checks do \
                     not read event streams)."
                ),
            }
        );
    }

    if let Some(slos) = &c.goodput {
        let _ = write!(
            h,
            "<p>Goodput (requests that met every objective of <code>{}</code>): {}",
            esc(slos),
            esc(&crate::output::summary::goodput_words(t))
        );
        if r.stages.len() > 1 {
            for s in &r.stages {
                let _ = write!(
                    h,
                    "; {}: {}",
                    esc(&s.name),
                    esc(&crate::output::summary::goodput_words(s))
                );
            }
        }
        h.push_str(".</p>\n");
    }
    if let Some(c) = &r.client {
        let _ = writeln!(
            h,
            "<p>Client: {}.</p>",
            esc(&crate::output::summary::client_words(c))
        );
    }
    if let Some(w) = r
        .client_saturation
        .as_deref()
        .and_then(crate::stats::saturation::warning_words)
    {
        let _ = writeln!(h, "<div class=\"warn\">Warning: {}.</div>", esc(&w));
    }
    h.push_str("<h2>Over time</h2>\n");
    h.push_str(&throughput_chart(r).render());
    h.push('\n');
    h.push_str(&latency_chart(r).render());
    h.push('\n');
    h.push_str(&errors_chart(r).render());
    h.push('\n');
    h.push_str("<h2>Latency distribution</h2>\n");
    h.push_str(&distribution_chart(r).render());
    h.push('\n');

    h.push_str("<h2>Stages: latency (ms, send start &rarr; last body byte)</h2>\n");
    stage_table(&mut h, r, |s| Some(&s.latency_ms));
    if let Some(w) = &r.warmup {
        let p = w.latency_ms.measured();
        let _ = writeln!(
            h,
            "<p>Warm-up before the run (in no other row, chart or threshold): {} requests in \
             {:.1} s, {:.1} req/s, p50 {} ms, p99 {} ms, {} HTTP errors, {} failures.</p>",
            w.requests,
            w.duration_s,
            w.qps,
            crate::stats::hdr::cell(p.map(|p| p.p50), 3),
            crate::stats::hdr::cell(p.map(|p| p.p99), 3),
            w.errors,
            w.failures
        );
    }
    if t.response_time_ms.is_some() {
        h.push_str(
            "<h2>Stages: response time (ms, scheduled slot &rarr; last body byte; coordinated \
             omission corrected)</h2>\n",
        );
        stage_table(&mut h, r, |s| s.response_time_ms.as_ref());
    }
    if let (Some(target), Some(late), Some(lag)) = (t.target_rps, t.late_slots, t.max_lag_ms) {
        let _ = writeln!(
            h,
            "<p>Rate: target {target} req/s, achieved {:.1} req/s; {late} late slots (sent &gt;1 ms \
             after their slot); largest lag {lag:.3} ms.</p>",
            t.qps
        );
    }

    super::html_stream::section(&mut h, r);
    super::html_traffic::section(&mut h, r);

    h.push_str("<h2>Status codes</h2>\n");
    counts_table(&mut h, "status", &t.status_counts);
    h.push_str("<h2>Failure kinds</h2>\n");
    counts_table(&mut h, "kind", &t.failure_kinds);

    h.push_str("<h2>Configuration</h2>\n");
    config_table(&mut h, r);
    h.push_str(DEFINITIONS);
    h.push_str("</body></html>\n");
    h
}

fn cards(h: &mut String, t: &StageReport) {
    let latency = t.latency_ms.measured();
    let items = [
        (t.requests.to_string(), "requests"),
        (format!("{:.1}", t.qps), "requests / s"),
        (
            t.error_rate
                .map_or("-".into(), |v| format!("{:.2}%", v * 100.0)),
            "error rate",
        ),
        (
            t.failure_rate
                .map_or("-".into(), |v| format!("{:.2}%", v * 100.0)),
            "failure rate",
        ),
        (ms_card(latency.map(|p| p.p50)), "p50 latency"),
        (ms_card(latency.map(|p| p.p99)), "p99 latency"),
        (ms_card(latency.map(|p| p.max)), "max latency"),
    ];
    h.push_str("<div class=\"cards\">");
    for (value, label) in items {
        let _ = write!(
            h,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            esc(&value),
            label
        );
    }
    h.push_str("</div>\n");
}

/// End of each window in seconds since the start (the last may be partial).
fn window_end(s: &SecondReport) -> f64 {
    (s.second - 1) as f64 + s.interval_s
}

fn per_s(n: u64, interval_s: f64) -> f64 {
    if interval_s > 0.0 {
        n as f64 / interval_s
    } else {
        0.0
    }
}

fn throughput_chart(r: &Report) -> Chart {
    let pts = |f: &dyn Fn(&SecondReport) -> f64| -> Vec<(f64, f64)> {
        r.seconds.iter().map(|s| (window_end(s), f(s))).collect()
    };
    Chart {
        id: "chart-qps",
        title: "Requests per second, with active users".into(),
        x_label: "seconds since start".into(),
        y_label: "requests / s".into(),
        lines: vec![
            Line {
                name: "requests/s".into(),
                color: QPS_COLOR,
                points: pts(&|s| per_s(s.requests, s.interval_s)),
                dashed: false,
            },
            Line {
                name: "ok/s".into(),
                color: OK_COLOR,
                points: pts(&|s| per_s(s.ok, s.interval_s)),
                dashed: true,
            },
        ],
        right: Some((
            "active users".into(),
            vec![Line {
                name: "users".into(),
                color: USERS_COLOR,
                points: pts(&|s| s.users as f64),
                dashed: true,
            }],
        )),
        x_ticks: None,
    }
}

fn latency_chart(r: &Report) -> Chart {
    // Windows without answers have no latency: leave them out rather than draw zeros.
    let pts = |f: &dyn Fn(&SecondReport) -> Option<f64>| -> Vec<(f64, f64)> {
        r.seconds
            .iter()
            .filter_map(|s| f(s).map(|v| (window_end(s), v)))
            .collect()
    };
    let line = |name: &str, color, f: &dyn Fn(&SecondReport) -> Option<f64>, dashed| Line {
        name: name.into(),
        color,
        points: pts(f),
        dashed,
    };
    Chart {
        id: "chart-latency",
        title: "Latency per second (send start -> last body byte)".into(),
        x_label: "seconds since start".into(),
        y_label: "ms".into(),
        lines: vec![
            line("p50", P50_COLOR, &|s| s.p50_ms, false),
            line("p90", P90_COLOR, &|s| s.p90_ms, false),
            line("p99", P99_COLOR, &|s| s.p99_ms, false),
            line("max", MAX_COLOR, &|s| s.max_ms, true),
        ],
        right: None,
        x_ticks: None,
    }
}

fn errors_chart(r: &Report) -> Chart {
    let pts = |f: &dyn Fn(&SecondReport) -> u64| -> Vec<(f64, f64)> {
        r.seconds
            .iter()
            .map(|s| (window_end(s), per_s(f(s), s.interval_s)))
            .collect()
    };
    Chart {
        id: "chart-errors",
        title: "HTTP errors and client failures per second".into(),
        x_label: "seconds since start".into(),
        y_label: "per second".into(),
        lines: vec![
            Line {
                name: "HTTP errors/s".into(),
                color: ERR_COLOR,
                points: pts(&|s| s.errors),
                dashed: false,
            },
            Line {
                name: "failures/s".into(),
                color: FAIL_COLOR,
                points: pts(&|s| s.failures),
                dashed: true,
            },
        ],
        right: None,
        x_ticks: None,
    }
}

/// Latency against percentile on a "nines" axis (90%, 99%, 99.9% ... evenly spaced).
fn distribution_chart(r: &Report) -> Chart {
    let mut lines = Vec::new();
    let mut nines_max: f64 = 1.0;
    let sources = [
        ("latency", P90_COLOR, Some(&r.total.hdr.latency_us)),
        (
            "response time (from slot)",
            P99_COLOR,
            r.total.hdr.response_time_us.as_ref(),
        ),
    ];
    for (name, color, encoded) in sources {
        let Some(h) = encoded.and_then(|e| decode_histogram(e).ok()) else {
            continue;
        };
        if h.is_empty() {
            continue;
        }
        // Show as many nines as the sample count supports, at most five.
        let nines = (h.len() as f64).log10().clamp(1.0, 5.0);
        nines_max = nines_max.max(nines);
        const STEPS: usize = 200;
        let points = (0..=STEPS)
            .map(|i| {
                let x = nines * i as f64 / STEPS as f64;
                let q = 1.0 - 10f64.powf(-x);
                (x, h.value_at_quantile(q) as f64 / 1e3)
            })
            .collect();
        lines.push(Line {
            name: name.into(),
            color,
            points,
            dashed: false,
        });
    }
    let labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"];
    let x_ticks = (0..=nines_max.ceil() as usize)
        .filter(|&i| i < labels.len() && i as f64 <= nines_max + 1e-9)
        .map(|i| (i as f64, labels[i].to_string()))
        .collect();
    Chart {
        id: "chart-percentiles",
        title: "Latency by percentile (whole run)".into(),
        x_label: "percentile".into(),
        y_label: "ms".into(),
        lines,
        right: None,
        x_ticks: Some(x_ticks),
    }
}

fn stage_table(h: &mut String, r: &Report, pick: impl Fn(&StageReport) -> Option<&Percentiles>) {
    h.push_str(
        "<table><tr><th class=\"l\">stage</th><th>users</th><th>requests</th><th>time (s)</th>\
         <th>req/s</th><th>error %</th><th>failure %</th><th>avg</th><th>min</th><th>p50</th>\
         <th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th></tr>\n",
    );
    let rows: Vec<&StageReport> = if r.stages.len() > 1 {
        r.stages.iter().chain(std::iter::once(&r.total)).collect()
    } else {
        vec![&r.total]
    };
    for s in rows {
        let _ = write!(
            h,
            "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td>\
             <td>{}</td><td>{}</td>",
            esc(&s.name),
            s.users,
            s.requests,
            s.duration_s,
            crate::stats::hdr::cell(s.measured_qps(), 1),
            percent(s.error_rate),
            percent(s.failure_rate)
        );
        match pick(s).and_then(Percentiles::measured) {
            Some(p) => {
                for v in [p.mean, p.min, p.p50, p.p90, p.p95, p.p99, p.p999, p.max] {
                    let _ = write!(h, "<td>{v:.3}</td>");
                }
            }
            _ => h.push_str("<td colspan=\"8\">-</td>"),
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

fn counts_table(h: &mut String, what: &str, counts: &std::collections::BTreeMap<String, u64>) {
    if counts.is_empty() {
        h.push_str("<p>none</p>\n");
        return;
    }
    let total: u64 = counts.values().sum();
    let _ = write!(
        h,
        "<table><tr><th class=\"l\">{what}</th><th>count</th><th>share</th></tr>"
    );
    for (k, n) in counts {
        let _ = write!(
            h,
            "<tr><td class=\"l\">{}</td><td>{n}</td><td>{:.2}%</td></tr>",
            esc(k),
            *n as f64 * 100.0 / total.max(1) as f64
        );
    }
    h.push_str("</table>\n");
}

fn config_table(h: &mut String, r: &Report) {
    let c = &r.config;
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let mut rows: Vec<(&str, String)> = vec![
        ("URL", c.url.clone()),
        ("method", c.method.clone()),
        (
            "headers",
            if c.headers.is_empty() {
                "-".into()
            } else {
                c.headers.join("\n")
            },
        ),
        ("body bytes", c.body_bytes.to_string()),
        ("users", c.users.to_string()),
        (
            "users per stage",
            c.stage_users
                .iter()
                .map(|u| u.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "target rate (req/s)",
            if c.stage_rps.is_empty() {
                opt(c.rps.map(|v| v.to_string()))
            } else {
                let rates: Vec<String> = c.stage_rps.iter().map(|v| v.to_string()).collect();
                format!("{} by stage", rates.join(", "))
            },
        ),
        (
            "arrivals",
            c.arrival.clone().unwrap_or_else(|| "constant".into()),
        ),
        ("duration (s)", opt(c.duration_s.map(|v| v.to_string()))),
        ("request budget", opt(c.requests.map(|v| v.to_string()))),
        ("timeout (s)", c.timeout_s.to_string()),
        ("TLS verification", (!c.insecure).to_string()),
        ("proxy", opt(c.proxy.clone())),
        ("start at", opt(c.start_at.clone())),
        ("started", r.started_at.clone()),
        ("qpsbench version", r.version.clone()),
    ];
    if r.runs > 1 {
        rows.push(("runs merged", r.runs.to_string()));
    }
    h.push_str("<table>");
    for (k, v) in rows {
        let _ = write!(
            h,
            "<tr><th class=\"l\">{k}</th><td class=\"l\">{}</td></tr>",
            esc(&v).replace('\n', "<br>")
        );
    }
    h.push_str("</table>\n");
}

const DEFINITIONS: &str = "<h2>Definitions</h2><dl class=\"defs\">\
<dt>requests / s (QPS)</dt><dd>completed requests (any outcome) / elapsed seconds; ok/s counts \
successes only</dd>\
<dt>latency</dt><dd>send start &rarr; last body byte (service time)</dd>\
<dt>response time</dt><dd>scheduled slot &rarr; last body byte; only with --rps (coordinated \
omission corrected)</dd>\
<dt>error rate</dt><dd>responses with an HTTP error status (4xx, 5xx) / all requests</dd>\
<dt>failure rate</dt><dd>client-side failures (connect, DNS, TLS, timeout, reset, protocol) / all \
requests</dd></dl>\n";
