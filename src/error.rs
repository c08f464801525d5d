//! The two ways a command fails, and the exit code of each (README, "Exit codes"):
//! [`UsageError`], bad input found before any request is sent (exit 2), and a run that could
//! not be done (exit 1).

/// Exit codes.
pub mod exit {
    /// The run was done and every `--fail-on` threshold passed.
    pub const OK: i32 = 0;
    /// A `--fail-on` threshold failed, or the run could not be done.
    pub const FAILED: i32 = 1;
    /// Bad usage or input: nothing was sent.
    pub const USAGE: i32 = 2;
    /// Interrupted by Ctrl-C or SIGTERM (even when a threshold failed too).
    pub const INTERRUPTED: i32 = 130;
}

/// A bad flag value, flag combination or input file: shown as one `error:` line, exit code 2.
/// The message names the flag or file and says how to fix it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct UsageError(pub String);

/// `Err(UsageError(msg))`: the one way code in this crate says "bad input".
///
/// # Errors
///
/// Always: that is its purpose.
pub fn bad<T>(msg: impl Into<String>) -> Result<T, UsageError> {
    Err(UsageError(msg.into()))
}

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input (exit code 2).
    #[error("{0}")]
    Usage(#[from] UsageError),
    /// The run could not be done (exit code 1): a thread could not start, a report could not
    /// be written.
    #[error("{0:#}")]
    Run(#[from] anyhow::Error),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Run(_) => exit::FAILED,
        }
    }
}
