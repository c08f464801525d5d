//! Embedded target server (hyper 1 on tokio), used by `qpsbench serve`, `qpsbench demo` and the
//! network tests.
//!
//! Routes (any method; a request body is read and discarded):
//!
//! | route            | answer                                                                 |
//! |------------------|------------------------------------------------------------------------|
//! | `/`              | `hello world\n`, after `delay` + random `[0, jitter]`; 500 for `error_rate` of them |
//! | `/delay/{ms}`    | 200 after `ms` milliseconds (at most [`MAX_DELAY_MS`], else 400)        |
//! | `/status/{code}` | that status (200..=599, else 400) with a short body                    |
//! | `/bytes/{n}`     | `n` bytes of body (at most [`MAX_BYTES`], else 400)                    |
//! | `/mix/{c1,c2,..}`| the n-th request to any `/mix` path gets code n mod len (a known mix)  |
//! | `/flaky/{code}`  | per key, the 1st, 3rd, ... request gets `code` and the others 200: the key is the `x-flaky-key` header, else the path and query (retry tests) |
//! | `/v1/chat/completions` | OpenAI-compatible chat completions, streamed (SSE) or not: see [`LlmConfig`] |
//! | `/v1/chat-messages`    | Dify-style chat messages, streamed (SSE) or blocking: see [`LlmConfig`] |
//! | `/__stats`       | JSON of [`StatsSnapshot`] (+ `header_counts` when recording); not counted |
//! | anything else    | 404                                                                    |
//!
//! Every request except `/__stats` is counted in [`ServerStats::requests`] when its head arrives
//! and is in flight until its response head is produced.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

mod handler;
mod sse;

pub use sse::{LlmConfig, MAX_CHAT_BODY, MAX_LLM_DELAY, MAX_STREAM_TOKENS, UsageMode};

/// Largest body `/bytes/{n}` serves (64 MiB).
pub const MAX_BYTES: u64 = 64 << 20;
/// Longest wait `/delay/{ms}` accepts (10 minutes).
pub const MAX_DELAY_MS: u64 = 600_000;
/// Listen backlog, large enough for thousands of users connecting at once.
const BACKLOG: u32 = 4096;
/// How long stopping waits for the runtime's threads.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// How the embedded target behaves.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to bind; port 0 picks an ephemeral port.
    pub addr: SocketAddr,
    /// Added to every response on `/` (before jitter).
    pub delay: Duration,
    /// Uniform random extra delay in [0, jitter] on `/`.
    pub jitter: Duration,
    /// Fraction (0.0..=1.0) of requests on `/` answered with 500.
    pub error_rate: f64,
    /// Tokio worker threads (0 is treated as 1).
    pub threads: usize,
    /// When set, count the values seen for this request header (see
    /// [`ServerStats::header_counts`]). Requests without the header are not counted there.
    pub record_header: Option<String>,
    /// The simulated model of the chat routes (`/v1/chat/completions`, `/v1/chat-messages`).
    pub llm: LlmConfig,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            error_rate: 0.0,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            record_header: None,
            llm: LlmConfig::default(),
        }
    }
}

impl ServeConfig {
    /// The default configuration on 127.0.0.1 with an ephemeral port.
    pub fn ephemeral() -> Self {
        ServeConfig {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            ..ServeConfig::default()
        }
    }
}

/// Counters the server keeps, readable while it runs.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Requests received (every route but `/__stats`).
    pub requests: AtomicU64,
    /// Requests whose response head has not been produced yet.
    pub in_flight: AtomicU64,
    /// Highest `in_flight` seen (since start or the last [`ServerStats::reset_max`]).
    pub max_in_flight: AtomicU64,
    /// Open TCP connections.
    pub connections: AtomicU64,
    /// Highest `connections` seen (since start or the last [`ServerStats::reset_max`]).
    pub max_connections: AtomicU64,
    header_counts: Mutex<HashMap<String, u64>>,
}

/// A plain copy of [`ServerStats`] at one moment (also the JSON of `/__stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    pub requests: u64,
    pub in_flight: u64,
    pub max_in_flight: u64,
    pub connections: u64,
    pub max_connections: u64,
}

impl ServerStats {
    /// Current values of the counters (each read on its own; not one atomic picture).
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Relaxed),
            in_flight: self.in_flight.load(Relaxed),
            max_in_flight: self.max_in_flight.load(Relaxed),
            connections: self.connections.load(Relaxed),
            max_connections: self.max_connections.load(Relaxed),
        }
    }

    /// Restart the high-water marks from the current values.
    pub fn reset_max(&self) {
        self.max_in_flight
            .store(self.in_flight.load(Relaxed), Relaxed);
        self.max_connections
            .store(self.connections.load(Relaxed), Relaxed);
    }

    /// How many requests carried each value of the recorded header (empty when
    /// [`ServeConfig::record_header`] is not set). Non-UTF-8 values are converted lossily.
    pub fn header_counts(&self) -> HashMap<String, u64> {
        self.header_counts.lock().clone()
    }

    /// How many times `value` came in the recorded header (twice for a request that sent it
    /// twice).
    pub fn header_count(&self, value: &str) -> u64 {
        self.header_counts.lock().get(value).copied().unwrap_or(0)
    }

    /// Forget the recorded header values.
    pub fn clear_header_counts(&self) {
        self.header_counts.lock().clear();
    }

    fn record_header(&self, value: &HeaderValue) {
        let value = String::from_utf8_lossy(value.as_bytes());
        let mut counts = self.header_counts.lock();
        match counts.get_mut(value.as_ref()) {
            Some(n) => *n += 1,
            None => {
                counts.insert(value.into_owned(), 1);
            }
        }
    }

    /// Count a request and mark it in flight until the guard is dropped.
    fn enter_request(&self) -> InFlight<'_> {
        self.requests.fetch_add(1, Relaxed);
        raise(&self.in_flight, &self.max_in_flight);
        InFlight(self)
    }

    /// Count an accepted connection until the guard is dropped.
    fn enter_connection(self: &Arc<Self>) -> ConnGuard {
        raise(&self.connections, &self.max_connections);
        ConnGuard(Arc::clone(self))
    }
}

