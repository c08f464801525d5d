//! `--hdr-log`: an HdrHistogram interval log with one latency histogram per second, in the
//! layout of the Java `HistogramLogWriter` (format 1.3) that HistogramLogAnalyzer and the
//! HdrHistogram tools read. Values are microseconds; the interval max column is milliseconds
//! (MaxValueDivisor 1000).

use std::fmt::Write as _;

use super::Exporter;
use crate::report::Report;

/// The interval log of a report's per-second series.
pub struct HdrLog;

impl Exporter for HdrLog {
    fn serialize(&self, r: &Report) -> anyhow::Result<Vec<u8>> {
        let mut out = header(&r.version, r.started_at_unix_ms, &r.started_at);
        for s in &r.seconds {
            out.push_str(&line(s));
        }
        Ok(out.into_bytes())
    }
}

/// The log's header for a run that started at `start_ms` (milliseconds since the Unix epoch;
/// `started_at` the same in RFC 3339).
pub fn header(version: &str, start_ms: u64, started_at: &str) -> String {
    let base_s = start_ms as f64 / 1e3;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "#[Logged with qpsbench {version} (latency: send start -> last body byte, microseconds)]"
    );
    out.push_str("#[Histogram log format version 1.3]\n");
    let _ = writeln!(
        out,
        "#[StartTime: {base_s:.3} (seconds since epoch), {started_at}]"
    );
    let _ = writeln!(out, "#[BaseTime: {base_s:.3} (seconds since epoch)]");
    out.push_str("#[MaxValueDivisor: 1000.000]\n");
    out.push_str(
        "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
    );
    out
}

/// One second's interval line.
pub fn line(s: &crate::stats::rows::SecondReport) -> String {
    format!(
        "{:.3},{:.3},{:.3},{}\n",
        (s.second - 1) as f64,
        s.interval_s,
        s.max_ms.unwrap_or(0.0),
        s.hdr_latency_us
    )
}
