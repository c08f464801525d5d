//! The final text summary.

use std::fmt::Write as _;

use crate::output::counts_line;
use crate::output::table::{KEEP, Table, fold};
use crate::report::Report;
use crate::stats::hdr::{Percentiles, cell, percent};
use crate::stats::rows::StageReport;

const BAR_WIDTH: usize = 40;

/// Render the whole summary, every line whole (for a file or a pipe).
pub fn render(r: &Report) -> String {
    render_width(r, None)
}

/// Render the whole summary for a terminal `width` columns wide: the tables drop their least
/// needed columns and longer lines fold at spaces, so that no line is wider; `None` is
/// [`render`].
pub fn render_width(r: &Report, width: Option<usize>) -> String {
    let mut out = String::new();
    let c = &r.config;
    let _ = writeln!(
        out,
        "\nSummary{}: {} {} for {}{}",
        r.name
            .as_ref()
            .map(|n| format!(" of {n}"))
            .unwrap_or_default(),
        c.method,
        c.url,
        // A run shorter than a second in milliseconds (not "0.0s").
        if r.elapsed_s < 1.0 {
            format!("{:.0} ms", r.elapsed_s * 1e3)
        } else {
            format!("{:.1}s", r.elapsed_s)
        },
        if r.interrupted { " (interrupted)" } else { "" }
    );
    if let Some(a) = &r.aborted {
        let _ = writeln!(
            out,
            "\nABORTED by --abort-on: {}. The run stopped early.",
            crate::report::aborted_words(a)
        );
    }
    let t = &r.total;
    if t.requests > 0 && t.failures == t.requests {
        // Failures are results (exit 0), but a table of fast "latencies" and a high qps must
        // not read as a healthy service: say first that nothing was answered, and why.
        let kinds = counts_line(&t.failure_kinds);
        let why = r
            .evidence
            .iter()
            .find_map(|e| e.error.as_deref())
            .map(|e| format!("; first: {e}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "\nEVERY REQUEST FAILED: {} of {}, {} ({kinds}{why}). The figures below \
             time the failures, not the service.",
            t.failures,
            t.requests,
            // A response head may have come (a stream that broke, a body cut short).
            if t.ttfb_ms.count == 0 {
                "no response"
            } else {
                "no complete answer"
            }
        );
    }
    let _ = writeln!(out, "\nLatency (ms, send start -> last body byte):");
    table(&mut out, r, width, |s| &s.latency_ms);
    if r.total.target_rps.is_some() {
        let _ = writeln!(
            out,
            "\nResponse time (ms, scheduled slot -> last body byte; coordinated omission corrected):"
        );
        table(&mut out, r, width, |s| {
            s.response_time_ms.as_ref().expect("paced runs have it")
        });
    }

    let _ = writeln!(out);
    let _ = writeln!(out, "Status codes:   {}", counts_line(&t.status_counts));
    let _ = writeln!(out, "Failures:       {}", counts_line(&t.failure_kinds));
    let checks = r.config.checks();
    let check_failures = if checks.is_empty() && t.check_failures == 0 {
        String::new()
    } else {
        format!(
            ", {}",
            crate::parse::count_of(t.check_failures, "check failure", "check failures")
        )
    };
    let _ = writeln!(
        out,
        "Requests:       {} completed ({} ok, {}, {}{check_failures}), {:.1} req/s, {:.1} ok/s",
        t.requests,
        t.ok,
        crate::parse::count_of(t.errors, "HTTP error", "HTTP errors"),
        crate::parse::count_of(t.failures, "failure", "failures"),
        t.qps,
        t.ok_per_s
    );
    if !checks.is_empty() {
        let share = if t.requests > 0 {
            format!(
                " ({:.2}%)",
                t.check_failures as f64 * 100.0 / t.requests as f64
            )
        } else {
            String::new()
        };
        // Body and JSON checks read plain bodies: an event stream is judged by its status.
        let streamed = r.streams_judged_by_status_only();
        let note = if streamed > 0 {
            format!(
                "; {} judged by status only (body and JSON checks do not read event streams)",
                crate::parse::count_of(streamed, "event stream was", "event streams were")
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "Checks:         {}: {} of {} failed a check{share}{note}",
            checks.join("; "),
            t.check_failures,
            crate::parse::count_of(t.requests, "request", "requests"),
        );
    }
    if let Some(w) = &r.warmup {
        let p = w.latency_ms.measured();
        let _ = writeln!(
            out,
            "Warm-up:        {} in {:.1}s before the run, {:.1} req/s, p50 {} ms, p99 {} ms, {}, {} \
             (in no other row, series or threshold)",
            crate::parse::count_of(w.requests, "request", "requests"),
            w.duration_s,
            w.qps,
            cell(p.map(|p| p.p50), 3),
            cell(p.map(|p| p.p99), 3),
            crate::parse::count_of(w.errors, "HTTP error", "HTTP errors"),
            crate::parse::count_of(w.failures, "failure", "failures")
        );
    }
    if r.in_flight_at_end > 0 {
        let _ = writeln!(
            out,
            "In flight:      {} still waiting at the end (not counted above)",
            crate::parse::count_of(r.in_flight_at_end, "request was", "requests were")
        );
    }
    if let Some(c) = &r.client {
        let _ = writeln!(out, "Client:         {}", client_words(c));
    }
    if let Some(w) = r
        .client_saturation
        .as_deref()
        .and_then(crate::stats::saturation::warning_words)
    {
        let _ = writeln!(out, "WARNING:        {w}");
    }
    if t.reconnects > 0 {
        let _ = writeln!(
            out,
            "Reconnects:     {} kept-alive connection closed by the server and sent again on \
             a new one (counted once above)",
            crate::parse::count_of(t.reconnects, "request found its", "requests found their")
        );
    }
    if let (Some(target), Some(late), Some(lag)) = (t.target_rps, t.late_slots, t.max_lag_ms) {
        let _ = writeln!(
            out,
            "Rate:           target {} req/s, achieved {} req/s; {} \
             (sent >1 ms after its slot), largest lag {} ms",
            crate::parse::format_rate(target),
            cell(t.measured_qps().filter(|_| t.requests > 0), 1),
            crate::parse::count_of(late, "late slot", "late slots"),
            if t.requests > 0 {
                format!("{lag:.3}")
            } else {
                "-".to_string()
            }
        );
        if let Some(unsent) = t.unsent_slots.filter(|&n| n > 0) {
            let _ = writeln!(
                out,
                "Unsent:         {} due before the end never sent: every user was still busy \
                 (the rate was not reached; more --users, or a lower --rps)",
                crate::parse::count_of(unsent, "slot", "slots")
            );
        }
        if r.stages.len() > 1 {
            rate_by_stage(&mut out, r, width);
        }
    }

    goodput(&mut out, r);
    super::stream_summary::render(&mut out, r, width);

    if !r.latency_histogram.is_empty() {
        let _ = writeln!(out, "\nLatency histogram (ms, upper edge of each bin):");
        let most = r
            .latency_histogram
            .iter()
            .map(|b| b.count)
            .max()
            .unwrap_or(1)
            .max(1);
        let total: u64 = r.latency_histogram.iter().map(|b| b.count).sum();
        // On a narrow terminal, a shorter bar (the rest of the line is about 34 characters).
        let bar_width = width.map_or(BAR_WIDTH, |w| w.saturating_sub(34).clamp(10, BAR_WIDTH));
        for b in &r.latency_histogram {
            let len = (b.count as f64 / most as f64 * bar_width as f64).round() as usize;
            let _ = writeln!(
                out,
                "  {:>10.3} | {:<width$} {} ({:.1}%)",
                b.upto_ms,
                "#".repeat(len),
                b.count,
                b.count as f64 * 100.0 / total.max(1) as f64,
                width = bar_width
            );
        }
    }
    super::traffic_summary::render(&mut out, r, width);
    // A saved report (`report`, `merge`) says what it likes: its name, URL, headers, target and
    // model names reach the terminal with their control characters escaped.
    fold(&crate::parse::terminal_text(&out), width)
}

/// A row's goodput in words: `3.50 req/s (35 of 40 requests, 87.5%)`.
pub fn goodput_words(s: &StageReport) -> String {
    match s.goodput {
        Some(g) => format!(
            "{:.2} req/s ({} of {} requests, {})",
            g.goodput_per_s,
            g.good_requests,
            s.requests,
            g.goodput_ratio
                .map_or_else(|| "-".to_string(), |x| format!("{:.1}%", x * 100.0))
        ),
        None => "- (no requests)".to_string(),
    }
}

/// `--goodput`: the run's, and each stage's when there are several.
fn goodput(out: &mut String, r: &Report) {
    let Some(slos) = &r.config.goodput else {
        return;
    };
    let words = goodput_words;
    let _ = writeln!(
        out,
        "Goodput:        {} met every objective of {slos}",
        words(&r.total)
    );
    if r.stages.len() > 1 {
        let name_w = r.stage_name_width();
        for s in &r.stages {
            let _ = writeln!(out, "  {:<name_w$} {}", s.name, words(s));
        }
    }
}

/// Each paced stage's target and achieved rate, late slots and largest lag; narrowed to
/// `width`, unsent, then the largest lag, then late slots go.
fn rate_by_stage(out: &mut String, r: &Report, width: Option<usize>) {
    let _ = writeln!(
        out,
        "\nRate by stage (a stage's requests are those of its own slots, sent on time or late):"
    );
    let mut t = Table::new()
        .column("stage", false, r.stage_name_width(), KEEP)
        .column("target req/s", true, 12, KEEP)
        .column("achieved req/s", true, 14, KEEP)
        .column("late slots", true, 10, 3)
        .column("largest lag ms", true, 16, 2)
        .column("unsent", true, 8, 1);
    for s in &r.stages {
        let (Some(target), Some(late), Some(lag)) = (s.target_rps, s.late_slots, s.max_lag_ms)
        else {
            continue;
        };
        t.row([
            s.name.clone(),
            crate::parse::format_rate(target),
            cell(s.measured_qps(), 1),
            late.to_string(),
            if s.requests > 0 {
                format!("{lag:.3}")
            } else {
                "-".to_string()
            },
            s.unsent_slots.map_or("-".to_string(), |n| n.to_string()),
        ]);
    }
    out.push_str(&t.render(width));
}

/// A table of latencies (or response times): a row per stage when there are several, then the
/// total. Narrowed to `width`, the columns go in this order: min, p99.9, time, p95, users,
/// avg, fail %, p90, max; stage, requests, qps, err %, p50 and p99 stay.
fn table(
    out: &mut String,
    r: &Report,
    width: Option<usize>,
    pick: impl Fn(&StageReport) -> &Percentiles,
) {
    let mut t = Table::new()
        .column("stage", false, r.stage_name_width(), KEEP)
        .column("users", true, 6, 5)
        .column("requests", true, 9, KEEP)
        .column("time", true, 8, 3)
        .column("qps", true, 10, KEEP)
        .column("err %", true, 7, KEEP)
        .column("fail %", true, 7, 7);
    // avg min p50 p90 p95 p99 p99.9 max, as Percentiles::table_row gives them.
    for (header, keep) in [
        ("avg", 6),
        ("min", 1),
        ("p50", KEEP),
        ("p90", 8),
        ("p95", 4),
        ("p99", KEEP),
        ("p99.9", 2),
        ("max", 9),
    ] {
        t = t.column(header, true, 8, keep);
    }
    let rows = if r.stages.len() > 1 {
        r.stages.iter().collect::<Vec<_>>()
    } else {
        Vec::new()
    };
    for s in rows.into_iter().chain(std::iter::once(&r.total)) {
        let mut cells = vec![
            s.name.clone(),
            s.users.to_string(),
            s.requests.to_string(),
            format!("{:.1}s", s.duration_s),
            cell(s.measured_qps(), 1),
            percent(s.error_rate),
            percent(s.failure_rate),
        ];
        // A row without a measured value (a 0-user stage) shows `-` in every column.
        let row = pick(s).table_row();
        cells.extend((0..8).map(|i| cell(row.map(|v| v[i]), 3)));
        t.row(cells);
    }
    out.push_str(&t.render(width));
}

/// What the run cost qpsbench itself, in words: `CPU 0.52 s user + 1.80 s system (0.0116 s per
/// 1,000 requests); peak RSS 10.5 MiB`.
pub fn client_words(c: &crate::stats::rows::ClientCost) -> String {
    format!(
        "qpsbench's own CPU {:.2} s user + {:.2} s system{}; peak RSS {:.1} MiB",
        c.cpu_user_s,
        c.cpu_system_s,
        c.cpu_s_per_1k_requests
            .map_or(String::new(), |v| format!(" ({v:.4} s per 1,000 requests)")),
        c.peak_rss_kib as f64 / 1024.0
    )
}
