//! `--html`: one self-contained page (inline CSS and SVG, no script, nothing fetched; a Content
//! Security Policy forbids any fetch) with charts over time, the latency distribution, the tables
//! and the configuration. Every string from the command line or a server is escaped.

use std::fmt::Write as _;

use super::Exporter;
use super::page::{
    Axis, Chart, Charts, Series, XAxis, ZOOM_HINT, esc, head, ms_axis, ms_card, time_chart,
};
use crate::report::Report;
use crate::stats::hdr::{Percentiles, decode_histogram, percent};
use crate::stats::rows::{SecondReport, StageReport};

/// The HTML report.
pub struct Html;

const QPS_COLOR: &str = "#1f77b4";
const OK_COLOR: &str = "#2ca02c";
const GOOD_COLOR: &str = "#17becf";
const TARGET_COLOR: &str = "#bcbd22";
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

/// The whole page.
pub fn render(r: &Report) -> String {
    let c = &r.config;
    let t = &r.total;
    let title = match &r.name {
        Some(name) => format!("{name}: qpsbench report, {} {}", c.method, c.url),
        None => format!("qpsbench report: {} {}", c.method, c.url),
    };
    let mut h = head(&title);
    let mut charts = Charts::default();
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
            "<div class=\"warn\">{} still waiting for an answer when the run ended \
             (not counted).</div>",
            if r.in_flight_at_end == 1 {
                "1 request was".to_string()
            } else {
                format!("{} requests were", r.in_flight_at_end)
            }
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
    h.push_str(ZOOM_HINT);
    charts.place(&mut h, throughput_chart(r));
    charts.place(&mut h, latency_chart(r));
    charts.place(&mut h, ttfb_chart(r));
    charts.place(&mut h, errors_chart(r));
    h.push_str("<h2>Latency distribution</h2>\n");
    charts.place(&mut h, distribution_chart(r));

    h.push_str("<h2>Stages: latency (ms, send start &rarr; last body byte)</h2>\n");
    stage_table(&mut h, r, |s| Some(&s.latency_ms));
    if let Some(w) = &r.warmup {
        let p = w.latency_ms.measured();
        let _ = writeln!(
            h,
            "<p>Warm-up before the run (in no other row, chart or threshold): {} requests in \
             {:.1} s, QPS {:.1}, p50 {} ms, p99 {} ms, {} HTTP errors, {} failures.</p>",
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
            "<p>Rate: target {target} req/s (--rps), achieved QPS {:.1}; {late} late slots (sent &gt;1 ms \
             after their slot); largest lag {lag:.3} ms.</p>",
            t.qps
        );
    }

    super::html_stream::section(&mut h, &mut charts, r);
    super::html_traffic::section(&mut h, r);

    h.push_str("<h2>Status codes</h2>\n");
    counts_table(&mut h, "status", &t.status_counts);
    h.push_str("<h2>Failure kinds</h2>\n");
    counts_table(&mut h, "kind", &t.failure_kinds);

    h.push_str("<h2>Configuration</h2>\n");
    config_table(&mut h, r);
    h.push_str(DEFINITIONS);
    h.push_str(&charts.scripts());
    h.push_str("</body></html>\n");
    h
}

