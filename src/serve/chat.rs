//! Simulated LLM chat APIs: OpenAI-compatible `/v1/chat/completions` and Dify-style
//! `/v1/chat-messages`, streaming Server-Sent Events or answering in one JSON body.
//!
//! An answer is `n` tokens (words of a fixed text): `n` is [`LlmConfig::tokens`], or the query's
//! `tokens=N`, lowered to the request body's `max_tokens` / `max_completion_tokens` when that is
//! smaller (then `finish_reason` is `length`). Every event is on an absolute schedule from the
//! request's arrival (when its head reached the server: the kernel's receive time on Linux,
//! else the handler's start; before the body is read): token `i` is due at arrival +
//! [`LlmConfig::first_token`] + `i` × [`LlmConfig::interval`], each step plus a uniform random
//! `[0, jitter]`. The server's timer thread (`timer.rs`) puts events on the socket on their
//! deadline to within tens of microseconds, not tokio's millisecond; a non-streaming answer
//! comes when its last token would have. The response head is sent at once, so TTFB ≪ TTFT.
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
use super::config::{MAX_CHAT_BODY, MAX_STREAM_TOKENS, UsageMode};
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
        UsageMode::OnRequest | UsageMode::Always => Some(Usage::new(ask.prompt_tokens, tokens)),
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
        schedule: Schedule {
            arrival,
            first_token: cfg.first_token,
            interval: cfg.interval,
            jitter: cfg.jitter,
        },
    };
    if stream {
        let body = SseBody::new(plan, &shared.clock);
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
        let usage = Usage::new(a.prompt_tokens, 5).json();
        assert_eq!(
            usage,
            r#"{"prompt_tokens":6,"completion_tokens":5,"total_tokens":11}"#
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
