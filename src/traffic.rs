//! Real traffic: what each request is made of and what happens around it. Built once from the
//! flags (`--targets`, `--data`, `--auth-file`, `--think-time`, `--ok-status`, `--retries`,
//! `--fail-on`, `--redact`) into a [`TrafficConfig`]; at run time a [`TrafficRun`] hands every
//! user its next request, ready to send: templates were split before the run, so a request
//! only picks a target, takes counters and concatenates pieces.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use ureq::http::header::{ACCEPT, AUTHORIZATION, HOST, USER_AGENT};
use ureq::http::{HeaderName, HeaderValue, Method, Uri};

use crate::cli::TrafficArgs;
use crate::config::{ConfigError, Target, parse_header, parse_url};
use crate::data::DataSet;
use crate::evidence::EvidenceStore;
use crate::gate::Threshold;
use crate::redact::Redactor;
use crate::retry::{RetryBucket, RetryPolicy};
use crate::sample::{Outcome, Sample};
use crate::stats::Bucket;
use crate::targets::{EntryBody, Picker, TargetsOrder};
use crate::template::{Template, Vars};
use crate::units::{format_duration, parse_duration};

/// `--think-time D` or `D1..D2`: the pause after each of a user's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThinkTime {
    pub min: Duration,
    pub max: Duration,
}

impl ThinkTime {
    /// A pause: `min`, or uniformly random in `[min, max]`.
    pub fn sample(&self, rng: &mut fastrand::Rng) -> Duration {
        if self.max <= self.min {
            return self.min;
        }
        let span = (self.max - self.min).as_micros() as u64;
        self.min + Duration::from_micros(rng.u64(0..=span))
    }

    /// As written: `1s` or `100ms..2s`.
    pub fn display(&self) -> String {
        if self.max <= self.min {
            format_duration(self.min)
        } else {
            format!(
                "{}..{}",
                format_duration(self.min),
                format_duration(self.max)
            )
        }
    }
}

/// Parse `--think-time`.
pub fn parse_think_time(text: &str) -> Result<ThinkTime, String> {
    let (min, max) = match text.split_once("..") {
        Some((a, b)) => (parse_duration(a.trim())?, parse_duration(b.trim())?),
        None => {
            let d = parse_duration(text.trim())?;
            (d, d)
        }
    };
    if max < min {
        return Err(format!(
            "'{text}': the range goes down; write the shorter pause first, e.g. 100ms..2s"
        ));
    }
    Ok(ThinkTime { min, max })
}

/// `--ok-status`: which statuses are successes (every other status is an HTTP error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OkStatus {
    bits: [u64; 10],
    /// As written, for the report.
    pub text: String,
}

impl Default for OkStatus {
    /// 2xx and 3xx.
    fn default() -> Self {
        parse_ok_status("200-399").expect("a valid default")
    }
}

impl OkStatus {
    /// Is `code` a success?
    pub fn is_ok(&self, code: u16) -> bool {
        let c = usize::from(code);
        c < 640 && self.bits[c / 64] & (1 << (c % 64)) != 0
    }
}

/// Parse `--ok-status 200-299,304`.
pub fn parse_ok_status(text: &str) -> Result<OkStatus, String> {
    let mut bits = [0u64; 10];
    for part in text.split(',') {
        let part = part.trim();
        let code = |s: &str| match s.trim().parse::<u16>() {
            Ok(c @ 100..=599) => Ok(c),
            _ => Err(format!(
                "'{s}' is not a status code (100-599): write e.g. 200-299,304"
            )),
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (code(a)?, code(b)?),
            None => {
                let c = code(part)?;
                (c, c)
            }
        };
        if hi < lo {
            return Err(format!("'{part}': the range goes down"));
        }
        for c in lo..=hi {
            bits[usize::from(c) / 64] |= 1 << (c % 64);
        }
    }
    Ok(OkStatus {
        bits,
        text: text.trim().to_string(),
    })
}

/// A request's URL: as parsed, or a template rendered per request.
#[derive(Debug, Clone)]
pub enum UrlPlan {
    Static(Uri),
    Template(Template),
}

/// A request's body.
#[derive(Debug, Clone)]
pub enum BodyPlan {
    None,
    Static(Arc<[u8]>),
    Template(Template),
}

