//! `RunArgs` -> `Config`: every check across flags, with messages a user can act on.
//! Nothing below this module sees clap.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ureq::http::{HeaderName, HeaderValue, Method, Uri};

use crate::cli::{RampSpec, RunArgs};
use crate::engine::ramp::Schedule;
use crate::export::{OutputSpec, outputs_from_args};

/// Default `--duration` when neither `--requests` nor `--ramp` bounds the run.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// Default `--users`.
pub const DEFAULT_USERS: usize = 10;
/// More users than this is almost certainly a typo; the OS would refuse the threads anyway.
pub const MAX_USERS: usize = 100_000;

/// A bad flag value or combination; shown as one line, exit code 2.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn bad<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

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

/// `--start-at` further ahead than this is almost certainly a mistake.
pub const MAX_START_DELAY: Duration = Duration::from_secs(24 * 3600);

/// A validated run.
#[derive(Debug, Clone)]
pub struct Config {
    pub target: Target,
    pub schedule: Schedule,
    /// Threads to spawn: the most users the schedule ever runs.
    pub users: usize,
    pub rps: Option<f64>,
    /// Stop after exactly this many requests.
    pub requests: Option<u64>,
    pub timeout: Duration,
    pub insecure: bool,
    pub proxy: Option<String>,
    pub quiet: bool,
    /// Wait for this wall-clock instant before starting.
    pub start_at: Option<SystemTime>,
    /// Report files (and at most one report on stdout).
    pub outputs: Vec<OutputSpec>,
    /// Event-stream reading and LLM request rotation (see [`crate::llm`]).
    pub llm: crate::llm::LlmSetup,
    /// Targets, data, auth rotation, think time, success statuses, retries, thresholds and
    /// redaction (see [`crate::traffic`]).
    pub traffic: crate::traffic::TrafficConfig,
}

impl TryFrom<RunArgs> for Config {
    type Error = ConfigError;

    fn try_from(a: RunArgs) -> Result<Self, ConfigError> {
        let url = crate::traffic::main_url(a.url.as_deref(), &a.traffic)?;
        let mut target = parse_target(&url, &a.method, &a.headers, a.body.as_deref())?;
        if let Some(given) = &a.url {
            // Placeholders were checked with stand-ins; the traffic plan renders the real ones.
            target.url = given.clone();
        }
        let llm = crate::llm::setup(&a.llm, &mut target)?;
        if a.duration == Some(Duration::ZERO) {
            return bad("--duration must be above 0: write e.g. --duration 10s");
        }
        if a.timeout.is_zero() {
            return bad("--timeout must be above 0: write e.g. --timeout 5s");
        }
        if a.requests == Some(0) {
            return bad("--requests must be at least 1");
        }
        if let Some(u) = a.users {
            check_users(u, "--users")?;
        }
        let schedule = if let Some(RampSpec(stages)) = &a.ramp {
            let step = a.step.unwrap_or_default();
            if a.users.is_some() {
                return bad(
                    "--users does not go with --ramp: the ramp gives the users of each stage",
                );
            }
            if a.duration.is_some() {
                return bad(
                    "--duration does not go with --ramp: the run lasts stages x --step \
                     (repeat the last stage to hold it longer)",
                );
            }
            if step.is_zero() {
                return bad("--step must be above 0: write e.g. --step 10s");
            }
            check_users(stages.iter().copied().max().unwrap_or(0), "--ramp")?;
            Schedule::steps(stages, step)
        } else if let Some(ramp_up) = a.ramp_up {
            if ramp_up.is_zero() {
                return bad("--ramp-up must be above 0: write e.g. --ramp-up 30s");
            }
            let users = a.users.unwrap_or(DEFAULT_USERS);
            Schedule::linear(users, ramp_up, hold(&a))
        } else {
            Schedule::fixed(a.users.unwrap_or(DEFAULT_USERS), hold(&a))
        };
        if let Some(p) = &a.proxy {
            ureq::Proxy::new(p).map_err(|e| {
                ConfigError(format!("--proxy '{}' is not a proxy URL: {e}", mask_url(p)))
            })?;
        }
        let outputs = outputs_from_args(&a.outputs)?;
        if let Some(at) = a.start_at {
            check_start_at(at, SystemTime::now())?;
        }
        let traffic = crate::traffic::setup(
            &a.traffic,
            &target,
            a.url.is_some(),
            &a.headers,
            a.body.is_some(),
            schedule.stages().len(),
        )?;
        Ok(Config {
            users: schedule.max_users(),
            target,
            schedule,
            rps: a.rps,
            requests: a.requests,
            timeout: a.timeout,
            insecure: a.insecure,
            proxy: a.proxy,
            quiet: a.quiet,
            start_at: a.start_at,
            outputs,
            llm,
            traffic,
        })
    }
}

