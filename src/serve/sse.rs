//! Simulated LLM chat APIs: OpenAI-compatible `/v1/chat/completions` and Dify-style
//! `/v1/chat-messages`, streaming Server-Sent Events or answering in one JSON body.
//!
//! An answer is `n` tokens (words of a fixed text): `n` is [`LlmConfig::tokens`], or the query's
//! `tokens=N`, lowered to the request body's `max_tokens` / `max_completion_tokens` when that is
//! smaller (then `finish_reason` is `length`). The first token comes
//! [`LlmConfig::first_token`] after the request body has been read, each next one
//! [`LlmConfig::interval`] after the previous (an absolute schedule: no drift), each wait plus a
//! uniform random `[0, jitter]`. The response head is sent at once, so TTFB ≪ TTFT.
//!
//! Streaming is chosen by the body's `"stream": true` (OpenAI; default false) or
//! `"response_mode": "streaming"` (Dify; default blocking), or the query's `stream=true|false`.
//!
//! Query parameters (all optional), for tests:
//!
//! | parameter       | effect                                                                       |
//! |-----------------|------------------------------------------------------------------------------|
//! | `tokens=N`      | answer N tokens instead of [`LlmConfig::tokens`] (at most [`MAX_STREAM_TOKENS`]) |
//! | `cut_after=N`   | streaming: after N tokens (N ≤ tokens), when the next one is due, close the connection without ending the body |
//! | `error_after=N` | streaming: after N tokens (N ≤ tokens), when the next one is due, send an error event and end the stream |
//! | `stream=BOOL`   | override the body's streaming choice                                         |
//!
//! OpenAI stream: a first chunk with `delta: {role: "assistant", content: ""}` and the first
//! token's content, one chunk per token, a final chunk with an empty delta and the
//! `finish_reason`, then (with `stream_options.include_usage`, see [`UsageMode`]) a chunk with
//! `choices: []` and `usage`, then `data: [DONE]`. With usage on, every chunk has
//! `"usage": null` before the last, as OpenAI does. An error is
//! `data: {"error": {...}}` followed by `data: [DONE]`.
//!
//! Dify stream: `event: ping` at once, then `data: {"event": "message", "answer": ...}` per token,
//! then `data: {"event": "message_end", "metadata": {"usage": {...}}}`. An error is
//! `data: {"event": "error", "status": 500, "code": ..., "message": ...}`.

use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::time::{Instant, Sleep};

use super::Shared;
use super::handler::{RespBody, random_upto, response};

/// Most tokens one answer may have.
pub const MAX_STREAM_TOKENS: u32 = 100_000;
/// Longest `first_token`, `interval` or `jitter` accepted (10 minutes).
pub const MAX_LLM_DELAY: Duration = Duration::from_secs(600);
/// Largest request body read on the chat routes (1 MiB); larger ones get 413.
pub const MAX_CHAT_BODY: usize = 1 << 20;

/// The answer text, one token per word (no characters that need JSON escaping).
const WORDS: [&str; 16] = [
    "The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ",", " and",
    " then", " it", " rests", " again", ".",
];

const EVENT_STREAM: &str = "text/event-stream; charset=utf-8";
const JSON: &str = "application/json";

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
}

impl Default for LlmConfig {
    /// 50 ms to the first token, 20 tokens 10 ms apart, no jitter, usage on request.
    fn default() -> Self {
        LlmConfig {
            first_token: Duration::from_millis(50),
            tokens: 20,
            interval: Duration::from_millis(10),
            jitter: Duration::ZERO,
            usage: UsageMode::OnRequest,
        }
    }
}

impl LlmConfig {
    /// Check the bounds; the message says which value is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.tokens > MAX_STREAM_TOKENS {
            return Err(format!(
                "tokens per answer must be at most {MAX_STREAM_TOKENS}, got {}",
                self.tokens
            ));
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

/// Which API a chat route speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Api {
    OpenAi,
    Dify,
}

/// Query-string options of one request.
#[derive(Debug, Default, PartialEq, Eq)]
struct Query {
    tokens: Option<u32>,
    cut_after: Option<u32>,
    error_after: Option<u32>,
    stream: Option<bool>,
}

