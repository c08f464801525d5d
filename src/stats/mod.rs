//! Statistics owned by the collector: counters and HdrHistograms per second, per stage and for
//! the whole run, turned into serializable reports at the end. Nothing here grows with the
//! number of requests.

pub mod retry;
pub mod stream;
pub mod thresholds;
pub mod traffic;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use crate::sample::{FailureKind, Outcome, Sample};
use crate::stats::stream::{SecondStream, StreamBucket, StreamReport};

/// A send that starts more than this after its scheduled slot counts as a late slot.
pub const LATE_SLOT: Duration = Duration::from_millis(1);

/// Largest value a histogram holds: one hour, in microseconds. Larger values are clamped.
const HIST_MAX_US: u64 = 3_600_000_000;

/// A latency histogram in microseconds, 3 significant digits (as wrk2 and oha).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_US, 3).expect("static histogram bounds are valid")
}

/// A histogram as a report carries it: HdrHistogram V2 with deflate, base64 (the encoding the
/// HdrHistogram tools and interval logs use; it starts with `HISTF`).
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .expect("serializing into memory does not fail for in-range histograms");
    BASE64.encode(bytes)
}

/// Read a histogram written by [`encode_histogram`] (or any V2 / V2 deflate base64 histogram).
pub fn decode_histogram(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = BASE64
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram: {e:?}"))
}

/// Add `from` into `into`, clamping nothing: both cover the same range when written by qpsbench.
pub fn add_histogram(into: &mut Histogram<u64>, from: &Histogram<u64>) -> Result<(), String> {
    into.add(from)
        .map_err(|e| format!("histograms do not combine: {e:?}"))
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, HIST_MAX_US)
}

/// Is this status an HTTP error (counted in the error rate)?
pub fn is_error_status(code: u16) -> bool {
    code >= 400
}

/// Counters and histograms for one window: a second, a stage, or the run.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub failures: u64,
    pub bytes: u64,
    status: BTreeMap<u16, u64>,
    failure_kinds: [u64; FailureKind::ALL.len()],
    pub latency: Histogram<u64>,
    pub ttfb: Histogram<u64>,
    /// Scheduled slot -> end; only when the run is paced by `--rps`.
    pub response_time: Option<Histogram<u64>>,
    /// Scheduled slot -> send start; only when paced.
    pub send_lag: Option<Histogram<u64>>,
    pub late_slots: u64,
    pub max_lag: Duration,
    /// Streaming statistics; created when the first streamed response (or ITL) arrives.
    pub stream: Option<StreamBucket>,
}

impl Bucket {
    /// An empty bucket; `paced` adds the `--rps` histograms.
    pub fn new(paced: bool) -> Self {
        Bucket {
            requests: 0,
            ok: 0,
            errors: 0,
            failures: 0,
            bytes: 0,
            status: BTreeMap::new(),
            failure_kinds: [0; FailureKind::ALL.len()],
            latency: new_histogram(),
            ttfb: new_histogram(),
            response_time: paced.then(new_histogram),
            send_lag: paced.then(new_histogram),
            late_slots: 0,
            max_lag: Duration::ZERO,
            stream: None,
        }
    }

    /// Add inter-token gaps (µs) of streamed responses.
    pub fn record_itl(&mut self, gaps_us: &[u32]) {
        self.stream
            .get_or_insert_with(StreamBucket::new)
            .record_itl(gaps_us);
    }

