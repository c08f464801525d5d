//! Simulated LLM chat APIs: OpenAI-compatible `/v1/chat/completions` and Dify-style
//! `/v1/chat-messages`, streaming Server-Sent Events or answering in one JSON body.
//!
//! An answer is `n` tokens (words of a fixed text): `n` is [`LlmConfig::tokens`], or the query's
//! `tokens=N`, lowered to the request body's `max_tokens` / `max_completion_tokens` when that is
//! smaller (then `finish_reason` is `length`). With `"ignore_eos": true` (OpenAI) and a
//! `max_tokens` / `max_completion_tokens`, the answer is exactly that many tokens (at most
//! [`MAX_STREAM_TOKENS`]), larger or not, with `finish_reason` `length`, as vLLM and SGLang do.
//! OpenAI answers may start with reasoning ([`LlmConfig::reasoning_tokens`] or
//! `reasoning_tokens=N`): the first N of the `n` tokens go out as `delta.reasoning_content`
//! (words of a text of their own, lowered to `n`), the rest as `delta.content`, and the usage
//! adds `completion_tokens_details: {reasoning_tokens: N}`; a JSON answer has them as
//! `message.reasoning_content`. Dify ignores reasoning.
//!
//! Every event is on an absolute schedule from the request's arrival (when its head reached the
//! server: the kernel's receive time on Linux, else the handler's start; before the body is
//! read): token `i` is due at arrival + [`LlmConfig::first_token`] + `i` ×
//! [`LlmConfig::interval`], each step plus a uniform random `[0, jitter]`. An event carries
//! [`LlmConfig::tokens_per_event`] tokens (`tokens_per_event=N`; N consecutive words, e.g.
//! `" quick brown"`) and goes when its last token is due; the last event may carry fewer, and
//! an event never mixes reasoning and answer tokens. The server's timer thread (`timer.rs`)
//! puts events on the socket on their deadline to within tens of microseconds, not tokio's
//! millisecond; a non-streaming answer comes when its last token would have. The response head
//! is sent at once, so TTFB ≪ TTFT.
//!
//! `usage.prompt_tokens` is qpsbench's own token estimate
//! ([`estimate_tokens`](crate::stream::estimate_tokens): each CJK character, each run of
//! letters, digits and `_`, each run of other symbols is a token) summed over every message's
//! content, system messages included (a string, or its text parts), for OpenAI; over the
//! `query` for Dify. `completion_tokens` is the answer's `n`.
//!
//! Streaming is chosen by the body's `"stream": true` (OpenAI; default false) or
//! `"response_mode": "streaming"` (Dify; default blocking), or the query's `stream=true|false`.
//!
//! Query parameters (all optional), for tests:
//!
//! | parameter            | effect                                                                  |
//! |----------------------|-------------------------------------------------------------------------|
//! | `tokens=N`           | answer N tokens instead of [`LlmConfig::tokens`] (at most [`MAX_STREAM_TOKENS`]) |
//! | `tokens_per_event=N` | N tokens per content event instead of [`LlmConfig::tokens_per_event`] (1 to [`MAX_STREAM_TOKENS`]) |
//! | `reasoning_tokens=N` | OpenAI: the first N tokens are reasoning, instead of [`LlmConfig::reasoning_tokens`] |
//! | `cut_after=N`        | streaming: after N tokens (N ≤ tokens), when the next one is due, close the connection without ending the body |
//! | `error_after=N`      | streaming: after N tokens (N ≤ tokens), when the next one is due, send an error event and end the stream |
//! | `stream=BOOL`        | override the body's streaming choice                                    |
//!
//! `cut_after` and `error_after` count tokens. With several tokens per event they round down to
//! a whole event: the cut or error replaces the first event that would take the answer past N
//! tokens (with `tokens_per_event=3`, `cut_after=7` sends 6 tokens), at the time its first
//! token would have been due; N equal to the answer's tokens comes after its last event.
//!
//! OpenAI stream: one chunk per event (the first also has `delta.role: "assistant"`), a final
//! chunk with an empty delta and the `finish_reason`, then (with
//! `stream_options.include_usage`, see [`UsageMode`]) a chunk with `choices: []` and `usage`,
//! then `data: [DONE]`. With usage on, every chunk has `"usage": null` before the last, as
//! OpenAI does. An error is `data: {"error": {...}}` followed by `data: [DONE]`.
//!
//! Dify stream: `event: ping` at once, then `data: {"event": "message", "answer": ...}` per
//! event, then `data: {"event": "message_end", "metadata": {"usage": {...}}}`. An error is
//! `data: {"event": "error", "status": 500, "code": ..., "message": ...}`.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};

