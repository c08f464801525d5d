//! Reading a response body: `Content-Length` bodies straight from the socket into the
//! reader's buffer, any other framing through `ureq-proto`; the connection kept or closed at the
//! end.

use std::borrow::Cow;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use ureq::http::{HeaderMap, HeaderName, HeaderValue};
use ureq_proto::BodyMode;
use ureq_proto::client::state::RecvBody;
use ureq_proto::client::{Call, RecvBodyResult};

use super::head::FAST_HEADERS;
use super::socket::{Conn, Idle, read_before};

/// The body of a response. Reads past its end give 0. A connection whose response was read to
/// its end is kept for the next request unless the response or the request said to close it.
pub struct Body<'a> {
    /// The user's input buffer: the response head, then body bytes not yet handed out.
    pub(super) input: &'a mut [u8],
    /// Where the connection goes back when the exchange is over.
    pub(super) idle: &'a mut Idle,
    /// `--timeout`: each read.
    pub(super) timeout: Duration,
    /// The connection, until the body has ended.
    pub(super) conn: Option<Conn>,
    pub(super) framing: Framing,
    /// The response head is `input[..head_len]` until the body is read (fast path).
    pub(super) head_len: usize,
    /// The response headers, when `ureq-proto` parsed them.
    pub(super) headers: Option<HeaderMap>,
    /// `input[used..have]` is read and not yet handed out.
    pub(super) used: usize,
    pub(super) have: usize,
    pub(super) deadline: Instant,
}

impl<'a> Body<'a> {
    /// The body of the response `parsed` describes, on `conn`; a response without one is over
    /// at once (its connection kept, when it may be).
    pub(super) fn new(
        input: &'a mut [u8],
        idle: &'a mut Idle,
        timeout: Duration,
        conn: Conn,
        parsed: Parsed,
    ) -> Self {
        let mut body = Body {
            input,
            idle,
            timeout,
            conn: Some(conn),
            framing: parsed.framing,
            head_len: parsed.head_len,
            headers: parsed.headers,
            used: parsed.used,
            have: parsed.have,
            deadline: parsed.deadline,
        };
        if matches!(body.framing, Framing::Done | Framing::Length(0)) {
            // No body (HEAD, 204, 304, an empty one): the exchange is over.
            body.framing = Framing::Done;
            body.end(true);
        }
        body
    }

    /// The response headers: parsed again from the head (evidence only; `ureq-proto`'s when it
    /// parsed them). Call before reading the body: reading may overwrite the head.
    pub fn headers(&self) -> Cow<'_, HeaderMap> {
        if let Some(h) = &self.headers {
            return Cow::Borrowed(h);
        }
        let mut map = HeaderMap::new();
        let mut headers = [httparse::EMPTY_HEADER; FAST_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        if response
            .parse(&self.input[..self.head_len])
            .is_ok_and(|s| s.is_complete())
        {
            for h in response.headers.iter() {
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(h.name.as_bytes()),
                    HeaderValue::from_bytes(h.value),
                ) {
                    map.append(n, v);
                }
            }
        }
        Cow::Owned(map)
    }

    /// The exchange is over: keep the connection if it can carry the next request.
    pub(super) fn end(&mut self, clean: bool) {
        let Some(conn) = self.conn.take() else { return };
        // Bytes after the response's end were not asked for: the connection is not trusted.
        if clean && !conn.close && self.used == self.have {
            self.idle.keep(conn);
        }
    }

    fn finish(&mut self, call: Box<Call<RecvBody>>, remote_closed: bool) -> io::Result<usize> {
        if !call.can_proceed() {
            self.end(false);
            // `0\r\n` then a close: the whole body came, the connection is gone.
            if call.is_ended_chunked() {
                return Ok(0);
            }
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

    /// A `Content-Length` body: what is left of the read input, then reads straight into `buf`.
    fn read_length(&mut self, buf: &mut [u8], left: u64) -> io::Result<usize> {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = if self.used < self.have {
            let n = want.min(self.have - self.used);
            buf[..n].copy_from_slice(&self.input[self.used..self.used + n]);
            self.used += n;
            n
        } else {
            let Some(conn) = self.conn.as_mut() else {
                return Ok(0);
            };
            let timeout = self.timeout;
            match read_before(conn, &mut buf[..want], timeout, self.deadline) {
                Ok(0) => {
                    self.framing = Framing::Done;
                    self.end(false);
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection before the end of the body",
                    ));
                }
                Ok(n) => n,
                Err(e) => {
                    self.framing = Framing::Done;
                    self.end(false);
                    return Err(e);
                }
            }
        };
        let left = left - n as u64;
        if left == 0 {
            self.framing = Framing::Done;
            self.end(true);
        } else {
            self.framing = Framing::Length(left);
        }
        Ok(n)
    }

    /// A body `ureq-proto` decodes (chunked, close-delimited).
    fn read_proto(&mut self, buf: &mut [u8], mut call: Box<Call<RecvBody>>) -> io::Result<usize> {
        let mut remote_closed = false;
        loop {
            let fulfilled = match call.body_mode() {
                BodyMode::LengthDelimited(_) | BodyMode::Chunked => call.can_proceed(),
                BodyMode::CloseDelimited => false,
                _ => true,
            };
            if fulfilled {
                return self.finish(call, false);
            }
            let input = &self.input[self.used..self.have];
            if !input.is_empty() || remote_closed {
                let (i, o) = call
                    .read(input, buf)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                self.used += i;
                if o > 0 {
                    self.framing = Framing::Proto(call);
                    return Ok(o);
                }
                if remote_closed {
                    return self.finish(call, true);
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
            let (timeout, deadline) = (self.timeout, self.deadline);
            match read_before(conn, &mut self.input[self.have..], timeout, deadline) {
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
                    self.end(false);
                    return Err(e);
                }
            }
        }
    }
}

impl Read for Body<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match std::mem::replace(&mut self.framing, Framing::Done) {
            Framing::Done => Ok(0),
            Framing::Length(left) => self.read_length(buf, left),
            Framing::Proto(call) => self.read_proto(buf, call),
        }
    }
}

impl Drop for Body<'_> {
    fn drop(&mut self) {
        // A body not read to its end leaves the connection mid-response: close it.
        self.conn = None;
    }
}

/// How the rest of a response's body is framed.
pub(super) enum Framing {
    /// `Content-Length` bytes still to come.
    Length(u64),
    /// Decoded by `ureq-proto`.
    Proto(Box<Call<RecvBody>>),
    /// The body has ended (or there was none).
    Done,
}

/// What reading a response head gave, for [`Body`].
pub(super) struct Parsed {
    pub(super) status: u16,
    pub(super) framing: Framing,
    pub(super) head_len: usize,
    pub(super) headers: Option<HeaderMap>,
    pub(super) event_stream: bool,
    pub(super) used: usize,
    pub(super) have: usize,
    pub(super) deadline: Instant,
}
