//! `qpsbench completions SHELL` and `qpsbench man`: shell completions (clap_complete) and a
//! man page (clap_mangen), both generated from the same clap definitions as the parser, so they
//! never disagree with it.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

/// Write the completion script of `shell` for `qpsbench` to `out`.
pub fn completions(shell: Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut Cli::command(), "qpsbench", out);
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
            .replace(".SH OPTIONS", ".SS Options");
        out.write_all(part.as_bytes())?;
    }
    // The metric definitions and exit codes of --help, under a heading that says so.
    let mut extra = Vec::new();
    man.render_extra_section(&mut extra)?;
    let extra =
        String::from_utf8_lossy(&extra).replace(".SH EXTRA", ".SH \"METRICS AND EXIT CODES\"");
    out.write_all(extra.as_bytes())?;
    man.render_version_section(out)?;
    Ok(())
}
