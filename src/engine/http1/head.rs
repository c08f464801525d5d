//! Request and response heads: a request written once for the run (by `ureq-proto`), and the
//! fast path's response head (parsed by `httparse`, framed by its `Content-Length`).

use std::mem::MaybeUninit;

use ureq::http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use ureq::http::{HeaderMap, HeaderValue, Method, Request};
use ureq_proto::client::state::RecvResponse;
use ureq_proto::client::{Await100Result, Call, SendRequestResult};

use super::failed::{Broken, broken};

use crate::engine::stream_read::is_event_stream_value;
use crate::traffic::run::Wire;

/// Response headers parsed without allocating; a response with more goes to `ureq-proto`.
pub(super) const FAST_HEADERS: usize = 64;

/// A whole request (head and body, as `ureq-proto` writes them) for a request that is the
/// same every time: `body` is its body, if any (a `Content-Length` is added unless the request
/// frames its body itself).
///
/// # Errors
///
/// `ureq-proto`'s refusal of the request (an invalid head, a body longer or shorter than its
/// `Content-Length`), as text.
pub fn wire(request: &Request<()>, body: Option<&[u8]>) -> Result<Wire, String> {
    let close = asks_close(request.headers());
    let head = request.method() == Method::HEAD;
    let mut request = request.clone();
    frame_body(&mut request, body);
    let mut bytes = Vec::new();
    let mut scratch = vec![0u8; 64 * 1024];
    let mut keep = |b: &[u8]| {
        bytes.extend_from_slice(b);
        Ok(())
    };
    write_call(
        request,
        body.is_some(),
        body.unwrap_or(&[]),
        &mut scratch,
        &mut keep,
    )
    .map_err(|(f, _)| f.why)?;
    Ok(Wire {
        bytes: bytes.into(),
        close,
        head,
    })
}

/// Give a request with a body its `Content-Length`, unless it frames the body itself
/// (`Content-Length` or `Transfer-Encoding` among its headers).
pub(super) fn frame_body(request: &mut Request<()>, body: Option<&[u8]>) {
    if let Some(body) = body
        && !request.headers().contains_key(CONTENT_LENGTH)
        && !request.headers().contains_key(TRANSFER_ENCODING)
    {
        request
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
}

/// Write `request` and its body with `ureq-proto` into `buf`, handing the bytes to `emit`
/// whenever `buf` fills and at the end, and return the call waiting for the response. A body,
/// even an empty one, is sent whatever the method (`has_body`), as ureq's agent does; the body
/// follows the head at once, also after `Expect: 100-continue` (RFC 9110 §10.1.1 allows it;
/// wrk, oha and vegeta do the same; the agent is configured alike).
pub(super) fn write_call(
    request: Request<()>,
    has_body: bool,
    body: &[u8],
    buf: &mut [u8],
    emit: &mut dyn FnMut(&[u8]) -> Result<(), Broken>,
) -> Result<Call<RecvResponse>, Broken> {
    let proto = |e: ureq_proto::Error| broken(e.to_string());
    let mut call = Call::new(request).map_err(proto)?;
    if has_body {
        call.force_send_body();
    }
    let mut call = call.proceed();
    let mut n = call.write(buf).map_err(proto)?;
    if !call.can_proceed() {
        let why = format!(
            "the request head is larger than the {}-byte output buffer",
            buf.len()
        );
        return Err(broken(why));
    }
    let mut body_call = match call.proceed().map_err(proto)? {
        Some(SendRequestResult::RecvResponse(c)) => {
            emit(&buf[..n])?;
            return Ok(c);
        }
        Some(SendRequestResult::SendBody(c)) => c,
        Some(SendRequestResult::Await100(c)) => match c.proceed().map_err(proto)? {
            Await100Result::SendBody(c) => c,
            Await100Result::RecvResponse(c) => {
                emit(&buf[..n])?;
                return Ok(c);
            }
        },
        None => return Err(broken("the request could not be written".into())),
    };
    let mut sent = 0usize;
    while !body_call.can_proceed() {
        let rest = &body[sent..];
        // As much of the body as fits what is left of `buf` once framed (chunk sizes).
        let take = body_call.calculate_max_input(buf.len() - n).min(rest.len());
        if take == 0 && !rest.is_empty() {
            if n == 0 {
                return Err(proto(ureq_proto::Error::OutputOverflow));
            }
            emit(&buf[..n])?;
            n = 0;
            continue;
        }
        let (i, o) = body_call
            .write(&rest[..take], &mut buf[n..])
            .map_err(proto)?;
        sent += i;
        n += o;
        if i == 0 && o == 0 && !body_call.can_proceed() {
            // No progress: the buffer is full (send what is waiting and go on), or nothing
            // more can be written at all.
            if n > 0 {
                emit(&buf[..n])?;
                n = 0;
                continue;
            }
            let why = if rest.is_empty() {
                format!(
                    "the body ({} bytes) is shorter than the request's Content-Length",
                    body.len()
                )
            } else {
                ureq_proto::Error::OutputOverflow.to_string()
            };
            return Err(broken(why));
        }
    }
    if n > 0 {
        emit(&buf[..n])?;
    }
    body_call
        .proceed()
        .ok_or_else(|| broken("the request body could not be written".into()))
}

/// A response head as `httparse` gave it: what the fast path needs of it.
pub(super) struct FastHead {
    pub(super) status: u16,
    pub(super) len: usize,
    pub(super) content_length: Option<u64>,
    pub(super) close: bool,
    pub(super) event_stream: bool,
}

/// The head is not for the fast path: hand it to `ureq-proto`.
pub(super) struct Slow;

/// Parse a response head with `httparse`. `Ok(None)`: not all of it has arrived yet.
/// `Err(Slow)`: anything but an HTTP/1.1 final response framed by one valid `Content-Length`
/// (or without a body: a `HEAD` request, 204, 304), including heads `httparse` refuses, which
/// `ureq-proto` then refuses with its own message.
pub(super) fn fast_head(input: &[u8], method_is_head: bool) -> Result<Option<FastHead>, Slow> {
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; FAST_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        input,
        &mut headers,
    ) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(Slow),
    };
    let status = response.code.ok_or(Slow)?;
    if response.version != Some(1) || !(200..=999).contains(&status) {
        return Err(Slow);
    }
    let mut content_length = None;
    let mut close = false;
    let mut event_stream = false;
    let mut seen_type = false;
    for h in response.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or(Slow)?;
            if content_length.replace(n).is_some() {
                return Err(Slow);
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(Slow);
        } else if name.eq_ignore_ascii_case(b"connection") {
            close |= has_token(h.value, b"close");
        } else if name.eq_ignore_ascii_case(b"content-type") && !seen_type {
            // The first one counts, as a header map's `get` reads it on the other path.
            seen_type = true;
            event_stream = is_event_stream_value(h.value);
        }
    }
    let no_body = method_is_head || status == 204 || status == 304;
    let content_length = match (no_body, content_length) {
        (true, _) => None,
        (false, Some(n)) => Some(n),
        // Close-delimited: `ureq-proto` reads it to the end of the stream.
        (false, None) => return Err(Slow),
    };
    Ok(Some(FastHead {
        status,
        len,
        content_length,
        close,
        event_stream,
    }))
}

/// Does a comma-separated header value hold `token` (ASCII case-insensitively)?
pub(super) fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// Does a request ask to close its connection after the response (`Connection: close`)?
pub(super) fn asks_close(headers: &HeaderMap) -> bool {
    headers
        .get_all(CONNECTION)
        .iter()
        .any(|v| has_token(v.as_bytes(), b"close"))
}
