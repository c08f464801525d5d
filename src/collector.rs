//! The channel's only consumer: owns every statistic, prints the per-second line, and hands the
//! measured windows back when the run stops.

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use crate::config::schedule::Schedule;
use crate::sample::Sample;
use crate::stats::abort::{AbortWindow, Aborted};
use crate::stats::bucket::Bucket;
use crate::stats::rows::SecondReport;
use crate::stats::saturation::{ClientTimeline, SaturatedSpan, SaturationJudge};
use crate::stream::ItlBatch;

/// How long the collector naps when the channel is empty.
const POLL_NAP: Duration = Duration::from_millis(1);

/// A last window shorter than this is added to the second before it rather than reported on
/// its own: a rate over a sliver of time (the few milliseconds in which a timed run's in-flight
/// requests drain) is noise, not a measurement.
pub const SHORTEST_LAST_WINDOW: Duration = Duration::from_millis(500);

/// The most recent seconds kept one row each: the last hour of a run is at full resolution.
pub const FULL_RESOLUTION_S: u64 = 3600;

/// Seconds older than [`FULL_RESOLUTION_S`] are kept as windows of this many seconds, each the
/// exact sum of its seconds (HdrHistograms add), so that a 24-hour run keeps 3,600 + 1,380
/// rows rather than 86,400.
pub const COARSE_WINDOW_S: u64 = 60;

/// What flows to the collector.
#[derive(Debug)]
pub enum Event {
    /// A finished request.
    Sample(Sample),
    /// Inter-token gaps of a streamed response, measured by the user thread before `at` (sent
    /// when the batch is full and before the request's sample; fixed size, no allocation).
    Itl {
        stage: u32,
        at: Instant,
        batch: ItlBatch,
    },
    /// A stage began.
    Stage { index: usize, at: Instant },
    /// The run is over: drain what has arrived and report.
    Stop { at: Instant, interrupted: bool },
}

/// What is done with each one-second row as it closes, besides keeping it.
pub type SecondSink = Box<dyn FnMut(&SecondReport) + Send>;

/// What is done with each sample as the collector records it (warm-up included), on the
/// collector thread: never in a user thread.
pub type SampleSink = Box<dyn FnMut(&Sample) + Send>;

/// What is done with each batch of inter-token gaps (stage, microseconds) as the collector
/// records it (warm-up included), on the collector thread.
pub type ItlSink = Box<dyn FnMut(u32, &[u32]) + Send>;

/// Where the collector hands what it sees as it sees it, besides keeping it.
#[derive(Default)]
pub struct Sinks {
    /// Each closed one-second row, as it closes (the live line, the live files).
    pub on_second: Option<SecondSink>,
    /// Each sample, as it is recorded.
    pub on_sample: Option<SampleSink>,
    /// Each batch of inter-token gaps, as it is recorded.
    pub on_itl: Option<ItlSink>,
}

/// How the collector behaves.
pub struct CollectorSetup {
    pub start: Instant,
    /// The load schedule, for the user count of each second.
    pub schedule: Schedule,
    pub stages: usize,
    pub paced: bool,
    /// With `--requests N`: tell the controller when N samples have arrived.
    pub requests_limit: Option<u64>,
    pub done: Sender<()>,
    /// Called with each closed one-second row and each sample (the live line, live files).
    pub sinks: Sinks,
    /// Keep each second's serialized histograms (an output needs them).
    pub second_histograms: bool,
    /// Per-target rows and retry counts (`--targets`, `--retries`).
    pub traffic: crate::stats::traffic::TrafficStats,
    /// `--abort-on`: judged as each second closes; when one holds, the run is stopped (through
    /// `done`) and [`Measured::aborted`] says why.
    pub abort: Option<AbortWindow>,
    /// The client's own load, read each second by a sampler thread: judged as each second
    /// closes ([`crate::stats::saturation`]).
    pub client: Option<std::sync::Arc<ClientTimeline>>,
    /// `--goodput`: each request is judged as it is recorded.
    pub goodput: Option<crate::stats::goodput::Goodput>,
}

/// A stage's bucket and when it began.
#[derive(Debug)]
pub struct StageWindow {
    pub bucket: Bucket,
    pub started: Option<Instant>,
}

/// Everything measured, handed back at the end.
#[derive(Debug)]
pub struct Measured {
    pub total: Bucket,
    pub stages: Vec<StageWindow>,
    pub seconds: Vec<SecondReport>,
    pub received: u64,
    pub end: Instant,
    pub interrupted: bool,
    /// Per-target rows and retry counts.
    pub traffic: crate::stats::traffic::TrafficStats,
    /// The `--abort-on` threshold that stopped the run.
    pub aborted: Option<Aborted>,
    /// The seconds in which the client itself was saturated ([`crate::stats::saturation`]);
    /// `None` when the client's load was not read.
    pub client_saturation: Option<Vec<SaturatedSpan>>,
}

