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
//! `/__stats` also sums the chat answers that started (`chat_answers`, `prompt_tokens`,
//! `completion_tokens` as planned, `reasoning_tokens`): a witness for tests of token counting.
//!
//! Every request except `/__stats` is counted in [`ServerStats::requests`] when its head arrives
//! and is in flight until its response head is produced.
//!
//! [`page`] serves one text page the same way (the live `/metrics` of `--metrics-addr`).

mod body;
mod chat;
pub mod config;
mod conn;
mod handler;
pub mod page;
pub mod state;
mod timer;
mod tokens;

pub use config::{
    LlmConfig, MAX_BYTES, MAX_CHAT_BODY, MAX_DELAY_MS, MAX_LLM_DELAY, MAX_STREAM_TOKENS,
    ServeConfig, UsageMode,
};
pub use state::{ServerStats, StatsSnapshot};

use hyper::header::HeaderName;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

use state::Shared;

/// Listen backlog, large enough for thousands of users connecting at once.
const BACKLOG: u32 = 4096;

/// How long stopping waits for the runtime's threads.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// A running server; dropping it (or `stop`) shuts it down.
#[derive(Debug)]
pub struct ServerHandle {
    pub addr: SocketAddr,
    pub stats: Arc<ServerStats>,
    running: Running,
}

/// A server's thread and the signal that shuts it down: stopped (signalled and joined) once,
/// by `stop` or on drop. Shared by the embedded target and the `/metrics` page.
#[derive(Debug)]
pub(crate) struct Running {
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    pub(crate) fn new(shutdown: oneshot::Sender<()>, thread: JoinHandle<()>) -> Self {
        Running {
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// Signal the shutdown and wait for the thread; a second call does nothing.
    pub(crate) fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

impl ServerHandle {
    /// `http://ADDR` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shut the server down: stop accepting, close every connection (idle keep-alive ones
    /// included, requests in progress are cut), and wait for its threads.
    pub fn stop(mut self) {
        self.running.stop();
    }
}

/// Start the server on its own thread with its own tokio runtime; returns once it listens.
///
/// # Errors
///
/// The address cannot be bound (the message names it; the kind is the OS one, e.g.
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

    let timer = match timer::Timer::start() {
        Ok(timer) => timer,
        Err(e) => {
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
        clock: timer.clock(),
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
            // Then the timer thread (nothing waits on it any more).
            drop(timer);
        })?;

    Ok(ServerHandle {
        addr,
        stats,
        running: Running::new(tx, thread),
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
///
/// # Errors
///
/// When the server cannot start (see [`spawn`]), or its thread panics.
pub fn run_blocking(cfg: ServeConfig) -> anyhow::Result<()> {
    let mut handle = spawn(cfg)?;
    eprintln!("qpsbench serve: listening on {}", handle.url());
    // The shutdown sender stays in `handle`, so the server thread only ends with the process.
    if let Some(thread) = handle.running.thread.take()
        && thread.join().is_err()
    {
        anyhow::bail!("qpsbench serve: the server thread panicked");
    }
    Ok(())
}
