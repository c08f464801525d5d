//! `qpsbench serve`: the embedded target server, until killed.

use super::limits::raise_open_file_limit;
use crate::cli::{ServeArgs, UsageArg};
use crate::error::{Error, UsageError, bad, exit};
use crate::serve::{self, LlmConfig, MAX_STREAM_TOKENS, ServeConfig, UsageMode};

/// `qpsbench serve`.
///
/// # Errors
///
/// [`Error::Usage`] for bad flags; [`Error::Run`] when the server cannot start (the address is
/// taken).
pub fn serve_command(args: ServeArgs) -> Result<i32, Error> {
    if !(0.0..=1.0).contains(&args.error_rate) {
        bad(format!(
            "--error-rate {} must be between 0 and 1",
            args.error_rate
        ))?;
    }
    if args.threads == Some(0) {
        bad("--threads must be at least 1")?;
    }
    for (flag, n, least) in [
        ("--tokens", args.tokens, 0),
        ("--tokens-per-event", args.tokens_per_event, 1),
        ("--reasoning-tokens", args.reasoning_tokens, 0),
    ] {
        if !(least..=MAX_STREAM_TOKENS).contains(&n) {
            bad(format!(
                "{flag} {n} must be within {least}..={MAX_STREAM_TOKENS}"
            ))?;
        }
    }
    raise_open_file_limit();
    let llm = LlmConfig {
        first_token: args.first_token,
        tokens: args.tokens,
        interval: args.token_interval,
        jitter: args.token_jitter,
        usage: match args.usage {
            UsageArg::Never => UsageMode::Never,
            UsageArg::OnRequest => UsageMode::OnRequest,
            UsageArg::Always => UsageMode::Always,
        },
        tokens_per_event: args.tokens_per_event,
        reasoning_tokens: args.reasoning_tokens,
    };
    llm.validate()
        .map_err(|e| UsageError(format!("qpsbench serve: {e}")))?;
    let mut cfg = ServeConfig {
        addr: args.addr,
        delay: args.delay,
        jitter: args.jitter,
        error_rate: args.error_rate,
        llm,
        ..ServeConfig::default()
    };
    if let Some(t) = args.threads {
        cfg.threads = t;
    }
    serve::run_blocking(cfg)?;
    Ok(exit::OK)
}
