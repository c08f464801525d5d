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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Users over the stage.
    pub shape: Shape,
    /// Offset of the stage from the start of the run.
    pub start: Duration,
    /// Length; `None` for an open-ended last stage (a run bounded by `--requests` only).
    pub len: Option<Duration>,
}

impl Stage {
    /// The user count shown in a stage's results row: the most users it runs.
    pub fn users(&self) -> usize {
        match self.shape {
            Shape::Hold(n) | Shape::Linear(n) => n,
        }
    }

    /// A name for results rows.
    pub fn name(&self, index: usize) -> String {
        match self.shape {
            Shape::Hold(n) => format!(
                "{}: {}",
                index + 1,
                crate::parse::count_of(n as u64, "user", "users")
            ),
            Shape::Linear(n) => format!("{}: ramp-up to {n}", index + 1),
        }
    }
}

/// The whole run as a list of back-to-back stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    stages: Vec<Stage>,
}

impl Schedule {
    /// A fixed number of users, for `hold` (or open-ended).
    pub fn fixed(users: usize, hold: Option<Duration>) -> Self {
        Schedule {
            stages: vec![Stage {
                shape: Shape::Hold(users),
                start: Duration::ZERO,
                len: hold,
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
            })
            .collect();
        Schedule { stages }
    }

    /// Users start linearly over `ramp_up`, then all of them run for `hold` (`--ramp-up 30s`).
    pub fn linear(users: usize, ramp_up: Duration, hold: Option<Duration>) -> Self {
        let stages = vec![
            Stage {
                shape: Shape::Linear(users),
                start: Duration::ZERO,
                len: Some(ramp_up),
            },
            Stage {
                shape: Shape::Hold(users),
                start: ramp_up,
                len: hold,
            },
        ];
        Schedule { stages }
    }

    /// The stages, in order.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
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
        assert_eq!(sch.stages()[2].name(2), "3: 8 users");
        assert_eq!(
            Schedule::steps(&[1], Duration::from_secs(1)).stages()[0].name(0),
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
