//! What must never be shown: secret header values (built-in names plus `--redact NAME`), URL
//! passwords, URL query parameters named by `--redact`, and the literal values of every secret
//! the run was given (so a server echoing a token back is masked too).

/// Shortest literal that is scrubbed from free text (shorter ones would mask ordinary words).
const MIN_LITERAL: usize = 4;

/// Masks secrets in names, URLs and free text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// `--redact` names, lower case: header names and URL query parameter names.
    names: Vec<String>,
    /// Secret values known before the run, longest first.
    literals: Vec<String>,
}

impl Redactor {
    /// A redactor for the `--redact` names.
    pub fn new(names: &[String]) -> Self {
        Redactor {
            names: names
                .iter()
                .map(|n| n.trim().to_ascii_lowercase())
                .collect(),
            literals: Vec::new(),
        }
    }

    /// The `--redact` names (lower case).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Remember a secret value in every form a server may echo it in (see [`forms`]).
    pub fn add_literal(&mut self, value: &str) {
        for v in forms(value) {
            if v.len() >= MIN_LITERAL && !self.literals.contains(&v) {
                self.literals.push(v);
            }
        }
        self.literals.sort_by_key(|l| std::cmp::Reverse(l.len()));
    }

    /// Remember the secrets a URL carries: its password and any query value named by
    /// `--redact`.
    pub fn add_url_literals(&mut self, url: &str) {
        for secret in url_credentials(url) {
            self.add_literal(&secret);
        }
        let values: Vec<String> = self.secret_query_values(url).map(str::to_string).collect();
        for v in values {
            self.add_literal(&v);
        }
    }

    fn secret_query_values<'a>(&'a self, url: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let query = url
            .split_once('?')
            .map_or("", |(_, q)| q.split('#').next().unwrap_or(""));
        query.split('&').filter_map(move |pair| {
            let (k, v) = pair.split_once('=')?;
            self.is_secret_name(k).then_some(v)
        })
    }

    /// Is a header with this name secret (built in, or named by `--redact`)?
    pub fn is_secret_header(&self, name: &str) -> bool {
        is_secret_header(name) || self.is_secret_name(name)
    }

    /// A header or query parameter name whose value is secret: the built-in rules of
    /// [`is_secret_header`] (`api_key`, `token`, `password`, ...) or a name given to `--redact`.
    fn is_secret_name(&self, name: &str) -> bool {
        let name = name.trim();
        is_secret_header(name) || self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    /// `Name: value` with a secret value replaced by `***`.
    pub fn header_line(&self, name: &str, value: &str) -> String {
        if self.is_secret_header(name) {
            format!("{name}: ***")
        } else {
            format!("{name}: {}", self.text(value))
        }
    }

    /// A URL with its password and its secret query values (by the built-in name rules or
    /// `--redact`) masked.
    pub fn url(&self, url: &str) -> String {
        let masked = mask_query(&mask_password(url), |k| self.is_secret_name(k));
        self.text(&masked)
    }

    /// Free text with every known secret value, and each of `extra` (this request's own
    /// secrets: a rendered or rotated credential), replaced by `***`.
    pub fn text_with(&self, text: &str, extra: &[String]) -> String {
        let mut out = self.text(text);
        for e in extra {
            if e.len() >= MIN_LITERAL && out.contains(e.as_str()) {
                out = out.replace(e.as_str(), "***");
            }
        }
        out
    }

    /// Free text with every known secret value replaced by `***`, and the value of every
    /// `name=value` whose name is secret (an echoed URL's `?token=abc`, whatever its length).
    pub fn text(&self, text: &str) -> String {
        let mut out = mask_query_in_text(text, |k| self.is_secret_name(k));
        for l in &self.literals {
            if out.contains(l.as_str()) {
                out = out.replace(l.as_str(), "***");
            }
        }
        out
    }
}

/// A secret in every form a request carried it or a server may echo it back in: as it is, the
/// token after its scheme (`Bearer K` and `K`), percent-encoded (a query string, a form body,
/// an echoed URL) and JSON-escaped (an echoed JSON body).
pub fn forms(value: &str) -> Vec<String> {
    let value = value.trim();
    let mut plain = vec![value.to_string()];
    if let Some((_, token)) = value.split_once(' ') {
        plain.push(token.trim().to_string());
    }
    let mut all = Vec::with_capacity(plain.len() * 6);
    for v in plain {
        let encoded = percent_encode(&v, b"");
        // Encoders that keep `/` (Python's `quote`, JavaScript's `encodeURI`) and form
        // encoding (a space as `+`).
        let path_encoded = percent_encode(&v, b"/");
        let form = percent_encode(&v, b" ").replace(' ', "+");
        let escaped = serde_json::to_string(&v)
            .map(|q| q[1..q.len() - 1].to_string())
            .unwrap_or_default();
        let html = v
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        for f in [v, encoded, path_encoded, form, escaped, html] {
            if !f.is_empty() && !all.contains(&f) {
                all.push(f);
            }
        }
    }
    all
}

