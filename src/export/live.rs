//! The per-second files written as the run goes (`--jsonl`, `--csv-series`, `--hdr-log`): one
//! line per second, written in one call and flushed as the second closes, so that `tail -f`
//! follows them and a run killed with `kill -9` keeps every completed second, whole lines only.
//! When the run ends, each is replaced by its final file (the report's rows, the last partial
//! window included, and for a streamed run the CSV's stream columns, which are known only once
//! responses arrive). A failed write is not the run's: the final write reports it.

use std::io::Write;

use crate::config::Config;
use crate::config::output::{Dest, Format};
use crate::stats::rows::SecondReport;

struct LiveFile {
    format: Format,
    out: Box<dyn Write + Send>,
    /// The header is written with the first row (the CSV's and the log's need the start).
    started: bool,
}

/// Every live file of a run.
pub struct LiveFiles {
    files: Vec<LiveFile>,
    checks: bool,
    name: Option<String>,
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
            if !matches!(o.format, Format::Jsonl | Format::CsvSeries | Format::HdrLog) {
                continue;
            }
            let out: Box<dyn Write + Send> =
                match &o.dest {
                    // A pipe, a terminal or a descriptor (`/dev/stderr`) gets the final file only:
                    // a reader of a FIFO would see every line twice.
                    Dest::File(path) if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) => {
                        continue;
                    }
                    Dest::File(path) => Box::new(std::fs::File::create(path).map_err(|e| {
                        anyhow::anyhow!("{} {}: {e}", o.format.flag(), path.display())
                    })?),
                    Dest::Stdout if o.format == Format::Jsonl => Box::new(std::io::stdout()),
                    Dest::Stdout => continue,
                };
            files.push(LiveFile {
                format: o.format,
                out,
                started: false,
            });
        }
        Ok(LiveFiles {
            files,
            checks: !cfg.traffic.checks.is_empty(),
            name: cfg.name.clone(),
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
        let start_ms = now_ms.saturating_sub(s.second * 1000);
        for f in &mut self.files {
            let mut text = String::new();
            match f.format {
                Format::Jsonl => {
                    if let Ok(l) = super::jsonl::line(s) {
                        let _ = f.out.write_all(&l);
                    }
                }
                Format::CsvSeries => {
                    let name = self.name.as_deref();
                    if !f.started {
                        let h = super::csv::series_header(self.checks);
                        text.push_str(&super::csv::with_run_column(&h, name, true));
                    }
                    let row = super::csv::series_row(start_ms, s, self.checks);
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
    }
}
