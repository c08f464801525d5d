//! Tests of the embedded server over loopback, with ureq and with raw sockets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use qpsbench::serve::*;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        // 3xx from /status/{code} carry no Location: do not follow (ureq would fail).
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .new_agent()
}

fn start(cfg: ServeConfig) -> ServerHandle {
    spawn(ServeConfig { threads: 2, ..cfg }).expect("server starts")
}

/// GET `path` with `agent`: (status, body).
fn get(agent: &ureq::Agent, server: &ServerHandle, path: &str) -> (u16, Vec<u8>) {
    let mut resp = agent
        .get(format!("{}{path}", server.url()))
        .call()
        .expect("request succeeds");
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_BYTES + 1)
        .read_to_vec()
        .expect("body");
    (resp.status().as_u16(), body)
}

/// Poll `cond` every 5 ms for at most `limit`.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Minimal HTTP/1.1 exchange on a raw keep-alive socket: (status, body).
fn raw_request(stream: &mut TcpStream, request: &[u8]) -> (u16, Vec<u8>) {
    stream.write_all(request).unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut len = 0usize;
    for _ in 0..100 {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            len = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    assert!(reader.buffer().is_empty(), "no bytes beyond the response");
    (status, body)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

#[test]
fn default_and_ephemeral_configs() {
    let d = ServeConfig::default();
    assert_eq!(d.addr, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(
        (d.delay, d.jitter, d.error_rate),
        (Duration::ZERO, Duration::ZERO, 0.0)
    );
    assert!(d.threads >= 1);
    assert!(d.record_header.is_none());
    assert_eq!(
        ServeConfig::ephemeral().addr,
        "127.0.0.1:0".parse().unwrap()
    );
}

#[test]
fn root_answers_hello_and_counts() {
    let server = start(ServeConfig::ephemeral());
    assert_ne!(server.addr.port(), 0);
    let agent = agent();
    let mut resp = agent.get(server.url() + "/").call().unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let headers = resp.headers();
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(headers["content-length"], "12");
    assert_eq!(resp.body_mut().read_to_string().unwrap(), "hello world\n");
    for _ in 0..9 {
        assert_eq!(get(&agent, &server, "/"), (200, b"hello world\n".to_vec()));
    }
    let snap = server.stats.snapshot();
    assert_eq!(snap.requests, 10);
    assert_eq!(snap.in_flight, 0);
    assert_eq!(snap.max_in_flight, 1);
    // One agent, sequential requests: one keep-alive connection.
    assert_eq!(snap.max_connections, 1);
    assert_eq!(snap.connections, 1);
}

#[test]
fn delay_route_waits() {
    let server = start(ServeConfig::ephemeral());
    let agent = agent();
    let t = Instant::now();
    assert_eq!(get(&agent, &server, "/delay/80"), (200, b"ok\n".to_vec()));
    assert!(
        t.elapsed() >= Duration::from_millis(80),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(get(&agent, &server, "/delay/0").0, 200);
    assert_eq!(get(&agent, &server, "/delay/x").0, 400);
    assert_eq!(get(&agent, &server, "/delay/-1").0, 400);
    assert_eq!(
        get(&agent, &server, &format!("/delay/{}", MAX_DELAY_MS + 1)).0,
        400
    );
    assert_eq!(server.stats.snapshot().requests, 5);
}

#[test]
fn status_route() {
    let server = start(ServeConfig::ephemeral());
    let agent = agent();
    let (code, body) = get(&agent, &server, "/status/503");
    assert_eq!(code, 503);
    assert_eq!(body, b"503 Service Unavailable\n");
    for code in [200, 201, 299, 302, 404, 429, 500, 599] {
        assert_eq!(get(&agent, &server, &format!("/status/{code}")).0, code);
    }
    assert_eq!(get(&agent, &server, "/status/204"), (204, Vec::new()));
    assert_eq!(get(&agent, &server, "/status/304"), (304, Vec::new()));
    for bad in [
        "/status/99",
        "/status/199",
        "/status/600",
        "/status/abc",
        "/status/",
    ] {
        assert_eq!(get(&agent, &server, bad).0, 400, "{bad}");
    }
    // The connection survived everything above.
    assert_eq!(server.stats.max_connections.load(Relaxed), 1);
}

#[test]
fn bytes_route() {
    let server = start(ServeConfig::ephemeral());
    let agent = agent();
    for n in [0u64, 1, 1000, 65536, 65537, 1_000_000] {
        let mut resp = agent
            .get(format!("{}/bytes/{n}", server.url()))
            .call()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(resp.headers()["content-length"], n.to_string().as_str());
        assert_eq!(resp.headers()["content-type"], "application/octet-stream");
        let body = resp
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .unwrap();
        assert_eq!(body.len() as u64, n);
    }
    let (code, body) = get(&agent, &server, &format!("/bytes/{MAX_BYTES}"));
    assert_eq!((code, body.len() as u64), (200, MAX_BYTES));
    assert_eq!(
        get(&agent, &server, &format!("/bytes/{}", MAX_BYTES + 1)).0,
        400
    );
    assert_eq!(get(&agent, &server, "/bytes/lots").0, 400);
}

#[test]
fn unknown_paths_are_404_and_counted() {
    let server = start(ServeConfig::ephemeral());
    let agent = agent();
    for path in ["/nope", "/delay", "/bytes", "/status", "/__stats/x", "//"] {
        assert_eq!(
            get(&agent, &server, path),
            (404, b"not found\n".to_vec()),
            "{path}"
        );
    }
    // The query string does not change the route.
    assert_eq!(get(&agent, &server, "/?a=1").0, 200);
    assert_eq!(server.stats.snapshot().requests, 7);
}

#[test]
fn stats_route_is_json_and_not_counted() {
    let server = start(ServeConfig::ephemeral());
    let agent = agent();
    get(&agent, &server, "/");
    get(&agent, &server, "/nope");
    let mut resp = agent.get(server.url() + "/__stats").call().unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let snap: StatsSnapshot =
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(
        snap,
        StatsSnapshot {
            requests: 2,
            in_flight: 0,
            max_in_flight: 1,
            connections: 1,
            max_connections: 1,
            chat_answers: 0,
            prompt_tokens: 0,
            completion_tokens: 0,
            reasoning_tokens: 0,
        }
    );
    let (_, body) = get(&agent, &server, "/__stats");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["requests"], 2);
    assert!(v.get("header_counts").is_none());
    assert_eq!(server.stats.snapshot().requests, 2);
}

#[test]
fn in_flight_tracks_concurrent_requests() {
    const N: u64 = 8;
    let server = start(ServeConfig::ephemeral());
    let url = format!("{}/delay/400", server.url());
    let threads: Vec<_> = (0..N)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut resp = agent().get(&url).call().unwrap();
                resp.body_mut().read_to_string().unwrap();
                resp.status().as_u16()
            })
        })
        .collect();
    let stats = &server.stats;
    assert!(
        wait_until(Duration::from_secs(5), || stats.in_flight.load(Relaxed)
            == N),
        "in flight: {:?}",
        stats.snapshot()
    );
    assert_eq!(stats.connections.load(Relaxed), N);
    for t in threads {
        assert_eq!(t.join().unwrap(), 200);
    }
    let snap = stats.snapshot();
    assert_eq!(
        (snap.requests, snap.in_flight, snap.max_in_flight),
        (N, 0, N)
    );
    assert_eq!(snap.max_connections, N);

    stats.reset_max();
    // The agents (and their connections) are gone with their threads.
    assert!(wait_until(Duration::from_secs(5), || stats
        .connections
        .load(Relaxed)
        == 0));
    stats.reset_max();
    let snap = stats.snapshot();
    assert_eq!((snap.max_in_flight, snap.max_connections), (0, 0));
}

