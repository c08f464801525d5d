//! The traffic flags (`--targets`, `--data`, `--auth-file`, `--think-time`, `--ok-status`,
//! `--retries`, `--redact`) into a [`TrafficConfig`], with messages a user can act on.

use std::sync::Arc;

use ureq::http::header::AUTHORIZATION;
use ureq::http::{HeaderName, HeaderValue, Method};

use crate::cli::{TargetsOrderArg, TrafficArgs};
use crate::config::target::{Target, parse_header, parse_url};
use crate::error::UsageError;
use crate::error::bad;
use crate::redact::Redactor;
use crate::traffic::data::DataSet;
use crate::traffic::plan::{BodyPlan, RequestPlan, TrafficConfig, UrlPlan};
use crate::traffic::retry::RetryPolicy;
use crate::traffic::targets::{EntryBody, TargetsOrder};
use crate::traffic::template::{Template, Vars};

/// Placeholders replaced by stand-ins, so that a URL with `{{...}}` can be checked as a URL:
/// the `--data` file's first row (a port or a whole URL from the data is checked as it will be
/// sent), `1` for `{{user}}` and `{{seq}}` and for columns without a row.
fn stand_in(text: &str, columns: &[String], first_row: Option<&[String]>) -> String {
    let ones = vec!["1".to_string(); columns.len()];
    match Template::compile(text.as_bytes(), columns) {
        Ok(t) if !t.is_static() => String::from_utf8_lossy(
            &t.render(
                &Vars {
                    user: 1,
                    seq: 1,
                    row: first_row
                        .filter(|r| r.len() == columns.len())
                        .unwrap_or(&ones),
                },
                true,
            ),
        )
        .into_owned(),
        _ => text.to_string(),
    }
}

fn data_columns(args: &TrafficArgs) -> Result<(Option<Arc<DataSet>>, Vec<String>), UsageError> {
    match &args.data {
        None => Ok((None, Vec::new())),
        Some(path) => {
            let d = DataSet::load(path).map_err(UsageError)?;
            let columns = d.columns.clone();
            Ok((Some(Arc::new(d)), columns))
        }
    }
}

/// The URL the run's main [`Target`] is built from, checkable by [`parse_url`]: `--url` (with
/// placeholders replaced by stand-ins), else the scheme and host of the first `--targets`
/// entry. Errors when there is neither.
///
/// # Errors
///
/// When neither `--url` nor `--targets` is given, the targets file cannot be loaded (see
/// [`crate::traffic::targets::load`]), or the URL of its first entry is relative.
pub fn main_url(url: Option<&str>, args: &TrafficArgs) -> Result<String, UsageError> {
    if let Some(u) = url {
        // The columns are needed to recognise placeholders; errors come later.
        let data = args.data.as_ref().and_then(|p| DataSet::load(p).ok());
        let columns = data.as_ref().map(|d| d.columns.clone()).unwrap_or_default();
        let first = data
            .as_ref()
            .and_then(|d| d.rows.first().map(Vec::as_slice));
        return Ok(stand_in(u, &columns, first));
    }
    let Some(path) = &args.targets else {
        return bad(
            "--url is required (or --targets FILE): write e.g. --url http://127.0.0.1:8080/",
        );
    };
    let entries = crate::traffic::targets::load(path).map_err(UsageError)?;
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
) -> Result<(HeaderName, Result<HeaderValue, Template>), UsageError> {
    let (name, value) = line.split_once(':').unwrap_or((line, ""));
    let value = value.trim();
    let t =
        Template::compile(value.as_bytes(), columns).map_err(|e| unknown(where_, &e.0, columns))?;
    if t.is_static() {
        let (n, v) = parse_header(line).map_err(|e| UsageError(format!("{where_}: {e}")))?;
        return Ok((n, Ok(v)));
    }
    let (n, _) = parse_header(&format!("{}: x", name.trim()))
        .map_err(|e| UsageError(format!("{where_}: {e}")))?;
    Ok((n, Err(t)))
}

fn unknown(where_: &str, name: &str, columns: &[String]) -> UsageError {
    let known = if columns.is_empty() {
        "there is no --data file; the built-in names are user and seq".to_string()
    } else {
        format!(
            "--data columns are {}; also user and seq",
            columns.join(", ")
        )
    };
    UsageError(format!(
        "{where_}: {{{{{name}}}}} names nothing known: {known}"
    ))
}

fn url_plan(
    url: &str,
    columns: &[String],
    data: Option<&DataSet>,
    where_: &str,
) -> Result<UrlPlan, UsageError> {
    let t =
        Template::compile(url.as_bytes(), columns).map_err(|e| unknown(where_, &e.0, columns))?;
    let first = data.and_then(|d| d.rows.first().map(Vec::as_slice));
    let checked = parse_url(&stand_in(url, columns, first))
        .map_err(|e| UsageError(format!("{where_}: {e}")))?;
    Ok(if t.is_static() {
        UrlPlan::Static(checked)
    } else {
        UrlPlan::Template(t)
    })
}

fn body_plan(body: &[u8], columns: &[String], where_: &str) -> Result<BodyPlan, UsageError> {
    let t = Template::compile(body, columns).map_err(|e| unknown(where_, &e.0, columns))?;
    Ok(if t.is_static() {
        BodyPlan::Static(Arc::from(body))
    } else {
        BodyPlan::Template(t)
    })
}

/// Build the traffic configuration. `target` is the request of `--url`, `-X`, `-H`, `-d` (and
/// the LLM flags); `url_given` says whether `--url` was.
///
/// # Errors
///
/// When a `--redact` value is not a name, a `--data`, `--auth-file`, `--targets` or body file is
/// unreadable or malformed, a URL, header or body names an unknown `{{placeholder}}`, an entry's
/// method, URL or header is bad, `-d` comes with `--targets`, or the retry flags are out of range.
pub fn setup(
    args: &TrafficArgs,
    target: &Target,
    url_given: bool,
    global_headers: &[String],
    body_given: bool,
) -> Result<TrafficConfig, UsageError> {
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
        Some(p) => crate::traffic::auth::load(p).map_err(UsageError)?,
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
        let entries = crate::traffic::targets::load(path).map_err(UsageError)?;
        for e in &entries {
            let at = |line: usize| format!("--targets {shown}:{line}");
            let method = Method::from_bytes(e.method.as_bytes()).map_err(|_| {
                UsageError(format!(
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
            let url_plan = url_plan(&url, &columns, data.as_deref(), &at(e.line))?;
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
                        UsageError(format!(
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
        let url = url_plan(&target.url, &columns, data.as_deref(), "--url")?;
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
    if args.retries > crate::traffic::retry::MAX_RETRIES {
        return bad(format!(
            "--retries {}: at most {}",
            args.retries,
            crate::traffic::retry::MAX_RETRIES
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
        order: match args.targets_order {
            TargetsOrderArg::Weighted => TargetsOrder::Weighted,
            TargetsOrderArg::Random => TargetsOrder::Random,
            TargetsOrderArg::RoundRobin => TargetsOrder::RoundRobin,
        },
        seed,
        auth,
        auth_file: args.auth_file.as_ref().map(|p| p.display().to_string()),
        data,
        think: args.think_time,
        ok_status: args.ok_status.clone().unwrap_or_default(),
        checks: crate::traffic::check::Checks {
            status: args.expect_status.clone(),
            body: args.expect_body.clone(),
            json: args.expect_json.clone(),
        },
        cookies: args.cookies,
        retry: RetryPolicy {
            retries: args.retries,
            backoff: args.retry_backoff,
        },
        redactor,
        needs_seq,
    })
}
