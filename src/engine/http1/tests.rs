//! The hot path's behaviour against raw servers, in both ways a request goes out: built per
//! attempt, and written once for the run.

use super::*;
use crate::engine::transport::PROBE_AFTER_IDLE;
use std::io::{BufRead, BufReader};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use ureq::http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use ureq::http::{HeaderMap, HeaderValue};

/// A raw server: for each request on each connection, `answer(connection, request number
/// on it)` gives the bytes to send back and whether to close after them. It reports every
/// request head on the channel, as `(connection, head)`, and stops after `total` requests.
fn server(
    total: usize,
    answer: impl Fn(usize, usize) -> (Vec<u8>, bool) + Send + 'static,
) -> (Uri, mpsc::Receiver<(usize, String)>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let uri: Uri = format!("http://{}/x", l.local_addr().unwrap())
        .parse()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut answered = 0;
        for conn in 0.. {
            if answered >= total {
                break;
            }
            let Ok((mut s, _)) = l.accept() else { break };
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            for n in 0.. {
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    match r.read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => head.push_str(&line),
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                if head.is_empty() {
                    break;
                }
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .map_or(0, |v| v.trim().parse().unwrap());
                let mut body = vec![0; length];
                r.read_exact(&mut body).unwrap();
                head.push_str(&String::from_utf8_lossy(&body));
                let _ = tx.send((conn, head));
                let (bytes, close) = answer(conn, n);
                let _ = s.write_all(&bytes);
                answered += 1;
                if close || answered >= total {
                    let _ = s.shutdown(std::net::Shutdown::Both);
                    break;
                }
            }
        }
    });
    (uri, rx)
}

fn http1() -> Http1 {
    let config = ureq::Agent::config_builder().build();
    Http1::new(
        8 * 1024,
        Duration::from_secs(2),
        CachedResolver::default(),
        config,
    )
}

/// How a test request goes out: built per attempt, or written once for the run.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Built,
    Wire,
}

const MODES: [Mode; 2] = [Mode::Built, Mode::Wire];

fn request(uri: &Uri, body: &[u8]) -> Result<Request<()>, ureq::http::Error> {
    let b = Request::builder().uri(uri.clone());
    if body.is_empty() {
        b.body(())
    } else {
        b.method("POST")
            .header(CONTENT_LENGTH, HeaderValue::from(body.len()))
            .body(())
    }
}

/// Send a GET (or a POST of `body`) and read the body: (status, body, reconnected).
fn call(mode: Mode, h: &mut Http1, uri: &Uri, body: &[u8]) -> Result<(u16, String, bool), Failed> {
    let wired = match mode {
        Mode::Built => None,
        Mode::Wire => Some(wire(&request(uri, body).unwrap(), Some(body)).unwrap()),
    };
    let mut build = || request(uri, body);
    let mut out = Outgoing {
        wire: wired.as_ref(),
        build: &mut build,
        body,
        has_body: !body.is_empty(),
    };
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut r = h.send_request(&mut out, uri, deadline)?;
    let mut text = String::new();
    r.body
        .read_to_string(&mut text)
        .map_err(|e| Failed::io(&e, false))?;
    Ok((r.status, text, r.reconnected))
}

fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The connection each request came on, in order.
fn connections(rx: &mpsc::Receiver<(usize, String)>, n: usize) -> Vec<usize> {
    (0..n)
        .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap().0)
        .collect()
}

#[test]
fn keep_alive_requests_share_one_connection_and_bodies_arrive_whole() {
    for mode in MODES {
        let (uri, rx) = server(5, |_, n| (ok(&format!("answer {n}")), false));
        let mut h = http1();
        for n in 0..5 {
            let (status, body, reconnected) = call(mode, &mut h, &uri, b"").unwrap();
            assert_eq!(
                (status, body.as_str(), reconnected),
                (200, &*format!("answer {n}"), false)
            );
        }
        assert_eq!(connections(&rx, 5), [0, 0, 0, 0, 0]);
    }
}