/// Run the collector until a `Stop` event (or every sender is gone).
pub fn collect(rx: Receiver<Event>, setup: CollectorSetup) -> Measured {
    let mut c = Collector {
        total: Bucket::new(setup.paced),
        stages: (0..setup.stages)
            .map(|_| StageWindow {
                bucket: Bucket::new(setup.paced),
                started: None,
            })
            .collect(),
        second: Bucket::new(false),
        closed: Bucket::new(false),
        second_index: 0,
        seconds: Vec::new(),
        window: Bucket::new(false),
        windows: std::collections::VecDeque::new(),
        coarse_rows: 0,
        aborted: None,
        received: 0,
        client: setup.client.clone().map(SaturationJudge::new),
        setup,
    };
    loop {
        let boundary = c.boundary();
        // Poll, never block: a receiver parked in `recv` makes every sender pay a futex wake-up
        // (and crossbeam's spin-then-yield before parking), which on a busy client costs more
        // than this thread's short naps. Samples wait at most POLL_NAP; the live line is not
        // delayed by more than that either.
        let event = match rx.try_recv() {
            Ok(ev) => Ok(ev),
            Err(TryRecvError::Empty) => {
                let now = Instant::now();
                if now < boundary {
                    std::thread::sleep(POLL_NAP.min(boundary - now));
                    continue;
                }
                Err(RecvTimeoutError::Timeout)
            }
            Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
        };
        match event {
            Ok(Event::Sample(s)) => {
                if s.end >= boundary {
                    c.close_seconds_until(s.end);
                }
                c.record(&s);
            }
            Ok(Event::Itl { stage, at, batch }) => {
                if at >= boundary {
                    c.close_seconds_until(at);
                }
                c.record_itl(stage, &batch);
            }
            Ok(Event::Stage { index, at }) => {
                if let Some(w) = c.stages.get_mut(index) {
                    w.started.get_or_insert(at);
                }
            }
            Ok(Event::Stop { at, interrupted }) => {
                // Samples already queued finished before the stop: keep them, each in its second.
                while let Ok(ev) = rx.try_recv() {
                    match ev {
                        Event::Sample(s) => {
                            if s.end >= c.boundary() {
                                c.close_seconds_until(s.end.min(at));
                            }
                            c.record(&s);
                        }
                        Event::Itl {
                            stage,
                            at: t,
                            batch,
                        } => {
                            if t >= c.boundary() {
                                c.close_seconds_until(t.min(at));
                            }
                            c.record_itl(stage, &batch);
                        }
                        _ => {}
                    }
                }
                return c.finish(at, interrupted);
            }
            Err(RecvTimeoutError::Timeout) => c.close_seconds_until(Instant::now()),
            Err(RecvTimeoutError::Disconnected) => return c.finish(Instant::now(), false),
        }
    }
}

struct Collector {
    total: Bucket,
    stages: Vec<StageWindow>,
    second: Bucket,
    /// The last closed second's window, kept for [`SHORTEST_LAST_WINDOW`].
    closed: Bucket,
    second_index: u64,
    /// The rows so far: `coarse_rows` windows of [`COARSE_WINDOW_S`], then one row a second.
    seconds: Vec<SecondReport>,
    /// The coarse window being filled, a second at a time.
    window: Bucket,
    /// Finished coarse windows whose seconds are still kept one row each (at most about
    /// `FULL_RESOLUTION_S / COARSE_WINDOW_S + 1`).
    windows: std::collections::VecDeque<SecondReport>,
    coarse_rows: usize,
    aborted: Option<Aborted>,
    received: u64,
    /// The client's own CPU and run-queue wait, judged as each second closes.
    client: Option<SaturationJudge>,
    setup: CollectorSetup,
}

impl Collector {
    /// When the measured run starts: after the warm-up, if any.
    fn measured_start(&self) -> Instant {
        self.setup.start + self.setup.schedule.warmup().unwrap_or_default()
    }

    /// Is `stage` the warm-up (kept out of everything but its own window)?
    fn is_warmup(&self, stage: u32) -> bool {
        stage == 0 && self.setup.schedule.warmup().is_some()
    }

    /// End of the current one-second window.
    fn boundary(&self) -> Instant {
        self.measured_start() + Duration::from_secs(self.second_index + 1)
    }

