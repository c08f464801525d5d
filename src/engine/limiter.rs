//! The shared rate limiter: one clock of send slots for all users.
//!
//! The schedule is absolute (as in wrk2 and oha): slot *n* has one due time, fixed when the run
//! starts, so the rate never drifts with sleep overshoot, and when users cannot keep up the
//! slots fall behind the clock; nothing here skips them, so the lag shows up in the results
//! instead of a silently lower rate.
//!
//! - Constant arrivals (the default): a stage of rate *R* starting at *s* holds the slots due at
//!   `s + k / R` for every `k` with `k / R` < the stage's length. Taking a slot is a single
//!   `fetch_add` on the slot index; its due time is computed from the index in picoseconds, so
//!   the rounding error of the interval stays below 1e-7 of the rate up to 10M requests/s.
//! - Gamma arrivals (`--arrival poisson`, `--burstiness K`): slot *n* is due at the sum of the
//!   first *n* gaps, each drawn from a gamma distribution of shape *K* and mean 1/R (R the rate
//!   of the stage the previous slot is in); K = 1 is a Poisson process, K < 1 burstier, as
//!   vLLM's `--burstiness`. The gaps come from one generator seeded by `--seed`, taken under a
//!   lock, so the same seed gives the same schedule.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

pub use crate::config::schedule::Arrival;

const PS_PER_NS: u128 = 1_000;
const PS_PER_S: f64 = 1e12;

/// One stage of the rate schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStage {
    /// Offset of the stage from the start of the run.
    pub start: Duration,
    /// Length; `None` for an open-ended last stage.
    pub len: Option<Duration>,
    /// Target rate, requests per second.
    pub rate: f64,
}

/// A stage as the clock uses it.
#[derive(Debug)]
struct Plan {
    /// Offset of the stage's first slot: its start, plus what the stages before it leave of a
    /// slot (a rate × length that is not whole carries over: slots stay 1/R apart).
    start_ps: u128,
    interval_ps: u128,
    rate: f64,
    /// Index of the stage's first slot (constant arrivals).
    first_slot: u64,
    /// Slots in the stage; `u64::MAX` for an open-ended one.
    slots: u64,
    /// The stage's end, for a slot beyond its last (of the last stage: after the run).
    end_ps: u128,
}

/// The shared slot clock.
#[derive(Debug)]
pub struct Limiter {
    /// The start of the run: slot times are offsets from it.
    base: OnceLock<Instant>,
    plan: Vec<Plan>,
    /// Constant arrivals: the index of the next free slot.
    next_slot: AtomicU64,
    /// Gamma arrivals: the next slot's offset and the generator of gaps.
    random: Option<Mutex<Gaps>>,
    /// Slots taken by a user that may no longer send (the users were cut while it waited for
    /// one), as offset and stage: the next user to ask takes the earliest of them, so that no
    /// slot is lost. `returned_len` is read first: the path without any pays one load.
    returned: Mutex<Vec<(u128, u32)>>,
    returned_len: std::sync::atomic::AtomicUsize,
    /// Per stage, slots skipped without being sent (constant arrivals): by
    /// [`Limiter::restart_at`] or [`Limiter::skip_before`], when the clock was moved past them.
    skipped: Vec<AtomicU64>,
}

/// The most gamma slots [`Limiter::unsent_slots`] draws one by one (a backlog of 10M slots
/// takes about half a second to draw).
pub const MAX_DRAWN: u64 = 10_000_000;

#[derive(Debug, Clone)]
struct Gaps {
    /// Slots drawn so far (taken, or counted as unsent by a copy).
    drawn: u64,
    next_ps: u128,
    shape: f64,
    rng: fastrand::Rng,
}

