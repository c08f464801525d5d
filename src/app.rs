//! The subcommands, from parsed arguments to an exit code. All printing of results happens here.

use std::io::{self, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::Receiver;

use crate::cli::{DemoArgs, MergeArgs, OutputArgs, RampSpec, ReportArgs, RunArgs, ServeArgs};
use crate::config::Config;
use crate::config::output::outputs_from_args;
use crate::error::UsageError;
use crate::export::manager::ExportManager;
use crate::output::{live, summary};
use crate::report::Report;
use crate::serve::{self, ServeConfig};

/// Exit codes.
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const INTERRUPTED: i32 = 130;
}

/// Print a one-line error and return the exit code for bad input.
pub fn usage_error(msg: impl std::fmt::Display) -> i32 {
    eprintln!("error: {}", crate::parse::one_line(msg.to_string()));
    exit::USAGE
}

/// `qpsbench run`.
pub fn run_command(args: RunArgs) -> i32 {
    match Config::try_from(args) {
        Ok(cfg) => run_config(&cfg, None),
        Err(e) => usage_error(e),
    }
}

/// Run a validated configuration; `preface` is printed first (the demo's explanation).
pub fn run_config(cfg: &Config, preface: Option<&str>) -> i32 {
    // First: from here on Ctrl-C ends the run with a summary instead of killing the process.
    let interrupt = interrupt_channel();
    if let Err(e) = check_open_files(cfg.users) {
        return usage_error(e);
    }
    // Open every report file before the run: a bad path fails now, not after a long soak.
    let mut exports = match ExportManager::open(&cfg.outputs) {
        Ok(m) => m,
        Err(e) => return usage_error(e),
    };
    if let Some(p) = preface {
        eprintln!("{p}");
    }
    eprintln!("{}", live::header(cfg));
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
    let report = match crate::run(cfg, &interrupt) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return exit::FAILED;
        }
    };
    // An interrupted run is incomplete: 130 says so, even when a threshold failed too.
    let code = if report.interrupted {
        exit::INTERRUPTED
    } else if report.thresholds_failed() {
        exit::FAILED
    } else {
        exit::OK
    };
    let written = write_outputs(&report, &mut exports);
    // Ctrl-C (or SIGTERM) after the run ended, while the reports were written: they are still
    // written in full, and the exit code says the user interrupted.
    let code = if interrupt.try_recv().is_ok() {
        exit::INTERRUPTED
    } else {
        code
    };
    match written {
        Ok(()) => code,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => code,
        Err(e) => {
            eprintln!("error: writing the report: {e}");
            exit::FAILED
        }
    }
}

/// The report files, then the text summary (on stderr when a report goes to stdout).
fn write_outputs(report: &Report, exports: &mut ExportManager) -> io::Result<()> {
    let text = summary::render(report);
    if exports.writes_stdout() {
        io::stderr().lock().write_all(text.as_bytes())?;
        exports.write(report)
    } else {
        exports.write(report)?;
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }
}

/// `qpsbench merge`: combine saved reports and write the result.
pub fn merge_command(args: MergeArgs) -> i32 {
    let mut inputs = Vec::with_capacity(args.inputs.len());
    for path in &args.inputs {
        match crate::merge::load(path) {
            Ok(r) => inputs.push((path.display().to_string(), r)),
            Err(e) => return usage_error(e),
        }
    }
    match crate::merge::merge(&inputs) {
        Ok(report) => emit(&report, &args.outputs),
        Err(e) => usage_error(e),
    }
}

/// `qpsbench report`: re-render a saved report.
pub fn report_command(args: ReportArgs) -> i32 {
    match crate::merge::load(&args.input) {
        Ok(report) => emit(&report, &args.outputs),
        Err(e) => usage_error(e),
    }
}

/// Write a finished report to the requested outputs (and the text summary).
fn emit(report: &Report, outputs: &OutputArgs) -> i32 {
    let specs = match outputs_from_args(outputs) {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    let mut exports = match ExportManager::open(&specs) {
        Ok(m) => m,
        Err(e) => return usage_error(e),
    };
    match write_outputs(report, &mut exports) {
        Ok(()) => exit::OK,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            eprintln!("error: writing the report: {e}");
            exit::FAILED
        }
    }
}