/// One request a user may send, split for quick assembly.
#[derive(Debug, Clone)]
pub struct RequestPlan {
    /// For people: `name=`, or `METHOD URL` with secrets masked.
    pub name: String,
    pub method: Method,
    pub url: UrlPlan,
    /// Header values without placeholders.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Header values with placeholders.
    pub header_templates: Vec<(HeaderName, Template)>,
    pub body: BodyPlan,
    pub weight: u32,
}

impl RequestPlan {
    /// Does building this request need the request number (a `{{seq}}` or a data column)?
    fn needs_seq(&self) -> bool {
        let url = matches!(&self.url, UrlPlan::Template(t) if t.needs_seq());
        let body = matches!(&self.body, BodyPlan::Template(t) if t.needs_seq());
        url || body || self.header_templates.iter().any(|(_, t)| t.needs_seq())
    }

    /// Body size for the report (templates: their size with empty values).
    pub fn body_len(&self) -> usize {
        match &self.body {
            BodyPlan::None => 0,
            BodyPlan::Static(b) => b.len(),
            BodyPlan::Template(t) => t
                .render(
                    &Vars {
                        user: 0,
                        seq: 0,
                        row: &[],
                    },
                    false,
                )
                .len(),
        }
    }
}

/// The validated traffic flags.
#[derive(Debug, Clone, Default)]
pub struct TrafficConfig {
    /// At least one.
    pub requests: Vec<RequestPlan>,
    /// The `--targets` file, when there is one.
    pub targets_file: Option<String>,
    pub order: TargetsOrder,
    pub seed: u64,
    /// `--auth-file` values (empty: none), and the file.
    pub auth: Vec<HeaderValue>,
    pub auth_file: Option<String>,
    pub data: Option<Arc<DataSet>>,
    pub think: Option<ThinkTime>,
    pub ok_status: OkStatus,
    pub retry: RetryPolicy,
    pub fail_on: Vec<Threshold>,
    pub redactor: Redactor,
    /// Some request needs the request number.
    pub needs_seq: bool,
}

fn bad<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// Placeholders replaced by a stand-in, so that a URL with `{{...}}` can be checked as a URL.
fn stand_in(text: &str, columns: &[String]) -> String {
    match Template::compile(text.as_bytes(), columns) {
        Ok(t) if !t.is_static() => String::from_utf8_lossy(&t.render(
            &Vars {
                user: 0,
                seq: 0,
                row: &vec!["0".to_string(); columns.len()],
            },
            true,
        ))
        .into_owned(),
        _ => text.to_string(),
    }
}

fn data_columns(args: &TrafficArgs) -> Result<(Option<Arc<DataSet>>, Vec<String>), ConfigError> {
    match &args.data {
        None => Ok((None, Vec::new())),
        Some(path) => {
            let d = DataSet::load(path).map_err(ConfigError)?;
            let columns = d.columns.clone();
            Ok((Some(Arc::new(d)), columns))
        }
    }
}

/// The URL the run's main [`Target`] is built from, checkable by [`parse_url`]: `--url` (with
/// placeholders replaced by stand-ins), else the scheme and host of the first `--targets`
/// entry. Errors when there is neither.
pub fn main_url(url: Option<&str>, args: &TrafficArgs) -> Result<String, ConfigError> {
    if let Some(u) = url {
        let columns = match &args.data {
            // The columns are only needed to recognise placeholders; errors come later.
            Some(p) => DataSet::load(p).map(|d| d.columns).unwrap_or_default(),
            None => Vec::new(),
        };
        return Ok(stand_in(u, &columns));
    }
    let Some(path) = &args.targets else {
        return bad(
            "--url is required (or --targets FILE): write e.g. --url http://127.0.0.1:8080/",
        );
    };
    let entries = crate::targets::load(path).map_err(ConfigError)?;
    let first = &entries[0];
    match first.url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            Ok(format!("{scheme}://{host}/"))
        }
        None => bad(format!(
            "--targets {}:{}: '{}' is relative: give --url as its base, or write a full URL",
            path.display(),
            first.line,
            first.url
        )),
    }
}

