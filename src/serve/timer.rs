//! A high-resolution timer for the chat routes: one thread per server keeps a heap of
//! (deadline, waker), sleeps until the earliest deadline and wakes the tasks that are due.
//!
//! Why not `tokio::time`: tokio's timer wheel has a 1 ms granularity and rounds every deadline
//! up, so a token due 50 ms after a request went out at ~51.4 ms and the gaps between tokens
//! drifted by a few tenths of a millisecond. Here a deadline is an exact [`Instant`]: the
//! thread waits on a condition variable until it (a futex with a timeout on Linux), with a
//! timer slack of 1 ns (`PR_SET_TIMERSLACK`; the default lets the kernel wake it 50 µs late).
//! It never spins: hundreds of concurrent streams cost one sleeping thread and one heap entry
//! per pending event.
//!
//! What is left is the time from the deadline to the event on the socket: the timer thread's
//! wake-up, the tokio worker's, hyper's write (0.15-0.35 ms at the median on a 2-vCPU VM, where
//! every wake-up of an idle vCPU costs tens of microseconds). The timer learns it: a streamed
//! event, once its socket write returned, reports how late that was ([`Sleep::written`]), and
//! the thread fires that much before each deadline (the lead, at most [`MAX_LEAD`]), so that
//! events reach the socket on their deadline at the median: single ones a little before or
//! after it, never more than the lead before. A sleep fired by the timer is ready even if its
//! deadline is a lead ahead.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// The timer thread: stopped and joined when dropped.
pub(super) struct Timer {
    clock: Clock,
    thread: Option<JoinHandle<()>>,
}

/// What tasks hold to sleep on the timer thread (cheap to clone).
#[derive(Clone)]
pub(super) struct Clock(Arc<Inner>);

struct Inner {
    state: Mutex<State>,
    /// Signalled when a deadline earlier than every other one arrives, or on stop.
    changed: Condvar,
    /// How long before its deadline a slot is fired, in nanoseconds: the median time from
    /// firing to the event on the wire, learned from [`Sleep::written`].
    lead_ns: AtomicI64,
    /// Samples learned so far.
    samples: AtomicI64,
}

/// The most the timer fires ahead of a deadline.
const MAX_LEAD: Duration = Duration::from_micros(500);

#[derive(Default)]
struct State {
    heap: BinaryHeap<Reverse<Entry>>,
    /// Numbers entries, so that equal deadlines keep their order and `Entry` is totally ordered.
    seq: u64,
    stopped: bool,
}

struct Entry {
    due: Instant,
    seq: u64,
    slot: Arc<Slot>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

/// One registered deadline: the waker of the task waiting for it, and whether it has fired.
#[derive(Default)]
struct Slot(Mutex<SlotState>);

#[derive(Default)]
struct SlotState {
    waker: Option<Waker>,
    fired: bool,
}

impl Timer {
    /// Start the timer thread.
    ///
    /// # Errors
    ///
    /// When the thread cannot be spawned.
    pub(super) fn start() -> io::Result<Timer> {
        let clock = Clock(Arc::new(Inner {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            lead_ns: AtomicI64::new(0),
            samples: AtomicI64::new(0),
        }));
        let inner = Arc::clone(&clock.0);
        let thread = std::thread::Builder::new()
            .name("qpsbench-serve-timer".into())
            .stack_size(64 * 1024)
            .spawn(move || run(&inner))?;
        Ok(Timer {
            clock,
            thread: Some(thread),
        })
    }

