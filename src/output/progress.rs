//! How far a run has come: the words the live line ends with (the rate against its target,
//! the time left or the share of `--requests` / `--iterations` done), and on a terminal a
//! one-line progress bar on stderr that redraws in place under the per-second lines
//! (`indicatif`). Piped, or with `--quiet`, there is no bar.

use std::io::Write;
use std::time::Duration;

use crate::config::Config;
use crate::config::schedule::Schedule;
use crate::parse::{format_duration, format_rate};
use crate::stats::rows::SecondReport;

/// The run's bounds and what it has done so far, fed one closed second at a time.
#[derive(Debug, Clone)]
pub struct RunProgress {
    schedule: Schedule,
    /// The measured run's length (the schedule's, less the warm-up); `None` when open-ended.
    length: Option<Duration>,
    /// The requests that end the run: `--requests`, or `--iterations` x users.
    requests: Option<u64>,
    /// Requests completed in the seconds so far.
    completed: u64,
    /// The end of the last second seen, from the measured start.
    elapsed: Duration,
}

impl RunProgress {
    /// The bounds of the run `cfg` describes.
    pub fn new(cfg: &Config) -> Self {
        let warmup = cfg.schedule.warmup().unwrap_or_default();
        RunProgress {
            schedule: cfg.schedule.clone(),
            length: cfg.schedule.end().map(|e| e.saturating_sub(warmup)),
            requests: cfg
                .requests
                .or(cfg.iterations.map(|n| n * cfg.users as u64)),
            completed: 0,
            elapsed: Duration::ZERO,
        }
    }

    /// Count `row` in and say where the run stands after it.
    pub fn push(&mut self, row: &SecondReport) -> Standing {
        self.completed += row.requests;
        let start = Duration::from_secs(row.second.saturating_sub(1));
        self.elapsed = start + Duration::from_secs_f64(row.interval_s);
        let mut standing = Standing::default();
        let words = &mut standing.rest;
        // The stage this second ran in: its middle, on the schedule's clock (warm-up first).
        let middle = self.schedule.warmup().unwrap_or_default()
            + start
            + Duration::from_secs_f64(row.interval_s / 2.0);
        let stage = &self.schedule.stages()[self.schedule.stage_at(middle)];
        // A 0-user stage sends nothing: it has no rate to fall short of.
        if let Some(target) = stage.rate.filter(|r| *r > 0.0)
            && row.interval_s > 0.0
            && row.users > 0
        {
            let achieved = row.requests as f64 / row.interval_s;
            standing.rate = Some((achieved / target * 100.0, target));
        }
        if let Some(n) = self.requests.filter(|n| *n > 0) {
            words.push(format!(
                "{:.0}% of {} requests",
                (self.completed as f64 / n as f64 * 100.0).min(100.0),
                n
            ));
        }
        if let Some(length) = self.length {
            let left = length.saturating_sub(self.elapsed);
            // Whole seconds: the seconds close on whole seconds of the run.
            let left = Duration::from_secs(left.as_secs_f64().round() as u64);
            words.push(if left.is_zero() {
                "ending".to_string()
            } else {
                format!("{} left", format_duration(left))
            });
        }
        standing
    }

    /// Does the run have an end to measure progress against (a length or a request count)?
    pub fn fraction_known(&self) -> bool {
        self.length.is_some_and(|l| !l.is_zero()) || self.requests.is_some_and(|n| n > 0)
    }

    /// The share of the run done, from 0 to 1: the larger of its time and its requests (the
    /// first bound reached ends it); `None` for a run with neither.
    pub fn fraction(&self) -> Option<f64> {
        let by_time = self
            .length
            .filter(|l| !l.is_zero())
            .map(|l| self.elapsed.as_secs_f64() / l.as_secs_f64());
        let by_requests = self
            .requests
            .filter(|n| *n > 0)
            .map(|n| self.completed as f64 / n as f64);
        let f = match (by_time, by_requests) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        f.map(|f| f.clamp(0.0, 1.0))
    }
}

/// Where a run stands after a second.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Standing {
    /// Paced: the second's rate as a percent of its stage's target, and the target (req/s).
    pub rate: Option<(f64, f64)>,
    /// `45% of 10000 requests` (`--requests`, `--iterations`), `48s left` (or `ending`).
    pub rest: Vec<String>,
}

impl Standing {
    /// Every word, in order: `98% of 500 req/s`, `45% of 10000 requests`, `48s left`.
    pub fn words(&self) -> Vec<String> {
        let rate = self
            .rate
            .map(|(percent, target)| format!("{percent:.0}% of {} req/s", format_rate(target)));
        rate.into_iter().chain(self.rest.iter().cloned()).collect()
    }
}

/// The bar on the terminal now, for a message from another thread (the Ctrl-C handler's):
/// written to stderr behind the bar's back, it would be drawn over, and the bar left behind.
static ACTIVE: parking_lot::Mutex<Option<indicatif::ProgressBar>> = parking_lot::Mutex::new(None);

/// Say `message` on stderr: above the progress bar when one is on the terminal, else on a
/// line of its own (after a newline, off the `^C` the terminal echoed).
pub fn say(message: &str) {
    match ACTIVE.lock().as_ref() {
        Some(bar) => bar.println(message),
        None => {
            let _ = writeln!(std::io::stderr(), "\n{message}");
        }
    }
}

