//! [`Bucket`]: the live accumulator of one window (the run, a stage, a second, a target): counts
//! by outcome and HdrHistograms of latency, TTFB, send lag and response time, turned into a
//! results row at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::sample::{FailureKind, Outcome, Sample};
use crate::stats::hdr::{
    HIST_MAX_US, Percentiles, Record as _, add_histogram, decode_histogram, encode_histogram,
    new_histogram, round3, round6,
};
use crate::stats::rows::{GoodputRow, SecondReport, StageHistograms, StageReport};
use crate::stats::stream::StreamBucket;

/// A send that starts more than this after its scheduled slot counts as a late slot.
pub const LATE_SLOT: Duration = Duration::from_millis(1);

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
    /// Responses with a success status that failed a check (`--expect-*`).
    pub check_failures: u64,
    pub bytes: u64,
    /// Requests sent again on a new connection: their kept-alive one was found dead.
    pub reconnects: u64,
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
    /// Requests that met every `--goodput` objective; `None` until a request was judged.
    pub good: Option<u64>,
}

/// A response whose status counts as a success (not an error status, or a `--success-status`).
fn status_ok(s: &Sample, code: u16) -> bool {
    s.tag.ok.unwrap_or(!is_error_status(code))
}

/// The request counts as `ok`: a success status and no failed check.
pub fn counts_as_ok(s: &Sample) -> bool {
    match s.outcome {
        Outcome::Status(code) => status_ok(s, code) && !s.tag.check_failed,
        Outcome::Failure(_) => false,
    }
}

impl Bucket {
    /// An empty bucket; `paced` adds the `--rps` histograms.
    pub fn new(paced: bool) -> Self {
        Bucket {
            requests: 0,
            ok: 0,
            errors: 0,
            failures: 0,
            check_failures: 0,
            bytes: 0,
            reconnects: 0,
            status: BTreeMap::new(),
            failure_kinds: [0; FailureKind::ALL.len()],
            latency: new_histogram(),
            ttfb: new_histogram(),
            response_time: paced.then(new_histogram),
            send_lag: paced.then(new_histogram),
            late_slots: 0,
            max_lag: Duration::ZERO,
            stream: None,
            good: None,
        }
    }

    /// Count a request judged by `--goodput` (good: it met every objective).
    pub fn record_good(&mut self, good: bool) {
        *self.good.get_or_insert(0) += u64::from(good);
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
        self.reconnects += u64::from(s.tag.reconnected);
        match s.outcome {
            Outcome::Status(code) => {
                *self.status.entry(code).or_insert(0) += 1;
                if !status_ok(s, code) {
                    self.errors += 1;
                } else if s.tag.check_failed {
                    self.check_failures += 1;
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
            .put(micros(s.end.saturating_duration_since(s.sent)));
        if let Some(fb) = s.first_byte {
            self.ttfb.put(micros(fb.saturating_duration_since(s.sent)));
        }
        if let Some(slot) = s.scheduled {
            let lag = s.sent.saturating_duration_since(slot);
            if lag > LATE_SLOT {
                self.late_slots += 1;
            }
            self.max_lag = self.max_lag.max(lag);
            if let Some(h) = &mut self.send_lag {
                h.put(micros(lag));
            }
            if let Some(h) = &mut self.response_time {
                h.put(micros(s.end.saturating_duration_since(slot)));
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
        self.check_failures = 0;
        self.bytes = 0;
        self.reconnects = 0;
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
        if let Some(g) = &mut self.good {
            *g = 0;
        }
    }

    /// Add every count and histogram of `other` (windows of runs that are merged).
    ///
    /// # Errors
    ///
    /// When one window was paced by `--rps` and the other was not, or a histogram does not fit in
    /// this one's range (see [`add_histogram`]); `self` is then partly added to.
    pub fn add(&mut self, other: &Bucket) -> Result<(), String> {
        self.requests += other.requests;
        self.ok += other.ok;
        self.errors += other.errors;
        self.failures += other.failures;
        self.check_failures += other.check_failures;
        self.bytes += other.bytes;
        self.reconnects += other.reconnects;
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
        if let Some(theirs) = other.good {
            *self.good.get_or_insert(0) += theirs;
        }
        Ok(())
    }

    /// Rebuild the window a saved row describes (its counts and histograms), so that rows of
    /// several reports can be added exactly.
    ///
    /// # Errors
    ///
    /// When a status code is not a number, a failure kind or a stream end reason is unknown, or a
    /// histogram cannot be decoded (see [`decode_histogram`]).
    pub fn from_report(r: &StageReport) -> Result<Self, String> {
        let paced = r.hdr.response_time_us.is_some();
        let mut b = Bucket::new(paced);
        b.requests = r.requests;
        b.ok = r.ok;
        b.errors = r.errors;
        b.failures = r.failures;
        b.check_failures = r.check_failures;
        b.bytes = r.bytes;
        b.reconnects = r.reconnects;
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
        b.good = r.goodput.map(|g| g.good_requests);
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
            check_failures: self.check_failures,
            error_rate: (self.requests > 0).then(|| round6(frac(self.errors))),
            failure_rate: (self.requests > 0).then(|| round6(frac(self.failures))),
            bytes: self.bytes,
            reconnects: self.reconnects,
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
            goodput: self
                .good
                .map(|g| GoodputRow::new(g, self.requests, duration)),
            targets: Vec::new(),
            unsent_slots: None,
        }
    }
}

impl SecondReport {
    /// The row for one window (`interval` long, ending `second` seconds after the start).
    pub fn from_bucket(second: u64, interval: Duration, users: usize, b: &Bucket) -> Self {
        let p = Percentiles::of(&b.latency);
        let ttfb = Percentiles::of(&b.ttfb);
        let ttfb = ttfb.measured();
        SecondReport {
            second,
            interval_s: round3(interval.as_secs_f64()),
            users,
            requests: b.requests,
            ok: b.ok,
            errors: b.errors,
            failures: b.failures,
            check_failures: b.check_failures,
            p50_ms: p.measured().map(|p| p.p50),
            p90_ms: p.measured().map(|p| p.p90),
            p99_ms: p.measured().map(|p| p.p99),
            max_ms: p.measured().map(|p| p.max),
            hdr_latency_us: encode_histogram(&b.latency),
            ttfb_p50_ms: ttfb.map(|p| p.p50),
            ttfb_p99_ms: ttfb.map(|p| p.p99),
            hdr_ttfb_us: if b.ttfb.is_empty() {
                String::new()
            } else {
                encode_histogram(&b.ttfb)
            },
            stream: b.stream.as_ref().map(|st| st.second(interval)),
            good_requests: b.good,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::hdr::latency_bins;
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
        assert!((r.error_rate.unwrap() - 2.0 / 12.0).abs() < 1e-6);
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
