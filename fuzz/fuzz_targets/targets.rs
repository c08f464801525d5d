//! Fuzz the `--targets FILE` parser (see docs/FUZZING.md).
//!
//! Input: the text of a targets file (UTF-8; other inputs are skipped, as the file is read
//! into a `String`). Properties checked:
//! - nothing panics, whatever the text;
//! - an accepted file has 1 to `MAX_TARGETS` entries, each with a method word, a URL that
//!   starts with `/` or holds `://`, a weight in 1..=`MAX_WEIGHT`, a non-empty name when named,
//!   and line numbers that exist and increase (request line, then headers, then body);
//! - every error starts with `--targets FILE` and is one line once escaped as printed
//!   (`parse::one_line`, as `main.rs` does for every usage error);
//! - no error shows a header of the file, on its own line or put on a request line (values
//!   may be secrets).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use qpsbench::traffic::targets::{EntryBody, MAX_TARGETS, MAX_WEIGHT, parse};
use qpsbench::parse::one_line;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let lines = text.lines().count();
    match parse("t.targets", Path::new("/base"), text) {
        Ok(entries) => {
            assert!(!entries.is_empty() && entries.len() <= MAX_TARGETS);
            let mut last = 0;
            for e in &entries {
                assert!(e.line > last && e.line <= lines, "{e:?}");
                last = e.line;
                assert!(
                    !e.method.is_empty()
                        && e.method
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_'),
                    "{e:?}"
                );
                assert!(e.url.starts_with('/') || e.url.contains("://"), "{e:?}");
                assert!((1..=MAX_WEIGHT).contains(&e.weight), "{e:?}");
                assert!(e.name.as_ref().is_none_or(|n| !n.is_empty()), "{e:?}");
                for (line, h) in &e.headers {
                    assert!(*line > last && *line <= lines, "{e:?}");
                    last = *line;
                    assert!(h.contains(':') && h.trim() == h, "{e:?}");
                }
                match &e.body {
                    Some(EntryBody::File { line, path }) => {
                        assert!(*line > last && *line <= lines, "{e:?}");
                        last = *line;
                        assert!(path.is_absolute(), "{e:?}");
                    }
                    Some(EntryBody::Inline(b)) => {
                        assert!(!b.contains('\n'), "{e:?}");
                    }
                    None => {}
                }
            }
        }
        Err(e) => {
            assert!(e.starts_with("--targets t.targets"), "{e}");
            assert!(!one_line(e.clone()).contains('\n'), "{e:?}");
            // A header (a `Name: value` line, or a `Name:value` word put on a request line)
            // is never echoed in an error: its value may be a secret. (`http://...` is a URL:
            // the fixed messages show one.)
            let header_like = |t: &str| {
                t.split_once(':').is_some_and(|(name, value)| {
                    !name.is_empty()
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                        && value.trim().len() >= 8
                        && !value.starts_with("//")
                })
            };
            for line in text.lines() {
                let t = line.trim();
                // (Only text that occurs once: a copy inside an echoed request-line word is
                // not the header.)
                let once = |x: &str| text.matches(x).count() == 1;
                if header_like(t) && once(t) {
                    assert!(!e.contains(t), "header line shown: {e:?}");
                }
                for word in t.split_whitespace() {
                    if header_like(word) && once(word) {
                        assert!(!e.contains(word), "header shown: {e:?}");
                    }
                }
            }
        }
    }
});