#[test]
fn a_post_body_is_sent_after_its_head() {
    for mode in MODES {
        let (uri, rx) = server(1, |_, _| (ok("ok"), false));
        let mut h = http1();
        let body = vec![b'z'; 20_000];
        assert_eq!(call(mode, &mut h, &uri, &body).unwrap().0, 200);
        let (_, head) = rx.recv().unwrap();
        assert!(head.starts_with("POST /x HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("content-length: 20000\r\n"), "{head}");
        assert!(head.ends_with(&"z".repeat(20_000)));
    }
}

#[test]
fn connection_close_opens_a_new_connection_without_a_reconnect() {
    for mode in MODES {
        let (uri, rx) = server(3, |_, _| {
            let b = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
            (b.to_vec(), false)
        });
        let mut h = http1();
        for _ in 0..3 {
            assert_eq!(
                call(mode, &mut h, &uri, b"").unwrap(),
                (200, "ok".into(), false)
            );
        }
        assert_eq!(connections(&rx, 3), [0, 1, 2]);
    }
}

#[test]
fn a_connection_closed_silently_is_sent_again_once_and_said_so() {
    for mode in MODES {
        // Closes after each answer without saying so: the next request finds it dead.
        let (uri, rx) = server(4, |_, _| (ok("ok"), true));
        let mut h = http1();
        assert_eq!(
            call(mode, &mut h, &uri, b"").unwrap(),
            (200, "ok".into(), false)
        );
        for _ in 0..3 {
            // Give the close time to arrive, within the no-probe window.
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(
                call(mode, &mut h, &uri, b"").unwrap(),
                (200, "ok".into(), true)
            );
        }
        // The server saw each request once: the dead sends never reached it.
        assert_eq!(connections(&rx, 4), [0, 1, 2, 3]);
    }
}

#[test]
fn an_idle_connection_the_server_closed_is_probed_and_replaced() {
    for mode in MODES {
        let (uri, rx) = server(2, |_, _| (ok("ok"), true));
        let mut h = http1();
        assert_eq!(call(mode, &mut h, &uri, b"").unwrap().0, 200);
        std::thread::sleep(PROBE_AFTER_IDLE + Duration::from_millis(50));
        // The probe finds it closed: a new connection, no resend.
        assert_eq!(
            call(mode, &mut h, &uri, b"").unwrap(),
            (200, "ok".into(), false)
        );
        assert_eq!(connections(&rx, 2), [0, 1]);
    }
}

#[test]
fn chunked_and_informational_responses_are_decoded() {
    for mode in MODES {
        let (uri, rx) = server(2, |_, n| {
            let b: &[u8] = if n == 0 {
                b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n\
                  HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                  3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
            } else {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope"
            };
            (b.to_vec(), false)
        });
        let mut h = http1();
        assert_eq!(
            call(mode, &mut h, &uri, b"").unwrap(),
            (200, "abcdefg".into(), false)
        );
        assert_eq!(
            call(mode, &mut h, &uri, b"").unwrap(),
            (404, "nope".into(), false)
        );
        assert_eq!(connections(&rx, 2), [0, 0]);
    }
}

#[test]
fn a_close_delimited_body_ends_at_the_close_and_the_connection_is_not_kept() {
    for mode in MODES {
        let (uri, rx) = server(2, |_, _| {
            (b"HTTP/1.0 200 OK\r\n\r\nuntil the end".to_vec(), true)
        });
        let mut h = http1();
        for _ in 0..2 {
            assert_eq!(
                call(mode, &mut h, &uri, b"").unwrap(),
                (200, "until the end".into(), false)
            );
        }
        assert_eq!(connections(&rx, 2), [0, 1]);
    }
}

#[test]
fn bytes_after_a_response_are_not_trusted_as_the_next_one() {
    for mode in MODES {
        let (uri, rx) = server(2, |_, _| {
            let mut b = ok("ok");
            b.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale");
            (b, false)
        });
        let mut h = http1();
        assert_eq!(call(mode, &mut h, &uri, b"").unwrap().1, "ok");
        assert_eq!(call(mode, &mut h, &uri, b"").unwrap().1, "ok");
        assert_eq!(connections(&rx, 2), [0, 1]);
    }
}

#[test]
fn a_body_cut_short_or_a_head_too_large_fails_with_its_kind() {
    for mode in MODES {
        let (uri, _rx) = server(1, |_, _| {
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort".to_vec(),
                true,
            )
        });
        let err = call(mode, &mut http1(), &uri, b"").unwrap_err();
        assert_eq!(err.kind, FailureKind::Reset, "{}", err.why);
        let (uri, _rx) = server(1, |_, _| {
            let mut b = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
            b.extend(std::iter::repeat_n(b'a', IO_BUFFER));
            b.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
            (b, false)
        });
        let err = call(mode, &mut http1(), &uri, b"").unwrap_err();
        assert_eq!(err.kind, FailureKind::Protocol);
        assert!(err.why.contains("larger than"), "{}", err.why);
        let (uri, _rx) = server(1, |_, _| (b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec(), false));
        assert_eq!(
            call(mode, &mut http1(), &uri, b"").unwrap_err().kind,
            FailureKind::Protocol
        );
    }
}

#[test]
fn a_body_left_unread_closes_its_connection() {
    for mode in MODES {
        let (uri, rx) = server(2, |_, _| (ok("a body nobody reads"), false));
        let mut h = http1();
        let mut build = || Request::builder().uri(uri.clone()).body(());
        let mut out = Outgoing {
            wire: None,
            build: &mut build,
            body: b"",
            has_body: false,
        };
        let deadline = Instant::now() + Duration::from_secs(3);
        let r = h.send_request(&mut out, &uri, deadline).unwrap();
        assert_eq!(r.status, 200);
        drop(r);
        assert_eq!(call(mode, &mut h, &uri, b"").unwrap().0, 200);
        assert_eq!(connections(&rx, 2), [0, 1]);
    }
}

#[test]
fn silence_is_a_timeout_within_the_deadline() {
    let (uri, _rx) = server(1, |_, _| {
        std::thread::sleep(Duration::from_secs(4));
        (ok("late"), false)
    });
    let mut h = http1();
    let mut build = || Request::builder().uri(uri.clone()).body(());
    let mut out = Outgoing {
        wire: None,
        build: &mut build,
        body: b"",
        has_body: false,
    };
    let start = Instant::now();
    let deadline = start + Duration::from_millis(300);
    let err = h
        .send_request(&mut out, &uri, deadline)
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.kind, FailureKind::Timeout, "{}", err.why);
    // It says what timed out and after how long.
    assert!(
        err.why
            .contains("reading the response: nothing arrived for ")
            || err
                .why
                .contains("the whole request took longer than --timeout")
            || err.why.contains("deadline passed"),
        "{}",
        err.why
    );
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
}

