//! The hot path: a user's own keep-alive HTTP/1.1 connections for plain `http://` targets (no
//! proxy), driven by ureq's sans-IO core, `ureq-proto`, over a blocking [`TcpStream`].
//!
//! ureq's `Agent` spends most of its per-request work on machinery a load generator does not
//! need: a per-request configuration and timing object, the connection pool's bookkeeping, the
//! connector chain and a layered body reader (the bisection in docs/BENCHMARKS.md puts it at
//! 5-7 µs of the 15-17 µs a request cost the client at 50 users). Here each user keeps its
//! connections itself: the request head is written by `ureq-proto` into a buffer the user keeps,
//! sent with one `write`, and the response is parsed by `ureq-proto` (httparse underneath) from
//! the bytes of one `read`: two system calls per keep-alive request, as before. `https://`
//! targets and proxies stay on the ureq agent (see `user.rs`).
//!
//! Timeouts are ureq's, kept exactly: the connect, each read and each write are bounded by
//! `--timeout`, and the whole request by one deadline a hair longer (see
//! [`DEADLINE_SLACK`](super::transport::DEADLINE_SLACK)); a socket timeout is set with a system
//! call only when the value changes, which happens only when less than `--timeout` is left.

use std::borrow::Cow;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use ureq::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use ureq::http::{HeaderMap, HeaderValue, Request, Uri};
use ureq::unversioned::resolver::Resolver;
use ureq::unversioned::transport::NextTimeout;
use ureq_proto::BodyMode;
use ureq_proto::client::{
    Await100Result, Call, RecvBodyResult, RecvResponseResult, SendRequestResult,
};

use crate::engine::transport::{
    CachedResolver, IO_BUFFER, MAX_RESPONSE_HEAD, PROBE_AFTER_IDLE, coarse_now,
};
use crate::sample::{FailureKind, classify, classify_io};
use crate::traffic::run::Prepared;

/// A user keeps at most this many idle connections (as its ureq agent did), the least recently
/// used one closed first; a run with one host needs one.
const MAX_IDLE: usize = 2;

/// A request that got no response: why, as a failure kind and a message for the evidence.
#[derive(Debug)]
pub struct Failed {
    pub kind: FailureKind,
    pub why: String,
    /// It was sent again on a new connection: the kept-alive one was dead.
    pub reconnected: bool,
}

impl Failed {
    fn io(e: &io::Error, reconnected: bool) -> Self {
        Failed {
            kind: classify_io(e),
            why: e.to_string(),
            reconnected,
        }
    }

    fn protocol(why: String, reconnected: bool) -> Self {
        Failed {
            kind: FailureKind::Protocol,
            why,
            reconnected,
        }
    }
}

/// One open connection and what is known of it.
#[derive(Debug)]
struct Conn {
    /// `host:port` as the request URI spells it: requests for the same authority share it.
    authority: String,
    stream: TcpStream,
    /// The read timeout set on the socket now.
    read_timeout: Duration,
    /// [`coarse_now`] when its last response ended: idle time starts there.
    idle_since: Duration,
    /// The request or the response said to close it after this exchange.
    close: bool,
}

/// One user's connections and buffers, reused from request to request.
pub struct Http1 {
    idle: Vec<Conn>,
    /// The request head and body chunks, as `ureq-proto` writes them.
    out: Vec<u8>,
    /// Each target's request when it is the same every time, made on first use.
    requests: Vec<Option<Request<()>>>,
    /// Response bytes as read: the head, then body bytes not yet decoded.
    input: Vec<u8>,
    timeout: Duration,
    resolver: CachedResolver,
    /// The agent's configuration: what the resolver reads (the IP family).
    config: ureq::config::Config,
}

/// A response whose head has arrived; its body is read through [`Response::body`].
pub struct Response<'a> {
    pub status: u16,
    pub headers: HeaderMap,
    /// It was sent again on a new connection: the kept-alive one was dead.
    pub reconnected: bool,
    pub body: Body<'a>,
}

