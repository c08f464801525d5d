//! `RunArgs` -> [`Config`]: every check across flags, with messages a user can act on. clap
//! types stop here: nothing below `config` sees them (docs/ARCHITECTURE.md).

pub mod dataset;
pub mod llm;
pub mod metrics;
pub mod output;
pub mod samples;
pub mod schedule;
pub mod target;
pub mod traffic;

use crate::cli::{ArrivalArg, RampSpec, RunArgs};
use crate::config::output::{OutputSpec, outputs_from_args};
use crate::config::schedule::{Arrival, Schedule};
use crate::config::target::Target;
use crate::config::target::{bad_port, parse_target};
use crate::error::UsageError;
use crate::error::bad;
use crate::redact::mask_url;
use crate::stats::thresholds::{Op, Threshold, parse as parse_thresholds};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Default `--duration` when neither `--requests` nor `--ramp` bounds the run.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// Default `--users`.
pub const DEFAULT_USERS: usize = 10;

/// More users than this is almost certainly a typo; the OS would refuse the threads anyway.
pub const MAX_USERS: usize = 100_000;

/// `--start-at` further ahead than this is almost certainly a mistake.
pub const MAX_START_DELAY: Duration = Duration::from_secs(24 * 3600);

/// A validated run.
#[derive(Debug, Clone)]
pub struct Config {
    pub target: Target,
    pub schedule: Schedule,
    /// Threads to spawn: the most users the schedule ever runs.
    pub users: usize,
    /// How `--rps` slots are spread (the rates are the schedule's, per stage).
    pub arrival: Arrival,
    /// `--iterations`: requests per user (the run's budget is users x this).
    pub iterations: Option<u64>,
    /// `--name`: the run's label in every output.
    pub name: Option<String>,
    /// Stop after exactly this many requests.
    pub requests: Option<u64>,
    pub timeout: Duration,
    pub insecure: bool,
    pub proxy: Option<String>,
    pub quiet: bool,
    /// Wait for this wall-clock instant before starting.
    pub start_at: Option<SystemTime>,
    /// Report files (and at most one report on stdout).
    pub outputs: Vec<OutputSpec>,
    /// `--samples`: a line per request, written as the run goes.
    pub samples: Option<samples::SamplesSpec>,
    /// `--metrics-addr`, `--metrics-linger`: the live `/metrics` page.
    pub metrics: Option<crate::config::metrics::MetricsSpec>,
    /// Event-stream reading and LLM request rotation (see [`crate::traffic::llm`]).
    pub llm: crate::traffic::llm::LlmSetup,
    /// `--goodput`: the objectives each request is judged by.
    pub goodput: Option<crate::stats::goodput::Goodput>,
    /// `--fail-on` thresholds, checked after the run.
    pub fail_on: Vec<Threshold>,
    /// `--baseline`: the saved report that `--fail-on`'s changes (`p99<+10%`) are measured
    /// against. Checked here (given with --fail-on, never overwritten by a report); read into
    /// `baseline` by the command before the run, since reading a report is the report layer's.
    pub baseline_file: Option<std::path::PathBuf>,
    /// The `--baseline` run's rows, once the command has read them.
    pub baseline: Option<crate::stats::thresholds::Baseline>,
    /// `--abort-on`: stop the run when one of these holds over the last `abort_window`.
    pub abort_on: Vec<Threshold>,
    /// `--abort-window`: whole seconds, at least 1.
    pub abort_window: Duration,
    /// Targets, data, auth rotation, think time, success statuses, retries, thresholds and
    /// redaction (see [`crate::traffic`]).
    pub traffic: crate::traffic::plan::TrafficConfig,
}

impl Config {
    /// Does an output need each second's histograms (`--json`, `--hdr-log`)? Without one, the
    /// collector drops them as each second closes.
    pub fn keeps_second_histograms(&self) -> bool {
        self.outputs
            .iter()
            .any(|o| o.format.needs_second_histograms())
    }
}

impl TryFrom<RunArgs> for Config {
    type Error = UsageError;

