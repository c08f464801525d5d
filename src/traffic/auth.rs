//! `--auth-file FILE`: Authorization values, one per line (or the first column of a CSV),
//! handed out round-robin across requests, so that one token's rate limit or cache is not what
//! gets measured. No value ever reaches an output: errors name the line, never the value.

use std::path::Path;

use ureq::http::HeaderValue;

use crate::traffic::data::parse_csv;

/// First-row values taken for a header row and skipped.
const HEADER_WORDS: &[&str] = &[
    "token",
    "tokens",
    "authorization",
    "auth",
    "bearer",
    "key",
    "api_key",
    "api-key",
    "apikey",
    "secret",
    "value",
    "credential",
    "credentials",
];

/// Read the values: the first column of each non-blank line; a first line that is a column
/// name (`token`, `authorization`, ...) is skipped. A value without a space is a bare token
/// and is sent as `Bearer VALUE`; one with a space (`Basic dXNl...`) is sent as it is.
///
/// # Errors
///
/// When the file cannot be read or is not UTF-8, or its text is refused by [`parse`].
pub fn load(path: &Path) -> Result<Vec<HeaderValue>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--auth-file {shown}: cannot read the file: {e}"))?;
    parse(&shown.to_string(), &text)
}

/// The values of an auth file's text (`path` only names it in messages).
///
/// # Errors
///
/// When the CSV is malformed (see [`parse_csv`]), a first column is empty, a value has characters a
/// header cannot carry, or there is no value at all (an empty file, or a header row alone); the
/// message names the line, never the value.
pub fn parse(path: &str, text: &str) -> Result<Vec<HeaderValue>, String> {
    let records =
        parse_csv(text).map_err(|(line, why)| format!("--auth-file {path}:{line}: {why}"))?;
    let mut values = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let value = r.fields.first().map_or("", |f| f.trim());
        if value.is_empty() {
            return Err(format!(
                "--auth-file {path}:{}: the first column is empty",
                r.line
            ));
        }
        if i == 0 && HEADER_WORDS.contains(&value.to_ascii_lowercase().as_str()) {
            continue;
        }
        let full = if value.contains(' ') {
            value.to_string()
        } else {
            format!("Bearer {value}")
        };
        let mut header = HeaderValue::from_str(&full).map_err(|_| {
            format!(
                "--auth-file {path}:{}: the value has characters a header cannot carry",
                r.line
            )
        })?;
        header.set_sensitive(true);
        values.push(header);
    }
    if values.is_empty() {
        return Err(format!("--auth-file {path}: no values in the file"));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_row_and_blank_lines_are_skipped() {
        let v = parse("a.csv", "token,owner\n\nt1,ann\nBasic dXNlcg==,bob\n\n").unwrap();
        let v: Vec<&str> = v.iter().map(|h| h.to_str().unwrap()).collect();
        assert_eq!(v, ["Bearer t1", "Basic dXNlcg=="]);
        let v = parse("a.txt", "abc\ndef\n").unwrap();
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn errors_name_the_line_not_the_value() {
        let err = parse("a.txt", "token\n\n").unwrap_err();
        assert!(err.contains("no values"), "{err}");
        let err = parse("a.txt", "ok1\nsecret\u{7f}x\n").unwrap_err();
        assert!(
            err.contains("a.txt:2:") && !err.contains("secret\u{7f}"),
            "{err}"
        );
        let err = parse("a.txt", "ok1\n,x\n").unwrap_err();
        assert!(err.contains("a.txt:2: the first column is empty"), "{err}");
    }
}