/// The body of a response, decoded (chunked, length- or close-delimited) by `ureq-proto`. Reads
/// past its end give 0. A connection whose response was read to its end is kept for the next
/// request unless the response or the request said to close it.
pub struct Body<'a> {
    owner: &'a mut Http1,
    /// The connection, until the body has ended.
    conn: Option<Conn>,
    call: Option<Call<ureq_proto::client::state::RecvBody>>,
    /// `owner.input[used..have]` is read and not yet decoded.
    used: usize,
    have: usize,
    deadline: Instant,
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
            idle: Vec::with_capacity(MAX_IDLE),
            requests: Vec::new(),
            out: vec![0; out_buffer],
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
        let length = p.body.is_some()
            && !p
                .plan
                .headers
                .iter()
                .any(|(n, _)| n == CONTENT_LENGTH || n == TRANSFER_ENCODING);
        let with_length = |mut req: Request<()>| {
            if length {
                req.headers_mut()
                    .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
            }
            req
        };
        // A request whose URL and headers are the same every time (no placeholders, no
        // rotated key or token) is built once per target and cloned: building it anew is
        // most of the client's own work per request (header map growth, the builder's moves).
        let same_every_time = matches!(p.uri, Some(Cow::Borrowed(_)))
            && p.extra_headers.is_empty()
            && p.key.is_none();
        let mut made = None;
        if same_every_time {
            if self.requests.len() <= p.target {
                self.requests.resize_with(p.target + 1, || None);
            }
            made = match &mut self.requests[p.target] {
                Some(req) => Some(req.clone()),
                slot => match p.builder(uri).body(()) {
                    Ok(req) => Some(slot.insert(req).clone()),
                    Err(_) => None,
                },
            };
        }
        let mut build = || match made.take() {
            Some(req) => Ok(with_length(req)),
            None => p.builder(uri).body(()).map(with_length),
        };
        self.send_request(&mut build, body, uri, deadline)
    }

    /// [`Http1::send`] of the request `build` makes (once per attempt), with `body`.
    ///
    /// # Errors
    ///
    /// As [`Http1::send`].
    pub fn send_request<'a>(
        &'a mut self,
        build: &mut dyn FnMut() -> Result<Request<()>, ureq::http::Error>,
        body: &[u8],
        uri: &Uri,
        deadline: Instant,
    ) -> Result<Response<'a>, Failed> {
        let authority = uri.authority().map_or("", |a| a.as_str());
        let kept = self.take_idle(authority);
        let reused = kept.is_some();
        let conn = match kept {
            Some(c) => c,
            None => self.connect(uri, authority, deadline)?,
        };
        match self.exchange(build, body, conn, deadline) {
            Ok((conn, call, status, headers, used, have)) => {
                Ok(self.response(conn, call, status, headers, used, have, deadline, false))
            }
            // Dead before any byte of a response: send it again on a new connection.
            Err((_, true)) if reused => {
                let conn = self.connect(uri, authority, deadline).map_err(|f| Failed {
                    reconnected: true,
                    ..f
                })?;
                match self.exchange(build, body, conn, deadline) {
                    Ok((conn, call, status, headers, used, have)) => {
                        Ok(self.response(conn, call, status, headers, used, have, deadline, true))
                    }
                    Err((e, _)) => Err(Failed {
                        reconnected: true,
                        ..e
                    }),
                }
            }
            Err((e, _)) => Err(e),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn response(
        &mut self,
        conn: Conn,
        call: Option<Call<ureq_proto::client::state::RecvBody>>,
        status: u16,
        headers: HeaderMap,
        used: usize,
        have: usize,
        deadline: Instant,
        reconnected: bool,
    ) -> Response<'_> {
        let mut body = Body {
            owner: self,
            conn: Some(conn),
            call,
            used,
            have,
            deadline,
        };
        if body.call.is_none() {
            // No body (HEAD, 204, 304): the exchange is over.
            body.end(true);
        }
        Response {
            status,
            headers,
            reconnected,
            body,
        }
    }

    /// The idle connection for `authority`, unless it has been idle long enough for the server
    /// to have closed it and a probe finds it closed.
    fn take_idle(&mut self, authority: &str) -> Option<Conn> {
        let i = self.idle.iter().position(|c| c.authority == authority)?;
        let conn = self.idle.swap_remove(i);
        let idle = coarse_now().saturating_sub(conn.idle_since);
        (idle < PROBE_AFTER_IDLE || is_open(&conn.stream)).then_some(conn)
    }

    /// Keep `conn` for the next request, closing the least recently used one beyond
    /// [`MAX_IDLE`].
    fn keep(&mut self, mut conn: Conn) {
        conn.idle_since = coarse_now();
        if self.idle.len() >= MAX_IDLE
            && let Some(oldest) = (0..self.idle.len()).min_by_key(|&i| self.idle[i].idle_since)
        {
            self.idle.swap_remove(oldest);
        }
        self.idle.push(conn);
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

    /// Write the request and read until its response head has arrived. On failure, the flag
    /// says whether the connection was found dead before any byte of a response arrived.
    #[allow(clippy::type_complexity)]
    fn exchange(
        &mut self,
        build: &mut dyn FnMut() -> Result<Request<()>, ureq::http::Error>,
        body: &[u8],
        mut conn: Conn,
        deadline: Instant,
    ) -> Result<
        (
            Conn,
            Option<Call<ureq_proto::client::state::RecvBody>>,
            u16,
            HeaderMap,
            usize,
            usize,
        ),
        (Failed, bool),
    > {
        let proto = |e: ureq_proto::Error| (Failed::protocol(e.to_string(), false), false);
        let request = build().map_err(|e| (Failed::protocol(e.to_string(), false), false))?;
        let call = Call::new(request).map_err(proto)?;
        let mut call = call.proceed();
        let mut n = call.write(&mut self.out).map_err(|e| {
            let why = match e {
                ureq_proto::Error::OutputOverflow => format!(
                    "the request head is larger than the {}-byte output buffer",
                    self.out.len()
                ),
                e => e.to_string(),
            };
            (Failed::protocol(why, false), false)
        })?;
        let mut call = match call.proceed().map_err(proto)? {
            Some(SendRequestResult::RecvResponse(c)) => c,
            Some(SendRequestResult::SendBody(c)) => {
                self.write_body(c, body, &mut n, &mut conn, deadline)?
            }
            Some(SendRequestResult::Await100(c)) => match c.proceed().map_err(proto)? {
                // The body follows the head at once: a load generator does not wait for 100.
                Await100Result::SendBody(c) => {
                    self.write_body(c, body, &mut n, &mut conn, deadline)?
                }
                Await100Result::RecvResponse(c) => c,
            },
            None => return Err(stuck()),
        };
        if n > 0 {
            write_before(&mut conn.stream, &self.out[..n], deadline).map_err(write_failed)?;
        }
        // Read until the head parses; 1xx responses before it are skipped.
        let mut have = 0usize;
        let mut used = 0usize;
        let mut any = false;
        let (status, headers) = loop {
            if used < have {
                match call.try_response(&self.input[used..have], false) {
                    Ok((n, Some(r))) => {
                        used += n;
                        let (parts, ()) = r.into_parts();
                        break (parts.status.as_u16(), parts.headers);
                    }
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
                return Err((Failed::protocol(why, false), false));
            }
            match read_before(&mut conn, &mut self.input[have..], self.timeout, deadline) {
                Ok(0) => {
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection before a response",
                    );
                    return Err((Failed::io(&e, false), !any));
                }
                Ok(n) => {
                    have += n;
                    any = true;
                }
                Err(e) => {
                    let dead = !any && classify_io(&e) == FailureKind::Reset;
                    return Err((Failed::io(&e, false), dead));
                }
            }
        };
        let call = match call.proceed() {
            Some(RecvResponseResult::RecvBody(c)) => Some(c),
            Some(RecvResponseResult::Redirect(c)) => {
                conn_close_if(&mut conn, c.must_close_connection());
                None
            }
            Some(RecvResponseResult::Cleanup(c)) => {
                conn_close_if(&mut conn, c.must_close_connection());
                None
            }
            None => return Err(stuck()),
        };
        Ok((conn, call, status, headers, used, have))
    }

    /// Append the body to the head in the output buffer, sending the buffer whenever it fills;
    /// `n` is how much of the buffer is waiting to be sent.
    fn write_body(
        &mut self,
        mut call: Call<ureq_proto::client::state::SendBody>,
        body: &[u8],
        n: &mut usize,
        conn: &mut Conn,
        deadline: Instant,
    ) -> Result<Call<ureq_proto::client::state::RecvResponse>, (Failed, bool)> {
        let proto = |e: ureq_proto::Error| (Failed::protocol(e.to_string(), false), false);
        let mut sent = 0usize;
        loop {
            let (i, o) = call
                .write(&body[sent..], &mut self.out[*n..])
                .map_err(proto)?;
            sent += i;
            *n += o;
            if call.can_proceed() {
                break;
            }
            if i == 0 && o == 0 || *n == self.out.len() {
                if *n == 0 {
                    return Err(proto(ureq_proto::Error::OutputOverflow));
                }
                write_before(&mut conn.stream, &self.out[..*n], deadline).map_err(write_failed)?;
                *n = 0;
            }
        }
        call.proceed()
            .ok_or_else(|| proto(ureq_proto::Error::BodyContentAfterFinish))
    }
}

