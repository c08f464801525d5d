//! `--abort-on`: thresholds judged after every second over a rolling window of the last
//! `--abort-window` seconds (10 by default), so that a soak stops once its service has clearly
//! failed instead of hammering it for hours. The expressions are `--fail-on`'s grammar, read the
//! other way round: `--fail-on 'error-rate<1%'` says what a run must meet, `--abort-on
//! 'error-rate>50%'` says when to stop.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::stats::bucket::Bucket;
use crate::stats::thresholds::Threshold;

/// Why a run stopped early: the threshold that held over the window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Aborted {
    /// The `--abort-on` expression that held, as written (`error-rate>50%`).
    pub threshold: String,
    /// What it measured over the window, in the metric's unit (ms, a fraction, a rate).
    pub measured: f64,
    /// The window's length, seconds.
    pub window_s: u64,
    /// The measured second (from 1) that closed the window: the run stopped after it.
    pub second: u64,
}

impl Aborted {
    /// `error-rate>50% held over seconds 8–17` (`over second 17` for a one-second window).
    pub fn describe(&self) -> String {
        let from = (self.second + 1).saturating_sub(self.window_s).max(1);
        if from == self.second {
            format!("{} held over second {}", self.threshold, self.second)
        } else {
            format!(
                "{} held over seconds {from}–{}",
                self.threshold, self.second
            )
        }
    }
}

/// The last `window` seconds' buckets and the thresholds judged over their sum.
#[derive(Debug)]
pub struct AbortWindow {
    thresholds: Vec<Threshold>,
    window: usize,
    paced: bool,
    /// The last seconds' buckets, each with the users the schedule ran in it.
    seconds: VecDeque<(Bucket, usize)>,
}

impl AbortWindow {
    /// Judge `thresholds` over the last `window` (whole seconds, at least 1).
    pub fn new(thresholds: Vec<Threshold>, window: Duration, paced: bool) -> Self {
        let window = (window.as_secs() as usize).max(1);
        AbortWindow {
            thresholds,
            window,
            paced,
            seconds: VecDeque::with_capacity(window),
        }
    }

    /// Add the second numbered `second` (from 1) that has just closed; once the window is full,
    /// the first threshold that holds over it, if any. A threshold on a figure the window did
    /// not measure (a p99 of a window without answers) does not hold; `qps<1` does hold in a
    /// window where nothing completed, unless the schedule ran no user in one of its seconds
    /// (a planned 0-user stage is not a dead service).
    pub fn push(&mut self, second: u64, bucket: &Bucket, users: usize) -> Option<Aborted> {
        if self.seconds.len() == self.window {
            self.seconds.pop_front();
        }
        self.seconds.push_back((bucket.clone(), users));
        if self.seconds.len() < self.window || self.seconds.iter().any(|(_, u)| *u == 0) {
            return None;
        }
        let mut sum = Bucket::new(self.paced);
        for (b, _) in &self.seconds {
            // Windows of one run: the same shape, so adding cannot fail.
            let _ = sum.add(b);
        }
        let length = Duration::from_secs(self.window as u64);
        let row = sum.report("window", users, length, None);
        self.thresholds.iter().find_map(|t| {
            let v = t.metric.measure(&row)?;
            // --abort-on refuses changes from a baseline (config/mod.rs): every limit is one.
            t.op.holds(v, t.absolute()?).then(|| Aborted {
                threshold: t.text.clone(),
                measured: v,
                window_s: self.window as u64,
                second,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{Outcome, Sample};
    use std::time::Instant;

    fn second_of(statuses: &[(u16, u64)]) -> Bucket {
        let mut b = Bucket::new(false);
        let end = Instant::now();
        for &(status, latency_ms) in statuses {
            b.record(&Sample {
                stage: 0,
                scheduled: None,
                sent: end - Duration::from_millis(latency_ms),
                first_byte: Some(end),
                end,
                outcome: Outcome::Status(status),
                bytes: 0,
                stream: None,
                tag: Default::default(),
            });
        }
        b
    }

    /// Hand-computed: 4 good seconds of 10 requests, then seconds of 10 failures (503). Over a
    /// 4 s window the error rate is 10/40, 20/40, 30/40: `error-rate>50%` first holds when the
    /// window holds 3 failing seconds of 4 (75%), at second 7, not at 50% (second 6).
    #[test]
    fn a_threshold_trips_once_it_holds_over_the_whole_window() {
        let spec = "error-rate>50%,p99>5s";
        let thresholds = crate::stats::thresholds::parse(spec, 1).unwrap();
        let mut w = AbortWindow::new(thresholds, Duration::from_secs(4), false);
        let good = second_of(&[(200, 3); 10]);
        let bad = second_of(&[(503, 3); 10]);
        let mut tripped = None;
        for n in 1..=10u64 {
            let b = if n <= 4 { &good } else { &bad };
            if let Some(a) = w.push(n, b, 4) {
                tripped = Some(a);
                break;
            }
        }
        let a = tripped.expect("tripped");
        assert_eq!((a.second, a.threshold.as_str()), (7, "error-rate>50%"));
        assert!((a.measured - 0.75).abs() < 1e-9, "{}", a.measured);
        assert_eq!(a.describe(), "error-rate>50% held over seconds 4–7");
    }

    /// `qps<1` over a planned 0-user stage does not stop the run; once users run and nothing
    /// completes over a whole window, it does.
    #[test]
    fn no_requests_while_the_schedule_runs_no_user_is_not_a_dead_service() {
        let thresholds = crate::stats::thresholds::parse("qps<1", 1).unwrap();
        let mut w = AbortWindow::new(thresholds, Duration::from_secs(2), false);
        let empty = Bucket::new(false);
        for n in 1..=4 {
            assert_eq!(w.push(n, &empty, 0), None, "second {n}: 0 users");
        }
        // The first window whose seconds all ran users.
        assert_eq!(w.push(5, &empty, 2), None, "second 4 had no user");
        let a = w.push(6, &empty, 2).expect("2 users, nothing completed");
        assert_eq!(a.describe(), "qps<1 held over seconds 5–6");
        let mut one = AbortWindow::new(
            crate::stats::thresholds::parse("qps<1", 1).unwrap(),
            Duration::from_secs(1),
            false,
        );
        assert_eq!(
            one.push(3, &empty, 1).unwrap().describe(),
            "qps<1 held over second 3"
        );
    }

    /// A latency threshold: one slow second in a window of 3 makes its p99 the slow value.
    #[test]
    fn a_latency_threshold_and_an_empty_window() {
        let thresholds = crate::stats::thresholds::parse("p99>5s", 1).unwrap();
        let mut w = AbortWindow::new(thresholds, Duration::from_secs(3), false);
        let empty = Bucket::new(false);
        // Nothing answered: no p99 measured, nothing holds.
        for n in 1..=5 {
            assert_eq!(w.push(n, &empty, 1), None);
        }
        let slow = second_of(&[(200, 6_000); 5]);
        let a = w.push(6, &slow, 1).expect("p99 of 6 s > 5 s");
        assert!((a.measured - 6_000.0).abs() < 10.0, "{}", a.measured);
        // qps<1 holds in a window where nothing completed.
        let thresholds = crate::stats::thresholds::parse("qps<1", 1).unwrap();
        let mut w = AbortWindow::new(thresholds, Duration::from_secs(2), false);
        assert_eq!(w.push(1, &empty, 1), None);
        assert!(w.push(2, &empty, 1).is_some());
    }
}