    fn try_from(mut a: RunArgs) -> Result<Self, UsageError> {
        if a.url.is_none() {
            a.url = a.url_last.take();
        }
        let url = crate::config::traffic::main_url(a.url.as_deref(), &a.traffic)?;
        let mut target = parse_target(&url, &a.method, &a.headers, a.body.as_deref())?;
        if let Some(given) = &a.url {
            // Placeholders were checked with stand-ins; the traffic plan renders the real ones.
            target.url = given.clone();
        }
        // One seed for every random choice of the run, chosen here when not given: the traffic
        // plan and --dataset random's prompts draw from it, and the report records it.
        let seed = *a.traffic.seed.get_or_insert_with(clock_seed);
        let llm = crate::config::llm::setup(&a.llm, &mut target, seed)?;
        if a.duration == Some(Duration::ZERO) {
            return bad("--duration must be above 0: write e.g. --duration 10s");
        }
        if a.timeout.is_zero() {
            return bad("--timeout must be above 0: write e.g. --timeout 5s");
        }
        if a.requests == Some(0) {
            return bad("--requests must be at least 1");
        }
        if a.iterations == Some(0) {
            return bad("--iterations must be at least 1");
        }
        if let Some(n) = a.iterations {
            // Every user sends N: the budget is users x N, and the run ends when it is spent.
            let users = a.users.unwrap_or(DEFAULT_USERS) as u64;
            if a.rps.as_ref().is_some_and(|r| r.0.len() > 1) {
                return bad("--iterations does not go with rate stages: they are timed");
            }
            a.requests = Some(users.saturating_mul(n));
        }
        if let Some(name) = &a.name
            && (name.trim().is_empty() || name.chars().any(char::is_control))
        {
            return bad("--name must be a non-empty name on one line, e.g. --name baseline");
        }
        if let Some(u) = a.users {
            check_users(u, "--users")?;
        }
        let rates: &[f64] = a.rps.as_ref().map_or(&[], |r| &r.0);
        let rate_stages = rates.len() > 1;
        if a.step.is_some() && a.ramp.is_none() && !rate_stages {
            return bad(
                "--step is the length of each --ramp stage or --rps rate stage: give --ramp \
                 0,4,8 or --rps 100,200,400 with it",
            );
        }
        let schedule = if let Some(RampSpec(stages)) = &a.ramp {
            let step = a.step.unwrap_or_default();
            if a.users.is_some() {
                return bad(
                    "--users does not go with --ramp: the ramp gives the users of each stage",
                );
            }
            if a.duration.is_some() {
                return bad(
                    "--duration does not go with --ramp: the run lasts stages x --step \
                     (repeat the last stage to hold it longer)",
                );
            }
            if step.is_zero() {
                return bad("--step must be above 0: write e.g. --step 10s");
            }
            check_users(stages.iter().copied().max().unwrap_or(0), "--ramp")?;
            if rate_stages && rates.len() != stages.len() {
                return bad(format!(
                    "--rps has {} rates and --ramp {} stages: give one rate, or one per stage",
                    rates.len(),
                    stages.len()
                ));
            }
            Schedule::steps(stages, step)
        } else if rate_stages {
            if a.ramp_up.is_some() {
                return bad(
                    "--ramp-up does not go with several --rps rates: the rate stages shape the \
                     load (start with a low rate)",
                );
            }
            if a.duration.is_some() {
                return bad(
                    "--duration does not go with several --rps rates: the run lasts rates x \
                     --step (repeat the last rate to hold it longer)",
                );
            }
            if a.requests.is_some() {
                return bad(
                    "--requests does not go with several --rps rates: the run lasts rates x \
                     --step, and would end before or after N",
                );
            }
            let Some(step) = a.step else {
                return bad(
                    "--rps with several rates needs --step, the length of each rate stage: \
                     write e.g. --step 30s",
                );
            };
            if step.is_zero() {
                return bad("--step must be above 0: write e.g. --step 10s");
            }
            let users = a.users.unwrap_or(DEFAULT_USERS);
            Schedule::steps(&vec![users; rates.len()], step)
        } else if let Some(ramp_up) = a.ramp_up {
            if ramp_up.is_zero() {
                return bad("--ramp-up must be above 0: write e.g. --ramp-up 30s");
            }
            let users = a.users.unwrap_or(DEFAULT_USERS);
            Schedule::linear(users, ramp_up, hold(&a))
        } else {
            Schedule::fixed(a.users.unwrap_or(DEFAULT_USERS), hold(&a))
        };
        let mut schedule = schedule.with_rates(rates).map_err(UsageError)?;
        if let Some(w) = a.warmup {
            if w.is_zero() {
                return bad("--warmup must be above 0: write e.g. --warmup 10s");
            }
            if a.requests.is_some() {
                return bad(
                    "--warmup goes with a timed run: --requests counts measured requests from \
                     the start; use --duration (or --ramp / rate stages) with --warmup",
                );
            }
            if schedule.measured().first().is_some_and(|s| s.users() == 0) {
                return bad(
                    "--warmup runs at the first stage's shape, and the first --ramp stage has 0 \
                     users: the warm-up would send nothing; start the ramp above 0",
                );
            }
            schedule = schedule.with_warmup(w);
        }
        if let Some(p) = &a.proxy {
            ureq::Proxy::new(p).map_err(|e| {
                UsageError(format!("--proxy '{}' is not a proxy URL: {e}", mask_url(p)))
            })?;
            // As for --url: ureq takes port 99999 and fails every connect.
            let authority = p.split_once("://").map_or(p.as_str(), |(_, r)| r);
            if let Some(port) = bad_port(authority.split(['/', '?', '#']).next().unwrap_or("")) {
                return bad(format!(
                    "--proxy '{}': port {port} is not a TCP port: it must be 1 to 65535",
                    mask_url(p)
                ));
            }
        }
        let outputs = outputs_from_args(&a.outputs)?;
        let samples = samples::from_args(a.samples.as_deref(), a.samples_rate)?;
        let metrics = crate::config::metrics::spec(a.metrics_addr.as_deref(), a.metrics_linger)?;
        {
            let body_file = a
                .body
                .as_deref()
                .and_then(|b| b.strip_prefix('@'))
                .map(Path::new);
            let inputs: Vec<(&str, &Path)> = [
                ("--data", a.traffic.data.as_deref()),
                ("--targets", a.traffic.targets.as_deref()),
                ("--auth-file", a.traffic.auth_file.as_deref()),
                ("--prompts", a.llm.prompts.as_deref()),
                ("--api-key-file", a.llm.api_key_file.as_deref()),
                (
                    "--dataset",
                    a.llm.dataset.as_ref().and_then(|d| d.get(1)).map(Path::new),
                ),
                ("-d", body_file),
                ("--baseline", a.traffic.baseline.as_deref()),
            ]
            .into_iter()
            .filter_map(|(flag, p)| p.map(|p| (flag, p)))
            .collect();
            crate::config::output::check_not_inputs(&outputs, &inputs)?;
            if let Some(s) = &samples {
                samples::check_place(s, &outputs, &inputs)?;
            }
        }
        if let Some(at) = a.start_at {
            check_start_at(at, SystemTime::now())?;
        }
        let traffic = crate::config::traffic::setup(
            &a.traffic,
            &target,
            a.url.is_some(),
            &a.headers,
            a.body.is_some(),
        )?;
        let arrival = arrival(&a, traffic.seed)?;
        let fail_on = match &a.traffic.fail_on {
            Some(spec) => parse_thresholds(spec, schedule.measured().len()).map_err(UsageError)?,
            None => Vec::new(),
        };
        let abort_on = abort_on(&a, schedule.measured().len())?;
        check_baseline_flags(&fail_on, a.traffic.baseline.as_deref())?;
        let goodput = a
            .llm
            .goodput
            .as_deref()
            .map(crate::stats::goodput::Goodput::parse)
            .transpose()
            .map_err(UsageError)?;
        if goodput.is_none()
            && let Some(t) = fail_on
                .iter()
                .chain(&abort_on)
                .find(|t| t.metric_name.starts_with("goodput"))
        {
            return bad(format!(
                "'{}' needs --goodput to say what a good request is, e.g. \
                 --goodput 'ttft<200ms,tpot<50ms'",
                t.text
            ));
        }
        if traffic.checks.is_empty()
            && fail_on
                .iter()
                .any(|t| matches!(t.metric, crate::stats::thresholds::Metric::CheckRate))
        {
            return bad(
                "--fail-on check-failure-rate needs a check to measure: add --expect-status, \
                 --expect-body or --expect-json",
            );
        }
        Ok(Config {
            users: schedule.max_users(),
            target,
            schedule,
            arrival,
            iterations: a.iterations,
            name: a.name.clone(),
            requests: a.requests,
            timeout: a.timeout,
            insecure: a.insecure,
            proxy: a.proxy,
            quiet: a.quiet,
            start_at: a.start_at,
            outputs,
            samples,
            metrics,
            llm,
            goodput,
            fail_on,
            baseline_file: a.traffic.baseline.clone(),
            baseline: None,
            abort_on,
            abort_window: a.traffic.abort_window.unwrap_or(ABORT_WINDOW),
            traffic,
        })
    }
}

