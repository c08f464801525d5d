//! The ramp gate: the state every user thread and the controller share (who may send, the
//! stage, the stop flag, the `--rps` slot clock, the `--requests` budget), and the controller
//! that opens and closes it stage by stage as the schedule says.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, never, select};
use parking_lot::{Condvar, Mutex};

use crate::collector::Event;
use crate::config::Config;
use crate::config::schedule::{Arrival, Schedule};
use crate::engine::limiter::{Limiter, RateStage};

/// State every user thread and the controller share.
#[derive(Debug)]
pub struct Gate {
    /// Set once: users stop sending.
    pub stop: AtomicBool,
    /// Users with an index below this may send.
    pub active: AtomicUsize,
    /// Index of the current stage, stamped on each sample.
    pub stage: AtomicU32,
    /// Requests begun (to count those still in flight at the end, and live: the run's
    /// [`Progress`](crate::engine::run::Progress) shares it).
    pub started: Arc<AtomicU64>,
    /// The `--rps` slot clock.
    pub limiter: Option<Limiter>,
    /// When a timed run ends (its start + `--duration` or the schedule's length), once known.
    end: std::sync::OnceLock<Instant>,
    budget: Option<u64>,
    /// `--iterations`: logical requests each user sends before it stops.
    pub per_user: Option<u64>,
    /// The most users each stage runs.
    stage_users: Vec<usize>,
    issued: AtomicU64,
    /// Held while `active` or `stop` changes, so that no waiting user misses the wake-up.
    lock: Mutex<()>,
    opened: Condvar,
}

impl Gate {
    /// Gate state for a run of `schedule` (paced when its stages have rates) with an optional
    /// request budget.
    pub fn new(schedule: &Schedule, arrival: Arrival, budget: Option<u64>) -> Self {
        let limiter = schedule.paced().then(|| {
            let stages: Vec<RateStage> = schedule
                .stages()
                .iter()
                .map(|s| RateStage {
                    start: s.start,
                    len: s.len,
                    rate: s.rate.unwrap_or(crate::parse::MIN_RATE),
                })
                .collect();
            Limiter::new(&stages, arrival)
        });
        Gate {
            stop: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            stage: AtomicU32::new(0),
            started: Arc::default(),
            limiter,
            end: std::sync::OnceLock::new(),
            budget,
            per_user: None,
            stage_users: schedule.stages().iter().map(|s| s.users()).collect(),
            issued: AtomicU64::new(0),
            lock: Mutex::new(()),
            opened: Condvar::new(),
        }
    }

    /// Block until user `index` may send; false when the run is over.
    pub fn wait_turn(&self, index: usize) -> bool {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            if index < self.active.load(Ordering::Relaxed) {
                return true;
            }
            let mut guard = self.lock.lock();
            if !self.stop.load(Ordering::Relaxed) && index >= self.active.load(Ordering::Relaxed) {
                self.opened.wait(&mut guard);
            }
        }
    }

    /// The run starts at `start`: the `--rps` clock's slot 0 (set once, before users are
    /// admitted).
    pub fn set_start(&self, start: Instant) {
        if let Some(l) = &self.limiter {
            l.start(start);
        }
    }

    /// The run ends at `at` (a timed run; set once, before users are admitted).
    pub fn set_end(&self, at: Instant) {
        let _ = self.end.set(at);
    }

    /// Is a slot due at `slot` inside the run? A slot due at or after its end is never sent, so
    /// that a timed run at `--rps R` sends exactly R × duration requests (slots 0 .. R·d − 1).
    pub fn in_run(&self, slot: Instant) -> bool {
        self.end.get().is_none_or(|end| slot < *end)
    }

    /// Take one request from the `--requests` budget; false when it is spent.
    pub fn take_budget(&self) -> bool {
        match self.budget {
            None => true,
            Some(limit) => self.issued.fetch_add(1, Ordering::Relaxed) < limit,
        }
    }

    /// Is user `index` among the users running now?
    pub fn is_active(&self, index: usize) -> bool {
        index < self.active.load(Ordering::Relaxed)
    }

    /// Does stage `stage` run no users (its slots are skipped; a user that woke for one before
    /// the controller closed the gate must not send it)?
    pub fn runs_nobody(&self, stage: u32) -> bool {
        self.stage_users.get(stage as usize) == Some(&0)
    }

    /// Return a request taken from the `--requests` budget and not sent.
    pub fn give_back(&self) {
        if self.budget.is_some() {
            self.issued.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Let the first `users` users send (and park the rest).
    pub fn set_active(&self, users: usize) {
        let _guard = self.lock.lock();
        self.active.store(users, Ordering::Relaxed);
        self.opened.notify_all();
    }

    /// Stop every user.
    pub fn stop_all(&self) {
        let _guard = self.lock.lock();
        self.stop.store(true, Ordering::Relaxed);
        self.opened.notify_all();
    }
}

/// The ramp controller: follow the schedule until it ends; true when interrupted.
pub fn control(
    cfg: &Config,
    gate: &Gate,
    tx: &crossbeam_channel::Sender<Event>,
    start: Instant,
    interrupt: &Receiver<()>,
    done: &Receiver<()>,
) -> bool {
    let schedule = &cfg.schedule;
    let mut interrupt = interrupt.clone();
    let mut stage = usize::MAX;
    let mut active = 0usize;
    loop {
        let now = Instant::now();
        let t = now - start;
        if schedule.end().is_some_and(|end| t >= end) {
            return false;
        }
        let s = schedule.stage_at(t);
        if s != stage {
            // The measured run begins: the warm-up's late slots are not sent into it.
            if s == 1
                && schedule.warmup().is_some()
                && let Some(l) = &gate.limiter
            {
                l.skip_before(1);
            }
            stage = s;
            gate.stage.store(s as u32, Ordering::Relaxed);
            let _ = tx.send(Event::Stage { index: s, at: now });
        }
        let users = schedule.users_at(t);
        if users != active {
            if active == 0
                && let Some(l) = &gate.limiter
            {
                l.restart_at(now);
            }
            gate.set_active(users);
            active = users;
        }
        let wait = schedule
            .next_change_after(t)
            .map(|next| next.saturating_sub(t))
            .unwrap_or(Duration::from_secs(3600));
        select! {
            recv(interrupt) -> msg => match msg {
                Ok(()) => return true,
                Err(_) => interrupt = never(),
            },
            recv(done) -> _ => return false,
            default(wait) => {}
        }
    }
}
