//! The flags of the commands on saved JSON reports: `merge`, `report` and `compare`.

use std::path::PathBuf;

use clap::Args;

use super::OutputArgs;

/// `qpsbench merge`.
#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// JSON reports written by `qpsbench run --json` (same qpsbench version, same schedule).
    #[arg(required = true, value_name = "REPORT.json")]
    pub inputs: Vec<PathBuf>,

    #[command(flatten)]
    pub outputs: OutputArgs,
}

/// `qpsbench report`.
#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// A JSON report written by `qpsbench run --json` or `qpsbench merge --json`.
    #[arg(value_name = "REPORT.json")]
    pub input: PathBuf,

    /// Check the saved run against these thresholds (the `run --fail-on` syntax), in place of
    /// the ones it was run with; exit code 1 when one fails. With --baseline, a signed limit is
    /// a change from the baseline's value: 'p99<+10%,qps>-5%,error-rate<+0.5pp'.
    #[arg(long, value_name = "THRESHOLDS")]
    pub fail_on: Option<String>,

    /// The saved JSON report --fail-on's changes are measured against ('p99<+10%': p99 below
    /// the baseline's x 1.10; '+0.5pp': a rate below the baseline's + 0.005). A % of a
    /// baseline value of 0 is 0; a goodput change needs the baseline's --goodput objectives;
    /// no output may be written over it. See `qpsbench run --help`.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    #[command(flatten)]
    pub outputs: OutputArgs,
}

/// `qpsbench compare`.
#[derive(Debug, Args, Clone)]
pub struct CompareArgs {
    /// Two or more JSON reports (`qpsbench run --json`); the first is the baseline the others
    /// are compared with. Runs of different schedules, targets and versions may be compared.
    /// Each run is named by its --name, else its file name.
    #[arg(required = true, value_name = "REPORT.json")]
    pub inputs: Vec<PathBuf>,

    /// Check every run after the first against these thresholds, the first as the baseline
    /// of their changes ('p99<+10%,qps>-5%,error-rate<+0.5pp'; absolute limits too, in the
    /// `run --fail-on` syntax); exit code 1 when one fails. A % of a baseline value of 0 is 0
    /// (error-rate<+10% against no errors fails even with none): gate rates in pp.
    #[arg(long, value_name = "THRESHOLDS")]
    pub fail_on: Option<String>,

    /// Write the comparison as CSV: a row per run, rates as fractions, changes in %
    /// (qps_change_pct, p99_change_pct, ...) and percentage points (error_rate_change_pp,
    /// failure_rate_change_pp), thresholds_failed and status (complete, interrupted, aborted);
    /// empty cells where nothing was measured ('-': stdout).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<String>,

    /// Write the comparison as JSON (docs/compare.schema.json; '-': stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<String>,

    /// Write the comparison as a self-contained HTML table: each later run's figure with its
    /// change under it, red when worse, green when better ('-': stdout).
    #[arg(long, value_name = "FILE")]
    pub html: Option<String>,
}