    /// Add one sample.
    pub fn record(&mut self, s: &Sample) {
        self.requests += 1;
        self.bytes += s.bytes;
        match s.outcome {
            Outcome::Status(code) => {
                *self.status.entry(code).or_insert(0) += 1;
                if !s.tag.ok.unwrap_or(!is_error_status(code)) {
                    self.errors += 1;
                } else {
                    self.ok += 1;
                }
            }
            Outcome::Failure(kind) => {
                self.failures += 1;
                self.failure_kinds[kind.index()] += 1;
            }
        }
        self.latency
            .saturating_record(micros(s.end.saturating_duration_since(s.sent)));
        if let Some(fb) = s.first_byte {
            self.ttfb
                .saturating_record(micros(fb.saturating_duration_since(s.sent)));
        }
        if let Some(slot) = s.scheduled {
            let lag = s.sent.saturating_duration_since(slot);
            if lag > LATE_SLOT {
                self.late_slots += 1;
            }
            self.max_lag = self.max_lag.max(lag);
            if let Some(h) = &mut self.send_lag {
                h.saturating_record(micros(lag));
            }
            if let Some(h) = &mut self.response_time {
                h.saturating_record(micros(s.end.saturating_duration_since(slot)));
            }
        }
        if let Some(st) = &s.stream {
            self.stream.get_or_insert_with(StreamBucket::new).record(st);
        }
    }

    /// Empty the bucket, keeping its allocations.
    pub fn clear(&mut self) {
        self.requests = 0;
        self.ok = 0;
        self.errors = 0;
        self.failures = 0;
        self.bytes = 0;
        self.status.clear();
        self.failure_kinds = [0; FailureKind::ALL.len()];
        self.latency.reset();
        self.ttfb.reset();
        for h in [&mut self.response_time, &mut self.send_lag]
            .into_iter()
            .flatten()
        {
            h.reset();
        }
        self.late_slots = 0;
        self.max_lag = Duration::ZERO;
        if let Some(st) = &mut self.stream {
            st.clear();
        }
    }

    /// Add every count and histogram of `other` (windows of runs that are merged).
    pub fn add(&mut self, other: &Bucket) -> Result<(), String> {
        self.requests += other.requests;
        self.ok += other.ok;
        self.errors += other.errors;
        self.failures += other.failures;
        self.bytes += other.bytes;
        for (code, n) in &other.status {
            *self.status.entry(*code).or_insert(0) += n;
        }
        for (mine, theirs) in self.failure_kinds.iter_mut().zip(other.failure_kinds) {
            *mine += theirs;
        }
        add_histogram(&mut self.latency, &other.latency)?;
        add_histogram(&mut self.ttfb, &other.ttfb)?;
        for (mine, theirs) in [
            (&mut self.response_time, &other.response_time),
            (&mut self.send_lag, &other.send_lag),
        ] {
            match (mine, theirs) {
                (Some(m), Some(t)) => add_histogram(m, t)?,
                (None, None) => {}
                _ => return Err("one run was paced by --rps and another was not".into()),
            }
        }
        self.late_slots += other.late_slots;
        self.max_lag = self.max_lag.max(other.max_lag);
        match (&mut self.stream, &other.stream) {
            (Some(mine), Some(theirs)) => mine.add(theirs)?,
            (None, Some(theirs)) => self.stream = Some(theirs.clone()),
            (_, None) => {}
        }
        Ok(())
    }

    /// Rebuild the window a saved row describes (its counts and histograms), so that rows of
    /// several reports can be added exactly.
    pub fn from_report(r: &StageReport) -> Result<Self, String> {
        let paced = r.hdr.response_time_us.is_some();
        let mut b = Bucket::new(paced);
        b.requests = r.requests;
        b.ok = r.ok;
        b.errors = r.errors;
        b.failures = r.failures;
        b.bytes = r.bytes;
        for (code, n) in &r.status_counts {
            let code: u16 = code
                .parse()
                .map_err(|_| format!("status code '{code}' is not a number"))?;
            b.status.insert(code, *n);
        }
        for (key, n) in &r.failure_kinds {
            let kind = FailureKind::from_key(key)
                .ok_or_else(|| format!("unknown failure kind '{key}'"))?;
            b.failure_kinds[kind.index()] = *n;
        }
        b.latency = decode_histogram(&r.hdr.latency_us)?;
        b.ttfb = decode_histogram(&r.hdr.ttfb_us)?;
        b.response_time = r
            .hdr
            .response_time_us
            .as_deref()
            .map(decode_histogram)
            .transpose()?;
        b.send_lag = r
            .hdr
            .send_lag_us
            .as_deref()
            .map(decode_histogram)
            .transpose()?;
        b.late_slots = r.late_slots.unwrap_or(0);
        b.max_lag = Duration::from_secs_f64(r.max_lag_ms.unwrap_or(0.0).max(0.0) / 1e3);
        b.stream = r
            .stream
            .as_ref()
            .map(StreamBucket::from_report)
            .transpose()?;
        Ok(b)
    }

