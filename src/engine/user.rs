//! One simulated user: an OS thread with its own keep-alive connections, sending requests one
//! after another while the ramp gate lets it, paced by the shared limiter when there is one.
//! Plain `http://` requests go over the user's own connection ([`Http1`], ureq-proto); `https://`
//! and proxied ones through its ureq agent.

use std::borrow::Cow;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use ureq::Agent;
use ureq::http::HeaderMap;
use ureq::http::uri::Scheme;

use crate::collector::Event;
use crate::engine::gate::Gate;
use crate::engine::http1::{Body, Http1};
use crate::engine::stream_read::{StreamReader, is_event_stream};
use crate::engine::transport;
use crate::sample::{FailureKind, Outcome, Sample, Tag, classify, classify_io};
use crate::stream::StreamStats;
use crate::traffic::check::CHECK_BODY_BYTES;
use crate::traffic::cookies::Jar;
use crate::traffic::evidence::BODY_BYTES;
use crate::traffic::llm::LlmSetup;
use crate::traffic::run::{Prepared, TrafficRun};

/// Body bytes are read into a buffer of this size and dropped: only their count matters.
const READ_BUF: usize = 4 * 1024;

/// What one attempt measured, from send start to the last body byte.
struct Attempt {
    outcome: Outcome,
    /// When the response head arrived; `None` when none did.
    first_byte: Option<Instant>,
    /// Body bytes read.
    bytes: u64,
    /// Token timing, when the response was read as an event stream.
    stream: Option<StreamStats>,
    /// It was sent again on a new connection: the kept-alive one was dead.
    reconnected: bool,
    /// When an event stream's terminating event arrived: the answer's end, whatever the server
    /// does with the connection after it.
    answered: Option<Instant>,
    /// A response with a success status failed a check (`--expect-*`).
    check_failed: bool,
}

/// What reading a response body found.
struct BodyRead {
    outcome: Outcome,
    bytes: u64,
    stream: Option<StreamStats>,
    answered: Option<Instant>,
    check_failed: bool,
}

impl BodyRead {
    fn plain(outcome: Outcome, bytes: u64) -> Self {
        BodyRead {
            outcome,
            bytes,
            stream: None,
            answered: None,
            check_failed: false,
        }
    }
}

impl Attempt {
    /// An attempt that ended before a response head arrived.
    fn failed(outcome: Outcome) -> Self {
        Attempt {
            outcome,
            first_byte: None,
            bytes: 0,
            stream: None,
            reconnected: false,
            answered: None,
            check_failed: false,
        }
    }

    /// An attempt whose response head arrived at `first_byte` and whose body was `read`.
    fn answered(read: BodyRead, first_byte: Instant, reconnected: bool) -> Self {
        Attempt {
            outcome: read.outcome,
            first_byte: Some(first_byte),
            bytes: read.bytes,
            stream: read.stream,
            reconnected,
            answered: read.answered,
            check_failed: read.check_failed,
        }
    }
}

/// What a user thread keeps from request to request.
struct Own {
    /// Its connections for plain `http://` requests.
    http1: Option<Http1>,
    /// Body bytes are read into it and dropped (a stack buffer would be zeroed per request).
    buf: Vec<u8>,
    /// Made on the first event-stream response: plain runs never build one.
    streams: Option<StreamReader>,
    /// The body a check reads (`--expect-body`, `--expect-json`); stays empty without one.
    checked: Vec<u8>,
    /// This user's cookies (`--cookies`).
    jar: Option<Jar>,
}

/// Everything one user thread needs.
pub struct User {
    /// This user's number, from 0: the ramp gate admits users in this order.
    pub index: usize,
    /// The ramp gate, stop flag, slot clock and request budget of the run.
    pub gate: Arc<Gate>,
    /// Where samples go: the collector.
    pub tx: Sender<Event>,
    /// This user's own agent, for `https://` and proxied requests: one keep-alive pool.
    pub agent: Agent,
    /// This user's own connections for plain `http://` requests; `None` with `--proxy`.
    pub http1: Option<Http1>,
    /// The one deadline of a whole request: `--timeout` plus its documented slack.
    pub deadline: Duration,
    /// How event streams are read (`--stream`, `--content-path`, the API of `--openai`...).
    pub llm: Arc<LlmSetup>,
    /// Each next request, whole; think time, retries and where evidence goes.
    pub traffic: Arc<TrafficRun>,
}

