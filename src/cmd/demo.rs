//! `qpsbench demo`: the embedded target on an ephemeral loopback port and a short ramp against
//! it. With `--llm`, the embedded OpenAI-compatible streaming route and `--openai`, so that the
//! streaming metrics (TTFT, ITL, TPOT, tokens/s) show up in the live lines and the summary.
//!
//! Both demos build their run as a command line and parse it as `qpsbench run` would: the demo
//! is exactly the run it prints.

use std::time::Duration;

use super::run::run_config;
use crate::cli::{DemoArgs, parse_run_args};
use crate::config::Config;
use crate::error::{Error, UsageError, bad};
use crate::parse::format_duration;
use crate::serve::{self, LlmConfig, ServeConfig, ServerHandle, UsageMode};

/// `qpsbench demo`.
///
/// # Errors
///
/// [`Error::Usage`] for bad flags; [`Error::Run`] when the embedded target cannot start or the
/// run cannot be done.
pub fn demo_command(args: DemoArgs) -> Result<i32, Error> {
    if args.step.is_zero() {
        bad("--step must be above 0: write e.g. --step 2s")?;
    }
    if args.llm {
        llm_demo(args)
    } else {
        plain_demo(args)
    }
}

/// The plain demo: a 0 -> 4 -> 8 -> 16 user ramp against `/` with a little delay and errors.
fn plain_demo(args: DemoArgs) -> Result<i32, Error> {
    let server = start(ServeConfig {
        delay: Duration::from_millis(2),
        jitter: Duration::from_millis(3),
        error_rate: 0.01,
        threads: 1,
        ..ServeConfig::ephemeral()
    })?;
    let url = format!("http://{}/", server.addr);
    let cfg = run_args(&args, &["--url", &url, "--ramp", "0,4,8,16"]);
    let step = format_duration(args.step);
    let preface = format!(
        "demo: embedded target at {url} (2 ms delay + up to 3 ms jitter, 1% of answers are 500);\n\
         demo: ramp 0 -> 4 -> 8 -> 16 users, {step} per stage. The same run by hand:\n\
         demo:   qpsbench serve --addr {} --delay 2ms --jitter 3ms --error-rate 0.01 &\n\
         demo:   qpsbench run --url {url} --ramp 0,4,8,16 --step {step} --timeout {DEMO_TIMEOUT}",
        server.addr,
    );
    let code = cfg.and_then(|cfg| run_config(&cfg, Some(&preface)));
    server.stop();
    code
}

/// The LLM demo: a 1 -> 4 -> 8 user ramp against the simulated OpenAI-compatible route.
fn llm_demo(args: DemoArgs) -> Result<i32, Error> {
    let llm = LlmConfig {
        first_token: Duration::from_millis(50),
        tokens: 20,
        interval: Duration::from_millis(10),
        jitter: Duration::from_millis(2),
        usage: UsageMode::OnRequest,
        ..LlmConfig::default()
    };
    let server = start(ServeConfig {
        threads: 1,
        llm: llm.clone(),
        ..ServeConfig::ephemeral()
    })?;
    let url = format!("http://{}/v1/chat/completions", server.addr);
    let cfg = run_args(
        &args,
        &["--url", &url, "--openai", "qpsbench-sim", "--ramp", "1,4,8"],
    );
    let step = format_duration(args.step);
    let preface = format!(
        "demo: embedded OpenAI-compatible streaming target at {url}\n\
         demo: {} ms to the first token, then {} tokens {} ms apart (+ up to {} ms jitter);\n\
         demo: ramp 1 -> 4 -> 8 users, {step} per stage. The same run by hand:\n\
         demo:   qpsbench serve --addr {} --first-token {}ms --tokens {} --token-interval {}ms \
         --token-jitter {}ms &\n\
         demo:   qpsbench run --url {url} --openai qpsbench-sim --ramp 1,4,8 --step {step} \
         --timeout {DEMO_TIMEOUT}",
        llm.first_token.as_millis(),
        llm.tokens,
        llm.interval.as_millis(),
        llm.jitter.as_millis(),
        server.addr,
        llm.first_token.as_millis(),
        llm.tokens,
        llm.interval.as_millis(),
        llm.jitter.as_millis(),
    );
    let code = cfg.and_then(|cfg| run_config(&cfg, Some(&preface)));
    server.stop();
    code
}

/// Start the embedded target on an ephemeral loopback port.
fn start(cfg: ServeConfig) -> Result<ServerHandle, Error> {
    serve::spawn(cfg).map_err(|e| {
        Error::Run(anyhow::anyhow!(
            "cannot start the embedded target on 127.0.0.1: {e}"
        ))
    })
}

/// The demo's run: `qpsbench run` with `flags`, the demo's `--step`, a 10 s timeout, and its
/// `--quiet` and output flags, parsed and checked as the command line is.
/// The demos' `--timeout`, in the run and in the command printed as "the same run by hand".
const DEMO_TIMEOUT: &str = "10s";

fn run_args(args: &DemoArgs, flags: &[&str]) -> Result<Config, Error> {
    let mut argv: Vec<String> = ["qpsbench", "run"]
        .iter()
        .chain(flags)
        .map(|s| s.to_string())
        .collect();
    // Nanoseconds: the step exactly as given.
    argv.extend([
        "--step".into(),
        format!("{}ns", args.step.as_nanos()),
        "--timeout".into(),
        DEMO_TIMEOUT.into(),
    ]);
    if args.quiet {
        argv.push("--quiet".into());
    }
    let o = &args.outputs;
    for (flag, value) in [
        ("--json", &o.json),
        ("--csv", &o.csv),
        ("--csv-series", &o.csv_series),
        ("--html", &o.html),
        ("--hdr-log", &o.hdr_log),
    ] {
        if let Some(v) = value {
            argv.push(flag.into());
            argv.push(v.clone());
        }
    }
    let run = parse_run_args(&argv).map_err(UsageError)?;
    Ok(Config::try_from(run)?)
}