    /// Count per status code.
    pub fn status_counts(&self) -> &BTreeMap<u16, u64> {
        &self.status
    }

    /// Count per failure kind (only kinds that occurred).
    pub fn failure_counts(&self) -> Vec<(FailureKind, u64)> {
        FailureKind::ALL
            .iter()
            .map(|&k| (k, self.failure_kinds[k.index()]))
            .filter(|&(_, n)| n > 0)
            .collect()
    }

    /// The results row for this window.
    pub fn report(
        &self,
        name: &str,
        users: usize,
        duration: Duration,
        target_rps: Option<f64>,
    ) -> StageReport {
        let secs = duration.as_secs_f64();
        let per_s = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let frac = |n: u64| {
            if self.requests > 0 {
                n as f64 / self.requests as f64
            } else {
                0.0
            }
        };
        StageReport {
            name: name.to_string(),
            users,
            requests: self.requests,
            ok: self.ok,
            duration_s: round3(secs),
            qps: round3(per_s(self.requests)),
            ok_per_s: round3(per_s(self.ok)),
            errors: self.errors,
            failures: self.failures,
            error_rate: round6(frac(self.errors)),
            failure_rate: round6(frac(self.failures)),
            bytes: self.bytes,
            status_counts: self
                .status
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            failure_kinds: self
                .failure_counts()
                .into_iter()
                .map(|(k, n)| (k.key().to_string(), n))
                .collect(),
            latency_ms: Percentiles::of(&self.latency),
            ttfb_ms: Percentiles::of(&self.ttfb),
            target_rps,
            late_slots: target_rps.map(|_| self.late_slots),
            max_lag_ms: target_rps.map(|_| round3(self.max_lag.as_secs_f64() * 1e3)),
            send_lag_ms: self.send_lag.as_ref().map(Percentiles::of),
            response_time_ms: self.response_time.as_ref().map(Percentiles::of),
            hdr: StageHistograms {
                latency_us: encode_histogram(&self.latency),
                ttfb_us: encode_histogram(&self.ttfb),
                response_time_us: self.response_time.as_ref().map(encode_histogram),
                send_lag_us: self.send_lag.as_ref().map(encode_histogram),
            },
            stream: self.stream.as_ref().map(|st| st.report(duration)),
        }
    }
}

/// The histograms behind a results row, in microseconds, each encoded by [`encode_histogram`]:
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

fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Latency summary in milliseconds. All zero when there were no samples.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    /// Summarize a microsecond histogram in milliseconds.
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Percentiles {
                min: 0.0,
                mean: 0.0,
                p50: 0.0,
                p90: 0.0,
                p95: 0.0,
                p99: 0.0,
                p999: 0.0,
                max: 0.0,
            };
        }
        let ms = |us: u64| round3(us as f64 / 1e3);
        Percentiles {
            min: ms(h.min()),
            mean: round3(h.mean() / 1e3),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

/// One results row: a stage, or the whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageReport {
    pub name: String,
    /// Users in the stage (the most it runs).
    pub users: usize,
    /// Completed requests, any outcome.
    pub requests: u64,
    /// Requests with a success status (not 4xx/5xx, not failed).
    pub ok: u64,
    pub duration_s: f64,
    /// requests / duration_s.
    pub qps: f64,
    /// ok / duration_s.
    pub ok_per_s: f64,
    /// Responses with an HTTP error status (4xx, 5xx).
    pub errors: u64,
    /// Client-side failures: no complete response.
    pub failures: u64,
    pub error_rate: f64,
    pub failure_rate: f64,
    /// Response body bytes received.
    pub bytes: u64,
    pub status_counts: BTreeMap<String, u64>,
    pub failure_kinds: BTreeMap<String, u64>,
    /// Send start -> last body byte.
    pub latency_ms: Percentiles,
    /// Send start -> response head received.
    pub ttfb_ms: Percentiles,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_rps: Option<f64>,
    /// Sends that started more than 1 ms after their slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_slots: Option<u64>,
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
}

