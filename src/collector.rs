//! The channel's only consumer: owns every statistic, prints the per-second line, and hands the
//! measured windows back when the run stops.

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::engine::ramp::Schedule;
use crate::output::live;
use crate::sample::Sample;
use crate::stats::{Bucket, SecondReport};

/// What flows to the collector.
#[derive(Debug)]
pub enum Event {
    /// A finished request.
    Sample(Sample),
    /// A stage began.
    Stage { index: usize, at: Instant },
    /// The run is over: drain what has arrived and report.
    Stop { at: Instant, interrupted: bool },
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
    /// Print the per-second line on stderr.
    pub live: bool,
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
        second_index: 0,
        seconds: Vec::new(),
        received: 0,
        setup,
    };
    loop {
        let boundary = c.boundary();
        match rx.recv_deadline(boundary) {
            Ok(Event::Sample(s)) => {
                if s.end >= boundary {
                    c.close_seconds_until(s.end);
                }
                c.record(&s);
            }
            Ok(Event::Stage { index, at }) => {
                if let Some(w) = c.stages.get_mut(index) {
                    w.started.get_or_insert(at);
                }
            }
            Ok(Event::Stop { at, interrupted }) => {
                // Samples already queued finished before the stop: keep them, each in its second.
                while let Ok(ev) = rx.try_recv() {
                    if let Event::Sample(s) = ev {
                        if s.end >= c.boundary() {
                            c.close_seconds_until(s.end.min(at));
                        }
                        c.record(&s);
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
    second_index: u64,
    seconds: Vec<SecondReport>,
    received: u64,
    setup: CollectorSetup,
}

impl Collector {
    /// End of the current one-second window.
    fn boundary(&self) -> Instant {
        self.setup.start + Duration::from_secs(self.second_index + 1)
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
        self.total.record(s);
        if let Some(w) = self.stages.get_mut(s.stage as usize) {
            w.bucket.record(s);
        }
        self.second.record(s);
        self.received += 1;
        if Some(self.received) == self.setup.requests_limit {
            let _ = self.setup.done.try_send(());
        }
    }

    /// Close every one-second window that ends at or before `now`.
    fn close_seconds_until(&mut self, now: Instant) {
        while self.boundary() <= now {
            let users = self.users_before(self.boundary());
            let row = SecondReport::from_bucket(
                self.second_index + 1,
                Duration::from_secs(1),
                users,
                &self.second,
            );
            if self.setup.live {
                live::print_second(&row);
            }
            self.seconds.push(row);
            self.second.clear();
            self.second_index += 1;
        }
    }

    fn finish(mut self, end: Instant, interrupted: bool) -> Measured {
        self.close_seconds_until(end);
        // The last, partial window: without it the series would miss the run's tail.
        let window_start = self.setup.start + Duration::from_secs(self.second_index);
        let partial = end.saturating_duration_since(window_start);
        if self.second.requests > 0 || partial >= Duration::from_millis(1) {
            let users = self.users_before(end);
            self.seconds.push(SecondReport::from_bucket(
                self.second_index + 1,
                partial,
                users,
                &self.second,
            ));
        }
        Measured {
            total: self.total,
            stages: self.stages,
            seconds: self.seconds,
            received: self.received,
            end,
            interrupted,
        }
    }
}
