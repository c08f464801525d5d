//! `qpsbench find`: runs one step after another, each a run of the user's flags at one load
//! (its rate, or its users) for `--step`, judged by the SLO, until [`Search`] has its answer;
//! then prints the table and the answer, and writes `--json` and `--html`.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::limits::{check_open_files, check_thread_limits};
use crate::cli::{FindArgs, FindByArg, OutputArgs, RateSpec, RunArgs};
use crate::config::Config;
use crate::config::output::{Format, outputs_from_args};
use crate::error::{Error, UsageError, exit};
use crate::export::manager::ExportManager;
// Lines on stderr: a closed pipe (`2>&1 | head`) is not an error, the search goes on.
use crate::output::live::print_line;
use crate::report::capacity::{By, Capacity, Search, Step, Stop};

/// Each step's length without `--step`.
const STEP: Duration = Duration::from_secs(10);
/// Users by rate without `--users`: the concurrency cap of every step.
const USERS_BY_RATE: usize = 200;

/// `qpsbench find --json`: the capacity and what was searched.
#[derive(Debug, Serialize)]
struct FindReport<'a> {
    /// Always `qpsbench-find`.
    kind: &'static str,
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    /// The URL (secrets masked) and method of every step.
    url: &'a str,
    method: &'a str,
    /// Each step's measured length, seconds (after its warm-up).
    step_s: f64,
    /// Each step's warm-up, seconds (0 without `--warmup`).
    warmup_s: f64,
    /// The seed of every step (`--seed`, or one chosen for the search): with it, a search
    /// with random arrivals or random data draws the same schedules again.
    seed: u64,
    /// `--arrival`: `poisson` or `gamma(K)`; absent for constant slots.
    #[serde(skip_serializing_if = "Option::is_none")]
    arrival: Option<&'a str>,
    capacity: &'a Capacity,
}

