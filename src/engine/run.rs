//! One run, wired: spawns one thread per user and the collector, follows the schedule through
//! the ramp gate, and stops on time, on `--requests`, or on interrupt.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::collector::{self, CollectorSetup, Event, Measured, Sinks};
use crate::config::Config;
use crate::engine::gate::Gate;
use crate::engine::gate::control;
use crate::engine::http1::Http1;
use crate::engine::transport::{self, agent_config};
use crate::engine::user;
use crate::stats::saturation::ClientTimeline;

/// User thread stack: small, since thousands of users must fit; TLS handshakes need the room.
pub const USER_STACK: usize = 256 * 1024;

/// A finished (or interrupted) run: what was measured and when.
#[derive(Debug)]
pub struct RunResult {
    pub measured: Measured,
    pub start: Instant,
    pub started_at: std::time::SystemTime,
    /// Requests begun but not finished when the run ended.
    pub in_flight_at_end: u64,
    /// The error and failure samples kept as evidence.
    pub evidence: Vec<crate::traffic::evidence::Evidence>,
    /// With `--rps` (constant arrivals), per schedule stage: slots due before the end that no
    /// user took (see [`crate::engine::limiter::Limiter::unsent_slots`]).
    pub unsent_slots: Option<Vec<u64>>,
    /// The process's own user and system CPU seconds and peak RSS (KiB) when the run ended;
    /// `None` when `getrusage` failed.
    pub usage: Option<(f64, f64, u64)>,
}

/// What a run shows of itself as it goes, to an observer on another thread (the live
/// `/metrics` gauges): handles the engine writes and anyone may read.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// Requests begun: the ramp gate's own count ([`Gate::started`]).
    pub started: Arc<AtomicU64>,
    /// When the load began (after `--start-at`'s wait); unset before.
    pub start: Arc<OnceLock<Instant>>,
}

