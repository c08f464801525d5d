//! `--retries`: which outcomes are retried, and the backoff before each retry (exponential,
//! capped, with equal jitter).

use std::time::Duration;

use crate::sample::{FailureKind, Outcome};

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
