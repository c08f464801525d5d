//! The request of `--url`, `-X`, `-H` and `-d`: checked, with messages that name the flag.

use std::sync::Arc;

use ureq::http::{HeaderName, HeaderValue, Method, Uri};

use crate::error::UsageError;
use crate::error::bad;
use crate::redact::{mask_header_arg, mask_url};

/// The request every user sends.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL as given (for display use [`Target::display_url`]).
    pub url: String,
    pub uri: Uri,
    pub method: Method,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Arc<[u8]>>,
}

impl Target {
    /// The URL with any password in it masked.
    pub fn display_url(&self) -> String {
        mask_url(&self.url)
    }
}

/// Check the URL, method, headers and body of the request.
///
/// # Errors
///
/// When the URL is bad (see [`parse_url`]), `method` is not an HTTP method token (empty, or with a
/// space), a header is bad (see [`parse_header`]), or the file of an `@FILE` body cannot be read.
pub fn parse_target(
    url: &str,
    method: &str,
    headers: &[String],
    body: Option<&str>,
) -> Result<Target, UsageError> {
    let uri = parse_url(url)?;
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| {
        UsageError(format!(
            "-X '{method}' is not an HTTP method: write e.g. GET or POST"
        ))
    })?;
    let headers = headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()?;
    let body = match body {
        None => None,
        Some(b) => Some(read_body(b)?),
    };
    Ok(Target {
        url: url.to_string(),
        uri,
        method,
        headers,
        body,
    })
}

/// An absolute http(s) URL with a host.
///
/// # Errors
///
/// When there is no `://`, the text is not a valid URI, the scheme is not `http` or `https`, or
/// there is no host; the message shows the URL with any password masked.
pub fn parse_url(url: &str) -> Result<Uri, UsageError> {
    let shown = mask_url(url);
    if !url.contains("://") {
        return bad(format!(
            "--url '{shown}' has no scheme: write http://{shown} or https://{shown}"
        ));
    }
    let uri: Uri = url
        .parse()
        .map_err(|e| UsageError(format!("--url '{shown}' is not a valid URL: {e}")))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => {
            return bad(format!(
                "--url '{shown}': scheme '{other}' is not supported, use http:// or https://"
            ));
        }
        None => return bad(format!("--url '{shown}' has no scheme: write http://...")),
    }
    match uri.host() {
        Some(h) if !h.is_empty() => {}
        _ => {
            return bad(format!(
                "--url '{shown}' has no host: write e.g. http://127.0.0.1:8080/"
            ));
        }
    }
    // The URI parser takes any digits as a port; a port beyond 65535 (or 0) was then sent to
    // the scheme's default port or failed every connect.
    if let Some(port) = bad_port(uri.authority().map_or("", |a| a.as_str())) {
        return bad(format!(
            "--url '{shown}': port {port} is not a TCP port: it must be 1 to 65535"
        ));
    }
    Ok(uri)
}

/// The port of a URL authority (`user:pw@host:port`) when it is not a TCP port (0, or beyond
/// 65535, which URI parsers take): `None` when it is one or there is none.
pub fn bad_port(authority: &str) -> Option<&str> {
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let (_, port) = host_port.rsplit_once(':')?;
    (!port.contains(']') && !port.is_empty() && !port.parse::<u16>().is_ok_and(|p| p > 0))
        .then_some(port)
}

/// `Name: value` into a header pair.
///
/// # Errors
///
/// When there is no `:`, the name is not a valid header name, or the value has characters a
/// header cannot carry (control characters other than tab).
pub fn parse_header(h: &str) -> Result<(HeaderName, HeaderValue), UsageError> {
    let Some((name, value)) = h.split_once(':') else {
        return bad(format!(
            "-H '{}' has no colon: a header is 'Name: value'",
            mask_header_arg(h)
        ));
    };
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
        UsageError(format!(
            "-H '{}': '{}' is not a valid header name",
            mask_header_arg(h),
            name.trim()
        ))
    })?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| {
        UsageError(format!(
            "-H '{}': the value has characters a header cannot carry",
            name
        ))
    })?;
    Ok((name, value))
}

fn read_body(b: &str) -> Result<Arc<[u8]>, UsageError> {
    match b.strip_prefix('@') {
        Some(path) => std::fs::read(path)
            .map(Arc::from)
            .map_err(|e| UsageError(format!("-d @{path}: cannot read the body file: {e}"))),
        None => Ok(Arc::from(b.as_bytes())),
    }
}
