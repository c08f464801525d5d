//! Fuzz the `--fail-on` threshold parser (see docs/FUZZING.md).
//!
//! Input: one byte for the number of stages (1..=4), then the text (UTF-8 only, as clap hands
//! it over). Properties checked:
//! - nothing panics, whatever the text, nor in the result line shown for a threshold (with a
//!   value measured or not);
//! - an accepted list has one threshold per comma-separated part, each with a finite limit
//!   >= 0, a stage within the run's stages, a metric name that parses again, and its text
//!   trimmed;
//! - every error starts with `--fail-on '` and is one line once escaped as printed.

#![no_main]

use libfuzzer_sys::fuzz_target;
use qpsbench::report::thresholds::ThresholdResult;
use qpsbench::stats::thresholds::parse;
use qpsbench::parse::one_line;

fuzz_target!(|input: &[u8]| {
    let [stages, rest @ ..] = input else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let stages = usize::from(stages % 4) + 1;
    match parse(text, stages) {
        Ok(list) => {
            assert_eq!(list.len(), text.split(',').count());
            for t in &list {
                assert!(t.limit.is_finite() && t.limit >= 0.0, "{text:?}: {t:?}");
                assert!(t.stage.is_none_or(|s| (1..=stages).contains(&s)), "{t:?}");
                assert_eq!(t.text, t.text.trim());
                // The metric's name alone parses again, with any limit of its unit.
                let again = parse(&format!("{}<1", t.metric_name), stages)
                    .unwrap_or_else(|e| panic!("{t:?}: {e}"));
                assert_eq!(again[0].metric_name, t.metric_name);
                for measured in [None, Some(t.limit), Some(f64::MAX)] {
                    let r = ThresholdResult {
                        expression: t.text.clone(),
                        stage: t.stage,
                        metric: t.metric_name.clone(),
                        op: t.op,
                        limit: t.limit,
                        measured,
                        passed: false,
                    };
                    let line = r.line();
                    assert!(line.starts_with(&t.text), "{line}");
                }
            }
        }
        Err(e) => {
            assert!(e.starts_with("--fail-on '"), "{e}");
            assert!(!one_line(e.clone()).contains('\n'), "{e:?}");
        }
    }
});