impl Limiter {
    /// A limiter for `stages` (back to back, in order; at least one). The clock starts at
    /// [`Limiter::start`].
    pub fn new(stages: &[RateStage], arrival: Arrival) -> Self {
        // Slot n is due when the schedule's work (the integral of the rate) reaches n: each
        // stage holds the whole slots of its share of the work, so a timed run of rate R and
        // length d sends exactly ceil(R x d) (R x d when whole), and a fraction carries over
        // to the next stage instead of rounding up in each.
        const EPS: f64 = 1e-9;
        let mut work = 0.0f64;
        let plan: Vec<Plan> = stages
            .iter()
            .map(|s| {
                let interval_ps = (PS_PER_S / s.rate).round().max(1.0) as u128;
                let first_slot = (work - EPS).max(0.0).ceil() as u64;
                // Into the stage when its first slot is due, in picoseconds.
                let lead_ps = ((first_slot as f64 - work).max(0.0) * PS_PER_S / s.rate).round();
                let slots = match s.len {
                    None => u64::MAX,
                    Some(len) => {
                        work += s.rate * len.as_secs_f64();
                        ((work - EPS).max(0.0).ceil() as u64).saturating_sub(first_slot)
                    }
                };
                Plan {
                    start_ps: s.start.as_nanos() * PS_PER_NS + lead_ps as u128,
                    interval_ps,
                    rate: s.rate,
                    first_slot,
                    slots,
                    end_ps: s
                        .len
                        .map_or(u128::MAX, |len| (s.start + len).as_nanos() * PS_PER_NS),
                }
            })
            .collect();
        Limiter {
            base: OnceLock::new(),
            skipped: plan.iter().map(|_| AtomicU64::new(0)).collect(),
            plan,
            returned: Mutex::new(Vec::new()),
            returned_len: std::sync::atomic::AtomicUsize::new(0),
            next_slot: AtomicU64::new(0),
            random: match arrival {
                Arrival::Constant => None,
                Arrival::Gamma { shape, seed } => Some(Mutex::new(Gaps {
                    drawn: 0,
                    next_ps: 0,
                    shape,
                    rng: fastrand::Rng::with_seed(seed),
                })),
            },
        }
    }

    /// Start the clock: slot 0 is due at `at` (set once; later calls change nothing).
    pub fn start(&self, at: Instant) {
        let _ = self.base.set(at);
    }

    fn base(&self) -> Instant {
        *self.base.get_or_init(Instant::now)
    }

    /// Take the next slot and return when it is due.
    pub fn acquire(&self) -> Instant {
        self.acquire_slot().0
    }

    /// Take the next slot: when it is due and the index of the stage it belongs to (a slot
    /// sent late still counts in its own stage).
    pub fn acquire_slot(&self) -> (Instant, u32) {
        if self.returned_len.load(Ordering::Relaxed) > 0
            && let Some((ps, stage)) = self.take_returned()
        {
            return (self.at_ps(ps), stage);
        }
        let (ps, stage) = match &self.random {
            None => self.due_ps(self.next_slot.fetch_add(1, Ordering::Relaxed)),
            Some(gaps) => self.draw(&mut gaps.lock()),
        };
        (self.at_ps(ps), stage as u32)
    }

    /// The next gamma slot: its due offset and stage; the one after it is drawn.
    fn draw(&self, g: &mut Gaps) -> (u128, usize) {
        g.drawn += 1;
        let due = g.next_ps;
        let stage = self.stage_at_ps(due);
        let shape = g.shape;
        let gap_s = gamma(&mut g.rng, shape) / (shape * self.plan[stage].rate);
        g.next_ps = due + (gap_s * PS_PER_S).round() as u128;
        (due, stage)
    }

    /// The instant `ps` picoseconds after the start.
    fn at_ps(&self, ps: u128) -> Instant {
        // In u64 when it fits (213 days of picoseconds): a u128 division is a library call,
        // most of [`Limiter::acquire_slot`]'s cost.
        let ns = match u64::try_from(ps) {
            Ok(ps) => ps / PS_PER_NS as u64,
            Err(_) => u64::try_from(ps / PS_PER_NS).unwrap_or(u64::MAX),
        };
        self.base() + Duration::from_nanos(ns)
    }

