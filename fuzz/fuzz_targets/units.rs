//! Fuzz the parsers of the command line's small value languages (see docs/FUZZING.md):
//! durations, counts, ramp specs, rates and RFC 3339 times.
//!
//! Input: one selector byte, then the text (UTF-8; other inputs are skipped, as clap hands the
//! parsers `&str`). Properties checked:
//! - nothing panics, allocates without bound or runs for long, whatever the text;
//! - an accepted value respects the parser's documented bounds (a duration at most a year, a
//!   ramp of at most 10,000 stages with some users, a rate above 0 and at most 10M/s);
//! - every error is one line (it is shown after the flag name);
//! - an accepted duration renders, and a whole-second or millisecond duration renders back
//!   to itself.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use qpsbench::parse::{
    format_duration, parse_count, parse_duration, parse_ramp, parse_rate, parse_rfc3339,
};

const YEAR: Duration = Duration::from_secs(365 * 86_400);

fn one_line(e: &str) {
    assert!(!e.contains('\n'), "error is not one line: {e:?}");
}

fuzz_target!(|input: &[u8]| {
    let [selector, text @ ..] = input else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    match selector % 5 {
        0 => match parse_duration(text) {
            Ok(d) => {
                assert!(d <= YEAR, "{text:?} gave {d:?}");
                let shown = format_duration(d);
                let whole_ms = d.subsec_nanos() % 1_000_000 == 0;
                // Below a second the rendering is in milliseconds; above a minute in whole
                // units: those render back exactly.
                let exact = (whole_ms && d < Duration::from_secs(1))
                    || (d.subsec_nanos() == 0 && d >= Duration::from_secs(60));
                if exact && !d.is_zero() {
                    assert_eq!(
                        parse_duration(&shown),
                        Ok(d),
                        "{text:?} -> {d:?} -> {shown:?}"
                    );
                }
            }
            Err(e) => one_line(&e),
        },
        1 => match parse_count(text) {
            Ok(n) => {
                // A count of plain digits is that number.
                if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                    assert_eq!(text.parse::<u64>().ok(), Some(n));
                }
            }
            Err(e) => one_line(&e),
        },
        2 => match parse_ramp(text) {
            Ok(stages) => {
                assert!(!stages.is_empty() && stages.len() <= 10_000, "{text:?}");
                assert!(stages.iter().any(|&u| u > 0), "{text:?}");
            }
            Err(e) => one_line(&e),
        },
        3 => match parse_rate(text) {
            Ok(r) => assert!(
                r.is_finite() && r > 0.0 && r <= 10_000_000.0,
                "{text:?} gave {r}"
            ),
            Err(e) => one_line(&e),
        },
        _ => match parse_rfc3339(text) {
            Ok(t) => {
                let _ = t.duration_since(std::time::UNIX_EPOCH);
            }
            Err(e) => one_line(&e),
        },
    }
});
