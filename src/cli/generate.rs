//! `qpsbench completions SHELL` and `qpsbench man`: shell completions (clap_complete) and a
//! man page (clap_mangen), both generated from the same clap definitions as the parser, so they
//! never disagree with it.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

/// Write the completion script of `shell` for `qpsbench` to `out`. `qpsbench --url ...` is
/// `qpsbench run --url ...` (the subcommand may be left out), so the top level completes
/// `run`'s options and their values as well as the subcommands.
pub fn completions(shell: Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut completion_command(), "qpsbench", out);
}

/// What completion reads of `arg` (names, help, values, value hint), without the requirements
/// and conflicts that name `run`'s other arguments: the top level is completed with these,
/// never parsed.
fn for_completion(arg: &clap::Arg) -> clap::Arg {
    let mut a = clap::Arg::new(arg.get_id().clone())
        .action(arg.get_action().clone())
        .value_hint(arg.get_value_hint())
        .hide(arg.is_hide_set());
    if let Some(long) = arg.get_long() {
        a = a.long(long.to_string());
    }
    if let Some(short) = arg.get_short() {
        a = a.short(short);
    }
    if let Some(help) = arg.get_help() {
        a = a.help(help.clone());
    }
    if let Some(n) = arg.get_num_args() {
        a = a.num_args(n);
    }
    if let Some(names) = arg.get_value_names() {
        a = a.value_names(names.to_vec());
    }
    if let Some(aliases) = arg.get_visible_aliases() {
        a = a.visible_aliases(aliases.into_iter().map(str::to_string).collect::<Vec<_>>());
    }
    let values = arg.get_possible_values();
    if !values.is_empty() {
        a = a.value_parser(clap::builder::PossibleValuesParser::new(values));
    }
    a
}

/// The parser's command with `run`'s arguments also at the top level, for completion only.
fn completion_command() -> clap::Command {
    let mut cmd = Cli::command();
    let run_args: Vec<clap::Arg> = cmd
        .find_subcommand("run")
        .map(|run| {
            run.get_arguments()
                .filter(|a| !a.is_positional())
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    for arg in run_args {
        let taken = cmd.get_arguments().any(|a| {
            a.get_id() == arg.get_id()
                || (a.get_long().is_some() && a.get_long() == arg.get_long())
                || (a.get_short().is_some() && a.get_short() == arg.get_short())
        });
        if !taken {
            cmd = cmd.arg(for_completion(&arg));
        }
    }
    // clap_complete's bash script offers hidden options too (zsh and fish leave them out):
    // a subcommand with hidden options (find hides the run flags it refuses) is completed
    // from a copy without them.
    let with_hidden: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| s.get_arguments().any(clap::Arg::is_hide_set))
        .map(|s| s.get_name().to_string())
        .collect();
    for name in with_hidden {
        cmd = cmd.mut_subcommand(&name, |sub| {
            let mut visible = clap::Command::new(sub.get_name().to_string());
            if let Some(about) = sub.get_about() {
                visible = visible.about(about.clone());
            }
            for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
                visible = visible.arg(for_completion(arg));
            }
            visible
        });
    }
    cmd
}

/// Write the man page (roff, section 1) to `out`: the options of every subcommand, then the
/// metric definitions and exit codes of `--help`.
///
/// # Errors
///
/// When `out` cannot be written.
pub fn man_page(out: &mut dyn Write) -> io::Result<()> {
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    // Each subcommand under a heading of its own, its sections as subsections.
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("qpsbench {}", sub.get_name());
        writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
        let sub_man = clap_mangen::Man::new(sub.clone().bin_name(name.clone()));
        let mut part = Vec::new();
        sub_man.render_synopsis_section(&mut part)?;
        sub_man.render_description_section(&mut part)?;
        sub_man.render_options_section(&mut part)?;
        let part = String::from_utf8_lossy(&part)
            .replace(".SH SYNOPSIS", ".SS Synopsis")
            .replace(".SH DESCRIPTION", ".SS Description")
            .replace(".SH OPTIONS", ".SS Options")
            // Option groups (LLM streaming, ...) are subsections of their subcommand too: as
            // sections they would appear once per subcommand at the top level.
            .replace(".SH ", ".SS ");
        out.write_all(part.as_bytes())?;
    }
    // The metric definitions and exit codes of --help, under a heading that says so.
    let mut extra = Vec::new();
    man.render_extra_section(&mut extra)?;
    // The text is laid out in columns: shown as it is (.nf), not refilled.
    let extra =
        String::from_utf8_lossy(&extra).replace(".SH EXTRA", ".SH \"METRICS AND EXIT CODES\"\n.nf");
    out.write_all(extra.as_bytes())?;
    writeln!(out, ".fi")?;
    man.render_version_section(out)?;
    Ok(())
}