    /// Hand back a slot taken from [`Limiter::acquire_slot`] that its user may not send (its
    /// stage cut the users while it waited): the next user to ask gets it, late.
    pub fn give_back_slot(&self, at: Instant, stage: u32) {
        let ps = at.saturating_duration_since(self.base()).as_nanos() * PS_PER_NS;
        let mut returned = self.returned.lock();
        returned.push((ps, stage));
        self.returned_len.store(returned.len(), Ordering::Relaxed);
    }

    /// The earliest slot handed back, if any is left.
    fn take_returned(&self) -> Option<(u128, u32)> {
        let mut returned = self.returned.lock();
        let i = (0..returned.len()).min_by_key(|&i| returned[i].0)?;
        let slot = returned.swap_remove(i);
        self.returned_len.store(returned.len(), Ordering::Relaxed);
        Some(slot)
    }

    /// The offset of constant slot `n`, in picoseconds, and its stage.
    fn due_ps(&self, n: u64) -> (u128, usize) {
        // One stage (every run without rate stages or a warm-up): no search.
        let i = if self.plan.len() == 1 {
            0
        } else {
            self.plan.partition_point(|p| p.first_slot <= n) - 1
        };
        let p = &self.plan[i];
        let k = n - p.first_slot;
        if k >= p.slots {
            // Past the last stage's slots: its end, where a timed run is over (an interval
            // rounded to whole picoseconds must not fit one more slot before it).
            return (p.end_ps, i);
        }
        (p.start_ps + u128::from(k) * p.interval_ps, i)
    }

    /// Index of the stage running at offset `ps`.
    fn stage_at_ps(&self, ps: u128) -> usize {
        self.plan
            .partition_point(|p| p.start_ps <= ps)
            .saturating_sub(1)
    }