/// Send `req` (with no body) in `mode` and read the response whole.
fn call_request(
    mode: Mode,
    h: &mut Http1,
    req: &Request<()>,
) -> Result<(u16, bool, HeaderMap, Vec<u8>), Failed> {
    let wired = match mode {
        Mode::Built => None,
        Mode::Wire => Some(wire(req, None).unwrap()),
    };
    let mut build = || Ok(req.clone());
    let mut out = Outgoing {
        wire: wired.as_ref(),
        build: &mut build,
        body: b"",
        has_body: false,
    };
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut r = h.send_request(&mut out, req.uri(), deadline)?;
    let headers = r.body.headers().into_owned();
    let mut body = Vec::new();
    r.body
        .read_to_end(&mut body)
        .map_err(|e| Failed::io(&e, false))?;
    Ok((r.status, r.event_stream, headers, body))
}

#[test]
fn heads_without_bodies_and_large_bodies_are_framed_by_their_length() {
    for mode in MODES {
        let big = "x".repeat(300_000);
        let answers = [
            // A HEAD response announces a length it does not send.
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Kind: head\r\n\r\n".to_string(),
            "HTTP/1.1 204 No Content\r\n\r\n".to_string(),
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n".to_string(),
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\n\
                 Content-Length: {}\r\n\r\n{big}",
                big.len()
            ),
        ];
        let (uri, rx) = server(4, move |_, n| (answers[n].clone().into_bytes(), false));
        let mut h = http1();
        let head = Request::head(uri.clone()).body(()).unwrap();
        let get = Request::get(uri.clone()).body(()).unwrap();
        let (status, sse, headers, body) = call_request(mode, &mut h, &head).unwrap();
        assert_eq!((status, sse, body.len()), (200, false, 0));
        assert_eq!(headers["x-kind"], "head", "headers for the evidence");
        assert_eq!(call_request(mode, &mut h, &get).unwrap().0, 204);
        assert_eq!(call_request(mode, &mut h, &get).unwrap().0, 304);
        let (status, sse, _, body) = call_request(mode, &mut h, &get).unwrap();
        assert_eq!((status, sse, body.len()), (200, true, big.len()));
        assert!(body.iter().all(|&b| b == b'x'));
        assert_eq!(connections(&rx, 4), [0, 0, 0, 0], "{mode:?}");
    }
}

