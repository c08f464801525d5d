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
/// `interrupted`). No live `/metrics`: see [`run_with_metrics`].
///
/// # Errors
///
/// When the run cannot be done: the `--samples` file cannot be created or written, a user
/// thread or the collector cannot start (the process's thread limit), or the agent
/// configuration is refused (a bad `--proxy`).
pub fn run(cfg: &Config, interrupt: &Receiver<()>) -> anyhow::Result<Report> {
    let samples = export::samples::SampleFile::open(cfg)?;
    let report = run_with(cfg, interrupt, samples.as_ref(), None)?;
    if let Some(s) = &samples {
        s.finish()?;
    }
    Ok(report)
}

/// [`run`] with its `--samples` file already open (`qpsbench run` opens it before the run
/// header, so that a bad path is a usage error; the file is flushed, not finished), counting
/// the run into `metrics` (the live `/metrics` page, served by the caller) as it goes.
///
/// # Errors
///
/// As [`run`], but for the samples file.
pub fn run_with(
    cfg: &Config,
    interrupt: &Receiver<()>,
    samples: Option<&export::samples::SampleFile>,
    metrics: Option<&std::sync::Arc<export::metrics::Metrics>>,
) -> anyhow::Result<Report> {
    // `--jsonl`, `--csv-series`, `--hdr-log`: each second's line as it closes (the final files
    // replace them at the end).
    let files = std::sync::Arc::new(parking_lot::Mutex::new(export::live::LiveFiles::open(cfg)?));
    let files_at_end = files.clone();
    let live_files = !files.lock().is_empty();
    let quiet = cfg.quiet;
    // `--samples`: its lines are written out as each second closes, too.
    let tick = samples.cloned();
    let progress = engine::run::Progress::default();
    let (metrics_sample, on_itl, mut metrics_second) =
        match metrics.map(|m| m.begin_run(&cfg.schedule, &progress)) {
            Some(m) => (Some(m.on_sample), Some(m.on_itl), Some(m.on_second)),
            None => (None, None, None),
        };
    // Where the run stands, at the end of each live line; on a terminal, a bar under them.
    let mut standing = output::progress::RunProgress::new(cfg);
    // No bar when the same terminal gets lines on stdout as the run goes (`--jsonl -`,
    // `--samples -`): they would be drawn through it.
    let stdout_live = cfg.outputs.iter().any(|o| {
        o.dest == config::output::Dest::Stdout && o.format == config::output::Format::Jsonl
    }) || samples.is_some_and(export::samples::SampleFile::writes_stdout);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && !(stdout_live && std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let bar = (!quiet && terminal).then(|| {
        let first = match (cfg.start_at, cfg.schedule.warmup()) {
            (Some(_), _) => "waiting for --start-at".to_string(),
            (None, Some(w)) => format!("warm-up {}", parse::format_duration(w)),
            (None, None) => String::new(),
        };
        output::progress::TerminalBar::new(standing.fraction_known(), &first)
    });
    let bar_at_end = bar.clone();
    let live: Option<collector::SecondSink> =
        (!quiet || live_files || tick.is_some() || metrics_second.is_some()).then(|| {
            Box::new(move |row: &stats::rows::SecondReport| {
                if !quiet {
                    let now = standing.push(row);
                    let line = output::live::format_second(row, &now);
                    match &bar {
                        Some(bar) => bar.second(&line, standing.fraction(), &now),
                        None => output::live::print_line(&line),
                    }
                }
                files.lock().push(row);
                if let Some(t) = &tick {
                    t.flush();
                }
                if let Some(sink) = &mut metrics_second {
                    sink(row);
                }
            }) as collector::SecondSink
        });
    let samples_sink = samples.map(|s| Box::new(s.recorder()) as collector::SampleSink);
    let on_sample = match (samples_sink, metrics_sample) {
        (Some(mut a), Some(mut b)) => Some(Box::new(move |s: &sample::Sample| {
            a(s);
            b(s);
        }) as collector::SampleSink),
        (a, b) => a.or(b),
    };
    let sinks = collector::Sinks {
        on_second: live,
        on_sample,
        on_itl,
    };
    let result = engine::run::execute(cfg, interrupt, sinks, &progress);
    if let Some(bar) = bar_at_end {
        bar.clear();
    }
    if let Some(m) = metrics {
        m.end_run();
    }
    if let Some(s) = samples {
        s.flush();
    }
    let report = Report::build(cfg, &result?);
    files_at_end
        .lock()
        .finish(&report.seconds, report.started_at_unix_ms, report.status());
    Ok(report)
}
