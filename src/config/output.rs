//! The output flags (`--json`, `--csv`, `--csv-series`, `--html`, `--hdr-log`, `--jsonl`,
//! `--result-json`) into checked
//! [`OutputSpec`]s: names present, at most one `-` (stdout), no file named twice.

use std::path::PathBuf;

use crate::cli::OutputArgs;
use crate::error::UsageError;

/// The formats qpsbench writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    CsvSeries,
    Html,
    HdrLog,
    /// One JSON object per second, written as the run goes.
    Jsonl,
    /// The totals under vLLM `bench serve`'s result keys.
    ResultJson,
}

impl Format {
    /// Does this format carry a histogram per second (so the collector must keep them)?
    pub fn needs_second_histograms(self) -> bool {
        matches!(self, Format::Json | Format::HdrLog | Format::Jsonl)
    }

    /// The flag that asks for this format.
    pub fn flag(self) -> &'static str {
        match self {
            Format::Json => "--json",
            Format::Csv => "--csv",
            Format::CsvSeries => "--csv-series",
            Format::Html => "--html",
            Format::HdrLog => "--hdr-log",
            Format::Jsonl => "--jsonl",
            Format::ResultJson => "--result-json",
        }
    }
}

/// Where one output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    Stdout,
    File(PathBuf),
}

/// One requested output: a format and its destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    pub format: Format,
    pub dest: Dest,
}

/// Check the output flags: names present, at most one '-' (stdout), no file named twice.
///
/// # Errors
///
/// When a flag has an empty value, or two flags write to the same place (both `-`, or one path
/// written the same way twice); the message names both flags.
pub fn outputs_from_args(a: &OutputArgs) -> Result<Vec<OutputSpec>, UsageError> {
    let asked = [
        (Format::Json, &a.json),
        (Format::Csv, &a.csv),
        (Format::CsvSeries, &a.csv_series),
        (Format::Html, &a.html),
        (Format::HdrLog, &a.hdr_log),
        (Format::Jsonl, &a.jsonl),
        (Format::ResultJson, &a.result_json),
    ];
    let mut out: Vec<OutputSpec> = Vec::new();
    for (format, value) in asked {
        let Some(value) = value.as_deref() else {
            continue;
        };
        let dest = match value {
            "" => {
                return Err(UsageError(format!(
                    "{} needs a file name, or '-' for stdout",
                    format.flag()
                )));
            }
            // The process's own stdout by any of its names: the text summary then goes to stderr.
            "-" | "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" => Dest::Stdout,
            path => Dest::File(path.into()),
        };
        if let Some(other) = out.iter().find(|o| same_place(&o.dest, &dest)) {
            let what = match &dest {
                Dest::Stdout => "stdout ('-')".to_string(),
                Dest::File(p) => format!("the file {}", p.display()),
            };
            return Err(UsageError(format!(
                "{} and {} both write to {what}: give each its own",
                other.format.flag(),
                format.flag()
            )));
        }
        out.push(OutputSpec { format, dest });
    }
    Ok(out)
}

/// A report may not overwrite a file the run reads (`--data`, `-d @FILE`, `--targets`, ...):
/// `inputs` are (flag, path) of those.
///
/// # Errors
///
/// When an output is one of the inputs (as the file system resolves them).
pub fn check_not_inputs(
    outputs: &[OutputSpec],
    inputs: &[(&str, &std::path::Path)],
) -> Result<(), UsageError> {
    for o in outputs {
        for (flag, path) in inputs {
            if same_place(&o.dest, &Dest::File(path.to_path_buf())) {
                return Err(UsageError(format!(
                    "{} would overwrite {}, which {flag} reads: write the report elsewhere",
                    o.format.flag(),
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// Do two destinations write to the same place? Paths are compared as the file system resolves
/// them (`./r.json`, `r.json`, `dir/../r.json` and a symlink to it are one file), as far as the
/// directories exist; otherwise as written.
pub(crate) fn same_place(a: &Dest, b: &Dest) -> bool {
    match (a, b) {
        (Dest::Stdout, Dest::Stdout) => true,
        (Dest::File(a), Dest::File(b)) => {
            a == b || resolved(a).is_some_and(|r| Some(r) == resolved(b))
        }
        _ => false,
    }
}

/// Where a path points: the file itself when it exists, else its resolved directory and name.
fn resolved(path: &std::path::Path) -> Option<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Some(p);
    }
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    std::fs::canonicalize(dir).ok().map(|d| d.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(json: Option<&str>, csv: Option<&str>, html: Option<&str>) -> OutputArgs {
        OutputArgs {
            json: json.map(Into::into),
            csv: csv.map(Into::into),
            html: html.map(Into::into),
            ..OutputArgs::default()
        }
    }

    #[test]
    fn outputs_are_checked() {
        let ok = outputs_from_args(&args(Some("-"), Some("a.csv"), Some("a.html"))).unwrap();
        assert_eq!(ok.len(), 3);
        assert_eq!(ok[0].dest, Dest::Stdout);
        let err = outputs_from_args(&args(Some("-"), Some("-"), None)).unwrap_err();
        assert!(
            err.0.contains("--json and --csv both write to stdout"),
            "{err}"
        );
        let err = outputs_from_args(&args(Some("x"), None, Some("x"))).unwrap_err();
        assert!(err.0.contains("both write to the file x"), "{err}");
        // The same file by another spelling (existing or not yet).
        for (one, other) in [
            ("r.json", "./r.json"),
            ("src/../r.json", "r.json"),
            ("Cargo.toml", "./src/../Cargo.toml"),
        ] {
            let err = outputs_from_args(&args(Some(one), None, Some(other))).unwrap_err();
            assert!(
                err.0.contains("--json and --html both write to"),
                "{one} {other}: {err}"
            );
        }
        assert!(outputs_from_args(&args(Some("a/r.json"), None, Some("b/r.json"))).is_ok());
        let err = outputs_from_args(&args(None, Some(""), None)).unwrap_err();
        assert!(err.0.contains("--csv needs a file name"), "{err}");
    }
}
