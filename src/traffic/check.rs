//! Checks on what came back (`--expect-status`, `--expect-body`, `--expect-json`): a response
//! with a success status that fails one is a `check` failure, counted apart from HTTP errors
//! and client failures (as k6's `check()` results are kept apart from `http_req_failed`). The
//! body is read into memory only when a body or JSON check needs it.

use serde_json::Value;

use crate::stream::json_path::JsonPath;
use crate::traffic::policy::OkStatus;

/// The most body bytes a check reads: a longer body is searched in its first 4 MiB, and fails a
/// JSON check (which needs the whole document).
pub const CHECK_BODY_BYTES: usize = 4 << 20;

/// `--expect-json PATH=VALUE`: the JSON value at a dotted path (the `--content-path` syntax)
/// equals VALUE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonCheck {
    pub path: JsonPath,
    /// The value as written: a string's text, a number, `true`, `false`, `null`, or compact JSON.
    pub expected: String,
}

/// Every check of a run; empty when none was asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checks {
    /// `--expect-status`: the statuses a response must have.
    pub status: Option<OkStatus>,
    /// `--expect-body` (repeatable): texts the body must contain, each.
    pub body: Vec<String>,
    /// `--expect-json` (repeatable): values the JSON body must hold, each.
    pub json: Vec<JsonCheck>,
}

impl Checks {
    /// No check was asked for.
    pub fn is_empty(&self) -> bool {
        self.status.is_none() && self.body.is_empty() && self.json.is_empty()
    }

    /// A check reads the body.
    pub fn needs_body(&self) -> bool {
        !self.body.is_empty() || !self.json.is_empty()
    }

    /// The checks as written, one per entry: `status 200,201`, `body contains "ok"`,
    /// `json data.status = ok`.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(s) = &self.status {
            out.push(format!("status {}", s.text));
        }
        for b in &self.body {
            out.push(format!("body contains {b:?}"));
        }
        for j in &self.json {
            out.push(format!("json {} = {}", j.path, j.expected));
        }
        out
    }

    /// Judge a response's status alone (an event stream's body is judged by its events).
    /// `None` when it passes, else why it failed.
    pub fn judge_status(&self, status: u16) -> Option<String> {
        let expected = self.status.as_ref()?;
        (!expected.is_ok(status)).then(|| {
            format!(
                "status {status} is not in --expect-status {}",
                expected.text
            )
        })
    }

    /// Judge a response: its status, and `body` (its first [`CHECK_BODY_BYTES`]; `complete`
    /// when that is the whole body). `None` when every check passes, else why the first that
    /// failed did.
    pub fn judge(&self, status: u16, body: &[u8], complete: bool) -> Option<String> {
        if let Some(why) = self.judge_status(status) {
            return Some(why);
        }
        for needle in &self.body {
            if memchr::memmem::find(body, needle.as_bytes()).is_none() {
                let limit = if complete {
                    ""
                } else {
                    " (in its first 4 MiB)"
                };
                return Some(format!("the body does not contain {needle:?}{limit}"));
            }
        }
        if self.json.is_empty() {
            return None;
        }
        if !complete {
            return Some("the body is longer than 4 MiB: --expect-json reads at most 4 MiB".into());
        }
        let Ok(doc) = serde_json::from_slice::<Value>(body) else {
            return Some("the body is not JSON".into());
        };
        for check in &self.json {
            match check.path.lookup(&doc) {
                None => return Some(format!("the body has no {}", check.path)),
                Some(v) if !matches(v, &check.expected) => {
                    let mut shown = v.to_string();
                    if shown.len() > 80 {
                        let cut = (0..=80).rev().find(|&i| shown.is_char_boundary(i));
                        shown.truncate(cut.unwrap_or(0));
                        shown.push_str("...");
                    }
                    return Some(format!(
                        "{} is {shown}, expected {}",
                        check.path, check.expected
                    ));
                }
                Some(_) => {}
            }
        }
        None
    }
}