/// A seed for a run without `--seed`: the clock's nanoseconds, kept below 2^53 so that a
/// report's seed reads back exactly where JSON numbers are doubles (JavaScript, jq 1.6).
pub fn clock_seed() -> u64 {
    const EXACT_IN_A_DOUBLE: u64 = (1 << 53) - 1;
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        & EXACT_IN_A_DOUBLE
}

/// `--arrival` and `--burstiness`: constant slots unless either asks for random gaps.
fn arrival(a: &RunArgs, seed: u64) -> Result<Arrival, UsageError> {
    // (Checked here, not by clap: find gives each step its --rps itself.)
    let given = [
        (a.arrival.is_some(), "--arrival"),
        (a.burstiness.is_some(), "--burstiness"),
    ];
    if a.rps.is_none()
        && let Some((_, flag)) = given.iter().find(|(given, _)| *given)
    {
        return bad(format!(
            "{flag} spreads the send slots of --rps: add --rps R (without it each user sends \
             its next request when the last is answered)"
        ));
    }
    let shape = match (a.arrival, a.burstiness) {
        (Some(ArrivalArg::Constant), Some(_)) => {
            return bad(
                "--burstiness shapes random gaps: it goes with --arrival poisson, not constant",
            );
        }
        (Some(ArrivalArg::Constant), None) | (None, None) => return Ok(Arrival::Constant),
        (_, k) => k.unwrap_or(1.0),
    };
    if !(MIN_BURSTINESS..=MAX_BURSTINESS).contains(&shape) {
        return bad(format!(
            "--burstiness {shape} is outside {MIN_BURSTINESS}..{MAX_BURSTINESS}: 1 is a \
             Poisson process, below 1 burstier, above 1 more regular"
        ));
    }
    // Its own stream of the run's seed: the same --seed gives the same schedule.
    Ok(Arrival::Gamma {
        shape,
        seed: seed ^ 0x9e37_79b9_7f4a_7c15,
    })
}