    /// Per stage, the slots due before `end` that no user took: the backlog a run ended with
    /// because its users could not keep up (every user busy). Slots skipped on purpose (a
    /// stretch without users, see [`Limiter::restart_at`]) were taken past, and are not
    /// counted; nor are slots beyond `needed`, the run's request count (`--requests`,
    /// `--iterations`), which a run that ended by its count did not need. Gamma arrivals draw
    /// the rest of their schedule up to `end` from a copy of the generator (the same slots the
    /// users would have taken); past [`MAX_DRAWN`] slots the remainder is its expected count.
    pub fn unsent_slots(&self, end: Instant, needed: Option<u64>) -> Option<Vec<u64>> {
        let end_ps = end.saturating_duration_since(self.base()).as_nanos() * PS_PER_NS;
        let returned = self.returned.lock();
        let back = |i: usize| {
            // Handed back and not taken again before the end.
            returned
                .iter()
                .filter(|&&(ps, stage)| stage as usize == i && ps < end_ps)
                .count() as u64
                + self.skipped[i].load(Ordering::Relaxed)
        };
        if let Some(gaps) = &self.random {
            let mut g = gaps.lock().clone();
            let taken = g.drawn;
            let mut unsent: Vec<u64> = (0..self.plan.len()).map(back).collect();
            let mut left = needed.map_or(u64::MAX, |n| n.saturating_sub(taken));
            while left > 0 && g.next_ps < end_ps {
                if g.drawn - taken == MAX_DRAWN {
                    let stage = self.stage_at_ps(g.next_ps);
                    let expected = (end_ps - g.next_ps) as f64 / PS_PER_S * self.plan[stage].rate;
                    unsent[stage] += (expected as u64).min(left);
                    break;
                }
                let (_, stage) = self.draw(&mut g);
                unsent[stage] += 1;
                left -= 1;
            }
            return Some(unsent);
        }
        let taken = self.next_slot.load(Ordering::Relaxed);
        Some(
            self.plan
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let back = back(i);
                    if end_ps <= p.start_ps || p.slots == 0 {
                        return back;
                    }
                    let due = (end_ps - p.start_ps).div_ceil(p.interval_ps);
                    let due = u64::try_from(due).unwrap_or(u64::MAX).min(p.slots);
                    let due_end = (p.first_slot + due).min(needed.unwrap_or(u64::MAX));
                    due_end.saturating_sub(taken.max(p.first_slot)) + back
                })
                .collect(),
        )
    }

    /// Time between two slots of the first stage (the mean gap for gamma arrivals).
    pub fn interval(&self) -> Duration {
        Duration::from_nanos((self.plan[0].interval_ps / PS_PER_NS) as u64)
    }

    /// Move the schedule forward to `at` if it is behind it. Called when users become active
    /// after a stretch with none (the start of a run, or after a 0-user stage), so slots nobody
    /// could take are not sent in one burst. The slot due at or just before `at` is kept (at
    /// most one interval late), so that the run's first slot is never skipped.
    pub fn restart_at(&self, at: Instant) {
        let ps = at.saturating_duration_since(self.base()).as_nanos() * PS_PER_NS;
        // Slots handed back during the stretch without users are skipped with it.
        self.drop_returned(|due, _| due < ps);
        match &self.random {
            None => {
                let p = &self.plan[self.stage_at_ps(ps)];
                let k = ps.saturating_sub(p.start_ps) / p.interval_ps;
                let k = u64::try_from(k).unwrap_or(u64::MAX).min(p.slots);
                self.skip_to(p.first_slot.saturating_add(k));
            }
            Some(gaps) => {
                let mut g = gaps.lock();
                g.next_ps = g.next_ps.max(ps);
            }
        }
    }

    /// Skip every slot of the stages before `stage` not yet taken: the warm-up's backlog is not
    /// sent into the measured run. Called when `stage` begins.
    pub fn skip_before(&self, stage: usize) {
        let Some(p) = self.plan.get(stage) else {
            return;
        };
        self.drop_returned(|_, s| (s as usize) < stage);
        match &self.random {
            None => self.skip_to(p.first_slot),
            Some(gaps) => {
                let mut g = gaps.lock();
                g.next_ps = g.next_ps.max(p.start_ps);
            }
        }
    }

    /// Move the next free slot forward to `slot`, counting the slots passed over as skipped in
    /// their stages.
    fn skip_to(&self, slot: u64) {
        let old = self.next_slot.fetch_max(slot, Ordering::Relaxed);
        if slot <= old {
            return;
        }
        for (p, skipped) in self.plan.iter().zip(&self.skipped) {
            let from = old.max(p.first_slot);
            let to = slot.min(p.first_slot.saturating_add(p.slots));
            if to > from {
                skipped.fetch_add(to - from, Ordering::Relaxed);
            }
        }
    }

    /// Forget the handed-back slots `drop` says (by due offset and stage), counting them as
    /// skipped in their stages.
    fn drop_returned(&self, drop: impl Fn(u128, u32) -> bool) {
        let mut returned = self.returned.lock();
        returned.retain(|&(due, stage)| {
            let gone = drop(due, stage);
            if gone && let Some(s) = self.skipped.get(stage as usize) {
                s.fetch_add(1, Ordering::Relaxed);
            }
            !gone
        });
        self.returned_len.store(returned.len(), Ordering::Relaxed);
    }
}

