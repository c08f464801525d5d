//! The embedded target as an exact reference for LLM streaming measurements, witnessed by a
//! raw client of this file's own (a `TcpStream`, its own HTTP/1.1 chunked decoder and event
//! splitter, `Instant` at every read): nothing of qpsbench's client is used, so a drift in
//! either side shows here.
//!
//! - Timing: with `first_token` 50 ms and `interval` 10 ms, the median time from the request's
//!   last byte to the first content event is 50 ms within 0.2 ms, and the median gap between
//!   content events 10 ms within 0.2 ms.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use qpsbench::serve::{LlmConfig, ServeConfig, ServerHandle};
use serde_json::Value;

/// The tests of this file one at a time, so that none disturbs the timing of another.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// 50 ms to the first token, 10 ms between tokens, no jitter.
fn timing_server() -> ServerHandle {
    common::server_with(ServeConfig {
        threads: 2,
        llm: LlmConfig {
            first_token: Duration::from_millis(50),
            interval: Duration::from_millis(10),
            jitter: Duration::ZERO,
            ..LlmConfig::default()
        },
        ..ServeConfig::ephemeral()
    })
}

/// One event of an answer: when the read that completed it returned, and its `data:` JSON.
struct Event {
    at: Instant,
    data: Value,
}

/// One streamed answer: when the request's last byte was about to be written, and its events
/// (every `data:` line that is JSON; `[DONE]` is not kept).
struct Answer {
    sent: Instant,
    events: Vec<Event>,
    done: bool,
}

impl Answer {
    /// The OpenAI delta of event `e`, if it is a chunk with a choice.
    fn delta(e: &Event) -> Option<&Value> {
        e.data.pointer("/choices/0/delta")
    }

    /// The events with non-empty `delta.content` or `delta.reasoning_content`.
    fn content_events(&self) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|e| {
                Self::delta(e).is_some_and(|d| {
                    ["content", "reasoning_content"].iter().any(|k| {
                        d.get(k)
                            .and_then(Value::as_str)
                            .is_some_and(|s| !s.is_empty())
                    })
                })
            })
            .collect()
    }

    /// Each content event's (field, text): OpenAI's non-empty `delta.content` or
    /// `delta.reasoning_content`, Dify's `answer` of `message` events.
    fn texts(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        for e in &self.events {
            if e.data["event"] == "message" {
                out.push(("answer", e.data["answer"].as_str().unwrap()));
            }
            let Some(delta) = Self::delta(e) else {
                continue;
            };
            for field in ["reasoning_content", "content"] {
                if let Some(text) = delta.get(field).and_then(Value::as_str)
                    && !text.is_empty()
                {
                    out.push((field, text));
                }
            }
        }
        out
    }

    /// The usage object (OpenAI's last chunk, Dify's `message_end` metadata).
    fn usage(&self) -> &Value {
        self.events
            .iter()
            .find_map(|e| {
                e.data
                    .get("usage")
                    .or_else(|| e.data.pointer("/metadata/usage"))
                    .filter(|u| u.is_object())
            })
            .expect("a usage object")
    }

    /// The `finish_reason` of the OpenAI chunk that has one.
    fn finish_reason(&self) -> &str {
        self.events
            .iter()
            .find_map(|e| e.data.pointer("/choices/0/finish_reason")?.as_str())
            .expect("a finish_reason")
    }
}

/// A keep-alive connection to the server that sends chat requests and reads their streams.
struct Client {
    stream: TcpStream,
    /// Bytes read but not used yet.
    buf: Vec<u8>,
    /// When the last read returned.
    last_read: Instant,
}

impl Client {
    fn connect(srv: &ServerHandle) -> Client {
        let stream = TcpStream::connect(srv.addr).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Client {
            stream,
            buf: Vec::new(),
            last_read: Instant::now(),
        }
    }

