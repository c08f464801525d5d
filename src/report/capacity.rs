//! `qpsbench find`: the search for the most load a service sustains within an SLO, and its
//! result. The rate (open model) or the number of users (closed model) is stepped up
//! geometrically from `--from` until a step fails the SLO (or, by rate, falls short of its
//! target by more than 5%), then bisected between the last passing and the first failing step
//! until they are within 5% of each other. [`Search`] decides each next step; the command runs
//! it and records its verdict.

use serde::{Deserialize, Serialize};

use crate::report::Report;
use crate::report::thresholds::ThresholdResult;

/// Each geometric step multiplies the load by this.
pub const GROWTH: f64 = 2.0;
/// The search ends when the first failing load is within this fraction above the last passing one.
pub const TOLERANCE: f64 = 0.05;
/// A rate step fails when its achieved rate is below this share of its target.
pub const ACHIEVED_SHARE: f64 = 0.95;

/// What `find` steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    /// The target rate, requests per second (open model; `--users` caps the concurrency).
    Rate,
    /// The number of users (closed model).
    Users,
}

/// The search: which load to try next, given the verdicts so far.
#[derive(Debug, Clone)]
pub struct Search {
    by: By,
    from: f64,
    to: f64,
    last_pass: Option<f64>,
    first_fail: Option<f64>,
}

impl Search {
    /// A search from `from` up to `to` (both > 0, `from <= to`; users are whole numbers).
    pub fn new(by: By, from: f64, to: f64) -> Self {
        Search {
            by,
            from,
            to,
            last_pass: None,
            first_fail: None,
        }
    }

    /// The next load to try, or `None` when the search is over: the first step failed, `--to`
    /// passed, or the last pass and the first failure are within [`TOLERANCE`] (for users: one
    /// apart).
    pub fn next(&self) -> Option<f64> {
        match (self.last_pass, self.first_fail) {
            (None, None) => Some(self.from),
            (None, Some(_)) => None,
            (Some(pass), None) if pass >= self.to => None,
            (Some(pass), None) => Some(self.round((pass * GROWTH).min(self.to))),
            (Some(pass), Some(fail)) => {
                if fail <= pass * (1.0 + TOLERANCE) {
                    return None;
                }
                let mid = self.round((pass + fail) / 2.0);
                (mid > pass && mid < fail).then_some(mid)
            }
        }
    }

    /// Why the search is over, once [`Search::next`] says it is.
    pub fn stop_reason(&self) -> Stop {
        match (self.last_pass, self.first_fail) {
            (None, _) => Stop::FirstStepFailed,
            (Some(_), None) => Stop::ReachedTo,
            (Some(_), Some(_)) => Stop::Found,
        }
    }

    /// Record the verdict of a step at `load`.
    pub fn record(&mut self, load: f64, passed: bool) {
        if passed {
            self.last_pass = Some(self.last_pass.map_or(load, |p| p.max(load)));
        } else {
            self.first_fail = Some(self.first_fail.map_or(load, |f| f.min(load)));
        }
    }

    /// Users are whole; a rate is kept to whole requests per second from 10 up, else to 0.01.
    fn round(&self, v: f64) -> f64 {
        match self.by {
            By::Users => v.round(),
            By::Rate if v >= 10.0 => v.round(),
            By::Rate => (v * 100.0).round() / 100.0,
        }
    }
}

