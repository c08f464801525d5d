//! The results rows as the report and `--json` hold them: one per stage, per target, per second
//! and the total. Every figure carries its unit in its name.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::stats::hdr::Percentiles;
use crate::stats::stream::{SecondStream, StreamReport};

/// The histograms behind a results row, in microseconds, each encoded by [`encode_histogram`](super::hdr::encode_histogram):
/// what `qpsbench merge` adds to recompute exact percentiles.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageHistograms {
    /// Send start -> last body byte.
    pub latency_us: String,
    /// Send start -> response head.
    pub ttfb_us: String,
    /// Scheduled slot -> last body byte; only with `--rps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_time_us: Option<String>,
    /// Scheduled slot -> send start; only with `--rps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_lag_us: Option<String>,
}

/// One results row: a stage, or the whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageReport {
    /// "total", "N: U users" for stage N (from 1) of U users, or a target's name.
    pub name: String,
    /// Users in the stage (the most it runs).
    pub users: usize,
    /// Completed requests, any outcome.
    pub requests: u64,
    /// Requests with a success status (not 4xx/5xx, not failed).
    pub ok: u64,
    /// Length of the window in seconds: the run's, or from the stage's first admission to the
    /// next stage's (or the end).
    pub duration_s: f64,
    /// requests / duration_s.
    pub qps: f64,
    /// ok / duration_s.
    pub ok_per_s: f64,
    /// Responses with an HTTP error status (4xx, 5xx).
    pub errors: u64,
    /// Client-side failures: no complete response.
    pub failures: u64,
    /// Responses with a success status that failed a check (`--expect-status`, `--expect-body`,
    /// `--expect-json`); not counted in `ok`. Omitted when 0 (`config.traffic.checks` says
    /// whether the run had checks).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub check_failures: u64,
    /// errors / requests, a fraction from 0 to 1 (not a percent); `null` without requests.
    pub error_rate: Option<f64>,
    /// failures / requests, a fraction from 0 to 1 (not a percent); `null` without requests.
    pub failure_rate: Option<f64>,
    /// Response body bytes received.
    pub bytes: u64,
    /// Requests sent again, once, on a new connection because the kept-alive one they were
    /// first sent on was already closed by the server (no byte of a response had come back:
    /// the request never reached it). Counted once each in `requests`, with their final
    /// outcome. Omitted when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reconnects: u64,
    /// Responses per HTTP status code (keys are the codes as strings, e.g. "200").
    pub status_counts: BTreeMap<String, u64>,
    /// Client-side failures per kind (`connect`, `dns`, `tls`, `timeout`, `reset`,
    /// `protocol`, `other`, and for streams `stream`, `stream_error`).
    pub failure_kinds: BTreeMap<String, u64>,
    /// Send start -> last body byte.
    pub latency_ms: Percentiles,
    /// Send start -> response head received.
    pub ttfb_ms: Percentiles,
    /// `--rps`: the target rate of the run, requests per second (only with `--rps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_rps: Option<f64>,
    /// Sends that started more than 1 ms after their slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_slots: Option<u64>,
    /// Slots due before the run ended that were never sent, because every user was still busy
    /// (the backlog the run ended with; only with `--rps`). Not counted in
    /// `requests`; a stage's own slots, whichever stage was running when they came due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsent_slots: Option<u64>,
    /// The largest send lag (scheduled slot -> send start), milliseconds (only with `--rps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lag_ms: Option<f64>,
    /// Scheduled slot -> send start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_lag_ms: Option<Percentiles>,
    /// Scheduled slot -> last body byte (coordinated omission corrected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_time_ms: Option<Percentiles>,
    /// The histograms the percentiles above come from, for exact merging.
    pub hdr: StageHistograms,
    /// LLM streaming metrics (TTFT, ITL, TPOT, tokens): only when responses were streamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamReport>,
    /// `--goodput`: the requests that met every objective (vLLM's goodput); only with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodput: Option<GoodputRow>,
    /// In a stage's row with `--targets`: one row per target within the stage (omitted
    /// otherwise, and beyond 1,000 stage x target rows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<StageReport>,
}

impl StageReport {
    /// `200: 95`, `503: 2`, `timeout: 1`: the count of each status, then of each failure kind.
    pub fn outcome_counts(&self) -> Vec<String> {
        self.status_counts
            .iter()
            .chain(&self.failure_kinds)
            .map(|(k, v)| format!("{k}: {v}"))
            .collect()
    }

    /// `qps`, or `None` for a stage the run never reached (stopped before it: `duration_s` 0),
    /// which the text, CSV and HTML show as not measured (`-`, an empty cell), never as 0. A
    /// reached stage without requests (0 users) has a measured rate of 0.
    pub fn measured_qps(&self) -> Option<f64> {
        (self.duration_s > 0.0).then_some(self.qps)
    }
}