impl Query {
    fn parse(query: Option<&str>) -> Result<Query, String> {
        let mut q = Query::default();
        let Some(query) = query else {
            return Ok(q);
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let count = || match value.parse::<u32>() {
                Ok(n) if n <= MAX_STREAM_TOKENS => Ok(n),
                _ => Err(format!(
                    "bad {key}={value}: use a whole number up to {MAX_STREAM_TOKENS}"
                )),
            };
            match key {
                "tokens" => q.tokens = Some(count()?),
                "cut_after" => q.cut_after = Some(count()?),
                "error_after" => q.error_after = Some(count()?),
                "stream" => {
                    q.stream = Some(match value {
                        "" | "1" | "true" => true,
                        "0" | "false" => false,
                        _ => return Err(format!("bad stream={value}: use true or false")),
                    })
                }
                _ => {}
            }
        }
        Ok(q)
    }
}

/// What the request body asked for.
#[derive(Debug, Default)]
struct Ask {
    stream: bool,
    include_usage: bool,
    max_tokens: Option<u64>,
    model: String,
    conversation_id: String,
    prompt_chars: usize,
}

impl Ask {
    fn parse(api: Api, body: &[u8]) -> Result<Ask, String> {
        let mut ask = Ask {
            model: "qpsbench-sim".into(),
            ..Ask::default()
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(ask);
        }
        let v: Value =
            serde_json::from_slice(body).map_err(|e| format!("request body is not JSON: {e}"))?;
        if !v.is_object() {
            return Err("request body must be a JSON object".into());
        }
        ask.max_tokens = v
            .get("max_tokens")
            .or_else(|| v.get("max_completion_tokens"))
            .and_then(Value::as_u64);
        match api {
            Api::OpenAi => {
                ask.stream = v.get("stream").and_then(Value::as_bool).unwrap_or(false);
                ask.include_usage = v
                    .pointer("/stream_options/include_usage")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if let Some(model) = v.get("model").and_then(Value::as_str) {
                    ask.model = model.to_string();
                }
                if let Some(messages) = v.get("messages").and_then(Value::as_array) {
                    ask.prompt_chars = messages.iter().map(message_chars).sum();
                }
            }
            Api::Dify => {
                ask.stream = v.get("response_mode").and_then(Value::as_str) == Some("streaming");
                ask.include_usage = true;
                ask.prompt_chars = v.get("query").and_then(Value::as_str).map_or(0, str::len);
                if let Some(id) = v.get("conversation_id").and_then(Value::as_str) {
                    ask.conversation_id = id.to_string();
                }
            }
        }
        Ok(ask)
    }
}

/// Characters of a chat message's content (a string, or text parts).
fn message_chars(message: &Value) -> usize {
    match message.get("content") {
        Some(Value::String(s)) => s.len(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .map(str::len)
            .sum(),
        _ => 0,
    }
}

/// Read the body, at most `limit` bytes (`None` when larger: the rest is drained).
async fn read_body(mut body: Incoming, limit: usize) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut too_large = false;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        if let Ok(data) = frame.into_data()
            && !too_large
        {
            if buf.len() + data.len() > limit {
                too_large = true;
                buf = Vec::new();
            } else {
                buf.extend_from_slice(&data);
            }
        }
    }
    (!too_large).then_some(buf)
}