/// Increment `current` and push `max` up to it (reading `max` first keeps the shared cache line
/// read-only in the common case).
fn raise(current: &AtomicU64, max: &AtomicU64) {
    let now = current.fetch_add(1, Relaxed) + 1;
    if now > max.load(Relaxed) {
        max.fetch_max(now, Relaxed);
    }
}

struct InFlight<'a>(&'a ServerStats);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

struct ConnGuard(Arc<ServerStats>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Relaxed);
    }
}

/// A running server; dropping it (or `stop`) shuts it down.
#[derive(Debug)]
pub struct ServerHandle {
    pub addr: SocketAddr,
    pub stats: Arc<ServerStats>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// `http://ADDR` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shut the server down: stop accepting, close every connection (idle keep-alive ones
    /// included, requests in progress are cut), and wait for its threads.
    pub fn stop(mut self) {
        self.shutdown_and_join();
    }

    fn shutdown_and_join(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shutdown_and_join();
    }
}

/// What every request handler shares.
struct Shared {
    stats: Arc<ServerStats>,
    delay: Duration,
    jitter: Duration,
    error_rate: f64,
    record_header: Option<HeaderName>,
    /// Requests answered so far on `/mix/...` routes.
    mix_counter: AtomicU64,
    /// Requests seen per key on `/flaky/...` routes.
    flaky: Mutex<HashMap<String, u64>>,
    llm: LlmConfig,
    /// Chat requests so far (numbers their ids).
    chat_counter: AtomicU64,
}

/// Start the server on its own thread with its own tokio runtime; returns once it listens.
///
/// Errors: the address cannot be bound (the message names it; the kind is the OS one, e.g.
/// `AddrInUse`), an invalid `record_header` name, an `error_rate` outside 0..=1 or `llm`
/// values out of bounds (`InvalidInput`), or the runtime/thread cannot be created.
pub fn spawn(cfg: ServeConfig) -> io::Result<ServerHandle> {
    if !(0.0..=1.0).contains(&cfg.error_rate) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("error rate must be within 0..=1, got {}", cfg.error_rate),
        ));
    }
    cfg.llm
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let record_header = match cfg.record_header.as_deref() {
        None => None,
        Some(name) => Some(HeaderName::from_bytes(name.as_bytes()).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid header name {name:?} to record: {e}"),
            )
        })?),
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.threads.max(1))
        .thread_name("qpsbench-serve")
        .enable_io()
        .enable_time()
        .build()?;
    let bound = {
        let _guard = rt.enter();
        bind(cfg.addr)
            .and_then(|l| Ok((l.local_addr()?, l)))
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {}: {e}", cfg.addr)))
    };
    let (addr, listener) = match bound {
        Ok(bound) => bound,
        Err(e) => {
            // Unlike a plain drop, this does not panic if `spawn` was called from async code.
            rt.shutdown_background();
            return Err(e);
        }
    };

    let stats = Arc::new(ServerStats::default());
    let shared = Arc::new(Shared {
        stats: Arc::clone(&stats),
        delay: cfg.delay,
        jitter: cfg.jitter,
        error_rate: cfg.error_rate,
        record_header,
        mix_counter: AtomicU64::new(0),
        flaky: Mutex::new(HashMap::new()),
        llm: cfg.llm,
        chat_counter: AtomicU64::new(0),
    });
    let (tx, rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("qpsbench-serve-main".into())
        .spawn(move || {
            rt.block_on(async move {
                tokio::spawn(handler::accept_loop(listener, shared));
                // A send or a dropped sender both mean "stop".
                let _ = rx.await;
            });
            // Dropping the runtime cancels the accept loop and every connection task.
            rt.shutdown_timeout(SHUTDOWN_WAIT);
        })?;

    Ok(ServerHandle {
        addr,
        stats,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

fn bind(addr: SocketAddr) -> io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// `qpsbench serve`: bind, print `qpsbench serve: listening on http://ADDR` to stderr and serve
/// until the process ends.
pub fn run_blocking(cfg: ServeConfig) -> anyhow::Result<()> {
    let mut handle = spawn(cfg)?;
    eprintln!("qpsbench serve: listening on {}", handle.url());
    // The shutdown sender stays in `handle`, so the server thread only ends with the process.
    if let Some(thread) = handle.thread.take()
        && thread.join().is_err()
    {
        anyhow::bail!("qpsbench serve: the server thread panicked");
    }
    Ok(())
}
