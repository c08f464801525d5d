//! What the collector counts for the traffic features: a row per target, and the logical
//! requests when retrying.

use crate::sample::{Outcome, Sample};
use crate::stats::bucket::Bucket;
use crate::stats::retry::RetryBucket;
use crate::traffic::plan::TrafficConfig;

/// What the collector counts for the traffic features: a row per target, and the logical
/// requests when retrying.
#[derive(Debug)]
pub struct TrafficStats {
    /// One bucket per target (empty with a single target).
    pub targets: Vec<Bucket>,
    /// With `--retries`.
    pub retry: Option<RetryBucket>,
    /// Logical requests finished (final attempts).
    pub finished: u64,
}

impl TrafficStats {
    /// Empty statistics for a run of `cfg` (`paced`: the run has `--rps`).
    pub fn new(cfg: &TrafficConfig, paced: bool) -> Self {
        let n = cfg.requests.len();
        TrafficStats {
            targets: if n > 1 {
                (0..n).map(|_| Bucket::new(paced)).collect()
            } else {
                Vec::new()
            },
            retry: (cfg.retry.retries > 0).then(RetryBucket::default),
            finished: 0,
        }
    }

    /// Count one attempt; returns the logical requests finished so far.
    pub fn record(&mut self, s: &Sample) -> u64 {
        if let Some(b) = self.targets.get_mut(usize::from(s.tag.target)) {
            b.record(s);
        }
        if let Some(r) = &mut self.retry {
            let ok = match s.outcome {
                Outcome::Status(code) => s.tag.ok.unwrap_or(code < 400),
                Outcome::Failure(_) => false,
            };
            r.record(s, ok);
        }
        if !s.tag.will_retry {
            self.finished += 1;
        }
        self.finished
    }
}
