//! Was the client, not the server, the limit? Each second the collector reads what the qpsbench
//! process itself used and waited for, and a second in which the client had no CPU to spare is
//! called saturated: the latencies measured in it include qpsbench's own queueing.
//!
//! Two signals, either of which marks a second:
//! - **CPU**: the process's user + system CPU time over the second (`getrusage(RUSAGE_SELF)`)
//!   reached [`CPU_SATURATED`] of the cores it may run on ([`std::thread::available_parallelism`]:
//!   its CPU affinity, `taskset`, and its cgroup's quota).
//! - **Run-queue wait**: the time its threads spent runnable but waiting for a CPU (the second
//!   field of Linux's `/proc/self/task/TID/schedstat`, `run_delay`), per request completed in
//!   the second, reached [`WAIT_SATURATED`] of the second's mean latency and at least
//!   [`WAIT_FLOOR`]. This also catches a client that shares its cores with something else (the
//!   target on the same machine), whose CPU figure alone looks modest. A thread waits about
//!   once per request (woken by its response), and the wait between the response's arrival
//!   and its timestamp is part of the latency measured.
//!
//! The readings are taken by a thread of its own on the run's clock. Reading the run-queue
//! wait of thousands of threads every second would cost the client itself, and on a saturated
//! client that thread waits for its turn like every other: at most [`MAX_THREADS_READ`]
//! threads are read (a fixed, evenly spaced sample) and the sum is scaled up to every user
//! thread, the user threads being alike.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// A second whose CPU time reached this share of the usable cores is saturated: at 80%
/// utilisation a single-server queue's mean wait is already four times its service time
/// (M/M/1: ρ / (1 − ρ)).
pub const CPU_SATURATED: f64 = 0.8;

/// A second whose run-queue wait per request reached this share of its mean latency is
/// saturated (with [`WAIT_FLOOR`]).
pub const WAIT_SATURATED: f64 = 0.2;

/// ... and only when the wait per request is at least this long: a few microseconds of
/// scheduling on a sub-millisecond request are the machine's normal noise, not saturation.
pub const WAIT_FLOOR: Duration = Duration::from_micros(500);

/// User threads are named `user-N` (see `engine::run`): only their waits are a request's.
pub const USER_THREAD: &str = "user-";

/// The shortest interval read as the run's last, partial second.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// The most closed seconds kept waiting for their reading.
const MAX_PENDING: usize = 600;

/// The most threads whose run-queue wait is read each second.
pub const MAX_THREADS_READ: usize = 32;

/// `getrusage(RUSAGE_SELF)`: user and system CPU seconds and peak RSS in KiB (Linux reports
/// `ru_maxrss` in KiB); `None` when the call fails.
pub fn own_usage() -> Option<(f64, f64, u64)> {
    // SAFETY: getrusage writes one `rusage` into the zeroed struct it is given and reads nothing.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a `rusage` this function owns.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return None;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some((
        secs(u.ru_utime),
        secs(u.ru_stime),
        u64::try_from(u.ru_maxrss).unwrap_or(0),
    ))
}

/// A run of consecutive saturated seconds, with the worst figures seen in it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct SaturatedSpan {
    /// The first saturated second (numbered as the report's per-second rows, from 1).
    pub from_s: u64,
    /// The last saturated second of the span, inclusive.
    pub to_s: u64,
    /// The cores the client could use (its CPU affinity and cgroup quota).
    pub cores: f64,
    /// The most CPU the client used in any second of the span, in cores (CPU seconds per
    /// second).
    pub cpu_cores_max: f64,
    /// The longest mean run-queue wait per request in any second of the span, milliseconds;
    /// `null` where Linux's schedstat cannot be read.
    pub queue_wait_ms_max: Option<f64>,
    /// The mean latency of the second with the longest wait, milliseconds (`null` without a
    /// wait, or when no request completed in it).
    pub latency_mean_ms: Option<f64>,
}

