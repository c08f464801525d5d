//! Response bodies of the embedded server: a full body, `n` filler bytes, or a streamed answer.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

use super::tokens::SseBody;

pub(super) fn response(
    status: StatusCode,
    content_type: &'static str,
    body: RespBody,
) -> Response<RespBody> {
    let len = body.len();
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(len) = len {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
    resp
}

/// `/bytes/{n}` bodies are slices of this, so serving them allocates nothing.
static FILLER: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// Response body: a ready buffer, `n` filler bytes served in 64 KiB static slices, or a
/// streamed answer of unknown length (sent chunked; its error closes the connection).
#[derive(Debug)]
pub(super) enum RespBody {
    Full(Bytes),
    Filler(u64),
    Sse(Box<SseBody>),
}

impl RespBody {
    /// The length, when known in advance.
    fn len(&self) -> Option<u64> {
        match self {
            RespBody::Full(bytes) => Some(bytes.len() as u64),
            RespBody::Filler(n) => Some(*n),
            RespBody::Sse(_) => None,
        }
    }
}

impl Body for RespBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let chunk = match self.get_mut() {
            RespBody::Sse(body) => return body.poll_frame(cx),
            RespBody::Full(bytes) if bytes.is_empty() => None,
            RespBody::Full(bytes) => Some(std::mem::take(bytes)),
            RespBody::Filler(0) => None,
            RespBody::Filler(left) => {
                let n = (*left).min(FILLER.len() as u64);
                *left -= n;
                Some(Bytes::from_static(&FILLER[..n as usize]))
            }
        };
        Poll::Ready(chunk.map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.len() == Some(0)
    }

    fn size_hint(&self) -> SizeHint {
        match self.len() {
            Some(len) => SizeHint::with_exact(len),
            None => SizeHint::default(),
        }
    }
}