/// The secrets a URL's userinfo sends: its password, and `base64(user:password)` as it goes in
/// `Authorization: Basic` (RFC 7617). Empty without a password.
pub fn url_credentials(url: &str) -> Vec<String> {
    let Some((_, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..auth_end].rfind('@') else {
        return Vec::new();
    };
    let Some((user, password)) = rest[..at].split_once(':') else {
        return Vec::new();
    };
    let basic = format!("{}:{}", percent_decode(user), percent_decode(password));
    vec![
        password.to_string(),
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, basic),
    ]
}

/// Percent-encode every byte outside RFC 3986's unreserved set and `keep`.
fn percent_encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || keep.contains(&b)
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decode `%XX` escapes (invalid ones are kept as they are).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Free text with the value of each `name=value` whose name `is_secret` replaced by `***`: the
/// name is the run of name characters before `=`, the value runs to the next `&`, space, quote,
/// `<`, `>`, `,`, `;` or line end.
fn mask_query_in_text(text: &str, is_secret: impl Fn(&str) -> bool) -> String {
    let is_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '%');
    let is_end = |c: char| {
        matches!(
            c,
            '&' | ' ' | '"' | '\'' | '<' | '>' | ',' | ';' | '\n' | '\r' | '\t' | '#'
        )
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(eq) = rest.find('=') {
        let (before, after) = rest.split_at(eq);
        let name_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_name(*c))
            .last()
            .map_or(before.len(), |(i, _)| i);
        let name = &before[name_start..];
        out.push_str(before);
        out.push('=');
        let after = &after[1..];
        let value_len = after.find(is_end).unwrap_or(after.len());
        if !name.is_empty() && value_len > 0 && is_secret(&percent_decode(name)) {
            out.push_str("***");
            rest = &after[value_len..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Header names whose values are secrets: never printed, never written to a report.
///
/// A name is secret when it holds one of the words `key`, `token`, `secret`, `auth`,
/// `password`, `session`, `signature` (`X-Api-Key`, `access_token`), or is `sig` (an Azure SAS
/// signature) between separators. The plural `tokens` is a count, not a credential (`max_tokens`,
/// `tokens_per_event`): it does not make a name secret.
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let without_counts = n.replace("tokens", "");
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
    .any(|w| without_counts.contains(w))
        || n.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == "sig")
}

/// A header value as it may be shown.
pub fn display_header_value<'a>(name: &str, value: &'a str) -> &'a str {
    if is_secret_header(name) { "***" } else { value }
}

pub fn mask_header_arg(h: &str) -> String {
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

/// The values of the query parameters `is_secret` names replaced by `***`.
fn mask_query(url: &str, is_secret: impl Fn(&str) -> bool) -> String {
    let Some((head, rest)) = url.split_once('?') else {
        return url.to_string();
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (rest, None),
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret(k) => format!("{k}=***"),
            _ => pair.to_string(),
        })
        .collect();
    let mut out = format!("{head}?{}", query.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Mask the password of `user:password@host` in a URL, and the values of query parameters
/// whose names look secret (the rules of [`is_secret_header`]: `api_key`, `access_token`, ...).
pub fn mask_url(url: &str) -> String {
    mask_query(&mask_password(url), is_secret_header)
}

/// Mask the password of `user:password@host` in a URL.
fn mask_password(url: &str) -> String {
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

    #[test]
    fn secret_looking_query_values_are_masked_by_name_without_redact() {
        let r = Redactor::new(&[]);
        assert_eq!(
            r.url("http://h/p?api_key=abc123&x=1&access_token=t0k&Signature=s1g#f"),
            "http://h/p?api_key=***&x=1&access_token=***&Signature=***#f"
        );
        // Counts of tokens are not credentials; an Azure SAS `sig` is.
        assert_eq!(
            r.url("http://h/v1/chat/completions?tokens=4&max_tokens=3&tokens_per_event=2&reasoning_tokens=8&sig=abc&sp=r"),
            "http://h/v1/chat/completions?tokens=4&max_tokens=3&tokens_per_event=2&reasoning_tokens=8&sig=***&sp=r"
        );
        assert_eq!(
            mask_url("http://u:pw@h/?password=p&q=1"),
            "http://u:***@h/?password=***&q=1"
        );
        assert_eq!(
            mask_url("http://h/?page=2&sort=asc"),
            "http://h/?page=2&sort=asc"
        );
    }

    #[test]
    fn urls_headers_and_text_are_masked() {
        let mut r = Redactor::new(&["api_key".into(), "X-Tenant".into()]);
        r.add_url_literals("http://u:pw12345@h/p?api_key=sekrit99&x=1");
        r.add_literal("Bearer tok-abcdef");
        assert_eq!(
            r.url("http://u:pw12345@h/p?api_key=sekrit99&x=1#f"),
            "http://u:***@h/p?api_key=***&x=1#f"
        );
        assert_eq!(r.header_line("x-tenant", "acme"), "x-tenant: ***");
        assert_eq!(r.header_line("Cookie", "a=b"), "Cookie: ***");
        assert_eq!(r.header_line("Accept", "a/b"), "Accept: a/b");
        assert_eq!(
            r.text("echo tok-abcdef and sekrit99 and pw12345"),
            "echo *** and *** and ***"
        );
    }
}