#[test]
fn global_delay_jitter_and_error_rate_apply_to_root() {
    // A delay long enough that "not delayed" needs no fast machine to show.
    let server = start(ServeConfig {
        delay: Duration::from_millis(600),
        jitter: Duration::from_millis(10),
        error_rate: 1.0,
        ..ServeConfig::ephemeral()
    });
    let agent = agent();
    let t = Instant::now();
    assert_eq!(get(&agent, &server, "/").0, 500);
    assert!(t.elapsed() >= Duration::from_millis(600));
    // Other routes are not affected: two of them take less than one delayed answer.
    let t = Instant::now();
    assert_eq!(get(&agent, &server, "/status/200").0, 200);
    assert_eq!(get(&agent, &server, "/delay/0").0, 200);
    assert!(
        t.elapsed() < Duration::from_millis(600),
        "{:?}",
        t.elapsed()
    );
    drop(server);

    let server = start(ServeConfig {
        error_rate: 0.5,
        ..ServeConfig::ephemeral()
    });
    let errors = (0..200)
        .filter(|_| get(&agent, &server, "/").0 == 500)
        .count();
    assert!((30..=170).contains(&errors), "{errors} errors of 200");
}

#[test]
fn header_values_are_counted_when_configured() {
    let server = start(ServeConfig {
        record_header: Some("X-Api-Key".into()),
        ..ServeConfig::ephemeral()
    });
    let agent = agent();
    for key in ["alpha", "alpha", "beta", "alpha"] {
        let resp = agent
            .get(server.url() + "/nope")
            .header("x-api-key", key)
            .call()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 404);
    }
    get(&agent, &server, "/");
    let counts = server.stats.header_counts();
    assert_eq!(counts.len(), 2);
    assert_eq!(counts["alpha"], 3);
    assert_eq!(server.stats.header_count("beta"), 1);
    assert_eq!(server.stats.header_count("gamma"), 0);
    let (_, body) = get(&agent, &server, "/__stats");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["header_counts"],
        serde_json::json!({"alpha": 3, "beta": 1})
    );
    server.stats.clear_header_counts();
    assert!(server.stats.header_counts().is_empty());

    // Not configured: nothing is recorded.
    let plain = start(ServeConfig::ephemeral());
    agent
        .get(plain.url() + "/")
        .header("x-api-key", "alpha")
        .call()
        .unwrap();
    assert!(plain.stats.header_counts().is_empty());
}