/// Does the JSON value `v` equal `expected` as written on the command line?
fn matches(v: &Value, expected: &str) -> bool {
    match v {
        Value::String(s) => s == expected,
        Value::Number(n) => {
            n.to_string() == expected
                || matches!((n.as_f64(), expected.parse::<f64>()), (Some(a), Ok(b)) if a == b)
        }
        Value::Bool(b) => expected == if *b { "true" } else { "false" },
        Value::Null => expected == "null",
        other => serde_json::from_str::<Value>(expected).is_ok_and(|e| &e == other),
    }
}

/// Parse `--expect-json PATH=VALUE`.
///
/// # Errors
///
/// When there is no `=`, or the path is not a dotted path (`data.items.0.status`).
pub fn parse_expect_json(text: &str) -> Result<JsonCheck, String> {
    let Some((path, expected)) = text.split_once('=') else {
        return Err(format!(
            "'{text}' has no '=': write PATH=VALUE, e.g. data.status=ok"
        ));
    };
    if path.contains('[') {
        return Err(format!(
            "'{text}': write an array index as a path segment, e.g. items.0.id=7 (not items[0].id)"
        ));
    }
    let path = JsonPath::parse(path.trim())
        .map_err(|e| format!("'{text}': {e}; write PATH=VALUE, e.g. data.status=ok"))?;
    Ok(JsonCheck {
        path,
        expected: expected.to_string(),
    })
}

/// Parse `--expect-body TEXT`.
///
/// # Errors
///
/// When the text is empty (every body contains it).
pub fn parse_expect_body(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err(
            "the text is empty, and every body contains it: give the text a body must contain"
                .into(),
        );
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::policy::parse_ok_status;

    fn checks(status: Option<&str>, body: &[&str], json: &[&str]) -> Checks {
        Checks {
            status: status.map(|s| parse_ok_status(s).unwrap()),
            body: body.iter().map(|s| s.to_string()).collect(),
            json: json.iter().map(|s| parse_expect_json(s).unwrap()).collect(),
        }
    }

    #[test]
    fn each_check_passes_and_fails_on_what_it_reads() {
        let c = checks(Some("200,201"), &[], &[]);
        assert!(!c.needs_body());
        assert_eq!(c.judge(201, b"", true), None);
        assert_eq!(
            c.judge(204, b"", true).as_deref(),
            Some("status 204 is not in --expect-status 200,201")
        );
        let c = checks(None, &["\"ok\""], &[]);
        assert!(c.needs_body());
        assert_eq!(c.judge(200, br#"{"s":"ok"}"#, true), None);
        assert!(
            c.judge(200, br#"{"s":"no"}"#, true)
                .unwrap()
                .contains("does not contain")
        );
        let c = checks(
            None,
            &[],
            &[
                "data.status=ok",
                "data.items.1.n=2",
                "data.live=true",
                "data.gone=null",
            ],
        );
        let good =
            br#"{"data":{"status":"ok","items":[{"n":1},{"n":2.0}],"live":true,"gone":null}}"#;
        assert_eq!(c.judge(200, good, true), None);
        let bad =
            br#"{"data":{"status":"error","items":[{"n":1},{"n":2}],"live":true,"gone":null}}"#;
        assert_eq!(
            c.judge(200, bad, true).as_deref(),
            Some(r#"data.status is "error", expected ok"#)
        );
        assert_eq!(
            c.judge(200, br#"{"data":{}}"#, true).as_deref(),
            Some("the body has no data.status")
        );
        assert_eq!(
            c.judge(200, b"<html>", true).as_deref(),
            Some("the body is not JSON")
        );
        assert!(c.judge(200, good, false).unwrap().contains("4 MiB"));
    }

    #[test]
    fn bad_checks_say_how_to_write_them() {
        assert!(
            parse_expect_json("data.status")
                .unwrap_err()
                .contains("PATH=VALUE")
        );
        assert!(
            parse_expect_json("a..b=1")
                .unwrap_err()
                .contains("empty segment")
        );
        assert!(parse_expect_json("=1").is_err());
        assert!(parse_expect_body("").is_err());
        // A value may itself hold '=' (only the first one splits).
        assert_eq!(parse_expect_json("q=a=b").unwrap().expected, "a=b");
    }
}
