//! What the embedded server counts (requests, in flight, connections, header values, the chat
//! answers' token totals) and the state its connections share. Counters only grow (a test
//! reads them before and after what it checks); [`ServerStats::reset_max`] restarts the
//! high-water marks.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::config::LlmConfig;
use super::timer::Clock;

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
    /// Chat answers started (a chat request whose query and body were valid), streamed or not.
    pub chat_answers: AtomicU64,
    /// Their `usage.prompt_tokens` summed (counted whether usage is sent or not).
    pub prompt_tokens: AtomicU64,
    /// Their planned tokens summed (reasoning included; a cut or error sends fewer).
    pub completion_tokens: AtomicU64,
    /// Their reasoning tokens summed.
    pub reasoning_tokens: AtomicU64,
    header_counts: Mutex<HashMap<String, u64>>,
}

/// A plain copy of [`ServerStats`] at one moment (also the JSON of `/__stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    /// Requests whose head arrived (every route but `/__stats`).
    pub requests: u64,
    /// Requests whose response head has not been produced yet.
    pub in_flight: u64,
    /// The most requests in flight at once so far.
    pub max_in_flight: u64,
    /// Connections open now.
    pub connections: u64,
    /// The most connections open at once so far.
    pub max_connections: u64,
    /// Chat answers started so far (see [`ServerStats::chat_answers`]).
    #[serde(default)]
    pub chat_answers: u64,
    /// Their prompt tokens summed.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Their planned completion tokens summed (reasoning included).
    #[serde(default)]
    pub completion_tokens: u64,
    /// Their reasoning tokens summed.
    #[serde(default)]
    pub reasoning_tokens: u64,
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
            chat_answers: self.chat_answers.load(Relaxed),
            prompt_tokens: self.prompt_tokens.load(Relaxed),
            completion_tokens: self.completion_tokens.load(Relaxed),
            reasoning_tokens: self.reasoning_tokens.load(Relaxed),
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
    /// [`ServeConfig::record_header`](super::config::ServeConfig::record_header) is not set). Non-UTF-8 values are converted lossily.
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

    pub(super) fn record_header(&self, value: &HeaderValue) {
        let value = String::from_utf8_lossy(value.as_bytes());
        let mut counts = self.header_counts.lock();
        match counts.get_mut(value.as_ref()) {
            Some(n) => *n += 1,
            None => {
                counts.insert(value.into_owned(), 1);
            }
        }
    }

    /// Count a chat answer that starts: its prompt, planned and reasoning tokens.
    pub(super) fn record_chat(&self, prompt: u64, completion: u32, reasoning: u32) {
        self.chat_answers.fetch_add(1, Relaxed);
        self.prompt_tokens.fetch_add(prompt, Relaxed);
        self.completion_tokens
            .fetch_add(u64::from(completion), Relaxed);
        self.reasoning_tokens
            .fetch_add(u64::from(reasoning), Relaxed);
    }

    /// Count a request and mark it in flight until the guard is dropped.
    pub(super) fn enter_request(&self) -> InFlight<'_> {
        self.requests.fetch_add(1, Relaxed);
        raise(&self.in_flight, &self.max_in_flight);
        InFlight(self)
    }

    /// Count an accepted connection until the guard is dropped.
    pub(super) fn enter_connection(self: &Arc<Self>) -> ConnGuard {
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

pub(super) struct InFlight<'a>(&'a ServerStats);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

pub(super) struct ConnGuard(Arc<ServerStats>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Relaxed);
    }
}

/// What every request handler shares.
pub(super) struct Shared {
    pub(super) stats: Arc<ServerStats>,
    pub(super) delay: Duration,
    pub(super) jitter: Duration,
    pub(super) error_rate: f64,
    pub(super) record_header: Option<HeaderName>,
    /// Requests answered so far on `/mix/...` routes.
    pub(super) mix_counter: AtomicU64,
    /// Requests seen per key on `/flaky/...` routes.
    pub(super) flaky: Mutex<HashMap<String, u64>>,
    pub(super) llm: LlmConfig,
    /// Chat requests so far (numbers their ids).
    pub(super) chat_counter: AtomicU64,
    /// The server's timer thread, on which chat answers wait for their deadlines.
    pub(super) clock: Clock,
}