/// How long a non-ramp run holds its users: --duration, else open-ended when --requests bounds
/// the run, else the default.
fn hold(a: &RunArgs) -> Option<Duration> {
    match (a.duration, a.requests) {
        (Some(d), _) => Some(d),
        (None, Some(_)) => None,
        (None, None) => Some(DEFAULT_DURATION),
    }
}

/// `--start-at` must lie ahead, and not absurdly far.
pub fn check_start_at(at: SystemTime, now: SystemTime) -> Result<(), ConfigError> {
    let shown = humantime::format_rfc3339_millis(at);
    match at.duration_since(now) {
        Err(e) => bad(format!(
            "--start-at {shown} is {:.1}s in the past: give a time ahead (now is {})",
            e.duration().as_secs_f64(),
            humantime::format_rfc3339_seconds(now)
        )),
        Ok(ahead) if ahead > MAX_START_DELAY => bad(format!(
            "--start-at {shown} is more than 24 hours ahead (now is {})",
            humantime::format_rfc3339_seconds(now)
        )),
        Ok(_) => Ok(()),
    }
}

fn check_users(users: usize, flag: &str) -> Result<(), ConfigError> {
    if users == 0 {
        return bad(format!("{flag}: users must be at least 1"));
    }
    if users > MAX_USERS {
        return bad(format!(
            "{flag}: {users} users is more than the {MAX_USERS} one process can run"
        ));
    }
    Ok(())
}

/// Check the URL, method, headers and body of the request.
pub fn parse_target(
    url: &str,
    method: &str,
    headers: &[String],
    body: Option<&str>,
) -> Result<Target, ConfigError> {
    let uri = parse_url(url)?;
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| {
        ConfigError(format!(
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
pub fn parse_url(url: &str) -> Result<Uri, ConfigError> {
    let shown = mask_url(url);
    if !url.contains("://") {
        return bad(format!(
            "--url '{shown}' has no scheme: write http://{shown} or https://{shown}"
        ));
    }
    let uri: Uri = url
        .parse()
        .map_err(|e| ConfigError(format!("--url '{shown}' is not a valid URL: {e}")))?;
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
        Some(h) if !h.is_empty() => Ok(uri),
        _ => bad(format!(
            "--url '{shown}' has no host: write e.g. http://127.0.0.1:8080/"
        )),
    }
}

/// `Name: value` into a header pair.
pub fn parse_header(h: &str) -> Result<(HeaderName, HeaderValue), ConfigError> {
    let Some((name, value)) = h.split_once(':') else {
        return bad(format!(
            "-H '{}' has no colon: a header is 'Name: value'",
            mask_header_arg(h)
        ));
    };
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
        ConfigError(format!(
            "-H '{}': '{}' is not a valid header name",
            mask_header_arg(h),
            name.trim()
        ))
    })?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| {
        ConfigError(format!(
            "-H '{}': the value has characters a header cannot carry",
            name
        ))
    })?;
    Ok((name, value))
}

fn read_body(b: &str) -> Result<Arc<[u8]>, ConfigError> {
    match b.strip_prefix('@') {
        Some(path) => std::fs::read(path)
            .map(Arc::from)
            .map_err(|e| ConfigError(format!("-d @{path}: cannot read the body file: {e}"))),
        None => Ok(Arc::from(b.as_bytes())),
    }
}

/// Header names whose values are secrets: never printed, never written to a report.
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || [
        "key",
        "token",
        "secret",
        "auth",
        "password",
        "session",
        "signature",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// A header value as it may be shown.
pub fn display_header_value<'a>(name: &str, value: &'a str) -> &'a str {
    if is_secret_header(name) { "***" } else { value }
}

fn mask_header_arg(h: &str) -> String {
    match h.split_once(':') {
        Some((n, _)) if is_secret_header(n) => format!("{n}: ***"),
        Some(_) => h.to_string(),
        None => {
            let first = h.split_whitespace().next().unwrap_or("");
            if is_secret_header(first) {
                format!("{first} ***")
            } else if h.len() > 40 {
                format!("{}...", &h[..h.floor_char_boundary(40)])
            } else {
                h.to_string()
            }
        }
    }
}