#[test]
fn close_tokens_on_either_side_close_the_connection() {
    for mode in MODES {
        // The response says it among other tokens.
        let (uri, rx) = server(2, |_, _| {
            let b = "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n";
            (b.as_bytes().to_vec(), false)
        });
        let mut h = http1();
        let get = Request::get(uri.clone()).body(()).unwrap();
        for _ in 0..2 {
            assert_eq!(call_request(mode, &mut h, &get).unwrap().0, 200);
        }
        assert_eq!(connections(&rx, 2), [0, 1], "{mode:?}");
        // The request says it.
        let (uri, rx) = server(2, |_, _| (ok(""), false));
        let get = Request::get(uri.clone())
            .header(CONNECTION, "close")
            .body(())
            .unwrap();
        for _ in 0..2 {
            assert_eq!(call_request(mode, &mut h, &get).unwrap().0, 200);
        }
        let (_, first) = rx.recv().unwrap();
        assert!(first.to_ascii_lowercase().contains("connection: close"));
        assert_eq!(rx.recv().unwrap().0, 1, "{mode:?}: a new connection");
    }
}

#[test]
fn unusual_framing_goes_to_ureq_proto_and_is_read_as_it_reads_it() {
    for mode in MODES {
        let answers: [&[u8]; 3] = [
            // HTTP/1.0 with a length: read by length, then closed (HTTP/1.0 default).
            b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc",
            // Two equal lengths: ureq-proto's call.
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
            // Not a number.
            b"HTTP/1.1 200 OK\r\nContent-Length: two\r\n\r\nok",
        ];
        // Answered in order whatever the connection (the first one is closed after it).
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (uri, _rx) = server(3, move |_, _| {
            let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            (answers[n].to_vec(), false)
        });
        let mut h = http1();
        let get = Request::get(uri.clone()).body(()).unwrap();
        let (status, _, _, body) = call_request(mode, &mut h, &get).unwrap();
        assert_eq!((status, &body[..]), (200, &b"abc"[..]));
        // What ureq-proto makes of the next two, the same in both modes.
        let second = call_request(mode, &mut h, &get).map(|r| (r.0, r.3));
        let third = call_request(mode, &mut h, &get).map_err(|f| f.kind);
        assert!(
            matches!(&second, Ok((200, b)) if b == b"ok")
                || matches!(&second, Err(f) if f.kind == FailureKind::Protocol),
            "{mode:?} {second:?}"
        );
        assert_eq!(third.unwrap_err(), FailureKind::Protocol, "{mode:?}");
    }
}

