//! Fuzz the `--auth-file FILE` parser (see docs/FUZZING.md).
//!
//! Input: the text of an auth file (UTF-8; other inputs are skipped). Properties checked:
//! - nothing panics, whatever the text;
//! - an accepted file gives valid header values marked sensitive: `Bearer TOKEN` for a token
//!   without a space, the value itself otherwise; never more values than non-blank lines;
//! - every error is `--auth-file a.txt[:LINE]: ` and one of the fixed messages: no value of
//!   the file is ever shown (they are secrets).

#![no_main]

use libfuzzer_sys::fuzz_target;
use qpsbench::traffic::auth::parse;

const MESSAGES: &[&str] = &[
    "a quoted field is never closed",
    "text after a closing quote: quote the whole field",
    "the first column is empty",
    "the value has characters a header cannot carry",
    "no values in the file",
];

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    match parse("a.txt", text) {
        Ok(values) => {
            assert!(!values.is_empty());
            assert!(values.len() <= text.lines().filter(|l| !l.trim().is_empty()).count());
            for v in &values {
                assert!(v.is_sensitive());
                assert!(!v.as_bytes().is_empty());
            }
        }
        Err(e) => {
            let rest = e
                .strip_prefix("--auth-file a.txt")
                .unwrap_or_else(|| panic!("{e}"));
            // `: MESSAGE`, or `:LINE: MESSAGE`.
            let rest = match rest.strip_prefix(':') {
                Some(r) if !r.starts_with(' ') => {
                    let digits = r.bytes().take_while(u8::is_ascii_digit).count();
                    assert!(digits > 0, "{e}");
                    &r[digits..]
                }
                _ => rest,
            };
            let msg = rest.strip_prefix(": ").unwrap_or_else(|| panic!("{e}"));
            assert!(MESSAGES.contains(&msg), "not a fixed message: {e:?}");
        }
    }
});