/// One second of the run, as printed live.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecondReport {
    /// The window's first second, counted from 1: it starts `second - 1` seconds after the
    /// (measured) start and lasts `interval_s`.
    pub second: u64,
    /// Length of the window in seconds: 1, except (a) the last window of a run, which is the
    /// run's remainder: its own row when 0.5 s or longer (or the run's only window), else added
    /// to the second before it (which then lasts up to 1.5 s); and (b) in a run longer than an
    /// hour, every window more than 3,600 rows before the end, which is 60 s (its 60 seconds
    /// added exactly: counts sum, histograms add). Rates are over this length.
    pub interval_s: f64,
    /// Users the schedule ran in the window (the most, in a 60 s window).
    pub users: usize,
    /// Requests completed in the window, any outcome.
    pub requests: u64,
    /// Requests with a success status.
    pub ok: u64,
    /// Responses with an HTTP error status (4xx, 5xx).
    pub errors: u64,
    /// Client-side failures: no complete response.
    pub failures: u64,
    /// Responses with a success status that failed a check; omitted when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub check_failures: u64,
    /// Median latency (send start -> last body byte), milliseconds; `null` in a second without requests.
    pub p50_ms: Option<f64>,
    /// 90th percentile latency, milliseconds; `null` in a second without requests.
    pub p90_ms: Option<f64>,
    /// 99th percentile latency, milliseconds; `null` in a second without requests.
    pub p99_ms: Option<f64>,
    /// Slowest latency, milliseconds; `null` in a second without requests.
    pub max_ms: Option<f64>,
    /// This window's latency histogram (microseconds), encoded by [`encode_histogram`](super::hdr::encode_histogram).
    pub hdr_latency_us: String,
    /// Median TTFB (send start -> response head), milliseconds; `null` in a second without
    /// responses (and in reports written before 0.2).
    #[serde(default)]
    pub ttfb_p50_ms: Option<f64>,
    /// 99th percentile TTFB, milliseconds; `null` as `ttfb_p50_ms`.
    #[serde(default)]
    pub ttfb_p99_ms: Option<f64>,
    /// This window's TTFB histogram (microseconds), encoded; omitted when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hdr_ttfb_us: String,
    /// TTFT, ITL and output tokens of this second: only once responses are streamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<SecondStream>,
    /// `--goodput`: requests of this second that met every objective; only with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good_requests: Option<u64>,
}

impl SecondReport {
    /// Forget the serialized per-second histograms (kept only for `--json`, which `merge`
    /// reads, and `--hdr-log`): they are the one part of a run's memory that grows with its
    /// length, by about 1-9 KiB a second.
    pub fn drop_histograms(&mut self) {
        self.hdr_latency_us = String::new();
        self.hdr_ttfb_us = String::new();
        if let Some(st) = &mut self.stream {
            st.hdr_ttft_us = String::new();
            st.hdr_itl_us = String::new();
            st.hdr_tpot_us = String::new();
            st.hdr_tokens_per_s_milli = String::new();
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What the run cost the client itself (the qpsbench process), from `getrusage(RUSAGE_SELF)`
/// when the run ended: the figures a threads-versus-async comparison needs.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct ClientCost {
    /// CPU time in user mode, seconds (every thread of the process, from its start).
    pub cpu_user_s: f64,
    /// CPU time in the kernel on the process's behalf, seconds.
    pub cpu_system_s: f64,
    /// (user + system) / completed requests x 1,000 (every request the process made, the
    /// warm-up's included); `null` without requests.
    pub cpu_s_per_1k_requests: Option<f64>,
    /// The process's peak resident set size, KiB (`ru_maxrss`).
    pub peak_rss_kib: u64,
}

impl ClientCost {
    /// The cost of `user_s` + `system_s` CPU seconds and `peak_rss_kib` for `requests`.
    pub fn new(user_s: f64, system_s: f64, peak_rss_kib: u64, requests: u64) -> Self {
        let r = |x: f64| (x * 1e6).round() / 1e6;
        ClientCost {
            cpu_user_s: r(user_s),
            cpu_system_s: r(system_s),
            cpu_s_per_1k_requests: (requests > 0)
                .then(|| r((user_s + system_s) * 1000.0 / requests as f64)),
            peak_rss_kib,
        }
    }
}

/// A row's goodput: present when `--goodput` was given.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct GoodputRow {
    /// Requests that met every objective.
    pub good_requests: u64,
    /// good_requests / duration_s: goodput in requests per second.
    pub goodput_per_s: f64,
    /// good_requests / requests (every request of the window, failures included); `null`
    /// without requests.
    pub goodput_ratio: Option<f64>,
}

impl GoodputRow {
    /// The row of a window with `good` good requests out of `requests`, `duration` long.
    pub fn new(good: u64, requests: u64, duration: Duration) -> GoodputRow {
        let secs = duration.as_secs_f64();
        GoodputRow {
            good_requests: good,
            goodput_per_s: if secs > 0.0 {
                crate::stats::hdr::round3(good as f64 / secs)
            } else {
                0.0
            },
            goodput_ratio: (requests > 0)
                .then(|| crate::stats::hdr::round6(good as f64 / requests as f64)),
        }
    }
}
