//! The `qpsbench` binary: parse argv, run the subcommand, map its outcome to an exit code.
//! The one place that prints an error and exits (README, "Exit codes").

use clap::Parser;
use clap::error::ErrorKind;

use qpsbench::cli::{Cli, help_pointer, peer_flag, with_default_subcommand};
use qpsbench::error::{Error, exit};
use qpsbench::parse::one_line;

fn main() {
    let argv = with_default_subcommand(std::env::args_os().collect());
    let help = help_pointer(&argv);
    let code = match Cli::try_parse_from(argv) {
        Ok(cli) => qpsbench::cmd::dispatch(cli.command).unwrap_or_else(|e| {
            match &e {
                Error::Usage(u) => eprintln!("error: {}", one_line(u.to_string())),
                Error::Run(r) => eprintln!("error: {r:#}"),
            }
            e.exit_code()
        }),
        Err(e) => clap_error(e, &help),
    };
    std::process::exit(code);
}

/// Help and version print as clap renders them; every other parse error becomes one line.
fn clap_error(e: clap::Error, help: &str) -> i32 {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            exit::OK
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            let _ = e.print();
            exit::USAGE
        }
        _ => {
            let rendered = e.render().to_string();
            // The message ends where clap's usage, tip or help pointer begins (a blank line
            // inside a quoted value does not end it: the flag named after it must show).
            let end = ["\n\nUsage:", "\n\nFor more information", "\n\n  tip:"]
                .iter()
                .filter_map(|m| rendered.find(m))
                .min()
                .unwrap_or(rendered.len());
            let first: Vec<&str> = rendered[..end]
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            let line = one_line(first.join(" "));
            let line = line.strip_prefix("error: ").unwrap_or(&line);
            // clap's suggestion for a typo ("a similar argument exists: '--duration'") stays
            // on the line; the flags other tools use for what qpsbench names otherwise get the
            // right name (clap's nearest spelling of --threads is --stream).
            let peer = e
                .get(clap::error::ContextKind::InvalidArg)
                .and_then(|v| match v {
                    clap::error::ContextValue::String(s) => peer_flag(s),
                    _ => None,
                });
            let tip = peer.map(str::to_string).or_else(|| {
                rendered
                    .find("\n\n  tip:")
                    .map(|at| &rendered[at + 2..])
                    .and_then(|t| t.split("\n\n").next())
                    .map(|t| one_line(t.trim().to_string()))
                    .filter(|t| t.contains("similar"))
            });
            match tip {
                Some(tip) => eprintln!("error: {line}; {tip} (see {help})"),
                None => eprintln!("error: {line} (see {help})"),
            }
            exit::USAGE
        }
    }
}
