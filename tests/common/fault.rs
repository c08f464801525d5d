//! A misbehaving HTTP/1.1 server of the test suite's own, on raw std sockets (HTTP libraries
//! refuse to misbehave): it answers every request head in one fixed way, well or badly, can be
//! stopped (listener closed, open connections reset) and started again on the same port, and
//! can listen with a one-slot accept backlog that it does not drain for a while.
//!
//! Everything is bounded: each connection thread ends when its peer goes, when a write fails, or
//! when the server is stopped; trickling writes check the stop flag between bytes.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How the server answers each request head.
#[derive(Debug, Clone)]
pub enum Mode {
    /// `200 OK`, body `ok`, keep-alive.
    Ok,
    /// Head with `Content-Length: 100000`, 1000 body bytes, then a TCP reset.
    ResetMidBody,
    /// Head with `Content-Length: 100`, 10 body bytes, then a clean close (FIN).
    ShortBody,
    /// Bytes that are not HTTP at all, then close.
    NotHttp,
    /// A `200 OK` whose head carries one header of this many bytes.
    HugeHeader(usize),
    /// Read the request and never answer (the connection stays open).
    Silent,
    /// A normal head at once, then the body one byte per `every`.
    TrickleBody { len: usize, every: Duration },
    /// The whole response (head included) one byte per `every`.
    TrickleAll { every: Duration },
    /// The head after `head`, then the 2-byte body after `body` more.
    Pause { head: Duration, body: Duration },
    /// This whole response, as it is, to every request (keep-alive).
    Respond(&'static str),
    /// `200 OK`, body `ok`, with no `Connection: close`, then the connection is closed after its
    /// every `n`th request: a server that drops kept-alive connections without saying so.
    CloseAfter(u64),
    /// On each connection: the first request answered in full; the second answered with the
    /// start of a response head, then the connection closed.
    CutHeadOnSecond,
    /// On each connection: every request answered after `delay`, except the second, which is
    /// read, held for `delay`, and then the connection closed without an answer.
    SlowThenCloseOnSecond(Duration),
    /// On each connection, the first response to its 1st, 3rd, 5th ... request and the second
    /// to the others (keep-alive): a service whose first attempts fail.
    Alternate(&'static str, &'static str),
    /// `200 OK`, body `ok`, keep-alive, each response setting a cookie no other response sets:
    /// `Set-Cookie: sid=C.N; Path=/` for request N (from 0) of connection C.
    SetCookie,
    /// `200 OK`, body `ok`, keep-alive, until `after` has passed since the server started; then
    /// this whole response to every request: a service that starts failing.
    FailAfter {
        after: Duration,
        response: &'static str,
    },
    /// `200 OK`, body `ok`, keep-alive, one request at a time across every connection, each
    /// taking `each`: a service of at most 1 / `each` requests per second, however many
    /// connections wait on it.
    OneAtATime { each: Duration },
}

/// One request as the fault server received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The connection it came on (numbered from 0 in accept order).
    pub conn: u64,
    /// When its head was complete.
    pub at: Instant,
    /// Its request head, request line first.
    pub head: String,
}

impl Received {
    /// The request line, e.g. `GET /path HTTP/1.1`.
    pub fn line(&self) -> &str {
        self.head.lines().next().unwrap_or("")
    }

    /// The value of header `name` (case-insensitive), if the head has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }
}

/// A running fault server.
pub struct FaultServer {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    acceptor: Option<JoinHandle<()>>,
}

struct Inner {
    mode: Mode,
    stop: AtomicBool,
    /// Start accepting only after this instant (the backlog fills meanwhile).
    accept_from: Instant,
    accepted: AtomicU64,
    requests: AtomicU64,
    /// Every request, in arrival order.
    received: Mutex<Vec<Received>>,
    /// Held while a [`Mode::OneAtATime`] request is served.
    serial: Mutex<()>,
    /// A clone of every open connection (by id), to reset them on stop; a connection's thread
    /// removes its own when it ends, so that dropping the stream really closes the socket.
    conns: Mutex<HashMap<u64, TcpStream>>,
}