impl User {
    /// The thread body: runs until the run stops or the request budget is spent.
    pub fn run(mut self) {
        let mut own = Own {
            http1: self.http1.take(),
            buf: vec![0u8; READ_BUF],
            streams: None,
            checked: Vec::new(),
            jar: self.traffic.cookies().then(Jar::new),
        };
        let gate = &*self.gate;
        let traffic = &*self.traffic;
        let mut rng = traffic.rng(self.index);
        // `--iterations`: this user's logical requests so far.
        let mut iterations = 0u64;
        loop {
            if gate.per_user.is_some_and(|n| iterations >= n) {
                return;
            }
            if !gate.wait_turn(self.index) {
                return;
            }
            if !gate.take_budget() {
                return;
            }
            iterations += 1;
            let paced = gate.limiter.as_ref().map(|l| l.acquire_slot());
            let scheduled = paced.map(|(at, _)| at);
            if let Some(slot) = scheduled {
                if !gate.in_run(slot) {
                    return;
                }
                let now = Instant::now();
                if slot > now {
                    std::thread::sleep(slot - now);
                }
                if gate.stop.load(Ordering::Relaxed) {
                    return;
                }
                // The stage changed while this user waited. A slot of a stage without users is
                // skipped; a user the new stage no longer runs hands its slot to one it runs
                // (a late slot of an earlier stage is sent by whoever runs now: none is lost).
                // Either way this user's request is given back.
                if let Some((at, stage)) = paced {
                    let skip = gate.runs_nobody(stage);
                    if skip || !gate.is_active(self.index) {
                        if !skip && let Some(l) = &gate.limiter {
                            l.give_back_slot(at, stage);
                        }
                        gate.give_back();
                        iterations -= 1;
                        continue;
                    }
                }
            }
            // A paced request belongs to the stage of its slot; else to the stage now running.
            let stage = paced.map_or_else(|| gate.stage.load(Ordering::Relaxed), |(_, s)| s);
            // Chosen once per logical request: every retry resends it as it is.
            let mut prepared = traffic.prepare(self.index, &mut rng);
            if let Some(jar) = &own.jar {
                with_cookies(&mut prepared, jar);
            }
            let mut attempt: u16 = 0;
            let mut first_sent = None;
            // Every attempt is a sample; retries (off by default) follow their backoff.
            loop {
                gate.started.fetch_add(1, Ordering::Relaxed);
                let sent = Instant::now();
                let Attempt {
                    outcome,
                    first_byte,
                    bytes,
                    stream,
                    reconnected,
                    answered,
                    check_failed,
                } = self.send(&prepared, attempt, &mut own, sent, stage);
                // A streamed answer ends at its terminating event: a server that holds the
                // connection open after it (or closes it late) stretches nothing.
                let end = answered.unwrap_or_else(Instant::now);
                let ok = match outcome {
                    Outcome::Status(code) => traffic.is_ok(code),
                    Outcome::Failure(_) => false,
                };
                let will_retry =
                    traffic
                        .retry_policy()
                        .should_retry(outcome, ok, u32::from(attempt))
                        && !gate.stop.load(Ordering::Relaxed);
                let sample = Sample {
                    stage,
                    // A retry has no slot of its own: it is not late, and not CO-corrected.
                    scheduled: if attempt == 0 { scheduled } else { None },
                    sent,
                    first_byte,
                    end,
                    outcome,
                    bytes,
                    stream,
                    tag: Tag {
                        user: self.index as u32,
                        target: prepared.target as u16,
                        attempt,
                        will_retry,
                        ok: Some(ok),
                        first_sent,
                        reconnected,
                        check_failed,
                    },
                };
                if self.tx.send(Event::Sample(sample)).is_err() {
                    return;
                }
                if !will_retry {
                    break;
                }
                first_sent.get_or_insert(sent);
                attempt += 1;
                let wait = traffic.retry_policy().backoff(u32::from(attempt), &mut rng);
                if !nap(&gate.stop, wait) {
                    return;
                }
            }
            if let Some(think) = traffic.think_time()
                && !nap(&gate.stop, think.sample(&mut rng))
            {
                return;
            }
        }
    }

