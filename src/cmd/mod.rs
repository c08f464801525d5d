//! The subcommands, from parsed arguments to an exit code: each returns `Ok(code)` for a run
//! that was done (0, 1 when a `--fail-on` threshold failed, 130 when interrupted) or an
//! [`Error`] that `main` prints as one line and maps to its exit code. All printing of results
//! happens here.

pub mod demo;
pub mod find;
pub mod limits;
mod metrics;
pub mod run;
pub mod saved;
pub mod serve;
pub mod write;

use crate::cli::Command;
use crate::error::Error;

/// Run one subcommand.
///
/// # Errors
///
/// [`Error::Usage`] for bad input (nothing was sent), [`Error::Run`] when the command could not
/// be done.
pub fn dispatch(command: Command) -> Result<i32, Error> {
    match command {
        Command::Run(args) => run::run_command(args),
        Command::Serve(args) => serve::serve_command(args),
        Command::Demo(args) => demo::demo_command(args),
        Command::Find(args) => find::find_command(args),
        Command::Merge(args) => saved::merge_command(args),
        Command::Report(args) => saved::report_command(args),
        Command::Compare(args) => saved::compare_command(args),
        // Made whole first, then written: `qpsbench completions bash | head` closed the pipe
        // under clap_complete, which panics on a write error.
        Command::Completions(args) => {
            let mut script = Vec::new();
            crate::cli::generate::completions(args.shell, &mut script);
            print_all(&script, "the completion script")
        }
        Command::Man => {
            let mut page = Vec::new();
            crate::cli::generate::man_page(&mut page)
                .map_err(|e| Error::Run(anyhow::anyhow!("cannot make the man page: {e}")))?;
            print_all(&page, "the man page")
        }
    }
}

/// Write `bytes` (`what`) to stdout: exit code 0, also when the reader closed the pipe early
/// (`| head`), as `run` does.
fn print_all(bytes: &[u8], what: &str) -> Result<i32, Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Run(anyhow::anyhow!("cannot write {what}: {e}")))
        }
        _ => Ok(0),
    }
}
