//! The per-second files written as the run goes (`--jsonl`, `--csv-series`, `--hdr-log`): one
//! line per second, written in one call and flushed as the second closes, so that `tail -f`
//! follows them and a run killed with `kill -9` keeps every completed second, whole lines only.
//! When the run ends, each regular file is replaced by its final file (the report's rows, the
//! last partial window included, and for a streamed run the CSV's stream columns, which are
//! known only once responses arrive). A stream (`--jsonl -`, a FIFO, `/dev/stdout`, `>(...)`)
//! cannot be replaced: it gets the rows the live lines did not have (the last partial window),
//! and the run's last second again when the final rows added a short last window to it (a
//! later line for a second replaces an earlier one). A failed write is not the run's: the
//! final write reports it.

use std::io::Write;

use crate::config::Config;
use crate::config::output::{Dest, Format};
use crate::stats::rows::SecondReport;

struct LiveFile {
    format: Format,
    out: Box<dyn Write + Send>,
    /// The header is written with the first row (the CSV's and the log's need the start).
    started: bool,
    /// A stream, finished here rather than replaced by the final file.
    stream: bool,
}

/// Every live file of a run.
pub struct LiveFiles {
    files: Vec<LiveFile>,
    checks: bool,
    name: Option<String>,
    /// The last row written live: its second and its length.
    last: Option<(u64, f64)>,
    /// The run's start, as the live rows placed it (Unix ms).
    start_ms: Option<u64>,
}

/// Is `format` written live (a line per second)?
pub fn is_live(format: Format) -> bool {
    matches!(format, Format::Jsonl | Format::CsvSeries | Format::HdrLog)
}

impl LiveFiles {
    /// Create (or empty) the live files `cfg` asks for; `--jsonl -` streams to stdout (the
    /// others go to stdout only at the end).
    ///
    /// # Errors
    ///
    /// When a file cannot be created; the message names the flag and the path.
    pub fn open(cfg: &Config) -> anyhow::Result<Self> {
        let mut files = Vec::new();
        for o in &cfg.outputs {
            if !is_live(o.format) {
                continue;
            }
            let named = |e: std::io::Error, path: &std::path::Path| {
                anyhow::anyhow!("{} {}: {e}", o.format.flag(), path.display())
            };
            let (out, stream): (Box<dyn Write + Send>, bool) = match &o.dest {
                // A pipe, a terminal, a FIFO or a descriptor (`/dev/stderr`): written in place,
                // line by line, as the run goes (the final write leaves it to us).
                Dest::File(path) if super::manager::is_stream(path) => (
                    Box::new(super::manager::open_stream(path).map_err(|e| named(e, path))?),
                    true,
                ),
                Dest::File(path) => (
                    Box::new(std::fs::File::create(path).map_err(|e| named(e, path))?),
                    false,
                ),
                Dest::Stdout if o.format == Format::Jsonl => (Box::new(std::io::stdout()), true),
                Dest::Stdout => continue,
            };
            files.push(LiveFile {
                format: o.format,
                out,
                started: false,
                stream,
            });
        }
        Ok(LiveFiles {
            files,
            checks: !cfg.traffic.checks.is_empty(),
            name: cfg.name.clone(),
            last: None,
            start_ms: None,
        })
    }

    /// No live file was asked for.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Append the second `s`, which has just closed.
    pub fn push(&mut self, s: &SecondReport) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        // The second closed now: the run started `second` seconds ago.
        let start_ms = *self
            .start_ms
            .get_or_insert(now_ms.saturating_sub(s.second * 1000));
        self.last = Some((s.second, s.interval_s));
        for f in &mut self.files {
            write_row(f, s, start_ms, self.checks, self.name.as_deref(), "running");
        }
    }

    /// The run is over, ended as `status` says (`complete`, `interrupted`, `aborted`), and
    /// `seconds` are its final rows: give each stream the rows it has not had (the regular
    /// files are replaced by the final write). A CSV series stream that has had every row
    /// gets the last one again, so that its last line carries the run's final status in
    /// place of `running` (a later line for a second replaces an earlier one).
    pub fn finish(&mut self, seconds: &[SecondReport], start_ms: u64, status: &str) {
        let start_ms = self.start_ms.unwrap_or(start_ms);
        let last = self.last;
        let rest = seconds.iter().filter(|s| match last {
            None => true,
            // The last live second again when the final rows lengthened it.
            Some((second, interval_s)) => {
                s.second > second || (s.second == second && s.interval_s != interval_s)
            }
        });
        let rest: Vec<&SecondReport> = rest.collect();
        for f in self.files.iter_mut().filter(|f| f.stream) {
            let again = match (rest.is_empty(), seconds.last()) {
                (true, Some(last)) if f.format == Format::CsvSeries => vec![last],
                _ => rest.clone(),
            };
            for s in again {
                write_row(f, s, start_ms, self.checks, self.name.as_deref(), status);
            }
        }
    }
}

/// Write row `s` to `f`, in one call, and flush it; a CSV row's `status` cell is `status`.
fn write_row(
    f: &mut LiveFile,
    s: &SecondReport,
    start_ms: u64,
    checks: bool,
    name: Option<&str>,
    status: &str,
) {
    let mut text = String::new();
    match f.format {
        Format::Jsonl => {
            if let Ok(l) = super::jsonl::line(s) {
                let _ = f.out.write_all(&l);
            }
        }
        Format::CsvSeries => {
            if !f.started {
                let h = super::csv::with_status_cell(&super::csv::series_header(checks), "status");
                text.push_str(&super::csv::with_run_column(&h, name, true));
            }
            let row = super::csv::series_row(start_ms, s, checks);
            let row = super::csv::with_status_cell(&row, status);
            text.push_str(&super::csv::with_run_column(&row, name, false));
        }
        Format::HdrLog => {
            if !f.started {
                let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(start_ms);
                text.push_str(&super::hdr_log::header(
                    env!("CARGO_PKG_VERSION"),
                    start_ms,
                    &humantime::format_rfc3339_seconds(at).to_string(),
                ));
            }
            text.push_str(&super::hdr_log::line(s));
        }
        _ => {}
    }
    f.started = true;
    let _ = f.out.write_all(text.as_bytes());
    let _ = f.out.flush();
}
