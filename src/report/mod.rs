//! The run's results as one serializable value: what the text summary and `--json` show.

pub mod capacity;
pub mod compare;
pub mod merge;
pub mod thresholds;
pub mod traffic;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::config::schedule::Arrival;
use crate::engine::run::RunResult;
use crate::stats::hdr::{HistogramBin, latency_bins};
use crate::stats::rows::{SecondReport, StageReport};

/// Bins in the text latency histogram.
const HISTOGRAM_BINS: usize = 10;

/// Version of the report layout; `merge` and `report` read only this one.
pub const REPORT_FORMAT: u32 = 2;

/// A complete report: what `--json` writes and `merge` / `report` read back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Always "qpsbench".
    pub tool: String,
    /// The qpsbench version that measured the run.
    pub version: String,
    /// Version of this layout ([`REPORT_FORMAT`]).
    pub report_format: u32,
    /// Start of the run, UTC, RFC 3339.
    pub started_at: String,
    /// Start of the run in milliseconds since the Unix epoch (aligns the series of merged runs).
    pub started_at_unix_ms: u64,
    /// How many runs this report combines: 1, or more after `qpsbench merge`.
    pub runs: usize,
    /// The run's configuration, secrets masked.
    pub config: RunConfig,
    /// True when Ctrl-C (or SIGTERM) ended the run early.
    pub interrupted: bool,
    /// `--abort-on`: the threshold that held over the window and stopped the run early (exit 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted: Option<crate::stats::abort::Aborted>,
    /// Seconds from the start until the run stopped.
    pub elapsed_s: f64,
    /// Requests sent but not answered when the run ended (not in any count below).
    pub in_flight_at_end: u64,
    /// `--name`: the run's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `--warmup`: the warm-up's requests, in no other row, series or threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<StageReport>,
    /// The whole run.
    pub total: StageReport,
    /// Each stage of the schedule (one when there is no ramp).
    pub stages: Vec<StageReport>,
    /// The text summary's latency histogram: log-spaced bins of the total latency.
    pub latency_histogram: Vec<HistogramBin>,
    /// One row per second since the start; the last may be a partial window.
    pub seconds: Vec<SecondReport>,
    /// One row per `--targets` entry (empty with a single target), over the whole run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<StageReport>,
    /// With `--retries`: attempts, retries, and each logical request's final outcome and
    /// latency (the rows above count every attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<crate::stats::retry::RetryReport>,
    /// `--fail-on` thresholds as checked after the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<crate::report::thresholds::ThresholdResult>,
    /// The first few samples of each error status and failure kind, secrets masked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<crate::traffic::evidence::Evidence>,
    /// What the run cost qpsbench itself: CPU time and peak memory (after `merge`: the CPU of
    /// every run added, the largest peak).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<crate::stats::rows::ClientCost>,
    /// The seconds in which the client itself, not the server, was the limit (its CPU or its
    /// threads' wait for one, see [`crate::stats::saturation`]): latency there includes
    /// qpsbench's own queueing. Empty when it kept up; absent in reports written before it was
    /// measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_saturation: Option<Vec<crate::stats::saturation::SaturatedSpan>>,
}

/// The configuration, as it may be shown: secrets masked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunConfig {
    /// Target URL, any password masked.
    pub url: String,
    /// The method; with `--targets`, the distinct methods of its entries (`GET, POST`).
    pub method: String,
    /// Header lines with secret values replaced by `***`.
    pub headers: Vec<String>,
    /// Request body size in bytes (of `-d`, or the first prompt's body); 0 without one.
    pub body_bytes: usize,
    /// Threads the run spawned: the most users the schedule ever runs.
    pub users: usize,
    /// Users of each stage (one entry when there is no ramp).
    pub stage_users: Vec<usize>,
    /// `--rps`: the target rate of the whole run (with rate stages, their mean over the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rps: Option<f64>,
    /// `--rps` rate stages: the target rate of each stage (absent with one rate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stage_rps: Vec<f64>,
    /// `--arrival`: how the slots were spread, `poisson` or `gamma(K)`; absent for constant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival: Option<String>,
    /// `--warmup`: seconds of warm-up before the measured run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_s: Option<f64>,
    /// Planned length of the measured run (after any warm-up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    /// `--requests`: the request budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// `--timeout`: one deadline for each whole request, seconds.
    pub timeout_s: f64,
    /// `--insecure`: TLS certificates were not verified.
    pub insecure: bool,
    /// The proxy that carries the traffic; environment proxy variables are never used.
    pub proxy: Option<String>,
    /// `--start-at`: the wall-clock instant the run waited for, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<String>,
    /// The LLM request flags (API, model, number of prompts and keys; never a key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<crate::traffic::llm::LlmView>,
    /// `--goodput`: the objectives a good request meets, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodput: Option<String>,
    /// Targets, data, auth rotation, think time, success statuses, retries (never a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<crate::report::traffic::TrafficInfo>,
}

