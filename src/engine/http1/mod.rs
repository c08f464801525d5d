//! The hot path: a user's own keep-alive HTTP/1.1 connections for plain `http://` targets (no
//! proxy), over a blocking [`TcpStream`], with the protocol in well-kept crates: requests
//! written by ureq's sans-IO core `ureq-proto`, response heads parsed by `httparse` (the parser
//! `ureq-proto` itself uses), bodies other than `Content-Length` ones decoded by `ureq-proto`.
//!
//! ureq's `Agent` spends most of its per-request work on machinery a load generator does not
//! need (the bisection in docs/BENCHMARKS.md): a per-request configuration and timing object,
//! the pool's bookkeeping, the connector chain, a layered body reader. Here each user keeps its
//! connections itself, and a request costs the client two system calls and little else:
//!
//! - **Request.** A request that is the same every time (no placeholders, no rotated key or
//!   prompt) was written once for the run by `ureq-proto` ([`wire`]): its bytes are sent as they
//!   are with one `send`. Any other request is built and written by `ureq-proto` per attempt.
//! - **Response head.** Parsed by `httparse` from the bytes of one `recv`, without allocating.
//!   An HTTP/1.1 response with one `Content-Length` (or no body: `HEAD`, 204, 304) is framed by
//!   its length; anything else (chunked, close-delimited, HTTP/1.0, 1xx, repeated or invalid
//!   lengths) is handed to a `ureq-proto` call given the same request and the same bytes, which
//!   frames and decodes it exactly as ureq does.
//!
//! Timeouts are ureq's, kept exactly: the connect, each read and each write are bounded by
//! `--timeout`, and the whole request by one deadline a hair longer (see
//! [`DEADLINE_SLACK`](super::transport::DEADLINE_SLACK)); a socket timeout is set with a system
//! call only when the value changes, which happens only when less than `--timeout` is left.

mod body;
mod failed;
mod head;
mod socket;
#[cfg(test)]
mod tests;

use std::io;
use std::time::{Duration, Instant};

use ureq::http::{Method, Request, Uri};
use ureq::unversioned::resolver::Resolver;
use ureq::unversioned::transport::NextTimeout;
use ureq_proto::client::state::RecvResponse;
use ureq_proto::client::{Call, RecvResponseResult};

use crate::engine::stream_read::is_event_stream;
use crate::engine::transport::{CachedResolver, IO_BUFFER, MAX_RESPONSE_HEAD, coarse_now};
use crate::sample::{FailureKind, classify, classify_io};
use crate::traffic::run::{Prepared, Wire};

pub use body::Body;
use body::{Framing, Parsed};
pub use failed::Failed;
use failed::{Broken, broken, proto};
pub use head::wire;
use head::{Slow, asks_close, fast_head, frame_body, write_call};
use socket::{Conn, Idle, open, read_before, timed_out, write_before};

/// One user's connections and buffers, reused from request to request.
pub struct Http1 {
    idle: Idle,
    /// A request head (and body chunks) `ureq-proto` writes; scratch for the calls it is given.
    out: Vec<u8>,
    /// The size `out` has once made: made on first use, since a request written once for the
    /// run never needs it.
    out_size: usize,
    /// Response bytes as read: the head, then body bytes not yet handed out.
    input: Vec<u8>,
    timeout: Duration,
    resolver: CachedResolver,
    /// The agent's configuration: what the resolver reads (the IP family).
    config: ureq::config::Config,
}

/// A request to send: its bytes when they were written once for the run, else how to build it.
pub struct Outgoing<'r> {
    /// The whole request, written once ([`wire`]).
    pub wire: Option<&'r Wire>,
    /// The request (method, URI, headers), made for each attempt.
    pub build: &'r mut dyn FnMut() -> Result<Request<()>, ureq::http::Error>,
    /// The body.
    pub body: &'r [u8],
    /// There is a body, even an empty one: it is sent whatever the method (as ureq does).
    pub has_body: bool,
}