/// Compile a header line's value; `where_` names it in errors.
fn header_plan(
    line: &str,
    columns: &[String],
    where_: &str,
) -> Result<(HeaderName, Result<HeaderValue, Template>), ConfigError> {
    let (name, value) = line.split_once(':').unwrap_or((line, ""));
    let value = value.trim();
    let t =
        Template::compile(value.as_bytes(), columns).map_err(|e| unknown(where_, &e.0, columns))?;
    if t.is_static() {
        let (n, v) = parse_header(line).map_err(|e| ConfigError(format!("{where_}: {e}")))?;
        return Ok((n, Ok(v)));
    }
    let (n, _) = parse_header(&format!("{}: x", name.trim()))
        .map_err(|e| ConfigError(format!("{where_}: {e}")))?;
    Ok((n, Err(t)))
}

fn unknown(where_: &str, name: &str, columns: &[String]) -> ConfigError {
    let known = if columns.is_empty() {
        "there is no --data file; the built-in names are user and seq".to_string()
    } else {
        format!(
            "--data columns are {}; also user and seq",
            columns.join(", ")
        )
    };
    ConfigError(format!(
        "{where_}: {{{{{name}}}}} names nothing known: {known}"
    ))
}

fn url_plan(url: &str, columns: &[String], where_: &str) -> Result<UrlPlan, ConfigError> {
    let t =
        Template::compile(url.as_bytes(), columns).map_err(|e| unknown(where_, &e.0, columns))?;
    let checked =
        parse_url(&stand_in(url, columns)).map_err(|e| ConfigError(format!("{where_}: {e}")))?;
    Ok(if t.is_static() {
        UrlPlan::Static(checked)
    } else {
        UrlPlan::Template(t)
    })
}

fn body_plan(body: &[u8], columns: &[String], where_: &str) -> Result<BodyPlan, ConfigError> {
    let t = Template::compile(body, columns).map_err(|e| unknown(where_, &e.0, columns))?;
    Ok(if t.is_static() {
        BodyPlan::Static(Arc::from(body))
    } else {
        BodyPlan::Template(t)
    })
}

