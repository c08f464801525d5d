//! `--retries N`: retry a request that got 429, 500, 502, 503 or 504, or whose connection failed
//! (refused, reset, timed out), with exponential backoff and jitter. Off by default. Every
//! attempt is still a sample; the logical request's outcome and latency are counted apart.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::sample::{FailureKind, Outcome, Sample};
use crate::stats::{Percentiles, encode_histogram, new_histogram};

/// Longest wait between two attempts, however many retries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Most retries `--retries` accepts.
pub const MAX_RETRIES: u32 = 100;

/// When and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: never retry).
    pub retries: u32,
    /// The first backoff; each further retry doubles it (up to [`MAX_BACKOFF`]).
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 0,
            backoff: Duration::from_millis(100),
        }
    }
}

/// Statuses worth another attempt.
pub fn is_retryable_status(code: u16) -> bool {
    matches!(code, 429 | 500 | 502 | 503 | 504)
}

impl RetryPolicy {
    /// Is this outcome of attempt `attempt` (0 = the first) worth another attempt? `ok` says
    /// whether `--ok-status` takes the status for a success (a success is never retried).
    pub fn should_retry(&self, outcome: Outcome, ok: bool, attempt: u32) -> bool {
        if attempt >= self.retries || ok {
            return false;
        }
        match outcome {
            Outcome::Status(code) => is_retryable_status(code),
            Outcome::Failure(kind) => matches!(
                kind,
                FailureKind::Connect | FailureKind::Reset | FailureKind::Timeout
            ),
        }
    }

    /// The wait before retry number `retry` (1 = the first retry): backoff x 2^(retry-1),
    /// capped, then "equal jitter": half of it fixed, the other half uniformly random.
    pub fn backoff(&self, retry: u32, rng: &mut fastrand::Rng) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        let full = self
            .backoff
            .saturating_mul(1u32 << exp)
            .min(MAX_BACKOFF)
            .as_micros() as u64;
        Duration::from_micros(full / 2 + rng.u64(0..=full - full / 2))
    }
}

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
        self.latency.saturating_record(us.max(1));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_only_transient_outcomes_and_only_so_often() {
        let p = RetryPolicy {
            retries: 2,
            backoff: Duration::from_millis(100),
        };
        assert!(p.should_retry(Outcome::Status(503), false, 0));
        assert!(p.should_retry(Outcome::Status(429), false, 1));
        assert!(!p.should_retry(Outcome::Status(503), false, 2));
        assert!(!p.should_retry(Outcome::Status(503), true, 0));
        assert!(!p.should_retry(Outcome::Status(404), false, 0));
        assert!(p.should_retry(Outcome::Failure(FailureKind::Connect), false, 0));
        assert!(!p.should_retry(Outcome::Failure(FailureKind::Dns), false, 0));
        assert!(!RetryPolicy::default().should_retry(Outcome::Status(503), false, 0));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = RetryPolicy {
            retries: 50,
            backoff: Duration::from_millis(100),
        };
        let mut rng = fastrand::Rng::with_seed(3);
        for (retry, full_ms) in [(1u32, 100u64), (2, 200), (3, 400)] {
            for _ in 0..100 {
                let d = p.backoff(retry, &mut rng).as_millis() as u64;
                assert!((full_ms / 2..=full_ms).contains(&d), "{retry}: {d}");
            }
        }
        assert!(p.backoff(40, &mut rng) <= MAX_BACKOFF);
    }
}