/// One second of the run, as printed live.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecondReport {
    /// Seconds since the start at the end of this window.
    pub second: u64,
    /// Length of the window in seconds: 1, except for the last, partial window of a run.
    pub interval_s: f64,
    pub users: usize,
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub failures: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// This window's latency histogram (microseconds), encoded by [`encode_histogram`].
    pub hdr_latency_us: String,
    /// TTFT, ITL and output tokens of this second: only once responses are streamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<SecondStream>,
}

impl SecondReport {
    /// Forget the serialized per-second histograms (kept only for `--json`, which `merge`
    /// reads, and `--hdr-log`): they are the one part of a run's memory that grows with its
    /// length, by about 1-9 KiB a second.
    pub fn drop_histograms(&mut self) {
        self.hdr_latency_us = String::new();
        if let Some(st) = &mut self.stream {
            st.hdr_ttft_us = String::new();
            st.hdr_itl_us = String::new();
        }
    }

    /// The row for one window (`interval` long, ending `second` seconds after the start).
    pub fn from_bucket(second: u64, interval: Duration, users: usize, b: &Bucket) -> Self {
        let p = Percentiles::of(&b.latency);
        SecondReport {
            second,
            interval_s: round3(interval.as_secs_f64()),
            users,
            requests: b.requests,
            ok: b.ok,
            errors: b.errors,
            failures: b.failures,
            p50_ms: p.p50,
            p90_ms: p.p90,
            p99_ms: p.p99,
            max_ms: p.max,
            hdr_latency_us: encode_histogram(&b.latency),
            stream: b.stream.as_ref().map(|st| st.second(interval)),
        }
    }
}

/// One bar of the text latency histogram.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HistogramBin {
    /// Upper edge of the bin, in milliseconds (inclusive).
    pub upto_ms: f64,
    pub count: u64,
}