    /// Users the schedule runs just before `at`: the count of the window ending there (reading
    /// the live count instead would show the next stage at a stage boundary).
    fn users_before(&self, at: Instant) -> usize {
        let t = at.saturating_duration_since(self.setup.start);
        self.setup
            .schedule
            .users_at(t.saturating_sub(Duration::from_micros(1)))
    }

    fn record(&mut self, s: &Sample) {
        self.received += 1;
        if let Some(sink) = &mut self.setup.sinks.on_sample {
            sink(s);
        }
        let good = self.setup.goodput.as_ref().map(|g| g.judge(s));
        if self.is_warmup(s.stage) {
            self.stages[0].bucket.record(s);
            if let Some(good) = good {
                self.stages[0].bucket.record_good(good);
            }
            return;
        }
        self.total.record(s);
        if let Some(w) = self.stages.get_mut(s.stage as usize) {
            w.bucket.record(s);
            if let Some(good) = good {
                w.bucket.record_good(good);
            }
        }
        self.second.record(s);
        if let Some(good) = good {
            self.total.record_good(good);
            self.second.record_good(good);
        }
        // `--requests` counts logical requests: a retried one finishes with its last attempt.
        let finished = self.setup.traffic.record(s);
        if !s.tag.will_retry && Some(finished) == self.setup.requests_limit {
            let _ = self.setup.done.try_send(());
        }
    }

    /// Inter-token gaps: into the run, the stage and the current second.
    fn record_itl(&mut self, stage: u32, batch: &ItlBatch) {
        let gaps = batch.as_slice();
        if let Some(sink) = &mut self.setup.sinks.on_itl {
            sink(stage, gaps);
        }
        if self.is_warmup(stage) {
            self.stages[0].bucket.record_itl(gaps);
            return;
        }
        self.total.record_itl(gaps);
        if let Some(w) = self.stages.get_mut(stage as usize) {
            w.bucket.record_itl(gaps);
        }
        self.second.record_itl(gaps);
    }

    /// Close every one-second window that ends at or before `now`.
    fn close_seconds_until(&mut self, now: Instant) {
        while self.boundary() <= now {
            let users = self.users_before(self.boundary());
            let mut row = SecondReport::from_bucket(
                self.second_index + 1,
                Duration::from_secs(1),
                users,
                &self.second,
            );
            if let Some(judge) = &mut self.client {
                let latency = &self.second.latency;
                judge.second_closed(
                    self.second_index + 1,
                    self.second.requests,
                    (!latency.is_empty()).then(|| latency.mean()),
                );
            }
            if !self.setup.second_histograms {
                row.drop_histograms();
            }
            if let Some(sink) = &mut self.setup.sinks.on_second {
                sink(&row);
            }
            self.seconds.push(row);
            self.coarsen();
            self.judge(users);
            std::mem::swap(&mut self.closed, &mut self.second);
            self.second.clear();
            self.second_index += 1;
        }
    }

    /// `--abort-on`, after second `second_index + 1` closed (still in `self.second`): stop the
    /// run the first time a threshold holds over the window.
    fn judge(&mut self, users: usize) {
        let Some(window) = &mut self.setup.abort else {
            return;
        };
        if self.aborted.is_none()
            && let Some(a) = window.push(self.second_index + 1, &self.second, users)
        {
            self.aborted = Some(a);
            let _ = self.setup.done.try_send(());
        }
    }

    /// After second `second_index + 1` closed (still in `self.second`): add it to its coarse
    /// window, finish the window on its last second, and replace the oldest
    /// [`COARSE_WINDOW_S`] one-second rows by their window once more than
    /// [`FULL_RESOLUTION_S`] rows are kept one a second. Memory and report size then grow by
    /// one row a minute, not one a second.
    fn coarsen(&mut self) {
        let closed = self.second_index + 1;
        // Two windows of one run: the same shape, so adding cannot fail.
        let _ = self.window.add(&self.second);
        if closed.is_multiple_of(COARSE_WINDOW_S) {
            // The most users any of its seconds ran.
            let from = self.seconds.len().saturating_sub(COARSE_WINDOW_S as usize);
            let users = self.seconds[from..].iter().map(|r| r.users).max();
            let users = users.unwrap_or(0);
            let mut row = SecondReport::from_bucket(
                closed + 1 - COARSE_WINDOW_S,
                Duration::from_secs(COARSE_WINDOW_S),
                users,
                &self.window,
            );
            if !self.setup.second_histograms {
                row.drop_histograms();
            }
            self.windows.push_back(row);
            self.window.clear();
        }
        let fine = (self.seconds.len() - self.coarse_rows) as u64;
        if fine >= FULL_RESOLUTION_S + COARSE_WINDOW_S
            && let Some(window) = self.windows.pop_front()
        {
            let first = self.coarse_rows;
            debug_assert_eq!(self.seconds[first].second, window.second);
            self.seconds
                .splice(first..first + COARSE_WINDOW_S as usize, [window]);
            self.coarse_rows += 1;
        }
    }