impl RunConfig {
    /// The checks on each response as written (`--expect-*`); empty without checks.
    pub fn checks(&self) -> &[String] {
        self.traffic.as_ref().map_or(&[], |t| t.checks.as_slice())
    }

    /// The displayable configuration of a run.
    pub fn of(cfg: &Config) -> Self {
        let t = &cfg.target;
        let stages = cfg.schedule.measured();
        RunConfig {
            url: match &cfg.traffic.targets_file {
                Some(file) => format!("targets {}", file),
                None => cfg.traffic.redactor.url(&t.url),
            },
            method: crate::config::display_method(cfg),
            headers: t
                .headers
                .iter()
                .map(|(n, v)| {
                    let v = v.to_str().unwrap_or("(binary)");
                    cfg.traffic.redactor.header_line(n.as_str(), v)
                })
                .collect(),
            body_bytes: t.body.as_ref().map_or(0, |b| b.len()),
            users: cfg.users,
            stage_users: cfg.schedule.measured().iter().map(|s| s.users()).collect(),
            warmup_s: cfg.schedule.warmup().map(|d| d.as_secs_f64()),
            rps: cfg.schedule.target_rate(),
            stage_rps: if cfg.schedule.rate_stages() {
                stages.iter().filter_map(|s| s.rate).collect()
            } else {
                Vec::new()
            },
            arrival: match cfg.arrival {
                Arrival::Constant => None,
                Arrival::Gamma { shape: 1.0, .. } => Some("poisson".into()),
                Arrival::Gamma { shape, .. } => Some(format!("gamma({shape})")),
            },
            duration_s: cfg.schedule.end().map(|d| {
                d.saturating_sub(cfg.schedule.warmup().unwrap_or_default())
                    .as_secs_f64()
            }),
            requests: cfg.requests,
            timeout_s: cfg.timeout.as_secs_f64(),
            insecure: cfg.insecure,
            proxy: cfg.proxy.as_deref().map(crate::redact::mask_url),
            start_at: cfg
                .start_at
                .map(|t| humantime::format_rfc3339_millis(t).to_string()),
            llm: cfg.llm.view.clone(),
            goodput: cfg.goodput.as_ref().map(|g| g.text.clone()),
            traffic: Some(crate::report::traffic::TrafficInfo::of(&cfg.traffic)),
        }
    }
}

