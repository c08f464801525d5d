//! `--fail-on`: thresholds checked after the run, for CI. Each is `[stage=N:]METRIC OP VALUE`,
//! comma-separated: `p99<300ms,error-rate<1%,qps>500,stage=2:p50<=20ms`.
//!
//! Metrics of a results row (the total, or stage N counted from 1): latency percentiles `p50`
//! `p90` `p95` `p99` `p999` `max` `mean` (milliseconds; `300ms`, `1.5s`, `250us`, a bare number
//! is ms), `error-rate`, `failure-rate` and `check-failure-rate` (`1%` or `0.01`), `qps`
//! (requests/s); the same
//! percentiles of TTFB (`ttfb-p99`, every run) and of the streaming figures TTFT, ITL and TPOT
//! (`ttft-p50`, `itl-p99`, `tpot-mean`, ...), and the token rates of [`EXTRA_METRICS`]
//! (`tokens-per-s`, `output-tokens-per-s`, ...). A streaming metric on a run that streamed
//! nothing fails, saying so (whether a run streams is known only once responses arrive).

use serde::{Deserialize, Serialize};

use crate::stats::hdr::Percentiles;
use crate::stats::rows::StageReport;

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

/// Metrics beyond the built-in ones and the percentile families: one line each, nothing else
/// changes. The token rates of streamed answers (tokens per second, higher is better).
pub const EXTRA_METRICS: &[ExtraMetric] = &[
    // Output tokens of every stream that ended in the row / the row's length (throughput).
    ("output-tokens-per-s", Unit::Number, |r| {
        r.stream.as_ref().map(|s| s.output_tokens_per_s)
    }),
    // Per complete answer: output tokens / (last token - send start); mean, median and slowest.
    ("tokens-per-s", Unit::Number, |r| {
        per_answer_rate(r, |p| p.mean)
    }),
    ("tokens-per-s-mean", Unit::Number, |r| {
        per_answer_rate(r, |p| p.mean)
    }),
    ("tokens-per-s-p50", Unit::Number, |r| {
        per_answer_rate(r, |p| p.p50)
    }),
    ("tokens-per-s-min", Unit::Number, |r| {
        per_answer_rate(r, |p| p.min)
    }),
    // --goodput: requests per second that met every objective, and their share.
    ("goodput", Unit::Number, |r| {
        r.goodput.map(|g| g.goodput_per_s)
    }),
    ("goodput-ratio", Unit::Rate, |r| {
        r.goodput.and_then(|g| g.goodput_ratio)
    }),
];

/// A statistic of per-answer tokens/s; `None` without a complete streamed answer.
fn per_answer_rate(r: &StageReport, pick: fn(&Percentiles) -> f64) -> Option<f64> {
    r.stream.as_ref()?.tokens_per_s.measured().map(pick)
}

/// A family of latency-like figures with the same percentile suffixes as `p99`:
/// `ttfb-p99`, `ttft-p50`, `itl-max`, `tpot-mean`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Send start -> response head, every run.
    Ttfb,
    /// Streaming: send start -> first content event.
    Ttft,
    /// Streaming: gaps between content events.
    Itl,
    /// Streaming: time per output token.
    Tpot,
}

const FAMILIES: &[(&str, Family)] = &[
    ("ttfb", Family::Ttfb),
    ("ttft", Family::Ttft),
    ("itl", Family::Itl),
    ("tpot", Family::Tpot),
];

impl Family {
    /// The family's percentiles in a row; `None` when a streaming family has nothing measured.
    fn of(self, r: &StageReport) -> Option<&Percentiles> {
        let p = match self {
            Family::Ttfb => &r.ttfb_ms,
            Family::Ttft => &r.stream.as_ref()?.ttft_ms,
            Family::Itl => &r.stream.as_ref()?.itl_ms,
            Family::Tpot => &r.stream.as_ref()?.tpot_ms,
        };
        p.measured()
    }
}