    fn finish(mut self, end: Instant, interrupted: bool) -> Measured {
        self.close_seconds_until(end);
        // The last, partial window: without it the series would miss the run's tail. One rule
        // for every output (they all render these rows): a window of half a second or more is
        // its own row, its rates over its own length; a shorter one with something in it is
        // added to the second before it, which then lasts 1 to 1.5 s.
        let window_start = self.measured_start() + Duration::from_secs(self.second_index);
        let partial = end.saturating_duration_since(window_start);
        let fold = partial < SHORTEST_LAST_WINDOW && !self.seconds.is_empty();
        if fold && self.second.requests > 0 {
            let last = self.seconds.pop().expect("not empty");
            // Two windows of one run: the same shape, so adding cannot fail.
            let _ = self.closed.add(&self.second);
            let mut row = SecondReport::from_bucket(
                last.second,
                Duration::from_secs(1) + partial,
                last.users,
                &self.closed,
            );
            if !self.setup.second_histograms {
                row.drop_histograms();
            }
            self.seconds.push(row);
        } else if !fold && (self.second.requests > 0 || partial >= Duration::from_millis(1)) {
            // The users the schedule ran in this window: a timed run's window ends after the
            // schedule (its in-flight requests drain), where the schedule has none.
            let schedule_end = self.setup.schedule.end().map(|d| self.setup.start + d);
            let users = self.users_before(schedule_end.map_or(end, |e| e.min(end)));
            let mut row =
                SecondReport::from_bucket(self.second_index + 1, partial, users, &self.second);
            if !self.setup.second_histograms {
                row.drop_histograms();
            }
            self.seconds.push(row);
        }
        Measured {
            total: self.total,
            stages: self.stages,
            seconds: self.seconds,
            received: self.received,
            traffic: self.setup.traffic,
            aborted: self.aborted,
            client_saturation: self.client.map(SaturationJudge::into_spans),
            end,
            interrupted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Outcome;
    use crate::stream::{EndReason, StreamStats};

    #[test]
    fn itl_batches_reach_the_run_its_stage_and_its_second() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let (done, _done_rx) = crossbeam_channel::bounded(1);
        let start = Instant::now();
        let setup = CollectorSetup {
            schedule: Schedule::steps(&[1, 2], Duration::from_secs(5)),
            stages: 2,
            done,
            ..setup(start)
        };
        let mut full = ItlBatch::new();
        for i in 0..ItlBatch::CAPACITY as u32 {
            assert_eq!(full.push(10_000 + i), i as usize + 1 == ItlBatch::CAPACITY);
        }
        let mut partial = ItlBatch::new();
        for us in [9_000, 11_000, 0, 12_000, 10_500] {
            partial.push(us);
        }
        for (stage, batch) in [(0, full), (0, full), (1, partial)] {
            tx.send(Event::Itl {
                stage,
                at: start,
                batch,
            })
            .unwrap();
        }
        let stream = StreamStats {
            ttft: Some(Duration::from_millis(50)),
            content_events: 6,
            counted_tokens: 6,
            itl_count: 5,
            end: EndReason::Done,
            ..StreamStats::default()
        };
        tx.send(Event::Sample(Sample {
            stage: 1,
            scheduled: None,
            sent: start,
            first_byte: Some(start),
            end: start + Duration::from_millis(5),
            outcome: Outcome::Status(200),
            bytes: 10,
            stream: Some(stream),
            tag: Default::default(),
        }))
        .unwrap();
        tx.send(Event::Stop {
            at: start + Duration::from_millis(10),
            interrupted: false,
        })
        .unwrap();
        let m = collect(rx, setup);
        let total = m.total.stream.as_ref().expect("streaming seen");
        assert_eq!(total.itl.len(), 2 * ItlBatch::CAPACITY as u64 + 5);
        assert_eq!((total.streams, total.output_tokens), (1, 6));
        let itl = |i: usize| {
            m.stages[i]
                .bucket
                .stream
                .as_ref()
                .map_or(0, |s| s.itl.len())
        };
        assert_eq!((itl(0), itl(1)), (2 * ItlBatch::CAPACITY as u64, 5));
        assert_eq!(m.stages[0].bucket.stream.as_ref().unwrap().streams, 0);
        let second = m.seconds[0]
            .stream
            .as_ref()
            .expect("the second has stream fields");
        assert_eq!(second.gaps, 2 * ItlBatch::CAPACITY as u64 + 5);
        assert_eq!(second.output_tokens, 6);
        // No per-request storage: the histograms hold counts, the values are exact to 0.1%.
        assert_eq!(total.itl.max(), total.itl.highest_equivalent(12_000));
    }

    fn setup(start: Instant) -> CollectorSetup {
        let (done, _) = crossbeam_channel::bounded(1);
        CollectorSetup {
            start,
            schedule: Schedule::steps(&[4], Duration::from_secs(60)),
            stages: 1,
            paced: false,
            requests_limit: None,
            done,
            sinks: Sinks::default(),
            second_histograms: true,
            traffic: crate::stats::traffic::TrafficStats {
                targets: Vec::new(),
                stage_targets: Vec::new(),
                retry: None,
                finished: 0,
            },
            abort: None,
            client: None,
            goodput: None,
        }
    }

    /// Run the collector over `n` samples ending at each of `ends_ms` (ms after the start) and a
    /// stop at `stop_ms`.
    fn series(ends_ms: &[(u64, u64)], stop_ms: u64) -> Measured {
        series_of(
            Schedule::steps(&[4], Duration::from_secs(60)),
            ends_ms,
            stop_ms,
        )
    }

    fn series_of(schedule: Schedule, ends_ms: &[(u64, u64)], stop_ms: u64) -> Measured {
        let (tx, rx) = crossbeam_channel::unbounded();
        let start = Instant::now();
        for &(at_ms, n) in ends_ms {
            for _ in 0..n {
                let end = start + Duration::from_millis(at_ms);
                tx.send(Event::Sample(Sample {
                    stage: 0,
                    scheduled: None,
                    sent: end - Duration::from_micros(100),
                    first_byte: Some(end),
                    end,
                    outcome: Outcome::Status(200),
                    bytes: 2,
                    stream: None,
                    tag: Default::default(),
                }))
                .unwrap();
            }
        }
        tx.send(Event::Stop {
            at: start + Duration::from_millis(stop_ms),
            interrupted: false,
        })
        .unwrap();
        collect(
            rx,
            CollectorSetup {
                schedule,
                ..setup(start)
            },
        )
    }

    /// Issue 13, item 5: the few milliseconds after a timed run's end, in which its in-flight
    /// requests drain, are not a window of their own (a rate over 3 ms is noise: 10 requests
    /// there read as 3,333 req/s); they are added to the second before, which then lasts 1.003 s.
    #[test]
    fn a_short_last_window_is_added_to_the_second_before_it() {
        let m = series(&[(500, 100), (1500, 100), (2500, 100), (3002, 10)], 3003);
        let rows: Vec<(u64, f64, u64)> = m
            .seconds
            .iter()
            .map(|s| (s.second, s.interval_s, s.requests))
            .collect();
        assert_eq!(rows, [(1, 1.0, 100), (2, 1.0, 100), (3, 1.003, 110)]);
        assert_eq!(m.total.requests, 310);
        // The folded row's percentiles come from both windows' histograms.
        let h = crate::stats::hdr::decode_histogram(&m.seconds[2].hdr_latency_us).unwrap();
        assert_eq!(h.len(), 110);
    }

    /// A last window of half a second or more is its own row, its length its own.
    #[test]
    fn a_long_last_window_is_its_own_row() {
        let m = series(&[(500, 100), (1500, 100), (1700, 30)], 1700);
        let rows: Vec<(u64, f64, u64)> = m
            .seconds
            .iter()
            .map(|s| (s.second, s.interval_s, s.requests))
            .collect();
        assert_eq!(rows, [(1, 1.0, 100), (2, 0.7, 130)]);
        // A timed run of 1.7 s whose requests drain until 1.704 s: its last window ran 4 users
        // (the schedule has none after its end, but the window is the schedule's).
        let timed = Schedule::fixed(4, Some(Duration::from_millis(1700)));
        let m = series_of(timed, &[(500, 100), (1500, 100), (1703, 30)], 1704);
        let users: Vec<usize> = m.seconds.iter().map(|s| s.users).collect();
        assert_eq!(users, [4, 4]);
        // And a run shorter than half a second keeps its only window.
        let m = series(&[(100, 5)], 120);
        assert_eq!(m.seconds.len(), 1);
        assert_eq!((m.seconds[0].interval_s, m.seconds[0].requests), (0.12, 5));
    }
}
