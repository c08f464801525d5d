//! Run-time state of the traffic plan, shared by every user: hands each user its next request,
//! ready to send (templates were split before the run, so a request only picks a target, takes
//! counters and concatenates pieces), and keeps error evidence.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ureq::http::header::{ACCEPT, AUTHORIZATION, COOKIE, HOST, USER_AGENT};
use ureq::http::request::Builder;
use ureq::http::{HeaderName, HeaderValue, Request, Uri};

use crate::sample::{FailureKind, Outcome};
use crate::traffic::evidence::Evidence;
use crate::traffic::evidence::EvidenceStore;
use crate::traffic::llm::Rotation;
use crate::traffic::plan::{BodyPlan, RequestPlan, TrafficConfig, UrlPlan};
use crate::traffic::policy::ThinkTime;
use crate::traffic::retry::RetryPolicy;
use crate::traffic::targets::Picker;
use crate::traffic::template::Vars;

/// The User-Agent sent unless `-H` (or a targets file) gives one.
pub const DEFAULT_USER_AGENT: &str = concat!("qpsbench/", env!("CARGO_PKG_VERSION"));

/// One request, ready to send.
#[derive(Debug)]
pub struct Prepared<'a> {
    /// Index of the target.
    pub target: usize,
    pub plan: &'a RequestPlan,
    /// `None` when placeholders made an invalid URL (the attempt is a protocol failure).
    pub uri: Option<Cow<'a, Uri>>,
    /// Host, User-Agent and Accept, made once for the target.
    pub auto_headers: &'a AutoHeaders,
    /// Rendered header values and the rotated Authorization; `None` inside when a value cannot
    /// be a header (the attempt is a protocol failure).
    pub extra_headers: Vec<(HeaderName, Option<HeaderValue>)>,
    /// This logical request's API key when keys rotate (`--api-key-file`): it replaces the
    /// plan's Authorization.
    pub key: Option<&'a HeaderValue>,
    /// The body: this logical request's prompt when prompts rotate, else the plan's.
    pub body: Option<Cow<'a, [u8]>>,
    /// The request whole (method, URI, headers; no body), when it is the same every time: a
    /// plan without placeholders in its URL or headers, and no rotated key or token. Made once
    /// per run for all users, so that a user clones it instead of building it anew.
    pub request: Option<&'a Request<()>>,
    /// The request whole, head and body, written once for the run: when `request` is set and
    /// the body is the plan's own (not a rotated prompt).
    pub wire: Option<&'a Wire>,
    /// The one `Cookie` header (`--cookies`: the plan's own cookies and the user's jar, merged);
    /// it replaces any Cookie of the plan.
    pub cookie: Option<HeaderValue>,
    /// The input tokens of this request's prompt as the client counts them (LLM flags only).
    pub prompt_tokens: Option<u32>,
}

/// A request written once for the run, head and body, to be sent as it is: the engine writes
/// it ([`TrafficRun::write_wires`]), the traffic plan says when it applies ([`Prepared::wire`]).
#[derive(Debug, Clone)]
pub struct Wire {
    /// The request's bytes.
    pub bytes: Box<[u8]>,
    /// The request says `Connection: close`.
    pub close: bool,
    /// It is a `HEAD` request (its response has no body).
    pub head: bool,
}

impl Prepared<'_> {
    /// The request could be built: a valid URL and header values.
    pub fn is_valid(&self) -> bool {
        self.uri.is_some() && self.extra_headers.iter().all(|(_, v)| v.is_some())
    }

    /// The request's method, `uri` and every header, in the order they are sent: Host,
    /// User-Agent and Accept (unless the plan sets them), the plan's headers, the rendered and
    /// rotated ones, and the rotated API key. The body is [`Prepared::body`].
    pub fn builder(&self, uri: &Uri) -> Builder {
        let mut builder = Request::builder()
            .method(self.plan.method.clone())
            .uri(uri.clone());
        for (name, value) in self.auto_headers.iter() {
            builder = builder.header(name, value);
        }
        for (name, value) in &self.plan.headers {
            if self.key.is_some() && name == AUTHORIZATION
                || self.cookie.is_some() && name == COOKIE
            {
                continue;
            }
            builder = builder.header(name, value);
        }
        for (name, value) in &self.extra_headers {
            if let Some(value) = value
                && !(self.cookie.is_some() && name == COOKIE)
            {
                builder = builder.header(name, value);
            }
        }
        if let Some(key) = self.key {
            builder = builder.header(AUTHORIZATION, key.clone());
        }
        if let Some(cookie) = &self.cookie {
            builder = builder.header(COOKIE, cookie.clone());
        }
        builder
    }
}

