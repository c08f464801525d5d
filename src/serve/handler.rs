//! Accept loop, routing and the plain routes of the embedded server.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpListener;

use super::body::{RespBody, response};
use super::chat::chat;
use super::config::{MAX_BYTES, MAX_DELAY_MS};
use super::conn::{ConnTimes, TimedStream, received_at};
use super::state::{Shared, StatsSnapshot};
use super::tokens::{Api, random_upto};

const HELLO: &[u8] = b"hello world\n";

const OK: &[u8] = b"ok\n";

const SERVER_ERROR: &[u8] = b"internal server error\n";

const NOT_FOUND: &[u8] = b"not found\n";

const TEXT: &str = "text/plain; charset=utf-8";

const JSON: &str = "application/json";

const OCTETS: &str = "application/octet-stream";

/// Accept connections until the runtime is shut down (which cancels this task and every
/// connection task).
pub(super) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut builder = http1::Builder::new();
    builder
        .keep_alive(true)
        // No timer is set: the default 30 s header-read timeout would also close idle
        // keep-alive connections, which a load generator's users hold on purpose.
        .header_read_timeout(None)
        .pipeline_flush(true);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                if !is_per_connection(&e) {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let guard = shared.stats.enter_connection();
        let shared = Arc::clone(&shared);
        let times = Arc::new(ConnTimes::default());
        let stream = TimedStream::new(stream, Arc::clone(&times));
        let conn = builder.serve_connection(
            TokioIo::new(stream),
            service_fn(move |req| {
                // hyper calls this as soon as it has parsed the request head, so the last read
                // is the one that completed the head (or a later one of the same request).
                let received = times.received();
                handle(Arc::clone(&shared), Arc::clone(&times), received, req)
            }),
        );
        tokio::spawn(async move {
            // Client resets and protocol errors only end this connection.
            let _ = conn.await;
            drop(guard);
        });
    }
}

fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// A parsed request path.
enum Route {
    Root,
    Delay(u64),
    Status(StatusCode),
    Bytes(u64),
    Stats,
    /// `/mix/200,200,404,503`: the n-th request to any `/mix` path gets code n mod len.
    Mix(Vec<StatusCode>),
    /// `/flaky/503`: per key, odd-numbered requests get the code, even-numbered ones 200.
    Flaky(StatusCode),
    /// `/v1/chat/completions` (OpenAI) or `/v1/chat-messages` (Dify): see [`sse`].
    Chat(Api),
    BadRequest(&'static str),
    NotFound,
}

impl Route {
    fn parse(path: &str) -> Route {
        if path == "/" {
            return Route::Root;
        }
        if path == "/__stats" {
            return Route::Stats;
        }
        if path == "/v1/chat/completions" {
            return Route::Chat(Api::OpenAi);
        }
        if path == "/v1/chat-messages" {
            return Route::Chat(Api::Dify);
        }
        if let Some(ms) = path.strip_prefix("/delay/") {
            return match ms.parse::<u64>() {
                Ok(ms) if ms <= MAX_DELAY_MS => Route::Delay(ms),
                _ => Route::BadRequest("bad delay: use /delay/{milliseconds}, at most 600000\n"),
            };
        }
        if let Some(code) = path.strip_prefix("/status/") {
            return match code.parse::<u16>() {
                Ok(code @ 200..=599) => match StatusCode::from_u16(code) {
                    Ok(code) => Route::Status(code),
                    Err(_) => Route::BadRequest("bad status: use /status/{200..599}\n"),
                },
                _ => Route::BadRequest("bad status: use /status/{200..599}\n"),
            };
        }
        if let Some(n) = path.strip_prefix("/bytes/") {
            return match n.parse::<u64>() {
                Ok(n) if n <= MAX_BYTES => Route::Bytes(n),
                _ => Route::BadRequest("bad size: use /bytes/{n}, at most 67108864\n"),
            };
        }
        if let Some(code) = path.strip_prefix("/flaky/") {
            return match code
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
            {
                Some(code) if (200..=599).contains(&code.as_u16()) => Route::Flaky(code),
                _ => Route::BadRequest("bad flaky: use /flaky/{200..599}\n"),
            };
        }
        if let Some(list) = path.strip_prefix("/mix/") {
            let codes: Option<Vec<StatusCode>> = list
                .split(',')
                .map(|c| match c.parse::<u16>() {
                    Ok(c @ 200..=599) => StatusCode::from_u16(c).ok(),
                    _ => None,
                })
                .collect();
            return match codes {
                Some(codes) if !codes.is_empty() && codes.len() <= 1000 => Route::Mix(codes),
                _ => Route::BadRequest("bad mix: use /mix/{code},{code},... with codes 200..599\n"),
            };
        }
        Route::NotFound
    }
}

/// Answer one request on a connection with these `times`; `received` is when its head reached
/// the socket, if the kernel said.
async fn handle(
    shared: Arc<Shared>,
    times: Arc<ConnTimes>,
    received: Option<SystemTime>,
    req: Request<Incoming>,
) -> Result<Response<RespBody>, Infallible> {
    let route = Route::parse(req.uri().path());
    if let Route::Stats = route {
        drain(req.into_body()).await;
        return Ok(stats_response(&shared));
    }
    let stats = &shared.stats;
    let _in_flight = stats.enter_request();
    if let Some(name) = &shared.record_header {
        // Every value: a header sent twice is counted twice.
        for value in req.headers().get_all(name) {
            stats.record_header(value);
        }
    }
    if let Route::Chat(api) = route {
        let arrival = received.and_then(received_at).unwrap_or_else(Instant::now);
        return Ok(chat(&shared, api, arrival, times, req).await);
    }
    let flaky_key = match route {
        Route::Flaky(_) => Some(match req.headers().get("x-flaky-key") {
            Some(v) => String::from_utf8_lossy(v.as_bytes()).into_owned(),
            None => req
                .uri()
                .path_and_query()
                .map_or("", |p| p.as_str())
                .to_string(),
        }),
        _ => None,
    };
    drain(req.into_body()).await;

    let response = match route {
        Route::Root => {
            let wait = shared.delay + random_upto(shared.jitter);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            if shared.error_rate > 0.0 && fastrand::f64() < shared.error_rate {
                text(StatusCode::INTERNAL_SERVER_ERROR, SERVER_ERROR)
            } else {
                text(StatusCode::OK, HELLO)
            }
        }
        Route::Delay(ms) => {
            if ms > 0 {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            text(StatusCode::OK, OK)
        }
        Route::Status(code) => status_response(code),
        Route::Mix(codes) => {
            let n = shared
                .mix_counter
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            status_response(codes[(n % codes.len() as u64) as usize])
        }
        Route::Flaky(code) => {
            let seen = {
                let mut counts = shared.flaky.lock();
                let n = counts.entry(flaky_key.unwrap_or_default()).or_insert(0);
                *n += 1;
                *n
            };
            if seen % 2 == 1 {
                status_response(code)
            } else {
                text(StatusCode::OK, OK)
            }
        }
        Route::Bytes(n) => response(StatusCode::OK, OCTETS, RespBody::Filler(n)),
        Route::BadRequest(why) => text(StatusCode::BAD_REQUEST, why.as_bytes()),
        Route::NotFound => text(StatusCode::NOT_FOUND, NOT_FOUND),
        Route::Stats | Route::Chat(_) => unreachable!("answered above"),
    };
    Ok(response)
}

/// Read and discard a request body, so the connection stays usable for keep-alive.
async fn drain(mut body: Incoming) {
    if body.is_end_stream() {
        return;
    }
    while let Some(frame) = body.frame().await {
        if frame.is_err() {
            break;
        }
    }
}

fn text(status: StatusCode, body: &'static [u8]) -> Response<RespBody> {
    response(status, TEXT, RespBody::Full(Bytes::from_static(body)))
}

fn status_response(code: StatusCode) -> Response<RespBody> {
    // These statuses must not carry a body.
    if matches!(code.as_u16(), 204 | 205 | 304) {
        let mut resp = Response::new(RespBody::Full(Bytes::new()));
        *resp.status_mut() = code;
        return resp;
    }
    let body = format!(
        "{} {}\n",
        code.as_str(),
        code.canonical_reason().unwrap_or("status")
    );
    response(code, TEXT, RespBody::Full(Bytes::from(body)))
}

#[derive(Serialize)]
struct StatsJson {
    #[serde(flatten)]
    snapshot: StatsSnapshot,
    #[serde(skip_serializing_if = "Option::is_none")]
    header_counts: Option<BTreeMap<String, u64>>,
}

fn stats_response(shared: &Shared) -> Response<RespBody> {
    let json = StatsJson {
        snapshot: shared.stats.snapshot(),
        header_counts: shared
            .record_header
            .as_ref()
            .map(|_| shared.stats.header_counts().into_iter().collect()),
    };
    match serde_json::to_vec(&json) {
        Ok(mut body) => {
            body.push(b'\n');
            response(StatusCode::OK, JSON, RespBody::Full(Bytes::from(body)))
        }
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, SERVER_ERROR),
    }
}
