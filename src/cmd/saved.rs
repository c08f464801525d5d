//! `qpsbench merge`, `report` and `compare`: commands on saved JSON reports.

use std::io::{self, Write};

use serde::Serialize;

use super::write::write_report;
use crate::cli::{CompareArgs, MergeArgs, OutputArgs, ReportArgs};
use crate::config::check_baseline_flags;
use crate::config::output::{Format, OutputSpec, check_not_inputs, outputs_from_args};
use crate::error::{Error, UsageError, exit};
use crate::export::manager::ExportManager;
use crate::report::Report;
use crate::report::compare::{ComparedRun, Comparison};
use crate::report::merge::{load, load_baseline, merge};
use crate::report::thresholds::evaluate;
use crate::stats::thresholds::parse as parse_thresholds;

/// `qpsbench merge`: combine saved reports and write the result.
///
/// # Errors
///
/// [`Error::Usage`] when a report cannot be read or the reports cannot be combined;
/// [`Error::Run`] when the result cannot be written.
pub fn merge_command(args: MergeArgs) -> Result<i32, Error> {
    let specs = outputs_from_args(&args.outputs)?;
    let read: Vec<(&str, &std::path::Path)> =
        args.inputs.iter().map(|p| ("merge", p.as_path())).collect();
    check_not_inputs(&specs, &read)?;
    let mut inputs = Vec::with_capacity(args.inputs.len());
    for path in &args.inputs {
        inputs.push((path.display().to_string(), load(path)?));
    }
    emit(&merge(&inputs)?, &specs, exit::OK)
}

/// `qpsbench report`: re-render a saved report; with `--fail-on` (and `--baseline`), check it
/// against those thresholds instead of the ones it was run with (exit code 1 when one fails).
///
/// # Errors
///
/// [`Error::Usage`] when the report or the baseline cannot be read, or a flag is wrong;
/// [`Error::Run`] when it cannot be written.
pub fn report_command(args: ReportArgs) -> Result<i32, Error> {
    // A report is complete or absent: none is written over the file it is made from, nor over
    // the baseline it is judged against (as `run` and `compare` refuse).
    let specs = outputs_from_args(&args.outputs)?;
    let read: Vec<(&str, &std::path::Path)> = std::iter::once(("report", args.input.as_path()))
        .chain(args.baseline.as_deref().map(|b| ("--baseline", b)))
        .collect();
    check_not_inputs(&specs, &read)?;
    let mut report = load(&args.input)?;
    let thresholds = match &args.fail_on {
        Some(spec) => parse_thresholds(spec, report.stages.len()).map_err(UsageError)?,
        None => Vec::new(),
    };
    check_baseline_flags(&thresholds, args.baseline.as_deref())?;
    let mut code = exit::OK;
    if args.fail_on.is_some() {
        let baseline = args
            .baseline
            .as_deref()
            .map(|b| {
                load_baseline(
                    b,
                    &thresholds,
                    report.config.goodput.as_deref(),
                    &args.input.display().to_string(),
                )
            })
            .transpose()?;
        report.thresholds = evaluate(
            &thresholds,
            &report.total,
            &report.stages,
            baseline.as_ref(),
        );
        if report.thresholds_failed() {
            code = exit::FAILED;
        }
    }
    emit(&report, &specs, code)
}

/// Write a finished report to the requested outputs (and the text summary); `code` is the
/// exit code when that works.
fn emit(report: &Report, specs: &[OutputSpec], code: i32) -> Result<i32, Error> {
    let mut exports = ExportManager::open(specs)?;
    write_report(report, &mut exports, code)
}

/// Warn (on stderr) of a run given twice, as the same file by any spelling or as a copy: it
/// is compared with itself. `merge` refuses that; here it may be meant (a sanity check).
fn warn_twice(runs: &[(String, Report)]) {
    use crate::config::output::{Dest, same_place};
    for (i, (file, r)) in runs.iter().enumerate() {
        let place = Dest::File(file.into());
        let shown = |f: &str| crate::parse::one_line(f.to_string());
        if let Some((earlier, _)) = runs[..i]
            .iter()
            .find(|(f, _)| same_place(&Dest::File(f.into()), &place))
        {
            let also = if earlier == file {
                String::new()
            } else {
                format!(" (also as {})", shown(file))
            };
            eprintln!(
                "warning: {} is given twice{also}: the run is compared with itself",
                shown(earlier)
            );
        } else if let Some((earlier, _)) = runs[..i]
            .iter()
            .find(|(_, o)| crate::report::merge::same_run(o, r))
        {
            eprintln!(
                "warning: {} and {} hold the same run: it is compared with itself",
                shown(earlier),
                shown(file)
            );
        }
    }
}

