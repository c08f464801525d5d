//! What one request leaves behind: a small `Copy` record sent from a user thread to the collector.

use std::time::Instant;

use crate::stream::StreamStats;

/// One finished request (or one that failed before it could finish).
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Index of the ramp stage that was active when the request was sent.
    pub stage: u32,
    /// The rate limiter's slot for this request, when `--rps` paces the run.
    pub scheduled: Option<Instant>,
    /// When the request started to be sent.
    pub sent: Instant,
    /// When the response head had arrived (ureq hands the response over after its headers).
    pub first_byte: Option<Instant>,
    /// When the last body byte arrived, or when the failure was seen.
    pub end: Instant,
    /// The HTTP status, or the kind of client-side failure.
    pub outcome: Outcome,
    /// Response body bytes read.
    pub bytes: u64,
    /// Token timings, when the response was read as an event stream (`None` on the plain path).
    pub stream: Option<StreamStats>,
    /// Target, attempt and success rule of this request (`--targets`, `--retries`, `--ok-status`).
    pub tag: Tag,
}

/// Where an attempt belongs beyond its stage: its user, and what the plain single-URL run
/// leaves at the defaults (target, attempt, success rule, checks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tag {
    /// The user (thread) that sent it, from 0 (`--samples` writes it).
    pub user: u32,
    /// Index of the `--targets` entry (0 with one target).
    pub target: u16,
    /// Attempt number within its logical request (0 = the first).
    pub attempt: u16,
    /// Another attempt of the same logical request follows this one (`--retries`).
    pub will_retry: bool,
    /// Whether `--ok-status` counts the status as a success; `None`: the default rule
    /// (below 400).
    pub ok: Option<bool>,
    /// When the logical request's first attempt was sent (on retries only).
    pub first_sent: Option<Instant>,
    /// The kept-alive connection this attempt was first sent on turned out to be closed by the
    /// server before any byte of a response: it was sent again once on a new connection.
    pub reconnected: bool,
    /// A response with a success status failed a check (`--expect-status`, `--expect-body`,
    /// `--expect-json`): counted as a check failure, not as ok.
    pub check_failed: bool,
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A complete response with this status code (any code: 4xx and 5xx are data).
    Status(u16),
    /// The client could not get a complete response.
    Failure(FailureKind),
}

/// Client-side failures, kept apart from HTTP error statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureKind {
    /// The TCP connection could not be made (refused, unreachable).
    Connect,
    /// The host name did not resolve.
    Dns,
    /// TLS handshake or certificate failure.
    Tls,
    /// No answer within `--timeout`.
    Timeout,
    /// The connection was reset or closed before the response was complete.
    Reset,
    /// The server sent something that is not valid HTTP.
    Protocol,
    /// Anything else.
    Other,
    /// An event stream cut off before its end: the connection closed or broke before the
    /// terminating event (`[DONE]`, `message_end`). The tokens received are still counted.
    StreamCut,
    /// An event stream that reported an error in an event (HTTP status 2xx, answer failed).
    StreamError,
}

impl FailureKind {
    /// Every kind, in report order.
    pub const ALL: [FailureKind; 9] = [
        FailureKind::Connect,
        FailureKind::Dns,
        FailureKind::Tls,
        FailureKind::Timeout,
        FailureKind::Reset,
        FailureKind::Protocol,
        FailureKind::Other,
        FailureKind::StreamCut,
        FailureKind::StreamError,
    ];

