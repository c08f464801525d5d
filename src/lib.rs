//! qpsbench: a thread-per-user HTTP load generator. See `shared/DESIGN.md` for the data flow.

pub mod app;
pub mod cli;
pub mod collector;
pub mod config;
pub mod demo_llm;
pub mod engine;
pub mod error;
pub mod export;

pub mod merge;
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

/// Run the load described by `cfg` and return its report. `interrupt` ends the run early
/// (the report then says `interrupted`).
pub fn run(cfg: &Config, interrupt: &Receiver<()>) -> anyhow::Result<Report> {
    let result = engine::execute(cfg, interrupt)?;
    Ok(Report::build(cfg, &result))
}
