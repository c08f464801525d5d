//! `--samples FILE`: one line per request (every attempt, the warm-up's included), encoded on
//! the collector thread as it records each sample — never in a user thread — and written by a
//! thread of its own.
//!
//! Lines are encoded into a buffer of whole lines (CSV by the `csv` crate, JSON lines by
//! `serde_json`), which is handed to the writer thread when it passes [`FLUSH_BYTES`] and when
//! each second closes; the writer writes each buffer in one call and flushes it. So `tail -f`
//! follows the file, a run killed with `kill -9` keeps all but its last second in whole lines,
//! and memory stays flat: no line is kept once written, and at most [`QUEUED`] buffers wait for
//! the writer. The writer thread is there because a write to a file can stall for tens of
//! milliseconds (the page cache's writeback): on the collector thread, the samples of 50 users
//! at 90,000 requests/s piled up in the channel meanwhile (57 MiB after 28 s; docs/BENCHMARKS.md).
//! A slower reader than that (a full disk queue, a pipe nobody reads) makes the collector wait
//! once the queue is full, as any consumer would. The file is created and its header written
//! before the run; a write that fails ends the writing (the run goes on) and is reported when
//! the run ends.

use std::cell::RefCell;
use std::io::{self, Write};
use std::os::unix::fs::FileTypeExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use serde::Serialize;

use crate::config::Config;
use crate::config::output::Dest;
use crate::config::samples::{SamplesFormat, SamplesSpec};
use crate::error::UsageError;
use crate::sample::{Outcome, Sample};

/// The buffer of whole lines is handed to the writer thread when it holds this many bytes (and
/// each second).
pub const FLUSH_BYTES: usize = 64 * 1024;

/// A buffer's capacity: a flush's bytes, the CSV writer's own 8 KiB and a last line.
const BUFFER_BYTES: usize = FLUSH_BYTES + 16 * 1024;

/// Buffers that may wait for the writer thread (a slow disk or pipe reader) before the
/// collector waits in turn: 32 x 64 KiB, 2 MiB.
const QUEUED: usize = 32;

/// `--seed` is turned into the draw of `--samples-rate` through this, so that it is a stream of
/// its own (the seed's other uses draw from theirs).
const RATE_STREAM: u64 = 0x5a4d_91e3_0b7c_2f61;

/// The columns, in order: the CSV header, and the keys of each JSON line.
pub const COLUMNS: [&str; 12] = [
    "start_unix_us",
    "stage",
    "user",
    "target",
    "attempt",
    "latency_us",
    "ttfb_us",
    "status",
    "failure",
    "body_bytes",
    "ttft_us",
    "output_tokens",
];

/// One line. Fields in the order of [`COLUMNS`]; `None` is an empty CSV cell and a JSON `null`.
#[derive(Debug, Serialize)]
struct Line<'a> {
    /// Wall clock at send start, microseconds since the Unix epoch.
    start_unix_us: u64,
    /// 0 the warm-up, then the stages as the report numbers them (1, 2, ...).
    stage: u32,
    /// The user (thread) that sent it, from 0.
    user: u32,
    /// The `--targets` entry's name, or the method and URL, secrets masked.
    target: &'a str,
    /// 0 for a request's first attempt, 1.. for its retries.
    attempt: u16,
    /// Send start to the last body byte (or to the failure).
    latency_us: u64,
    /// Send start to the response head; none when no head arrived.
    ttfb_us: Option<u64>,
    /// The HTTP status; none on a client-side failure.
    status: Option<u16>,
    /// The failure kind's key, or `check` for a success status that failed a check.
    failure: Option<&'static str>,
    /// Response body bytes read.
    body_bytes: u64,
    /// Event streams only: send start to the first content event.
    ttft_us: Option<u64>,
    /// Event streams only: output tokens.
    output_tokens: Option<u64>,
}

/// Lines encoded and not yet written out: whole lines only.
enum Encoder {
    /// Boxed: the writer is 400 bytes, the other variant 24.
    Csv(Box<csv::Writer<Taken>>),
    Jsonl(Vec<u8>),
}