/// One step of the search, as printed and written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Step {
    /// From 1, in the order run.
    pub step: usize,
    /// The target rate of the step, requests per second (by rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_rps: Option<f64>,
    /// Users of the step: the concurrency cap by rate, the load by users.
    pub users: usize,
    /// Responses (any status; client failures are not throughput) / the step's measured
    /// duration, per second.
    pub achieved_responses_per_s: f64,
    /// Completed requests (warm-up excluded).
    pub requests: u64,
    /// Latency percentiles, milliseconds; `null` when no request completed.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Fractions from 0 to 1; `null` without requests.
    pub error_rate: Option<f64>,
    pub failure_rate: Option<f64>,
    /// Each SLO term, checked against the step.
    pub slo: Vec<ThresholdResult>,
    /// By rate: the achieved rate fell more than 5% short of the target.
    #[serde(default)]
    pub short_of_target: bool,
    /// Every SLO term held (and, by rate, the target was reached).
    pub passed: bool,
    /// Why it failed, one phrase per broken term (`p99 412.000 ms >= 300.000 ms`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
    /// Mean requests in flight (achieved rate x mean latency) reached 90% of the users: the
    /// client's concurrency, not the service, may have been the limit.
    #[serde(default)]
    pub users_busy: bool,
}

impl Step {
    /// The step's row from the report of its run (whose thresholds are the SLO). A step's
    /// achieved rate counts responses (any status), not client failures: a refused connection
    /// is not throughput. Client failures fail a step unless the SLO sets a `failure-rate` of
    /// its own, and responses that failed a check (`--expect-*`) unless it sets a
    /// `check-failure-rate`.
    pub fn of(step: usize, by: By, target: f64, report: &Report) -> Self {
        let t = &report.total;
        let p = t.latency_ms.measured();
        let target_rps = (by == By::Rate).then_some(target);
        // Over the whole step: never more than the service gave. (Taken over the step less
        // its shortest latency, a 1.1 s step over a 1 s delay "achieved" 100/s with 10 users;
        // see the hint below for a step that is short against its latency.)
        let achieved = if t.duration_s > 0.0 {
            crate::stats::hdr::round3((t.requests - t.failures) as f64 / t.duration_s)
        } else {
            0.0
        };
        // What the schedule offered, per second. Constant arrivals: the target rate. Random
        // arrivals (--arrival poisson, --burstiness) offer more or fewer slots than the target
        // by chance (a 2 s step at 300/s: 600 +- 25), which is not the service falling short:
        // their slots that came due are counted, whether answered, still in flight at the end
        // or left unsent with every user busy.
        let random = report.config.arrival.is_some();
        let offered = match (target_rps, t.unsent_slots) {
            (Some(_), Some(unsent)) if random && t.duration_s > 0.0 => {
                Some((t.requests + report.in_flight_at_end + unsent) as f64 / t.duration_s)
            }
            (target, _) => target,
        };
        let short_of_target = offered.is_some_and(|r| achieved < r * ACHIEVED_SHARE);
        let mut failed: Vec<String> = report
            .thresholds
            .iter()
            .filter(|r| !r.passed)
            .map(ThresholdResult::why_failed)
            .collect();
        let slo_sets_failures = report.thresholds.iter().any(|r| r.metric == "failure-rate");
        if t.failures > 0 && !slo_sets_failures {
            let kinds: Vec<String> = t
                .failure_kinds
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            failed.push(format!(
                "{} ({}; add failure-rate<X to the SLO to allow some)",
                crate::parse::count_of(t.failures, "client failure", "client failures"),
                kinds.join(", ")
            ));
        }
        // Responses that failed the run's own checks (--expect-*) are wrong answers: they fail
        // a step as client failures do, unless the SLO sets a check-failure-rate.
        let slo_sets_checks = report
            .thresholds
            .iter()
            .any(|r| r.metric == "check-failure-rate");
        if t.check_failures > 0 && !slo_sets_checks {
            failed.push(format!(
                "{} failed a check (add check-failure-rate<X to the SLO to allow some)",
                crate::parse::count_of(t.check_failures, "response", "responses")
            ));
        }
        if let Some(offered) = offered.filter(|_| short_of_target) {
            let of = if random {
                format!("the {offered:.1} req/s its random schedule offered")
            } else {
                crate::parse::format_rate(target)
            };
            // Requests still in flight when the step ends count against it: a step shorter
            // than 20 times the latency cannot show 95% of its rate even from a service that
            // keeps up. Said, so that the answer is a longer --step, not a lower rate.
            let share = p.map_or(0.0, |p| p.mean / 1e3 / t.duration_s);
            let hint = if share >= 1.0 - ACHIEVED_SHARE {
                format!(
                    "; its mean latency is {:.0}% of the step, whose last requests were still in \
                     flight: try a --step of 20x the latency or more",
                    share * 100.0
                )
            } else {
                String::new()
            };
            failed.push(format!("achieved {achieved:.1} req/s < 95% of {of}{hint}"));
        }
        // Requests in flight: by Little's law from the answers, or as counted at the end (a
        // step cut short by a long latency answers few).
        let in_flight = p
            .map_or(0.0, |p| achieved * p.mean / 1e3)
            .max(report.in_flight_at_end as f64);
        Step {
            step,
            target_rps,
            users: report.config.users,
            achieved_responses_per_s: achieved,
            requests: t.requests,
            p50_ms: p.map(|p| p.p50),
            p99_ms: p.map(|p| p.p99),
            error_rate: t.error_rate,
            failure_rate: t.failure_rate,
            slo: report.thresholds.clone(),
            short_of_target,
            passed: failed.is_empty() && t.requests > 0,
            failed,
            users_busy: in_flight >= 0.9 * report.config.users as f64,
        }
    }

