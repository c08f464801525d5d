//! `--jsonl`: one JSON object per second, the JSON report's per-second rows. Written as the run
//! goes ([`super::live::LiveFiles`]), then replaced whole at the end by the final rows
//! ([`Jsonl`]), whose last window follows the report's rule for a partial second.

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
pub fn line(s: &SecondReport) -> serde_json::Result<Vec<u8>> {
    let mut v = serde_json::to_vec(s)?;
    v.push(b'\n');
    Ok(v)
}
