//! `--fail-on` verdicts: each threshold checked against the report's rows after the run, as
//! printed and written to the JSON report (exit code 1 when one fails).

use serde::{Deserialize, Serialize};

use crate::stats::rows::StageReport;
use crate::stats::thresholds::{Baseline, Limit, Metric, Op, Threshold, Unit};

/// A checked threshold, as printed and written to the JSON report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ThresholdResult {
    /// The expression as written.
    pub expression: String,
    /// Stage number from 1, when the threshold is about one stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<usize>,
    /// The metric as written, e.g. `p99` or `ttft-p50`.
    pub metric: String,
    /// The comparison: `<`, `<=`, `>`, `>=`.
    pub op: Op,
    /// The limit: milliseconds for latencies, a fraction for rates; for a change from a
    /// baseline, the limit it made of the baseline's value (`null` when the baseline had none).
    pub limit: Option<f64>,
    /// A limit written as a change from a baseline run (`p99<+10%`): the baseline and the
    /// change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineLimit>,
    /// What was measured, in the unit of `limit`; `null` when nothing was (no requests).
    pub measured: Option<f64>,
    /// True when the measured value satisfies the threshold; false when it does not or
    /// nothing was measured.
    pub passed: bool,
    /// Why nothing was measured, in words (only when `measured` is `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmeasured: Option<String>,
}

/// How a limit was made from a baseline run: `limit` = `value` changed by `change`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BaselineLimit {
    /// The baseline as given: the `--baseline` file, or the first run of `compare`.
    pub source: String,
    /// The change as written: `+10%`, `-5%`, `+0.5pp`.
    pub change: String,
    /// The baseline's value of the metric (in the same row: the total or stage N), in the
    /// unit of `limit`; `null` when the baseline measured none.
    pub value: Option<f64>,
}

impl ThresholdResult {
    /// `p99<300ms: passed (measured 12.3 ms)`; with a baseline, `p99<+10%: passed (baseline
    /// 12.300 ms -> limit 13.530 ms, measured 12.900 ms)`.
    pub fn line(&self) -> String {
        let verdict = if self.passed { "passed" } else { "FAILED" };
        match self.baseline_words() {
            Some(b) => format!(
                "{}: {verdict} ({b}, {})",
                self.expression,
                self.measured_words()
            ),
            None => format!("{}: {verdict} ({})", self.expression, self.measured_words()),
        }
    }

    /// `baseline 12.300 ms -> limit 13.530 ms` for a change from a baseline, or `the baseline
    /// measured no p99`; `None` for an absolute limit.
    pub fn baseline_words(&self) -> Option<String> {
        let b = self.baseline.as_ref()?;
        let unit = self.unit();
        Some(match (b.value, self.limit) {
            (Some(v), Some(limit)) => {
                format!("baseline {} -> limit {}", show(unit, v), show(unit, limit))
            }
            _ => format!("the baseline measured no {}", self.metric),
        })
    }

    fn unit(&self) -> Unit {
        Metric::parse(&self.metric).map_or(Unit::Number, |m| m.unit())
    }

    /// Why a failed threshold failed, for one line: `p99 412.000 ms > 300.000 ms`, or
    /// `p99: nothing measured: WHY`.
    pub fn why_failed(&self) -> String {
        let unit = self.unit();
        let Some(v) = self.measured else {
            return format!("{}: {}", self.metric, self.measured_words());
        };
        let Some(limit) = self.limit else {
            return format!(
                "{}: {}",
                self.metric,
                self.baseline_words().unwrap_or_default()
            );
        };
        let broken = match self.op {
            Op::Lt => ">=",
            Op::Le => ">",
            Op::Gt => "<=",
            Op::Ge => "<",
        };
        let from = match &self.baseline {
            Some(b) => format!(
                " (baseline {} {})",
                b.value.map_or_else(|| "-".into(), |v| show(unit, v)),
                b.change
            ),
            None => String::new(),
        };
        format!(
            "{} {} {broken} {}{from}",
            self.metric,
            show(unit, v),
            show(unit, limit)
        )
    }

    /// `measured 12.3 ms`, or `nothing measured: WHY`.
    pub fn measured_words(&self) -> String {
        let unit = self.unit();
        match (self.measured, &self.unmeasured) {
            (Some(v), _) => format!("measured {}", show(unit, v)),
            (None, Some(why)) => format!("nothing measured: {why}"),
            (None, None) => "nothing measured".to_string(),
        }
    }
}

