//! The load engine: spawns one thread per user, opens and closes the ramp gate stage by stage,
//! and stops the run on time, on `--requests`, or on interrupt.

pub mod limiter;
pub mod stream_read;
pub mod transport;
pub mod user;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, never, select};
use parking_lot::{Condvar, Mutex};
use ureq::Agent;
use ureq::tls::TlsConfig;

use crate::collector::{self, CollectorSetup, Event, Measured};
use crate::config::Config;
use crate::config::output::Format;
use crate::traffic::run::DEFAULT_USER_AGENT;
use limiter::Limiter;

/// User thread stack: small, since thousands of users must fit; TLS handshakes need the room.
pub const USER_STACK: usize = 256 * 1024;
/// ureq's per-connection input buffer (its default is 128 KiB). ureq zero-fills its buffers when
/// a connection opens, so every byte here is resident for each connected user.
pub const IO_BUFFER: usize = 16 * 1024;
/// ureq's per-connection output buffer: it holds the request head and body chunks. 8 KiB is
/// what common servers accept as a request head (nginx's default large header buffer).
pub const OUT_BUFFER: usize = 8 * 1024;
/// The largest response head (status line and headers) read; a bigger one is a protocol failure.
pub const MAX_RESPONSE_HEAD: usize = IO_BUFFER - 1;

/// State every user thread and the controller share.
#[derive(Debug)]
pub struct Shared {
    /// Set once: users stop sending.
    pub stop: AtomicBool,
    /// Users with an index below this may send.
    pub active: AtomicUsize,
    /// Index of the current stage, stamped on each sample.
    pub stage: AtomicU32,
    /// Requests begun (to count those still in flight at the end).
    pub started: AtomicU64,
    /// The `--rps` slot clock.
    pub limiter: Option<Limiter>,
    budget: Option<u64>,
    issued: AtomicU64,
    gate: Mutex<()>,
    opened: Condvar,
}

impl Shared {
    /// Shared state for a run with an optional rate and request budget.
    pub fn new(rps: Option<f64>, budget: Option<u64>) -> Self {
        Shared {
            stop: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            stage: AtomicU32::new(0),
            started: AtomicU64::new(0),
            limiter: rps.map(|r| Limiter::new(r, Instant::now())),
            budget,
            issued: AtomicU64::new(0),
            gate: Mutex::new(()),
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
            let mut guard = self.gate.lock();
            if !self.stop.load(Ordering::Relaxed) && index >= self.active.load(Ordering::Relaxed) {
                self.opened.wait(&mut guard);
            }
        }
    }

    /// Take one request from the `--requests` budget; false when it is spent.
    pub fn take_budget(&self) -> bool {
        match self.budget {
            None => true,
            Some(limit) => self.issued.fetch_add(1, Ordering::Relaxed) < limit,
        }
    }

    /// Let the first `users` users send (and park the rest).
    pub fn set_active(&self, users: usize) {
        let _guard = self.gate.lock();
        self.active.store(users, Ordering::Relaxed);
        self.opened.notify_all();
    }

    /// Stop every user.
    pub fn stop_all(&self) {
        let _guard = self.gate.lock();
        self.stop.store(true, Ordering::Relaxed);
        self.opened.notify_all();
    }
}

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
}

/// The output buffer for this run: [`OUT_BUFFER`], or more when the `-H` headers alone need
/// more room (a request head must fit it whole).
fn output_buffer(cfg: &Config) -> usize {
    let t = &cfg.target;
    let head: usize = t.url.len()
        + t.headers.iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum::<usize>()
        // Request line, Host, User-Agent, Accept, Content-Length, a rotated key or token.
        + 4096;
    head.next_power_of_two().max(OUT_BUFFER)
}

/// How much longer than `--timeout` a whole request may take; see [`agent_config`].
pub const DEADLINE_SLACK: Duration = Duration::from_millis(10);