/// Build the traffic configuration. `target` is the request of `--url`, `-X`, `-H`, `-d` (and
/// the LLM flags); `url_given` says whether `--url` was; `stages` is the schedule's count.
pub fn setup(
    args: &TrafficArgs,
    target: &Target,
    url_given: bool,
    global_headers: &[String],
    body_given: bool,
    stages: usize,
) -> Result<TrafficConfig, ConfigError> {
    let mut redactor = Redactor::new(&args.redact);
    for r in &args.redact {
        if r.trim().is_empty() || r.contains(['=', ':', ' ']) {
            return bad(format!(
                "--redact '{r}': give a header or query parameter name, e.g. --redact api_key"
            ));
        }
    }
    let (data, columns) = data_columns(args)?;
    let auth = match &args.auth_file {
        Some(p) => crate::auth::load(p).map_err(ConfigError)?,
        None => Vec::new(),
    };
    for v in &auth {
        redactor.add_literal(v.to_str().unwrap_or(""));
    }
    for h in global_headers {
        if let Some((n, v)) = h.split_once(':')
            && redactor.is_secret_header(n.trim())
        {
            redactor.add_literal(v);
        }
    }
    let rotate_auth = !auth.is_empty();
    let keep = |n: &HeaderName| !(rotate_auth && *n == AUTHORIZATION);

    let mut requests = Vec::new();
    if let Some(path) = &args.targets {
        if body_given {
            return bad("-d does not go with --targets: give each entry its body in the file");
        }
        let shown = path.display().to_string();
        let entries = crate::targets::load(path).map_err(ConfigError)?;
        for e in &entries {
            let at = |line: usize| format!("--targets {shown}:{line}");
            let method = Method::from_bytes(e.method.as_bytes()).map_err(|_| {
                ConfigError(format!(
                    "{}: '{}' is not an HTTP method",
                    at(e.line),
                    e.method
                ))
            })?;
            let url = if e.url.starts_with('/') {
                if !url_given {
                    return bad(format!(
                        "{}: '{}' is relative: give --url as its base, or write a full URL",
                        at(e.line),
                        e.url
                    ));
                }
                let base = target.url.trim_end_matches('/');
                let base = match base.split_once("://") {
                    Some((scheme, rest)) => {
                        format!(
                            "{scheme}://{}",
                            rest.split(['/', '?', '#']).next().unwrap_or("")
                        )
                    }
                    None => base.to_string(),
                };
                format!("{base}{}", e.url)
            } else {
                e.url.clone()
            };
            redactor.add_url_literals(&url);
            let url_plan = url_plan(&url, &columns, &at(e.line))?;
            let mut headers: Vec<(HeaderName, HeaderValue)> = target
                .headers
                .iter()
                .filter(|(n, _)| keep(n))
                .cloned()
                .collect();
            let mut header_templates = Vec::new();
            for (line, h) in &e.headers {
                let (name, plan) = header_plan(h, &columns, &at(*line))?;
                if let Some((_, v)) = h.split_once(':')
                    && redactor.is_secret_header(name.as_str())
                {
                    redactor.add_literal(v);
                }
                headers.retain(|(n, _)| *n != name);
                if !keep(&name) {
                    continue;
                }
                match plan {
                    Ok(v) => headers.push((name, v)),
                    Err(t) => header_templates.push((name, t)),
                }
            }
            let body = match &e.body {
                None => BodyPlan::None,
                Some(EntryBody::Inline(text)) => body_plan(text.as_bytes(), &columns, &at(e.line))?,
                Some(EntryBody::File { line, path }) => {
                    let bytes = std::fs::read(path).map_err(|err| {
                        ConfigError(format!(
                            "{}: cannot read the body file {}: {err}",
                            at(*line),
                            path.display()
                        ))
                    })?;
                    body_plan(&bytes, &columns, &at(*line))?
                }
            };
            let name = match &e.name {
                Some(n) => n.clone(),
                None => format!("{} {}", method, redactor.url(&url)),
            };
            requests.push(RequestPlan {
                name,
                method,
                url: url_plan,
                headers,
                header_templates,
                body,
                weight: e.weight,
            });
        }
    } else {
        redactor.add_url_literals(&target.url);
        let url = url_plan(&target.url, &columns, "--url")?;
        let url = match url {
            // The main target's URI may carry LLM-flag changes: prefer it when static.
            UrlPlan::Static(_) => UrlPlan::Static(target.uri.clone()),
            t => t,
        };
        let mut headers = Vec::new();
        let mut header_templates = Vec::new();
        for (name, value) in target.headers.iter().filter(|(n, _)| keep(n)) {
            let t = Template::compile(value.as_bytes(), &columns)
                .map_err(|e| unknown(&format!("-H '{name}: ...'"), &e.0, &columns))?;
            if t.is_static() {
                headers.push((name.clone(), value.clone()));
            } else {
                header_templates.push((name.clone(), t));
            }
        }
        let body = match &target.body {
            None => BodyPlan::None,
            Some(b) => body_plan(b, &columns, "-d")?,
        };
        requests.push(RequestPlan {
            name: format!("{} {}", target.method, redactor.url(&target.url)),
            method: target.method.clone(),
            url,
            headers,
            header_templates,
            body,
            weight: 1,
        });
    }
    let fail_on = match &args.fail_on {
        Some(spec) => crate::gate::parse(spec, stages).map_err(ConfigError)?,
        None => Vec::new(),
    };
    if args.retries > crate::retry::MAX_RETRIES {
        return bad(format!(
            "--retries {}: at most {}",
            args.retries,
            crate::retry::MAX_RETRIES
        ));
    }
    if args.retries > 0 && args.retry_backoff.is_zero() {
        return bad("--retry-backoff must be above 0: write e.g. --retry-backoff 100ms");
    }
    let needs_seq = requests.iter().any(RequestPlan::needs_seq);
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    Ok(TrafficConfig {
        requests,
        targets_file: args.targets.as_ref().map(|p| p.display().to_string()),
        order: args.targets_order,
        seed,
        auth,
        auth_file: args.auth_file.as_ref().map(|p| p.display().to_string()),
        data,
        think: args.think_time,
        ok_status: args.ok_status.clone().unwrap_or_default(),
        retry: RetryPolicy {
            retries: args.retries,
            backoff: args.retry_backoff,
        },
        fail_on,
        redactor,
        needs_seq,
    })
}