impl SaturatedSpan {
    /// The span in words: `seconds 12–40` or `second 7`.
    pub fn seconds_words(&self) -> String {
        if self.from_s == self.to_s {
            format!("second {}", self.from_s)
        } else {
            format!("seconds {}–{}", self.from_s, self.to_s)
        }
    }
}

/// What the client used and waited for in one second of the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientSecond {
    /// CPU seconds used per second of wall time: the cores it kept busy.
    pub cpu_cores: f64,
    /// Its user threads' run-queue wait in the second, nanoseconds (scaled to every user
    /// thread); `None` where schedstat cannot be read.
    pub wait_ns: Option<f64>,
}

/// The client's own load, read about once a second by a sampler thread of its own
/// ([`ClientTimeline::sample`]) and judged second by second by the collector
/// ([`SaturationJudge`]). The collector cannot take the readings itself: on a saturated client
/// it is starved too, and may close a whole run's seconds at its end. The sampler may be late
/// as well (it waits for a CPU like every thread), so each reading covers the interval since
/// the one before, whatever its length, and a second takes the time-weighted mean of the
/// intervals it overlaps.
#[derive(Debug)]
pub struct ClientTimeline {
    cores: f64,
    /// When the measured run begins: second `s` is `[from + s - 1, from + s)`.
    from: Instant,
    intervals: Mutex<VecDeque<Interval>>,
    /// The sampler has taken its last reading: nothing more will cover a second.
    done: AtomicBool,
}

/// One reading: what the client used and waited for over `[from, to)`, per second of it.
#[derive(Debug, Clone, Copy)]
struct Interval {
    from: Instant,
    to: Instant,
    rates: ClientSecond,
}

impl ClientTimeline {
    /// An empty timeline of a measured run that begins at `from`, for a process that may use
    /// [`available_parallelism`](std::thread::available_parallelism) cores.
    pub fn new(from: Instant) -> Self {
        ClientTimeline {
            cores: std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64),
            from,
            intervals: Mutex::new(VecDeque::new()),
            done: AtomicBool::new(false),
        }
    }

    /// The cores the client may use (its CPU affinity and cgroup quota).
    pub fn cores(&self) -> f64 {
        self.cores
    }

    /// Second `second` (from 1), once readings cover it (or the sampler is done): the
    /// time-weighted mean of the readings it overlaps. `None` before, or when none does.
    pub fn get(&self, second: u64) -> Option<ClientSecond> {
        let end = self.from + Duration::from_secs(second);
        let start = end.checked_sub(Duration::from_secs(1))?;
        let intervals = self.intervals.lock();
        let covered = intervals.back().is_some_and(|last| last.to >= end);
        if !covered && !self.done.load(Ordering::Acquire) {
            return None;
        }
        let (mut weight, mut cpu, mut wait_weight, mut wait) = (0.0, 0.0, 0.0, 0.0);
        for iv in intervals.iter() {
            let overlap = iv
                .to
                .min(end)
                .saturating_duration_since(iv.from.max(start))
                .as_secs_f64();
            if overlap <= 0.0 {
                continue;
            }
            weight += overlap;
            cpu += overlap * iv.rates.cpu_cores;
            if let Some(w) = iv.rates.wait_ns {
                wait_weight += overlap;
                wait += overlap * w;
            }
        }
        (weight > 0.0).then(|| ClientSecond {
            cpu_cores: cpu / weight,
            wait_ns: (wait_weight > 0.0).then(|| wait / wait_weight),
        })
    }

    /// Forget the readings that end before second `second` (from 1) begins: the judge is
    /// done with them, and memory stays flat over a long run.
    pub fn forget_before(&self, second: u64) {
        let start = self.from + Duration::from_secs(second.saturating_sub(1));
        let mut intervals = self.intervals.lock();
        while intervals.front().is_some_and(|iv| iv.to <= start) {
            intervals.pop_front();
        }
    }

    /// Read the process about once a second, on deadlines 1 s, 2 s, ... after the start of
    /// the measured run, until `stop` receives (or every sender is gone); then read the last,
    /// partial interval.
    pub fn sample(&self, stop: &Receiver<()>) {
        let mut sampler = Sampler::new();
        let stopped = |deadline: Instant| {
            !matches!(
                stop.recv_timeout(deadline.saturating_duration_since(Instant::now())),
                Err(RecvTimeoutError::Timeout)
            )
        };
        // The baseline, when the measured run begins (after any warm-up).
        if self.from > Instant::now() && stopped(self.from) {
            self.done.store(true, Ordering::Release);
            return;
        }
        let _ = sampler.read();
        let mut next = self.from + Duration::from_secs(1);
        loop {
            let stop_now = stopped(next);
            let last_at = sampler.last.as_ref().map(|r| r.at);
            // A last sliver of a second is too short to say anything.
            let sliver = last_at.is_some_and(|at| at.elapsed() < MIN_INTERVAL);
            if !(stop_now && sliver)
                && let (Some(from), Some(rates)) = (last_at, sampler.read())
                && let Some(to) = sampler.last.as_ref().map(|r| r.at)
            {
                self.intervals
                    .lock()
                    .push_back(Interval { from, to, rates });
            }
            if stop_now {
                self.done.store(true, Ordering::Release);
                return;
            }
            next += Duration::from_secs(1);
            // After a late reading (the sampler waited for a CPU), the next a second later.
            let now = Instant::now();
            if next < now {
                next = now + Duration::from_secs(1);
            }
        }
    }
}