/// The headers ureq would add to a request of a plan that does not set them itself, made once:
/// ureq builds each of them anew for every request (the Host value through `format!`), about
/// a tenth of its per-request instructions.
#[derive(Debug, Clone, Default)]
pub struct AutoHeaders {
    /// `host[:port]` (the port when not the scheme's default), as ureq writes it; `None` when the
    /// plan sets Host or its URL has placeholders (ureq then adds it per request).
    pub host: Option<HeaderValue>,
    pub user_agent: Option<HeaderValue>,
    pub accept: Option<HeaderValue>,
}

impl AutoHeaders {
    fn for_plan(plan: &RequestPlan) -> Self {
        let has = |name: &HeaderName| {
            plan.headers.iter().any(|(n, _)| n == name)
                || plan.header_templates.iter().any(|(n, _)| n == name)
        };
        let host = match &plan.url {
            UrlPlan::Static(uri) if !has(&HOST) => host_value(uri),
            _ => None,
        };
        AutoHeaders {
            host,
            user_agent: (!has(&USER_AGENT)).then(|| HeaderValue::from_static(DEFAULT_USER_AGENT)),
            accept: (!has(&ACCEPT)).then(|| HeaderValue::from_static("*/*")),
        }
    }

    /// The headers, in the order they are sent.
    pub fn iter(&self) -> impl Iterator<Item = (HeaderName, &HeaderValue)> {
        [
            (HOST, self.host.as_ref()),
            (USER_AGENT, self.user_agent.as_ref()),
            (ACCEPT, self.accept.as_ref()),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| (n, v)))
    }
}

/// The Host header of `uri` as ureq makes it: the host, and the port when it is not the
/// scheme's default. A static value (leaked once per target) so that cloning it per request
/// touches no shared reference count.
fn host_value(uri: &Uri) -> Option<HeaderValue> {
    let host = uri.host()?;
    let default_port = match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    };
    let value = match uri.port_u16() {
        Some(port) if port != default_port => format!("{host}:{port}"),
        _ => host.to_string(),
    };
    HeaderValue::from_str(&value).ok()?;
    Some(HeaderValue::from_static(Box::leak(value.into_boxed_str())))
}

/// Run-time state of the traffic plan, shared by every user.
#[derive(Debug)]
pub struct TrafficRun {
    cfg: TrafficConfig,
    /// Per plan (target), the headers made once.
    auto_headers: Vec<AutoHeaders>,
    /// Per plan, the whole request when its URL and headers have no placeholders.
    requests: Vec<Option<Request<()>>>,
    /// Per plan, that request written whole with the plan's body ([`TrafficRun::write_wires`]).
    wires: Vec<Option<Wire>>,
    picker: Picker,
    seq: AtomicU64,
    auth_next: AtomicU64,
    /// Error and failure samples kept as evidence.
    evidence: EvidenceStore,
    /// When the run's clock started (for evidence times); set before users are admitted.
    start: std::sync::OnceLock<Instant>,
    /// Per-request bodies or keys, when there is more than one of either (the LLM flags).
    rotation: Option<Arc<Rotation>>,
    /// The one body's prompt tokens, when there is no rotation (see [`Prepared::prompt_tokens`]).
    prompt_tokens: Option<u32>,
}