use crate::stream::estimate_tokens;

use super::body::{RespBody, response};
use super::config::{LlmConfig, MAX_CHAT_BODY, MAX_STREAM_TOKENS, UsageMode};
use super::conn::ConnTimes;
use super::state::Shared;
use super::tokens::{Api, Plan, Schedule, SseBody, Usage};

const EVENT_STREAM: &str = "text/event-stream; charset=utf-8";

const JSON: &str = "application/json";

/// Query-string options of one request.
#[derive(Debug, Default, PartialEq, Eq)]
struct Query {
    tokens: Option<u32>,
    cut_after: Option<u32>,
    error_after: Option<u32>,
    stream: Option<bool>,
    tokens_per_event: Option<u32>,
    reasoning_tokens: Option<u32>,
}

impl Query {
    fn parse(query: Option<&str>) -> Result<Query, String> {
        let mut q = Query::default();
        let Some(query) = query else {
            return Ok(q);
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let count_from = |least: u32| match value.parse::<u32>() {
                Ok(n) if (least..=MAX_STREAM_TOKENS).contains(&n) => Ok(n),
                _ => Err(format!(
                    "bad {key}={value}: use a whole number from {least} to {MAX_STREAM_TOKENS}"
                )),
            };
            let count = || count_from(0);
            match key {
                "tokens" => q.tokens = Some(count()?),
                "cut_after" => q.cut_after = Some(count()?),
                "error_after" => q.error_after = Some(count()?),
                "tokens_per_event" => q.tokens_per_event = Some(count_from(1)?),
                "reasoning_tokens" => q.reasoning_tokens = Some(count()?),
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
    /// OpenAI's (vLLM's, SGLang's) `ignore_eos`: answer `max_tokens` tokens whatever the model
    /// would have.
    ignore_eos: bool,
    model: String,
    conversation_id: String,
    /// The prompt's tokens by qpsbench's own estimate ([`estimate_tokens`]): the sum over every
    /// message's content (OpenAI), or the query (Dify).
    prompt_tokens: u64,
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
                ask.ignore_eos = v.get("ignore_eos").and_then(Value::as_bool) == Some(true);
                if let Some(model) = v.get("model").and_then(Value::as_str) {
                    ask.model = model.to_string();
                }
                if let Some(messages) = v.get("messages").and_then(Value::as_array) {
                    ask.prompt_tokens = messages.iter().map(message_tokens).sum();
                }
            }
            Api::Dify => {
                ask.stream = v.get("response_mode").and_then(Value::as_str) == Some("streaming");
                ask.include_usage = true;
                ask.prompt_tokens = v
                    .get("query")
                    .and_then(Value::as_str)
                    .map_or(0, estimate_tokens);
                if let Some(id) = v.get("conversation_id").and_then(Value::as_str) {
                    ask.conversation_id = id.to_string();
                }
            }
        }
        Ok(ask)
    }
}

