//! The opened outputs of one command: every file is created before the run starts (a bad path
//! fails in the first second, not after a long soak), and rewritten whole when the report is
//! ready.

use std::fs::File;
use std::io::{self, Seek, Write};

use super::{Exporter, csv, hdr_log, html, json};
use crate::config::output::{Dest, Format, OutputSpec};
use crate::error::UsageError;
use crate::report::Report;

/// The opened outputs of one command.
pub struct ExportManager {
    outputs: Vec<(OutputSpec, Option<File>)>,
}

impl ExportManager {
    /// Create every output file now (empty), so that a bad path is reported before any work.
    ///
    /// # Errors
    ///
    /// When a file cannot be created (a missing directory, no permission); the message names the
    /// flag and the path. The files created before it stay, empty.
    pub fn open(specs: &[OutputSpec]) -> Result<Self, UsageError> {
        let mut outputs = Vec::with_capacity(specs.len());
        for spec in specs {
            let file = match &spec.dest {
                Dest::Stdout => None,
                Dest::File(path) => Some(File::create(path).map_err(|e| {
                    UsageError(format!(
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
    ///
    /// # Errors
    ///
    /// When a format cannot serialize the report, or truncating, writing or syncing a file or
    /// writing stdout fails; a file's message names the flag and the path, with the OS error kind.
    pub fn write(&mut self, report: &Report) -> io::Result<()> {
        for (spec, file) in &mut self.outputs {
            let Some(file) = file else { continue };
            let bytes = serialize(spec.format, report)?;
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
            let bytes = serialize(spec.format, report)?;
            let mut out = io::stdout().lock();
            out.write_all(&bytes)?;
            out.flush()?;
        }
        Ok(())
    }
}

/// The bytes of `report` in `format`; an error names the format's flag.
fn serialize(format: Format, report: &Report) -> io::Result<Vec<u8>> {
    exporter(format)
        .serialize(report)
        .map_err(|e| io::Error::other(format!("{}: {e:#}", format.flag())))
}

/// The exporter of `format`.
pub fn exporter(format: Format) -> Box<dyn Exporter> {
    match format {
        Format::Json => Box::new(json::Json),
        Format::Csv => Box::new(csv::StageTable),
        Format::CsvSeries => Box::new(csv::Series),
        Format::Html => Box::new(html::Html),
        Format::HdrLog => Box::new(hdr_log::HdrLog),
    }
}