/// A connection the request or response says to close is not kept (closed when dropped).
fn conn_close_if(conn: &mut Conn, close: bool) {
    conn.close |= close;
}

impl Body<'_> {
    /// The exchange is over: keep the connection if it can carry the next request.
    fn end(&mut self, clean: bool) {
        let Some(conn) = self.conn.take() else { return };
        // Bytes after the response's end were not asked for: the connection is not trusted.
        if clean && !conn.close && self.used == self.have {
            self.owner.keep(conn);
        }
    }

    fn finish(&mut self, remote_closed: bool) -> io::Result<usize> {
        let Some(call) = self.call.take() else {
            return Ok(0);
        };
        if !call.can_proceed() {
            // `0\r\n` then a close: the whole body came, the connection is gone.
            if call.is_ended_chunked() {
                self.end(false);
                return Ok(0);
            }
            self.end(false);
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection before the end of the body",
            ));
        }
        let close = match call.proceed() {
            Some(RecvBodyResult::Redirect(c)) => c.must_close_connection(),
            Some(RecvBodyResult::Cleanup(c)) => c.must_close_connection(),
            None => true,
        };
        self.end(!close && !remote_closed);
        Ok(0)
    }
}

impl Read for Body<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut remote_closed = false;
        loop {
            let Some(call) = self.call.as_mut() else {
                return Ok(0);
            };
            let fulfilled = match call.body_mode() {
                BodyMode::LengthDelimited(_) | BodyMode::Chunked => call.can_proceed(),
                BodyMode::CloseDelimited => false,
                _ => true,
            };
            if fulfilled {
                return self.finish(false);
            }
            let input = &self.owner.input[self.used..self.have];
            if !input.is_empty() || remote_closed {
                let (i, o) = call
                    .read(input, buf)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                self.used += i;
                if o > 0 {
                    return Ok(o);
                }
                if remote_closed {
                    return self.finish(true);
                }
                if i > 0 {
                    continue;
                }
            }
            if self.used == self.have {
                (self.used, self.have) = (0, 0);
            }
            let Some(conn) = self.conn.as_mut() else {
                return Ok(0);
            };
            let (timeout, deadline) = (self.owner.timeout, self.deadline);
            match read_before(conn, &mut self.owner.input[self.have..], timeout, deadline) {
                Ok(0) => remote_closed = true,
                Ok(n) => self.have += n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    remote_closed = true;
                }
                Err(e) => {
                    self.call = None;
                    self.end(false);
                    return Err(e);
                }
            }
        }
    }
}