    pub(super) fn clock(&self) -> Clock {
        self.clock.clone()
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let inner = &self.clock.0;
        {
            let mut state = inner.state.lock();
            state.stopped = true;
            // Wakers hold their tasks: let them go now.
            state.heap.clear();
        }
        inner.changed.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The timer thread's loop: wake every due slot, then sleep until the next deadline.
fn run(inner: &Inner) {
    set_fine_timer_slack();
    let mut due = Vec::new();
    let mut state = inner.state.lock();
    loop {
        if state.stopped {
            return;
        }
        let lead = inner.lead();
        let now = Instant::now();
        while let Some(Reverse(entry)) = state.heap.peek()
            && entry.due <= now + lead
        {
            let Some(Reverse(entry)) = state.heap.pop() else {
                break;
            };
            due.push(entry.slot);
        }
        if !due.is_empty() {
            // Wake outside the lock: a waker may run code of its own (tokio's schedules the
            // task, which may register again at once).
            drop(state);
            for slot in due.drain(..) {
                slot.fire();
            }
            state = inner.state.lock();
            continue;
        }
        match state.heap.peek() {
            Some(Reverse(next)) => {
                let wake = next.due.checked_sub(lead).unwrap_or(next.due);
                inner.changed.wait_until(&mut state, wake);
            }
            None => inner.changed.wait(&mut state),
        }
    }
}

/// Ask the kernel to wake this thread's timed waits as close to their deadline as it can
/// (the default slack lets it be 50 µs late, to batch wake-ups).
fn set_fine_timer_slack() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and changes only this thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

impl Inner {
    fn lead(&self) -> Duration {
        Duration::from_nanos(self.lead_ns.load(Relaxed).max(0).unsigned_abs())
    }

    /// Move the lead by how late an event fired with the current lead reached the socket
    /// (`late_ns`, negative when early). The first 8 samples set it to their mean (each
    /// clamped to ±100 µs); after that each moves it by at most 4 µs, towards the median: it
    /// settles where half the events are late and half early, and outliers (a descheduled
    /// thread) count no more than any other sample.
    fn learn(&self, late_ns: i64) {
        const FIRST_STEP_NS: i64 = 100_000;
        const STEP_NS: i64 = 4_000;
        let n = self.samples.fetch_add(1, Relaxed);
        let step = if n < 8 {
            late_ns.clamp(-FIRST_STEP_NS, FIRST_STEP_NS) / (n + 1)
        } else {
            late_ns.clamp(-STEP_NS, STEP_NS)
        };
        let max = i64::try_from(MAX_LEAD.as_nanos()).unwrap_or(i64::MAX);
        let _ = self
            .lead_ns
            .fetch_update(Relaxed, Relaxed, |l| Some((l + step).clamp(0, max)));
    }
}

impl Slot {
    fn fire(&self) {
        let waker = {
            let mut s = self.0.lock();
            s.fired = true;
            s.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Clock {
    /// A future that is ready at `due` (at once when `due` has passed).
    pub(super) fn sleep_until(&self, due: Instant) -> Sleep {
        Sleep {
            clock: self.clone(),
            due,
            state: SleepState::Idle,
        }
    }

    /// Put `slot` on the heap at `due`; wake the thread when it is the new earliest deadline.
    fn register(&self, due: Instant, slot: Arc<Slot>) {
        let inner = &self.0;
        let earliest = {
            let mut state = inner.state.lock();
            if state.stopped {
                return;
            }
            let earliest = state.heap.peek().is_none_or(|Reverse(e)| due < e.due);
            state.seq += 1;
            let seq = state.seq;
            state.heap.push(Reverse(Entry { due, seq, slot }));
            earliest
        };
        if earliest {
            inner.changed.notify_one();
        }
    }
}

/// Ready at its deadline; [`Sleep::reset`] moves the deadline. Dropping it lets its waker go
/// (the heap entry stays until its deadline, holding nothing).
pub(super) struct Sleep {
    clock: Clock,
    due: Instant,
    state: SleepState,
}

enum SleepState {
    /// Not polled yet for this deadline.
    Idle,
    /// On the timer's heap.
    Waiting(Arc<Slot>),
    /// Ready was returned; `timed` when the timer fired it (rather than a poll finding the
    /// deadline already past).
    Done { timed: bool },
}

impl Sleep {
    /// Wait for `due` instead (nothing changes when it is the same deadline).
    pub(super) fn reset(&mut self, due: Instant) {
        if due != self.due {
            self.cancel();
            self.state = SleepState::Idle;
            self.due = due;
        }
    }

    fn cancel(&mut self) {
        if let SleepState::Waiting(slot) = &self.state {
            slot.0.lock().waker = None;
        }
    }

    /// The event this deadline was for reached the socket at `written`: when the timer fired
    /// the deadline, the timer learns its lead from how late that was (see [`Inner::learn`]).
    pub(super) fn written(&mut self, written: Instant) {
        if let SleepState::Done { timed: true } = self.state {
            self.state = SleepState::Done { timed: false };
            let late = if written >= self.due {
                i64::try_from((written - self.due).as_nanos()).unwrap_or(i64::MAX)
            } else {
                -i64::try_from((self.due - written).as_nanos()).unwrap_or(i64::MAX)
            };
            self.clock.0.learn(late);
        }
    }

    /// Ready when the timer fired this deadline (up to the timer's lead before it) or when the
    /// deadline has passed; then Ready until [`Sleep::reset`].
    pub(super) fn poll_due(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &self.state {
            SleepState::Done { .. } => return Poll::Ready(()),
            SleepState::Waiting(slot) => {
                let mut s = slot.0.lock();
                if s.fired || Instant::now() >= self.due {
                    s.waker = None;
                    drop(s);
                    self.state = SleepState::Done { timed: true };
                    return Poll::Ready(());
                }
                // Still on the heap: keep the latest waker.
                if !s.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    s.waker = Some(cx.waker().clone());
                }
                return Poll::Pending;
            }
            SleepState::Idle => {}
        }
        if Instant::now() >= self.due {
            self.state = SleepState::Done { timed: false };
            return Poll::Ready(());
        }
        let slot = Arc::new(Slot(Mutex::new(SlotState {
            waker: Some(cx.waker().clone()),
            fired: false,
        })));
        self.state = SleepState::Waiting(Arc::clone(&slot));
        self.clock.register(self.due, slot);
        Poll::Pending
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().poll_due(cx)
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep").field("due", &self.due).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sleeps_end_at_their_deadlines_in_order() {
        let timer = Timer::start().unwrap();
        let clock = timer.clock();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let start = Instant::now();
        // Registered latest first: the thread must re-plan for each earlier deadline.
        let offsets = [30u64, 20, 10, 0];
        let ends = rt.block_on(async {
            let tasks: Vec<_> = offsets
                .iter()
                .map(|&ms| {
                    let sleep = clock.sleep_until(start + Duration::from_millis(ms));
                    async move {
                        sleep.await;
                        Instant::now()
                    }
                })
                .collect();
            let mut ends = Vec::new();
            for t in tasks {
                ends.push(t.await);
            }
            ends
        });
        for (&ms, end) in offsets.iter().zip(ends) {
            assert!(
                end >= start + Duration::from_millis(ms),
                "{ms} ms ended early"
            );
        }
        drop(timer);
    }

    #[test]
    fn the_lead_settles_on_the_latency_it_is_told_and_stays_in_bounds() {
        let timer = Timer::start().unwrap();
        let inner = &timer.clock.0;
        // A pipeline that puts every event on the socket 120 µs after it is fired, except
        // every tenth, 5 ms late (a descheduled thread).
        let latency: i64 = 120_000;
        for i in 0..200 {
            let lead = inner.lead_ns.load(Relaxed);
            let late = if i % 10 == 9 {
                5_000_000
            } else {
                latency - lead
            };
            inner.learn(late);
        }
        let lead = inner.lead().as_secs_f64() * 1e6;
        // The median: the outliers count as any late event.
        assert!((116.0..=128.0).contains(&lead), "lead {lead} µs");
        for _ in 0..200 {
            inner.learn(10_000_000);
        }
        assert_eq!(inner.lead(), MAX_LEAD);
        for _ in 0..200 {
            inner.learn(-10_000_000);
        }
        assert_eq!(inner.lead(), Duration::ZERO);
    }

    #[test]
    fn a_sleep_fired_ahead_by_the_lead_is_ready() {
        let timer = Timer::start().unwrap();
        let clock = timer.clock();
        clock
            .0
            .lead_ns
            .store(i64::try_from(MAX_LEAD.as_nanos()).unwrap(), Relaxed);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let due = Instant::now() + Duration::from_millis(20);
        let end = rt.block_on(async {
            clock.sleep_until(due).await;
            Instant::now()
        });
        assert!(end + MAX_LEAD >= due, "{:?} early", due - end);
        assert!(end < due + Duration::from_secs(2));
    }

    #[test]
    fn a_reset_sleep_waits_for_its_new_deadline_and_stop_is_prompt() {
        let timer = Timer::start().unwrap();
        let clock = timer.clock();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let start = Instant::now();
        rt.block_on(async {
            let mut sleep = clock.sleep_until(start + Duration::from_secs(600));
            // Polled once (registered at +600 s), then moved to +15 ms.
            let waker = std::task::Waker::noop();
            let mut cx = Context::from_waker(waker);
            assert!(sleep.poll_due(&mut cx).is_pending());
            sleep.reset(start + Duration::from_millis(15));
            (&mut sleep).await;
        });
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(15) && took < Duration::from_secs(5),
            "{took:?}"
        );
        // The +600 s entry is still on the heap: dropping the timer must not wait for it.
        let t = Instant::now();
        drop(timer);
        assert!(t.elapsed() < Duration::from_secs(1));
    }
}