/// The receiver that the first Ctrl-C (or SIGTERM) sends to; the second exits at once.
fn interrupt_channel() -> Receiver<()> {
    static RX: OnceLock<Receiver<()>> = OnceLock::new();
    RX.get_or_init(|| {
        let (tx, rx) = crossbeam_channel::bounded(1);
        static PRESSES: AtomicUsize = AtomicUsize::new(0);
        let installed = ctrlc::set_handler(move || {
            if PRESSES.fetch_add(1, Ordering::SeqCst) >= 1 {
                let _ = writeln!(io::stderr(), "\ninterrupted again: exiting now");
                std::process::exit(exit::INTERRUPTED);
            }
            // Sent before it is said: whoever reads the message (the run, or the exit code
            // once the reports are written) must find the interrupt already there.
            let _ = tx.try_send(());
            let _ = writeln!(
                io::stderr(),
                "\ninterrupted: stopping (press Ctrl-C again to exit now)"
            );
        });
        if let Err(e) = installed {
            eprintln!("warning: cannot handle Ctrl-C ({e}); it will end the run without a summary");
        }
        rx
    })
    .clone()
}

/// Raise the soft open-file limit to the hard one and check that `users` connections fit.
pub fn check_open_files(users: usize) -> Result<(), UsageError> {
    let needed = users as u64 + 64;
    let limit = raise_open_file_limit();
    if limit < needed {
        return Err(UsageError(format!(
            "{users} users need about {needed} open files but this process may open only {limit} \
             (ulimit -n); lower --users or raise the hard limit"
        )));
    }
    Ok(())
}

/// Raise RLIMIT_NOFILE's soft limit to its hard limit; returns the limit now in force.
pub fn raise_open_file_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return u64::MAX;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
        lim.rlim_cur
    }
}

/// `qpsbench serve`.
pub fn serve_command(args: ServeArgs) -> i32 {
    if !(0.0..=1.0).contains(&args.error_rate) {
        return usage_error(format!(
            "--error-rate {} must be between 0 and 1",
            args.error_rate
        ));
    }
    if args.threads == Some(0) {
        return usage_error("--threads must be at least 1");
    }
    raise_open_file_limit();
    let llm = crate::serve::LlmConfig {
        first_token: args.first_token,
        tokens: args.tokens,
        interval: args.token_interval,
        jitter: args.token_jitter,
        usage: match args.usage {
            crate::cli::UsageArg::Never => crate::serve::UsageMode::Never,
            crate::cli::UsageArg::OnRequest => crate::serve::UsageMode::OnRequest,
            crate::cli::UsageArg::Always => crate::serve::UsageMode::Always,
        },
    };
    if let Err(e) = llm.validate() {
        return usage_error(format!("qpsbench serve: {e}"));
    }
    let mut cfg = ServeConfig {
        addr: args.addr,
        delay: args.delay,
        jitter: args.jitter,
        error_rate: args.error_rate,
        llm,
        ..ServeConfig::default()
    };
    if let Some(t) = args.threads {
        cfg.threads = t;
    }
    match serve::run_blocking(cfg) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::FAILED
        }
    }
}

/// `qpsbench demo`: the embedded target on an ephemeral loopback port, and a short ramp at it.
pub fn demo_command(args: DemoArgs) -> i32 {
    if args.step.is_zero() {
        return usage_error("--step must be above 0: write e.g. --step 2s");
    }
    if args.llm {
        return crate::demo_llm::run(args);
    }
    let server_cfg = ServeConfig {
        delay: std::time::Duration::from_millis(2),
        jitter: std::time::Duration::from_millis(3),
        error_rate: 0.01,
        threads: 1,
        ..ServeConfig::ephemeral()
    };
    let server = match serve::spawn(server_cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the embedded target on 127.0.0.1: {e}");
            return exit::FAILED;
        }
    };
    let url = format!("http://{}/", server.addr);
    let run = RunArgs {
        url: Some(url.clone()),
        users: None,
        rps: None,
        duration: None,
        requests: None,
        ramp: Some(RampSpec(vec![0, 4, 8, 16])),
        step: Some(args.step),
        ramp_up: None,
        timeout: std::time::Duration::from_secs(10),
        method: "GET".into(),
        headers: Vec::new(),
        body: None,
        insecure: false,
        proxy: None,
        quiet: args.quiet,
        start_at: None,
        llm: crate::cli::LlmArgs::default(),
        traffic: crate::cli::TrafficArgs::default(),
        outputs: args.outputs,
    };
    let cfg = match Config::try_from(run) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let preface = format!(
        "demo: embedded target at {url} (2 ms delay + up to 3 ms jitter, 1% of answers are 500);\n\
         demo: ramp 0 -> 4 -> 8 -> 16 users, {} per stage. The same run by hand:\n\
         demo:   qpsbench serve --addr {} --delay 2ms --jitter 3ms --error-rate 0.01 &\n\
         demo:   qpsbench run --url {url} --ramp 0,4,8,16 --step {}",
        crate::parse::format_duration(args.step),
        server.addr,
        crate::parse::format_duration(args.step),
    );
    let code = run_config(&cfg, Some(&preface));
    server.stop();
    code
}
