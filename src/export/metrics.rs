//! The live `/metrics` page (`--metrics-addr`): the run as Prometheus counters, histograms and
//! gauges while it goes, in the OpenMetrics text of the `prometheus-client` crate. README, "Live
//! metrics", lists every metric; the bucket bounds are [`LATENCY_BUCKETS`] and
//! [`TOKEN_GAP_BUCKETS`].
//!
//! Counters and histograms are updated on the collector thread only, from the sinks
//! [`Metrics::begin_run`] hands `lib::run` (never in a user thread). A sample costs a few atomic
//! adds and one uncontended lock per histogram, and allocates nothing once its status has been
//! seen: the counter of each (outcome, status) is looked up once and kept. The gauges are
//! computed when the page is rendered (on the page server's thread), from the schedule and
//! the engine's [`Progress`] at that instant.
//!
//! What is counted agrees with the final report: the warm-up's requests are kept out of every
//! metric but `qpsbench_warmup_requests_total`, as every report keeps them out of its results;
//! every attempt of a retried request counts, as in the report's `total.requests`. A process
//! that makes several runs (`find`) keeps counting across them: counters never go back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::collector::{ItlSink, SampleSink, SecondSink};
use crate::config::Config;
use crate::config::schedule::Schedule;
use crate::engine::run::Progress;
use crate::sample::{FailureKind, Outcome, Sample};
use crate::stats::bucket::is_error_status;

/// The page's content type: OpenMetrics text 1.0.0, as `prometheus-client`'s encoder writes it
/// (Prometheus asks for it and parses it).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds (seconds) of the `qpsbench_latency_seconds` and `qpsbench_ttft_seconds`
/// buckets, `+Inf` after them: 100 µs (a loopback answer) to 60 s, about 2.5x apart, so that
/// `histogram_quantile` interpolates within a factor of 2.5 wherever the latency lies. The
/// report's own percentiles (HdrHistogram) are exact to 0.1%.
pub const LATENCY_BUCKETS: [f64; 18] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];

/// Upper bounds (seconds) of the `qpsbench_itl_seconds` and `qpsbench_tpot_seconds` buckets,
/// `+Inf` after them: 1 ms to 2.5 s, finer from 10 to 100 ms, where a served model's token gaps
/// lie.
pub const TOKEN_GAP_BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The labels of `qpsbench_requests_total`: the outcome, and the status of a response or the
/// kind of a failure (the other is left out, not empty). Only fixed words and numbers: no URL,
/// header or body ever becomes a label.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
struct RequestLabels {
    outcome: &'static str,
    status: Option<u16>,
    failure: Option<&'static str>,
}

impl EncodeLabelSet for RequestLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        ("outcome", self.outcome).encode(encoder.encode_label())?;
        if let Some(code) = self.status {
            ("status", code).encode(encoder.encode_label())?;
        }
        if let Some(kind) = self.failure {
            ("failure", kind).encode(encoder.encode_label())?;
        }
        Ok(())
    }
}

/// The outcome label of a response, by the report's rule (`Bucket::record`): an error status
/// (or one `--ok-status` refuses), a success that failed a check, or ok.
fn response_outcome(code: u16, s: &Sample) -> &'static str {
    if !s.tag.ok.unwrap_or(!is_error_status(code)) {
        "error"
    } else if s.tag.check_failed {
        "check_failed"
    } else {
        "ok"
    }
}