/// One request, ready to send.
#[derive(Debug)]
pub struct Prepared<'a> {
    /// Index of the target.
    pub target: usize,
    pub plan: &'a RequestPlan,
    /// `None` when placeholders made an invalid URL (the attempt is a protocol failure).
    pub uri: Option<Cow<'a, Uri>>,
    /// Rendered header values and the rotated Authorization; `None` inside when a value cannot
    /// be a header (the attempt is a protocol failure).
    pub extra_headers: Vec<(HeaderName, Option<HeaderValue>)>,
    pub body: Option<Cow<'a, [u8]>>,
}

impl Prepared<'_> {
    /// The request could be built: a valid URL and header values.
    pub fn is_valid(&self) -> bool {
        self.uri.is_some() && self.extra_headers.iter().all(|(_, v)| v.is_some())
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
            user_agent: (!has(&USER_AGENT))
                .then(|| HeaderValue::from_static(crate::engine::USER_AGENT)),
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
    pub cfg: TrafficConfig,
    /// Per plan (target), the headers made once.
    pub auto_headers: Vec<AutoHeaders>,
    picker: Picker,
    seq: AtomicU64,
    auth_next: AtomicU64,
    /// Error and failure samples kept as evidence.
    pub evidence: EvidenceStore,
    /// When the run's clock started (for evidence times); set before users are admitted.
    pub start: std::sync::OnceLock<Instant>,
}