/// Decode a chunked body (the test's own decoder: an independent witness of the framing).
fn unchunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = bytes
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a size line");
        let size = usize::from_str_radix(std::str::from_utf8(&bytes[..line_end]).unwrap(), 16)
            .expect("a hex size");
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            assert_eq!(bytes, b"\r\n", "the last chunk ends the body");
            return body;
        }
        body.extend_from_slice(&bytes[..size]);
        assert_eq!(&bytes[size..size + 2], b"\r\n");
        bytes = &bytes[size + 2..];
    }
}

/// Write `request` with `body` through a `buf_len` buffer; the bytes as they would be sent.
fn written(request: Request<()>, body: &[u8], buf_len: usize) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; buf_len];
    let mut keep = |b: &[u8]| {
        bytes.extend_from_slice(b);
        Ok(())
    };
    head::write_call(request, true, body, &mut buf, &mut keep).map_err(|(f, _)| f.why)?;
    Ok(bytes)
}

#[test]
fn a_chunked_request_body_larger_than_the_buffer_is_framed_whole() {
    let body: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    for buf_len in [8 * 1024, 1024, 64] {
        let req = Request::post("http://h.test/up")
            .header(TRANSFER_ENCODING, "chunked")
            .body(())
            .unwrap();
        let bytes = written(req, &body, buf_len).unwrap();
        let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert_eq!(unchunk(&bytes[head_end..]), body, "buffer of {buf_len}");
    }
    // Through the written-once path as well.
    let req = Request::post("http://h.test/up")
        .header(TRANSFER_ENCODING, "chunked")
        .body(())
        .unwrap();
    let w = wire(&req, Some(&body)).unwrap();
    let head_end = w.bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(unchunk(&w.bytes[head_end..]), body);
}

#[test]
fn a_body_is_sent_whatever_the_method_and_a_short_one_is_refused() {
    // HEAD (or CONNECT) with a body: sent with its length, as ureq's agent sends it.
    let req = Request::head("http://h.test/").body(()).unwrap();
    let w = wire(&req, Some(b"xyz")).unwrap();
    let text = String::from_utf8(w.bytes.to_vec()).unwrap();
    assert!(text.starts_with("HEAD / HTTP/1.1\r\n"), "{text}");
    assert!(text.contains("content-length: 3\r\n") && text.ends_with("\r\n\r\nxyz"));
    assert!(w.head, "its response has no body");
    // A Content-Length the body does not fill: said so, before anything waits for it.
    let req = Request::post("http://h.test/")
        .header(CONTENT_LENGTH, "5")
        .body(())
        .unwrap();
    let why = written(req, b"abc", 1024).unwrap_err();
    assert!(
        why.contains("shorter than the request's Content-Length"),
        "{why}"
    );
}

#[test]
fn only_the_first_content_type_says_event_stream() {
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\
                 Content-Type: text/event-stream\r\nContent-Length: 0\r\n\r\n";
    assert!(
        !head::fast_head(head, false)
            .ok()
            .flatten()
            .unwrap()
            .event_stream
    );
    let head = b"HTTP/1.1 200 OK\r\ncontent-type: Text/Event-Stream; charset=utf-8\r\n\
                 Content-Length: 0\r\n\r\n";
    assert!(
        head::fast_head(head, false)
            .ok()
            .flatten()
            .unwrap()
            .event_stream
    );
}

#[test]
fn an_answer_before_the_whole_upload_is_read_and_recorded() {
    // Issue 13, item 3: a server answers 413 to an 8 MB POST before reading its body, and
    // closes (a reset, since the body is unread). The send fails; the answer is the result.
    for mode in MODES {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let uri: Uri = format!("http://{}/up", l.local_addr().unwrap())
            .parse()
            .unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            while r.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            s.write_all(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbig!")
                .unwrap();
            std::thread::sleep(Duration::from_millis(50));
            drop(r);
            drop(s);
        });
        let body = vec![b'u'; 8 << 20];
        let mut h = http1();
        let (status, text, _) = call(mode, &mut h, &uri, &body).unwrap();
        assert_eq!((status, text.as_str()), (413, "big!"), "{mode:?}");
        server.join().unwrap();
    }
}
