//! `qpsbench compare`: saved runs side by side, each with its change from the first run (the
//! baseline). Every figure is read from a run's total row; latencies in milliseconds, rates as
//! fractions, changes of qps and latencies in % of the baseline's value and changes of rates in
//! percentage points. A figure that was not measured is `None`, and so is every change of a run
//! (or from a baseline) without requests, and a % change of a baseline value of 0.

use serde::Serialize;

use crate::report::Report;
use crate::report::thresholds::{ThresholdResult, evaluate};
use crate::stats::hdr::Percentiles;
use crate::stats::thresholds::Threshold;

/// The comparison of two or more runs.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The first run's name: what every change is from.
    pub baseline: String,
    /// Every run, the baseline first, in the order given.
    pub runs: Vec<ComparedRun>,
}

/// One run's figures and their changes from the baseline.
#[derive(Debug, Clone, Serialize)]
pub struct ComparedRun {
    /// The report's `--name`, else its file name without the extension; the path as given
    /// when another run has that name too (with ` (2)` for the same path given again).
    pub name: String,
    /// The report file as given.
    pub file: String,
    /// True for the first run, the baseline (its changes are all `None`).
    pub baseline: bool,
    /// How the run ended, as the report's CSV `status` column says it: `complete`,
    /// `interrupted` (Ctrl-C, SIGTERM) or `aborted` (`--abort-on`).
    pub status: String,
    /// Completed requests, any outcome.
    pub requests: u64,
    /// Achieved requests per second (the report's `qps`).
    pub qps: f64,
    /// Latency percentiles (send start -> last body byte), milliseconds; `None` without
    /// requests.
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// HTTP errors / requests, a fraction; `None` without requests.
    pub error_rate: Option<f64>,
    /// Client-side failures / requests, a fraction; `None` without requests.
    pub failure_rate: Option<f64>,
    /// (qps - baseline qps) / baseline qps x 100.
    pub qps_change_pct: Option<f64>,
    /// The same for each latency percentile.
    pub p50_change_pct: Option<f64>,
    pub p90_change_pct: Option<f64>,
    pub p99_change_pct: Option<f64>,
    /// (error_rate - baseline error_rate) x 100: percentage points.
    pub error_rate_change_pp: Option<f64>,
    /// (failure_rate - baseline failure_rate) x 100: percentage points.
    pub failure_rate_change_pp: Option<f64>,
    /// `--fail-on` checked against this run, the baseline's values making the changes'
    /// limits; empty for the baseline and without `--fail-on`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<ThresholdResult>,
}

impl ComparedRun {
    /// What a verdict's title says after the run's name when it did not end as planned:
    /// `, an interrupted run (...)`; empty for a complete run.
    pub fn status_words(&self) -> &'static str {
        match self.status.as_str() {
            "interrupted" => ", an interrupted run (Ctrl-C): it measured less than planned",
            "aborted" => ", a run stopped by --abort-on: it measured less than planned",
            _ => "",
        }
    }
}

impl Comparison {
    /// Compare `runs` (each its file as given and its report; the first is the baseline),
    /// checking `thresholds` on every run after the first.
    pub fn of(runs: &[(String, Report)], thresholds: &[Threshold]) -> Self {
        let names = run_names(runs);
        let Some((_, first)) = runs.first() else {
            return Comparison {
                baseline: String::new(),
                runs: Vec::new(),
            };
        };
        let baseline = first.as_baseline(&names[0]);
        let base = Figures::of(first);
        let compared = runs
            .iter()
            .zip(&names)
            .enumerate()
            .map(|(i, ((file, r), name))| {
                let f = Figures::of(r);
                // A run without requests, or a baseline without, has nothing to compare.
                let both = r.total.requests > 0 && first.total.requests > 0 && i > 0;
                let pct = |a: Option<f64>, b: Option<f64>| percent_change(a?, b?).filter(|_| both);
                let pp = |a: Option<f64>, b: Option<f64>| Some((b? - a?) * 100.0).filter(|_| both);
                ComparedRun {
                    name: name.clone(),
                    file: file.clone(),
                    baseline: i == 0,
                    status: r.status().to_string(),
                    requests: r.total.requests,
                    qps: r.total.qps,
                    p50_ms: f.p50,
                    p90_ms: f.p90,
                    p99_ms: f.p99,
                    error_rate: r.total.error_rate,
                    failure_rate: r.total.failure_rate,
                    qps_change_pct: pct(Some(base.qps), Some(f.qps)),
                    p50_change_pct: pct(base.p50, f.p50),
                    p90_change_pct: pct(base.p90, f.p90),
                    p99_change_pct: pct(base.p99, f.p99),
                    error_rate_change_pp: pp(first.total.error_rate, r.total.error_rate),
                    failure_rate_change_pp: pp(first.total.failure_rate, r.total.failure_rate),
                    thresholds: if i == 0 {
                        Vec::new()
                    } else {
                        evaluate(thresholds, &r.total, &r.stages, Some(&baseline))
                    },
                }
            })
            .collect();
        Comparison {
            baseline: names[0].clone(),
            runs: compared,
        }
    }

