//! What the collector counts for the traffic features: a row per target, and the logical
//! requests when retrying.

use crate::sample::{Outcome, Sample};
use crate::stats::bucket::Bucket;
use crate::stats::retry::RetryBucket;
use crate::traffic::plan::TrafficConfig;

/// The most per-target rows within stages a run keeps (each about 100 KiB).
pub const MAX_STAGE_TARGET_ROWS: usize = 1000;

/// What the collector counts for the traffic features: a row per target, and the logical
/// requests when retrying.
#[derive(Debug)]
pub struct TrafficStats {
    /// One bucket per target (empty with a single target).
    pub targets: Vec<Bucket>,
    /// Per schedule stage, one bucket per target: with several targets and several stages, up
    /// to [`MAX_STAGE_TARGET_ROWS`] in all (empty otherwise).
    pub stage_targets: Vec<Vec<Bucket>>,
    /// With `--retries`.
    pub retry: Option<RetryBucket>,
    /// Logical requests finished (final attempts).
    pub finished: u64,
}

impl TrafficStats {
    /// Empty statistics for a run of `cfg` over `stages` schedule stages (`paced`: the run has
    /// `--rps`).
    pub fn new(cfg: &TrafficConfig, paced: bool, stages: usize) -> Self {
        let n = cfg.requests.len();
        let per_stage = n > 1 && stages > 1 && n * stages <= MAX_STAGE_TARGET_ROWS;
        TrafficStats {
            stage_targets: if per_stage {
                (0..stages)
                    .map(|_| (0..n).map(|_| Bucket::new(paced)).collect())
                    .collect()
            } else {
                Vec::new()
            },
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
        if let Some(b) = self
            .stage_targets
            .get_mut(s.stage as usize)
            .and_then(|row| row.get_mut(usize::from(s.tag.target)))
        {
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