/// What the CSV writer writes into, swapped out through `get_ref` (the writer lends no `&mut`).
struct Taken(RefCell<Vec<u8>>);

impl Write for Taken {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.get_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Encoder {
    fn encode(&mut self, line: &Line<'_>) {
        // Neither can fail: the fields are numbers and text, written to memory.
        match self {
            Encoder::Csv(w) => {
                let _ = w.serialize(line);
            }
            Encoder::Jsonl(buf) => {
                let _ = serde_json::to_writer(&mut *buf, line);
                buf.push(b'\n');
            }
        }
    }

    /// Bytes encoded so far (the CSV writer keeps up to 8 KiB of its own).
    fn len(&self) -> usize {
        match self {
            Encoder::Csv(w) => w.get_ref().0.borrow().len(),
            Encoder::Jsonl(buf) => buf.len(),
        }
    }

    /// Every whole line encoded so far, `empty` taking their place.
    fn take(&mut self, empty: Vec<u8>) -> Vec<u8> {
        match self {
            Encoder::Csv(w) => {
                let _ = w.flush();
                std::mem::replace(&mut *w.get_ref().0.borrow_mut(), empty)
            }
            Encoder::Jsonl(buf) => std::mem::replace(buf, empty),
        }
    }
}

/// The collector thread's side: lines encoded into a buffer, full buffers handed to the
/// writer thread.
struct Lines {
    encoder: Encoder,
    /// Target names by index, masked (and with a leading quote where a spreadsheet would read
    /// a formula, in CSV).
    targets: Vec<String>,
    /// `--samples-rate` below 1: the seeded draw.
    draw: Option<(fastrand::Rng, f64)>,
    /// The wall clock of an instant, for `start_unix_us`.
    anchor: (Instant, u64),
    /// Sample stage indexes start at the warm-up, when there is one.
    warmup: bool,
    /// To the writer thread; `None` once finished.
    to_writer: Option<Sender<Vec<u8>>>,
    /// Buffers the writer thread has written, for reuse.
    emptied: Receiver<Vec<u8>>,
    /// A write failed: nothing more is encoded.
    failed: Arc<AtomicBool>,
}

impl Lines {
    fn record(&mut self, s: &Sample) {
        if self.failed.load(Ordering::Relaxed) {
            return;
        }
        if let Some((rng, rate)) = &mut self.draw
            && rng.f64() >= *rate
        {
            return;
        }
        let us = |d: std::time::Duration| d.as_micros() as u64;
        let (at, at_unix_us) = self.anchor;
        let start_unix_us = if s.sent >= at {
            at_unix_us + us(s.sent - at)
        } else {
            at_unix_us.saturating_sub(us(at - s.sent))
        };
        let (status, failure) = match s.outcome {
            Outcome::Status(code) => (Some(code), s.tag.check_failed.then_some("check")),
            Outcome::Failure(kind) => (None, Some(kind.key())),
        };
        let line = Line {
            start_unix_us,
            stage: s.stage + u32::from(!self.warmup),
            user: s.tag.user,
            target: self
                .targets
                .get(usize::from(s.tag.target))
                .map_or("", String::as_str),
            attempt: s.tag.attempt,
            latency_us: us(s.end.saturating_duration_since(s.sent)),
            ttfb_us: s
                .first_byte
                .map(|f| us(f.saturating_duration_since(s.sent))),
            status,
            failure,
            body_bytes: s.bytes,
            ttft_us: s.stream.and_then(|st| st.ttft).map(us),
            output_tokens: s.stream.map(|st| st.tokens()),
        };
        self.encoder.encode(&line);
        if self.encoder.len() >= FLUSH_BYTES {
            self.flush();
        }
    }