/// What a user thread asks of the traffic plan besides its next request ([`TrafficRun::prepare`]):
/// the policies around a request, the headers made once, and where evidence goes.
impl TrafficRun {
    /// Is `status` a success (`--ok-status`, by default 200-399)?
    pub fn is_ok(&self, status: u16) -> bool {
        self.cfg.ok_status.is_ok(status)
    }

    /// When to retry and how long to wait first (`--retries`, `--retry-backoff`).
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.cfg.retry
    }

    /// The pause after each of a user's requests (`--think-time`).
    pub fn think_time(&self) -> Option<ThinkTime> {
        self.cfg.think
    }

    /// Take an evidence slot for a response with this (unsuccessful) status; false when its
    /// quota is full (one atomic load).
    pub fn claim_status(&self, status: u16) -> bool {
        self.evidence.claim_status(status)
    }

    /// Take an evidence slot for a failure of this kind; false when its quota is full.
    pub fn claim_failure(&self, kind: FailureKind) -> bool {
        self.evidence.claim_failure(kind)
    }

    /// Take an evidence slot for a failed check; false when its quota is full.
    pub fn claim_check(&self) -> bool {
        self.evidence.claim_check()
    }

    /// Is the quota of check evidence still open (one atomic load)?
    pub fn check_evidence_open(&self) -> bool {
        self.evidence.check_open()
    }

    /// The checks on each response (`--expect-*`); `None` when there are none.
    pub fn checks(&self) -> Option<&crate::traffic::check::Checks> {
        (!self.cfg.checks.is_empty()).then_some(&self.cfg.checks)
    }

    /// `--cookies`: each user keeps a cookie jar.
    pub fn cookies(&self) -> bool {
        self.cfg.cookies
    }

    /// Start the clock evidence times are measured from (the run's start; set once).
    pub fn start_clock(&self, start: Instant) {
        let _ = self.start.set(start);
    }

    /// The evidence kept so far, leaving none.
    pub fn take_evidence(&self) -> Vec<Evidence> {
        self.evidence.take()
    }
}

impl TrafficRun {
    /// The run-time state for `cfg`; `rotation` turns the bodies and keys of the LLM flags
    /// (`--prompts`, `--api-key-file`) per logical request.
    pub fn new(cfg: &TrafficConfig, rotation: Option<Arc<Rotation>>) -> Self {
        Self::with_prompt_tokens(cfg, rotation, None)
    }

    /// [`TrafficRun::new`], with the one body's prompt tokens for requests without a rotation.
    pub fn with_prompt_tokens(
        cfg: &TrafficConfig,
        rotation: Option<Arc<Rotation>>,
        prompt_tokens: Option<u32>,
    ) -> Self {
        let weights: Vec<u32> = cfg.requests.iter().map(|r| r.weight).collect();
        let auto_headers: Vec<AutoHeaders> =
            cfg.requests.iter().map(AutoHeaders::for_plan).collect();
        let requests: Vec<Option<Request<()>>> = cfg
            .requests
            .iter()
            .zip(&auto_headers)
            .enumerate()
            .map(|(target, (plan, auto))| match &plan.url {
                UrlPlan::Static(uri) if plan.header_templates.is_empty() => Prepared {
                    target,
                    plan,
                    uri: None,
                    auto_headers: auto,
                    extra_headers: Vec::new(),
                    key: None,
                    body: None,
                    request: None,
                    wire: None,
                    cookie: None,
                    prompt_tokens: None,
                }
                .builder(uri)
                .body(())
                .ok(),
                _ => None,
            })
            .collect();
        TrafficRun {
            auto_headers,
            wires: vec![None; requests.len()],
            requests,
            picker: Picker::new(&weights, cfg.order),
            seq: AtomicU64::new(0),
            auth_next: AtomicU64::new(0),
            evidence: EvidenceStore::new(cfg.redactor.clone()),
            cfg: cfg.clone(),
            start: std::sync::OnceLock::new(),
            rotation,
            prompt_tokens,
        }
    }

