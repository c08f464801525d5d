//! qpsbench: a thread-per-user HTTP load generator. docs/ARCHITECTURE.md has the data flow and
//! the map of the code.
//!
//! The layering rule: imports point down the layers of the flow, a module importing only from
//! its own layer and those below it — commands (`main.rs`, [`cmd`]) → [`run`] → the embedded
//! target ([`serve`]) → [`output`] and [`export`] → [`report`] → [`engine`] → [`collector`] →
//! [`config`] and [`cli`] → [`stats`] → the leaves. The leaves are the feature families
//! ([`traffic`], [`stream`]) and the small shared pieces ([`sample`], [`redact`], [`parse`],
//! [`error`]): they import no stage. clap types never leave `cli.rs`, `config/` and
//! `main.rs`; no import cycle spans more than two files. The configuration sits low because the
//! engine, the collector and the report all read it; the collector prints nothing (it is handed
//! a sink for each closed second). `scripts/layering.py` checks the rule in `scripts/test.sh`.

pub mod cli;
pub mod cmd;
pub mod collector;
pub mod config;
pub mod engine;
pub mod error;
pub mod export;

pub mod output;
pub mod parse;
pub mod redact;
pub mod report;
pub mod sample;
pub mod serve;
pub mod stats;
pub mod stream;
pub mod traffic;

use crossbeam_channel::Receiver;

pub use config::Config;
pub use report::Report;

/// Run the load described by `cfg` and return its report, printing the live line of each
/// second on stderr unless `cfg.quiet`. `interrupt` ends the run early (the report then says
/// `interrupted`).
///
/// # Errors
///
/// When the run cannot be done: a user thread or the collector cannot start (the process's
/// thread limit), or the agent configuration is refused (a bad `--proxy`).
pub fn run(cfg: &Config, interrupt: &Receiver<()>) -> anyhow::Result<Report> {
    // `--jsonl`, `--csv-series`, `--hdr-log`: each second's line as it closes (the final files
    // replace them at the end).
    let mut files = export::live::LiveFiles::open(cfg)?;
    let quiet = cfg.quiet;
    let live: Option<collector::SecondSink> = (!quiet || !files.is_empty()).then(|| {
        Box::new(move |row: &stats::rows::SecondReport| {
            if !quiet {
                output::live::print_second(row);
            }
            files.push(row);
        }) as collector::SecondSink
    });
    let sinks = collector::Sinks {
        on_second: live,
        on_sample: None,
        on_itl: None,
    };
    let progress = engine::run::Progress::default();
    let result = engine::run::execute(cfg, interrupt, sinks, &progress)?;
    Ok(Report::build(cfg, &result))
}