/// `qpsbench find`.
///
/// # Errors
///
/// [`Error::Usage`] for bad flags (before any request); [`Error::Run`] when a step cannot be
/// run or a report cannot be written.
pub fn find_command(mut args: FindArgs) -> Result<i32, Error> {
    let by = match args.by {
        FindByArg::Rate => By::Rate,
        FindByArg::Users => By::Users,
    };
    refuse_what_find_sets(&args.run, by)?;
    let (from, to) = bounds(&args, by)?;
    let slo = crate::stats::thresholds::parse(&args.slo, 1)
        .map_err(|e| UsageError(format!("--slo: {e} (the --fail-on syntax)")))?;
    if let Some(t) = slo.iter().find(|t| t.absolute().is_none()) {
        return Err(UsageError(format!(
            "--slo '{}': a step is judged by absolute limits, not a change from a baseline: \
             write e.g. p99<300ms",
            t.text
        ))
        .into());
    }
    let t = &args.run.traffic;
    let no_checks =
        t.expect_status.is_none() && t.expect_body.is_empty() && t.expect_json.is_empty();
    if no_checks
        && slo
            .iter()
            .any(|t| matches!(t.metric, crate::stats::thresholds::Metric::CheckRate))
    {
        return Err(UsageError(
            "--slo check-failure-rate needs a check to measure: add --expect-status, \
             --expect-body or --expect-json"
                .into(),
        )
        .into());
    }
    let step_len = args.run.step.unwrap_or(STEP);
    if step_len.is_zero() {
        return Err(UsageError(
            "--step must be above 0: each step's length, e.g. --step 10s".into(),
        )
        .into());
    }
    let warmup = args.run.warmup.unwrap_or_default();
    if args.max_time < warmup + step_len {
        return Err(UsageError(format!(
            "--max-time {} is shorter than one step ({} of --step{}): give it room for several",
            crate::parse::format_duration(args.max_time),
            crate::parse::format_duration(step_len),
            if warmup.is_zero() {
                String::new()
            } else {
                format!(" and {} of --warmup", crate::parse::format_duration(warmup))
            }
        ))
        .into());
    }
    let users = match by {
        By::Rate => args.run.users.unwrap_or(USERS_BY_RATE),
        By::Users => to as usize,
    };
    // Everything is checked before the first request: the flags as the first and the last step
    // would use them, the users against the limits, and the report files.
    // Ctrl-C during the set-up (prompts rendered twice below) exits at once, nothing sent.
    super::run::interrupt_channel();
    // One seed for the whole search (each step would draw its own from the clock), told when
    // the schedule is random so that the search can be run again as it was.
    let seed = *args
        .run
        .traffic
        .seed
        .get_or_insert_with(crate::config::clock_seed);
    let first_cfg = Config::try_from(step_args(&args, by, from, step_len))?;
    let first = crate::report::RunConfig::of(&first_cfg);
    Config::try_from(step_args(&args, by, to, step_len))?;
    check_open_files(users)?;
    check_thread_limits(users)?;
    let specs = outputs_from_args(&OutputArgs {
        json: args.run.outputs.json.clone(),
        html: args.run.outputs.html.clone(),
        ..OutputArgs::default()
    })?;
    super::run::begin_run();
    let mut exports = ExportManager::open(&specs)?;
    // `--metrics-addr`: one page for the whole search, its counters adding up every step.
    let metrics = super::metrics::start(&first_cfg)?;
    let interrupt = super::run::interrupt_channel();

    let schedule = first
        .arrival
        .as_ref()
        .map(|a| format!("{a} arrivals, seed {seed}"));
    print_line(&format!(
        "qpsbench find: {} {} by {}, from {} to {}, steps of {}{}{}; SLO {}; at most {}",
        first.method,
        first.url,
        match by {
            By::Rate => format!("rate (up to {users} users)"),
            By::Users => "users (closed model)".to_string(),
        },
        load_words(by, from),
        load_words(by, to),
        crate::parse::format_duration(step_len),
        if warmup.is_zero() {
            String::new()
        } else {
            format!(
                " after {} of warm-up",
                crate::parse::format_duration(warmup)
            )
        },
        schedule
            .as_ref()
            .map_or(String::new(), |s| format!(", {s}")),
        args.slo,
        crate::parse::format_duration(args.max_time),
    ));
    if let Some(m) = &metrics {
        m.announce();
    }
    print_line(&crate::output::capacity::header(by));
    let started = Instant::now();
    let mut search = Search::new(by, from, to);
    let mut steps: Vec<Step> = Vec::new();
    let stopped = loop {
        let Some(load) = search.next() else {
            break search.stop_reason();
        };
        if started.elapsed() + warmup + step_len > args.max_time {
            break Stop::MaxTime;
        }
        let cfg = Config::try_from(step_args(&args, by, load, step_len))?;
        let report = crate::run_with(&cfg, &interrupt, None, metrics.as_ref().map(|m| &m.metrics))?;
        if report.interrupted {
            break Stop::Interrupted;
        }
        let step = Step::of(steps.len() + 1, by, load, &report);
        print_line(&crate::output::capacity::row(&step));
        search.record(load, step.passed);
        steps.push(step);
    };
    let capacity = Capacity::of(by, &args.slo, steps, stopped);
    // `--json -` (or `--html -`) takes stdout: the table then goes to stderr.
    let table = crate::output::capacity::render(&capacity);
    // A closed pipe (`qpsbench find ... | head`) loses the table, not the report files.
    let _ = if exports.writes_stdout() {
        io::stderr().lock().write_all(table.as_bytes())
    } else {
        let mut out = io::stdout().lock();
        out.write_all(table.as_bytes()).and_then(|()| out.flush())
    };
    let doc = FindReport {
        kind: "qpsbench-find",
        version: env!("CARGO_PKG_VERSION"),
        name: args.run.name.as_deref(),
        url: &first.url,
        method: &first.method,
        step_s: step_len.as_secs_f64(),
        warmup_s: warmup.as_secs_f64(),
        seed,
        arrival: first.arrival.as_deref(),
        capacity: &capacity,
    };
    exports
        .write_with(|format| match format {
            Format::Json => serde_json::to_vec_pretty(&doc)
                .map(|mut v| {
                    v.push(b'\n');
                    v
                })
                .map_err(io::Error::other),
            Format::Html => {
                let title = match &schedule {
                    Some(s) => format!("{} ({s})", first.url),
                    None => first.url.clone(),
                };
                Ok(crate::export::capacity_html::render(&capacity, &title).into_bytes())
            }
            other => Err(io::Error::other(format!(
                "{} is not written by find",
                other.flag()
            ))),
        })
        .or_else(|e| match e.kind() {
            // `--json - | head`: the reader had what it wanted.
            io::ErrorKind::BrokenPipe => Ok(()),
            _ => Err(Error::Run(anyhow::anyhow!("{e}"))),
        })?;
    if let Some(m) = metrics {
        m.linger_and_stop(&interrupt);
    }
    Ok(match stopped {
        Stop::Interrupted => exit::INTERRUPTED,
        _ if capacity.found() => exit::OK,
        _ => exit::FAILED,
    })
}

