//! `--jsonl`: one JSON object per second, the JSON report's per-second rows. Written as the run
//! goes ([`LiveRows`], one line flushed as each second closes, so that `tail -f` follows it and
//! a killed run keeps every completed second), then replaced whole at the end by the final rows
//! ([`Jsonl`]), whose last window follows the report's rule for a partial second.

use std::fs::File;
use std::io::Write as _;
use std::path::Path;

use super::Exporter;
use crate::report::Report;
use crate::stats::rows::SecondReport;

/// The final file: every second of the report, one per line.
pub struct Jsonl;

impl Exporter for Jsonl {
    fn serialize(&self, r: &Report) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        for s in &r.seconds {
            out.extend(line(s)?);
        }
        Ok(out)
    }
}

/// One row as a line.
fn line(s: &SecondReport) -> serde_json::Result<Vec<u8>> {
    let mut v = serde_json::to_vec(s)?;
    v.push(b'\n');
    Ok(v)
}

/// The file (or stdout) written as the run goes.
pub struct LiveRows {
    file: Box<dyn std::io::Write + Send>,
}

impl LiveRows {
    /// Create (or empty) `path` for the rows to come.
    ///
    /// # Errors
    ///
    /// When the file cannot be created.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        Ok(LiveRows {
            file: Box::new(File::create(path)?),
        })
    }

    /// Rows to stdout as they come (`--jsonl -`): the final rows are not written again.
    pub fn stdout() -> Self {
        LiveRows {
            file: Box::new(std::io::stdout()),
        }
    }

    /// Append one closed second, in one write, and flush it. A failure is not the run's: the
    /// final file is written (or reported as failed) at the end.
    pub fn push(&mut self, s: &SecondReport) {
        if let Ok(l) = line(s) {
            let _ = self.file.write_all(&l);
            let _ = self.file.flush();
        }
    }
}