impl TrafficRun {
    /// The run-time state for `cfg`.
    pub fn new(cfg: &TrafficConfig) -> Self {
        let weights: Vec<u32> = cfg.requests.iter().map(|r| r.weight).collect();
        TrafficRun {
            auto_headers: cfg.requests.iter().map(AutoHeaders::for_plan).collect(),
            picker: Picker::new(&weights, cfg.order),
            seq: AtomicU64::new(0),
            auth_next: AtomicU64::new(0),
            evidence: EvidenceStore::new(cfg.redactor.clone()),
            cfg: cfg.clone(),
            start: std::sync::OnceLock::new(),
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

    /// The next request of user `user`.
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
        let body = match &plan.body {
            BodyPlan::None => None,
            BodyPlan::Static(b) => Some(Cow::Borrowed(&b[..])),
            BodyPlan::Template(t) => Some(Cow::Owned(t.render(&vars, false))),
        };
        Prepared {
            target,
            plan,
            uri,
            extra_headers,
            body,
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
        let r = &self.evidence.redactor;
        let (body, body_truncated) = self.evidence.body_text(body, total);
        let url = match &p.uri {
            Some(u) => r.url(&u.to_string()),
            None => "(placeholders made an invalid URL)".to_string(),
        };
        let (status, failure) = match outcome {
            Outcome::Status(c) => (Some(c), None),
            Outcome::Failure(k) => (None, Some(k.key().to_string())),
        };
        self.evidence.keep(crate::evidence::Evidence {
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
            error: error.map(|e| r.text(&e)),
            headers,
            body,
            body_truncated,
        });
    }
}

/// What the run header shows after the method: the URL (secrets masked), or the targets file
/// with its entries and order.
pub fn display_target(cfg: &crate::Config) -> String {
    let t = &cfg.traffic;
    match &t.targets_file {
        Some(file) => format!(
            "from --targets {file}: {} entr{}, {} order",
            t.requests.len(),
            if t.requests.len() == 1 { "y" } else { "ies" },
            t.order.name()
        ),
        None => t.redactor.url(&cfg.target.url),
    }
}

/// The method(s) a run sends, as the header, summary and reports show them: the `-X` method,
/// or with `--targets` the distinct methods of its entries in file order (`GET, POST`).
pub fn display_method(cfg: &crate::Config) -> String {
    if cfg.traffic.targets_file.is_none() {
        return cfg.target.method.to_string();
    }
    let mut methods: Vec<&str> = Vec::new();
    for r in &cfg.traffic.requests {
        if !methods.contains(&r.method.as_str()) {
            methods.push(r.method.as_str());
        }
    }
    methods.join(", ")
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

/// What the collector counts for the traffic features: a row per target, and the logical
/// requests when retrying.
#[derive(Debug)]
pub struct TrafficStats {
    /// One bucket per target (empty with a single target).
    pub targets: Vec<Bucket>,
    /// With `--retries`.
    pub retry: Option<RetryBucket>,
    /// Logical requests finished (final attempts).
    pub finished: u64,
}

impl TrafficStats {
    /// Empty statistics for a run of `cfg` (`paced`: the run has `--rps`).
    pub fn new(cfg: &TrafficConfig, paced: bool) -> Self {
        let n = cfg.requests.len();
        TrafficStats {
            targets: if n > 1 {
                (0..n).map(|_| Bucket::new(paced)).collect()
            } else {
                Vec::new()
            },
            retry: (cfg.retry.retries > 0).then(RetryBucket::default),
            finished: 0,
        }
    }

    /// Count one attempt; returns the logical requests finished so far.
    pub fn record(&mut self, s: &Sample) -> u64 {
        if let Some(b) = self.targets.get_mut(usize::from(s.tag.target)) {
            b.record(s);
        }
        if let Some(r) = &mut self.retry {
            let ok = match s.outcome {
                Outcome::Status(code) => s.tag.ok.unwrap_or(code < 400),
                Outcome::Failure(_) => false,
            };
            r.record(s, ok);
        }
        if !s.tag.will_retry {
            self.finished += 1;
        }
        self.finished
    }
}

/// The traffic flags as the report shows them (secrets never included).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrafficInfo {
    /// `--targets` file and order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets_order: Option<String>,
    /// Target names (secrets masked) with their weights.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetInfo>,
    /// `--auth-file` and how many values it holds (the values are never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_file: Option<String>,
    #[serde(default)]
    pub auth_values: usize,
    /// `--data` file, its columns and row count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_file: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_columns: Vec<String>,
    #[serde(default)]
    pub data_rows: usize,
    /// `--think-time` as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_time: Option<String>,
    /// `--ok-status` as written (default 200-399).
    pub ok_status: String,
    /// `--retries` and `--retry-backoff` (ms).
    pub retries: u32,
    pub retry_backoff_ms: f64,
    /// `--redact` names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redact: Vec<String>,
    /// `--seed` (or the one chosen), when random choices were made.
    pub seed: u64,
}

/// A target as the report shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetInfo {
    pub name: String,
    pub weight: u32,
}

impl TrafficInfo {
    /// The report view of `cfg`.
    pub fn of(cfg: &TrafficConfig) -> Self {
        let many = cfg.requests.len() > 1 || cfg.targets_file.is_some();
        TrafficInfo {
            targets_file: cfg.targets_file.clone(),
            targets_order: many.then(|| cfg.order.name().to_string()),
            targets: if many {
                cfg.requests
                    .iter()
                    .map(|r| TargetInfo {
                        name: r.name.clone(),
                        weight: r.weight,
                    })
                    .collect()
            } else {
                Vec::new()
            },
            auth_file: cfg.auth_file.clone(),
            auth_values: cfg.auth.len(),
            data_file: cfg.data.as_ref().map(|d| d.path.clone()),
            data_columns: cfg
                .data
                .as_ref()
                .map_or_else(Vec::new, |d| d.columns.clone()),
            data_rows: cfg.data.as_ref().map_or(0, |d| d.rows.len()),
            think_time: cfg.think.map(|t| t.display()),
            ok_status: cfg.ok_status.text.clone(),
            retries: cfg.retry.retries,
            retry_backoff_ms: cfg.retry.backoff.as_secs_f64() * 1e3,
            redact: cfg.redactor.names().to_vec(),
            seed: cfg.seed,
        }
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

    #[test]
    fn think_time_and_ok_status_parse() {
        let t = parse_think_time("100ms..300ms").unwrap();
        let mut rng = fastrand::Rng::with_seed(1);
        for _ in 0..100 {
            let d = t.sample(&mut rng);
            assert!(d >= Duration::from_millis(100) && d <= Duration::from_millis(300));
        }
        assert_eq!(
            parse_think_time("1s").unwrap().sample(&mut rng),
            Duration::from_secs(1)
        );
        assert!(
            parse_think_time("2s..1s")
                .unwrap_err()
                .contains("goes down")
        );
        let ok = parse_ok_status("200-299, 304").unwrap();
        assert!(ok.is_ok(200) && ok.is_ok(299) && ok.is_ok(304));
        assert!(!ok.is_ok(302) && !ok.is_ok(404) && !ok.is_ok(700));
        let default = OkStatus::default();
        assert!(default.is_ok(302) && !default.is_ok(400));
        assert!(parse_ok_status("2xx").is_err());
        assert!(parse_ok_status("300-200").is_err());
    }
}
