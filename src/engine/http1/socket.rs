//! The socket under a connection: connect, reads and writes bounded by the timeout and the
//! request's deadline, and the idle probe.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::engine::transport::{PROBE_AFTER_IDLE, coarse_now};

/// Connect to one address: `TCP_NODELAY`, and the read and write timeouts set once.
pub(super) fn open(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(addr, timeout)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    Ok(stream)
}

pub(super) fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("timed out {what}"))
}

/// One read, bounded by the timeout and what is left of the deadline. The socket's timeout is
/// changed (a system call) only when less than `timeout` is left.
pub(super) fn read_before(
    conn: &mut Conn,
    buf: &mut [u8],
    timeout: Duration,
    deadline: Instant,
) -> io::Result<usize> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(timed_out(
            "waiting for the response: the request's --timeout deadline passed",
        ));
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
                // Which limit ran out: the read's own (--timeout of silence) or the request's
                // one deadline (a response that trickled in for longer than --timeout).
                return Err(timed_out(&if want < timeout {
                    format!(
                        "reading the response: the whole request took longer than --timeout {}",
                        crate::parse::format_duration(timeout)
                    )
                } else {
                    format!(
                        "reading the response: nothing arrived for {}",
                        crate::parse::format_duration(want)
                    )
                }));
            }
            r => return r,
        }
    }
}

/// Write all of `bytes`, each write bounded by the socket's write timeout (`--timeout`), failing
/// when the deadline has passed.
pub(super) fn write_before(
    stream: &mut TcpStream,
    mut bytes: &[u8],
    deadline: Instant,
) -> io::Result<()> {
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
pub(super) fn is_open(stream: &TcpStream) -> bool {
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
pub(super) fn is_open(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let open = matches!(stream.peek(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
    stream.set_nonblocking(false).is_ok() && open
}

/// A user keeps at most this many idle connections (as its ureq agent did), the least recently
/// used one closed first; a run with one host needs one.
const MAX_IDLE: usize = 2;

/// One open connection and what is known of it.
#[derive(Debug)]
pub(super) struct Conn {
    /// `host:port` as the request URI spells it: requests for the same authority share it.
    pub(super) authority: String,
    pub(super) stream: TcpStream,
    /// The read timeout set on the socket now.
    pub(super) read_timeout: Duration,
    /// [`coarse_now`] when its last response ended: idle time starts there.
    pub(super) idle_since: Duration,
    /// The request or the response said to close it after this exchange.
    pub(super) close: bool,
}

/// A user's idle connections: at most [`MAX_IDLE`], keyed by `host:port`.
#[derive(Debug, Default)]
pub(super) struct Idle(Vec<Conn>);

impl Idle {
    /// The idle connection for `authority`, unless it has been idle long enough for the server
    /// to have closed it and a probe finds it closed.
    pub(super) fn take(&mut self, authority: &str) -> Option<Conn> {
        let i = self.0.iter().position(|c| c.authority == authority)?;
        let conn = self.0.swap_remove(i);
        let idle = coarse_now().saturating_sub(conn.idle_since);
        (idle < PROBE_AFTER_IDLE || is_open(&conn.stream)).then_some(conn)
    }

    /// Keep `conn` for the next request, closing the least recently used one beyond
    /// [`MAX_IDLE`].
    pub(super) fn keep(&mut self, mut conn: Conn) {
        conn.idle_since = coarse_now();
        if self.0.len() >= MAX_IDLE
            && let Some(oldest) = (0..self.0.len()).min_by_key(|&i| self.0[i].idle_since)
        {
            self.0.swap_remove(oldest);
        }
        self.0.push(conn);
    }
}