    /// POST `body` to `path` and read the whole streamed answer.
    fn stream(&mut self, path: &str, body: &str) -> Answer {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: qpsbench-test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (head, last) = request.as_bytes().split_at(request.len() - 1);
        self.stream.write_all(head).unwrap();
        let sent = Instant::now();
        self.stream.write_all(last).unwrap();
        let mut answer = Answer {
            sent,
            events: Vec::new(),
            done: false,
        };
        // The response head.
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.read_more();
        };
        let head = String::from_utf8(self.buf.drain(..head_end).collect()).unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("transfer-encoding: chunked"),
            "{head}"
        );
        // The chunked body, decoded as it comes; events are split at blank lines.
        let mut text = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = find(&self.buf, b"\r\n") {
                    break i;
                }
                self.read_more();
            };
            let size_line = std::str::from_utf8(&self.buf[..line_end]).unwrap();
            let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16)
                .unwrap_or_else(|_| panic!("bad chunk size line {size_line:?}"));
            while self.buf.len() < line_end + 2 + size + 2 {
                self.read_more();
            }
            let at = self.last_read;
            text.extend_from_slice(&self.buf[line_end + 2..line_end + 2 + size]);
            self.buf.drain(..line_end + 2 + size + 2);
            while let Some(i) = find(&text, b"\n\n") {
                let event: Vec<u8> = text.drain(..i + 2).collect();
                for line in String::from_utf8(event).unwrap().lines() {
                    let Some(data) = line.strip_prefix("data:") else {
                        continue;
                    };
                    let data = data.trim();
                    if data == "[DONE]" {
                        answer.done = true;
                    } else if let Ok(data) = serde_json::from_str(data) {
                        answer.events.push(Event { at, data });
                    }
                }
            }
            if size == 0 {
                return answer;
            }
        }
    }

    fn read_more(&mut self) {
        let mut chunk = [0u8; 16 * 1024];
        let n = self
            .stream
            .read(&mut chunk)
            .expect("the server answers in time");
        assert!(n > 0, "the server closed the connection");
        self.last_read = Instant::now();
        self.buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

const STREAM_BODY: &str = r#"{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Say something."}]}"#;

fn median(mut v: Vec<f64>) -> f64 {
    assert!(!v.is_empty());
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[test]
fn first_token_and_gaps_are_on_time_to_a_fifth_of_a_millisecond() {
    const USERS: usize = 2;
    const ANSWERS_EACH: usize = 15;
    const TOKENS: usize = 10;
    let _one = one_at_a_time();
    let srv = timing_server();
    let path = format!("/v1/chat/completions?tokens={TOKENS}");
    let answers: Vec<Answer> = std::thread::scope(|s| {
        let users: Vec<_> = (0..USERS)
            .map(|_| {
                s.spawn(|| {
                    let mut client = Client::connect(&srv);
                    (0..ANSWERS_EACH)
                        .map(|_| client.stream(&path, STREAM_BODY))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        users.into_iter().flat_map(|u| u.join().unwrap()).collect()
    });
    let mut ttfts = Vec::new();
    let mut gaps = Vec::new();
    for a in &answers {
        assert!(a.done, "every answer ends with [DONE]");
        let content = a.content_events();
        assert_eq!(content.len(), TOKENS);
        ttfts.push(ms(content[0].at - a.sent));
        gaps.extend(content.windows(2).map(|w| ms(w[1].at - w[0].at)));
    }
    let (ttft, gap) = (median(ttfts), median(gaps));
    eprintln!("p50 TTFT {ttft:.3} ms, p50 gap {gap:.3} ms");
    assert!(
        (ttft - 50.0).abs() < 0.2,
        "p50 TTFT {ttft:.3} ms, want 50 ± 0.2"
    );
    assert!(
        (gap - 10.0).abs() < 0.2,
        "p50 gap {gap:.3} ms, want 10 ± 0.2"
    );
}

const DIFY_BODY: &str = r#"{"query":"Say something.","inputs":{},"response_mode":"streaming","user":"u","conversation_id":""}"#;

/// The server's own totals, read over HTTP (`/__stats`, which it does not count).
fn totals(srv: &ServerHandle) -> Value {
    let mut s = TcpStream::connect(srv.addr).unwrap();
    s.write_all(b"GET /__stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    serde_json::from_str(body).expect("/__stats is JSON")
}

/// How much each chat total grew between two `/__stats` readings: (answers, prompt tokens,
/// completion tokens, reasoning tokens).
fn grew(before: &Value, after: &Value) -> (u64, u64, u64, u64) {
    let d = |k: &str| after[k].as_u64().unwrap() - before[k].as_u64().unwrap();
    (
        d("chat_answers"),
        d("prompt_tokens"),
        d("completion_tokens"),
        d("reasoning_tokens"),
    )
}

/// "Say something." is Say|something|. by qpsbench's token estimate, counted by hand.
const PROMPT_TOKENS: u64 = 3;

#[test]
fn tokens_per_event_2_sends_half_the_events_with_two_words_each() {
    let _one = one_at_a_time();
    let srv = timing_server();
    let mut client = Client::connect(&srv);
    for (path, body) in [
        ("/v1/chat/completions", STREAM_BODY),
        ("/v1/chat-messages", DIFY_BODY),
    ] {
        let before = totals(&srv);
        let one = client.stream(&format!("{path}?tokens=10"), body);
        let two = client.stream(&format!("{path}?tokens=10&tokens_per_event=2"), body);
        let odd = client.stream(&format!("{path}?tokens=5&tokens_per_event=2"), body);
        let after = totals(&srv);
        let (one, two, odd) = (one.texts(), two.texts(), odd.texts());
        assert_eq!(one.len(), 10, "{path}: {one:?}");
        assert_eq!(two.len(), 5, "{path}: {two:?}");
        // Each event of two is the text of two consecutive events of one: two words.
        for (k, (_, text)) in two.iter().enumerate() {
            assert_eq!(
                *text,
                format!("{}{}", one[2 * k].1, one[2 * k + 1].1),
                "{path}"
            );
        }
        // 5 tokens: 2, 2, then the last 1.
        let odd: Vec<&str> = odd.iter().map(|(_, t)| *t).collect();
        let want: Vec<String> = [(0, 2), (2, 4), (4, 5)]
            .iter()
            .map(|&(a, b)| one[a..b].iter().map(|(_, t)| *t).collect())
            .collect();
        assert_eq!(odd, want, "{path}");
        // Usage and the server's totals count tokens, not events.
        assert_eq!(
            grew(&before, &after),
            (3, 3 * PROMPT_TOKENS, 25, 0),
            "{path}"
        );
    }
    // Both usage objects say 10 tokens.
    for path in [
        "/v1/chat/completions?tokens=10&tokens_per_event=2",
        "/v1/chat-messages?tokens=10&tokens_per_event=2",
    ] {
        let body = if path.contains("chat-messages") {
            DIFY_BODY
        } else {
            STREAM_BODY
        };
        let a = client.stream(path, body);
        assert_eq!(a.usage()["completion_tokens"], 10, "{path}");
        assert_eq!(a.usage()["prompt_tokens"], PROMPT_TOKENS, "{path}");
    }
}

#[test]
fn reasoning_tokens_3_come_first_as_reasoning_content_and_count_in_the_usage() {
    let _one = one_at_a_time();
    let srv = timing_server();
    let mut client = Client::connect(&srv);
    let before = totals(&srv);
    let a = client.stream(
        "/v1/chat/completions?tokens=8&reasoning_tokens=3",
        STREAM_BODY,
    );
    let after = totals(&srv);
    let plain = client.stream("/v1/chat/completions?tokens=5", STREAM_BODY);
    let texts = a.texts();
    let fields: Vec<&str> = texts.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        fields,
        [
            "reasoning_content",
            "reasoning_content",
            "reasoning_content",
            "content",
            "content",
            "content",
            "content",
            "content"
        ]
    );
    // The answer after the reasoning is the plain answer of the other 5 tokens, and the
    // reasoning is none of its words.
    assert_eq!(texts[3..], plain.texts()[..]);
    for (_, r) in &texts[..3] {
        assert!(!plain.texts().iter().any(|(_, w)| w == r), "{r:?}");
    }
    let usage = a.usage();
    assert_eq!(usage["completion_tokens"], 8);
    assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 3);
    assert!(plain.usage().get("completion_tokens_details").is_none());
    assert_eq!(a.finish_reason(), "stop");
    assert_eq!(grew(&before, &after), (1, PROMPT_TOKENS, 8, 3));

    // More reasoning than tokens: all reasoning. Dify ignores it.
    let a = client.stream(
        "/v1/chat/completions?tokens=4&reasoning_tokens=50",
        STREAM_BODY,
    );
    assert!(a.texts().iter().all(|(f, _)| *f == "reasoning_content"));
    assert_eq!(a.texts().len(), 4);
    assert_eq!(
        a.usage()["completion_tokens_details"]["reasoning_tokens"],
        4
    );
    let before = totals(&srv);
    let d = client.stream("/v1/chat-messages?tokens=4&reasoning_tokens=3", DIFY_BODY);
    assert_eq!(grew(&before, &totals(&srv)), (1, PROMPT_TOKENS, 4, 0));
    assert_eq!(d.texts().len(), 4);
    let words =
        |a: &Answer| -> Vec<String> { a.texts().iter().map(|(_, t)| t.to_string()).collect() };
    assert_eq!(words(&d)[..], words(&plain)[..4]);
    assert!(d.usage().get("completion_tokens_details").is_none());
}

#[test]
fn ignore_eos_answers_exactly_max_tokens() {
    let _one = one_at_a_time();
    let srv = timing_server();
    let mut client = Client::connect(&srv);
    let body = |extra: &str| {
        format!(
            r#"{{"model":"m","stream":true,"stream_options":{{"include_usage":true}},{extra}"messages":[{{"role":"user","content":"Say something."}}]}}"#
        )
    };
    // The server's default answer is 20 tokens; ignore_eos makes 30 of them, and 7.
    for (max, want) in [(30, 30), (7, 7)] {
        let before = totals(&srv);
        let a = client.stream(
            "/v1/chat/completions",
            &body(&format!(r#""ignore_eos":true,"max_tokens":{max},"#)),
        );
        assert_eq!(a.texts().len(), want);
        assert_eq!(a.usage()["completion_tokens"], want);
        assert_eq!(a.finish_reason(), "length");
        assert_eq!(grew(&before, &totals(&srv)).2, want as u64);
    }
    // Without it, max_tokens only lowers.
    let a = client.stream("/v1/chat/completions", &body(r#""max_tokens":30,"#));
    assert_eq!((a.texts().len(), a.finish_reason()), (20, "stop"));
}