/// A response whose head has arrived; its body is read through [`Response::body`].
pub struct Response<'a> {
    pub status: u16,
    /// The response is a `text/event-stream`.
    pub event_stream: bool,
    /// It was sent again on a new connection: the kept-alive one was dead.
    pub reconnected: bool,
    pub body: Body<'a>,
}

impl Http1 {
    /// Buffers for request heads of up to `out_buffer` bytes; `timeout` bounds the connect and
    /// each read and write.
    pub fn new(
        out_buffer: usize,
        timeout: Duration,
        resolver: CachedResolver,
        config: ureq::config::Config,
    ) -> Self {
        Http1 {
            idle: Idle::default(),
            out: Vec::new(),
            out_size: out_buffer,
            input: vec![0; IO_BUFFER],
            timeout,
            resolver,
            config,
        }
    }

    /// Send `p` to `uri` (an `http://` URI) and read the response head, all before `deadline`.
    /// A request over a kept-alive connection that turns out to be dead before one byte of a
    /// response came back (the server closed it after its last response) is sent once more on
    /// a new connection, as curl does.
    ///
    /// # Errors
    ///
    /// A [`Failed`] when no response head arrived: the connection could not be made, broke,
    /// timed out, or the server sent something that is not an HTTP/1.x response head (or one
    /// larger than [`MAX_RESPONSE_HEAD`]).
    pub fn send<'a>(
        &'a mut self,
        p: &Prepared<'_>,
        uri: &Uri,
        deadline: Instant,
    ) -> Result<Response<'a>, Failed> {
        let body: &[u8] = p.body.as_deref().unwrap_or(&[]);
        // Built only when the request was not written once for the run (or to read an unusual
        // answer): nothing here runs for a written-once request.
        let mut build = || {
            let mut req = match p.request {
                Some(req) => req.clone(),
                None => p.builder(uri).body(())?,
            };
            frame_body(&mut req, p.body.as_deref());
            Ok(req)
        };
        let mut out = Outgoing {
            wire: p.wire,
            build: &mut build,
            body,
            has_body: p.body.is_some(),
        };
        self.send_request(&mut out, uri, deadline)
    }

    /// [`Http1::send`] of a request given as an [`Outgoing`].
    ///
    /// # Errors
    ///
    /// As [`Http1::send`].
    pub fn send_request<'a>(
        &'a mut self,
        out: &mut Outgoing<'_>,
        uri: &Uri,
        deadline: Instant,
    ) -> Result<Response<'a>, Failed> {
        let authority = uri.authority().map_or("", |a| a.as_str());
        let kept = self.idle.take(authority);
        let reused = kept.is_some();
        let conn = match kept {
            Some(c) => c,
            None => self.connect(uri, authority, deadline)?,
        };
        let ((conn, parsed), reconnected) = match self.exchange(out, conn, deadline) {
            Ok(v) => (v, false),
            // Dead before any byte of a response: send it again on a new connection.
            Err((_, true)) if reused => {
                let conn = self.connect(uri, authority, deadline).map_err(|f| Failed {
                    reconnected: true,
                    ..f
                })?;
                let v = self
                    .exchange(out, conn, deadline)
                    .map_err(|(e, _)| Failed {
                        reconnected: true,
                        ..e
                    })?;
                (v, true)
            }
            Err((e, _)) => return Err(e),
        };
        Ok(self.response(conn, parsed, reconnected))
    }

    fn response(&mut self, conn: Conn, parsed: Parsed, reconnected: bool) -> Response<'_> {
        let (status, event_stream) = (parsed.status, parsed.event_stream);
        let body = Body::new(&mut self.input, &mut self.idle, self.timeout, conn, parsed);
        Response {
            status,
            event_stream,
            reconnected,
            body,
        }
    }

    /// Make the output buffer, on first use.
    fn make_out(&mut self) {
        if self.out.is_empty() {
            self.out = vec![0; self.out_size];
        }
    }

    /// A new connection to `uri`'s host: resolved through the cache all users share, each
    /// address tried in turn within the timeout and what is left of the deadline.
    fn connect(&mut self, uri: &Uri, authority: &str, deadline: Instant) -> Result<Conn, Failed> {
        let left = deadline.saturating_duration_since(Instant::now());
        let next = NextTimeout {
            after: left.into(),
            reason: ureq::Timeout::Resolve,
            per_read: None,
            per_write: None,
        };
        let addrs = self
            .resolver
            .resolve(uri, &self.config, next)
            .map_err(|e| Failed {
                kind: classify(&e),
                why: e.to_string(),
                reconnected: false,
            })?;
        let mut last = io::Error::new(io::ErrorKind::ConnectionRefused, "no address to connect to");
        for addr in addrs.iter() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                last = timed_out("connecting");
                break;
            }
            match open(addr, self.timeout.min(left)) {
                Ok(stream) => {
                    return Ok(Conn {
                        authority: authority.to_string(),
                        stream,
                        read_timeout: self.timeout,
                        idle_since: coarse_now(),
                        close: false,
                    });
                }
                Err(e) => last = e,
            }
        }
        if matches!(last.kind(), io::ErrorKind::WouldBlock) {
            last = timed_out("connecting");
        }
        Err(Failed::io(&last, false))
    }

    /// Send the request and read until its response head has arrived.
    fn exchange(
        &mut self,
        out: &mut Outgoing<'_>,
        mut conn: Conn,
        deadline: Instant,
    ) -> Result<(Conn, Parsed), Broken> {
        // The request, and the call that wrote it when it was not written once for the run.
        let mut pending = None;
        let method_is_head;
        let sent = match out.wire {
            Some(wire) => {
                method_is_head = wire.head;
                conn.close |= wire.close;
                write_before(&mut conn.stream, &wire.bytes, deadline).map_err(write_failed)
            }
            None => {
                let request = (out.build)().map_err(|e| broken(e.to_string()))?;
                method_is_head = request.method() == Method::HEAD;
                conn.close |= asks_close(request.headers());
                self.write_request(request, out, &mut conn, deadline)
                    .map(|call| pending = Some(call))
            }
        };
        // A server may answer before it has taken the whole request (a 413 to a large upload)
        // and close: the send then fails with a reset or a broken pipe, and the answer waits in
        // the socket. It is read and recorded, as curl does; a connection reset with no answer
        // is the send's failure, as before (and a dead kept-alive one is sent again).
        let mut early: Option<Broken> = None;
        if let Err((failed, dead)) = sent {
            if failed.kind != FailureKind::Reset {
                return Err((failed, dead));
            }
            conn.close = true;
            early = Some((failed, dead));
        }
        // Read until the head parses.
        let mut have = 0usize;
        loop {
            if have == self.input.len() {
                let why = format!("the response head is larger than {MAX_RESPONSE_HEAD} bytes");
                return Err(broken(why));
            }
            match read_before(&mut conn, &mut self.input[have..], self.timeout, deadline) {
                Ok(0) if have == 0 && early.is_some() => {
                    return Err(early.take().unwrap_or_else(stuck));
                }
                Ok(0) => {
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection before a response",
                    );
                    return Err((Failed::io(&e, false), have == 0));
                }
                Ok(n) => have += n,
                Err(_) if have == 0 && early.is_some() => {
                    return Err(early.take().unwrap_or_else(stuck));
                }
                Err(e) => {
                    let dead = have == 0 && classify_io(&e) == FailureKind::Reset;
                    return Err((Failed::io(&e, false), dead));
                }
            }
            match fast_head(&self.input[..have], method_is_head) {
                Ok(None) => continue,
                Ok(Some(head)) => {
                    conn.close |= head.close;
                    let framing = match head.content_length {
                        Some(n) => Framing::Length(n),
                        None => Framing::Done,
                    };
                    let parsed = Parsed {
                        status: head.status,
                        framing,
                        head_len: head.len,
                        headers: None,
                        event_stream: head.event_stream,
                        used: head.len,
                        have,
                        deadline,
                    };
                    return Ok((conn, parsed));
                }
                Err(Slow) => {
                    let call = match pending.take() {
                        Some(call) => call,
                        None => self.rewrite_request(out)?,
                    };
                    return self.slow_head(call, conn, have, deadline);
                }
            }
        }
    }

    /// Build, write and send a request with `ureq-proto`; the call waits for the response.
    fn write_request(
        &mut self,
        request: Request<()>,
        out: &Outgoing<'_>,
        conn: &mut Conn,
        deadline: Instant,
    ) -> Result<Call<RecvResponse>, Broken> {
        self.make_out();
        let stream = &mut conn.stream;
        let mut send = |bytes: &[u8]| write_before(stream, bytes, deadline).map_err(write_failed);
        write_call(request, out.has_body, out.body, &mut self.out, &mut send)
    }

    /// A call for a request that was sent as its bytes written once ([`wire`]), brought to where
    /// it waits for the response: the same request written again, into scratch.
    fn rewrite_request(&mut self, out: &mut Outgoing<'_>) -> Result<Call<RecvResponse>, Broken> {
        let request = (out.build)().map_err(|e| broken(e.to_string()))?;
        self.make_out();
        write_call(request, out.has_body, out.body, &mut self.out, &mut |_| {
            Ok(())
        })
    }

    /// The response head parsed and framed by `ureq-proto` (its first `have` bytes are read).
    fn slow_head(
        &mut self,
        mut call: Call<RecvResponse>,
        mut conn: Conn,
        mut have: usize,
        deadline: Instant,
    ) -> Result<(Conn, Parsed), Broken> {
        let mut used = 0usize;
        let (status, headers) = loop {
            if used < have {
                match call.try_response(&self.input[used..have], false) {
                    Ok((n, Some(r))) => {
                        used += n;
                        let (parts, ()) = r.into_parts();
                        break (parts.status.as_u16(), parts.headers);
                    }
                    // A 1xx response, skipped.
                    Ok((n, None)) if n > 0 => {
                        used += n;
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => return Err(proto(e)),
                }
            }
            if used > 0 {
                self.input.copy_within(used..have, 0);
                have -= used;
                used = 0;
            }
            if have == self.input.len() {
                let why = format!("the response head is larger than {MAX_RESPONSE_HEAD} bytes");
                return Err(broken(why));
            }
            match read_before(&mut conn, &mut self.input[have..], self.timeout, deadline) {
                Ok(0) => {
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection before a response",
                    );
                    return Err((Failed::io(&e, false), false));
                }
                Ok(n) => have += n,
                Err(e) => return Err((Failed::io(&e, false), false)),
            }
        };
        let framing = match call.proceed() {
            Some(RecvResponseResult::RecvBody(c)) => Framing::Proto(Box::new(c)),
            Some(RecvResponseResult::Redirect(c)) => {
                conn.close |= c.must_close_connection();
                Framing::Done
            }
            Some(RecvResponseResult::Cleanup(c)) => {
                conn.close |= c.must_close_connection();
                Framing::Done
            }
            None => return Err(stuck()),
        };
        let event_stream = is_event_stream(&headers);
        let parsed = Parsed {
            status,
            framing,
            head_len: 0,
            headers: Some(headers),
            event_stream,
            used,
            have,
            deadline,
        };
        Ok((conn, parsed))
    }
}

/// The state machine could not go on where it always can (a response head was read).
fn stuck() -> Broken {
    broken("the HTTP/1.1 exchange could not proceed".to_string())
}

/// A failed write: a reset or broken pipe means the connection was dead before any response.
fn write_failed(e: io::Error) -> Broken {
    let dead = classify_io(&e) == FailureKind::Reset;
    (Failed::io(&e, false), dead)
}