impl Drop for Body<'_> {
    fn drop(&mut self) {
        // A body not read to its end leaves the connection mid-response: close it.
        self.conn = None;
    }
}

/// Connect to one address: `TCP_NODELAY`, and the read and write timeouts set once.
fn open(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(addr, timeout)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    Ok(stream)
}

/// The state machine could not go on where it always can (a response head was read).
fn stuck() -> (Failed, bool) {
    let why = "the HTTP/1.1 exchange could not proceed".to_string();
    (Failed::protocol(why, false), false)
}

/// A failed write: a reset or broken pipe means the connection was dead before any response.
fn write_failed(e: io::Error) -> (Failed, bool) {
    let dead = classify_io(&e) == FailureKind::Reset;
    (Failed::io(&e, false), dead)
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("timed out {what}"))
}

/// One read, bounded by the timeout and what is left of the deadline. The socket's timeout is
/// changed (a system call) only when less than `timeout` is left.
fn read_before(
    conn: &mut Conn,
    buf: &mut [u8],
    timeout: Duration,
    deadline: Instant,
) -> io::Result<usize> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(timed_out("waiting for the response"));
    }
    let want = left.min(timeout);
    if conn.read_timeout != want {
        conn.stream.set_read_timeout(Some(want))?;
        conn.read_timeout = want;
    }
    loop {
        match conn.stream.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(timed_out("reading the response"));
            }
            r => return r,
        }
    }
}

