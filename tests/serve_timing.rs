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