fn cards(h: &mut String, t: &StageReport) {
    let latency = t.latency_ms.measured();
    let items = [
        (t.requests.to_string(), "requests"),
        (format!("{:.1}", t.qps), "QPS (requests / s)"),
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

fn per_s(n: u64, interval_s: f64) -> f64 {
    if interval_s > 0.0 {
        n as f64 / interval_s
    } else {
        0.0
    }
}

fn throughput_chart(r: &Report) -> Chart {
    let rate = |f: fn(&SecondReport) -> u64| -> Vec<Option<f64>> {
        r.seconds
            .iter()
            .map(|s| Some(per_s(f(s), s.interval_s)))
            .collect()
    };
    // QPS is drawn wide and pale under a thin ok/s line: where every request succeeded the two
    // are equal and both stay visible.
    let mut series = vec![
        Series::new("QPS", "req/s", QPS_COLOR, "rate", rate(|s| s.requests)).width(5.0),
        Series::new("ok/s", "req/s", OK_COLOR, "rate", rate(|s| s.ok)).width(1.5),
    ];
    if let Some(target) = target_rps(r) {
        series.push(
            Series::new("target RPS", "req/s", TARGET_COLOR, "rate", target)
                .width(1.5)
                .dashed()
                .stepped(),
        );
    }
    if r.config.goodput.is_some() {
        series.push(
            Series::new(
                "good/s",
                "req/s",
                GOOD_COLOR,
                "rate",
                rate(|s| s.good_requests.unwrap_or(0)),
            )
            .width(1.5)
            .dashed(),
        );
    }
    series.push(
        Series::new(
            "active users",
            "users",
            USERS_COLOR,
            "users",
            r.seconds.iter().map(|s| Some(s.users as f64)).collect(),
        )
        .dashed()
        .stepped()
        .decimals(0),
    );
    time_chart(
        r,
        "chart-qps",
        "QPS (requests per second), with active users",
        vec![
            Axis::left("rate", "QPS (req/s)"),
            Axis {
                integer: true,
                right: true,
                ..Axis::left("users", "active users")
            },
        ],
        series,
    )
}

/// `--rps`: each window's target rate, its stage's with rate stages (stages follow one another
/// by their lengths); `None` in a closed-loop run.
fn target_rps(r: &Report) -> Option<Vec<Option<f64>>> {
    let c = &r.config;
    if c.stage_rps.is_empty() || r.stages.is_empty() {
        let rps = c.rps?;
        return Some(vec![Some(rps); r.seconds.len()]);
    }
    let mut ends = Vec::with_capacity(r.stages.len());
    let mut at = 0.0;
    for s in &r.stages {
        at += s.duration_s;
        ends.push(at);
    }
    Some(
        r.seconds
            .iter()
            .map(|s| {
                let mid = (s.second - 1) as f64 + s.interval_s / 2.0;
                let stage = ends
                    .iter()
                    .position(|&end| mid < end)
                    .unwrap_or(ends.len() - 1);
                c.stage_rps.get(stage).copied()
            })
            .collect(),
    )
}

fn latency_chart(r: &Report) -> Chart {
    let line = |name: &str, color, f: fn(&SecondReport) -> Option<f64>| {
        Series::new(name, "ms", color, "ms", r.seconds.iter().map(f).collect())
    };
    time_chart(
        r,
        "chart-latency",
        "Latency per second (send start → last body byte)",
        vec![ms_axis("latency (ms)")],
        vec![
            line("p50", P50_COLOR, |s| s.p50_ms),
            line("p90", P90_COLOR, |s| s.p90_ms),
            line("p99", P99_COLOR, |s| s.p99_ms),
            line("max", MAX_COLOR, |s| s.max_ms).dashed(),
        ],
    )
}

fn ttfb_chart(r: &Report) -> Chart {
    let line = |name: &str, color, f: fn(&SecondReport) -> Option<f64>| {
        Series::new(name, "ms", color, "ms", r.seconds.iter().map(f).collect())
    };
    time_chart(
        r,
        "chart-ttfb",
        "Time to first byte per second (send start → response head)",
        vec![ms_axis("TTFB (ms)")],
        vec![
            line("TTFB p50", P50_COLOR, |s| s.ttfb_p50_ms),
            line("TTFB p99", P99_COLOR, |s| s.ttfb_p99_ms),
        ],
    )
}

fn errors_chart(r: &Report) -> Chart {
    let rate = |f: fn(&SecondReport) -> u64| -> Vec<Option<f64>> {
        r.seconds
            .iter()
            .map(|s| Some(per_s(f(s), s.interval_s)))
            .collect()
    };
    time_chart(
        r,
        "chart-errors",
        "HTTP errors and client failures per second",
        vec![Axis::left("rate", "per second")],
        vec![
            Series::new("HTTP errors/s", "/s", ERR_COLOR, "rate", rate(|s| s.errors)),
            Series::new("failures/s", "/s", FAIL_COLOR, "rate", rate(|s| s.failures)).dashed(),
        ],
    )
}

/// Latency against percentile on a "nines" axis (90%, 99%, 99.9% ... evenly spaced).
fn distribution_chart(r: &Report) -> Chart {
    let sources = [
        ("latency", P90_COLOR, Some(&r.total.hdr.latency_us)),
        (
            "response time (from slot)",
            P99_COLOR,
            r.total.hdr.response_time_us.as_ref(),
        ),
    ];
    let histograms: Vec<_> = sources
        .into_iter()
        .filter_map(|(name, color, encoded)| {
            let h = encoded.and_then(|e| decode_histogram(e).ok())?;
            (!h.is_empty()).then_some((name, color, h))
        })
        .collect();
    // As many nines as the sample count supports, at most five.
    let nines = histograms
        .iter()
        .map(|(_, _, h)| (h.len() as f64).log10().clamp(1.0, 5.0))
        .fold(1.0f64, f64::max);
    const STEPS: usize = 200;
    let xs: Vec<f64> = (0..=STEPS)
        .map(|i| (nines * i as f64 / STEPS as f64 * 1e4).round() / 1e4)
        .collect();
    let series = histograms
        .iter()
        .map(|(name, color, h)| {
            let values = xs
                .iter()
                .map(|&x| Some(h.value_at_quantile(1.0 - 10f64.powf(-x)) as f64 / 1e3))
                .collect();
            Series::new(*name, "ms", color, "ms", values)
        })
        .collect();
    Chart {
        id: "chart-percentiles",
        title: "Latency by percentile (whole run)".into(),
        x: XAxis::Nines,
        xs,
        axes: vec![ms_axis("latency (ms)")],
        series,
    }
}

fn stage_table(h: &mut String, r: &Report, pick: impl Fn(&StageReport) -> Option<&Percentiles>) {
    h.push_str(
        "<table><tr><th class=\"l\">stage</th><th>users</th><th>requests</th><th>time (s)</th>\
         <th>QPS</th><th>error %</th><th>failure %</th><th>avg</th><th>min</th><th>p50</th>\
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
            "<tr><th class=\"l\">{k}</th><td class=\"l v\">{}</td></tr>",
            esc(&v).replace('\n', "<br>")
        );
    }
    h.push_str("</table>\n");
}

const DEFINITIONS: &str = "<h2>Definitions</h2><dl class=\"defs\">\
<dt>QPS</dt><dd>completed requests (any outcome) per second of the window, in req/s; ok/s \
counts successes only; the target rate of --rps is RPS</dd>\
<dt>TTFB</dt><dd>send start &rarr; response head received</dd>\
<dt>latency</dt><dd>send start &rarr; last body byte (service time)</dd>\
<dt>response time</dt><dd>scheduled slot &rarr; last body byte; only with --rps (coordinated \
omission corrected)</dd>\
<dt>error rate</dt><dd>responses with an HTTP error status (4xx, 5xx) / all requests</dd>\
<dt>failure rate</dt><dd>client-side failures (connect, DNS, TLS, timeout, reset, protocol) / all \
requests</dd></dl>\n";