impl FaultServer {
    /// On an ephemeral loopback port.
    pub fn start(mode: Mode) -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap(), mode).expect("bind 127.0.0.1:0")
    }

    /// On a given address (to come back on the port of a stopped server).
    pub fn start_on(addr: SocketAddr, mode: Mode) -> io::Result<Self> {
        // std sets SO_REUSEADDR on Unix: the port can be bound again at once after a stop.
        let listener = TcpListener::bind(addr)?;
        Ok(Self::with_listener(listener, mode, Instant::now()))
    }

    /// A listener whose accept backlog is `backlog`, which accepts nothing for `hold`: every
    /// connection beyond the backlog waits in the kernel (SYN retransmits) until then.
    pub fn start_with_backlog(backlog: i32, hold: Duration, mode: Mode) -> Self {
        let listener = listen_with_backlog(backlog).expect("listen with a small backlog");
        Self::with_listener(listener, mode, Instant::now() + hold)
    }

    fn with_listener(listener: TcpListener, mode: Mode, accept_from: Instant) -> Self {
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let inner = Arc::new(Inner {
            mode,
            stop: AtomicBool::new(false),
            accept_from,
            accepted: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            received: Mutex::new(Vec::new()),
            serial: Mutex::new(()),
            conns: Mutex::new(HashMap::new()),
        });
        let acceptor = {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name("fault-accept".into())
                .spawn(move || accept_loop(listener, inner))
                .unwrap()
        };
        FaultServer {
            addr,
            inner,
            acceptor: Some(acceptor),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Request heads received so far.
    pub fn requests(&self) -> u64 {
        self.inner.requests.load(Ordering::SeqCst)
    }

    /// The request line (`GET /path HTTP/1.1`) of every request so far, in arrival order.
    pub fn request_lines(&self) -> Vec<String> {
        self.received()
            .iter()
            .map(|r| r.line().to_string())
            .collect()
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.inner.accepted.load(Ordering::SeqCst)
    }

    /// Go away: close the listener (new connections are refused) and reset every open
    /// connection. Returns the request count.
    pub fn stop(mut self) -> u64 {
        self.shutdown();
        self.requests()
    }

    fn shutdown(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
        for (_, c) in self.inner.conns.lock().unwrap().drain() {
            set_linger_zero(&c);
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn accept_loop(listener: TcpListener, inner: Arc<Inner>) {
    while !inner.stop.load(Ordering::SeqCst) {
        if Instant::now() < inner.accept_from {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        match listener.accept() {
            Ok((stream, _)) => {
                let id = inner.accepted.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_nodelay(true);
                if let Ok(clone) = stream.try_clone() {
                    inner.conns.lock().unwrap().insert(id, clone);
                }
                let inner2 = inner.clone();
                let spawned = std::thread::Builder::new()
                    .name("fault-conn".into())
                    .stack_size(128 * 1024)
                    .spawn(move || {
                        serve_conn(stream, &inner2, id);
                        inner2.conns.lock().unwrap().remove(&id);
                    });
                if spawned.is_err() {
                    // Out of threads: the connection is dropped (the client sees a reset).
                    inner.conns.lock().unwrap().remove(&id);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    // The listener is dropped here: connecting is refused from now on.
}

/// Read request heads one after another and answer each as the mode says.
fn serve_conn(mut stream: TcpStream, inner: &Inner, conn: u64) {
    let mut served = 0u64;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        // One complete head in `buf`?
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() > 64 * 1024 {
                return;
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        // Skip a request body, if the head announces one.
        let body = content_length(&buf[..head_end]);
        let consumed = (head_end + body).min(buf.len());
        inner.received.lock().unwrap().push(Received {
            conn,
            at: Instant::now(),
            head: String::from_utf8_lossy(&buf[..head_end]).into_owned(),
        });
        buf.drain(..consumed);
        inner.requests.fetch_add(1, Ordering::SeqCst);
        if inner.stop.load(Ordering::SeqCst) {
            return;
        }
        if !answer(&mut stream, inner, (conn, served)) {
            return;
        }
        served += 1;
    }
}

/// Answer request number `nth` (from 0) of connection `conn`; false when the connection is
/// finished.
fn answer(stream: &mut TcpStream, inner: &Inner, (conn, nth): (u64, u64)) -> bool {
    match &inner.mode {
        Mode::SetCookie => stream
            .write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: sid={conn}.{nth}; Path=/\r\n\r\nok"
                )
                .as_bytes(),
            )
            .is_ok(),
        Mode::Ok => stream
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok",
            )
            .is_ok(),
        Mode::ResetMidBody => {
            let mut out = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".to_vec();
            out.extend(std::iter::repeat_n(b'x', 1000));
            let _ = stream.write_all(&out);
            let _ = stream.flush();
            std::thread::sleep(Duration::from_millis(20));
            // Closing the last descriptor with SO_LINGER 0 sends a reset (the thread drops the
            // stream, and its clone kept for `stop`, when this returns false).
            set_linger_zero(stream);
            false
        }
        Mode::ShortBody => {
            let mut out = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".to_vec();
            out.extend_from_slice(b"0123456789");
            let _ = stream.write_all(&out);
            let _ = stream.shutdown(std::net::Shutdown::Write);
            false
        }
        Mode::NotHttp => {
            let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.6\r\nthis is not HTTP\r\n\r\n");
            let _ = stream.shutdown(std::net::Shutdown::Write);
            false
        }
        Mode::HugeHeader(size) => {
            let mut out = b"HTTP/1.1 200 OK\r\nX-Huge: ".to_vec();
            out.extend(std::iter::repeat_n(b'a', *size));
            out.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\nok");
            // The client gives up part way: a failed write ends the connection.
            stream.write_all(&out).is_ok()
        }
        Mode::Silent => {
            // Never answer; wait for the peer to go (or the stop) without busy-looping.
            let mut sink = [0u8; 1024];
            loop {
                match stream.read(&mut sink) {
                    Ok(0) | Err(_) => return false,
                    Ok(_) => {}
                }
            }
        }
        Mode::TrickleBody { len, every } => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n");
            if stream.write_all(head.as_bytes()).is_err() {
                return false;
            }
            trickle(stream, inner, &vec![b'z'; *len], *every)
        }
        Mode::OneAtATime { each } => {
            let _one = inner.serial.lock().unwrap_or_else(|e| e.into_inner());
            std::thread::sleep(*each);
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .is_ok()
        }
        Mode::Pause { head, body } => {
            std::thread::sleep(*head);
            let head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
            if stream.write_all(head).is_err() {
                return false;
            }
            std::thread::sleep(*body);
            stream.write_all(b"ok").is_ok()
        }
        Mode::Respond(response) => stream.write_all(response.as_bytes()).is_ok(),
        Mode::FailAfter { after, response } => {
            let out: &[u8] = if inner.accept_from.elapsed() < *after {
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
            } else {
                response.as_bytes()
            };
            stream.write_all(out).is_ok()
        }
        Mode::CloseAfter(n) => {
            let ok = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .is_ok();
            // Closed (a FIN, after the answer) without a word: the client finds out on its next
            // request over this connection.
            ok && !(nth + 1).is_multiple_of(*n)
        }
        Mode::CutHeadOnSecond => {
            if nth == 1 {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Le");
                return false;
            }
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .is_ok()
        }
        Mode::SlowThenCloseOnSecond(delay) => {
            std::thread::sleep(*delay);
            nth != 1
                && stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .is_ok()
        }
        Mode::Alternate(first, second) => {
            let response = if nth.is_multiple_of(2) { first } else { second };
            stream.write_all(response.as_bytes()).is_ok()
        }
        Mode::TrickleAll { every } => trickle(
            stream,
            inner,
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            *every,
        ),
    }
}

/// Write `bytes` one at a time, `every` apart; false if the peer went or the server stopped.
fn trickle(stream: &mut TcpStream, inner: &Inner, bytes: &[u8], every: Duration) -> bool {
    for b in bytes {
        if inner.stop.load(Ordering::SeqCst) || stream.write_all(&[*b]).is_err() {
            return false;
        }
        std::thread::sleep(every);
    }
    true
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> usize {
    let text = String::from_utf8_lossy(head);
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

/// SO_LINGER {on, 0}: closing the socket sends a reset instead of a FIN.
pub fn set_linger_zero(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a descriptor we own, with a correctly sized struct.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// A 127.0.0.1 listener on an ephemeral port with the given accept backlog (std always asks
/// for the system maximum).
fn listen_with_backlog(backlog: i32) -> io::Result<TcpListener> {
    // SAFETY: plain socket calls on a descriptor we create and then hand to TcpListener.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let listener = TcpListener::from_raw_fd(fd);
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
            },
            sin_zero: [0; 8],
        };
        if libc::bind(
            fd,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        if libc::listen(fd, backlog) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(listener)
    }
}