/// Answer a chat request (the route's in-flight guard is held by the caller).
pub(super) async fn chat(shared: &Shared, api: Api, req: Request<Incoming>) -> Response<RespBody> {
    let query = Query::parse(req.uri().query());
    let Some(body) = read_body(req.into_body(), MAX_CHAT_BODY).await else {
        return error_response(
            api,
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body larger than 1 MiB",
        );
    };
    let (query, ask) = match (query, Ask::parse(api, &body)) {
        (Ok(q), Ok(a)) => (q, a),
        (Err(e), _) | (_, Err(e)) => return error_response(api, StatusCode::BAD_REQUEST, &e),
    };
    let cfg = &shared.llm;
    let mut tokens = query.tokens.unwrap_or(cfg.tokens);
    let mut finish_reason = "stop";
    if let Some(max) = ask.max_tokens
        && max < u64::from(tokens)
    {
        tokens = max as u32;
        finish_reason = "length";
    }
    let n = shared.chat_counter.fetch_add(1, Relaxed);
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let stream = query.stream.unwrap_or(ask.stream);
    // Non-streaming answers carry usage unless it is switched off.
    let usage = match cfg.usage {
        UsageMode::Never => None,
        UsageMode::OnRequest if stream && !ask.include_usage => None,
        UsageMode::OnRequest | UsageMode::Always => Some(Usage::new(ask.prompt_chars, tokens)),
    };
    let plan = Plan {
        api,
        tokens,
        finish_reason,
        usage,
        cut_after: query.cut_after.filter(|&c| c <= tokens),
        error_after: query.error_after.filter(|&e| e <= tokens),
        id: n,
        created,
        model_json: serde_json::to_string(&ask.model).unwrap_or_else(|_| "\"\"".into()),
        conversation_json: serde_json::to_string(&if ask.conversation_id.is_empty() {
            format!("conv-{n}")
        } else {
            ask.conversation_id.clone()
        })
        .unwrap_or_else(|_| "\"\"".into()),
        first_token: cfg.first_token,
        interval: cfg.interval,
        jitter: cfg.jitter,
    };
    if stream {
        let mut resp = Response::new(RespBody::Sse(Box::new(SseBody::new(plan))));
        let headers = resp.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(EVENT_STREAM));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        resp
    } else {
        // The whole answer takes as long as its stream would.
        let mut wait = plan.first_token + random_upto(plan.jitter);
        for _ in 1..plan.tokens {
            wait += plan.interval + random_upto(plan.jitter);
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let body = plan.blocking_answer();
        response(StatusCode::OK, JSON, RespBody::Full(Bytes::from(body)))
    }
}

fn error_response(api: Api, status: StatusCode, message: &str) -> Response<RespBody> {
    let body = match api {
        Api::OpenAi => json!({"error": {
            "message": message, "type": "invalid_request_error", "code": status.as_u16(),
        }}),
        Api::Dify => {
            json!({"status": status.as_u16(), "code": "invalid_param", "message": message})
        }
    };
    let mut bytes = body.to_string().into_bytes();
    bytes.push(b'\n');
    response(status, JSON, RespBody::Full(Bytes::from(bytes)))
}

#[derive(Debug, Clone, Copy)]
struct Usage {
    prompt: u32,
    completion: u32,
}

impl Usage {
    /// About 4 characters per prompt token.
    fn new(prompt_chars: usize, completion: u32) -> Usage {
        Usage {
            prompt: u32::try_from(prompt_chars.div_ceil(4)).unwrap_or(u32::MAX),
            completion,
        }
    }

    fn json(self) -> String {
        format!(
            "{{\"prompt_tokens\":{},\"completion_tokens\":{},\"total_tokens\":{}}}",
            self.prompt,
            self.completion,
            u64::from(self.prompt) + u64::from(self.completion)
        )
    }
}

/// Everything about one answer, decided when the request arrives.
#[derive(Debug)]
struct Plan {
    api: Api,
    tokens: u32,
    finish_reason: &'static str,
    usage: Option<Usage>,
    cut_after: Option<u32>,
    error_after: Option<u32>,
    id: u64,
    created: u64,
    /// The model name as a JSON string (quoted, escaped).
    model_json: String,
    conversation_json: String,
    first_token: Duration,
    interval: Duration,
    jitter: Duration,
}

