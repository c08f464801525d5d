//! `qpsbench merge` and `qpsbench report`: commands on saved JSON reports.

use super::write::write_report;
use crate::cli::{MergeArgs, OutputArgs, ReportArgs};
use crate::config::output::outputs_from_args;
use crate::error::{Error, exit};
use crate::export::manager::ExportManager;
use crate::report::Report;
use crate::report::merge::{load, merge};

/// `qpsbench merge`: combine saved reports and write the result.
///
/// # Errors
///
/// [`Error::Usage`] when a report cannot be read or the reports cannot be combined;
/// [`Error::Run`] when the result cannot be written.
pub fn merge_command(args: MergeArgs) -> Result<i32, Error> {
    let mut inputs = Vec::with_capacity(args.inputs.len());
    for path in &args.inputs {
        inputs.push((path.display().to_string(), load(path)?));
    }
    emit(&merge(&inputs)?, &args.outputs)
}

/// `qpsbench report`: re-render a saved report.
///
/// # Errors
///
/// [`Error::Usage`] when the report cannot be read; [`Error::Run`] when it cannot be written.
pub fn report_command(args: ReportArgs) -> Result<i32, Error> {
    emit(&load(&args.input)?, &args.outputs)
}

/// Write a finished report to the requested outputs (and the text summary).
fn emit(report: &Report, outputs: &OutputArgs) -> Result<i32, Error> {
    let specs = outputs_from_args(outputs)?;
    let mut exports = ExportManager::open(&specs)?;
    write_report(report, &mut exports, exit::OK)
}