/// The estimated tokens of a chat message's content (a string, or the sum over its text
/// parts), whatever its role.
fn message_tokens(message: &Value) -> u64 {
    match message.get("content") {
        Some(Value::String(s)) => estimate_tokens(s),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .map(estimate_tokens)
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

/// Answer a chat request that arrived at `arrival` (its head; the body is read here): every
/// event of the answer is scheduled from `arrival`. The route's in-flight guard is held by the
/// caller.
pub(super) async fn chat(
    shared: &Shared,
    api: Api,
    arrival: Instant,
    conn: Arc<ConnTimes>,
    req: Request<Incoming>,
) -> Response<RespBody> {
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
    let size = Size::of(api, cfg, &query, &ask);
    let tokens = size.tokens;
    shared
        .stats
        .record_chat(ask.prompt_tokens, tokens, size.reasoning);
    let n = shared.chat_counter.fetch_add(1, Relaxed);
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let stream = query.stream.unwrap_or(ask.stream);
    // Non-streaming answers carry usage unless it is switched off.
    let usage = match cfg.usage {
        UsageMode::Never => None,
        UsageMode::OnRequest if stream && !ask.include_usage => None,
        UsageMode::OnRequest | UsageMode::Always => {
            Some(Usage::new(ask.prompt_tokens, tokens, size.reasoning))
        }
    };
    let plan = Plan {
        api,
        tokens,
        reasoning: size.reasoning,
        per_event: query
            .tokens_per_event
            .unwrap_or(cfg.tokens_per_event)
            .max(1),
        finish_reason: size.finish_reason,
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
        schedule: Schedule {
            arrival,
            first_token: cfg.first_token,
            interval: cfg.interval,
            jitter: cfg.jitter,
        },
    };
    if stream {
        let body = SseBody::new(plan, &shared.clock, conn);
        let mut resp = Response::new(RespBody::Sse(Box::new(body)));
        let headers = resp.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(EVENT_STREAM));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        resp
    } else {
        // The whole answer comes when its stream's last token would have (the first token's
        // time for an empty answer).
        let due = plan.schedule.walk().due(plan.tokens.saturating_sub(1));
        shared.clock.sleep_until(due).await;
        let body = plan.blocking_answer();
        response(StatusCode::OK, JSON, RespBody::Full(Bytes::from(body)))
    }
}

/// How long an answer is.
#[derive(Debug, PartialEq, Eq)]
struct Size {
    /// Tokens in all, reasoning included.
    tokens: u32,
    /// Of `tokens`, how many are reasoning (OpenAI only).
    reasoning: u32,
    finish_reason: &'static str,
}

impl Size {
    /// The query's `tokens=N` or the configured count; lowered to the body's `max_tokens` (then
    /// `finish_reason` is `length`), or, with `ignore_eos`, exactly `max_tokens` (at most
    /// [`MAX_STREAM_TOKENS`]; `length`), as vLLM and SGLang do. Reasoning is the query's or the
    /// configured count, at most the tokens; none for Dify.
    fn of(api: Api, cfg: &LlmConfig, query: &Query, ask: &Ask) -> Size {
        let mut tokens = query.tokens.unwrap_or(cfg.tokens);
        let mut finish_reason = "stop";
        if let Some(max) = ask.max_tokens {
            let max = u32::try_from(max).unwrap_or(u32::MAX);
            if ask.ignore_eos {
                tokens = max.min(MAX_STREAM_TOKENS);
                finish_reason = "length";
            } else if max < tokens {
                tokens = max;
                finish_reason = "length";
            }
        }
        let reasoning = match api {
            Api::OpenAi => query
                .reasoning_tokens
                .unwrap_or(cfg.reasoning_tokens)
                .min(tokens),
            Api::Dify => 0,
        };
        Size {
            tokens,
            reasoning,
            finish_reason,
        }
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
                stream: Some(true),
                ..Query::default()
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
        assert_eq!(
            Query::parse(Some("tokens_per_event=4&reasoning_tokens=0")).unwrap(),
            Query {
                tokens_per_event: Some(4),
                reasoning_tokens: Some(0),
                ..Query::default()
            }
        );
        assert_eq!(
            Query::parse(Some("reasoning_tokens=100000&tokens_per_event=100000")).unwrap(),
            Query {
                tokens_per_event: Some(100_000),
                reasoning_tokens: Some(100_000),
                ..Query::default()
            }
        );
        for bad in [
            "tokens=-1",
            "tokens=",
            "cut_after=1e3",
            "tokens=100001",
            "stream=maybe",
            "tokens_per_event=0",
            "tokens_per_event=",
            "tokens_per_event=100001",
            "reasoning_tokens=-3",
            "reasoning_tokens=100001",
        ] {
            assert!(Query::parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn prompt_tokens_are_estimated_over_every_message_and_text_part() {
        // Counted by hand: "You are terse." is You|are|terse|. (4); "你好, world!" is 你|好|,|world|!
        // (5); the image part, a null content and the role names count nothing.
        let a = Ask::parse(
            Api::OpenAi,
            r#"{"messages":[
                {"role":"system","content":"You are terse."},
                {"role":"user","content":[{"type":"text","text":"你好, world!"},
                    {"type":"image_url","image_url":{"url":"http://x/y.png"}}]},
                {"role":"assistant","content":null}]}"#
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(a.prompt_tokens, 9);
        // snake_case|x2|++|3|.|14
        let a = Ask::parse(Api::Dify, br#"{"query":"snake_case x2 ++ 3.14"}"#).unwrap();
        assert_eq!(a.prompt_tokens, 6);
        let usage = Usage::new(a.prompt_tokens, 5, 0).json();
        assert_eq!(
            usage,
            r#"{"prompt_tokens":6,"completion_tokens":5,"total_tokens":11}"#
        );
    }

    #[test]
    fn answer_sizes_follow_max_tokens_ignore_eos_and_reasoning() {
        let cfg = LlmConfig {
            tokens: 20,
            reasoning_tokens: 4,
            ..LlmConfig::default()
        };
        let size = |api, query: &str, body: &str| {
            let q = Query::parse(Some(query)).unwrap();
            let a = Ask::parse(api, body.as_bytes()).unwrap();
            let s = Size::of(api, &cfg, &q, &a);
            (s.tokens, s.reasoning, s.finish_reason)
        };
        let openai = Api::OpenAi;
        assert_eq!(size(openai, "", "{}"), (20, 4, "stop"));
        // max_tokens lowers, never raises, without ignore_eos.
        assert_eq!(size(openai, "", r#"{"max_tokens":5}"#), (5, 4, "length"));
        assert_eq!(size(openai, "", r#"{"max_tokens":50}"#), (20, 4, "stop"));
        assert_eq!(size(openai, "", r#"{"max_tokens":20}"#), (20, 4, "stop"));
        // ignore_eos: exactly max_tokens (also above the configured and the query's count).
        let eos = |max: &str| format!(r#"{{"ignore_eos":true,"max_tokens":{max}}}"#);
        assert_eq!(size(openai, "", &eos("50")), (50, 4, "length"));
        assert_eq!(size(openai, "tokens=3", &eos("50")), (50, 4, "length"));
        assert_eq!(size(openai, "", &eos("5")), (5, 4, "length"));
        assert_eq!(size(openai, "", &eos("20")), (20, 4, "length"));
        assert_eq!(size(openai, "", &eos("9999999999")), (100_000, 4, "length"));
        assert_eq!(
            size(
                openai,
                "",
                r#"{"ignore_eos":true,"max_completion_tokens":30}"#
            ),
            (30, 4, "length")
        );
        // ignore_eos without a limit, or false, changes nothing.
        assert_eq!(size(openai, "", r#"{"ignore_eos":true}"#), (20, 4, "stop"));
        assert_eq!(
            size(openai, "", r#"{"ignore_eos":false,"max_tokens":50}"#),
            (20, 4, "stop")
        );
        // Reasoning: the query's count, at most the answer's tokens; none for Dify.
        assert_eq!(size(openai, "reasoning_tokens=9", "{}"), (20, 9, "stop"));
        assert_eq!(size(openai, "reasoning_tokens=30", "{}"), (20, 20, "stop"));
        assert_eq!(size(openai, "tokens=2", "{}"), (2, 2, "stop"));
        assert_eq!(size(Api::Dify, "reasoning_tokens=9", "{}"), (20, 0, "stop"));
        // Dify has no ignore_eos.
        assert_eq!(
            size(Api::Dify, "", r#"{"ignore_eos":true,"max_tokens":50}"#),
            (20, 0, "stop")
        );
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
            (a.max_tokens, a.model.as_str(), a.prompt_tokens),
            (Some(7), "m\"x", 2)
        );
        let a = Ask::parse(Api::OpenAi, br#"{"max_completion_tokens":3}"#).unwrap();
        assert_eq!(a.max_tokens, Some(3));
        let a = Ask::parse(
            Api::Dify,
            br#"{"query":"hello","inputs":{},"response_mode":"streaming","user":"u","conversation_id":"c1"}"#,
        )
        .unwrap();
        assert!(a.stream && a.include_usage);
        assert_eq!((a.prompt_tokens, a.conversation_id.as_str()), (1, "c1"));
        assert!(
            !Ask::parse(Api::Dify, br#"{"response_mode":"blocking"}"#)
                .unwrap()
                .stream
        );
        assert!(Ask::parse(Api::OpenAi, b"{").is_err());
        assert!(Ask::parse(Api::OpenAi, b"[1]").is_err());
    }
}