impl Plan {
    /// The `data:` line of token `i`.
    fn token_event(&self, i: u32) -> String {
        let word = WORDS[i as usize % WORDS.len()];
        match self.api {
            Api::OpenAi => {
                let delta = if i == 0 {
                    format!("{{\"role\":\"assistant\",\"content\":\"{word}\"}}")
                } else {
                    format!("{{\"content\":\"{word}\"}}")
                };
                self.openai_chunk(&format!(
                    "[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":null}}]"
                ))
            }
            Api::Dify => format!(
                "data: {{\"event\":\"message\",\"task_id\":\"task-{id}\",\"id\":\"msg-{id}\",\"message_id\":\"msg-{id}\",\"conversation_id\":{conv},\"answer\":\"{word}\",\"created_at\":{created}}}\n\n",
                id = self.id,
                conv = self.conversation_json,
                created = self.created,
            ),
        }
    }

    /// `data: {chat.completion.chunk with these choices}\n\n`.
    fn openai_chunk(&self, choices: &str) -> String {
        format!(
            "data: {{\"id\":\"chatcmpl-{}\",\"object\":\"chat.completion.chunk\",\"created\":{},\"model\":{},\"choices\":{choices}{}}}\n\n",
            self.id,
            self.created,
            self.model_json,
            if self.usage.is_some() {
                ",\"usage\":null"
            } else {
                ""
            },
        )
    }

    /// The events after the last token.
    fn end_events(&self) -> String {
        match self.api {
            Api::OpenAi => {
                let mut s = self.openai_chunk(&format!(
                    "[{{\"index\":0,\"delta\":{{}},\"logprobs\":null,\"finish_reason\":\"{}\"}}]",
                    self.finish_reason
                ));
                if let Some(usage) = self.usage {
                    s.push_str(&format!(
                        "data: {{\"id\":\"chatcmpl-{}\",\"object\":\"chat.completion.chunk\",\"created\":{},\"model\":{},\"choices\":[],\"usage\":{}}}\n\n",
                        self.id,
                        self.created,
                        self.model_json,
                        usage.json()
                    ));
                }
                s.push_str("data: [DONE]\n\n");
                s
            }
            Api::Dify => format!(
                "data: {{\"event\":\"message_end\",\"task_id\":\"task-{id}\",\"id\":\"msg-{id}\",\"message_id\":\"msg-{id}\",\"conversation_id\":{conv},\"metadata\":{{{usage}}},\"created_at\":{created}}}\n\n",
                id = self.id,
                conv = self.conversation_json,
                created = self.created,
                usage = self
                    .usage
                    .map(|u| format!("\"usage\":{}", u.json()))
                    .unwrap_or_default(),
            ),
        }
    }

    /// The error event (and, for OpenAI, the `[DONE]` after it).
    fn error_events(&self) -> String {
        match self.api {
            Api::OpenAi => "data: {\"error\":{\"message\":\"simulated failure (error_after)\",\"type\":\"server_error\",\"code\":500}}\n\ndata: [DONE]\n\n".into(),
            Api::Dify => format!(
                "data: {{\"event\":\"error\",\"task_id\":\"task-{id}\",\"message_id\":\"msg-{id}\",\"status\":500,\"code\":\"internal_error\",\"message\":\"simulated failure (error_after)\"}}\n\n",
                id = self.id
            ),
        }
    }

    /// The whole answer as one JSON body.
    fn blocking_answer(&self) -> Vec<u8> {
        let text: String = (0..self.tokens)
            .map(|i| WORDS[i as usize % WORDS.len()])
            .collect();
        let usage = self.usage.map(|u| {
            json!({
                "prompt_tokens": u.prompt,
                "completion_tokens": u.completion,
                "total_tokens": u64::from(u.prompt) + u64::from(u.completion),
            })
        });
        let conversation: Value =
            serde_json::from_str(&self.conversation_json).unwrap_or(Value::Null);
        let model: Value = serde_json::from_str(&self.model_json).unwrap_or(Value::Null);
        let mut v = match self.api {
            Api::OpenAi => json!({
                "id": format!("chatcmpl-{}", self.id),
                "object": "chat.completion",
                "created": self.created,
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "logprobs": null,
                    "finish_reason": self.finish_reason,
                }],
            }),
            Api::Dify => json!({
                "event": "message",
                "task_id": format!("task-{}", self.id),
                "id": format!("msg-{}", self.id),
                "message_id": format!("msg-{}", self.id),
                "conversation_id": conversation,
                "mode": "chat",
                "answer": text,
                "metadata": {},
                "created_at": self.created,
            }),
        };
        if let Some(usage) = usage {
            match self.api {
                Api::OpenAi => v["usage"] = usage,
                Api::Dify => v["metadata"]["usage"] = usage,
            }
        }
        let mut bytes = v.to_string().into_bytes();
        bytes.push(b'\n');
        bytes
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing sent yet (Dify sends its ping first).
    Start,
    /// Waiting for the next token (or the cut / error that replaces it).
    Tokens,
    /// Everything sent.
    Ended,
}

/// A streaming answer: one body frame per token, on schedule.
pub(super) struct SseBody {
    plan: Plan,
    phase: Phase,
    /// Tokens sent so far.
    sent: u32,
    /// When the next token is due.
    due: Instant,
    sleep: Pin<Box<Sleep>>,
}

