//! `--fail-on`: thresholds checked after the run, for CI. Each is `[stage=N:]METRIC OP VALUE`,
//! comma-separated: `p99<300ms,error-rate<1%,qps>500,stage=2:p50<=20ms`.
//!
//! Metrics of a results row (the total, or stage N counted from 1): latency percentiles `p50`
//! `p90` `p95` `p99` `p999` `max` `mean` (milliseconds; `300ms`, `1.5s`, `250us`, a bare number
//! is ms), `error-rate` and `failure-rate` (`1%` or `0.01`), `qps` (requests/s). More metrics
//! (the streaming ones) plug in through [`EXTRA_METRICS`].

use serde::{Deserialize, Serialize};

use crate::report::Report;
use crate::stats::{Percentiles, StageReport};

/// How a metric's limit is written and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A duration, kept in milliseconds.
    Ms,
    /// A fraction, written `1%` or `0.01`.
    Rate,
    /// A plain number (per second, a count...).
    Number,
}

/// A metric another module adds: its name, unit, and how to read it from a results row
/// (`None` when the row does not have it, e.g. `ttft-p99` on a run that was not streamed).
pub type ExtraMetric = (&'static str, Unit, fn(&StageReport) -> Option<f64>);

/// Metrics beyond the built-in ones. Streaming metrics (e.g. `ttft-p99`, `tokens-per-s`) are
/// added here: one line each, nothing else changes.
pub const EXTRA_METRICS: &[ExtraMetric] = &[];

/// What a threshold measures.
#[derive(Debug, Clone, Copy)]
pub enum Metric {
    /// Index into the latency percentile table.
    Latency(usize),
    ErrorRate,
    FailureRate,
    Qps,
    Extra(&'static ExtraMetric),
}

/// A latency percentile: its name and where it is in [`Percentiles`].
type Pick = (&'static str, fn(&Percentiles) -> f64);

const LATENCY: &[Pick] = &[
    ("p50", |p| p.p50),
    ("p90", |p| p.p90),
    ("p95", |p| p.p95),
    ("p99", |p| p.p99),
    ("p999", |p| p.p999),
    ("p99.9", |p| p.p999),
    ("max", |p| p.max),
    ("mean", |p| p.mean),
    ("avg", |p| p.mean),
];

impl Metric {
    fn parse(name: &str) -> Option<Metric> {
        if let Some(i) = LATENCY.iter().position(|(n, _)| *n == name) {
            return Some(Metric::Latency(i));
        }
        match name {
            "error-rate" => return Some(Metric::ErrorRate),
            "failure-rate" => return Some(Metric::FailureRate),
            "qps" | "rps" => return Some(Metric::Qps),
            _ => {}
        }
        EXTRA_METRICS
            .iter()
            .find(|m| m.0 == name)
            .map(Metric::Extra)
    }

    fn unit(&self) -> Unit {
        match self {
            Metric::Latency(..) => Unit::Ms,
            Metric::ErrorRate | Metric::FailureRate => Unit::Rate,
            Metric::Qps => Unit::Number,
            Metric::Extra(m) => m.1,
        }
    }

    fn measure(&self, row: &StageReport) -> Option<f64> {
        if row.requests == 0 {
            return None;
        }
        match self {
            Metric::Latency(i) => Some((LATENCY[*i].1)(&row.latency_ms)),
            Metric::ErrorRate => Some(row.error_rate),
            Metric::FailureRate => Some(row.failure_rate),
            Metric::Qps => Some(row.qps),
            Metric::Extra(m) => (m.2)(row),
        }
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

impl Op {
    fn holds(self, measured: f64, limit: f64) -> bool {
        match self {
            Op::Lt => measured < limit,
            Op::Le => measured <= limit,
            Op::Gt => measured > limit,
            Op::Ge => measured >= limit,
        }
    }
}

/// One parsed threshold.
#[derive(Debug, Clone)]
pub struct Threshold {
    /// The expression as written (trimmed).
    pub text: String,
    /// Stage number from 1; `None`: the total.
    pub stage: Option<usize>,
    pub metric_name: String,
    pub metric: Metric,
    pub op: Op,
    /// In the metric's unit: ms, a fraction, or a number.
    pub limit: f64,
}

/// A checked threshold, as printed and written to the JSON report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ThresholdResult {
    /// The expression as written.
    pub expression: String,
    /// Stage number from 1, when the threshold is about one stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<usize>,
    pub metric: String,
    pub op: Op,
    /// The limit: milliseconds for latencies, a fraction for rates.
    pub limit: f64,
    /// What was measured, in the unit of `limit`; `null` when nothing was (no requests).
    pub measured: Option<f64>,
    pub passed: bool,
}

impl ThresholdResult {
    /// `p99<300ms: passed (measured 12.3 ms)`.
    pub fn line(&self) -> String {
        let verdict = if self.passed { "passed" } else { "FAILED" };
        let unit = Metric::parse(&self.metric).map_or(Unit::Number, |m| m.unit());
        let measured = match self.measured {
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

/// Parse a `--fail-on` list; `stages` is how many stages the schedule has. Errors are one line.
pub fn parse(spec: &str, stages: usize) -> Result<Vec<Threshold>, String> {
    let mut out = Vec::new();
    for part in spec.split(',') {
        let text = part.trim();
        if text.is_empty() {
            return Err(format!(
                "--fail-on '{spec}': an empty threshold: write e.g. 'p99<300ms,error-rate<1%'"
            ));
        }
        out.push(parse_one(text, stages).map_err(|why| format!("--fail-on '{text}': {why}"))?);
    }
    Ok(out)
}

fn parse_one(text: &str, stages: usize) -> Result<Threshold, String> {
    let (stage, expr) = match text.strip_prefix("stage=") {
        Some(rest) => {
            let (n, expr) = rest
                .split_once(':')
                .ok_or("a stage threshold is stage=N:METRIC<VALUE, e.g. stage=2:p99<300ms")?;
            let n: usize = n
                .trim()
                .parse()
                .map_err(|_| format!("stage '{n}' is not a stage number (from 1)"))?;
            if n == 0 || n > stages {
                return Err(format!(
                    "stage {n} does not exist: the run has {stages} stage{} (numbered from 1)",
                    if stages == 1 { "" } else { "s" }
                ));
            }
            (Some(n), expr.trim())
        }
        None => (None, text),
    };
    let at = expr
        .find(['<', '>'])
        .ok_or("no comparison: write METRIC<VALUE or METRIC>VALUE, e.g. p99<300ms")?;
    let name = expr[..at].trim().to_ascii_lowercase();
    let rest = &expr[at..];
    let (op, value) = if let Some(v) = rest.strip_prefix("<=") {
        (Op::Le, v)
    } else if let Some(v) = rest.strip_prefix(">=") {
        (Op::Ge, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Op::Lt, v)
    } else {
        (Op::Gt, &rest[1..])
    };
    let metric = Metric::parse(&name).ok_or_else(|| {
        let mut known: Vec<&str> = LATENCY.iter().map(|(n, _)| *n).collect();
        known.extend(["error-rate", "failure-rate", "qps"]);
        known.extend(EXTRA_METRICS.iter().map(|m| m.0));
        format!("unknown metric '{name}': use one of {}", known.join(" "))
    })?;
    let value = value.trim();
    let limit = parse_limit(metric.unit(), value)
        .ok_or_else(|| format!("'{value}' is not a {}", unit_words(metric.unit())))?;
    Ok(Threshold {
        text: text.to_string(),
        stage,
        metric_name: name,
        metric,
        op,
        limit,
    })
}

fn unit_words(unit: Unit) -> &'static str {
    match unit {
        Unit::Ms => "duration: write e.g. 300ms, 1.5s or 250us",
        Unit::Rate => "rate: write e.g. 1% or 0.01",
        Unit::Number => "number",
    }
}

fn parse_limit(unit: Unit, value: &str) -> Option<f64> {
    let number = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    match unit {
        Unit::Ms => {
            let (n, scale) = if let Some(n) = value.strip_suffix("ms") {
                (n, 1.0)
            } else if let Some(n) = value.strip_suffix("us") {
                (n, 1e-3)
            } else if let Some(n) = value.strip_suffix('s') {
                (n, 1e3)
            } else if let Some(n) = value.strip_suffix('m') {
                (n, 60e3)
            } else {
                (value, 1.0)
            };
            number(n).map(|v| v * scale)
        }
        Unit::Rate => match value.strip_suffix('%') {
            Some(p) => number(p).map(|v| v / 100.0),
            None => number(value).filter(|v| *v <= 1.0),
        },
        Unit::Number => number(value),
    }
}

/// Check every threshold against the report's rows.
pub fn evaluate(thresholds: &[Threshold], report: &Report) -> Vec<ThresholdResult> {
    thresholds
        .iter()
        .map(|t| {
            let row = match t.stage {
                None => Some(&report.total),
                Some(n) => report.stages.get(n - 1),
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
    fn thresholds_parse_with_units_and_stages() {
        let t = parse(
            "p99<300ms, p50<=1.5s,error-rate<1%,failure-rate<0.001,qps>500,stage=2:max<250us",
            3,
        )
        .unwrap();
        assert_eq!(t.len(), 6);
        assert_eq!((t[0].op, t[0].limit), (Op::Lt, 300.0));
        assert_eq!((t[1].op, t[1].limit), (Op::Le, 1500.0));
        assert!((t[2].limit - 0.01).abs() < 1e-12);
        assert_eq!(t[3].limit, 0.001);
        assert_eq!((t[4].op, t[4].limit), (Op::Gt, 500.0));
        assert!(matches!(t[4].metric, Metric::Qps));
        assert_eq!((t[5].stage, t[5].limit), (Some(2), 0.25));
    }

    #[test]
    fn malformed_thresholds_are_one_line_errors() {
        let cases = [
            ("p99", "no comparison"),
            ("p42<3ms", "unknown metric 'p42'"),
            ("p99<fast", "'fast' is not a duration"),
            ("error-rate<5", "'5' is not a rate"),
            ("p99<300ms,,qps>1", "an empty threshold"),
            (
                "stage=9:p99<1ms",
                "stage 9 does not exist: the run has 2 stages",
            ),
            ("stage=x:p99<1ms", "stage 'x' is not a stage number"),
            ("stage=1p99<1ms", "stage=N:METRIC"),
            ("qps>-1", "not a number"),
        ];
        for (spec, want) in cases {
            let err = parse(spec, 2).unwrap_err();
            assert!(err.contains(want), "{spec}: {err}");
            assert!(err.starts_with("--fail-on '"), "{err}");
        }
    }

    #[test]
    fn ops_compare_as_written() {
        assert!(Op::Lt.holds(1.0, 2.0) && !Op::Lt.holds(2.0, 2.0));
        assert!(Op::Le.holds(2.0, 2.0) && Op::Ge.holds(2.0, 2.0));
        assert!(Op::Gt.holds(3.0, 2.0) && !Op::Gt.holds(2.0, 2.0));
    }
}