#[test]
fn request_bodies_are_drained_and_keep_alive_kept() {
    let server = start(ServeConfig::ephemeral());
    let mut stream = connect(server.addr);
    let body = vec![b'a'; 300_000];
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    assert_eq!(
        raw_request(&mut stream, &request),
        (200, b"hello world\n".to_vec())
    );
    let chunked = b"PUT /status/201 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
                    5\r\nhello\r\n0\r\n\r\n";
    assert_eq!(raw_request(&mut stream, chunked).0, 201);
    let get = b"GET /bytes/5 HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(raw_request(&mut stream, get), (200, b"xxxxx".to_vec()));
    let snap = server.stats.snapshot();
    assert_eq!((snap.requests, snap.max_connections), (3, 1));
}

#[test]
fn stop_is_prompt_with_idle_keep_alive_connections() {
    const CONNS: usize = 200;
    let server = start(ServeConfig::ephemeral());
    let mut streams: Vec<TcpStream> = (0..CONNS).map(|_| connect(server.addr)).collect();
    for s in &mut streams[..20] {
        let (code, _) = raw_request(s, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(code, 200);
    }
    // One request is still in progress when the server stops.
    let mut slow = connect(server.addr);
    slow.write_all(b"GET /delay/60000 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let stats = Arc::clone(&server.stats);
    assert!(wait_until(Duration::from_secs(5), || {
        stats.connections.load(Relaxed) == CONNS as u64 + 1 && stats.in_flight.load(Relaxed) == 1
    }));

    let addr = server.addr;
    let t = Instant::now();
    server.stop();
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "stop took {:?}",
        t.elapsed()
    );
    let snap = stats.snapshot();
    assert_eq!((snap.connections, snap.in_flight), (0, 0));
    // Every client socket sees the close.
    for s in streams.iter_mut().chain(std::iter::once(&mut slow)) {
        let mut buf = [0u8; 16];
        match s.read(&mut buf) {
            Ok(n) => assert_eq!(n, 0),
            Err(e) => assert_ne!(e.kind(), std::io::ErrorKind::WouldBlock, "still open"),
        }
    }
    // And nobody listens any more.
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}

#[test]
fn drop_shuts_down() {
    let server = start(ServeConfig::ephemeral());
    let stats = Arc::clone(&server.stats);
    let mut stream = connect(server.addr);
    assert_eq!(
        raw_request(&mut stream, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").0,
        200
    );
    let t = Instant::now();
    drop(server);
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(stats.connections.load(Relaxed), 0);
    let mut buf = [0u8; 1];
    assert!(matches!(stream.read(&mut buf), Ok(0) | Err(_)));
}

#[test]
fn bind_failure_is_an_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = spawn(ServeConfig {
        addr,
        ..ServeConfig::ephemeral()
    })
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    assert!(err.to_string().contains(&addr.to_string()), "{err}");

    let err = run_blocking(ServeConfig {
        addr,
        ..ServeConfig::ephemeral()
    })
    .unwrap_err();
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[test]
fn invalid_config_is_an_error() {
    let bad_header = ServeConfig {
        record_header: Some("bad header".into()),
        ..ServeConfig::ephemeral()
    };
    assert_eq!(
        spawn(bad_header).unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
    for rate in [-0.1, 1.5, f64::NAN] {
        let cfg = ServeConfig {
            error_rate: rate,
            ..ServeConfig::ephemeral()
        };
        assert_eq!(
            spawn(cfg).unwrap_err().kind(),
            std::io::ErrorKind::InvalidInput
        );
    }
}

#[test]
fn many_concurrent_connections() {
    const CONNS: usize = 1000;
    let server = start(ServeConfig::ephemeral());
    let mut streams: Vec<TcpStream> = (0..CONNS).map(|_| connect(server.addr)).collect();
    for s in &mut streams {
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    }
    for s in &mut streams {
        assert_eq!(raw_request(s, b"").0, 200);
    }
    let snap = server.stats.snapshot();
    assert_eq!(
        (snap.requests, snap.connections),
        (CONNS as u64, CONNS as u64)
    );
}

// --- LLM chat routes ---------------------------------------------------------------------------

use qpsbench::stream::{
    ContentFormat, EndReason, StreamClose, StreamMeter, StreamStats, TokenSource,
};

/// 50 ms to the first token, 20 tokens 10 ms apart (the defaults, spelled out).
fn llm_server() -> ServerHandle {
    start(ServeConfig {
        llm: LlmConfig {
            first_token: Duration::from_millis(50),
            tokens: 20,
            interval: Duration::from_millis(10),
            jitter: Duration::ZERO,
            usage: UsageMode::OnRequest,
            ..LlmConfig::default()
        },
        ..ServeConfig::ephemeral()
    })
}

/// What a streamed request gave.
struct Streamed {
    status: u16,
    content_type: String,
    stats: StreamStats,
    /// Every ITL in microseconds.
    gaps: Vec<u32>,
    /// The raw body.
    body: Vec<u8>,
}

/// POST `body` to `path` and read the answer as a stream, timestamping every read.
fn post_stream(
    agent: &ureq::Agent,
    server: &ServerHandle,
    path: &str,
    body: &str,
    format: ContentFormat,
) -> Streamed {
    let sent = Instant::now();
    let mut resp = agent
        .post(format!("{}{path}", server.url()))
        .header("Content-Type", "application/json")
        .send(body)
        .expect("response head");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let mut meter = StreamMeter::new(format);
    meter.start(sent);
    let mut gaps = Vec::new();
    let mut on_itl = |g| gaps.push(g);
    let mut raw = Vec::new();
    let mut reader = resp.body_mut().as_reader();
    let mut buf = [0u8; 4096];
    let mut close = StreamClose::Eof;
    for _ in 0..100_000 {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                meter.feed(Instant::now(), &buf[..n], &mut on_itl).unwrap();
            }
            Err(e) => {
                close = match qpsbench::sample::classify_io(&e) {
                    qpsbench::sample::FailureKind::Timeout => StreamClose::Timeout,
                    _ => StreamClose::Broken,
                };
                break;
            }
        }
    }
    let stats = meter.finish(Instant::now(), close, &mut on_itl);
    Streamed {
        status,
        content_type,
        stats,
        gaps,
        body: raw,
    }
}

const OPENAI_STREAM: &str = r#"{"model":"test-model","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Say something."}]}"#;
const DIFY_STREAM: &str = r#"{"query":"Say something.","inputs":{},"response_mode":"streaming","user":"u1","conversation_id":""}"#;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// TTFT ≈ 50 ms, ITL and TPOT ≈ 10 ms, with tolerances a loaded machine keeps.
fn assert_llm_timings(s: &StreamStats, gaps: &[u32]) {
    let ttft = s.ttft.expect("content arrived");
    assert!(ttft >= ms(49) && ttft < ms(1000), "ttft {ttft:?}");
    assert_eq!(gaps.len(), 19);
    assert_eq!(s.itl_count, 19);
    assert_eq!(
        gaps.iter().map(|&g| u64::from(g)).sum::<u64>(),
        s.itl_sum_us
    );
    // The server keeps an absolute schedule: the gaps add up to 19 intervals even when
    // single ones are late.
    let mean = s.itl_mean().unwrap();
    assert!(mean >= ms(8) && mean < ms(60), "itl mean {mean:?}");
    let tpot = s.tpot().unwrap();
    assert!(tpot >= ms(8) && tpot < ms(60), "tpot {tpot:?}");
    let rate = s.tokens_per_sec().unwrap();
    assert!(rate > 10.0 && rate <= 20.0 / 0.24, "tokens/s {rate}");
}

#[test]
fn openai_stream_has_20_tokens_and_the_configured_timings() {
    let server = llm_server();
    let agent = agent();
    let r = post_stream(
        &agent,
        &server,
        "/v1/chat/completions",
        OPENAI_STREAM,
        ContentFormat::OpenAi,
    );
    assert_eq!(r.status, 200);
    assert!(
        r.content_type.starts_with("text/event-stream"),
        "{}",
        r.content_type
    );
    let s = r.stats;
    assert_eq!((s.tokens(), s.token_source()), (20, TokenSource::Usage));
    assert_eq!(s.content_events, 20);
    assert_eq!(s.end, EndReason::Done);
    assert_llm_timings(&s, &r.gaps);
    let body = String::from_utf8(r.body).unwrap();
    assert!(body.contains(r#""model":"test-model""#));
    assert!(body.contains(r#""role":"assistant""#));
    assert!(body.contains(r#""finish_reason":"stop""#));
    // "Say something." is Say|something|. by qpsbench's token estimate.
    assert!(
        body.contains(r#""usage":{"prompt_tokens":3,"completion_tokens":20,"total_tokens":23}"#),
        "{body}"
    );
    assert!(body.ends_with("data: [DONE]\n\n"));
    assert_eq!(server.stats.snapshot().in_flight, 0);
}

#[test]
fn openai_stream_without_usage_counts_events_and_honours_max_tokens() {
    let server = llm_server();
    let agent = agent();
    let r = post_stream(
        &agent,
        &server,
        "/v1/chat/completions",
        r#"{"stream":true,"max_tokens":5,"messages":[]}"#,
        ContentFormat::OpenAi,
    );
    let s = r.stats;
    assert_eq!((s.tokens(), s.token_source()), (5, TokenSource::Estimate));
    assert_eq!(s.end, EndReason::Done);
    let body = String::from_utf8(r.body).unwrap();
    assert!(!body.contains("usage"), "{body}");
    assert!(body.contains(r#""finish_reason":"length""#));
    // max_tokens above the configured answer does not lengthen it; ?tokens= does.
    let r = post_stream(
        &agent,
        &server,
        "/v1/chat/completions?tokens=3",
        r#"{"stream":true,"max_completion_tokens":50}"#,
        ContentFormat::OpenAi,
    );
    assert_eq!(r.stats.tokens(), 3);
    // A generic content path reads the same stream.
    let r = post_stream(
        &agent,
        &server,
        "/v1/chat/completions?tokens=4",
        OPENAI_STREAM,
        ContentFormat::path("choices.0.delta.content", Some("usage.completion_tokens")).unwrap(),
    );
    assert_eq!(
        (
            r.stats.tokens(),
            r.stats.content_events,
            r.stats.token_source()
        ),
        (4, 4, TokenSource::Usage)
    );
    assert_eq!(r.stats.end, EndReason::Done);
}

#[test]
fn dify_stream_has_20_tokens_and_the_configured_timings() {
    let server = llm_server();
    let agent = agent();
    let r = post_stream(
        &agent,
        &server,
        "/v1/chat-messages",
        DIFY_STREAM,
        ContentFormat::Dify,
    );
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("text/event-stream"));
    let s = r.stats;
    assert_eq!((s.tokens(), s.token_source()), (20, TokenSource::Usage));
    assert_eq!(s.content_events, 20);
    assert_eq!(s.end, EndReason::Done);
    assert_llm_timings(&s, &r.gaps);
    let body = String::from_utf8(r.body).unwrap();
    assert!(body.starts_with("event: ping\n\n"));
    assert!(body.contains(r#""event":"message_end""#));
    assert!(body.contains(r#""completion_tokens":20"#));
}

#[test]
fn cut_streams_end_as_cut_with_the_tokens_so_far() {
    let server = llm_server();
    let agent = agent();
    for (path, body, format) in [
        (
            "/v1/chat/completions?cut_after=5",
            OPENAI_STREAM,
            ContentFormat::OpenAi,
        ),
        (
            "/v1/chat-messages?cut_after=5",
            DIFY_STREAM,
            ContentFormat::Dify,
        ),
    ] {
        let r = post_stream(&agent, &server, path, body, format);
        assert_eq!(r.status, 200);
        assert_eq!(r.stats.end, EndReason::Cut, "{path}");
        assert_eq!(
            (r.stats.tokens(), r.stats.token_source()),
            (5, TokenSource::Estimate)
        );
        assert!(r.stats.ttft.is_some());
    }
    // cut_after=0: the head, then nothing; cut_after=tokens: every token, no end event.
    let r = post_stream(
        &agent,
        &server,
        "/v1/chat/completions?cut_after=0",
        OPENAI_STREAM,
        ContentFormat::OpenAi,
    );
    assert_eq!(
        (r.stats.end, r.stats.tokens(), r.stats.ttft),
        (EndReason::Cut, 0, None)
    );
    let r = post_stream(
        &agent,
        &server,
        "/v1/chat/completions?tokens=3&cut_after=3",
        OPENAI_STREAM,
        ContentFormat::OpenAi,
    );
    assert_eq!((r.stats.end, r.stats.tokens()), (EndReason::Cut, 3));
    // The server is fine afterwards.
    let r = post_stream(
        &agent,
        &server,
        "/v1/chat/completions?tokens=2",
        OPENAI_STREAM,
        ContentFormat::OpenAi,
    );
    assert_eq!((r.stats.end, r.stats.tokens()), (EndReason::Done, 2));
}

#[test]
fn error_events_end_the_stream() {
    let server = llm_server();
    let agent = agent();
    for (path, body, format) in [
        (
            "/v1/chat/completions?error_after=3",
            OPENAI_STREAM,
            ContentFormat::OpenAi,
        ),
        (
            "/v1/chat-messages?error_after=3",
            DIFY_STREAM,
            ContentFormat::Dify,
        ),
    ] {
        let r = post_stream(&agent, &server, path, body, format);
        assert_eq!(r.stats.end, EndReason::ErrorEvent, "{path}");
        assert_eq!(
            (r.stats.tokens(), r.stats.token_source()),
            (3, TokenSource::Estimate)
        );
    }
}

#[test]
fn streams_keep_the_connection_alive() {
    let server = start(ServeConfig {
        llm: LlmConfig {
            first_token: Duration::ZERO,
            interval: Duration::ZERO,
            tokens: 1000,
            ..LlmConfig::default()
        },
        ..ServeConfig::ephemeral()
    });
    let agent = agent();
    for _ in 0..5 {
        let r = post_stream(
            &agent,
            &server,
            "/v1/chat/completions",
            OPENAI_STREAM,
            ContentFormat::OpenAi,
        );
        assert_eq!(
            (r.stats.tokens(), r.stats.content_events, r.stats.end),
            (1000, 1000, EndReason::Done)
        );
        let r = post_stream(
            &agent,
            &server,
            "/v1/chat-messages",
            DIFY_STREAM,
            ContentFormat::Dify,
        );
        assert_eq!((r.stats.tokens(), r.stats.end), (1000, EndReason::Done));
    }
    let snap = server.stats.snapshot();
    assert_eq!(
        (snap.requests, snap.max_connections, snap.in_flight),
        (10, 1, 0)
    );
}

#[test]
fn jitter_only_lengthens_the_gaps() {
    let server = start(ServeConfig {
        llm: LlmConfig {
            first_token: ms(20),
            tokens: 10,
            interval: ms(5),
            jitter: ms(10),
            usage: UsageMode::Never,
            ..LlmConfig::default()
        },
        ..ServeConfig::ephemeral()
    });
    let agent = agent();
    let r = post_stream(
        &agent,
        &server,
        "/v1/chat/completions",
        OPENAI_STREAM,
        ContentFormat::OpenAi,
    );
    let s = r.stats;
    assert_eq!((s.tokens(), s.token_source()), (10, TokenSource::Estimate));
    assert!(s.ttft.unwrap() >= ms(19));
    let mean = s.itl_mean().unwrap();
    assert!(mean >= ms(4) && mean < ms(60), "itl mean {mean:?}");
    // Usage switched off: not even when asked for.
    assert!(!String::from_utf8(r.body).unwrap().contains("usage"));
}

#[test]
fn non_streaming_answers() {
    let server = llm_server();
    let agent = agent();
    let post = |path: &str, body: &str| {
        let t0 = Instant::now();
        let mut resp = agent
            .post(format!("{}{path}", server.url()))
            .send(body.to_string())
            .unwrap();
        let status = resp.status().as_u16();
        let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
        let v: serde_json::Value =
            serde_json::from_slice(&resp.body_mut().read_to_vec().unwrap()).unwrap();
        (status, ct, v, t0.elapsed())
    };
    // 50 ms + 4 × 10 ms for 5 tokens.
    let (status, ct, v, took) = post(
        "/v1/chat/completions?tokens=5",
        r#"{"model":"m","stream":false}"#,
    );
    assert_eq!((status, ct.as_str()), (200, "application/json"));
    assert!(took >= ms(89), "{took:?}");
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "m");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "The quick brown fox jumps"
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["completion_tokens"], 5);
    // No body at all: not streamed either.
    let (_, _, v, _) = post("/v1/chat/completions?tokens=1", "");
    assert_eq!(v["choices"][0]["message"]["content"], "The");
    // ?stream=false wins over the body.
    let (_, ct, _, _) = post("/v1/chat/completions?tokens=1&stream=false", OPENAI_STREAM);
    assert_eq!(ct, "application/json");
    // Dify blocking mode.
    let (status, _, v, _) = post(
        "/v1/chat-messages?tokens=2",
        r#"{"query":"q","inputs":{},"response_mode":"blocking","user":"u","conversation_id":"abc"}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(v["answer"], "The quick");
    assert_eq!(v["conversation_id"], "abc");
    assert_eq!(v["metadata"]["usage"]["completion_tokens"], 2);
}

#[test]
fn bad_chat_requests_are_400_or_413() {
    let server = llm_server();
    let agent = agent();
    let post = |path: &str, body: Vec<u8>| {
        let mut resp = agent
            .post(format!("{}{path}", server.url()))
            .send(&body[..])
            .unwrap();
        let status = resp.status().as_u16();
        let v: serde_json::Value =
            serde_json::from_slice(&resp.body_mut().read_to_vec().unwrap()).unwrap();
        (status, v)
    };
    let (status, v) = post("/v1/chat/completions", b"{not json".to_vec());
    assert_eq!(status, 400);
    assert!(v["error"]["message"].as_str().unwrap().contains("JSON"));
    let (status, v) = post("/v1/chat-messages?tokens=many", b"{}".to_vec());
    assert_eq!(status, 400);
    assert_eq!(v["code"], "invalid_param");
    let (status, _) = post("/v1/chat/completions", vec![b' '; MAX_CHAT_BODY + 1]);
    assert_eq!(status, 413);
    // The connection stays usable.
    let (status, _) = post("/v1/chat/completions?tokens=1", b"{}".to_vec());
    assert_eq!(status, 200);
}

#[test]
fn invalid_llm_config_is_an_error() {
    let cfg = ServeConfig {
        llm: LlmConfig {
            tokens: MAX_STREAM_TOKENS + 1,
            ..LlmConfig::default()
        },
        ..ServeConfig::ephemeral()
    };
    assert_eq!(
        spawn(cfg).unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
    let d = ServeConfig::default().llm;
    assert_eq!(
        (d.first_token, d.tokens, d.interval, d.jitter, d.usage),
        (ms(50), 20, ms(10), Duration::ZERO, UsageMode::OnRequest)
    );
}

#[test]
fn stop_cuts_streams_in_progress() {
    let server = start(ServeConfig {
        llm: LlmConfig {
            first_token: Duration::ZERO,
            tokens: 10_000,
            interval: ms(10),
            ..LlmConfig::default()
        },
        ..ServeConfig::ephemeral()
    });
    let url = server.url();
    let reader = std::thread::spawn(move || {
        let agent = agent();
        let mut resp = agent
            .post(format!("{url}/v1/chat/completions"))
            .send(OPENAI_STREAM)
            .unwrap();
        let mut buf = [0u8; 1024];
        let mut r = resp.body_mut().as_reader();
        for _ in 0..100_000 {
            match r.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    });
    assert!(wait_until(Duration::from_secs(5), || server
        .stats
        .snapshot()
        .requests
        == 1));
    std::thread::sleep(ms(50));
    let t0 = Instant::now();
    server.stop();
    assert!(t0.elapsed() < Duration::from_secs(3));
    assert!(reader.join().unwrap().is_err(), "the client sees the cut");
}

#[test]
fn cut_or_error_later_than_the_answer_changes_nothing_and_empty_answers_wait() {
    let server = llm_server();
    let agent = agent();
    for q in [
        "cut_after=2",
        "error_after=2",
        "cut_after=9",
        "error_after=9",
    ] {
        let r = post_stream(
            &agent,
            &server,
            &format!("/v1/chat/completions?tokens=4&{q}"),
            OPENAI_STREAM,
            ContentFormat::OpenAi,
        );
        let want = match q {
            "cut_after=2" => (EndReason::Cut, 2),
            "error_after=2" => (EndReason::ErrorEvent, 2),
            _ => (EndReason::Done, 4),
        };
        assert_eq!((r.stats.end, r.stats.tokens()), want, "{q}");
        assert_eq!(r.stats.content_events as u64, want.1, "{q}");
    }
    // No tokens: the end comes after the first-token delay, with no content.
    let r = post_stream(
        &agent,
        &server,
        "/v1/chat/completions?tokens=0",
        OPENAI_STREAM,
        ContentFormat::OpenAi,
    );
    assert_eq!(
        (r.stats.end, r.stats.tokens(), r.stats.ttft),
        (EndReason::Done, 0, None)
    );
    assert!(r.stats.total >= ms(49), "{:?}", r.stats.total);
}
