//! The load schedule: how many users are active at each instant, as a pure function of time.
//!
//! The ramp controller (`engine::gate::control`) samples it; everything here is tested without
//! sleeping.

use std::time::Duration;

/// What a stage does with the user count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// This many users for the whole stage.
    Hold(usize),
    /// Users start one by one, evenly spread over the stage, from 1 up to this many.
    Linear(usize),
}

/// One stage of the schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// Users over the stage.
    pub shape: Shape,
    /// Offset of the stage from the start of the run.
    pub start: Duration,
    /// Length; `None` for an open-ended last stage (a run bounded by `--requests` only).
    pub len: Option<Duration>,
    /// `--rps`: the stage's target rate, requests per second (open model); `None`: each user
    /// sends its next request when the last is answered (closed model).
    pub rate: Option<f64>,
}

/// How `--rps` send slots are spread in time (`--arrival`, `--burstiness`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// Evenly spaced slots, 1/R apart (wrk2's and oha's schedule).
    Constant,
    /// Gaps drawn from a gamma distribution of this shape and mean 1/R, from this seed: shape 1
    /// is a Poisson process, below 1 burstier, above 1 more regular (vLLM's `--burstiness`).
    Gamma { shape: f64, seed: u64 },
}

impl Stage {
    /// The user count shown in a stage's results row: the most users it runs.
    pub fn users(&self) -> usize {
        match self.shape {
            Shape::Hold(n) | Shape::Linear(n) => n,
        }
    }

    /// A name for results rows: `2: 8 users`, `2: ramp-up to 8`, with a rate stage's target
    /// (`2: 8 users, 400 req/s`) when `rate_stages` (the schedule's rates differ by stage).
    pub fn name(&self, index: usize, rate_stages: bool) -> String {
        let users = match self.shape {
            Shape::Hold(n) => crate::parse::count_of(n as u64, "user", "users"),
            Shape::Linear(n) => format!("ramp-up to {n}"),
        };
        match self.rate.filter(|_| rate_stages) {
            Some(r) => format!(
                "{}: {users}, {} req/s",
                index + 1,
                crate::parse::format_rate(r)
            ),
            None => format!("{}: {users}", index + 1),
        }
    }
}

/// The whole run as a list of back-to-back stages.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    stages: Vec<Stage>,
    /// `--warmup`: the first stage is a warm-up of this length, kept out of every result.
    warmup: Option<Duration>,
}

impl Schedule {
    /// A fixed number of users, for `hold` (or open-ended).
    pub fn fixed(users: usize, hold: Option<Duration>) -> Self {
        Schedule {
            warmup: None,
            stages: vec![Stage {
                shape: Shape::Hold(users),
                start: Duration::ZERO,
                len: hold,
                rate: None,
            }],
        }
    }

    /// Stages of `step` each with the given user counts (`--ramp 0,4,8,16 --step 10s`).
    pub fn steps(users: &[usize], step: Duration) -> Self {
        let stages = users
            .iter()
            .enumerate()
            .map(|(i, &u)| Stage {
                shape: Shape::Hold(u),
                start: step * i as u32,
                len: Some(step),
                rate: None,
            })
            .collect();
        Schedule {
            stages,
            warmup: None,
        }
    }

    /// Users start linearly over `ramp_up`, then all of them run for `hold` (`--ramp-up 30s`).
    pub fn linear(users: usize, ramp_up: Duration, hold: Option<Duration>) -> Self {
        let stages = vec![
            Stage {
                shape: Shape::Linear(users),
                start: Duration::ZERO,
                len: Some(ramp_up),
                rate: None,
            },
            Stage {
                shape: Shape::Hold(users),
                start: ramp_up,
                len: hold,
                rate: None,
            },
        ];
        Schedule {
            stages,
            warmup: None,
        }
    }

    /// The stages, in order, the warm-up (when there is one) first: what the engine runs.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The measured stages: every stage after the warm-up. Results rows, `stage=N` thresholds
    /// and the per-second series are about these.
    pub fn measured(&self) -> &[Stage] {
        &self.stages[usize::from(self.warmup.is_some())..]
    }

    /// `--warmup`: how long the run warms up before it is measured.
    pub fn warmup(&self) -> Option<Duration> {
        self.warmup
    }

    /// Precede the run by a warm-up of `len` at the first stage's shape (its users and rate):
    /// its requests are sent, and kept out of every result but a `warmup` row of their own.
    pub fn with_warmup(mut self, len: Duration) -> Self {
        let first = self.stages[0].clone();
        for s in &mut self.stages {
            s.start += len;
        }
        // The first stage's users and rate; a linear ramp-up's warm-up ramps up the same way.
        let shape = first.shape;
        self.stages.insert(
            0,
            Stage {
                shape,
                start: Duration::ZERO,
                len: Some(len),
                rate: first.rate,
            },
        );
        self.warmup = Some(len);
        self
    }

