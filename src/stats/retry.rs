//! What the collector counts with `--retries`: attempts, retries, and each logical request's
//! final outcome and latency (first send to last byte, backoff included).

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::sample::{Outcome, Sample};
use crate::stats::hdr::{Percentiles, Record as _, encode_histogram, new_histogram};
use crate::traffic::retry::RetryPolicy;

/// Logical requests seen by the collector (only when `--retries` is on).
#[derive(Debug, Clone)]
pub struct RetryBucket {
    pub attempts: u64,
    pub requests: u64,
    /// Logical requests that needed more than one attempt.
    pub retried_requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub failures: u64,
    /// First send -> last byte of the final attempt, backoff included.
    pub latency: Histogram<u64>,
}

impl Default for RetryBucket {
    fn default() -> Self {
        RetryBucket {
            attempts: 0,
            requests: 0,
            retried_requests: 0,
            ok: 0,
            errors: 0,
            failures: 0,
            latency: new_histogram(),
        }
    }
}

impl RetryBucket {
    /// Count one attempt; a final attempt also counts its logical request.
    pub fn record(&mut self, s: &Sample, ok: bool) {
        self.attempts += 1;
        if s.tag.will_retry {
            return;
        }
        self.requests += 1;
        if s.tag.attempt > 0 {
            self.retried_requests += 1;
        }
        match s.outcome {
            Outcome::Status(_) if ok => self.ok += 1,
            Outcome::Status(_) => self.errors += 1,
            Outcome::Failure(_) => self.failures += 1,
        }
        let first_sent = s.tag.first_sent.unwrap_or(s.sent);
        let us = s.end.saturating_duration_since(first_sent).as_micros() as u64;
        self.latency.put(us.max(1));
    }

    /// The report section.
    pub fn report(&self, policy: &RetryPolicy) -> RetryReport {
        RetryReport {
            max_retries: policy.retries,
            backoff_ms: policy.backoff.as_secs_f64() * 1e3,
            attempts: self.attempts,
            retries: self.attempts.saturating_sub(self.requests),
            requests: self.requests,
            retried_requests: self.retried_requests,
            ok: self.ok,
            errors: self.errors,
            failures: self.failures,
            latency_ms: Percentiles::of(&self.latency),
            hdr_latency_us: encode_histogram(&self.latency),
        }
    }
}

/// Attempts and logical requests of a run with `--retries`. The rows (`total`, `stages`) count
/// every attempt; this counts each logical request once, by its final outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetryReport {
    /// `--retries`.
    pub max_retries: u32,
    /// `--retry-backoff`, in milliseconds.
    pub backoff_ms: f64,
    /// Requests sent, retries included (the `requests` of the rows).
    pub attempts: u64,
    /// Attempts beyond the first of their logical request.
    pub retries: u64,
    /// Logical requests finished (answered, or given up after the last retry).
    pub requests: u64,
    /// Logical requests that needed more than one attempt.
    pub retried_requests: u64,
    /// Logical requests whose final attempt succeeded.
    pub ok: u64,
    /// Logical requests whose final attempt got an HTTP error status.
    pub errors: u64,
    /// Logical requests whose final attempt failed on the client side.
    pub failures: u64,
    /// Per logical request: first send -> last byte of the final attempt (backoff included).
    pub latency_ms: Percentiles,
    /// The histogram of `latency_ms` (microseconds, V2 deflate base64).
    pub hdr_latency_us: String,
}
