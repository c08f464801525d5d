//! Report files: one module per format behind [`Exporter`], which turns a [`Report`] into bytes
//! and does no I/O; [`ExportManager`] owns the files. Every file is created before the run
//! starts, so that a bad path fails in the first second and not after a long soak.

pub mod csv;
mod csv_stream;
pub mod hdr_log;
pub mod html;
mod html_stream;
mod html_traffic;
pub mod json;
mod svg;

use std::fs::File;
use std::io::{self, Seek, Write};
use std::path::PathBuf;

use crate::cli::OutputArgs;
use crate::config::ConfigError;
use crate::report::Report;

/// Turns a report into the bytes of one file format.
pub trait Exporter {
    /// The whole file for `report`.
    fn serialize(&self, report: &Report) -> anyhow::Result<Vec<u8>>;
}

/// The formats qpsbench writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    CsvSeries,
    Html,
    HdrLog,
}

impl Format {
    /// The flag that asks for this format.
    pub fn flag(self) -> &'static str {
        match self {
            Format::Json => "--json",
            Format::Csv => "--csv",
            Format::CsvSeries => "--csv-series",
            Format::Html => "--html",
            Format::HdrLog => "--hdr-log",
        }
    }

    /// The exporter of this format.
    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            Format::Json => Box::new(json::Json),
            Format::Csv => Box::new(csv::StageTable),
            Format::CsvSeries => Box::new(csv::Series),
            Format::Html => Box::new(html::Html),
            Format::HdrLog => Box::new(hdr_log::HdrLog),
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
pub fn outputs_from_args(a: &OutputArgs) -> Result<Vec<OutputSpec>, ConfigError> {
    let asked = [
        (Format::Json, &a.json),
        (Format::Csv, &a.csv),
        (Format::CsvSeries, &a.csv_series),
        (Format::Html, &a.html),
        (Format::HdrLog, &a.hdr_log),
    ];
    let mut out: Vec<OutputSpec> = Vec::new();
    for (format, value) in asked {
        let Some(value) = value.as_deref() else {
            continue;
        };
        let dest = match value {
            "" => {
                return Err(ConfigError(format!(
                    "{} needs a file name, or '-' for stdout",
                    format.flag()
                )));
            }
            "-" => Dest::Stdout,
            path => Dest::File(path.into()),
        };
        if let Some(other) = out.iter().find(|o| o.dest == dest) {
            let what = match &dest {
                Dest::Stdout => "stdout ('-')".to_string(),
                Dest::File(p) => format!("the file {}", p.display()),
            };
            return Err(ConfigError(format!(
                "{} and {} both write to {what}: give each its own",
                other.format.flag(),
                format.flag()
            )));
        }
        out.push(OutputSpec { format, dest });
    }
    Ok(out)
}

/// The opened outputs of one command.
pub struct ExportManager {
    outputs: Vec<(OutputSpec, Option<File>)>,
}

impl ExportManager {
    /// Create every output file now (empty), so that a bad path is reported before any work.
    pub fn open(specs: &[OutputSpec]) -> Result<Self, ConfigError> {
        let mut outputs = Vec::with_capacity(specs.len());
        for spec in specs {
            let file = match &spec.dest {
                Dest::Stdout => None,
                Dest::File(path) => Some(File::create(path).map_err(|e| {
                    ConfigError(format!(
                        "{} {}: cannot create the file: {e}",
                        spec.format.flag(),
                        path.display()
                    ))
                })?),
            };
            outputs.push((spec.clone(), file));
        }
        Ok(ExportManager { outputs })
    }

    /// Does any output go to stdout (so the text summary must not)?
    pub fn writes_stdout(&self) -> bool {
        self.outputs.iter().any(|(s, _)| s.dest == Dest::Stdout)
    }

    /// Write every file output (replacing what it held), then any stdout output. Stops at the
    /// first error; a broken stdout pipe comes back as `io::ErrorKind::BrokenPipe`.
    pub fn write(&mut self, report: &Report) -> io::Result<()> {
        for (spec, file) in &mut self.outputs {
            let Some(file) = file else { continue };
            let bytes = spec
                .format
                .exporter()
                .serialize(report)
                .map_err(|e| io::Error::other(format!("{}: {e:#}", spec.format.flag())))?;
            let path = match &spec.dest {
                Dest::File(p) => p.display().to_string(),
                Dest::Stdout => unreachable!("files only"),
            };
            let with_path = |e: io::Error| {
                io::Error::new(e.kind(), format!("{} {path}: {e}", spec.format.flag()))
            };
            file.set_len(0).map_err(with_path)?;
            file.rewind().map_err(with_path)?;
            file.write_all(&bytes).map_err(with_path)?;
            file.sync_all().map_err(with_path)?;
        }
        for (spec, file) in &self.outputs {
            if file.is_some() {
                continue;
            }
            let bytes = spec
                .format
                .exporter()
                .serialize(report)
                .map_err(|e| io::Error::other(format!("{}: {e:#}", spec.format.flag())))?;
            let mut out = io::stdout().lock();
            out.write_all(&bytes)?;
            out.flush()?;
        }
        Ok(())
    }
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
        let err = outputs_from_args(&args(None, Some(""), None)).unwrap_err();
        assert!(err.0.contains("--csv needs a file name"), "{err}");
    }
}