/// The burstiest gamma shape: one gap in a thousand is then 10^4 times the mean or longer.
pub const MIN_BURSTINESS: f64 = 0.01;
/// The most regular gamma shape: gaps within about 10% of the mean.
pub const MAX_BURSTINESS: f64 = 1000.0;

/// How long a non-ramp run holds its users: --duration, else open-ended when --requests bounds
/// the run, else the default.
fn hold(a: &RunArgs) -> Option<Duration> {
    match (a.duration, a.requests) {
        (Some(d), _) => Some(d),
        (None, Some(_)) => None,
        (None, None) => Some(DEFAULT_DURATION),
    }
}

/// `--start-at` must lie ahead, and not absurdly far.
///
/// # Errors
///
/// When `at` is before `now`, or more than [`MAX_START_DELAY`] (24 hours) after it.
pub fn check_start_at(at: SystemTime, now: SystemTime) -> Result<(), UsageError> {
    let shown = humantime::format_rfc3339_millis(at);
    match at.duration_since(now) {
        Err(e) => bad(format!(
            "--start-at {shown} is {:.1}s in the past: give a time ahead (now is {})",
            e.duration().as_secs_f64(),
            humantime::format_rfc3339_seconds(now)
        )),
        Ok(ahead) if ahead > MAX_START_DELAY => bad(format!(
            "--start-at {shown} is more than 24 hours ahead (now is {})",
            humantime::format_rfc3339_seconds(now)
        )),
        Ok(_) => Ok(()),
    }
}

fn check_users(users: usize, flag: &str) -> Result<(), UsageError> {
    if users == 0 {
        return bad(format!("{flag}: users must be at least 1"));
    }
    if users > MAX_USERS {
        return bad(format!(
            "{flag}: {users} users is more than the {MAX_USERS} one process can run"
        ));
    }
    Ok(())
}

/// What the run header shows after the method: the URL (secrets masked), or the targets file
/// with its entries and order.
pub fn display_target(cfg: &Config) -> String {
    let t = &cfg.traffic;
    match &t.targets_file {
        Some(file) => format!(
            "from --targets {file}: {} entr{}, {} order",
            t.requests.len(),
            if t.requests.len() == 1 { "y" } else { "ies" },
            t.order.name()
        ),
        None => t.redactor.url(&cfg.target.url),
    }
}

