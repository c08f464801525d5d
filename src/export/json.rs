//! `--json`: the full report, histograms included (schema: `docs/report.schema.json`).

use super::Exporter;
use crate::report::Report;

/// Pretty-printed JSON with a final newline.
pub struct Json;

impl Exporter for Json {
    fn serialize(&self, report: &Report) -> anyhow::Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(report)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}