/// Mask the password of `user:password@host` in a URL.
pub fn mask_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..auth_end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!("{}{}:***@{}", &url[..scheme_end + 3], user, &rest[at + 1..])
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command, with_default_subcommand};
    use clap::Parser;

    fn config(args: &[&str]) -> Result<Config, String> {
        let mut argv = vec!["qpsbench"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(with_default_subcommand(
            argv.iter().map(Into::into).collect(),
        ))
        .map_err(|e| e.to_string())?;
        let Command::Run(a) = cli.command else {
            panic!("not run")
        };
        Config::try_from(a).map_err(|e| e.0)
    }

    #[test]
    fn defaults() {
        let c = config(&["--url", "http://127.0.0.1:1/"]).unwrap();
        assert_eq!(c.users, 10);
        assert_eq!(c.schedule.end(), Some(Duration::from_secs(10)));
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.target.method, Method::GET);
    }

    #[test]
    fn requests_alone_is_open_ended() {
        let c = config(&["--url", "http://127.0.0.1:1/", "-n", "1k"]).unwrap();
        assert_eq!(c.requests, Some(1000));
        assert_eq!(c.schedule.end(), None);
    }

    #[test]
    fn ramp_climb_from_50_to_200() {
        let c = config(&[
            "--url",
            "http://h/",
            "--ramp",
            "50..200:50",
            "--step",
            "30s",
        ])
        .unwrap();
        assert_eq!(c.users, 200);
        assert_eq!(c.schedule.stages().len(), 4);
        assert_eq!(c.schedule.end(), Some(Duration::from_secs(120)));
    }

    #[test]
    fn bad_inputs_say_what_is_wrong() {
        let cases: &[(&[&str], &str)] = &[
            (&["--url", "localhost:8080"], "has no scheme"),
            (&["--url", "ftp://h/"], "scheme 'ftp' is not supported"),
            (&["--url", "http://"], "not a valid URL"),
            (&["--url", "http://h/", "-c", "0"], "at least 1"),
            (
                &["--url", "http://h/", "--duration", "0"],
                "--duration must be above 0",
            ),
            (&["--url", "http://h/", "-H", "NoColon"], "has no colon"),
            (
                &["--url", "http://h/", "-H", "Bad Name: x"],
                "not a valid header name",
            ),
            (
                &["--url", "http://h/", "-d", "@/nonexistent/body"],
                "cannot read the body file",
            ),
            (&["--url", "http://h/", "-X", "GE T"], "not an HTTP method"),
            (
                &[
                    "--url",
                    "http://h/",
                    "--ramp",
                    "1,2",
                    "--step",
                    "1s",
                    "-c",
                    "3",
                ],
                "does not go with --ramp",
            ),
            (
                &["--url", "http://h/", "--ramp", "1,2", "--step", "0"],
                "--step must be above 0",
            ),
            (
                &["--url", "http://h/", "--timeout", "0"],
                "--timeout must be above 0",
            ),
            (
                &["--url", "http://h/", "--json", ""],
                "--json needs a file name",
            ),
            (
                &["--url", "http://h/", "-n", "0"],
                "--requests must be at least 1",
            ),
            (
                &["--url", "http://h/", "--start-at", "2001-01-01T00:00:00Z"],
                "in the past",
            ),
            (
                &["--url", "http://h/", "--start-at", "2999-01-01T00:00:00Z"],
                "more than 24 hours ahead",
            ),
            (
                &["--url", "http://h/", "--csv", "x", "--html", "x"],
                "--csv and --html both write to the file x",
            ),
        ];
        for (args, want) in cases {
            let err = config(args)
                .err()
                .unwrap_or_else(|| panic!("{args:?} was accepted"));
            assert!(
                err.contains(want),
                "{args:?}: '{err}' does not say '{want}'"
            );
            assert!(!err.contains('\n'), "{args:?}: not one line: {err}");
        }
    }

    #[test]
    fn secrets_are_masked() {
        assert!(is_secret_header("Authorization"));
        assert!(is_secret_header("X-API-Key"));
        assert!(is_secret_header("cookie"));
        assert!(!is_secret_header("Accept"));
        assert_eq!(
            mask_url("http://bob:hunter2@h:1/p?q=1"),
            "http://bob:***@h:1/p?q=1"
        );
        assert_eq!(mask_url("http://h/a@b"), "http://h/a@b");
        let err = config(&["--url", "http://h/", "-H", "Authorization Bearer s3cret"]).unwrap_err();
        assert!(
            err.contains("has no colon") && !err.contains("s3cret"),
            "{err}"
        );
        let err = config(&["--url", "http://h/", "-H", "Authorization: bad\u{1}"]).unwrap_err();
        assert!(!err.contains("bad"), "{err}");
    }
}