/// What a threshold measures.
#[derive(Debug, Clone, Copy)]
pub enum Metric {
    /// Index into the latency percentile table.
    Latency(usize),
    ErrorRate,
    FailureRate,
    /// Check failures (`--expect-*`) / requests.
    CheckRate,
    Qps,
    /// A percentile (index into the latency table) of TTFB or a streaming figure.
    Family(Family, usize),
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
    /// The metric named `name` (`p99`, `error-rate`, `ttft-p50`, ...); `None` when there is none.
    pub fn parse(name: &str) -> Option<Metric> {
        if let Some(i) = LATENCY.iter().position(|(n, _)| *n == name) {
            return Some(Metric::Latency(i));
        }
        match name {
            "error-rate" => return Some(Metric::ErrorRate),
            "failure-rate" => return Some(Metric::FailureRate),
            "check-failure-rate" => return Some(Metric::CheckRate),
            "qps" | "rps" => return Some(Metric::Qps),
            _ => {}
        }
        if let Some((prefix, stat)) = name.split_once('-')
            && let Some(&(_, family)) = FAMILIES.iter().find(|(p, _)| *p == prefix)
            && let Some(i) = LATENCY.iter().position(|(n, _)| *n == stat)
        {
            return Some(Metric::Family(family, i));
        }
        EXTRA_METRICS
            .iter()
            .find(|m| m.0 == name)
            .map(Metric::Extra)
    }

    /// How the metric's limit is written and shown.
    pub fn unit(&self) -> Unit {
        match self {
            Metric::Latency(..) | Metric::Family(..) => Unit::Ms,
            Metric::ErrorRate | Metric::FailureRate | Metric::CheckRate => Unit::Rate,
            Metric::Qps => Unit::Number,
            Metric::Extra(m) => m.1,
        }
    }

    /// The metric's value in `row`, in its [`Unit`]; `None` when the row does not have it.
    pub fn measure(&self, row: &StageReport) -> Option<f64> {
        if row.requests == 0 {
            // A window without requests has a rate: 0 per second (a 0-user stage). Nothing
            // else is measured in it.
            return match self {
                Metric::Qps => (row.duration_s > 0.0).then_some(row.qps),
                _ => None,
            };
        }
        match self {
            Metric::Latency(i) => row.latency_ms.measured().map(LATENCY[*i].1),
            Metric::ErrorRate => row.error_rate,
            Metric::FailureRate => row.failure_rate,
            Metric::CheckRate => Some(row.check_failures as f64 / row.requests as f64),
            Metric::Qps => Some(row.qps),
            Metric::Family(f, i) => f.of(row).map(LATENCY[*i].1),
            Metric::Extra(m) => (m.2)(row),
        }
    }

    /// Is more of it better (a rate of requests or tokens), rather than worse (a latency, an
    /// error rate)?
    pub fn higher_is_better(&self) -> bool {
        matches!(self, Metric::Qps | Metric::Extra(_))
    }

    /// Measured only on streamed responses (TTFT, ITL, TPOT, tokens).
    pub fn needs_stream(&self) -> bool {
        match self {
            Metric::Family(f, _) => *f != Family::Ttfb,
            Metric::Extra(m) => !m.0.starts_with("goodput"),
            _ => false,
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
    /// Does `measured OP limit` hold?
    pub fn holds(self, measured: f64, limit: f64) -> bool {
        match self {
            Op::Lt => measured < limit,
            Op::Le => measured <= limit,
            Op::Gt => measured > limit,
            Op::Ge => measured >= limit,
        }
    }
}

/// A limit written as a change from the baseline run's value of the same metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// `+10%`, `-5%`: the baseline's value × (1 + percent / 100); at least -100.
    Percent(f64),
    /// `+0.5pp`: the baseline's rate + points / 100 (rates only).
    Points(f64),
}

impl Change {
    /// The limit this change makes of `baseline` (in the metric's unit). A percent of 0 is 0.
    /// Rounded to 12 significant digits, so that 5.212 × 1.1 reads 5.7332, not
    /// 5.733200000000001, in the JSON and the verdict.
    pub fn limit(self, baseline: f64) -> f64 {
        let limit = match self {
            Change::Percent(p) => baseline * (1.0 + p / 100.0),
            Change::Points(pp) => baseline + pp / 100.0,
        };
        format!("{limit:.11e}").parse().unwrap_or(limit)
    }

    /// As written: `+10%`, `-5%`, `+0.5pp`.
    pub fn text(self) -> String {
        match self {
            Change::Percent(p) => format!("{p:+}%"),
            Change::Points(pp) => format!("{pp:+}pp"),
        }
    }
}

/// What a threshold's value is compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// In the metric's unit: ms, a fraction, or a number.
    Absolute(f64),
    /// A change from the baseline run's value (`--baseline`).
    Change(Change),
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
    pub limit: Limit,
}

