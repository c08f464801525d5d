//! Tests of the embedded server over loopback, with ureq and with raw sockets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use super::*;

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
            max_connections: 1
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
    let server = start(ServeConfig {
        delay: Duration::from_millis(30),
        jitter: Duration::from_millis(10),
        error_rate: 1.0,
        ..ServeConfig::ephemeral()
    });
    let agent = agent();
    let t = Instant::now();
    assert_eq!(get(&agent, &server, "/").0, 500);
    assert!(t.elapsed() >= Duration::from_millis(30));
    // Other routes are not affected.
    let t = Instant::now();
    assert_eq!(get(&agent, &server, "/status/200").0, 200);
    assert_eq!(get(&agent, &server, "/delay/0").0, 200);
    assert!(t.elapsed() < Duration::from_millis(30));
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