/// Every metric of the page; shared by the collector's sinks and the page server.
pub struct Metrics {
    registry: Registry,
    /// TTFT, ITL, TPOT and output tokens: on the page once a streamed response was seen.
    stream_registry: Registry,
    streaming: AtomicBool,
    requests: Family<RequestLabels, Counter>,
    warmup_requests: Counter,
    response_bytes: Counter,
    latency: Histogram,
    ttft: Histogram,
    itl: Histogram,
    tpot: Histogram,
    output_tokens: Counter,
    active_users: Gauge,
    in_flight: Gauge,
    /// Paced runs (`--rps`) only.
    target_rps: Option<Gauge<f64, AtomicU64>>,
    send_lag: Option<Gauge<f64, AtomicU64>>,
    /// The run going on now, if any: what the gauges are computed from.
    run: Mutex<Option<RunView>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// What the gauges of a run are computed from.
struct RunView {
    schedule: Schedule,
    progress: Progress,
    /// Samples the collector has recorded (warm-up included), to set against those begun.
    received: Arc<AtomicU64>,
}

impl RunView {
    /// (active users, target rate, requests in flight) now.
    fn now(&self) -> (usize, f64, u64) {
        let Some(start) = self.progress.start.get() else {
            return (0, 0.0, 0); // waiting for --start-at
        };
        let t = start.elapsed();
        let s = &self.schedule;
        let ended = s.end().is_some_and(|end| t >= end);
        let rate = match s.stages().get(s.stage_at(t)) {
            Some(stage) if !ended => stage.rate.unwrap_or(0.0),
            _ => 0.0,
        };
        let started = self.progress.started.load(Ordering::Relaxed);
        let received = self.received.load(Ordering::Relaxed);
        (s.users_at(t), rate, started.saturating_sub(received))
    }
}

/// The sinks of one run, for `lib::run` to hand the collector.
pub struct RunSinks {
    pub on_sample: SampleSink,
    pub on_itl: ItlSink,
    pub on_second: SecondSink,
}

impl Metrics {
    /// The metrics of runs shaped like `cfg`: the rate gauges only when it is paced.
    pub fn new(cfg: &Config) -> Arc<Self> {
        let mut registry = Registry::with_prefix("qpsbench");
        let mut stream_registry = Registry::with_prefix("qpsbench");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests completed (every attempt, the warm-up's aside), by outcome (ok, error: an \
             HTTP error status, check_failed, failure: no complete response) and status or \
             failure kind",
            requests.clone(),
        );
        let response_bytes = Counter::default();
        registry.register_with_unit(
            "response",
            "Response body bytes read (the warm-up's aside)",
            Unit::Bytes,
            response_bytes.clone(),
        );
        let latency = Histogram::new(LATENCY_BUCKETS);
        registry.register_with_unit(
            "latency",
            "Latency: send start to last body byte (the warm-up's aside)",
            Unit::Seconds,
            latency.clone(),
        );
        let warmup_requests = Counter::default();
        if cfg.schedule.warmup().is_some() {
            registry.register(
                "warmup_requests",
                "Requests completed during --warmup, any outcome (in no other metric)",
                warmup_requests.clone(),
            );
        }
        let active_users = Gauge::default();
        registry.register(
            "active_users",
            "Users the schedule runs now (0 before the start and after the end)",
            active_users.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "in_flight_requests",
            "Requests sent and not yet finished",
            in_flight.clone(),
        );
        let paced = cfg.schedule.paced();
        let target_rps = paced.then(Gauge::<f64, AtomicU64>::default);
        let send_lag = paced.then(Gauge::<f64, AtomicU64>::default);
        if let (Some(rate), Some(lag)) = (&target_rps, &send_lag) {
            registry.register(
                "target_rps",
                "The --rps target rate now, requests per second (0 after the end)",
                rate.clone(),
            );
            registry.register_with_unit(
                "send_lag",
                "Largest send lag (scheduled slot to send start) of the requests that ended \
                 in the last closed second of the run",
                Unit::Seconds,
                lag.clone(),
            );
        }
        let ttft = Histogram::new(LATENCY_BUCKETS);
        stream_registry.register_with_unit(
            "ttft",
            "Time to first token: send start to the first event with content (streamed \
             responses)",
            Unit::Seconds,
            ttft.clone(),
        );
        let itl = Histogram::new(TOKEN_GAP_BUCKETS);
        stream_registry.register_with_unit(
            "itl",
            "Inter-token latency: each gap between consecutive content events",
            Unit::Seconds,
            itl.clone(),
        );
        let tpot = Histogram::new(TOKEN_GAP_BUCKETS);
        stream_registry.register_with_unit(
            "tpot",
            "Time per output token after the first, per complete answer",
            Unit::Seconds,
            tpot.clone(),
        );
        let output_tokens = Counter::default();
        stream_registry.register(
            "output_tokens",
            "Output tokens of streamed responses (the server's usage, else content events)",
            output_tokens.clone(),
        );
        Arc::new(Metrics {
            registry,
            stream_registry,
            streaming: AtomicBool::new(false),
            requests,
            warmup_requests,
            response_bytes,
            latency,
            ttft,
            itl,
            tpot,
            output_tokens,
            active_users,
            in_flight,
            target_rps,
            send_lag,
            run: Mutex::new(None),
        })
    }

