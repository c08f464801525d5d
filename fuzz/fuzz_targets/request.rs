//! Fuzz the parsers of the request a run sends (see docs/FUZZING.md): `-H` header lines,
//! `--url`, `-X`, and the masking of secrets in what is shown.
//!
//! Input: the first byte splits the rest (UTF-8) into a header line, a URL and a method.
//! Properties checked:
//! - nothing panics, whatever the text;
//! - every error names its flag, and an error about a secret header never shows the line
//!   with its value (control characters in errors are escaped where they are printed,
//!   `app::usage_error`, so these messages may hold them);
//! - an accepted header has a valid name and exactly the trimmed text after the colon as value;
//! - an accepted URL is http or https with a host;
//! - masking a URL is idempotent and leaves URLs without `@` alone.

#![no_main]

use libfuzzer_sys::fuzz_target;
use qpsbench::config::target::{parse_header, parse_target, parse_url};
use qpsbench::redact::{is_secret_header, mask_url};

fuzz_target!(|input: &[u8]| {
    let [cut, rest @ ..] = input else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let at = text.floor_char_boundary(usize::from(*cut) % (text.len() + 1));
    let (header, tail) = text.split_at(at);
    let (url, method) = tail.split_once('\u{1f}').unwrap_or((tail, "GET"));

    match parse_header(header) {
        Ok((name, value)) => {
            assert!(!name.as_str().is_empty());
            // Values may carry non-ASCII bytes (obs-text); they are kept as given, trimmed.
            let given = header.split_once(':').unwrap().1.trim();
            assert_eq!(value.as_bytes(), given.as_bytes(), "{header:?}");
        }
        Err(e) => {
            assert!(e.0.starts_with("-H "), "{e}");
            // The line of a secret header is never echoed back with its value.
            if let Some((n, v)) = header.split_once(':')
                && is_secret_header(n.trim())
                && !v.trim().is_empty()
                && v.trim() != "***"
            {
                assert!(!e.0.contains(header), "secret shown: {e}");
            }
        }
    }

    let masked = mask_url(url);
    assert_eq!(
        mask_url(&masked),
        masked,
        "masking is not idempotent: {url:?}"
    );
    if !url.contains('@') {
        assert_eq!(masked, url);
    }
    match parse_url(url) {
        Ok(uri) => {
            assert!(matches!(uri.scheme_str(), Some("http" | "https")));
            assert!(uri.host().is_some_and(|h| !h.is_empty()));
        }
        Err(e) => assert!(e.0.starts_with("--url "), "{e}"),
    }

    if let Err(e) = parse_target(url, method, &[header.to_string()], None) {
        assert!(
            ["--url ", "-X ", "-H "].iter().any(|f| e.0.starts_with(f)),
            "{e}"
        );
    }
});
