//! The outputs of one command, checked before the run starts (a bad path fails in the first
//! second, not after a long soak) and written when the report is ready, each complete or not at
//! all.
//!
//! A report file is written to a temporary file beside it (`.NAME.PID.tmp`, created and removed
//! once before the run, which is how the path is checked, then created again when the report is
//! ready) and renamed over it only once whole: a run killed (`kill -9`, out of memory) or
//! interrupted twice while writing leaves the previous report at that path as it was, never a
//! truncated one, and a run killed before its end leaves no temporary file. A symbolic link
//! stays a link (its target is replaced) and an old file's permissions are kept. A path that is
//! not a regular file — a pipe, a FIFO, `/dev/stdout`, a process substitution, a device — is
//! opened before the run and written as a stream, without truncating or seeking (which pipes
//! refuse); a FIFO that no process reads is refused before the run. One report that cannot be
//! written does not stop the others.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use super::{Exporter, csv, hdr_log, html, json};
use crate::config::output::{Dest, Format, OutputSpec};
use crate::error::UsageError;
use crate::report::Report;

/// Where one output goes.
enum Sink {
    Stdout,
    /// Not a regular file: written in place as a stream.
    Stream(File),
    /// A regular file (or one not there yet), replaced by renaming `tmp` over it. `tmp` exists
    /// only while the report is written (it was created and removed once when the outputs were
    /// opened, to check the place), so a run killed before its end leaves nothing behind.
    Replace {
        path: PathBuf,
        tmp: PathBuf,
        /// The old file's permissions, kept by the new one.
        permissions: Option<std::fs::Permissions>,
        written: bool,
    },
}

/// The opened outputs of one command.
pub struct ExportManager {
    outputs: Vec<(OutputSpec, Sink)>,
    /// Something else writes to stdout (`--samples -`).
    stdout_taken: bool,
}

impl ExportManager {
    /// Check every output now: a temporary file beside each report file, or the stream opened.
    /// Nothing at the report paths is touched yet.
    ///
    /// # Errors
    ///
    /// When a path cannot be written (a missing directory, no permission, a directory); the
    /// message names the flag and the path.
    pub fn open(specs: &[OutputSpec]) -> Result<Self, UsageError> {
        let mut outputs = Vec::with_capacity(specs.len());
        for spec in specs {
            let sink = match &spec.dest {
                Dest::Stdout => Sink::Stdout,
                Dest::File(path) => open_file(path).map_err(|e| {
                    UsageError(format!(
                        "{} {}: cannot create the file: {e}",
                        spec.format.flag(),
                        path.display()
                    ))
                })?,
            };
            outputs.push((spec.clone(), sink));
        }
        Ok(ExportManager {
            outputs,
            stdout_taken: false,
        })
    }

    /// Another output of the command writes to stdout (`--samples -`): the text summary goes to
    /// stderr.
    pub fn stdout_taken(&mut self) {
        self.stdout_taken = true;
    }

    /// Does any output go to stdout (so the text summary must not)?
    pub fn writes_stdout(&self) -> bool {
        self.stdout_taken || self.outputs.iter().any(|(s, _)| s.dest == Dest::Stdout)
    }

    /// Write every file output, then any stdout output. A failing output does not stop the
    /// others; a broken stdout pipe alone comes back as `io::ErrorKind::BrokenPipe`.
    ///
    /// # Errors
    ///
    /// When a format cannot serialize the report, or writing, syncing or renaming a file or
    /// writing stdout fails; the message names the flag and the path of every output that
    /// failed, with the OS error.
    pub fn write(&mut self, report: &Report) -> io::Result<()> {
        self.write_with(|format| serialize(format, report))
    }

    /// [`ExportManager::write`] of what `render` makes for each output's format (`qpsbench
    /// find` writes its own JSON and HTML through the same complete-or-absent files).
    ///
    /// # Errors
    ///
    /// As [`ExportManager::write`], and whatever `render` returns.
    pub fn write_with(&mut self, render: impl Fn(Format) -> io::Result<Vec<u8>>) -> io::Result<()> {
        let mut failed: Vec<io::Error> = Vec::new();
        for (spec, sink) in &mut self.outputs {
            let path = match &spec.dest {
                Dest::File(p) => p.display().to_string(),
                Dest::Stdout => continue,
            };
            let with_path = |e: io::Error| {
                io::Error::new(e.kind(), format!("{} {path}: {e}", spec.format.flag()))
            };
            // A stream of per-second lines had them as the run went, and its last ones from
            // `LiveFiles::finish`: writing the whole file again would repeat every line.
            if matches!(sink, Sink::Stream(_)) && super::live::is_live(spec.format) {
                continue;
            }
            let written = render(spec.format).and_then(|bytes| match sink {
                Sink::Stdout => Ok(()),
                Sink::Stream(file) => file.write_all(&bytes).and_then(|()| file.flush()),
                Sink::Replace {
                    path,
                    tmp,
                    permissions,
                    written,
                } => replace(path, tmp, permissions.as_ref(), written, &bytes),
            });
            if let Err(e) = written {
                failed.push(with_path(e));
            }
        }
        for (spec, sink) in &self.outputs {
            // `--jsonl -` went to stdout row by row as the run went.
            if !matches!(sink, Sink::Stdout) || spec.format == Format::Jsonl {
                continue;
            }
            let written = render(spec.format).and_then(|bytes| {
                let mut out = io::stdout().lock();
                out.write_all(&bytes)?;
                out.flush()
            });
            if let Err(e) = written {
                failed.push(e);
            }
        }
        match failed.len() {
            0 => Ok(()),
            1 => Err(failed.remove(0)),
            _ => {
                let kind = failed[0].kind();
                let all: Vec<String> = failed.iter().map(ToString::to_string).collect();
                Err(io::Error::new(kind, all.join("; ")))
            }
        }
    }
}