    /// Hand every whole line encoded so far to the writer thread (waiting only when it is
    /// [`QUEUED`] buffers behind).
    fn flush(&mut self) {
        let Some(tx) = &self.to_writer else {
            return;
        };
        let empty = self
            .emptied
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BUFFER_BYTES));
        let full = self.encoder.take(empty);
        if !full.is_empty() {
            let _ = tx.send(full);
        }
    }
}

/// The writer thread: each buffer written in one call and flushed, then handed back. After a
/// failed write it only empties the queue (the collector never waits on a dead file), and
/// returns the error at the end.
fn write_lines(
    mut out: Box<dyn Write + Send>,
    full: Receiver<Vec<u8>>,
    emptied: Sender<Vec<u8>>,
    failed: Arc<AtomicBool>,
) -> io::Result<()> {
    let mut result = Ok(());
    for mut buf in full {
        if result.is_ok()
            && let Err(e) = out.write_all(&buf).and_then(|()| out.flush())
        {
            failed.store(true, Ordering::Relaxed);
            result = Err(e);
        }
        buf.clear();
        let _ = emptied.try_send(buf);
    }
    result
}

/// The open `--samples` file of a run; clones share it.
#[derive(Clone)]
pub struct SampleFile {
    lines: Arc<Mutex<Lines>>,
    writer: Arc<Mutex<Option<JoinHandle<io::Result<()>>>>>,
    shown: String,
    stdout: bool,
}

impl SampleFile {
    /// Create (or empty) the file `cfg.samples` names, write the CSV header, and start the
    /// writer thread; `None` without `--samples`. Called before the run: nothing has been sent
    /// yet.
    ///
    /// # Errors
    ///
    /// When the file cannot be created or written (a missing directory, a directory, no
    /// permission, a FIFO no process reads, a full device); the message names `--samples` and
    /// the path.
    pub fn open(cfg: &Config) -> Result<Option<Self>, UsageError> {
        let Some(spec) = &cfg.samples else {
            return Ok(None);
        };
        let shown = spec.shown();
        let mut out = open_dest(spec).map_err(|e| {
            let hint = match e.kind() {
                io::ErrorKind::NotFound => ": is the directory there?",
                io::ErrorKind::PermissionDenied => ": write it where you may",
                _ => "",
            };
            UsageError(format!(
                "--samples {shown}: cannot create the file: {e}{hint}"
            ))
        })?;
        let redactor = &cfg.traffic.redactor;
        let targets = cfg
            .traffic
            .requests
            .iter()
            .map(|r| {
                let name = redactor.text(&r.name);
                match spec.format {
                    SamplesFormat::Csv => no_formula(name),
                    SamplesFormat::Jsonl => name,
                }
            })
            .collect();
        let mut encoder = match spec.format {
            SamplesFormat::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(Taken(RefCell::new(Vec::with_capacity(BUFFER_BYTES))));
                let _ = w.write_record(COLUMNS);
                Encoder::Csv(Box::new(w))
            }
            SamplesFormat::Jsonl => Encoder::Jsonl(Vec::with_capacity(BUFFER_BYTES)),
        };
        // The header now, from this thread: a reader sees the columns before the first
        // request, and a file that takes no byte is refused before the run.
        let header = encoder.take(Vec::with_capacity(BUFFER_BYTES));
        out.write_all(&header)
            .and_then(|()| out.flush())
            .map_err(|e| UsageError(format!("--samples {shown}: cannot write: {e}")))?;
        let (to_writer, full) = crossbeam_channel::bounded(QUEUED);
        let (emptied_tx, emptied) = crossbeam_channel::bounded(QUEUED);
        let failed = Arc::new(AtomicBool::new(false));
        let writer = {
            let failed = Arc::clone(&failed);
            std::thread::Builder::new()
                .name("samples".into())
                .spawn(move || write_lines(out, full, emptied_tx, failed))
                .map_err(|e| {
                    UsageError(format!(
                        "--samples {shown}: cannot start its writer thread: {e}"
                    ))
                })?
        };
        let lines = Lines {
            encoder,
            targets,
            draw: (spec.rate < 1.0).then(|| {
                (
                    fastrand::Rng::with_seed(cfg.traffic.seed ^ RATE_STREAM),
                    spec.rate,
                )
            }),
            anchor: (
                Instant::now(),
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros() as u64),
            ),
            warmup: cfg.schedule.warmup().is_some(),
            to_writer: Some(to_writer),
            emptied,
            failed,
        };
        Ok(Some(SampleFile {
            lines: Arc::new(Mutex::new(lines)),
            writer: Arc::new(Mutex::new(Some(writer))),
            shown,
            stdout: spec.dest == Dest::Stdout,
        }))
    }

    /// Does it write to stdout (so that the text summary must not)?
    pub fn writes_stdout(&self) -> bool {
        self.stdout
    }

    /// What to call with each sample the collector records (on the collector thread).
    pub fn recorder(&self) -> impl FnMut(&Sample) + Send + 'static {
        let lines = Arc::clone(&self.lines);
        move |s| lines.lock().record(s)
    }

    /// Hand the lines encoded so far to the writer thread (each second, and at the end).
    pub fn flush(&self) {
        self.lines.lock().flush();
    }

    /// Write out what is left and wait for the writer thread; the file is complete after it.
    /// Lines recorded later are dropped.
    ///
    /// # Errors
    ///
    /// The first write that failed, naming `--samples` and the file; a closed stdout pipe
    /// (`qpsbench --samples - | head`) is not an error.
    pub fn finish(&self) -> anyhow::Result<()> {
        {
            let mut lines = self.lines.lock();
            lines.flush();
            lines.to_writer = None;
        }
        let Some(writer) = self.writer.lock().take() else {
            return Ok(());
        };
        match writer.join() {
            Ok(Err(e)) if !(self.stdout && e.kind() == io::ErrorKind::BrokenPipe) => {
                Err(anyhow::anyhow!(
                    "writing --samples {}: {e} (the lines before it were written)",
                    self.shown
                ))
            }
            Ok(_) => Ok(()),
            Err(_) => Err(anyhow::anyhow!(
                "writing --samples {}: its writer thread stopped",
                self.shown
            )),
        }
    }
}