/// One reading of what the process used so far.
struct Reading {
    at: Instant,
    cpu_s: f64,
}

/// Reads the process's CPU time and its user threads' run-queue wait.
struct Sampler {
    last: Option<Reading>,
    /// Per thread of the process: its run-queue wait (ns) at the last reading (`u64::MAX`
    /// before its first), or `None` for a thread that is not a user thread (the collector's
    /// own polling is not a request's wait).
    waits: HashMap<u32, Option<u64>>,
    /// False once schedstat could not be read: the CPU signal alone is used.
    schedstat: bool,
    /// The process's name (`/proc/self/comm`), which a thread has until it names itself.
    process_name: String,
}

impl Sampler {
    fn new() -> Self {
        Sampler {
            last: None,
            waits: HashMap::new(),
            schedstat: cfg!(target_os = "linux"),
            process_name: std::fs::read_to_string("/proc/self/comm").unwrap_or_default(),
        }
    }

    /// Read now: what was used and waited for since the last reading, per second of it
    /// (`None` on the first reading, or when `getrusage` fails).
    fn read(&mut self) -> Option<ClientSecond> {
        let now = own_usage().map(|(user, system, _)| Reading {
            at: Instant::now(),
            cpu_s: user + system,
        });
        let wait_ns = self.wait_since_last();
        let second = match (&now, &self.last) {
            (Some(now), Some(last)) => {
                let wall = now.at.saturating_duration_since(last.at).as_secs_f64();
                (wall > 0.0).then(|| ClientSecond {
                    cpu_cores: (now.cpu_s - last.cpu_s).max(0.0) / wall,
                    wait_ns: wait_ns.map(|ns| ns as f64 / wall),
                })
            }
            _ => None,
        };
        self.last = now;
        second
    }