    /// `pass`, or `FAIL: ` and why.
    pub fn verdict(&self) -> String {
        if self.passed {
            "pass".to_string()
        } else if self.failed.is_empty() {
            "FAIL: no request completed".to_string()
        } else {
            format!("FAIL: {}", self.failed.join(", "))
        }
    }

    /// The step's load in words: `400 req/s` or `16 users`.
    pub fn load(&self) -> String {
        match self.target_rps {
            Some(r) => format!("{} req/s", crate::parse::format_rate(r)),
            None => crate::parse::count_of(self.users as u64, "user", "users"),
        }
    }
}

/// Why the search stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    /// The last pass and the first failure are within 5% (or one user) of each other.
    Found,
    /// The first step failed.
    FirstStepFailed,
    /// `--to` passed: the capacity is at least that.
    ReachedTo,
    /// `--max-time` ran out before the search ended.
    MaxTime,
    /// Ctrl-C.
    Interrupted,
}

/// The result of `qpsbench find`, as written to `--json` (`capacity`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Capacity {
    pub by: By,
    /// The SLO as written (the `--fail-on` syntax).
    pub slo: String,
    /// By rate: the highest target rate that passed, requests per second; `null` when none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rps: Option<f64>,
    /// By users: the most users that passed; `null` when none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_users: Option<usize>,
    /// The achieved rate of the passing step, requests per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achieved_responses_per_s: Option<f64>,
    /// The lowest failing step, when one failed.
    pub first_failing: Option<Step>,
    pub stopped: Stop,
    /// Every step, in the order run.
    pub steps: Vec<Step>,
}

/// The passing step of the highest load.
fn best(steps: &[Step]) -> Option<&Step> {
    steps
        .iter()
        .filter(|s| s.passed)
        .max_by(|a, b| a.load_value().total_cmp(&b.load_value()))
}

impl Capacity {
    /// The result of the steps run, in order.
    pub fn of(by: By, slo: &str, steps: Vec<Step>, stopped: Stop) -> Self {
        let best = best(&steps);
        let first_failing = steps
            .iter()
            .filter(|s| !s.passed)
            .min_by(|a, b| a.load_value().total_cmp(&b.load_value()))
            .cloned();
        Capacity {
            by,
            slo: slo.to_string(),
            max_rps: best.and_then(|s| s.target_rps),
            max_users: best.filter(|_| by == By::Users).map(|s| s.users),
            achieved_responses_per_s: best.map(|s| s.achieved_responses_per_s),
            first_failing,
            stopped,
            steps,
        }
    }