/// The method(s) a run sends, as the header, summary and reports show them: the `-X` method,
/// or with `--targets` the distinct methods of its entries in file order (`GET, POST`).
pub fn display_method(cfg: &Config) -> String {
    if cfg.traffic.targets_file.is_none() {
        return cfg.target.method.to_string();
    }
    let mut methods: Vec<&str> = Vec::new();
    for r in &cfg.traffic.requests {
        if !methods.contains(&r.method.as_str()) {
            methods.push(r.method.as_str());
        }
    }
    methods.join(", ")
}

/// `--abort-window` when not given.
pub const ABORT_WINDOW: Duration = Duration::from_secs(10);

/// `--abort-on`, checked: the `--fail-on` grammar without `stage=N:` (the window is the last
/// seconds of the run, whatever stage they are in), and a whole-second `--abort-window`.
/// `--fail-on` changes (`p99<+10%`) need `--baseline`, and `--baseline` needs `--fail-on` (of
/// `run` and `report`; `compare`'s baseline is its first report).
///
/// # Errors
///
/// A change without a baseline, or a baseline with nothing to gate; the message says what to
/// add.
pub fn check_baseline_flags(
    fail_on: &[Threshold],
    baseline: Option<&Path>,
) -> Result<(), UsageError> {
    match (fail_on.iter().find(|t| t.absolute().is_none()), baseline) {
        (Some(t), None) => bad(format!(
            "--fail-on '{}' is a change from a baseline run: add --baseline FILE, a JSON report \
             of the run to compare with (e.g. --baseline last-good.json)",
            t.text
        )),
        (_, Some(b)) if fail_on.is_empty() => bad(format!(
            "--baseline {} is what --fail-on's changes are measured against: add e.g. \
             --fail-on 'p99<+10%,qps>-5%,error-rate<+0.5pp'",
            b.display()
        )),
        _ => Ok(()),
    }
}