    /// The threads' run-queue wait since the last call, nanoseconds, scaled to every thread;
    /// `None` where schedstat cannot be read.
    fn wait_since_last(&mut self) -> Option<u64> {
        if !self.schedstat {
            return None;
        }
        let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
            self.schedstat = false;
            return None;
        };
        let mut tids: Vec<u32> = dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        if tids.is_empty() {
            self.schedstat = false;
            return None;
        }
        tids.sort_unstable();
        // An evenly spaced sample of the threads, the same every second while they live.
        let stride = tids.len().div_ceil(MAX_THREADS_READ).max(1);
        let (mut sampled, mut users, mut read) = (0usize, 0usize, 0usize);
        let mut total_ns = 0u64;
        let mut buf = String::with_capacity(64);
        for &tid in tids.iter().step_by(stride) {
            sampled += 1;
            // Only user threads: a thread's name says whether it is one. A thread names itself
            // when it first runs (until then it has the process's name), so a thread is
            // classed for good only once it has a name of its own.
            if !self.waits.contains_key(&tid) {
                let comm = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"));
                match comm {
                    Ok(name) if name.starts_with(USER_THREAD) => {
                        self.waits.insert(tid, Some(u64::MAX));
                    }
                    Ok(name) if name != self.process_name => {
                        self.waits.insert(tid, None);
                    }
                    _ => continue,
                }
            }
            if self.waits.get(&tid) == Some(&None) {
                continue;
            }
            users += 1;
            buf.clear();
            let path = format!("/proc/self/task/{tid}/schedstat");
            let Ok(mut f) = std::fs::File::open(&path) else {
                continue; // the thread ended
            };
            if std::io::Read::read_to_string(&mut f, &mut buf).is_err() {
                continue;
            }
            // `on-CPU ns, run-queue wait ns, timeslices`.
            let Some(wait) = buf.split_whitespace().nth(1).and_then(|w| w.parse().ok()) else {
                self.schedstat = false;
                return None;
            };
            // u64::MAX: first read of this thread, no interval yet.
            if let Some(before) = self.waits.insert(tid, Some(wait)).flatten()
                && before != u64::MAX
            {
                total_ns += wait.saturating_sub(before);
                read += 1;
            }
        }
        if read == 0 {
            // No user thread read twice (they have ended): unknown, not zero.
            return None;
        }
        // The user threads of the whole process, estimated from the sample's share of them.
        let all = tids.len() as f64 * users as f64 / sampled as f64;
        Some((total_ns as f64 * all / read as f64) as u64)
    }
}

/// The collector's judge: each closed second, with the client's reading of it, saturated or
/// not; consecutive saturated seconds make one span.
#[derive(Debug)]
pub struct SaturationJudge {
    timeline: std::sync::Arc<ClientTimeline>,
    /// Closed seconds whose reading has not come yet: (second, requests, mean latency µs).
    pending: VecDeque<(u64, u64, Option<f64>)>,
    spans: Vec<SaturatedSpan>,
}

impl SaturationJudge {
    /// A judge of the readings in `timeline`.
    pub fn new(timeline: std::sync::Arc<ClientTimeline>) -> Self {
        SaturationJudge {
            timeline,
            pending: VecDeque::new(),
            spans: Vec::new(),
        }
    }

    /// Second `second` (from 1) closed with `requests` completed at a mean latency of
    /// `latency_mean_us`: judge it, and any second before it, once its reading is there.
    pub fn second_closed(&mut self, second: u64, requests: u64, latency_mean_us: Option<f64>) {
        self.pending.push_back((second, requests, latency_mean_us));
        while let Some(&(second, requests, latency)) = self.pending.front()
            && let Some(reading) = self.timeline.get(second)
        {
            self.pending.pop_front();
            self.judge(second, requests, latency, reading);
            self.timeline.forget_before(second + 1);
        }
        // A sampler that stopped reading leaves nothing to wait for.
        while self.pending.len() > MAX_PENDING {
            self.pending.pop_front();
        }
    }

    fn judge(&mut self, second: u64, requests: u64, latency_us: Option<f64>, r: ClientSecond) {
        let wait_ms = r
            .wait_ns
            .filter(|_| requests > 0)
            .map(|ns| ns / 1e6 / requests as f64);
        let latency_ms = latency_us.map(|us| us / 1e3);
        if verdict(r.cpu_cores, self.timeline.cores, wait_ms, latency_ms) {
            self.extend(second, r.cpu_cores, wait_ms, latency_ms);
        }
    }