    /// The page: every metric now, in OpenMetrics text.
    pub fn render(&self) -> String {
        let (users, rate, in_flight) = self.run.lock().as_ref().map_or((0, 0.0, 0), RunView::now);
        self.active_users
            .set(i64::try_from(users).unwrap_or(i64::MAX));
        self.in_flight
            .set(i64::try_from(in_flight).unwrap_or(i64::MAX));
        if let Some(g) = &self.target_rps {
            g.set(rate);
        }
        let mut out = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail.
        let _ = encode_registry(&mut out, &self.registry);
        if self.streaming.load(Ordering::Relaxed) {
            let _ = encode_registry(&mut out, &self.stream_registry);
        }
        let _ = encode_eof(&mut out);
        out
    }

    /// A run of `schedule` begins: its gauges now follow `progress`, and these sinks count its
    /// samples (to be handed to the collector).
    pub fn begin_run(self: &Arc<Self>, schedule: &Schedule, progress: &Progress) -> RunSinks {
        let received = Arc::new(AtomicU64::new(0));
        *self.run.lock() = Some(RunView {
            schedule: schedule.clone(),
            progress: progress.clone(),
            received: received.clone(),
        });
        // The largest send lag (µs) of the second being collected; the gauge shows the last
        // closed one's.
        let lag_us = Arc::new(AtomicU64::new(0));
        let mut counts = SampleCounts {
            metrics: Arc::clone(self),
            warmup: schedule.warmup().is_some(),
            received,
            lag_us: lag_us.clone(),
            responses: Vec::new(),
            failures: FailureKind::ALL.map(|kind| {
                self.requests.get_or_create_owned(&RequestLabels {
                    outcome: "failure",
                    status: None,
                    failure: Some(kind.key()),
                })
            }),
        };
        let on_itl = {
            let m = Arc::clone(self);
            let warmup = schedule.warmup().is_some();
            Box::new(move |stage: u32, gaps: &[u32]| {
                if warmup && stage == 0 {
                    return;
                }
                for &us in gaps {
                    m.itl.observe(f64::from(us) / 1e6);
                }
            }) as ItlSink
        };
        let on_second = {
            let gauge = self.send_lag.clone();
            Box::new(move |_: &crate::stats::rows::SecondReport| {
                let us = lag_us.swap(0, Ordering::Relaxed);
                if let Some(g) = &gauge {
                    g.set(us as f64 / 1e6);
                }
            }) as SecondSink
        };
        RunSinks {
            on_sample: Box::new(move |s: &Sample| counts.record(s)),
            on_itl,
            on_second,
        }
    }