/// Run the load described by `cfg` until it ends or `interrupt` receives, handing each closed
/// second and each sample to `sinks` on the collector thread as they come, and showing its
/// requests begun and its start in `progress`.
///
/// # Errors
///
/// When the agent configuration is refused (a bad `--proxy`, see [`agent_config`]), a user
/// thread or the collector thread cannot start (the process's thread limit, `ulimit -u`), or
/// the collector thread panics.
pub fn execute(
    cfg: &Config,
    interrupt: &Receiver<()>,
    sinks: Sinks,
    progress: &Progress,
) -> anyhow::Result<RunResult> {
    let mut gate = Gate::new(&cfg.schedule, cfg.arrival, cfg.requests);
    gate.per_user = cfg.iterations;
    gate.started = progress.started.clone();
    let gate = Arc::new(gate);
    let llm = Arc::new(cfg.llm.clone());
    let mut traffic = crate::traffic::run::TrafficRun::with_prompt_tokens(
        &cfg.traffic,
        cfg.llm.rotation.clone(),
        cfg.llm.prompt_tokens,
    );
    // Requests that are the same every time are written once, for every user to send as is.
    traffic.write_wires(|request, body| crate::engine::http1::wire(request, body).ok());
    let traffic = Arc::new(traffic);
    let (tx, rx) = crossbeam_channel::unbounded::<Event>();
    let agent_config = agent_config(cfg).map_err(anyhow::Error::msg)?;
    let connector = transport::SharedConnector::default();
    let resolver = transport::CachedResolver::default();

    for index in 0..cfg.users {
        let user = user::User {
            index,
            gate: gate.clone(),
            tx: tx.clone(),
            agent: transport::agent(&agent_config, &connector, &resolver),
            http1: cfg.proxy.is_none().then(|| {
                Http1::new(
                    transport::output_buffer(cfg),
                    cfg.timeout,
                    resolver.clone(),
                    agent_config.clone(),
                )
            }),
            deadline: cfg.timeout + transport::DEADLINE_SLACK,
            llm: llm.clone(),
            traffic: traffic.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name(format!("{}{index}", crate::stats::saturation::USER_THREAD))
            .stack_size(USER_STACK)
            .spawn(move || user.run());
        if let Err(e) = spawned {
            gate.stop_all();
            anyhow::bail!(
                "could not start user thread {} of {}: {e}; lower --users or raise the \
                 process limits (ulimit -u)",
                index + 1,
                cfg.users
            );
        }
    }

    // Threads are up and parked: now wait for --start-at, so that it is when the load begins.
    let interrupted_early = cfg.start_at.is_some_and(|at| wait_until(at, interrupt));

    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(1);
    let start = Instant::now();
    let _ = progress.start.set(start);
    gate.set_start(start);
    if let Some(length) = cfg.schedule.end() {
        gate.set_end(start + length);
    }
    traffic.start_clock(start);
    let started_at = std::time::SystemTime::now();
    // The client's own load, read once a second of the measured run by a thread of its own.
    let timeline = Arc::new(ClientTimeline::new(
        start + cfg.schedule.warmup().unwrap_or_default(),
    ));
    let (sampler_stop, sampler_stopped) = crossbeam_channel::bounded::<()>(1);
    let sampler = {
        let timeline = timeline.clone();
        std::thread::Builder::new()
            .name("client-load".into())
            .spawn(move || timeline.sample(&sampler_stopped))?
    };
    let setup = CollectorSetup {
        start,
        schedule: cfg.schedule.clone(),
        stages: cfg.schedule.stages().len(),
        paced: cfg.schedule.paced(),
        requests_limit: cfg.requests,
        done: done_tx,
        sinks,
        second_histograms: cfg.keeps_second_histograms(),
        traffic: crate::stats::traffic::TrafficStats::new(
            &cfg.traffic,
            cfg.schedule.paced(),
            cfg.schedule.stages().len(),
        ),
        abort: (!cfg.abort_on.is_empty()).then(|| {
            crate::stats::abort::AbortWindow::new(
                cfg.abort_on.clone(),
                cfg.abort_window,
                cfg.schedule.paced(),
            )
        }),
        client: Some(timeline),
        goodput: cfg.goodput.clone(),
    };
    let collector = std::thread::Builder::new()
        .name("collector".into())
        .spawn(move || collector::collect(rx, setup))?;

    let interrupted = interrupted_early || control(cfg, &gate, &tx, start, interrupt, &done_rx);

    let end = Instant::now();
    gate.stop_all();
    let needed = cfg
        .requests
        .or(cfg.iterations.map(|n| n * cfg.users as u64));
    let unsent_slots = gate
        .limiter
        .as_ref()
        .and_then(|l| l.unsent_slots(end, needed));
    // The last, partial second's reading before the collector judges it.
    drop(sampler_stop);
    let _ = sampler.join();
    let _ = tx.send(Event::Stop {
        at: end,
        interrupted,
    });
    let measured = collector
        .join()
        .map_err(|_| anyhow::anyhow!("the collector thread panicked"))?;
    let in_flight_at_end = gate
        .started
        .load(Ordering::Relaxed)
        .saturating_sub(measured.received);
    Ok(RunResult {
        measured,
        start,
        started_at,
        in_flight_at_end,
        evidence: traffic.take_evidence(),
        unsent_slots,
        usage: crate::stats::saturation::own_usage(),
    })
}

/// Sleep until the wall-clock instant `at`; true when interrupted first.
fn wait_until(at: std::time::SystemTime, interrupt: &Receiver<()>) -> bool {
    // Short naps, so that a clock step (NTP) moves the start with it.
    const NAP: Duration = Duration::from_millis(250);
    loop {
        let left = match at.duration_since(std::time::SystemTime::now()) {
            Ok(left) if !left.is_zero() => left,
            _ => return false,
        };
        match interrupt.recv_timeout(left.min(NAP)) {
            Ok(()) => return true,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(left.min(NAP)),
        }
    }
}