    fn extend(&mut self, second: u64, cpu: f64, wait_ms: Option<f64>, latency_ms: Option<f64>) {
        let r3 = |x: f64| (x * 1e3).round() / 1e3;
        match self.spans.last_mut() {
            Some(s) if s.to_s + 1 == second => {
                s.to_s = second;
                s.cpu_cores_max = s.cpu_cores_max.max(r3(cpu));
                // The longest wait, and the latency of its own second beside it.
                if wait_ms.is_some_and(|w| s.queue_wait_ms_max.is_none_or(|m| r3(w) > m)) {
                    s.queue_wait_ms_max = wait_ms.map(r3);
                    s.latency_mean_ms = latency_ms.map(r3);
                }
            }
            _ => self.spans.push(SaturatedSpan {
                from_s: second,
                to_s: second,
                cores: self.timeline.cores,
                cpu_cores_max: r3(cpu),
                queue_wait_ms_max: wait_ms.map(r3),
                latency_mean_ms: latency_ms.map(r3),
            }),
        }
    }

    /// The saturated spans so far, oldest first.
    pub fn spans(&self) -> &[SaturatedSpan] {
        &self.spans
    }

    /// The saturated spans, once the run (and the sampler) stopped: the seconds still waiting
    /// are judged with what was read.
    pub fn into_spans(mut self) -> Vec<SaturatedSpan> {
        while let Some((second, requests, latency)) = self.pending.pop_front() {
            if let Some(reading) = self.timeline.get(second) {
                self.judge(second, requests, latency, reading);
            }
        }
        self.spans
    }
}

/// Is a second saturated: `cpu_cores` used of `cores`, and a mean run-queue wait of `wait_ms`
/// per request against a mean latency of `latency_ms`?
pub fn verdict(cpu_cores: f64, cores: f64, wait_ms: Option<f64>, latency_ms: Option<f64>) -> bool {
    let cpu = cpu_cores >= CPU_SATURATED * cores;
    let floor_ms = WAIT_FLOOR.as_secs_f64() * 1e3;
    let queue = match (wait_ms, latency_ms) {
        (Some(w), Some(l)) => w >= floor_ms && w >= WAIT_SATURATED * l,
        _ => false,
    };
    cpu || queue
}

/// The spans of several runs as one list, oldest first, overlapping or touching spans joined
/// (their worst figures kept).
pub fn merge_spans(lists: &[&[SaturatedSpan]]) -> Vec<SaturatedSpan> {
    let mut all: Vec<SaturatedSpan> = lists.iter().flat_map(|l| l.iter().copied()).collect();
    all.sort_by_key(|s| (s.from_s, s.to_s));
    let mut out: Vec<SaturatedSpan> = Vec::new();
    for s in all {
        match out.last_mut() {
            Some(last) if s.from_s <= last.to_s + 1 => {
                last.to_s = last.to_s.max(s.to_s);
                last.cores = last.cores.max(s.cores);
                last.cpu_cores_max = last.cpu_cores_max.max(s.cpu_cores_max);
                if s.queue_wait_ms_max
                    .is_some_and(|w| last.queue_wait_ms_max.is_none_or(|m| w > m))
                {
                    last.queue_wait_ms_max = s.queue_wait_ms_max;
                    last.latency_mean_ms = s.latency_mean_ms;
                }
            }
            _ => out.push(s),
        }
    }
    out
}