/// `qpsbench compare --json`: the comparison and what wrote it.
#[derive(Serialize)]
struct CompareDoc<'a> {
    /// Always `qpsbench-compare`.
    kind: &'static str,
    version: &'static str,
    baseline: &'a str,
    runs: &'a [ComparedRun],
}

/// `qpsbench compare`: saved runs side by side, the first as the baseline; with `--fail-on`,
/// every later run checked against it (exit code 1 when a threshold fails).
///
/// # Errors
///
/// [`Error::Usage`] for fewer than two reports, one that cannot be read, a bad `--fail-on`, a
/// baseline without what a change needs, or an output that cannot be created;
/// [`Error::Run`] when an output cannot be written.
pub fn compare_command(args: CompareArgs) -> Result<i32, Error> {
    if args.inputs.len() < 2 {
        return Err(UsageError(format!(
            "compare needs two reports or more, the baseline first: got only {}; write e.g. \
             qpsbench compare last-good.json new.json",
            args.inputs[0].display()
        ))
        .into());
    }
    let specs = outputs_from_args(&OutputArgs {
        json: args.json.clone(),
        csv: args.csv.clone(),
        html: args.html.clone(),
        ..OutputArgs::default()
    })?;
    let inputs: Vec<(&str, &std::path::Path)> = args
        .inputs
        .iter()
        .map(|p| ("compare", p.as_path()))
        .collect();
    check_not_inputs(&specs, &inputs)?;
    let mut runs = Vec::with_capacity(args.inputs.len());
    for path in &args.inputs {
        runs.push((path.display().to_string(), load(path)?));
    }
    let thresholds = match &args.fail_on {
        // Any stage number parses: each run is checked for it below, by name.
        Some(spec) => parse_thresholds(spec, usize::MAX).map_err(UsageError)?,
        None => Vec::new(),
    };
    let (first_file, first) = &runs[0];
    let baseline_what = format!("the baseline {first_file}");
    for (file, r) in &runs[1..] {
        crate::stats::goodput::check_baseline_objectives(
            &thresholds,
            first.config.goodput.as_deref(),
            &baseline_what,
            r.config.goodput.as_deref(),
            file,
        )
        .map_err(UsageError)?;
    }
    first
        .as_baseline(first_file)
        .check(&thresholds, &baseline_what)
        .map_err(UsageError)?;
    // A stage threshold judges a stage every later run has.
    for (file, r) in &runs[1..] {
        if let Some((t, n)) = thresholds
            .iter()
            .find_map(|t| t.stage.filter(|&n| n > r.stages.len()).map(|n| (t, n)))
        {
            return Err(UsageError(format!(
                "--fail-on '{}': {file} has {}, no stage {n} to check",
                t.text,
                crate::parse::count_of(r.stages.len() as u64, "stage", "stages")
            ))
            .into());
        }
    }
    // Bad input is refused above in one line; a warning only for what is allowed.
    warn_twice(&runs);
    let mut exports = ExportManager::open(&specs)?;
    let comparison = Comparison::of(&runs, &thresholds);
    let code = if comparison.failed() {
        exit::FAILED
    } else {
        exit::OK
    };
    let text = crate::output::compare::render(&comparison);
    // `--json -` (or another output on stdout) takes stdout: the table then goes to stderr.
    let printed = if exports.writes_stdout() {
        io::stderr().lock().write_all(text.as_bytes())
    } else {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes()).and_then(|()| out.flush())
    };
    let doc = CompareDoc {
        kind: "qpsbench-compare",
        version: env!("CARGO_PKG_VERSION"),
        baseline: &comparison.baseline,
        runs: &comparison.runs,
    };
    let written = exports.write_with(|format| match format {
        Format::Json => serde_json::to_vec_pretty(&doc)
            .map(|mut v| {
                v.push(b'\n');
                v
            })
            .map_err(io::Error::other),
        Format::Csv => Ok(crate::export::compare_csv::render(&comparison).into_bytes()),
        Format::Html => Ok(crate::export::compare_html::render(&comparison).into_bytes()),
        other => Err(io::Error::other(format!(
            "{} is not written by compare",
            other.flag()
        ))),
    });
    // A closed stdout pipe (`qpsbench compare ... | head`) is not an error.
    match written.and(printed) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::Run(anyhow::anyhow!("writing the comparison: {e}")))
        }
        _ => Ok(code),
    }
}
