//! `qpsbench demo --llm`: the embedded OpenAI-compatible streaming route on an ephemeral
//! loopback port, and a short 1 -> 4 -> 8 user ramp against it with `--openai`, so that the
//! streaming metrics (TTFT, ITL, TPOT, tokens/s) show up in the live lines and the summary.

use std::time::Duration;

use clap::Parser;

use crate::app::{exit, run_config, usage_error};
use crate::cli::{Cli, Command, DemoArgs};
use crate::config::Config;
use crate::parse::format_duration;
use crate::serve::{self, LlmConfig, ServeConfig, UsageMode};

/// The simulated model of the demo.
fn model() -> LlmConfig {
    LlmConfig {
        first_token: Duration::from_millis(50),
        tokens: 20,
        interval: Duration::from_millis(10),
        jitter: Duration::from_millis(2),
        usage: UsageMode::OnRequest,
    }
}

/// Run the LLM demo; returns the exit code.
pub fn run(args: DemoArgs) -> i32 {
    let llm = model();
    let server_cfg = ServeConfig {
        threads: 1,
        llm: llm.clone(),
        ..ServeConfig::ephemeral()
    };
    let server = match serve::spawn(server_cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the embedded target on 127.0.0.1: {e}");
            return exit::FAILED;
        }
    };
    let url = format!("http://{}/v1/chat/completions", server.addr);
    // Parsed as the command line is, so that the demo is exactly the run it prints.
    let mut argv: Vec<String> = [
        "qpsbench",
        "run",
        "--url",
        &url,
        "--openai",
        "qpsbench-sim",
        "--ramp",
        "1,4,8",
        "--step",
        &format!("{}ms", args.step.as_millis()),
        "--timeout",
        "10s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
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
    let cfg = match Cli::try_parse_from(&argv).map(|c| c.command) {
        Ok(Command::Run(a)) => match Config::try_from(a) {
            Ok(c) => c,
            Err(e) => return usage_error(e),
        },
        Ok(_) => unreachable!("the demo builds a run command"),
        Err(e) => return usage_error(e.to_string().lines().next().unwrap_or("")),
    };
    let step = format_duration(args.step);
    let preface = format!(
        "demo: embedded OpenAI-compatible streaming target at {url}\n\
         demo: {} ms to the first token, then {} tokens {} ms apart (+ up to {} ms jitter);\n\
         demo: ramp 1 -> 4 -> 8 users, {step} per stage. The same run by hand:\n\
         demo:   qpsbench serve --addr {} --first-token {}ms --tokens {} --token-interval {}ms \
         --token-jitter {}ms &\n\
         demo:   qpsbench run --url {url} --openai qpsbench-sim --ramp 1,4,8 --step {step}",
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
    let code = run_config(&cfg, Some(&preface));
    server.stop();
    code
}