/// The flags of the run at `load`: one stage of `step_len` at that rate (under the users cap)
/// or with that many users, the SLO as its thresholds, no live lines or report files.
fn step_args(args: &FindArgs, by: By, load: f64, step_len: Duration) -> RunArgs {
    let mut a = args.run.clone();
    a.step = None;
    a.duration = Some(step_len);
    a.quiet = true;
    a.traffic.fail_on = Some(args.slo.clone());
    a.outputs = OutputArgs::default();
    (a.samples, a.samples_rate) = (None, None);
    match by {
        By::Rate => {
            a.rps = Some(RateSpec(vec![load]));
            a.users = Some(args.run.users.unwrap_or(USERS_BY_RATE));
        }
        By::Users => a.users = Some(load as usize),
    }
    a
}

fn load_words(by: By, load: f64) -> String {
    match by {
        By::Rate => format!("{} req/s", crate::parse::format_rate(load)),
        By::Users => crate::parse::count_of(load as u64, "user", "users"),
    }
}

/// `--from` and `--to`, with their defaults, checked.
fn bounds(args: &FindArgs, by: By) -> Result<(f64, f64), UsageError> {
    let (from, to) = match by {
        By::Rate => (args.from.unwrap_or(100.0), args.to.unwrap_or(100_000.0)),
        By::Users => (args.from.unwrap_or(10.0), args.to.unwrap_or(1000.0)),
    };
    for (flag, v) in [("--from", from), ("--to", to)] {
        if by == By::Users && (v < 1.0 || v.fract() != 0.0) {
            return Err(UsageError(format!(
                "{flag} {v}: with --by users it is a whole number of users, 1 or more"
            )));
        }
        if v <= 0.0 {
            return Err(UsageError(format!("{flag} must be above 0")));
        }
    }
    if to < from {
        return Err(UsageError(format!(
            "--to {} is below --from {}: the search steps up from --from to --to",
            crate::parse::format_rate(to),
            crate::parse::format_rate(from)
        )));
    }
    Ok((from, to))
}

/// The flags whose value find chooses per step, or that a search has no use for.
fn refuse_what_find_sets(run: &RunArgs, by: By) -> Result<(), UsageError> {
    let o = &run.outputs;
    let sets = [
        (
            run.rps.is_some(),
            "--rps",
            "find sets each step's rate: use --from and --to",
        ),
        (
            run.duration.is_some(),
            "--duration",
            "each step lasts --step (10s by default)",
        ),
        (
            run.requests.is_some(),
            "--requests",
            "each step lasts --step (10s by default)",
        ),
        (
            run.iterations.is_some(),
            "--iterations",
            "each step lasts --step (10s by default)",
        ),
        (
            run.ramp.is_some(),
            "--ramp",
            "find steps the load itself: use --by users with --from and --to",
        ),
        (
            run.ramp_up.is_some(),
            "--ramp-up",
            "each step starts all its users at once",
        ),
        (
            run.start_at.is_some(),
            "--start-at",
            "start find when you want it to start",
        ),
        (
            run.traffic.fail_on.is_some(),
            "--fail-on",
            "give the SLO with --slo",
        ),
        (
            run.traffic.baseline.is_some(),
            "--baseline",
            "each step is judged against --slo's absolute limits",
        ),
        (o.csv.is_some(), "--csv", "find writes --json and --html"),
        (
            o.csv_series.is_some(),
            "--csv-series",
            "find writes --json and --html",
        ),
        (
            o.hdr_log.is_some(),
            "--hdr-log",
            "find writes --json and --html",
        ),
        (
            o.jsonl.is_some(),
            "--jsonl",
            "find writes --json and --html",
        ),
        (
            o.result_json.is_some(),
            "--result-json",
            "find writes --json and --html",
        ),
        (
            run.traffic.abort_on.is_some() || run.traffic.abort_window.is_some(),
            if run.traffic.abort_on.is_some() {
                "--abort-on"
            } else {
                "--abort-window"
            },
            "each step is judged against --slo, and a failed step ends the search",
        ),
        (
            run.samples.is_some() || run.samples_rate.is_some(),
            if run.samples.is_some() {
                "--samples"
            } else {
                "--samples-rate"
            },
            "find writes --json and --html; run qpsbench run --samples at the load it finds",
        ),
        (
            by == By::Users && (run.arrival.is_some() || run.burstiness.is_some()),
            if run.arrival.is_some() {
                "--arrival"
            } else {
                "--burstiness"
            },
            "with --by users there is no rate whose slots it spreads: use --by rate",
        ),
        (
            by == By::Users && run.users.is_some(),
            "--users",
            "with --by users find steps the users: use --from and --to",
        ),
    ];
    match sets.iter().find(|(given, ..)| *given) {
        Some((_, flag, how)) => Err(UsageError(format!("{flag} does not go with find: {how}"))),
        None => Ok(()),
    }
}
