//! The run's results as one serializable value: what the text summary and `--json` show.

use std::time::Duration;

use serde::Serialize;

use crate::config::{Config, display_header_value};
use crate::engine::RunResult;
use crate::stats::{HistogramBin, SecondReport, StageReport, latency_bins};

/// Bins in the text latency histogram.
const HISTOGRAM_BINS: usize = 10;

/// A complete report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub version: &'static str,
    /// Start of the run, UTC, RFC 3339.
    pub started_at: String,
    pub config: RunConfig,
    /// True when Ctrl-C (or SIGTERM) ended the run early.
    pub interrupted: bool,
    /// Seconds from the start until the run stopped.
    pub elapsed_s: f64,
    /// Requests sent but not answered when the run ended (not in any count below).
    pub in_flight_at_end: u64,
    pub total: StageReport,
    pub stages: Vec<StageReport>,
    pub latency_histogram: Vec<HistogramBin>,
    pub seconds: Vec<SecondReport>,
}

/// The configuration, as it may be shown: secrets masked.
#[derive(Debug, Clone, Serialize)]
pub struct RunConfig {
    pub url: String,
    pub method: String,
    /// Header lines with secret values replaced by `***`.
    pub headers: Vec<String>,
    pub body_bytes: usize,
    pub users: usize,
    /// Users of each stage (one entry when there is no ramp).
    pub stage_users: Vec<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    pub timeout_s: f64,
    pub insecure: bool,
    /// The proxy that carries the traffic; environment proxy variables are never used.
    pub proxy: Option<String>,
}

impl RunConfig {
    /// The displayable configuration of a run.
    pub fn of(cfg: &Config) -> Self {
        let t = &cfg.target;
        RunConfig {
            url: t.display_url(),
            method: t.method.to_string(),
            headers: t
                .headers
                .iter()
                .map(|(n, v)| {
                    let v = v.to_str().unwrap_or("(binary)");
                    format!("{}: {}", n, display_header_value(n.as_str(), v))
                })
                .collect(),
            body_bytes: t.body.as_ref().map_or(0, |b| b.len()),
            users: cfg.users,
            stage_users: cfg.schedule.stages().iter().map(|s| s.users()).collect(),
            rps: cfg.rps,
            duration_s: cfg.schedule.end().map(|d| d.as_secs_f64()),
            requests: cfg.requests,
            timeout_s: cfg.timeout.as_secs_f64(),
            insecure: cfg.insecure,
            proxy: cfg.proxy.as_deref().map(crate::config::mask_url),
        }
    }
}

impl Report {
    /// Assemble the report of a finished run.
    pub fn build(cfg: &Config, run: &RunResult) -> Self {
        let m = &run.measured;
        let run_end = m.end;
        let elapsed = run_end.saturating_duration_since(run.start);
        let stages = cfg.schedule.stages();
        let stage_reports = stages
            .iter()
            .zip(&m.stages)
            .enumerate()
            .map(|(i, (stage, window))| {
                let started = window.started;
                let next_start = m.stages.get(i + 1).and_then(|w| w.started);
                let duration = match started {
                    None => Duration::ZERO,
                    Some(s) => next_start
                        .unwrap_or(run_end)
                        .min(run_end)
                        .saturating_duration_since(s),
                };
                window
                    .bucket
                    .report(&stage.name(i), stage.users(), duration, cfg.rps)
            })
            .collect();
        let total = m.total.report("total", cfg.users, elapsed, cfg.rps);
        Report {
            tool: "qpsbench",
            version: env!("CARGO_PKG_VERSION"),
            started_at: humantime::format_rfc3339_seconds(run.started_at).to_string(),
            config: RunConfig::of(cfg),
            interrupted: m.interrupted,
            elapsed_s: (elapsed.as_secs_f64() * 1e3).round() / 1e3,
            in_flight_at_end: run.in_flight_at_end,
            total,
            stages: stage_reports,
            latency_histogram: latency_bins(&m.total.latency, HISTOGRAM_BINS),
            seconds: m.seconds.clone(),
        }
    }
}