    /// The run is over: the gauges go to 0 (no users, no target, nothing in flight or late);
    /// the counters keep their values.
    pub fn end_run(&self) {
        *self.run.lock() = None;
        if let Some(g) = &self.send_lag {
            g.set(0.0);
        }
    }
}

/// The collector's side: counts each sample into the metrics.
struct SampleCounts {
    metrics: Arc<Metrics>,
    warmup: bool,
    received: Arc<AtomicU64>,
    lag_us: Arc<AtomicU64>,
    /// The counter of each (status, outcome) seen: looked up in the family once.
    responses: Vec<(u16, &'static str, Counter)>,
    /// The counter of each failure kind, by [`FailureKind::index`] (0 from the start, so that a
    /// rate of errors is 0 rather than absent).
    failures: [Counter; FailureKind::ALL.len()],
}

impl SampleCounts {
    fn record(&mut self, s: &Sample) {
        self.received.fetch_add(1, Ordering::Relaxed);
        let m = &*self.metrics;
        if self.warmup && s.stage == 0 {
            m.warmup_requests.inc();
            return;
        }
        match s.outcome {
            Outcome::Status(code) => {
                let outcome = response_outcome(code, s);
                let found = self
                    .responses
                    .iter()
                    .find(|(c, o, _)| *c == code && *o == outcome);
                match found {
                    Some((_, _, counter)) => {
                        counter.inc();
                    }
                    None => {
                        let counter = m.requests.get_or_create_owned(&RequestLabels {
                            outcome,
                            status: Some(code),
                            failure: None,
                        });
                        counter.inc();
                        self.responses.push((code, outcome, counter));
                    }
                }
            }
            Outcome::Failure(kind) => {
                self.failures[kind.index()].inc();
            }
        }
        m.response_bytes.inc_by(s.bytes);
        m.latency
            .observe(s.end.saturating_duration_since(s.sent).as_secs_f64());
        if let Some(slot) = s.scheduled {
            let lag = s.sent.saturating_duration_since(slot);
            self.lag_us.fetch_max(micros(lag), Ordering::Relaxed);
        }
        if let Some(st) = &s.stream {
            m.streaming.store(true, Ordering::Relaxed);
            m.output_tokens.inc_by(st.tokens());
            if let Some(ttft) = st.ttft {
                m.ttft.observe(ttft.as_secs_f64());
            }
            // As the report: TPOT of complete answers only.
            if st.end.is_complete()
                && let Some(tpot) = st.tpot()
            {
                m.tpot.observe(tpot.as_secs_f64());
            }
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Tag;
    use crate::stream::{EndReason, StreamStats};
    use std::time::Instant;

    fn config(args: &[&str]) -> Config {
        let argv: Vec<String> = ["qpsbench", "run", "--url", "http://127.0.0.1:1/"]
            .into_iter()
            .chain(args.iter().copied())
            .map(String::from)
            .collect();
        Config::try_from(crate::cli::parse_run_args(&argv).unwrap()).unwrap()
    }

    fn sample(stage: u32, outcome: Outcome, ms: u64) -> Sample {
        let sent = Instant::now();
        Sample {
            stage,
            scheduled: None,
            sent,
            first_byte: Some(sent),
            end: sent + Duration::from_millis(ms),
            outcome,
            bytes: 10,
            stream: None,
            tag: Tag::default(),
        }
    }

    /// The lines of the page that start with `prefix`.
    fn lines(page: &str, prefix: &str) -> Vec<String> {
        page.lines()
            .filter(|l| l.starts_with(prefix))
            .map(String::from)
            .collect()
    }

    #[test]
    fn samples_are_counted_by_outcome_status_and_failure_kind_the_warmup_apart() {
        let cfg = config(&["--warmup", "1s", "-z", "2s"]);
        let m = Metrics::new(&cfg);
        let mut sinks = m.begin_run(&cfg.schedule, &Progress::default());
        let warm = sample(0, Outcome::Status(200), 1);
        (sinks.on_sample)(&warm);
        for (outcome, ms) in [
            (Outcome::Status(200), 1),
            (Outcome::Status(200), 3),
            (Outcome::Status(503), 20),
            (Outcome::Failure(FailureKind::Timeout), 2000),
        ] {
            (sinks.on_sample)(&sample(1, outcome, ms));
        }
        let mut checked = sample(1, Outcome::Status(200), 1);
        checked.tag.check_failed = true;
        (sinks.on_sample)(&checked);
        let mut refused = sample(1, Outcome::Status(201), 1);
        refused.tag.ok = Some(false);
        (sinks.on_sample)(&refused);
        let page = m.render();
        let requests = lines(&page, "qpsbench_requests_total");
        for want in [
            "qpsbench_requests_total{outcome=\"ok\",status=\"200\"} 2",
            "qpsbench_requests_total{outcome=\"error\",status=\"503\"} 1",
            "qpsbench_requests_total{outcome=\"check_failed\",status=\"200\"} 1",
            "qpsbench_requests_total{outcome=\"error\",status=\"201\"} 1",
            "qpsbench_requests_total{outcome=\"failure\",failure=\"timeout\"} 1",
            "qpsbench_requests_total{outcome=\"failure\",failure=\"connect\"} 0",
        ] {
            assert!(requests.iter().any(|l| l == want), "no {want} in\n{page}");
        }
        assert_eq!(requests.len(), 4 + FailureKind::ALL.len(), "{page}");
        assert!(
            page.contains("qpsbench_warmup_requests_total 1\n"),
            "{page}"
        );
        assert!(
            page.contains("qpsbench_response_bytes_total 60\n"),
            "{page}"
        );
        assert!(
            page.contains("qpsbench_latency_seconds_count 6\n"),
            "{page}"
        );
        // The 1 ms ones (ok, checked, refused) are under 2.5 ms; 3 ms is not.
        assert!(
            page.contains("qpsbench_latency_seconds_bucket{le=\"0.0025\"} 3\n"),
            "{page}"
        );
        assert!(
            page.contains("qpsbench_latency_seconds_bucket{le=\"+Inf\"} 6\n"),
            "{page}"
        );
        // Not paced, not streamed: no rate gauges, no stream histograms.
        for absent in ["target_rps", "send_lag", "ttft", "itl", "tpot"] {
            assert!(!page.contains(absent), "{absent} in\n{page}");
        }
        assert!(page.ends_with("# EOF\n"), "{page}");
    }

    #[test]
    fn gauges_follow_the_schedule_and_the_requests_in_flight() {
        let cfg = config(&["--rps", "50,80", "--step", "60s", "-c", "4"]);
        let m = Metrics::new(&cfg);
        let page = m.render();
        assert!(page.contains("qpsbench_active_users 0\n"), "{page}");
        let progress = Progress::default();
        let mut sinks = m.begin_run(&cfg.schedule, &progress);
        // Not started yet (--start-at): nothing runs.
        assert!(m.render().contains("qpsbench_target_rps 0.0\n"));
        let _ = progress.start.set(Instant::now());
        progress.started.store(5, Ordering::Relaxed);
        let mut late = sample(0, Outcome::Status(200), 1);
        late.scheduled = Some(late.sent - Duration::from_millis(7));
        (sinks.on_sample)(&late);
        let page = m.render();
        for want in [
            "qpsbench_active_users 4\n",
            "qpsbench_target_rps 50.0\n",
            "qpsbench_in_flight_requests 4\n",
            "qpsbench_send_lag_seconds 0.0\n",
        ] {
            assert!(page.contains(want), "no {want} in\n{page}");
        }
        // The lag shows once its second closes.
        (sinks.on_second)(&crate::stats::rows::SecondReport::from_bucket(
            1,
            Duration::from_secs(1),
            4,
            &crate::stats::bucket::Bucket::new(true),
        ));
        assert!(m.render().contains("qpsbench_send_lag_seconds 0.007\n"));
        m.end_run();
        let page = m.render();
        for want in [
            "qpsbench_active_users 0\n",
            "qpsbench_target_rps 0.0\n",
            "qpsbench_in_flight_requests 0\n",
            "qpsbench_send_lag_seconds 0.0\n",
            "qpsbench_requests_total{outcome=\"ok\",status=\"200\"} 1\n",
        ] {
            assert!(page.contains(want), "no {want} in\n{page}");
        }
    }

    #[test]
    fn streamed_responses_add_the_token_histograms() {
        let cfg = config(&[]);
        let m = Metrics::new(&cfg);
        let mut sinks = m.begin_run(&cfg.schedule, &Progress::default());
        let mut s = sample(0, Outcome::Status(200), 500);
        s.stream = Some(StreamStats {
            ttft: Some(Duration::from_millis(50)),
            generation: Duration::from_millis(40),
            content_events: 5,
            counted_tokens: 5,
            itl_count: 4,
            end: EndReason::Done,
            ..StreamStats::default()
        });
        (sinks.on_itl)(0, &[9_000, 11_000, 10_000, 10_000]);
        (sinks.on_sample)(&s);
        let page = m.render();
        for want in [
            "qpsbench_ttft_seconds_count 1\n",
            "qpsbench_ttft_seconds_bucket{le=\"0.05\"} 1\n",
            "qpsbench_itl_seconds_count 4\n",
            "qpsbench_itl_seconds_bucket{le=\"0.01\"} 3\n",
            "qpsbench_tpot_seconds_count 1\n",
            "qpsbench_tpot_seconds_bucket{le=\"0.01\"} 1\n",
            "qpsbench_output_tokens_total 5\n",
        ] {
            assert!(page.contains(want), "no {want} in\n{page}");
        }
    }
}
