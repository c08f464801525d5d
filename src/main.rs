use clap::Parser;
use clap::error::ErrorKind;

use qpsbench::app::{self, exit};
use qpsbench::cli::{Cli, Command, with_default_subcommand};

fn main() {
    let argv = with_default_subcommand(std::env::args_os().collect());
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => std::process::exit(clap_error(e)),
    };
    let code = match cli.command {
        Command::Run(args) => app::run_command(args),
        Command::Serve(args) => app::serve_command(args),
        Command::Demo(args) => app::demo_command(args),
        Command::Merge(args) => app::merge_command(args),
        Command::Report(args) => app::report_command(args),
    };
    std::process::exit(code);
}

/// Help and version print as clap renders them; every other parse error becomes one line.
fn clap_error(e: clap::Error) -> i32 {
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
            let line = qpsbench::parse::one_line(first.join(" "));
            let line = line.strip_prefix("error: ").unwrap_or(&line);
            eprintln!("error: {line} (see qpsbench --help)");
            exit::USAGE
        }
    }
}