    /// Stable key used in JSON reports.
    pub fn key(self) -> &'static str {
        match self {
            FailureKind::Connect => "connect",
            FailureKind::Dns => "dns",
            FailureKind::Tls => "tls",
            FailureKind::Timeout => "timeout",
            FailureKind::Reset => "reset",
            FailureKind::Protocol => "protocol",
            FailureKind::Other => "other",
            FailureKind::StreamCut => "stream",
            FailureKind::StreamError => "stream_error",
        }
    }

    /// The kind with this [`FailureKind::key`].
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == key)
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::Connect => "connect refused/failed",
            FailureKind::Dns => "DNS lookup failed",
            FailureKind::Tls => "TLS failure",
            FailureKind::Timeout => "timeout",
            FailureKind::Reset => "reset / early EOF",
            FailureKind::Protocol => "protocol error",
            FailureKind::Other => "other",
            FailureKind::StreamCut => "stream cut mid-way",
            FailureKind::StreamError => "stream error event",
        }
    }

    /// Position in [`FailureKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A ureq error in words for evidence: a timeout says what timed out and which limit ran out
/// (ureq's own text is `timeout: connect`, also for a TLS handshake that stalled).
pub fn describe(err: &ureq::Error, timeout: std::time::Duration) -> String {
    use ureq::Timeout as T;
    let t = crate::parse::format_duration(timeout);
    let ureq::Error::Timeout(kind) = err else {
        return err.to_string();
    };
    match kind {
        T::Global | T::PerCall => {
            format!("timed out: the whole request took longer than --timeout {t}")
        }
        T::Connect => format!(
            "timed out connecting: the connection (TCP, proxy, TLS handshake) took longer than \
             --timeout {t}"
        ),
        T::Resolve => format!("timed out resolving the host name after {t}"),
        T::PerRead | T::RecvResponse | T::RecvBody => {
            format!("timed out reading the response: nothing arrived for {t}")
        }
        T::PerWrite | T::SendRequest | T::SendBody | T::Await100 => {
            format!("timed out sending the request: nothing could be written for {t}")
        }
        _ => err.to_string(),
    }
}

/// An I/O error in words for evidence (a wrapped ureq timeout as [`describe`] says it).
pub fn describe_io(io: &std::io::Error, timeout: std::time::Duration) -> String {
    match io.get_ref().and_then(|e| e.downcast_ref::<ureq::Error>()) {
        Some(u) => describe(u, timeout),
        None => io.to_string(),
    }
}

/// Classify a ureq error into a failure kind.
pub fn classify(err: &ureq::Error) -> FailureKind {
    use ureq::Error as E;
    match err {
        E::Timeout(_) => FailureKind::Timeout,
        E::HostNotFound => FailureKind::Dns,
        E::ConnectionFailed => FailureKind::Connect,
        E::Io(io) => classify_io(io),
        E::Tls(_) | E::Rustls(_) | E::Pem(_) | E::TlsRequired => FailureKind::Tls,
        E::Protocol(_)
        | E::Http(_)
        | E::BadUri(_)
        | E::LargeResponseHeader(_, _)
        | E::TooManyRedirects
        | E::RedirectFailed
        | E::BodyExceedsLimit(_) => FailureKind::Protocol,
        _ => FailureKind::Other,
    }
}

/// Classify an I/O error, looking inside for a wrapped ureq or rustls error.
pub fn classify_io(io: &std::io::Error) -> FailureKind {
    use std::io::ErrorKind as K;
    if let Some(inner) = io.get_ref() {
        if let Some(u) = inner.downcast_ref::<ureq::Error>() {
            return classify(u);
        }
        if inner.downcast_ref::<rustls::Error>().is_some() {
            return FailureKind::Tls;
        }
    }
    match io.kind() {
        K::ConnectionRefused | K::AddrNotAvailable | K::HostUnreachable | K::NetworkUnreachable => {
            FailureKind::Connect
        }
        K::TimedOut | K::WouldBlock => FailureKind::Timeout,
        K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe => {
            FailureKind::Reset
        }
        K::InvalidData => FailureKind::Protocol,
        _ => {
            let msg = io.to_string();
            if msg.contains("failed to lookup address") || msg.contains("Name or service") {
                FailureKind::Dns
            } else {
                FailureKind::Other
            }
        }
    }
}