/// Why `metric` has no value in `row`, in words a user can act on.
fn why_unmeasured(name: &str, row: Option<&StageReport>) -> String {
    let Some(row) = row else {
        return "no such stage".into();
    };
    if row.requests == 0 {
        return "no request completed".into();
    }
    if row.ttfb_ms.count == 0 {
        return "no response arrived (every request failed)".into();
    }
    let Some(st) = row.stream.as_ref().filter(|st| st.streams > 0) else {
        return format!(
            "{name} is a streaming metric and no response was an event stream; it needs \
             text/event-stream responses or --stream"
        );
    };
    let ends: Vec<String> = st
        .end_reasons
        .iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect();
    let ends = ends.join(", ");
    if st.ttft_ms.count == 0 {
        return format!(
            "{} event stream{} arrived but no answer carried content (stream ends: {ends})",
            st.streams,
            if st.streams == 1 { "" } else { "s" }
        );
    }
    if name.starts_with("itl") {
        "no answer carried two content events, so there was no gap between tokens".into()
    } else if name.starts_with("tpot") {
        format!("no complete answer carried 2 tokens or more (stream ends: {ends})")
    } else {
        format!("no streamed answer was complete (stream ends: {ends})")
    }
}

/// `v` in `unit`: `12.500 ms`, `75.000%`, `480.0`.
pub fn show(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Ms => format!("{v:.3} ms"),
        Unit::Rate => format!("{:.3}%", v * 100.0),
        Unit::Number => format!("{v:.1}"),
    }
}

/// Check every threshold against the rows of a report: `total` and `stages` (stage N of a
/// threshold is `stages[N - 1]`). A change (`p99<+10%`) is made a limit from `baseline`'s value
/// in the same row; without a baseline, or a value there, it has no limit and fails
/// ([`Baseline::check`] refuses such input before a run).
pub fn evaluate(
    thresholds: &[Threshold],
    total: &StageReport,
    stages: &[StageReport],
    baseline: Option<&Baseline>,
) -> Vec<ThresholdResult> {
    thresholds
        .iter()
        .map(|t| {
            let row = match t.stage {
                None => Some(total),
                Some(n) => stages.get(n - 1),
            };
            let measured = row.and_then(|r| t.metric.measure(r));
            let (limit, from) = match t.limit {
                Limit::Absolute(v) => (Some(v), None),
                Limit::Change(change) => {
                    let value = baseline.and_then(|b| b.value(t));
                    let from = BaselineLimit {
                        source: baseline.map_or_else(|| "(none)".into(), |b| b.source.clone()),
                        change: change.text(),
                        value,
                    };
                    (value.map(|v| change.limit(v)), Some(from))
                }
            };
            ThresholdResult {
                unmeasured: measured
                    .is_none()
                    .then(|| why_unmeasured(&t.metric_name, row)),
                expression: t.text.clone(),
                stage: t.stage,
                metric: t.metric_name.clone(),
                op: t.op,
                limit,
                baseline: from,
                measured,
                passed: measured.zip(limit).is_some_and(|(m, l)| t.op.holds(m, l)),
            }
        })
        .collect()
}

/// The `--fail-on` section of the text summary (empty without thresholds).
pub fn summary(results: &[ThresholdResult]) -> String {
    summary_titled("Thresholds", results)
}

/// [`summary`] under another title (`Thresholds of RUN`).
pub fn summary_titled(title: &str, results: &[ThresholdResult]) -> String {
    if results.is_empty() {
        return String::new();
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    let against = results
        .iter()
        .find_map(|r| r.baseline.as_ref())
        .map_or_else(String::new, |b| format!(", baseline {}", b.source));
    let mut out = format!(
        "\n{title} (--fail-on{against}): {} passed, {failed} failed\n",
        results.len() - failed
    );
    for r in results {
        out.push_str("  ");
        out.push_str(&r.line());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn a_threshold_with_nothing_measured_says_why() {
        let r = ThresholdResult {
            expression: "ttft-p99<1s".into(),
            stage: None,
            metric: "ttft-p99".into(),
            op: Op::Lt,
            limit: Some(1000.0),
            baseline: None,
            measured: None,
            passed: false,
            unmeasured: Some("no answer carried content".into()),
        };
        assert_eq!(
            r.line(),
            "ttft-p99<1s: FAILED (nothing measured: no answer carried content)"
        );
        // A saved report without the reason still reads.
        let r = ThresholdResult {
            unmeasured: None,
            ..r
        };
        assert!(
            r.line().ends_with("FAILED (nothing measured)"),
            "{}",
            r.line()
        );
    }
}
