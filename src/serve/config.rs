//! The embedded server's settings: its routes' delays and error rate, the simulated model of
//! the chat routes, and the limits of what a request may ask for.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Most tokens one answer may have.
pub const MAX_STREAM_TOKENS: u32 = 100_000;

/// Longest `first_token`, `interval` or `jitter` accepted (10 minutes).
pub const MAX_LLM_DELAY: Duration = Duration::from_secs(600);

/// Largest request body read on the chat routes (1 MiB); larger ones get 413.
pub const MAX_CHAT_BODY: usize = 1 << 20;

/// How the simulated model answers on the chat routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmConfig {
    /// Request (body read) → first token.
    pub first_token: Duration,
    /// Tokens per answer (before `max_tokens` / `?tokens=`).
    pub tokens: u32,
    /// Between consecutive tokens.
    pub interval: Duration,
    /// Uniform random extra in `[0, jitter]` added to every wait (first token included).
    pub jitter: Duration,
    /// When a usage object is sent.
    pub usage: UsageMode,
    /// Tokens per streamed content event (at least 1; the last event of an answer may carry
    /// fewer).
    pub tokens_per_event: u32,
    /// Of each OpenAI answer's tokens, how many come first as `delta.reasoning_content`
    /// (lowered to the answer's tokens; Dify ignores it).
    pub reasoning_tokens: u32,
}

impl Default for LlmConfig {
    /// 50 ms to the first token, 20 tokens 10 ms apart, no jitter, usage on request, one
    /// token per event, no reasoning.
    fn default() -> Self {
        LlmConfig {
            first_token: Duration::from_millis(50),
            tokens: 20,
            interval: Duration::from_millis(10),
            jitter: Duration::ZERO,
            usage: UsageMode::OnRequest,
            tokens_per_event: 1,
            reasoning_tokens: 0,
        }
    }
}

impl LlmConfig {
    /// Check the bounds; the message says which value is wrong.
    ///
    /// # Errors
    ///
    /// When `tokens` or `reasoning_tokens` is above [`MAX_STREAM_TOKENS`], `tokens_per_event`
    /// is not within 1..=[`MAX_STREAM_TOKENS`], or `first_token`, `interval` or `jitter` is
    /// above [`MAX_LLM_DELAY`] (10 minutes).
    pub fn validate(&self) -> Result<(), String> {
        for (name, n, least) in [
            ("tokens per answer", self.tokens, 0),
            ("tokens per event", self.tokens_per_event, 1),
            ("reasoning tokens", self.reasoning_tokens, 0),
        ] {
            if !(least..=MAX_STREAM_TOKENS).contains(&n) {
                return Err(format!(
                    "{name} must be within {least}..={MAX_STREAM_TOKENS}, got {n}"
                ));
            }
        }
        for (name, d) in [
            ("first-token delay", self.first_token),
            ("token interval", self.interval),
            ("token jitter", self.jitter),
        ] {
            if d > MAX_LLM_DELAY {
                return Err(format!("{name} must be at most 10 minutes, got {d:?}"));
            }
        }
        Ok(())
    }
}

/// When the chat routes report token usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UsageMode {
    /// Never: no usage chunk (OpenAI), no `metadata.usage` (Dify), no `usage` in JSON answers.
    Never,
    /// OpenAI streams: only with `stream_options.include_usage: true`, as OpenAI does; Dify's
    /// `message_end` and non-streaming answers: always.
    #[default]
    OnRequest,
    /// Always, also in OpenAI streams that did not ask.
    Always,
}

/// Largest body `/bytes/{n}` serves (64 MiB).
pub const MAX_BYTES: u64 = 64 << 20;

/// Longest wait `/delay/{ms}` accepts (10 minutes).
pub const MAX_DELAY_MS: u64 = 600_000;

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
    /// [`ServerStats::header_counts`](super::state::ServerStats::header_counts)). Requests without the header are not counted there.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_validation() {
        assert!(LlmConfig::default().validate().is_ok());
        let too_many = LlmConfig {
            tokens: MAX_STREAM_TOKENS + 1,
            ..LlmConfig::default()
        };
        assert!(too_many.validate().unwrap_err().contains("tokens"));
        let too_slow = LlmConfig {
            interval: Duration::from_secs(601),
            ..LlmConfig::default()
        };
        assert!(too_slow.validate().unwrap_err().contains("interval"));
        for (cfg, what) in [
            (
                LlmConfig {
                    tokens_per_event: 0,
                    ..LlmConfig::default()
                },
                "tokens per event",
            ),
            (
                LlmConfig {
                    tokens_per_event: MAX_STREAM_TOKENS + 1,
                    ..LlmConfig::default()
                },
                "tokens per event",
            ),
            (
                LlmConfig {
                    reasoning_tokens: MAX_STREAM_TOKENS + 1,
                    ..LlmConfig::default()
                },
                "reasoning tokens",
            ),
        ] {
            assert!(cfg.validate().unwrap_err().contains(what), "{cfg:?}");
        }
        let most = LlmConfig {
            tokens: MAX_STREAM_TOKENS,
            tokens_per_event: MAX_STREAM_TOKENS,
            reasoning_tokens: MAX_STREAM_TOKENS,
            ..LlmConfig::default()
        };
        assert!(most.validate().is_ok());
    }
}