    /// A passing step was found.
    pub fn found(&self) -> bool {
        self.max_rps.is_some() || self.max_users.is_some()
    }

    /// The one answer line: `holds 1600 req/s (200 users) within the SLO; fails at 1700 req/s:
    /// p99 412.000 ms >= 300.000 ms`.
    pub fn answer(&self) -> String {
        let best = best(&self.steps);
        let fails = self.first_failing.as_ref().map(|f| {
            let hint = if f.short_of_target && f.users_busy {
                format!(
                    " (its {} users were nearly all waiting on answers: the service slowed, or \
                     they were too few; a run with more --users tells which)",
                    f.users
                )
            } else {
                String::new()
            };
            format!("fails at {}: {}{hint}", f.load(), f.failed.join(", "))
        });
        let holds = match best {
            Some(b) if b.target_rps.is_some() => format!(
                "holds {} ({}, achieved {:.1} req/s) within the SLO",
                b.load(),
                crate::parse::count_of(b.users as u64, "user", "users"),
                b.achieved_responses_per_s
            ),
            Some(b) => format!(
                "holds {} ({:.1} req/s) within the SLO",
                b.load(),
                b.achieved_responses_per_s
            ),
            None if self.steps.is_empty() => "no step finished".to_string(),
            None => "no step passed the SLO".to_string(),
        };
        let tail = match self.stopped {
            Stop::ReachedTo => "; --to reached: the capacity is at least this".to_string(),
            Stop::MaxTime => "; --max-time ran out before the search ended".to_string(),
            Stop::Interrupted => "; interrupted before the search ended".to_string(),
            Stop::Found | Stop::FirstStepFailed => String::new(),
        };
        match fails {
            Some(f) => format!("{holds}; {f}{tail}"),
            None => format!("{holds}{tail}"),
        }
    }
}

impl Step {
    /// The load stepped: the target rate, or the users.
    fn load_value(&self) -> f64 {
        self.target_rps.unwrap_or(self.users as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run a search against a service that holds up to `capacity`.
    fn search(by: By, from: f64, to: f64, capacity: f64) -> (Vec<f64>, Option<f64>, Option<f64>) {
        let mut s = Search::new(by, from, to);
        let mut tried = Vec::new();
        while let Some(load) = s.next() {
            assert!(tried.len() < 100, "the search ends: {tried:?}");
            tried.push(load);
            s.record(load, load <= capacity);
        }
        (tried, s.last_pass, s.first_fail)
    }

    #[test]
    fn the_search_steps_up_then_bisects_to_within_five_percent() {
        let (tried, pass, fail) = search(By::Rate, 100.0, 100_000.0, 1234.0);
        assert_eq!(&tried[..5], &[100.0, 200.0, 400.0, 800.0, 1600.0]);
        let (pass, fail) = (pass.unwrap(), fail.unwrap());
        assert!(pass <= 1234.0 && fail > 1234.0, "{pass} {fail}");
        assert!(fail <= pass * 1.05, "{pass} {fail} {tried:?}");
        // Every load tried is within the bounds.
        assert!(tried.iter().all(|&t| (100.0..=100_000.0).contains(&t)));

        // Users: whole numbers, down to one apart.
        let (tried, pass, fail) = search(By::Users, 1.0, 1000.0, 37.0);
        assert!(tried.iter().all(|t| t.fract() == 0.0), "{tried:?}");
        assert_eq!((pass, fail), (Some(37.0), Some(38.0)), "{tried:?}");

        // The first step fails: nothing else is tried.
        assert_eq!(search(By::Rate, 100.0, 1000.0, 50.0).0, vec![100.0]);
        // Everything passes: --to is the last step.
        let (tried, pass, fail) = search(By::Rate, 100.0, 1000.0, 1e9);
        assert_eq!(tried, vec![100.0, 200.0, 400.0, 800.0, 1000.0]);
        assert_eq!((pass, fail), (Some(1000.0), None));
    }
}