/// The ureq agent configuration; each user builds its own agent (and so its own connection
/// pool) from it.
pub fn agent_config(cfg: &Config) -> Result<ureq::config::Config, String> {
    let t = Some(cfg.timeout);
    let deadline = Some(cfg.timeout + DEADLINE_SLACK);
    let proxy = match &cfg.proxy {
        Some(p) => Some(ureq::Proxy::new(p).map_err(|e| format!("--proxy: {e}"))?),
        None => None,
    };
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(DEFAULT_USER_AGENT)
        .input_buffer_size(IO_BUFFER)
        .output_buffer_size(output_buffer(cfg))
        // A response head must fit the input buffer. ureq's own limit (64 KiB) is above it, so
        // without this a bigger head came back as "peer disconnected" (counted as a reset) or
        // hung until the timeout; now it is a protocol failure, as the limit is.
        .max_response_header_size(MAX_RESPONSE_HEAD)
        .max_idle_connections(2)
        .max_idle_connections_per_host(2)
        // One deadline for the whole request (connect, send, response head, body), and each
        // connect, read or write bounded by the timeout itself. A socket timeout is set with a
        // system call whenever its value changes, and ureq uses the smaller of the per-read
        // limit and what is left of the deadline: left at the bare timeout, what is left
        // changed before every read (2 setsockopt calls per request); a deadline a hair longer
        // lets the per-read value win, unchanged and free, for any request faster than
        // DEADLINE_SLACK. (A global timeout makes ureq's default resolver look up in a thread of
        // its own: that now happens only when the shared cache misses, see transport.rs.)
        .timeout_global(deadline)
        .timeout_connect(t)
        .timeout_per_read(t)
        .timeout_per_write(t)
        .proxy(proxy)
        .tls_config(
            TlsConfig::builder()
                .disable_verification(cfg.insecure)
                .build(),
        )
        .build();
    Ok(config)
}

/// Run the load described by `cfg` until it ends or `interrupt` receives.
pub fn execute(cfg: &Config, interrupt: &Receiver<()>) -> anyhow::Result<RunResult> {
    let shared = Arc::new(Shared::new(cfg.rps, cfg.requests));
    let target = Arc::new(cfg.target.clone());
    let llm = Arc::new(cfg.llm.clone());
    let traffic = Arc::new(crate::traffic::run::TrafficRun::new(&cfg.traffic));
    let (tx, rx) = crossbeam_channel::unbounded::<Event>();
    let agent_config = agent_config(cfg).map_err(anyhow::Error::msg)?;
    let connector = transport::SharedConnector::default();
    let resolver = transport::CachedResolver::default();

    for index in 0..cfg.users {
        let user = user::User {
            index,
            shared: shared.clone(),
            tx: tx.clone(),
            agent: transport::agent(&agent_config, &connector, &resolver),
            target: target.clone(),
            llm: llm.clone(),
            traffic: traffic.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name(format!("user-{index}"))
            .stack_size(USER_STACK)
            .spawn(move || user.run());
        if let Err(e) = spawned {
            shared.stop_all();
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
    let _ = traffic.start.set(start);
    let started_at = std::time::SystemTime::now();
    let setup = CollectorSetup {
        start,
        schedule: cfg.schedule.clone(),
        stages: cfg.schedule.stages().len(),
        paced: cfg.rps.is_some(),
        requests_limit: cfg.requests,
        done: done_tx,
        live: !cfg.quiet,
        second_histograms: cfg
            .outputs
            .iter()
            .any(|o| matches!(o.format, Format::Json | Format::HdrLog)),
        traffic: crate::stats::traffic::TrafficStats::new(&cfg.traffic, cfg.rps.is_some()),
    };
    let collector = std::thread::Builder::new()
        .name("collector".into())
        .spawn(move || collector::collect(rx, setup))?;

    let interrupted = interrupted_early || control(cfg, &shared, &tx, start, interrupt, &done_rx);

    let end = Instant::now();
    shared.stop_all();
    let _ = tx.send(Event::Stop {
        at: end,
        interrupted,
    });
    let measured = collector
        .join()
        .map_err(|_| anyhow::anyhow!("the collector thread panicked"))?;
    let in_flight_at_end = shared
        .started
        .load(Ordering::Relaxed)
        .saturating_sub(measured.received);
    Ok(RunResult {
        measured,
        start,
        started_at,
        in_flight_at_end,
        evidence: traffic.evidence.take(),
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

/// The ramp controller: follow the schedule until it ends; true when interrupted.
fn control(
    cfg: &Config,
    shared: &Shared,
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
            stage = s;
            shared.stage.store(s as u32, Ordering::Relaxed);
            let _ = tx.send(Event::Stage { index: s, at: now });
        }
        let users = schedule.users_at(t);
        if users != active {
            if active == 0
                && let Some(l) = &shared.limiter
            {
                l.restart_at(now);
            }
            shared.set_active(users);
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