    /// Pace the stages: one rate for every stage, or one per stage.
    ///
    /// # Errors
    ///
    /// When there is more than one rate and not one per stage.
    pub fn with_rates(mut self, rates: &[f64]) -> Result<Self, String> {
        match rates {
            [] => {}
            [r] => self.stages.iter_mut().for_each(|s| s.rate = Some(*r)),
            _ if rates.len() == self.stages.len() => {
                for (s, r) in self.stages.iter_mut().zip(rates) {
                    s.rate = Some(*r);
                }
            }
            _ => {
                return Err(format!(
                    "--rps has {} rates and the schedule {} stages: give one rate, or one per stage",
                    rates.len(),
                    self.stages.len()
                ));
            }
        }
        Ok(self)
    }

    /// Is the run paced by `--rps` (open model)?
    pub fn paced(&self) -> bool {
        self.stages.iter().any(|s| s.rate.is_some())
    }

    /// Do the stages have different target rates?
    pub fn rate_stages(&self) -> bool {
        self.measured().windows(2).any(|w| w[0].rate != w[1].rate)
    }

    /// The target rate of the whole run: the one rate, or with rate stages the mean over the
    /// schedule's length (the slots it asks for / its length); `None` when not paced.
    pub fn target_rate(&self) -> Option<f64> {
        let first = self.measured().first()?.rate?;
        if !self.rate_stages() {
            return Some(first);
        }
        let (mut slots, mut secs) = (0.0, 0.0);
        for s in self.measured() {
            let len = s.len?.as_secs_f64();
            slots += s.rate.unwrap_or(0.0) * len;
            secs += len;
        }
        (secs > 0.0).then(|| slots / secs)
    }

    /// The target rate over the first `elapsed` of the measured run (the slots asked for in it
    /// / `elapsed`): [`Schedule::target_rate`] for a run that ran its schedule, the mean of the
    /// stages it reached for one stopped early; `None` when not paced.
    pub fn target_rate_over(&self, elapsed: Duration) -> Option<f64> {
        let whole = self.target_rate()?;
        if !self.rate_stages() || elapsed.is_zero() {
            return Some(whole);
        }
        let offset = self.warmup().unwrap_or_default();
        // A run that reached its schedule's end (and drained a few milliseconds past it) ran
        // the whole schedule.
        if self.end().is_some_and(|end| offset + elapsed >= end) {
            return Some(whole);
        }
        let end = elapsed.as_secs_f64();
        let mut slots = 0.0;
        for s in self.measured() {
            let from = s.start.saturating_sub(offset).as_secs_f64();
            let to = s.len.map_or(f64::INFINITY, |l| from + l.as_secs_f64());
            let ran = (to.min(end) - from).max(0.0);
            slots += s.rate.unwrap_or(0.0) * ran;
        }
        Some(slots / end)
    }

    /// Most users active at any time: how many threads to spawn.
    pub fn max_users(&self) -> usize {
        self.stages.iter().map(Stage::users).max().unwrap_or(0)
    }

    /// When the schedule ends, or `None` when its last stage is open-ended.
    pub fn end(&self) -> Option<Duration> {
        let last = self.stages.last()?;
        last.len.map(|l| last.start + l)
    }

    /// Index of the stage running at `t` (the last one once the schedule is over).
    pub fn stage_at(&self, t: Duration) -> usize {
        self.stages.iter().rposition(|s| s.start <= t).unwrap_or(0)
    }

    /// Users that should be active at `t`.
    pub fn users_at(&self, t: Duration) -> usize {
        if self.end().is_some_and(|end| t >= end) {
            return 0;
        }
        let stage = &self.stages[self.stage_at(t)];
        match (stage.shape, stage.len) {
            (Shape::Hold(n), _) => n,
            (Shape::Linear(n), None) => n,
            (Shape::Linear(n), Some(len)) => {
                let into = (t - stage.start).as_nanos();
                let len = len.as_nanos().max(1);
                // User k (0-based) starts at k/n of the stage.
                ((into * n as u128 / len) as usize + 1).min(n)
            }
        }
    }