/// The warning, in words: `the client was saturated in seconds 12–40 and second 55: ...`;
/// `None` without saturated spans.
pub fn warning_words(spans: &[SaturatedSpan]) -> Option<String> {
    const LISTED: usize = 3;
    let first = spans.first()?;
    let mut when: Vec<String> = spans
        .iter()
        .take(LISTED)
        .map(|s| s.seconds_words())
        .collect();
    if spans.len() > LISTED {
        when.push(format!("{} more spans", spans.len() - LISTED));
    }
    let seconds: u64 = spans.iter().map(|s| s.to_s + 1 - s.from_s).sum();
    let cpu = spans.iter().map(|s| s.cpu_cores_max).fold(0.0, f64::max);
    // The longest wait of any span, with the mean latency of its own second.
    let worst = spans
        .iter()
        .filter(|s| s.queue_wait_ms_max.is_some())
        .max_by(|a, b| {
            a.queue_wait_ms_max
                .partial_cmp(&b.queue_wait_ms_max)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    let (wait, latency) = (
        worst.and_then(|s| s.queue_wait_ms_max),
        worst.and_then(|s| s.latency_mean_ms),
    );
    let cores = first.cores;
    let mut why = format!(
        "it used up to {cpu:.2} of its {} {}",
        crate::parse::format_rate(cores),
        if cores == 1.0 { "core" } else { "cores" }
    );
    // A wait that would print as 0.00 ms says nothing.
    if let Some(w) = wait.filter(|w| *w >= 0.005) {
        why.push_str(&format!(
            ", and its threads waited for a CPU up to {w:.2} ms per request (sending it and \
             reading its answer)"
        ));
        if let Some(l) = latency {
            why.push_str(&format!(", in a second whose mean latency was {l:.2} ms"));
        }
    }
    Some(format!(
        "the client was saturated in {} ({}): {why}; latency there includes qpsbench's own \
         queueing. It needs more CPU than it had: give it more cores or a machine of its own \
         (not the target's), or ask for less (fewer users, a lower --rps)",
        join_words(&when),
        crate::parse::count_of(seconds, "second", "seconds"),
    ))
}

fn join_words(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_is_saturated_by_cpu_or_by_waiting_for_one() {
        // CPU: 0.8 of the usable cores.
        assert!(verdict(0.85, 1.0, None, None));
        assert!(!verdict(0.75, 1.0, None, None));
        assert!(!verdict(1.5, 2.0, Some(0.0), Some(1.0)));
        assert!(verdict(1.6, 2.0, Some(0.0), Some(1.0)));
        // Waiting: 20% of the mean latency and at least the floor.
        assert!(verdict(0.3, 2.0, Some(2.0), Some(10.0)));
        assert!(!verdict(0.3, 2.0, Some(1.9), Some(10.0)));
        // A fast request's few microseconds of scheduling is not saturation.
        assert!(!verdict(0.3, 2.0, Some(0.1), Some(0.2)));
        assert!(!verdict(0.3, 2.0, Some(0.49), Some(0.6)));
        assert!(verdict(0.3, 2.0, Some(0.5), Some(0.6)));
    }

    fn span(from_s: u64, to_s: u64, cpu: f64, wait: Option<f64>) -> SaturatedSpan {
        SaturatedSpan {
            from_s,
            to_s,
            cores: 1.0,
            cpu_cores_max: cpu,
            queue_wait_ms_max: wait,
            latency_mean_ms: wait.map(|w| w * 2.0),
        }
    }

    /// A judge of readings of one second each, from `from`.
    fn judge_of(cores: f64, readings: &[ClientSecond]) -> SaturationJudge {
        let from = Instant::now();
        let timeline = ClientTimeline {
            cores,
            from,
            intervals: Mutex::new(VecDeque::new()),
            done: AtomicBool::new(false),
        };
        for (i, r) in readings.iter().enumerate() {
            push(&timeline, i as u64, 1.0, *r);
        }
        SaturationJudge::new(std::sync::Arc::new(timeline))
    }

    /// A reading of `len_s` seconds from `at_s` seconds after the timeline's start.
    fn push(t: &ClientTimeline, at_s: u64, len_s: f64, rates: ClientSecond) {
        let from = t.from + Duration::from_secs(at_s);
        t.intervals.lock().push_back(Interval {
            from,
            to: from + Duration::from_secs_f64(len_s),
            rates,
        });
    }

    fn reading(cpu_cores: f64, wait_ms_per_s: f64) -> ClientSecond {
        ClientSecond {
            cpu_cores,
            wait_ns: Some(wait_ms_per_s * 1e6),
        }
    }

    #[test]
    fn consecutive_saturated_seconds_make_one_span_with_their_worst_figures() {
        // One core; 100 requests a second at a mean of 10 ms.
        let mut judge = judge_of(
            1.0,
            &[
                reading(0.2, 0.0),
                reading(0.95, 300.0), // CPU and 3 ms a request
                reading(0.5, 250.0),  // 2.5 ms a request: over 20% of 10 ms
                reading(0.5, 100.0),  // 1 ms: kept up
                reading(0.91, 0.0),   // CPU
            ],
        );
        for second in 1..=5 {
            judge.second_closed(second, 100, Some(10_000.0 + second as f64));
        }
        // Second 6 has no reading yet: judged at the end, if it comes.
        judge.second_closed(6, 100, Some(10_000.0));
        assert_eq!(
            judge.spans(),
            &[
                SaturatedSpan {
                    from_s: 2,
                    to_s: 3,
                    cores: 1.0,
                    cpu_cores_max: 0.95,
                    queue_wait_ms_max: Some(3.0),
                    // The latency of second 2, whose wait was the longest.
                    latency_mean_ms: Some(10.002),
                },
                SaturatedSpan {
                    from_s: 5,
                    to_s: 5,
                    cores: 1.0,
                    cpu_cores_max: 0.91,
                    queue_wait_ms_max: Some(0.0),
                    latency_mean_ms: Some(10.005),
                },
            ]
        );
        push(&judge.timeline, 5, 1.0, reading(1.0, 0.0));
        let spans = judge.into_spans();
        assert_eq!((spans[1].from_s, spans[1].to_s), (5, 6));
    }

    #[test]
    fn a_second_is_judged_once_its_reading_comes() {
        let mut judge = judge_of(2.0, &[]);
        judge.second_closed(1, 10, Some(1000.0));
        judge.second_closed(2, 10, Some(1000.0));
        assert!(judge.spans().is_empty());
        push(&judge.timeline, 0, 1.0, reading(1.9, 0.0));
        push(&judge.timeline, 1, 1.0, reading(0.1, 0.0));
        judge.second_closed(3, 10, Some(1000.0));
        assert_eq!(judge.spans().len(), 1);
        assert_eq!((judge.spans()[0].from_s, judge.spans()[0].to_s), (1, 1));
        // Judged seconds' readings are forgotten.
        assert_eq!(judge.timeline.intervals.lock().len(), 0);
        // Second 3 waits; the sampler is done without a reading of it: nothing is made up.
        judge.timeline.done.store(true, Ordering::Release);
        assert_eq!(judge.into_spans().len(), 1);
    }

    #[test]
    fn a_late_reading_is_shared_by_the_seconds_it_covers_by_their_overlap() {
        let t = ClientTimeline::new(Instant::now());
        // 0-0.5 s at 0.2 cores, then 0.5-2.5 s (a late reading) at 1.0.
        t.intervals.lock().push_back(Interval {
            from: t.from,
            to: t.from + Duration::from_millis(500),
            rates: reading(0.2, 0.0),
        });
        assert_eq!(t.get(1), None, "second 1 is not covered yet");
        push(&t, 0, 0.0, reading(0.0, 0.0)); // an empty reading changes nothing
        t.intervals.lock().push_back(Interval {
            from: t.from + Duration::from_millis(500),
            to: t.from + Duration::from_millis(2500),
            rates: ClientSecond {
                cpu_cores: 1.0,
                wait_ns: None,
            },
        });
        let first = t.get(1).unwrap();
        assert!((first.cpu_cores - 0.6).abs() < 1e-9, "{first:?}");
        assert_eq!(
            first.wait_ns,
            Some(0.0),
            "only the first half knew its wait"
        );
        assert_eq!(t.get(2).unwrap().cpu_cores, 1.0);
        assert_eq!(t.get(2).unwrap().wait_ns, None);
        assert_eq!(t.get(3), None);
        t.done.store(true, Ordering::Release);
        // Half of second 3 is covered: its mean is that half's.
        assert_eq!(t.get(3).unwrap().cpu_cores, 1.0);
        assert_eq!(t.get(4), None);
        t.forget_before(3);
        assert_eq!(t.intervals.lock().len(), 1);
    }

    #[test]
    fn the_warning_names_the_seconds_and_why() {
        assert_eq!(warning_words(&[]), None);
        let w = warning_words(&[span(12, 40, 0.98, Some(4.2)), span(55, 55, 0.5, None)]).unwrap();
        assert!(
            w.starts_with("the client was saturated in seconds 12–40 and second 55 (30 seconds)"),
            "{w}"
        );
        assert!(w.contains("up to 0.98 of its 1 core"), "{w}");
        assert!(
            w.contains("waited for a CPU up to 4.20 ms per request"),
            "{w}"
        );
        assert!(w.contains("a second whose mean latency was 8.40 ms"), "{w}");
        // A wait that would read 0.00 ms is not told (the CPU alone is the reason).
        let w = warning_words(&[span(3, 3, 0.99, Some(0.004))]).unwrap();
        assert!(w.contains("up to 0.99 of its 1 core;"), "{w}");
        assert!(!w.contains("waited"), "{w}");
        // The longest wait is told with its own second's latency, not another's.
        let w = warning_words(&[span(1, 1, 0.9, Some(1.0)), span(5, 5, 0.9, Some(3.0))]).unwrap();
        assert!(
            w.contains("up to 3.00 ms per request") && w.contains("was 6.00 ms"),
            "{w}"
        );
        let many: Vec<_> = (0..5)
            .map(|i| span(i * 10, i * 10 + 1, 1.0, None))
            .collect();
        let w = warning_words(&many).unwrap();
        assert!(
            w.contains("seconds 0–1, seconds 10–11, seconds 20–21 and 2 more spans (10 seconds)"),
            "{w}"
        );
    }

    #[test]
    fn spans_of_several_runs_join_where_they_meet() {
        let a = [span(1, 3, 0.9, Some(1.0)), span(10, 10, 0.95, None)];
        let b = [span(4, 5, 0.99, Some(2.0))];
        let m = merge_spans(&[&a, &b]);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].from_s, m[0].to_s), (1, 5));
        assert_eq!(m[0].cpu_cores_max, 0.99);
        assert_eq!(m[0].queue_wait_ms_max, Some(2.0));
        assert_eq!((m[1].from_s, m[1].to_s), (10, 10));
    }

    #[test]
    fn the_sampler_reads_a_second_of_a_busy_thread_and_the_partial_one_after_it() {
        let from = Instant::now();
        let timeline = std::sync::Arc::new(ClientTimeline::new(from));
        let (stop, stopped) = crossbeam_channel::bounded::<()>(1);
        let t = timeline.clone();
        let sampler = std::thread::spawn(move || t.sample(&stopped));
        // Busy for 1.3 s: one full second and a partial one.
        let mut x = 0u64;
        while from.elapsed() < Duration::from_millis(1300) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        stop.send(()).unwrap();
        sampler.join().unwrap();
        assert!(timeline.done.load(Ordering::Acquire));
        let seconds: Vec<ClientSecond> = (1..=2).filter_map(|s| timeline.get(s)).collect();
        assert_eq!(seconds.len(), 2, "{seconds:?}");
        // The busy loop shows as CPU time (at least a tenth of a core: the test may be
        // descheduled on a loaded machine), never more than the usable cores.
        for s in &seconds {
            assert!(
                s.cpu_cores >= 0.1 && s.cpu_cores <= timeline.cores() + 0.05,
                "{s:?}"
            );
        }
    }
}