    /// Build the request and send it, returning once the response head has arrived; `within`
    /// replaces the agent's deadline for the whole request (a resend gets what is left).
    fn run_once(
        &self,
        p: &Prepared<'_>,
        uri: &ureq::http::Uri,
        within: Option<Duration>,
    ) -> Result<Result<ureq::http::Response<ureq::Body>, ureq::Error>, ureq::http::Error> {
        let builder = p.builder(uri);
        match p.body.as_deref() {
            Some(body) => builder.body(body).map(|req| self.run_within(req, within)),
            None => builder.body(()).map(|req| self.run_within(req, within)),
        }
    }

    fn run_within<S: ureq::AsSendBody>(
        &self,
        req: ureq::http::Request<S>,
        within: Option<Duration>,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        match within {
            None => self.agent.run(req),
            Some(left) => {
                let req = self.agent.configure_request(req);
                self.agent.run(req.timeout_global(Some(left)).build())
            }
        }
    }

    /// One attempt, start to last body byte.
    fn send(
        &self,
        p: &Prepared<'_>,
        attempt: u16,
        own: &mut Own,
        sent: Instant,
        stage: u32,
    ) -> Attempt {
        let Own {
            http1,
            buf,
            streams,
            checked,
            jar,
        } = own;
        let traffic = &*self.traffic;
        let Some(uri) = p.uri.as_deref().filter(|_| p.is_valid()) else {
            // Placeholders rendered a URL or header value that cannot be sent.
            let outcome = Outcome::Failure(FailureKind::Protocol);
            if traffic.claim_failure(FailureKind::Protocol) {
                let why = "a --data value made an invalid URL or header value".to_string();
                traffic.keep_evidence(p, attempt, outcome, Some(why), Vec::new(), &[], 0);
            }
            return Attempt::failed(outcome);
        };
        if let Some(http1) = http1
            .as_mut()
            .filter(|_| uri.scheme() == Some(&Scheme::HTTP))
        {
            return match http1.send(p, uri, sent + self.deadline) {
                Ok(mut r) => {
                    let first_byte = Instant::now();
                    if let Some(jar) = jar {
                        jar.keep(uri, &r.body.headers());
                    }
                    let read = self.read_body(
                        p,
                        attempt,
                        (r.status, r.event_stream),
                        &mut r.body,
                        (buf, checked),
                        streams,
                        sent,
                        stage,
                    );
                    Attempt::answered(read, first_byte, r.reconnected)
                }
                Err(f) => {
                    let outcome = Outcome::Failure(f.kind);
                    if traffic.claim_failure(f.kind) {
                        traffic.keep_evidence(p, attempt, outcome, Some(f.why), Vec::new(), &[], 0);
                    }
                    Attempt {
                        reconnected: f.reconnected,
                        ..Attempt::failed(outcome)
                    }
                }
            };
        }
        let before = transport::connection_activity();
        let mut result = self.run_once(p, uri, None);
        // A kept-alive connection the server closed after its last response (without
        // `Connection: close`) is found dead when the request over it is reset before one
        // byte of a response came back (no new connection, no input: the same activity). It is
        // sent again once on a new connection, as curl does, within what is left of the
        // request's one deadline; a failure then is the server's. The server may have read the
        // first send (a server that closes after reading a request, whatever its method): it is
        // counted as a reconnect either way. The normal path pays one thread-local read.
        let mut reconnected = false;
        if let Ok(Err(e)) = &result
            && classify(e) == FailureKind::Reset
            && transport::connection_activity() == before
            && let Some(left) = self.deadline.checked_sub(sent.elapsed())
        {
            reconnected = true;
            result = self.run_once(p, uri, Some(left));
        }
        let response = match result {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                let outcome = Outcome::Failure(classify(&e));
                if let Outcome::Failure(kind) = outcome
                    && traffic.claim_failure(kind)
                {
                    let why = Some(crate::sample::describe(&e, self.timeout()));
                    traffic.keep_evidence(p, attempt, outcome, why, Vec::new(), &[], 0);
                }
                return Attempt {
                    reconnected,
                    ..Attempt::failed(outcome)
                };
            }
            Err(_) => {
                return Attempt::failed(Outcome::Failure(FailureKind::Protocol));
            }
        };
        let first_byte = Instant::now();
        let (parts, mut body) = response.into_parts();
        if let Some(jar) = jar {
            jar.keep(uri, &parts.headers);
        }
        let read = self.read_body(
            p,
            attempt,
            (parts.status.as_u16(), is_event_stream(&parts.headers)),
            &mut AgentBody {
                headers: &parts.headers,
                reader: body.as_reader(),
            },
            (buf, checked),
            streams,
            sent,
            stage,
        );
        Attempt::answered(read, first_byte, reconnected)
    }

    /// `--timeout`: the deadline without its slack.
    fn timeout(&self) -> Duration {
        self.deadline
            .saturating_sub(crate::engine::transport::DEADLINE_SLACK)
    }

    /// Reads the response body to its end, through `buf`: the user's own buffer, made once
    /// (a buffer on the stack was zeroed for every request: 64 cache lines written per request,
    /// which with hundreds of users were cache misses). `checked` keeps the body for a check
    /// that reads it (`--expect-body`, `--expect-json`), and only then.
    #[allow(clippy::too_many_arguments)]
    fn read_body(
        &self,
        p: &Prepared<'_>,
        attempt: u16,
        (status, event_stream): (u16, bool),
        reader: &mut impl ResponseBody,
        (buf, checked): (&mut [u8], &mut Vec<u8>),
        streams: &mut Option<StreamReader>,
        sent: Instant,
        stage: u32,
    ) -> BodyRead {
        let traffic = &*self.traffic;
        let ok_status = traffic.is_ok(status);
        // Evidence: only while this status's quota is open (one atomic load otherwise).
        let capture = !ok_status && traffic.claim_status(status);
        let headers = if capture {
            traffic.header_lines(&reader.headers())
        } else {
            Vec::new()
        };
        // Checks judge responses with a success status; the others are HTTP errors already.
        let checks = traffic.checks().filter(|_| ok_status);
        // A failed check's evidence needs the head, read before the body (which may overwrite
        // it); only while the quota of check evidence is open.
        let check_headers = if checks.is_some() && traffic.check_evidence_open() {
            traffic.header_lines(&reader.headers())
        } else {
            Vec::new()
        };
        if self.llm.stream.forced || event_stream {
            let stream_reader = streams.get_or_insert_with(|| {
                StreamReader::with_tokenizer(
                    self.llm.stream.format.clone(),
                    self.llm.stream.tokenizer.clone(),
                )
            });
            let read = stream_reader.read(reader, buf, sent, stage, &self.tx);
            let outcome = read.outcome(status, stream_reader.has_terminator());
            if capture {
                traffic.keep_evidence(p, attempt, outcome, None, headers, &[], read.bytes);
            }
            // An event stream's body is judged by its events: only its status is checked.
            let why = match outcome {
                Outcome::Status(_) => checks.and_then(|c| c.judge_status(status)),
                Outcome::Failure(_) => None,
            };
            if let Some(why) = &why
                && traffic.claim_check()
            {
                let headers = check_headers;
                traffic.keep_check_evidence(p, attempt, status, why.clone(), headers, &[], 0);
            }
            let mut stats = read.stats;
            // The server reported no input tokens: the client's count of the prompt, as vLLM's
            // bench serve counts its prompts (said apart in the reports).
            if stats.input_tokens.is_none()
                && let Some(n) = p.prompt_tokens
            {
                stats.input_tokens = Some(n);
                stats.input_counted = true;
            }
            return BodyRead {
                outcome,
                bytes: read.bytes,
                stream: Some(stats),
                answered: read.answered,
                check_failed: why.is_some(),
            };
        }
        let keep_body = checks.is_some_and(|c| c.needs_body());
        checked.clear();
        let mut bytes = 0u64;
        let mut kept = Vec::new();
        loop {
            match reader.read(buf) {
                Ok(0) => break,
                Ok(n) => {
                    if capture && kept.len() < BODY_BYTES {
                        kept.extend_from_slice(&buf[..n.min(BODY_BYTES - kept.len())]);
                    }
                    if keep_body && checked.len() < CHECK_BODY_BYTES {
                        checked.extend_from_slice(&buf[..n.min(CHECK_BODY_BYTES - checked.len())]);
                    }
                    bytes += n as u64;
                }
                Err(e) => {
                    let outcome = Outcome::Failure(classify_io(&e));
                    if let Outcome::Failure(kind) = outcome
                        && traffic.claim_failure(kind)
                    {
                        let why = Some(crate::sample::describe_io(&e, self.timeout()));
                        traffic.keep_evidence(p, attempt, outcome, why, headers, &kept, bytes);
                    }
                    return BodyRead::plain(outcome, bytes);
                }
            }
        }
        let outcome = Outcome::Status(status);
        if capture {
            traffic.keep_evidence(p, attempt, outcome, None, headers, &kept, bytes);
        }
        let why = checks.and_then(|c| c.judge(status, checked, bytes <= checked.len() as u64));
        if let Some(why) = &why
            && traffic.claim_check()
        {
            let headers = check_headers;
            traffic.keep_check_evidence(p, attempt, status, why.clone(), headers, checked, bytes);
        }
        BodyRead {
            check_failed: why.is_some(),
            ..BodyRead::plain(outcome, bytes)
        }
    }
}