    /// The next instant after `t` at which `users_at` or `stage_at` may change, if any.
    pub fn next_change_after(&self, t: Duration) -> Option<Duration> {
        let i = self.stage_at(t);
        let stage = &self.stages[i];
        if let (Shape::Linear(n), Some(len)) = (stage.shape, stage.len)
            && n > 0
            && t >= stage.start
        {
            let into = (t - stage.start).as_nanos();
            let len_ns = len.as_nanos();
            let k = into * n as u128 / len_ns.max(1) + 1; // next user to start
            if k < n as u128 {
                // Smallest instant at which floor(x * n / len) reaches k.
                let at = (k * len_ns).div_ceil(n as u128);
                return Some(stage.start + Duration::from_nanos(at as u64));
            }
        }
        match self.stages.get(i + 1) {
            Some(next) if next.start > t => Some(next.start),
            _ => self.end().filter(|&end| end > t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: f64) -> Duration {
        Duration::from_secs_f64(x)
    }

    #[test]
    fn fixed_users_hold_until_end() {
        let sch = Schedule::fixed(10, Some(s(5.0)));
        assert_eq!(sch.users_at(s(0.0)), 10);
        assert_eq!(sch.users_at(s(4.999)), 10);
        assert_eq!(sch.users_at(s(5.0)), 0);
        assert_eq!(sch.end(), Some(s(5.0)));
        assert_eq!(sch.next_change_after(s(1.0)), Some(s(5.0)));
        assert_eq!(sch.next_change_after(s(5.0)), None);
    }

    #[test]
    fn a_run_stopped_early_targets_the_rates_it_reached() {
        let sch = Schedule::steps(&[4, 4, 4], s(10.0))
            .with_rates(&[100.0, 200.0, 600.0])
            .unwrap();
        // The whole schedule: (1000 + 2000 + 6000) / 30.
        assert_eq!(sch.target_rate(), Some(300.0));
        assert_eq!(sch.target_rate_over(s(30.0)), Some(300.0));
        assert_eq!(sch.target_rate_over(s(30.004)), Some(300.0));
        // Stopped at 15 s: (1000 + 200 x 5) / 15.
        let early = sch.target_rate_over(s(15.0)).unwrap();
        assert!((early - 2000.0 / 15.0).abs() < 1e-9, "{early}");
        // The same with a warm-up first: measured time starts after it.
        let warm = Schedule::steps(&[4, 4, 4], s(10.0))
            .with_rates(&[100.0, 200.0, 600.0])
            .unwrap()
            .with_warmup(s(5.0));
        let early = warm.target_rate_over(s(15.0)).unwrap();
        assert!((early - 2000.0 / 15.0).abs() < 1e-9, "{early}");
        // One rate: that rate, whenever it stopped.
        let one = Schedule::fixed(2, Some(s(10.0)))
            .with_rates(&[50.0])
            .unwrap();
        assert_eq!(one.target_rate_over(s(3.0)), Some(50.0));
    }

    #[test]
    fn open_ended_has_no_end() {
        let sch = Schedule::fixed(3, None);
        assert_eq!(sch.end(), None);
        assert_eq!(sch.users_at(s(1e6)), 3);
        assert_eq!(sch.next_change_after(s(1.0)), None);
    }

    #[test]
    fn steps_follow_the_ramp() {
        let sch = Schedule::steps(&[0, 4, 8, 16], s(10.0));
        assert_eq!(sch.max_users(), 16);
        assert_eq!(sch.end(), Some(s(40.0)));
        let at = |t| (sch.stage_at(s(t)), sch.users_at(s(t)));
        assert_eq!(at(0.0), (0, 0));
        assert_eq!(at(9.99), (0, 0));
        assert_eq!(at(10.0), (1, 4));
        assert_eq!(at(25.0), (2, 8));
        assert_eq!(at(39.0), (3, 16));
        assert_eq!(at(40.0), (3, 0));
        assert_eq!(sch.next_change_after(s(0.0)), Some(s(10.0)));
        assert_eq!(sch.next_change_after(s(35.0)), Some(s(40.0)));
        assert_eq!(sch.stages()[2].name(2, false), "3: 8 users");
        assert_eq!(
            Schedule::steps(&[1], Duration::from_secs(1)).stages()[0].name(0, false),
            "1: 1 user"
        );
    }

    #[test]
    fn a_smaller_stage_shrinks_the_active_set() {
        let sch = Schedule::steps(&[8, 2], s(1.0));
        assert_eq!(sch.users_at(s(0.5)), 8);
        assert_eq!(sch.users_at(s(1.5)), 2);
    }

    #[test]
    fn linear_ramp_starts_users_evenly() {
        // 4 users over 2 s: user k starts at k * 0.5 s, then hold 3 s.
        let sch = Schedule::linear(4, s(2.0), Some(s(3.0)));
        assert_eq!(sch.users_at(s(0.0)), 1);
        assert_eq!(sch.users_at(s(0.49)), 1);
        assert_eq!(sch.users_at(s(0.5)), 2);
        assert_eq!(sch.users_at(s(1.99)), 4);
        assert_eq!(sch.users_at(s(2.0)), 4);
        assert_eq!(sch.users_at(s(4.9)), 4);
        assert_eq!(sch.users_at(s(5.0)), 0);
        assert_eq!(sch.next_change_after(s(0.0)), Some(s(0.5)));
        assert_eq!(sch.next_change_after(s(0.5)), Some(s(1.0)));
        assert_eq!(sch.next_change_after(s(1.6)), Some(s(2.0)));
        assert_eq!(sch.next_change_after(s(2.0)), Some(s(5.0)));
        assert_eq!(sch.stage_at(s(2.5)), 1);
    }

    #[test]
    fn linear_ramp_change_points_are_exact() {
        // Every change point reported must change the user count by exactly one.
        let sch = Schedule::linear(7, s(3.0), Some(s(1.0)));
        let mut t = Duration::ZERO;
        let mut seen = vec![sch.users_at(t)];
        while let Some(next) = sch.next_change_after(t) {
            assert!(next > t);
            t = next;
            seen.push(sch.users_at(t));
        }
        assert_eq!(seen, vec![1, 2, 3, 4, 5, 6, 7, 7, 0]);
    }
}
