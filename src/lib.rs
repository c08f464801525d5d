//! qpsbench: a thread-per-user HTTP load generator. See `shared/DESIGN.md` for the data flow.

pub mod app;
pub mod auth;
pub mod cli;
pub mod collector;
pub mod config;
pub mod data;
pub mod demo_llm;
pub mod engine;
pub mod evidence;
pub mod export;
pub mod gate;
pub mod llm;
pub mod merge;
pub mod output;
pub mod redact;
pub mod report;
pub mod retry;
pub mod sample;
pub mod serve;
pub mod stats;
pub mod stream;
pub mod stream_stats;
pub mod targets;
pub mod template;
pub mod traffic;
pub mod units;

use crossbeam_channel::Receiver;

pub use config::Config;
pub use report::Report;

/// Run the load described by `cfg` and return its report. `interrupt` ends the run early
/// (the report then says `interrupted`).
pub fn run(cfg: &Config, interrupt: &Receiver<()>) -> anyhow::Result<Report> {
    let result = engine::execute(cfg, interrupt)?;
    Ok(Report::build(cfg, &result))
}