impl Threshold {
    /// The limit when it does not depend on a baseline.
    pub fn absolute(&self) -> Option<f64> {
        match self.limit {
            Limit::Absolute(v) => Some(v),
            Limit::Change(_) => None,
        }
    }
}

/// The run that changes (`+10%`) are measured against: its results rows and how it is named.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// Where it came from, as shown: the `--baseline` file as given, or a compared run's name.
    pub source: String,
    /// Its whole run.
    pub total: StageReport,
    /// Its stages (stage N is `stages[N - 1]`).
    pub stages: Vec<StageReport>,
    /// Its `--goodput` objectives as written (`None` without): a goodput change compares only
    /// runs of the same objectives.
    pub goodput: Option<String>,
}

impl Baseline {
    /// The baseline's value of the metric `t` reads, in the row `t` reads (the total or its
    /// stage); `None` when it has no such stage or nothing was measured there.
    pub fn value(&self, t: &Threshold) -> Option<f64> {
        let row = match t.stage {
            None => Some(&self.total),
            Some(n) => self.stages.get(n - 1),
        };
        row.and_then(|r| t.metric.measure(r))
    }

    /// Check that every change in `thresholds` can be judged: the baseline has the row and a
    /// measured value there. `what` names the baseline in the message (`--baseline
    /// last-good.json`).
    ///
    /// # Errors
    ///
    /// The first change whose baseline value is missing, in one line naming the threshold and
    /// the baseline.
    pub fn check(&self, thresholds: &[Threshold], what: &str) -> Result<(), String> {
        for t in thresholds.iter().filter(|t| t.absolute().is_none()) {
            if let Some(n) = t.stage
                && n > self.stages.len()
            {
                return Err(format!(
                    "--fail-on '{}': {what} has {} stage{}, no stage {n} to compare with",
                    t.text,
                    self.stages.len(),
                    if self.stages.len() == 1 { "" } else { "s" }
                ));
            }
            if self.value(t).is_none() {
                return Err(format!(
                    "--fail-on '{}': {what} has no {} to compare with (nothing was measured \
                     there): give a baseline that measured it, or an absolute limit",
                    t.text, t.metric_name
                ));
            }
        }
        Ok(())
    }
}

/// Parse a `--fail-on` list; `stages` is how many stages the schedule has. Errors are one line.
///
/// # Errors
///
/// When a threshold is empty, has no `<` or `>`, names an unknown metric, has a `stage=N:` that is
/// malformed or outside 1..=`stages`, or a limit not in the metric's unit (`300ms`, `1%`, a number
/// of 0 or more); the message quotes the threshold.
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
            if n == 0 {
                return Err("stages are numbered from 1: stage=1 is the first".into());
            }
            if n > stages {
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
        known.extend(["error-rate", "failure-rate", "check-failure-rate", "qps"]);
        known.extend(EXTRA_METRICS.iter().map(|m| m.0));
        format!(
            "unknown metric '{name}': use one of {}, or ttfb-, ttft-, itl- or tpot- before \
             p50 p90 p95 p99 p999 max mean (e.g. ttft-p99)",
            known.join(" ")
        )
    })?;
    let value = value.trim();
    let limit = if value.starts_with(['+', '-']) {
        Limit::Change(parse_change(metric.unit(), &name, value)?)
    } else {
        Limit::Absolute(
            parse_limit(metric.unit(), value)
                .ok_or_else(|| format!("'{value}' is not a {}", unit_words(metric.unit())))?,
        )
    };
    Ok(Threshold {
        text: text.to_string(),
        stage,
        metric_name: name,
        metric,
        op,
        limit,
    })
}