/// A response body as [`User::read_body`] reads it, with its headers for the evidence.
trait ResponseBody: Read {
    /// The response headers; asked before the body is read.
    fn headers(&self) -> Cow<'_, HeaderMap>;
}

impl ResponseBody for Body<'_> {
    fn headers(&self) -> Cow<'_, HeaderMap> {
        Body::headers(self)
    }
}

/// A body the ureq agent reads, and the head it came with.
struct AgentBody<'a> {
    headers: &'a HeaderMap,
    reader: ureq::BodyReader<'a>,
}

impl Read for AgentBody<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf)
    }
}

impl ResponseBody for AgentBody<'_> {
    fn headers(&self) -> Cow<'_, HeaderMap> {
        Cow::Borrowed(self.headers)
    }
}

/// Add the user's cookies for the request's URL, merged with any Cookie of the request itself
/// into one header (RFC 6265 allows one): the request is then built per send (not the run's
/// shared request or its bytes written once).
fn with_cookies(p: &mut Prepared<'_>, jar: &Jar) {
    let Some(value) = p.uri.as_deref().and_then(|uri| jar.header_for(uri)) else {
        return;
    };
    use ureq::http::header::COOKIE;
    let own = p
        .plan
        .headers
        .iter()
        .map(|(n, v)| (n, Some(v)))
        .chain(p.extra_headers.iter().map(|(n, v)| (n, v.as_ref())))
        .filter(|(n, _)| *n == COOKIE)
        .filter_map(|(_, v)| v.and_then(|v| v.to_str().ok()));
    let mut parts: Vec<&str> = own.collect();
    let jar_text = value.to_str().unwrap_or_default().to_string();
    parts.push(&jar_text);
    p.cookie = ureq::http::HeaderValue::from_str(&parts.join("; "))
        .ok()
        .or(Some(value));
    p.request = None;
    p.wire = None;
}

/// Sleep `d` in short naps, returning early (false) when the run stops.
pub fn nap(stop: &std::sync::atomic::AtomicBool, d: Duration) -> bool {
    const STEP: Duration = Duration::from_millis(50);
    let until = Instant::now() + d;
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        std::thread::sleep((until - now).min(STEP));
    }
}