/// A standard normal value (Box–Muller).
fn normal(rng: &mut fastrand::Rng) -> f64 {
    let u1 = 1.0 - rng.f64(); // (0, 1]: ln is finite
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A gamma-distributed value of `shape` and scale 1 (mean `shape`): Marsaglia and Tsang, "A
/// simple method for generating gamma variables" (ACM TOMS 26(3), 2000); for a shape below 1,
/// `gamma(shape + 1) * U^(1 / shape)` (their section 6).
fn gamma(rng: &mut fastrand::Rng, shape: f64) -> f64 {
    if shape < 1.0 {
        let u = 1.0 - rng.f64();
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = 1.0 - rng.f64();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constant(rate: f64) -> Limiter {
        Limiter::new(
            &[RateStage {
                start: Duration::ZERO,
                len: None,
                rate,
            }],
            Arrival::Constant,
        )
    }

    #[test]
    fn a_slot_handed_back_is_the_next_one_taken_and_none_is_lost() {
        let base = Instant::now();
        let lim = constant(100.0);
        lim.start(base);
        let ms = Duration::from_millis;
        let taken: Vec<_> = (0..4).map(|_| lim.acquire_slot()).collect();
        lim.give_back_slot(taken[2].0, taken[2].1);
        lim.give_back_slot(taken[1].0, taken[1].1);
        // The earliest handed back first, then the clock goes on where it was.
        assert_eq!(lim.acquire() - base, ms(10));
        assert_eq!(lim.acquire() - base, ms(20));
        assert_eq!(lim.acquire() - base, ms(40));
        // At the end: slots due before it and never taken (60..90 ms), and one handed back
        // and left (50 ms).
        let (at, stage) = lim.acquire_slot();
        assert_eq!(at - base, ms(50));
        lim.give_back_slot(at, stage);
        assert_eq!(lim.unsent_slots(base + ms(95), None), Some(vec![4 + 1]));
        // Not more than the run's request count needed (7 slots: the 7th is 60 ms).
        assert_eq!(lim.unsent_slots(base + ms(95), Some(7)), Some(vec![1 + 1]));
        // A restart after a stretch without users skips what was handed back before it.
        lim.restart_at(base + ms(200));
        assert_eq!(lim.acquire() - base, ms(200));
    }

    #[test]
    fn slots_are_evenly_spaced_from_the_base() {
        let base = Instant::now();
        let lim = constant(200.0);
        lim.start(base);
        assert_eq!(lim.interval(), Duration::from_millis(5));
        for n in 0..1000u32 {
            assert_eq!(lim.acquire() - base, Duration::from_millis(5) * n);
        }
    }

    #[test]
    fn no_drift_for_rates_that_do_not_divide_a_second() {
        let base = Instant::now();
        let lim = constant(3.0);
        lim.start(base);
        let mut last = base;
        for _ in 0..=3000 {
            last = lim.acquire();
        }
        // Slot 3000 at 3 rps is due at 1000 s, within a nanosecond of rounding.
        let off = (last - base).as_secs_f64();
        assert!((off - 1000.0).abs() < 1e-6, "slot 3000 at {off}");
        let lim = constant(30_000.0);
        lim.start(base);
        for _ in 0..30_000 {
            lim.acquire();
        }
        let off = (lim.acquire() - base).as_secs_f64();
        assert!((off - 1.0).abs() < 1e-6, "slot 30000 at {off}");
    }

    #[test]
    fn the_lowest_rate_does_not_overflow() {
        let base = Instant::now();
        let lim = constant(crate::parse::MIN_RATE);
        lim.start(base);
        for n in 0..100_000u64 {
            let due = lim.acquire() - base;
            assert_eq!(due, Duration::from_secs(1000 * n), "slot {n}");
        }
    }

    #[test]
    fn restart_skips_only_slots_in_the_past() {
        let base = Instant::now();
        let lim = constant(10.0);
        lim.start(base);
        lim.restart_at(base + Duration::from_secs(2));
        assert_eq!(lim.acquire() - base, Duration::from_secs(2));
        assert_eq!(lim.acquire() - base, Duration::from_millis(2100));
        // A restart at an earlier instant does not move the schedule back.
        lim.restart_at(base + Duration::from_secs(1));
        assert_eq!(lim.acquire() - base, Duration::from_millis(2200));
    }

    #[test]
    fn concurrent_takers_get_distinct_slots() {
        let base = Instant::now();
        let lim = std::sync::Arc::new(constant(1000.0));
        lim.start(base);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let lim = lim.clone();
                std::thread::spawn(move || (0..250).map(|_| lim.acquire()).collect::<Vec<_>>())
            })
            .collect();
        let mut all: Vec<Duration> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .map(|t| t - base)
            .collect();
        all.sort();
        let expected: Vec<Duration> = (0..1000).map(Duration::from_millis).collect();
        assert_eq!(all, expected);
    }

    /// Rate stages: each stage's slots at its own rate from its own start, exactly
    /// rate x length of them (hand-computed: 10/s for 1 s, then 4/s for 1 s, then 20/s).
    #[test]
    fn each_stage_has_its_rate_from_its_start() {
        let stages = [
            RateStage {
                start: Duration::ZERO,
                len: Some(Duration::from_secs(1)),
                rate: 10.0,
            },
            RateStage {
                start: Duration::from_secs(1),
                len: Some(Duration::from_secs(1)),
                rate: 4.0,
            },
            RateStage {
                start: Duration::from_secs(2),
                len: Some(Duration::from_millis(500)),
                rate: 20.0,
            },
        ];
        let base = Instant::now();
        let lim = Limiter::new(&stages, Arrival::Constant);
        lim.start(base);
        let got: Vec<u64> = (0..24)
            .map(|_| (lim.acquire() - base).as_millis() as u64)
            .collect();
        let mut want: Vec<u64> = (0..10).map(|k| k * 100).collect();
        want.extend((0..4).map(|k| 1000 + k * 250));
        want.extend((0..10).map(|k| 2000 + k * 50));
        assert_eq!(got, want);
        // After the last stage's slots: at its end, never inside the run.
        assert_eq!(lim.acquire() - base, Duration::from_millis(2500));
        // A restart in the middle of stage 2 takes the slot due at or just before it.
        let lim = Limiter::new(&stages, Arrival::Constant);
        lim.start(base);
        lim.restart_at(base + Duration::from_millis(1300));
        assert_eq!(lim.acquire() - base, Duration::from_millis(1250));
        // One just after the start keeps slot 0.
        let lim = Limiter::new(&stages, Arrival::Constant);
        lim.start(base);
        lim.restart_at(base + Duration::from_micros(30));
        assert_eq!(lim.acquire() - base, Duration::ZERO);
    }

    /// Gamma arrivals' backlog: the slots a second limiter of the same seed hands out before
    /// the end, less those taken (and not more than the run's count needs); drawing it leaves
    /// the schedule as it was.
    #[test]
    fn gamma_unsent_slots_are_the_same_seeds_slots_due_before_the_end() {
        let stages = [
            RateStage {
                start: Duration::ZERO,
                len: Some(Duration::from_millis(100)),
                rate: 1000.0,
            },
            RateStage {
                start: Duration::from_millis(100),
                len: Some(Duration::from_millis(100)),
                rate: 2000.0,
            },
        ];
        let arrival = Arrival::Gamma {
            shape: 1.0,
            seed: 5,
        };
        let base = Instant::now();
        let end = base + Duration::from_millis(150);
        let witness = Limiter::new(&stages, arrival);
        witness.start(base);
        let mut due = [0u64; 2];
        loop {
            let (at, stage) = witness.acquire_slot();
            if at >= end {
                break;
            }
            due[stage as usize] += 1;
        }
        assert!(due[0] > 50 && due[1] > 50, "{due:?}");
        let lim = Limiter::new(&stages, arrival);
        lim.start(base);
        for _ in 0..30 {
            lim.acquire_slot();
        }
        assert_eq!(lim.unsent_slots(end, None), Some(vec![due[0] - 30, due[1]]));
        let needed = due[0] + 7;
        assert_eq!(
            lim.unsent_slots(end, Some(needed)),
            Some(vec![due[0] - 30, 7])
        );
        // The schedule goes on from slot 30: the 31st slot is the witness's.
        let fresh = Limiter::new(&stages, arrival);
        fresh.start(base);
        let want = (0..31).map(|_| fresh.acquire()).last().unwrap();
        assert_eq!(lim.acquire(), want);
    }

    fn gaps(shape: f64, seed: u64, n: usize) -> Vec<f64> {
        let base = Instant::now();
        let lim = Limiter::new(
            &[RateStage {
                start: Duration::ZERO,
                len: None,
                rate: 100.0,
            }],
            Arrival::Gamma { shape, seed },
        );
        lim.start(base);
        let times: Vec<f64> = (0..=n)
            .map(|_| (lim.acquire() - base).as_secs_f64())
            .collect();
        times.windows(2).map(|w| w[1] - w[0]).collect()
    }

    fn mean_cv(v: &[f64]) -> (f64, f64) {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
        (mean, var.sqrt() / mean)
    }

    /// Gamma gaps of shape K have mean 1/R and a coefficient of variation of 1/sqrt(K): 1 for
    /// Poisson arrivals, 2 for K = 0.25, 0.5 for K = 4 (200,000 gaps: within 2%).
    #[test]
    fn gamma_gaps_have_the_mean_and_spread_of_their_shape() {
        for (shape, cv_want) in [(1.0, 1.0), (0.25, 2.0), (4.0, 0.5)] {
            let (mean, cv) = mean_cv(&gaps(shape, 7, 200_000));
            assert!(
                (mean - 0.01).abs() < 0.0002,
                "shape {shape}: mean gap {mean}"
            );
            assert!(
                (cv - cv_want).abs() < 0.02 * cv_want,
                "shape {shape}: cv {cv}"
            );
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_schedule() {
        assert_eq!(gaps(1.0, 42, 1000), gaps(1.0, 42, 1000));
        assert_ne!(gaps(1.0, 42, 1000), gaps(1.0, 43, 1000));
    }

    /// Slots due before `end_s` seconds, of `stages` of (rate, length in s) back to back.
    fn slots_before_end(stages: &[(f64, f64)]) -> Vec<u64> {
        let mut start = 0.0;
        let plan: Vec<RateStage> = stages
            .iter()
            .map(|&(rate, len)| {
                let s = RateStage {
                    start: Duration::from_secs_f64(start),
                    len: Some(Duration::from_secs_f64(len)),
                    rate,
                };
                start += len;
                s
            })
            .collect();
        let base = Instant::now();
        let lim = Limiter::new(&plan, Arrival::Constant);
        lim.start(base);
        let end = base + Duration::from_secs_f64(start);
        let mut per_stage = vec![0u64; stages.len()];
        loop {
            let (at, stage) = lim.acquire_slot();
            if at >= end {
                return per_stage;
            }
            per_stage[stage as usize] += 1;
        }
    }

    /// Exactly rate x length slots in a timed run whatever the rate (3/s has an interval that
    /// is not a whole number of picoseconds: a fourth slot fitted before 1 s), and a rate x
    /// length that is not whole carries over to the next stage (hand-counted: 1.5/s for 1 s
    /// then 2.5/s for 1 s is 4 slots, at 0, 0.667, 1.2 and 1.6 s).
    #[test]
    fn a_timed_schedule_holds_exactly_its_slots() {
        for (rate, secs) in [
            (3.0, 1.0),
            (9.0, 1.0),
            (11.0, 1.0),
            (33.0, 1.0),
            (7.0, 3.0),
            (300.0, 0.5),
        ] {
            let want = (rate * secs) as u64;
            assert_eq!(
                slots_before_end(&[(rate, secs)]),
                [want],
                "{rate}/s for {secs} s"
            );
        }
        assert_eq!(slots_before_end(&[(1.5, 1.0), (2.5, 1.0)]), [2, 2]);
        assert_eq!(slots_before_end(&[(1.0, 0.5), (1.0, 0.5)]), [1, 0]);
        assert_eq!(
            slots_before_end(&[(300.0, 0.5), (200.0, 0.5), (100.0, 0.5)]),
            [150, 100, 50]
        );
    }
}
