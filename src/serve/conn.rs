//! A served connection's socket, which remembers when its last bytes arrived and when its last
//! write went out (the time a streamed event reached the socket, which the timer learns from).
//!
//! On Linux the socket asks the kernel for the receive time of what it reads
//! (`SO_TIMESTAMPNS`: the time the TCP stack took the data in, before this server was even
//! woken to read it), so a chat answer's schedule starts when the request reached the host,
//! not some tens of microseconds later when a worker thread got to it. Elsewhere, or when the
//! kernel gives no time, the chat handler's start stands in.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// When a connection's last bytes arrived and when its last write went out, shared by its
/// socket and its requests.
#[derive(Debug, Default)]
pub(super) struct ConnTimes {
    /// The kernel's wall-clock receive time of the last read, in nanoseconds since the Unix
    /// epoch; 0 for none. Recording it costs a reader no clock read; [`received_at`] converts
    /// it when a chat request needs it.
    received: AtomicU64,
    /// When the last write returned, in nanoseconds since [`anchor`] plus one; 0 for none.
    written: AtomicU64,
}

impl ConnTimes {
    /// When the bytes of the last read arrived, if the kernel said.
    pub(super) fn received(&self) -> Option<SystemTime> {
        match self.received.load(Relaxed) {
            0 => None,
            nanos => Some(UNIX_EPOCH + Duration::from_nanos(nanos)),
        }
    }

    /// When the last write to the socket returned.
    pub(super) fn written(&self) -> Option<Instant> {
        match self.written.load(Relaxed) {
            0 => None,
            n => Some(anchor() + Duration::from_nanos(n - 1)),
        }
    }

    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    fn record_received(&self, unix_nanos: u64) {
        self.received.store(unix_nanos, Relaxed);
    }

    fn record_written(&self, at: Instant) {
        let nanos = u64::try_from(at.saturating_duration_since(anchor()).as_nanos())
            .unwrap_or(u64::MAX - 1);
        self.written.store(nanos + 1, Relaxed);
    }
}

/// The origin of [`ConnTimes::written`].
fn anchor() -> Instant {
    static ANCHOR: OnceLock<Instant> = OnceLock::new();
    *ANCHOR.get_or_init(Instant::now)
}

/// A receive time as an [`Instant`]: now minus its age (never later than now). None when it is
/// over a second old, or in the future (the wall clock was set meanwhile).
pub(super) fn received_at(at: SystemTime) -> Option<Instant> {
    let now = Instant::now();
    let age = SystemTime::now().duration_since(at).ok()?;
    if age > Duration::from_secs(1) {
        return None;
    }
    now.checked_sub(age)
}

/// A TCP stream whose reads and writes record their times in a [`ConnTimes`].
pub(super) struct TimedStream {
    stream: TcpStream,
    times: Arc<ConnTimes>,
}

impl TimedStream {
    /// Wrap `stream`, asking the kernel for receive times (where it can).
    pub(super) fn new(stream: TcpStream, times: Arc<ConnTimes>) -> TimedStream {
        #[cfg(target_os = "linux")]
        linux::enable_timestamps(&stream);
        TimedStream { stream, times }
    }
}

impl AsyncRead for TimedStream {
    #[cfg(target_os = "linux")]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            std::task::ready!(this.stream.poll_read_ready(cx))?;
            // SAFETY: `recv_stamped` only writes into the unfilled part, up to its length, and
            // returns how many bytes it wrote.
            let unfilled = unsafe { buf.unfilled_mut() };
            let read = this.stream.try_io(tokio::io::Interest::READABLE, || {
                linux::recv_stamped(&this.stream, unfilled)
            });
            match read {
                Ok((n, stamp)) => {
                    // SAFETY: the kernel initialized the first `n` bytes.
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    if n > 0
                        && let Some(at) = stamp
                    {
                        this.times.record_received(at);
                    }
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TimedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(_)) = written {
            this.times.record_written(Instant::now());
        }
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(_)) = written {
            this.times.record_written(Instant::now());
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::mem::{MaybeUninit, size_of};
    use std::os::fd::AsRawFd;

    use tokio::net::TcpStream;

    /// Ask for `SCM_TIMESTAMPNS` with every read (a failure only means no receive times).
    pub(super) fn enable_timestamps(stream: &TcpStream) {
        let on: libc::c_int = 1;
        // SAFETY: a plain setsockopt on a descriptor the stream owns, with an int option.
        unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&raw const on).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }

    /// One non-blocking `recvmsg` into `buf`: the bytes read, and when the last of them
    /// arrived (nanoseconds since the Unix epoch), when the kernel said.
    pub(super) fn recv_stamped(
        stream: &TcpStream,
        buf: &mut [MaybeUninit<u8>],
    ) -> io::Result<(usize, Option<u64>)> {
        // Room for one cmsg holding a timespec, aligned for cmsghdr.
        let mut control = [0u64; 8];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: zeroed msghdr is valid; every pointer set below outlives the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of::<[u64; 8]>() as _;
        // SAFETY: the socket is non-blocking (tokio's); buf and control are valid for writes
        // of the lengths given.
        let n = unsafe { libc::recvmsg(stream.as_raw_fd(), &raw mut msg, libc::MSG_DONTWAIT) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut stamp = None;
        // SAFETY: the CMSG_* walk stays within msg_controllen, which the kernel set.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET
                    && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
                {
                    let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                    stamp = u64::try_from(ts.tv_sec)
                        .ok()
                        .zip(u64::try_from(ts.tv_nsec).ok())
                        .map(|(s, ns)| s * 1_000_000_000 + ns)
                        .filter(|&ns| ns > 0);
                }
                cmsg = libc::CMSG_NXTHDR(&raw const msg, cmsg);
            }
        }
        Ok((n.unsigned_abs(), stamp))
    }
}