fn abort_on(a: &RunArgs, stages: usize) -> Result<Vec<Threshold>, UsageError> {
    let Some(spec) = &a.traffic.abort_on else {
        if a.traffic.abort_window.is_some() {
            return bad("--abort-window needs --abort-on: add e.g. --abort-on 'error-rate>50%'");
        }
        return Ok(Vec::new());
    };
    let w = a.traffic.abort_window.unwrap_or(ABORT_WINDOW);
    if w < Duration::from_secs(1) || w.subsec_nanos() != 0 {
        return bad(format!(
            "--abort-window {}: the window is whole seconds, at least 1: write e.g. 10s or 1m",
            crate::parse::format_duration(w)
        ));
    }
    // The parser's examples are gates (`p99<300ms`): an abort says when to stop.
    let thresholds = parse_thresholds(spec, stages.max(1)).map_err(|e| {
        UsageError(
            e.replacen("--fail-on", "--abort-on", 1)
                .replace("'p99<300ms,error-rate<1%'", "'error-rate>50%,p99>5s'")
                .replace("e.g. p99<300ms", "e.g. p99>5s"),
        )
    })?;
    if let Some(t) = thresholds.iter().find(|t| t.absolute().is_none()) {
        return bad(format!(
            "--abort-on '{}': a change from a baseline does not go with --abort-on: write an \
             absolute limit, e.g. p99>5s",
            t.text
        ));
    }
    if let Some(t) = thresholds.iter().find(|t| t.stage.is_some()) {
        return bad(format!(
            "--abort-on '{}': judged over the last {} s of the run, not a stage: drop 'stage=N:'",
            t.text,
            w.as_secs()
        ));
    }
    // `p99<300ms` pasted from a --fail-on gate would stop a healthy run at once.
    if let Some(t) = thresholds.iter().find(|t| {
        let below = matches!(t.op, Op::Lt | Op::Le);
        below != t.metric.higher_is_better()
    }) {
        let turned = if matches!(t.op, Op::Lt | Op::Le) {
            t.text.replacen("<=", ">=", 1).replacen('<', ">", 1)
        } else {
            t.text.replacen(">=", "<=", 1).replacen('>', "<", 1)
        };
        return bad(format!(
            "--abort-on '{}' would stop the run while it is healthy: an --abort-on expression \
             says when to stop (e.g. '{turned}'); what a good run must meet goes in --fail-on",
            t.text
        ));
    }
    Ok(thresholds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command, with_default_subcommand};
    use crate::redact::{is_secret_header, mask_url};
    use clap::Parser;
    use ureq::http::Method;

    fn config(args: &[&str]) -> Result<Config, String> {
        let mut argv = vec!["qpsbench"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(with_default_subcommand(
            argv.iter().map(Into::into).collect(),
        ))
        .map_err(|e| e.to_string())?;
        let Command::Run(a) = cli.command else {
            panic!("not run")
        };
        Config::try_from(a).map_err(|e| e.0)
    }

    #[test]
    fn defaults() {
        let c = config(&["--url", "http://127.0.0.1:1/"]).unwrap();
        assert_eq!(c.users, 10);
        assert_eq!(c.schedule.end(), Some(Duration::from_secs(10)));
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.target.method, Method::GET);
    }

    #[test]
    fn requests_alone_is_open_ended() {
        let c = config(&["--url", "http://127.0.0.1:1/", "-n", "1k"]).unwrap();
        assert_eq!(c.requests, Some(1000));
        assert_eq!(c.schedule.end(), None);
    }

    #[test]
    fn ramp_climb_from_50_to_200() {
        let c = config(&[
            "--url",
            "http://h/",
            "--ramp",
            "50..200:50",
            "--step",
            "30s",
        ])
        .unwrap();
        assert_eq!(c.users, 200);
        assert_eq!(c.schedule.stages().len(), 4);
        assert_eq!(c.schedule.end(), Some(Duration::from_secs(120)));
    }

    #[test]
    fn bad_inputs_say_what_is_wrong() {
        let cases: &[(&[&str], &str)] = &[
            (&["--url", "localhost:8080"], "has no scheme"),
            (&["--url", "ftp://h/"], "scheme 'ftp' is not supported"),
            (&["--url", "http://"], "not a valid URL"),
            (&["--url", "http://h/", "-c", "0"], "at least 1"),
            (
                &["--url", "http://h/", "--duration", "0"],
                "--duration must be above 0",
            ),
            (&["--url", "http://h/", "-H", "NoColon"], "has no colon"),
            (
                &["--url", "http://h/", "-H", "Bad Name: x"],
                "not a valid header name",
            ),
            (
                &["--url", "http://h/", "-d", "@/nonexistent/body"],
                "cannot read the body file",
            ),
            (&["--url", "http://h/", "-X", "GE T"], "not an HTTP method"),
            (
                &[
                    "--url",
                    "http://h/",
                    "--ramp",
                    "1,2",
                    "--step",
                    "1s",
                    "-c",
                    "3",
                ],
                "does not go with --ramp",
            ),
            (
                &["--url", "http://h/", "--ramp", "1,2", "--step", "0"],
                "--step must be above 0",
            ),
            (
                &["--url", "http://h/", "--timeout", "0"],
                "--timeout must be above 0",
            ),
            (
                &["--url", "http://h/", "--json", ""],
                "--json needs a file name",
            ),
            (
                &["--url", "http://h/", "-n", "0"],
                "--requests must be at least 1",
            ),
            (
                &["--url", "http://h/", "--start-at", "2001-01-01T00:00:00Z"],
                "in the past",
            ),
            (
                &["--url", "http://h/", "--start-at", "2999-01-01T00:00:00Z"],
                "more than 24 hours ahead",
            ),
            (
                &["--url", "http://h/", "--csv", "x", "--html", "x"],
                "--csv and --html both write to the file x",
            ),
        ];
        for (args, want) in cases {
            let err = config(args)
                .err()
                .unwrap_or_else(|| panic!("{args:?} was accepted"));
            assert!(
                err.contains(want),
                "{args:?}: '{err}' does not say '{want}'"
            );
            assert!(!err.contains('\n'), "{args:?}: not one line: {err}");
        }
    }

    #[test]
    fn secrets_are_masked() {
        assert!(is_secret_header("Authorization"));
        assert!(is_secret_header("X-API-Key"));
        assert!(is_secret_header("cookie"));
        assert!(!is_secret_header("Accept"));
        assert_eq!(
            mask_url("http://bob:hunter2@h:1/p?q=1"),
            "http://bob:***@h:1/p?q=1"
        );
        assert_eq!(mask_url("http://h/a@b"), "http://h/a@b");
        let err = config(&["--url", "http://h/", "-H", "Authorization Bearer s3cret"]).unwrap_err();
        assert!(
            err.contains("has no colon") && !err.contains("s3cret"),
            "{err}"
        );
        let err = config(&["--url", "http://h/", "-H", "Authorization: bad\u{1}"]).unwrap_err();
        assert!(!err.contains("bad"), "{err}");
    }
}