/// Write all of `bytes`, each write bounded by the socket's write timeout (`--timeout`), failing
/// when the deadline has passed.
fn write_before(stream: &mut TcpStream, mut bytes: &[u8], deadline: Instant) -> io::Result<()> {
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(timed_out("sending the request"));
            }
            Err(e) => return Err(e),
        }
        if !bytes.is_empty() && Instant::now() >= deadline {
            return Err(timed_out("sending the request"));
        }
    }
    Ok(())
}

/// Is an idle connection still open? A peek that would block says yes; the end of the stream,
/// unasked-for bytes or an error say no. One system call.
#[cfg(unix)]
fn is_open(stream: &TcpStream) -> bool {
    use std::os::fd::AsRawFd;
    let mut byte = 0u8;
    // SAFETY: a valid socket descriptor and a one-byte buffer that outlives the call.
    let n = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
}

#[cfg(not(unix))]
fn is_open(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let open = matches!(stream.peek(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
    stream.set_nonblocking(false).is_ok() && open
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::sync::mpsc;

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

    /// Send a GET (or a POST of `body`) and read the body: (status, body, reconnected).
    fn call(h: &mut Http1, uri: &Uri, body: &[u8]) -> Result<(u16, String, bool), Failed> {
        let mut build = || {
            let b = Request::builder().uri(uri.clone());
            if body.is_empty() {
                b.body(())
            } else {
                b.method("POST")
                    .header(CONTENT_LENGTH, HeaderValue::from(body.len()))
                    .body(())
            }
        };
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut r = h.send_request(&mut build, body, uri, deadline)?;
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
        let (uri, rx) = server(5, |_, n| (ok(&format!("answer {n}")), false));
        let mut h = http1();
        for n in 0..5 {
            let (status, body, reconnected) = call(&mut h, &uri, b"").unwrap();
            assert_eq!(
                (status, body.as_str(), reconnected),
                (200, &*format!("answer {n}"), false)
            );
        }
        assert_eq!(connections(&rx, 5), [0, 0, 0, 0, 0]);
    }

    #[test]
    fn a_post_body_is_sent_after_its_head() {
        let (uri, rx) = server(1, |_, _| (ok("ok"), false));
        let mut h = http1();
        let body = vec![b'z'; 20_000];
        assert_eq!(call(&mut h, &uri, &body).unwrap().0, 200);
        let (_, head) = rx.recv().unwrap();
        assert!(head.starts_with("POST /x HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("content-length: 20000\r\n"), "{head}");
        assert!(head.ends_with(&"z".repeat(20_000)));
    }

    #[test]
    fn connection_close_opens_a_new_connection_without_a_reconnect() {
        let (uri, rx) = server(3, |_, _| {
            let b = b"HTTP/1.1 200 OK
Connection: close
Content-Length: 2

ok";
            (b.to_vec(), false)
        });
        let mut h = http1();
        for _ in 0..3 {
            assert_eq!(call(&mut h, &uri, b"").unwrap(), (200, "ok".into(), false));
        }
        assert_eq!(connections(&rx, 3), [0, 1, 2]);
    }

    #[test]
    fn a_connection_closed_silently_is_sent_again_once_and_said_so() {
        // Closes after each answer without saying so: the next request finds it dead.
        let (uri, rx) = server(4, |_, _| (ok("ok"), true));
        let mut h = http1();
        assert_eq!(call(&mut h, &uri, b"").unwrap(), (200, "ok".into(), false));
        for _ in 0..3 {
            // Give the close time to arrive, within the no-probe window.
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(call(&mut h, &uri, b"").unwrap(), (200, "ok".into(), true));
        }
        // The server saw each request once: the dead sends never reached it.
        assert_eq!(connections(&rx, 4), [0, 1, 2, 3]);
    }

    #[test]
    fn an_idle_connection_the_server_closed_is_probed_and_replaced() {
        let (uri, rx) = server(2, |_, _| (ok("ok"), true));
        let mut h = http1();
        assert_eq!(call(&mut h, &uri, b"").unwrap().0, 200);
        std::thread::sleep(PROBE_AFTER_IDLE + Duration::from_millis(50));
        // The probe finds it closed: a new connection, no resend.
        assert_eq!(call(&mut h, &uri, b"").unwrap(), (200, "ok".into(), false));
        assert_eq!(connections(&rx, 2), [0, 1]);
    }

    #[test]
    fn chunked_and_informational_responses_are_decoded() {
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
            call(&mut h, &uri, b"").unwrap(),
            (200, "abcdefg".into(), false)
        );
        assert_eq!(
            call(&mut h, &uri, b"").unwrap(),
            (404, "nope".into(), false)
        );
        assert_eq!(connections(&rx, 2), [0, 0]);
    }

    #[test]
    fn a_close_delimited_body_ends_at_the_close_and_the_connection_is_not_kept() {
        let (uri, rx) = server(2, |_, _| {
            (b"HTTP/1.0 200 OK\r\n\r\nuntil the end".to_vec(), true)
        });
        let mut h = http1();
        for _ in 0..2 {
            assert_eq!(
                call(&mut h, &uri, b"").unwrap(),
                (200, "until the end".into(), false)
            );
        }
        assert_eq!(connections(&rx, 2), [0, 1]);
    }

    #[test]
    fn bytes_after_a_response_are_not_trusted_as_the_next_one() {
        let (uri, rx) = server(2, |_, _| {
            let mut b = ok("ok");
            b.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale");
            (b, false)
        });
        let mut h = http1();
        assert_eq!(call(&mut h, &uri, b"").unwrap().1, "ok");
        assert_eq!(call(&mut h, &uri, b"").unwrap().1, "ok");
        assert_eq!(connections(&rx, 2), [0, 1]);
    }

    #[test]
    fn a_body_cut_short_or_a_head_too_large_fails_with_its_kind() {
        let (uri, _rx) = server(1, |_, _| {
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort".to_vec(),
                true,
            )
        });
        let err = call(&mut http1(), &uri, b"").unwrap_err();
        assert_eq!(err.kind, FailureKind::Reset, "{}", err.why);
        let (uri, _rx) = server(1, |_, _| {
            let mut b = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
            b.extend(std::iter::repeat_n(b'a', IO_BUFFER));
            b.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
            (b, false)
        });
        let err = call(&mut http1(), &uri, b"").unwrap_err();
        assert_eq!(err.kind, FailureKind::Protocol);
        assert!(err.why.contains("larger than"), "{}", err.why);
        let (uri, _rx) = server(1, |_, _| (b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec(), false));
        assert_eq!(
            call(&mut http1(), &uri, b"").unwrap_err().kind,
            FailureKind::Protocol
        );
    }

    #[test]
    fn a_body_left_unread_closes_its_connection() {
        let (uri, rx) = server(2, |_, _| (ok("a body nobody reads"), false));
        let mut h = http1();
        let mut build = || Request::builder().uri(uri.clone()).body(());
        let deadline = Instant::now() + Duration::from_secs(3);
        let r = h.send_request(&mut build, b"", &uri, deadline).unwrap();
        assert_eq!(r.status, 200);
        drop(r);
        assert_eq!(call(&mut h, &uri, b"").unwrap().0, 200);
        assert_eq!(connections(&rx, 2), [0, 1]);
    }

    #[test]
    fn silence_is_a_timeout_within_the_deadline() {
        let (uri, _rx) = server(1, |_, _| {
            std::thread::sleep(Duration::from_secs(4));
            (ok("late"), false)
        });
        let mut h = http1();
        let mut build = || Request::builder().uri(uri.clone()).body(());
        let start = Instant::now();
        let deadline = start + Duration::from_millis(300);
        let err = h
            .send_request(&mut build, b"", &uri, deadline)
            .map(|_| ())
            .unwrap_err();
        assert_eq!(err.kind, FailureKind::Timeout, "{}", err.why);
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(300), "{took:?}");
    }
}
