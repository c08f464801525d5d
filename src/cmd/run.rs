//! `qpsbench run`: a validated configuration, run with a live line per second, then the summary
//! and the report files.

use std::io::{self, Write};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::limits::{check_open_files, check_thread_limits};
use super::write::write_report;
use crate::cli::RunArgs;
use crate::config::Config;
use crate::error::{Error, exit};
use crate::export::manager::ExportManager;
use crate::export::samples::SampleFile;
use crate::output::live;

/// `qpsbench run`.
///
/// # Errors
///
/// [`Error::Usage`] for bad flags; [`Error::Run`] when the run cannot be done.
pub fn run_command(args: RunArgs) -> Result<i32, Error> {
    // Ctrl-C while the set-up reads and renders prompts (a large --dataset can take seconds)
    // exits at once, nothing sent: the handler is installed before it.
    interrupt_channel();
    let mut cfg = Config::try_from(args)?;
    // `--baseline`: read and checked now, before any request.
    if let Some(path) = &cfg.baseline_file {
        let goodput = cfg.goodput.as_ref().map(|g| g.text.as_str());
        cfg.baseline = Some(crate::report::merge::load_baseline(
            path,
            &cfg.fail_on,
            goodput,
            "this run",
        )?);
    }
    run_config(&cfg, None)
}

/// Set once the run takes over Ctrl-C: before that (reading flags and files, rendering
/// prompts) an interrupt exits at once with nothing sent and no file written.
static RUN_BEGUN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From here on, Ctrl-C stops the run with a summary and complete reports (call just before
/// the first report file is created).
pub(super) fn begin_run() {
    RUN_BEGUN.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Run a validated configuration; `preface` is printed first (the demo's explanation).
///
/// # Errors
///
/// [`Error::Usage`] when the users do not fit the open-file limit or a report file cannot be
/// created (before any request is sent); [`Error::Run`] when the run cannot be done or its
/// report cannot be written.
pub fn run_config(cfg: &Config, preface: Option<&str>) -> Result<i32, Error> {
    // First: from here on Ctrl-C ends the run with a summary instead of killing the process.
    let interrupt = interrupt_channel();
    check_open_files(cfg.users)?;
    check_thread_limits(cfg.users)?;
    begin_run();
    // Open every report file before the run: a bad path fails now, not after a long soak.
    let mut exports = ExportManager::open(&cfg.outputs)?;
    // `--samples` too: its lines are written as the run goes.
    let samples = SampleFile::open(cfg)?;
    if samples.as_ref().is_some_and(SampleFile::writes_stdout) {
        exports.stdout_taken();
    }
    // `--metrics-addr`: listening before the first request (a port in use is bad input).
    let metrics = super::metrics::start(cfg)?;
    if let Some(p) = preface {
        eprintln!("{p}");
    }
    eprintln!("{}", live::header(cfg));
    // A window longer than the measured run is never full: nothing could stop the run.
    let measured = cfg
        .schedule
        .end()
        .map(|e| e.saturating_sub(cfg.schedule.warmup().unwrap_or_default()));
    if let Some(length) = measured
        && !cfg.abort_on.is_empty()
        && cfg.abort_window > length
    {
        eprintln!(
            "warning: --abort-window {} is longer than the run ({}): --abort-on cannot stop it",
            crate::parse::format_duration(cfg.abort_window),
            crate::parse::format_duration(length)
        );
    }
    if let Some(m) = &metrics {
        m.announce();
    }
    if let Some(at) = cfg.start_at {
        let wait = at
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        eprintln!(
            "waiting to start at {} (in {:.1}s)",
            humantime::format_rfc3339_millis(at),
            wait.as_secs_f64()
        );
    }
    let report = crate::run_with(
        cfg,
        &interrupt,
        samples.as_ref(),
        metrics.as_ref().map(|m| &m.metrics),
    )?;
    // Said on stderr too, where the live lines stopped (stdout may go to a file).
    if let Some(a) = &report.aborted {
        eprintln!("aborted by --abort-on: {}", crate::report::aborted_words(a));
    }
    // An interrupted run is incomplete: 130 says so, even when a threshold failed too.
    let code = if report.interrupted {
        exit::INTERRUPTED
    } else if report.thresholds_failed() || report.aborted.is_some() {
        exit::FAILED
    } else {
        exit::OK
    };
    let written = write_report(&report, &mut exports, code);
    // A samples file that could not be written fails the command, once the reports are out.
    if let Some(s) = &samples {
        s.finish()?;
    }
    // Ctrl-C (or SIGTERM) after the run ended, while the reports were written: they are still
    // written in full, and the exit code says the user interrupted.
    let code = match written {
        Ok(_) if interrupt.try_recv().is_ok() => Ok(exit::INTERRUPTED),
        other => other,
    };
    // `--metrics-linger`: the final values stay readable; a Ctrl-C now only ends the wait.
    // (When the reports failed, the error is said at once.)
    if let (Some(m), Ok(_)) = (metrics, &code) {
        m.linger_and_stop(&interrupt);
    }
    code
}

/// A second interrupt sooner than this after the first is the same one: `timeout -s INT` and a
/// shell's job control signal both the process and its group, so one request to stop arrives
/// twice within microseconds; a person presses Ctrl-C again far later than this.
const SAME_INTERRUPT: Duration = Duration::from_millis(250);

/// The receiver that the first Ctrl-C (or SIGTERM) sends to; the second exits at once.
pub(super) fn interrupt_channel() -> Receiver<()> {
    static RX: OnceLock<Receiver<()>> = OnceLock::new();
    RX.get_or_init(|| {
        let (tx, rx) = crossbeam_channel::bounded(1);
        static FIRST: OnceLock<Instant> = OnceLock::new();
        let installed = ctrlc::set_handler(move || {
            if !RUN_BEGUN.load(std::sync::atomic::Ordering::SeqCst) {
                let _ = writeln!(
                    io::stderr(),
                    "\ninterrupted before the run began: nothing was sent"
                );
                std::process::exit(exit::INTERRUPTED);
            }
            if let Some(first) = FIRST.get() {
                if first.elapsed() < SAME_INTERRUPT {
                    return;
                }
                let _ = writeln!(io::stderr(), "\ninterrupted again: exiting now");
                std::process::exit(exit::INTERRUPTED);
            }
            let _ = FIRST.set(Instant::now());
            // Sent before it is said: whoever reads the message (the run, or the exit code
            // once the reports are written) must find the interrupt already there.
            let _ = tx.try_send(());
            crate::output::progress::say("interrupted: stopping (press Ctrl-C again to exit now)");
        });
        if let Err(e) = installed {
            eprintln!("warning: cannot handle Ctrl-C ({e}); it will end the run without a summary");
        }
        rx
    })
    .clone()
}
