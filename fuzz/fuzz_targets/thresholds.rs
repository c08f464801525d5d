//! Fuzz the `--fail-on` threshold parser (see docs/FUZZING.md).
//!
//! Input: one byte for the number of stages (1..=4), then the text (UTF-8 only, as clap hands
//! it over). Properties checked:
//! - nothing panics, whatever the text, nor in the result line shown for a threshold (with a
//!   value measured or not);
//! - an accepted list has one threshold per comma-separated part, each with a finite limit
//!   >= 0 (or a finite change from a baseline, in % of at least -100, or in pp of at most 100),
//!   a stage within the run's stages, a metric name that parses again, and its text trimmed;
//! - every error starts with `--fail-on '` and is one line once escaped as printed.

#![no_main]

use libfuzzer_sys::fuzz_target;
use qpsbench::report::thresholds::{BaselineLimit, ThresholdResult};
use qpsbench::stats::thresholds::{Change, Limit, parse};
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
                let (limit, baseline) = match t.limit {
                    Limit::Absolute(v) => {
                        assert!(v.is_finite() && v >= 0.0, "{text:?}: {t:?}");
                        (v, None)
                    }
                    Limit::Change(c) => {
                        match c {
                            Change::Percent(p) => assert!(p.is_finite() && p >= -100.0),
                            Change::Points(pp) => assert!(pp.is_finite() && pp.abs() <= 100.0),
                        }
                        let from = BaselineLimit {
                            source: "base.json".into(),
                            change: c.text(),
                            value: Some(1.0),
                        };
                        (c.limit(1.0), Some(from))
                    }
                };
                assert!(t.stage.is_none_or(|s| (1..=stages).contains(&s)), "{t:?}");
                assert_eq!(t.text, t.text.trim());
                // The metric's name alone parses again, with any limit of its unit.
                let again = parse(&format!("{}<1", t.metric_name), stages)
                    .unwrap_or_else(|e| panic!("{t:?}: {e}"));
                assert_eq!(again[0].metric_name, t.metric_name);
                for measured in [None, Some(limit), Some(f64::MAX)] {
                    let r = ThresholdResult {
                        expression: t.text.clone(),
                        stage: t.stage,
                        metric: t.metric_name.clone(),
                        op: t.op,
                        limit: Some(limit),
                        baseline: baseline.clone(),
                        measured,
                        passed: false,
                        unmeasured: None,
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