    /// True when a threshold failed on any run.
    pub fn failed(&self) -> bool {
        self.runs
            .iter()
            .any(|r| r.thresholds.iter().any(|t| !t.passed))
    }
}

/// Each run's name, in order: its [`run_name`], unless a run of another file (as given) has
/// that name too; then every run of that name is named by its file as given. A name that is
/// still taken (one file given twice) gets ` (2)`, ` (3)`, ... on its second and later rows:
/// the first number that makes a name no other row has (a run may be named `x (2)` itself).
/// Every row has its own name.
pub fn run_names(runs: &[(String, Report)]) -> Vec<String> {
    let stems: Vec<String> = runs.iter().map(|(f, r)| run_name(f, r)).collect();
    let bases: Vec<&str> = runs
        .iter()
        .zip(&stems)
        .map(|((file, _), stem)| {
            let other_file = |((f, _), s): (&(String, Report), &String)| s == stem && f != file;
            if runs.iter().zip(&stems).any(other_file) {
                file.as_str()
            } else {
                stem.as_str()
            }
        })
        .collect();
    let mut names: Vec<String> = Vec::with_capacity(bases.len());
    for (i, base) in bases.iter().enumerate() {
        // Taken: by an earlier row, or kept for a later row whose own name it is.
        let taken = |name: &str| names.iter().any(|n| n == name) || bases[i + 1..].contains(&name);
        let name = if names.iter().any(|n| n == base) {
            (2..)
                .map(|k| format!("{base} ({k})"))
                .find(|n| !taken(n))
                .unwrap_or_default()
        } else {
            (*base).to_string()
        };
        names.push(name);
    }
    names
}

/// How a run is named: its `--name`, else its file name without the extension.
pub fn run_name(file: &str, r: &Report) -> String {
    r.name.clone().unwrap_or_else(|| {
        std::path::Path::new(file)
            .file_stem()
            .map_or_else(|| file.to_string(), |s| s.to_string_lossy().into_owned())
    })
}

/// (b - a) / a x 100; `None` when a is 0 (no change of nothing can be said in %).
pub fn percent_change(a: f64, b: f64) -> Option<f64> {
    (a != 0.0).then(|| (b - a) / a * 100.0)
}

/// The compared figures of a run's total row.
struct Figures {
    qps: f64,
    p50: Option<f64>,
    p90: Option<f64>,
    p99: Option<f64>,
}

impl Figures {
    fn of(r: &Report) -> Self {
        let p = r.total.latency_ms.measured();
        let pick = |f: fn(&Percentiles) -> f64| p.map(f);
        Figures {
            qps: r.total.qps,
            p50: pick(|p| p.p50),
            p90: pick(|p| p.p90),
            p99: pick(|p| p.p99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_percent_of_the_baseline_and_none_from_zero() {
        assert_eq!(percent_change(200.0, 150.0), Some(-25.0));
        assert_eq!(
            percent_change(10.0, 11.0).map(|v| (v * 1e9).round()),
            Some(10e9)
        );
        assert_eq!(percent_change(0.0, 5.0), None);
    }
}