/// A change from the baseline: a signed number followed by `%`, or by `pp` for a rate.
fn parse_change(unit: Unit, name: &str, value: &str) -> Result<Change, String> {
    let number = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
    if let Some(pp) = value.strip_suffix("pp") {
        if unit != Unit::Rate {
            return Err(format!(
                "'{value}': pp (percentage points) is a change of a rate (error-rate, \
                 failure-rate, ...); a change of {name} is in %, e.g. {name}<+10%"
            ));
        }
        return number(pp)
            .filter(|v| v.abs() <= 100.0)
            .map(Change::Points)
            .ok_or_else(|| {
                format!("'{value}' is not a change in percentage points: write e.g. +0.5pp")
            });
    }
    if let Some(p) = value.strip_suffix('%') {
        return match number(p) {
            Some(v) if v >= -100.0 => Ok(Change::Percent(v)),
            Some(_) => Err(format!(
                "'{value}': a value cannot fall by more than 100%: write e.g. -5%"
            )),
            None => Err(format!(
                "'{value}' is not a change in %: write e.g. +10% or -5%"
            )),
        };
    }
    let example = if unit == Unit::Rate {
        format!("{name}<+0.5pp or {name}<+10%")
    } else {
        format!("{name}<+10% or {name}>-5%")
    };
    Err(format!(
        "'{value}': a signed limit is a change from the --baseline run, in % (or pp for a \
         rate): write e.g. {example}, or an absolute limit without a sign"
    ))
}

fn unit_words(unit: Unit) -> &'static str {
    match unit {
        Unit::Ms => "duration: write e.g. 300ms, 1.5s or 250us",
        Unit::Rate => "rate: write e.g. 1% or 0.01",
        Unit::Number => "number",
    }
}