/// Split the recorded range into `bins` log-spaced bins with their counts.
pub fn latency_bins(h: &Histogram<u64>, bins: usize) -> Vec<HistogramBin> {
    if h.is_empty() || bins == 0 {
        return Vec::new();
    }
    let (lo, hi) = (h.min().max(1) as f64, h.max().max(1) as f64);
    let mut out = Vec::with_capacity(bins);
    let mut prev = lo.floor() as u64 - 1;
    for i in 1..=bins {
        let edge = if i == bins {
            h.max()
        } else {
            (lo * (hi / lo).powf(i as f64 / bins as f64)).round() as u64
        };
        if edge <= prev {
            continue;
        }
        let count = h.count_between(prev + 1, edge);
        // count_between works on equivalent ranges; take exactly what lies above the last edge.
        out.push(HistogramBin {
            upto_ms: round3(edge as f64 / 1e3),
            count,
        });
        prev = h.highest_equivalent(edge);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn sample(latency_ms: u64, outcome: Outcome) -> Sample {
        let sent = Instant::now();
        Sample {
            stage: 0,
            scheduled: None,
            sent,
            first_byte: Some(sent),
            end: sent + Duration::from_millis(latency_ms),
            outcome,
            bytes: 10,
            stream: None,
            tag: Default::default(),
        }
    }

    #[test]
    fn percentiles_match_a_known_distribution() {
        let mut b = Bucket::new(false);
        // 1..=1000 ms, once each: p50 = 500, p90 = 900, p99 = 990, p99.9 = 999.
        for ms in 1..=1000 {
            b.record(&sample(ms, Outcome::Status(200)));
        }
        let r = b.report("t", 1, Duration::from_secs(10), None);
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 0.001;
        assert!(close(r.latency_ms.p50, 500.0), "{:?}", r.latency_ms);
        assert!(close(r.latency_ms.p90, 900.0), "{:?}", r.latency_ms);
        assert!(close(r.latency_ms.p99, 990.0), "{:?}", r.latency_ms);
        assert!(close(r.latency_ms.p999, 999.0), "{:?}", r.latency_ms);
        assert!(close(r.latency_ms.min, 1.0) && close(r.latency_ms.max, 1000.0));
        assert!(close(r.latency_ms.mean, 500.5), "{:?}", r.latency_ms);
        assert_eq!(r.qps, 100.0);
        assert_eq!(r.bytes, 10_000);
    }

    #[test]
    fn outcomes_are_counted_apart() {
        let mut b = Bucket::new(false);
        for _ in 0..7 {
            b.record(&sample(1, Outcome::Status(200)));
        }
        b.record(&sample(1, Outcome::Status(302)));
        b.record(&sample(1, Outcome::Status(404)));
        b.record(&sample(1, Outcome::Status(503)));
        b.record(&sample(1, Outcome::Failure(FailureKind::Timeout)));
        b.record(&sample(1, Outcome::Failure(FailureKind::Connect)));
        let r = b.report("t", 1, Duration::from_secs(1), None);
        assert_eq!((r.requests, r.ok, r.errors, r.failures), (12, 8, 2, 2));
        assert_eq!(r.status_counts.get("200"), Some(&7));
        assert_eq!(r.status_counts.get("503"), Some(&1));
        assert_eq!(r.failure_kinds.get("timeout"), Some(&1));
        assert_eq!(r.failure_kinds.get("connect"), Some(&1));
        assert!((r.error_rate - 2.0 / 12.0).abs() < 1e-6);
        assert!(r.target_rps.is_none() && r.response_time_ms.is_none());
    }

    #[test]
    fn paced_samples_measure_lag_and_response_time() {
        let mut b = Bucket::new(true);
        let slot = Instant::now();
        let mut s = sample(10, Outcome::Status(200));
        s.scheduled = Some(slot);
        s.sent = slot + Duration::from_millis(5);
        s.end = s.sent + Duration::from_millis(10);
        b.record(&s);
        let mut on_time = s;
        on_time.sent = slot + Duration::from_micros(200);
        on_time.end = on_time.sent + Duration::from_millis(10);
        b.record(&on_time);
        let r = b.report("t", 1, Duration::from_secs(1), Some(2.0));
        assert_eq!(r.late_slots, Some(1));
        assert_eq!(r.max_lag_ms, Some(5.0));
        let rt = r.response_time_ms.unwrap();
        assert!((rt.max - 15.0).abs() < 0.02, "{rt:?}");
        assert!((r.latency_ms.max - 10.0).abs() < 0.02);
    }

    #[test]
    fn clear_keeps_pacing_and_empties() {
        let mut b = Bucket::new(true);
        b.record(&sample(3, Outcome::Status(500)));
        b.clear();
        assert_eq!(b.requests, 0);
        assert!(b.latency.is_empty() && b.status_counts().is_empty());
        assert!(b.response_time.is_some());
        b.record(&sample(3, Outcome::Status(200)));
        assert_eq!(b.latency.len(), 1);
    }

    #[test]
    fn histogram_bins_hold_every_sample_once() {
        let mut h = new_histogram();
        for v in [100u64, 150, 900, 1_000, 5_000, 20_000, 20_000, 99_000] {
            h.record(v).unwrap();
        }
        let bins = latency_bins(&h, 6);
        assert_eq!(bins.iter().map(|b| b.count).sum::<u64>(), 8);
        assert!(bins.windows(2).all(|w| w[0].upto_ms < w[1].upto_ms));
        assert!((bins.last().unwrap().upto_ms - 99.0).abs() < 0.1);
    }
}
