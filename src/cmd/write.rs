//! Writing a finished report: the files, then the text summary. Used by every command that
//! ends in a report (run, demo, merge, report).

use std::io::{self, Write};

use crate::error::Error;
use crate::export::manager::ExportManager;
use crate::output::summary;
use crate::report::Report;

/// Write a finished report to its outputs (the files, then the text summary, on stderr when a
/// report goes to stdout) and return `code`: a closed stdout pipe (`qpsbench ... | head`) is
/// not an error.
///
/// # Errors
///
/// [`Error::Run`] when a report cannot be written.
pub fn write_report(report: &Report, exports: &mut ExportManager, code: i32) -> Result<i32, Error> {
    match write_outputs(report, exports) {
        Ok(()) => Ok(code),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(code),
        Err(e) => Err(Error::Run(anyhow::anyhow!("writing the report: {e}"))),
    }
}

/// The summary is printed whatever happens to the report files: a report that cannot be
/// written is named after it, and the others are written.
fn write_outputs(report: &Report, exports: &mut ExportManager) -> io::Result<()> {
    // For the terminal it goes to (stderr when a report takes stdout), or `COLUMNS`.
    let width = crate::output::table::terminal_width(exports.writes_stdout());
    let text = summary::render_width(report, width);
    if exports.writes_stdout() {
        let printed = io::stderr().lock().write_all(text.as_bytes());
        exports.write(report).and(printed)
    } else {
        let written = exports.write(report);
        let mut out = io::stdout().lock();
        let printed = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        written.and(printed)
    }
}
