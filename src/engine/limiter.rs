//! The shared rate limiter: one atomic clock of send slots for all users.
//!
//! Slot *n* is due at `origin + n / rate` (an absolute schedule, as in wrk2 and oha), so the
//! rate never drifts with sleep overshoot. The next free slot lives in one `AtomicU64` counted in
//! picoseconds since `base`: taking a slot is a single `fetch_add`, and the picosecond grain keeps
//! the rounding error of the interval below 1e-7 of the rate up to 10M requests per second.
//! When users cannot keep up, slots fall behind the clock; nothing here skips them, so the lag
//! shows up in the results instead of a silently lower rate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The shared slot clock.
#[derive(Debug)]
pub struct Limiter {
    base: Instant,
    interval_ps: u64,
    next_ps: AtomicU64,
}

const PS_PER_NS: u64 = 1_000;

impl Limiter {
    /// A limiter for `rate` requests per second whose first slot is at `base`.
    pub fn new(rate: f64, base: Instant) -> Self {
        let interval_ps = (1e12 / rate).round().max(1.0) as u64;
        Limiter {
            base,
            interval_ps,
            next_ps: AtomicU64::new(0),
        }
    }

    /// Time between two slots.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ps / PS_PER_NS)
    }

    /// Take the next slot and return when it is due.
    pub fn acquire(&self) -> Instant {
        let ps = self.next_ps.fetch_add(self.interval_ps, Ordering::Relaxed);
        self.base + Duration::from_nanos(ps / PS_PER_NS)
    }

    /// Move the schedule forward to `at` if it is behind it. Called when users become active
    /// after a stretch with none (the start of a run that opens with a 0-user stage), so slots
    /// nobody could take are not sent in one burst.
    pub fn restart_at(&self, at: Instant) {
        let ps = at.saturating_duration_since(self.base).as_nanos() as u64 * PS_PER_NS;
        self.next_ps.fetch_max(ps, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_evenly_spaced_from_the_base() {
        let base = Instant::now();
        let lim = Limiter::new(200.0, base);
        assert_eq!(lim.interval(), Duration::from_millis(5));
        for n in 0..1000u32 {
            assert_eq!(lim.acquire() - base, Duration::from_millis(5) * n);
        }
    }

    #[test]
    fn no_drift_for_rates_that_do_not_divide_a_second() {
        let base = Instant::now();
        let lim = Limiter::new(3.0, base);
        let mut last = base;
        for _ in 0..=3000 {
            last = lim.acquire();
        }
        // Slot 3000 at 3 rps is due at 1000 s, within a nanosecond of rounding.
        let off = (last - base).as_secs_f64();
        assert!((off - 1000.0).abs() < 1e-6, "slot 3000 at {off}");
        let lim = Limiter::new(30_000.0, base);
        for _ in 0..30_000 {
            lim.acquire();
        }
        let off = (lim.acquire() - base).as_secs_f64();
        assert!((off - 1.0).abs() < 1e-6, "slot 30000 at {off}");
    }

    #[test]
    fn restart_skips_only_slots_in_the_past() {
        let base = Instant::now();
        let lim = Limiter::new(10.0, base);
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
        let lim = std::sync::Arc::new(Limiter::new(1000.0, base));
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
}