/// A limit in `unit` (ms for durations, a fraction for rates); `None` when it is not one.
pub(crate) fn parse_limit(unit: Unit, value: &str) -> Option<f64> {
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
            // `1e308s` is a finite number of seconds but not of milliseconds.
            number(n).map(|v| v * scale).filter(|v| v.is_finite())
        }
        Unit::Rate => match value.strip_suffix('%') {
            Some(p) => number(p).map(|v| v / 100.0).filter(|v| *v <= 1.0),
            None => number(value).filter(|v| *v <= 1.0),
        },
        Unit::Number => number(value),
    }
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
        assert_eq!((t[0].op, t[0].absolute()), (Op::Lt, Some(300.0)));
        assert_eq!((t[1].op, t[1].absolute()), (Op::Le, Some(1500.0)));
        assert!((t[2].absolute().unwrap() - 0.01).abs() < 1e-12);
        assert_eq!(t[3].absolute(), Some(0.001));
        assert_eq!((t[4].op, t[4].absolute()), (Op::Gt, Some(500.0)));
        assert!(matches!(t[4].metric, Metric::Qps));
        assert_eq!((t[5].stage, t[5].absolute()), (Some(2), Some(0.25)));
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
            (
                "qps>-1",
                "a signed limit is a change from the --baseline run",
            ),
            ("p99<+300ms", "write e.g. p99<+10% or p99>-5%"),
            ("p99<+1pp", "a change of p99 is in %"),
            ("error-rate<+1", "error-rate<+0.5pp"),
            ("qps>-150%", "cannot fall by more than 100%"),
            ("qps>-x%", "not a change in %"),
            ("error-rate<+101pp", "not a change in percentage points"),
            ("p99<+inf%", "not a change in %"),
            // Found by reading the parser while writing the `thresholds` fuzz target: a limit
            // that overflows once scaled to milliseconds was accepted as infinity.
            ("p99<1e308s", "'1e308s' is not a duration"),
            ("max<1e306m", "'1e306m' is not a duration"),
        ];
        for (spec, want) in cases {
            let err = parse(spec, 2).unwrap_err();
            assert!(err.contains(want), "{spec}: {err}");
            assert!(err.starts_with("--fail-on '"), "{err}");
        }
    }

    #[test]
    fn streaming_and_ttfb_metrics_parse() {
        let t = parse(
            "ttft-p99<2s,itl-p50<=50ms,tpot-mean<20,ttfb-p99.9<1s,TTFT-MAX<3s,\
             tokens-per-s>10,tokens-per-s-min>=1,output-tokens-per-s>100,stage=1:itl-max<1s",
            1,
        )
        .unwrap();
        assert!(matches!(t[0].metric, Metric::Family(Family::Ttft, 3)));
        assert_eq!(t[0].absolute(), Some(2000.0));
        assert!(matches!(t[1].metric, Metric::Family(Family::Itl, 0)));
        assert!(matches!(t[3].metric, Metric::Family(Family::Ttfb, 5)));
        assert_eq!(t[4].metric_name, "ttft-max");
        assert!(matches!(t[5].metric, Metric::Extra(_)));
        assert_eq!((t[7].op, t[7].absolute()), (Op::Gt, Some(100.0)));
        assert_eq!(t[8].stage, Some(1));
        for bad in [
            "ttft-p42<1s",
            "itl<1s",
            "ttft-<1s",
            "tokens-per-s-p99>1",
            "xyz-p99<1",
        ] {
            let err = parse(bad, 1).unwrap_err();
            assert!(err.contains("unknown metric"), "{bad}: {err}");
            assert!(err.contains("ttft-p99"), "{err}");
        }
    }

    #[test]
    fn a_computed_limit_has_no_float_noise() {
        assert_eq!(Change::Percent(10.0).limit(5.212), 5.7332);
        assert_eq!(Change::Points(0.5).limit(0.001), 0.006);
        assert_eq!(Change::Percent(-5.0).limit(0.0), 0.0);
    }

    #[test]
    fn changes_from_a_baseline_parse_and_make_limits() {
        let t = parse(
            "p99<+10%,qps>-5%,error-rate<+0.5pp,stage=1:p50<=-2.5%,failure-rate<+10%,\
             error-rate<1%",
            1,
        )
        .unwrap();
        assert_eq!(t[0].limit, Limit::Change(Change::Percent(10.0)));
        assert_eq!(t[1].limit, Limit::Change(Change::Percent(-5.0)));
        assert_eq!(t[2].limit, Limit::Change(Change::Points(0.5)));
        assert_eq!(
            (t[3].stage, t[3].op, t[3].limit),
            (Some(1), Op::Le, Limit::Change(Change::Percent(-2.5)))
        );
        // A percent of a rate is relative too; without a sign it is the absolute rate.
        assert_eq!(t[4].limit, Limit::Change(Change::Percent(10.0)));
        assert_eq!(t[5].absolute(), Some(0.01));
        assert!(t[..5].iter().all(|t| t.absolute().is_none()));
        // The limits: x 1.10, x 0.95, + 0.005; a percent of 0 is 0.
        assert!((Change::Percent(10.0).limit(12.3) - 13.53).abs() < 1e-9);
        assert!((Change::Percent(-5.0).limit(1000.0) - 950.0).abs() < 1e-9);
        assert!((Change::Points(0.5).limit(0.01) - 0.015).abs() < 1e-12);
        assert_eq!(Change::Points(0.5).limit(0.0), 0.005);
        assert_eq!(Change::Percent(10.0).limit(0.0), 0.0);
        assert_eq!(Change::Percent(-100.0).limit(42.0), 0.0);
        assert_eq!(
            [
                Change::Percent(10.0),
                Change::Percent(-5.0),
                Change::Points(0.5)
            ]
            .map(Change::text),
            ["+10%", "-5%", "+0.5pp"].map(String::from)
        );
    }

    #[test]
    fn a_baseline_must_have_what_a_change_compares_with() {
        // An empty row: a window of 1 s without requests.
        let row = || {
            crate::stats::bucket::Bucket::new(false).report(
                "total",
                1,
                std::time::Duration::from_secs(1),
                None,
            )
        };
        let empty = Baseline {
            source: "base.json".into(),
            total: row(),
            stages: vec![row()],
            goodput: None,
        };
        let t = parse("p99<+10%", 1).unwrap();
        let err = empty.check(&t, "--baseline base.json").unwrap_err();
        assert!(err.contains("--baseline base.json has no p99"), "{err}");
        // qps is measured over a window without requests (0/s); absolute limits need nothing.
        assert!(
            empty
                .check(&parse("qps>-5%,p99<1s", 1).unwrap(), "b")
                .is_ok()
        );
        let t = parse("stage=2:qps>-5%", 2).unwrap();
        let err = empty.check(&t, "--baseline base.json").unwrap_err();
        assert!(err.contains("has 1 stage, no stage 2"), "{err}");
    }

    #[test]
    fn ops_compare_as_written() {
        assert!(Op::Lt.holds(1.0, 2.0) && !Op::Lt.holds(2.0, 2.0));
        assert!(Op::Le.holds(2.0, 2.0) && Op::Ge.holds(2.0, 2.0));
        assert!(Op::Gt.holds(3.0, 2.0) && !Op::Gt.holds(2.0, 2.0));
    }
}