impl Report {
    /// Assemble the report of a finished run.
    pub fn build(cfg: &Config, run: &RunResult) -> Self {
        let m = &run.measured;
        let run_end = m.end;
        // The measured run starts after the warm-up.
        let warmup = cfg.schedule.warmup().unwrap_or_default();
        let start = run.start + warmup;
        let elapsed = run_end.saturating_duration_since(start);
        let stages = cfg.schedule.stages();
        let rate_stages = cfg.schedule.rate_stages();
        let skip = usize::from(cfg.schedule.warmup().is_some());
        let warmup_row = (skip == 1).then(|| {
            let w = &m.stages[0];
            let ended = m.stages.get(1).and_then(|s| s.started).unwrap_or(run_end);
            let len = w.started.map_or(Duration::ZERO, |s| {
                ended.min(run_end).saturating_duration_since(s)
            });
            w.bucket
                .report("warmup", stages[0].users(), len, stages[0].rate)
        });
        let stage_reports = stages
            .iter()
            .zip(&m.stages)
            .enumerate()
            .skip(skip)
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
                let mut row = window.bucket.report(
                    &stage.name(i - skip, rate_stages),
                    stage.users(),
                    duration,
                    stage.rate,
                );
                // A stage without users owes no slot.
                row.unsent_slots = run
                    .unsent_slots
                    .as_ref()
                    .map(|v| if stage.users() == 0 { 0 } else { v[i] });
                if let Some(buckets) = m.traffic.stage_targets.get(i) {
                    row.targets = buckets
                        .iter()
                        .zip(&cfg.traffic.requests)
                        .map(|(b, plan)| b.report(&plan.name, stage.users(), duration, None))
                        .collect();
                }
                row
            })
            .collect();
        let total = m.total.report(
            "total",
            cfg.users,
            elapsed,
            cfg.schedule.target_rate_over(elapsed),
        );
        let targets = m
            .traffic
            .targets
            .iter()
            .zip(&cfg.traffic.requests)
            .map(|(bucket, plan)| bucket.report(&plan.name, cfg.users, elapsed, None))
            .collect();
        let mut report = Report {
            tool: "qpsbench".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            report_format: REPORT_FORMAT,
            started_at: humantime::format_rfc3339_seconds(run.started_at + warmup).to_string(),
            started_at_unix_ms: unix_ms(run.started_at + warmup),
            runs: 1,
            config: RunConfig::of(cfg),
            interrupted: m.interrupted,
            aborted: m.aborted.clone(),
            elapsed_s: (elapsed.as_secs_f64() * 1e3).round() / 1e3,
            in_flight_at_end: run.in_flight_at_end,
            name: cfg.name.clone(),
            warmup: warmup_row,
            total,
            stages: stage_reports,
            latency_histogram: latency_bins(&m.total.latency, HISTOGRAM_BINS),
            seconds: m.seconds.clone(),
            targets,
            retries: m
                .traffic
                .retry
                .as_ref()
                .map(|b| b.report(&cfg.traffic.retry)),
            thresholds: Vec::new(),
            evidence: run.evidence.clone(),
            client: run.usage.map(|(user, system, rss)| {
                // Every request the process made: the warm-up's cost CPU too.
                crate::stats::rows::ClientCost::new(user, system, rss, m.received)
            }),
            client_saturation: m.client_saturation.clone(),
        };
        report.total.unsent_slots = report.stages.iter().map(|s| s.unsent_slots).sum();
        report.thresholds = crate::report::thresholds::evaluate(
            &cfg.fail_on,
            &report.total,
            &report.stages,
            cfg.baseline.as_ref(),
        );
        report
    }

    /// How the run ended, in one word, as the CSV files' `status` column says it: `aborted` by
    /// `--abort-on`, `interrupted` by Ctrl-C or SIGTERM, else `complete`.
    pub fn status(&self) -> &'static str {
        if self.aborted.is_some() {
            "aborted"
        } else if self.interrupted {
            "interrupted"
        } else {
            "complete"
        }
    }

    /// Event streams whose body and JSON checks did not apply (they are judged by their status
    /// only): the run's streams when it has a body or JSON check, else 0.
    pub fn streams_judged_by_status_only(&self) -> u64 {
        let body_checks = self
            .config
            .checks()
            .iter()
            .any(|c| !c.starts_with("status "));
        match &self.total.stream {
            Some(s) if body_checks => s.streams,
            _ => 0,
        }
    }

    /// The width of the stage column of a text table: the longest stage name, at least 5
    /// (`stage`).
    pub fn stage_name_width(&self) -> usize {
        self.stages
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(5)
            .max(5)
    }

    /// This run as the baseline of `--fail-on` changes (`p99<+10%`), named `source`.
    pub fn as_baseline(&self, source: &str) -> crate::stats::thresholds::Baseline {
        crate::stats::thresholds::Baseline {
            source: source.to_string(),
            total: self.total.clone(),
            stages: self.stages.clone(),
            goodput: self.config.goodput.clone(),
        }
    }

    /// True when a `--fail-on` threshold failed.
    pub fn thresholds_failed(&self) -> bool {
        self.thresholds.iter().any(|t| !t.passed)
    }
}

/// Milliseconds since the Unix epoch (0 before it).
pub fn unix_ms(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `error-rate>50% held over seconds 8–17 (measured 75.000%)`.
pub fn aborted_words(a: &crate::stats::abort::Aborted) -> String {
    let unit = a
        .threshold
        .split(['<', '>'])
        .next()
        .and_then(|m| crate::stats::thresholds::Metric::parse(m.trim()))
        .map_or(crate::stats::thresholds::Unit::Number, |m| m.unit());
    format!(
        "{} (measured {})",
        a.describe(),
        crate::report::thresholds::show(unit, a.measured)
    )
}