/// The sink of a file destination: a stream for what is not a regular file, else a temporary
/// file beside it.
fn open_file(path: &Path) -> io::Result<Sink> {
    // `/dev/stderr`, `/dev/fd/N` (a process substitution), `/proc/self/fd/N`: a descriptor of
    // this process, whatever it points to (a pipe, a terminal, the file a shell redirected it
    // to). It is written where it points, appended, never replaced: renaming over it would
    // replace the system's link, or the file stderr goes to, and a pipe's link cannot be read.
    // A FIFO, a terminal or a device (through a link too) is written in place as well.
    if is_stream(path) {
        return open_stream(path).map(Sink::Stream);
    }
    // A symbolic link stays a link: the file it points to is the one replaced.
    let path = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(target) => target,
            Err(_) => {
                let target = std::fs::read_link(path)?;
                path.parent().unwrap_or(Path::new(".")).join(target)
            }
        },
        _ => path.to_path_buf(),
    };
    let mut permissions = None;
    if let Ok(meta) = std::fs::metadata(&path) {
        if meta.is_dir() {
            return Err(io::Error::other("it is a directory"));
        }
        permissions = Some(meta.permissions());
    }
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("no file name"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    // The place is checked now, before the run: the report is written whole, beside the file.
    File::create(&tmp).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot create a file in {} (a report is written whole to a temporary file \
                 beside it, then renamed): {e}",
                dir.display()
            ),
        )
    })?;
    let _ = std::fs::remove_file(&tmp);
    Ok(Sink::Replace {
        path,
        tmp,
        permissions,
        written: false,
    })
}

/// Is `path` written in place, as a stream, rather than replaced: a descriptor of this process
/// (`/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`), or what is neither a regular file nor a
/// directory (a FIFO, a terminal), followed through links?
pub(super) fn is_stream(path: &Path) -> bool {
    path.starts_with("/dev")
        || path.starts_with("/proc")
        || std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Open what is not a regular file for writing in place: a descriptor of this process
/// (`/dev/stdout`, `/dev/fd/N`: appended to), a FIFO ([`open_fifo`]), a terminal or device.
pub(super) fn open_stream(path: &Path) -> io::Result<File> {
    if path.starts_with("/dev") || path.starts_with("/proc") {
        return OpenOptions::new().append(true).open(path);
    }
    if std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo()) {
        return open_fifo(path);
    }
    OpenOptions::new().write(true).open(path)
}

/// Open a FIFO for writing only when a process reads it (opening it would otherwise wait for
/// one, before the run, for ever), then make writes to it block as for any stream.
pub(super) fn open_fifo(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENXIO) => io::Error::other(
                "no process is reading this FIFO: start its reader first (e.g. cat FIFO &)",
            ),
            _ => e,
        })?;
    // SAFETY: F_GETFL/F_SETFL on a descriptor this function owns.
    unsafe {
        let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK) < 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(file)
}

/// Write `bytes` to a temporary file beside `path` (with the old file's permissions), make
/// them durable, and rename it over `path`. On failure the temporary file is removed and `path`
/// keeps what it held. A report is written once.
fn replace(
    path: &Path,
    tmp: &Path,
    permissions: Option<&std::fs::Permissions>,
    written: &mut bool,
    bytes: &[u8],
) -> io::Result<()> {
    if std::mem::replace(written, true) {
        return Err(io::Error::other("already written"));
    }
    let result = File::create(tmp).and_then(|mut f| {
        if let Some(p) = permissions {
            f.set_permissions(p.clone())?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(tmp, path)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    result
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
        Format::Jsonl => Box::new(super::jsonl::Jsonl),
        Format::ResultJson => Box::new(super::result_json::ResultJson),
    }
}
