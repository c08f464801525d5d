//! `--fail-on` verdicts: each threshold checked against the report's rows after the run, as
//! printed and written to the JSON report (exit code 1 when one fails).

use serde::{Deserialize, Serialize};

use crate::stats::rows::StageReport;
use crate::stats::thresholds::{Metric, Op, Threshold, Unit};

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
    /// The limit: milliseconds for latencies, a fraction for rates.
    pub limit: f64,
    /// What was measured, in the unit of `limit`; `null` when nothing was (no requests).
    pub measured: Option<f64>,
    /// True when the measured value satisfies the threshold; false when it does not or
    /// nothing was measured.
    pub passed: bool,
}

impl ThresholdResult {
    /// `p99<300ms: passed (measured 12.3 ms)`.
    pub fn line(&self) -> String {
        let verdict = if self.passed { "passed" } else { "FAILED" };
        let metric = Metric::parse(&self.metric);
        let unit = metric.map_or(Unit::Number, |m| m.unit());
        let measured = match self.measured {
            None if metric.is_some_and(|m| m.needs_stream()) => format!(
                "nothing measured: {} is a streaming metric and no streamed answer gave it; \
                 it needs text/event-stream responses (or --stream)",
                self.metric
            ),
            None => "nothing measured".to_string(),
            Some(v) => format!("measured {}", show(unit, v)),
        };
        format!("{}: {verdict} ({measured})", self.expression)
    }
}

fn show(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Ms => format!("{v:.3} ms"),
        Unit::Rate => format!("{:.3}%", v * 100.0),
        Unit::Number => format!("{v:.1}"),
    }
}

/// Check every threshold against the rows of a report: `total` and `stages` (stage N of a
/// threshold is `stages[N - 1]`).
pub fn evaluate(
    thresholds: &[Threshold],
    total: &StageReport,
    stages: &[StageReport],
) -> Vec<ThresholdResult> {
    thresholds
        .iter()
        .map(|t| {
            let row = match t.stage {
                None => Some(total),
                Some(n) => stages.get(n - 1),
            };
            let measured = row.and_then(|r| t.metric.measure(r));
            ThresholdResult {
                expression: t.text.clone(),
                stage: t.stage,
                metric: t.metric_name.clone(),
                op: t.op,
                limit: t.limit,
                measured,
                passed: measured.is_some_and(|m| t.op.holds(m, t.limit)),
            }
        })
        .collect()
}

/// The `--fail-on` section of the text summary (empty without thresholds).
pub fn summary(results: &[ThresholdResult]) -> String {
    if results.is_empty() {
        return String::new();
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    let mut out = format!(
        "\nThresholds (--fail-on): {} passed, {failed} failed\n",
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
    fn a_streaming_threshold_with_nothing_streamed_says_why() {
        let r = ThresholdResult {
            expression: "ttft-p99<1s".into(),
            stage: None,
            metric: "ttft-p99".into(),
            op: Op::Lt,
            limit: 1000.0,
            measured: None,
            passed: false,
        };
        assert!(
            r.line()
                .contains("FAILED (nothing measured: ttft-p99 is a streaming metric"),
            "{}",
            r.line()
        );
        let r = ThresholdResult {
            metric: "p99".into(),
            ..r
        };
        assert!(
            r.line().ends_with("FAILED (nothing measured)"),
            "{}",
            r.line()
        );
    }
}