    /// Write each plan's request whole, once, where it is the same every time (see
    /// [`Prepared::wire`]): `write` gets the request and the plan's body. Before the run.
    pub fn write_wires(&mut self, write: impl Fn(&Request<()>, Option<&[u8]>) -> Option<Wire>) {
        for (i, request) in self.requests.iter().enumerate() {
            let body = match &self.cfg.requests[i].body {
                BodyPlan::None => None,
                BodyPlan::Static(b) => Some(&b[..]),
                BodyPlan::Template(_) => continue,
            };
            self.wires[i] = request.as_ref().and_then(|r| write(r, body));
        }
    }

    /// The random source of user `index` (seeded: runs with one `--seed` repeat).
    pub fn rng(&self, index: usize) -> fastrand::Rng {
        fastrand::Rng::with_seed(
            self.cfg
                .seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(index as u64),
        )
    }

    /// The next logical request of user `user`, whole: its target, URL, headers and body. Its
    /// retries resend it as it is (the same data row, prompt and key).
    pub fn prepare(&self, user: usize, rng: &mut fastrand::Rng) -> Prepared<'_> {
        let target = self.picker.pick(rng);
        let plan = &self.cfg.requests[target];
        let seq = if self.cfg.needs_seq {
            self.seq.fetch_add(1, Ordering::Relaxed)
        } else {
            0
        };
        let row: &[String] = match &self.cfg.data {
            Some(d) => &d.rows[(seq % d.rows.len() as u64) as usize],
            None => &[],
        };
        let vars = Vars { user, seq, row };
        let uri = match &plan.url {
            UrlPlan::Static(u) => Some(Cow::Borrowed(u)),
            UrlPlan::Template(t) => Uri::try_from(t.render(&vars, true)).ok().map(Cow::Owned),
        };
        let mut extra_headers = Vec::new();
        for (name, t) in &plan.header_templates {
            let v = HeaderValue::from_bytes(&t.render(&vars, false)).ok();
            extra_headers.push((name.clone(), v));
        }
        if !self.cfg.auth.is_empty() {
            let i = self.auth_next.fetch_add(1, Ordering::Relaxed) % self.cfg.auth.len() as u64;
            extra_headers.push((AUTHORIZATION, Some(self.cfg.auth[i as usize].clone())));
        }
        // Several prompts or keys: this logical request's turn (bodies were rendered up front).
        let (body_turn, key, turn_tokens) = match &self.rotation {
            Some(r) => r.next(),
            None => (None, None, None),
        };
        let body = match (body_turn, &plan.body) {
            (Some(b), _) => Some(Cow::Borrowed(&b[..])),
            (None, BodyPlan::None) => None,
            (None, BodyPlan::Static(b)) => Some(Cow::Borrowed(&b[..])),
            (None, BodyPlan::Template(t)) => Some(Cow::Owned(t.render(&vars, false))),
        };
        let request = if extra_headers.is_empty() && key.is_none() {
            self.requests[target].as_ref()
        } else {
            None
        };
        let own_body = body_turn.is_none() && !matches!(plan.body, BodyPlan::Template(_));
        let wire = match request {
            Some(_) if own_body => self.wires[target].as_ref(),
            _ => None,
        };
        Prepared {
            target,
            plan,
            uri,
            auto_headers: &self.auto_headers[target],
            extra_headers,
            key,
            body,
            request,
            wire,
            cookie: None,
            prompt_tokens: turn_tokens.or(self.prompt_tokens),
        }
    }
}

impl TrafficRun {
    /// Response header lines as evidence keeps them: secret values masked.
    pub fn header_lines(&self, headers: &ureq::http::HeaderMap) -> Vec<String> {
        let r = &self.evidence.redactor;
        headers
            .iter()
            .map(|(n, v)| r.header_line(n.as_str(), &String::from_utf8_lossy(v.as_bytes())))
            .collect()
    }