impl SseBody {
    fn new(plan: Plan) -> SseBody {
        let due = Instant::now() + plan.first_token + random_upto(plan.jitter);
        SseBody {
            plan,
            phase: Phase::Start,
            sent: 0,
            due,
            sleep: Box::pin(tokio::time::sleep_until(due)),
        }
    }

    pub(super) fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let data = |s: String| Poll::Ready(Some(Ok(Frame::data(Bytes::from(s)))));
        match self.phase {
            Phase::Ended => Poll::Ready(None),
            Phase::Start => {
                self.phase = Phase::Tokens;
                match self.plan.api {
                    Api::Dify => data("event: ping\n\n".into()),
                    Api::OpenAi => self.poll_frame(cx),
                }
            }
            Phase::Tokens => {
                let plan = &self.plan;
                let at_end = self.sent == plan.tokens;
                let cut = plan.cut_after == Some(self.sent);
                let error = plan.error_after == Some(self.sent);
                if at_end && !cut && !error && self.sent > 0 {
                    // The end follows the last token at once.
                    self.phase = Phase::Ended;
                    return data(plan.end_events());
                }
                // A cut, an error or an empty answer come when the next token would have.
                if self.sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                if cut {
                    self.phase = Phase::Ended;
                    return Poll::Ready(Some(Err(io::Error::other(
                        "stream cut on purpose (cut_after)",
                    ))));
                }
                if error {
                    self.phase = Phase::Ended;
                    return data(plan.error_events());
                }
                if at_end {
                    self.phase = Phase::Ended;
                    return data(plan.end_events());
                }
                let event = plan.token_event(self.sent);
                self.sent += 1;
                self.due += plan.interval + random_upto(plan.jitter);
                let due = self.due;
                self.sleep.as_mut().reset(due);
                data(event)
            }
        }
    }
}

impl std::fmt::Debug for SseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseBody")
            .field("phase", &self.phase)
            .field("sent", &self.sent)
            .field("tokens", &self.plan.tokens)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        assert_eq!(Query::parse(None), Ok(Query::default()));
        assert_eq!(
            Query::parse(Some("tokens=5&cut_after=2&x=y&&stream")),
            Ok(Query {
                tokens: Some(5),
                cut_after: Some(2),
                error_after: None,
                stream: Some(true),
            })
        );
        assert_eq!(
            Query::parse(Some("error_after=0&stream=false")).unwrap(),
            Query {
                error_after: Some(0),
                stream: Some(false),
                ..Query::default()
            }
        );
        for bad in [
            "tokens=-1",
            "tokens=",
            "cut_after=1e3",
            "tokens=100001",
            "stream=maybe",
        ] {
            assert!(Query::parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn ask_parsing() {
        let a = Ask::parse(Api::OpenAi, b"").unwrap();
        assert!(!a.stream && !a.include_usage && a.max_tokens.is_none());
        let a = Ask::parse(
            Api::OpenAi,
            br#"{"model":"m\"x","stream":true,"stream_options":{"include_usage":true},"max_tokens":7,
                "messages":[{"role":"user","content":"abcd"},{"role":"user","content":[{"type":"text","text":"ef"}]}]}"#,
        )
        .unwrap();
        assert!(a.stream && a.include_usage);
        assert_eq!(
            (a.max_tokens, a.model.as_str(), a.prompt_chars),
            (Some(7), "m\"x", 6)
        );
        let a = Ask::parse(Api::OpenAi, br#"{"max_completion_tokens":3}"#).unwrap();
        assert_eq!(a.max_tokens, Some(3));
        let a = Ask::parse(
            Api::Dify,
            br#"{"query":"hello","inputs":{},"response_mode":"streaming","user":"u","conversation_id":"c1"}"#,
        )
        .unwrap();
        assert!(a.stream && a.include_usage);
        assert_eq!((a.prompt_chars, a.conversation_id.as_str()), (5, "c1"));
        assert!(
            !Ask::parse(Api::Dify, br#"{"response_mode":"blocking"}"#)
                .unwrap()
                .stream
        );
        assert!(Ask::parse(Api::OpenAi, b"{").is_err());
        assert!(Ask::parse(Api::OpenAi, b"[1]").is_err());
    }

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
    }
}