/// The terminal's progress bar: the per-second lines print above it, it redraws in place.
#[derive(Clone)]
pub struct TerminalBar {
    bar: indicatif::ProgressBar,
}

/// The bar's resolution: a run is this many steps.
const STEPS: u64 = 1000;

impl TerminalBar {
    /// A bar on stderr for a run with (`bounded`) or without an end, saying `first` until
    /// the first second closes (`warm-up 10s`, `waiting for --start-at`).
    pub fn new(bounded: bool, first: &str) -> Self {
        let (bar, template) = if bounded {
            (
                indicatif::ProgressBar::new(STEPS),
                "{bar:30.cyan/blue} {percent:>3}% {msg}",
            )
        } else {
            (indicatif::ProgressBar::new_spinner(), "{spinner} {msg}")
        };
        let style = indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(style);
        bar.set_message(first.to_string());
        bar.enable_steady_tick(Duration::from_millis(250));
        *ACTIVE.lock() = Some(bar.clone());
        TerminalBar { bar }
    }

    /// Print `line` above the bar and move the bar to `fraction` of the run, with `words`
    /// beside it.
    pub fn second(&self, line: &str, fraction: Option<f64>, standing: &Standing) {
        self.bar.println(line);
        if let Some(f) = fraction {
            self.bar.set_position((f * STEPS as f64).round() as u64);
        }
        // The bar shows the share done itself: the words without the requests' share.
        let words: Vec<String> = standing
            .words()
            .into_iter()
            .filter(|w| !w.ends_with(" requests"))
            .collect();
        self.bar.set_message(words.join(" | "));
    }

    /// Take the bar off the terminal (before the summary).
    pub fn clear(&self) {
        *ACTIVE.lock() = None;
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::live::test_config as config;

    fn row(second: u64, requests: u64) -> SecondReport {
        let mut r = SecondReport::from_bucket(
            second,
            Duration::from_secs(1),
            1,
            &crate::stats::bucket::Bucket::new(false),
        );
        r.requests = requests;
        r
    }

    #[test]
    fn a_timed_run_says_the_time_left() {
        let mut p = RunProgress::new(&config(&["-c", "2", "-z", "1m"]));
        assert_eq!(p.push(&row(1, 10)).words().join(" | "), "59s left");
        assert_eq!(p.fraction(), Some(1.0 / 60.0));
        for s in 2..=59 {
            p.push(&row(s, 10));
        }
        assert_eq!(p.push(&row(60, 10)).words().join(" | "), "ending");
        assert_eq!(p.fraction(), Some(1.0));
    }

    #[test]
    fn a_counted_run_says_its_share_of_the_requests() {
        let mut p = RunProgress::new(&config(&["-c", "2", "-n", "400"]));
        assert_eq!(
            p.push(&row(1, 100)).words().join(" | "),
            "25% of 400 requests"
        );
        assert_eq!(p.fraction(), Some(0.25));
        // --iterations: per user.
        let mut p = RunProgress::new(&config(&["-c", "4", "--iterations", "50"]));
        assert_eq!(
            p.push(&row(1, 150)).words().join(" | "),
            "75% of 200 requests"
        );
    }

    #[test]
    fn a_paced_second_is_measured_against_its_own_stages_target() {
        let mut p = RunProgress::new(&config(&["-c", "4", "--rps", "100,200", "--step", "2s"]));
        assert_eq!(
            p.push(&row(1, 100)).words().join(" | "),
            "100% of 100 req/s | 3s left"
        );
        assert_eq!(
            p.push(&row(2, 90)).words().join(" | "),
            "90% of 100 req/s | 2s left"
        );
        assert_eq!(
            p.push(&row(3, 100)).words().join(" | "),
            "50% of 200 req/s | 1s left"
        );
        // With a warm-up, the seconds count from the measured start.
        let mut p = RunProgress::new(&config(&[
            "-c", "4", "--warmup", "1s", "--rps", "100,300", "--step", "1s",
        ]));
        assert_eq!(
            p.push(&row(1, 100)).words().join(" | "),
            "100% of 100 req/s | 1s left"
        );
        assert_eq!(
            p.push(&row(2, 150)).words().join(" | "),
            "50% of 300 req/s | ending"
        );
    }

    #[test]
    fn a_stage_without_users_has_no_rate_to_fall_short_of() {
        let mut p = RunProgress::new(&config(&["--ramp", "0,2", "--rps", "50", "--step", "1s"]));
        let mut idle = row(1, 0);
        idle.users = 0;
        assert_eq!(p.push(&idle).words().join(" | "), "1s left");
        assert_eq!(
            p.push(&row(2, 50)).words().join(" | "),
            "100% of 50 req/s | ending"
        );
    }

    #[test]
    fn a_run_without_an_end_has_no_fraction() {
        // Every command-line run has an end (a length, a count, or the 10 s default); a bare
        // schedule may not.
        let mut p = RunProgress::new(&config(&["--ramp", "1,2", "--step", "1s"]));
        assert_eq!(p.push(&row(1, 5)).words().join(" | "), "1s left");
        assert!(p.fraction_known());
        let p = RunProgress {
            length: None,
            requests: None,
            ..p
        };
        assert_eq!(p.fraction(), None);
        assert!(!p.fraction_known());
    }
}