    /// Keep one attempt as evidence (its slot was claimed): `body` is what was read of the
    /// body, `total` the body's full length so far.
    #[allow(clippy::too_many_arguments)]
    pub fn keep_evidence(
        &self,
        p: &Prepared<'_>,
        attempt: u16,
        outcome: Outcome,
        error: Option<String>,
        headers: Vec<String>,
        body: &[u8],
        total: u64,
    ) {
        self.keep(p, attempt, outcome, (error, None), headers, body, total);
    }

    /// Keep a response that failed a check (its slot was claimed): `why` it failed.
    #[allow(clippy::too_many_arguments)]
    pub fn keep_check_evidence(
        &self,
        p: &Prepared<'_>,
        attempt: u16,
        status: u16,
        why: String,
        headers: Vec<String>,
        body: &[u8],
        total: u64,
    ) {
        let outcome = Outcome::Status(status);
        self.keep(p, attempt, outcome, (None, Some(why)), headers, body, total);
    }

    /// Keep one attempt: `why` is the client's error, or the failed check.
    #[allow(clippy::too_many_arguments)]
    fn keep(
        &self,
        p: &Prepared<'_>,
        attempt: u16,
        outcome: Outcome,
        (error, check): (Option<String>, Option<String>),
        headers: Vec<String>,
        body: &[u8],
        total: u64,
    ) {
        let r = &self.evidence.redactor;
        // This request's own secrets, in every form it sent them or a server may echo them: a
        // credential rendered from --data, a rotated key, an --api-key; the value, the token
        // after its scheme, percent-encoded and JSON-escaped (`redact::forms`), longest first,
        // so that a server echoing one back shows `***`.
        let mut secrets: Vec<String> = Vec::new();
        let mut add = |v: &HeaderValue| {
            secrets.extend(crate::redact::forms(&String::from_utf8_lossy(v.as_bytes())));
        };
        for (name, value) in &p.plan.headers {
            if r.is_secret_header(name.as_str()) {
                add(value);
            }
        }
        for (name, value) in &p.extra_headers {
            if let Some(value) = value
                && r.is_secret_header(name.as_str())
            {
                add(value);
            }
        }
        if let Some(key) = p.key {
            add(key);
        }
        // A URL rendered from --data may carry a password, sent as Basic.
        if let Some(uri) = &p.uri {
            for secret in crate::redact::url_credentials(&uri.to_string()) {
                secrets.extend(crate::redact::forms(&secret));
            }
        }
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let (body, body_truncated) = self.evidence.body_text(body, total);
        let body = r.text_with(&body, &secrets);
        let headers: Vec<String> = headers.iter().map(|h| r.text_with(h, &secrets)).collect();
        let url = match &p.uri {
            Some(u) => r.url(&u.to_string()),
            None => "(placeholders made an invalid URL)".to_string(),
        };
        let (status, failure) = match outcome {
            Outcome::Status(c) => (Some(c), None),
            Outcome::Failure(k) => (None, Some(k.key().to_string())),
        };
        self.evidence.keep(crate::traffic::evidence::Evidence {
            time: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            elapsed_s: self
                .start
                .get()
                .map_or(0.0, |s| (s.elapsed().as_secs_f64() * 1e3).round() / 1e3),
            target: p.plan.name.clone(),
            url,
            attempt: u32::from(attempt) + 1,
            status,
            failure,
            error: error.map(|e| r.text_with(&e, &secrets)),
            check: check.map(|c| r.text_with(&c, &secrets)),
            headers,
            body,
            body_truncated,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_value_is_what_ureq_would_send() {
        let host =
            |u: &str| host_value(&u.parse().unwrap()).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(
            host("http://127.0.0.1:8080/x").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(
            host("http://example.test:80/").as_deref(),
            Some("example.test")
        );
        assert_eq!(
            host("http://example.test/").as_deref(),
            Some("example.test")
        );
        assert_eq!(
            host("https://example.test:443/").as_deref(),
            Some("example.test")
        );
        assert_eq!(
            host("https://example.test:80/").as_deref(),
            Some("example.test:80")
        );
        assert_eq!(host("http://[::1]:9000/").as_deref(), Some("[::1]:9000"));
        assert_eq!(host("/relative"), None);
    }
}