/// Where the lines go: stdout; a FIFO, opened once a process reads it; any other file that
/// is not a regular one (a device), written in place; else a regular file, created or emptied.
fn open_dest(spec: &SamplesSpec) -> io::Result<Box<dyn Write + Send>> {
    let path = match &spec.dest {
        Dest::Stdout => return Ok(Box::new(io::stdout())),
        Dest::File(p) => p,
    };
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.is_dir() {
            return Err(io::Error::other("it is a directory"));
        }
        if meta.file_type().is_fifo() {
            return Ok(Box::new(super::manager::open_fifo(path)?));
        }
        if !meta.is_file() {
            return Ok(Box::new(
                std::fs::OpenOptions::new().write(true).open(path)?,
            ));
        }
    }
    Ok(Box::new(std::fs::File::create(path)?))
}

/// Text a spreadsheet would run as a formula gets a leading quote (as the CSV reports do).
fn no_formula(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_the_fields_in_order() {
        let line = Line {
            start_unix_us: 1,
            stage: 2,
            user: 3,
            target: "GET http://h/a,b",
            attempt: 0,
            latency_us: 5,
            ttfb_us: None,
            status: Some(200),
            failure: None,
            body_bytes: 7,
            ttft_us: None,
            output_tokens: None,
        };
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(&line).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(COLUMNS.join(",").as_str()));
        assert_eq!(
            lines.next(),
            Some("1,2,3,\"GET http://h/a,b\",0,5,,200,,7,,")
        );
        let json: serde_json::Value = serde_json::to_value(&line).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut columns = COLUMNS.to_vec();
        columns.sort_unstable();
        assert_eq!(keys, columns);
        assert_eq!(no_formula("=1+1".into()), "'=1+1");
        assert_eq!(no_formula("GET http://h/".into()), "GET http://h/");
    }
}
