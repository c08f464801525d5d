//! Command-line surface (clap derive) and nothing else: checks across flags live in `config`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, Parser, Subcommand};

use crate::units::{parse_count, parse_duration, parse_ramp, parse_rate, parse_rfc3339};

/// Text shown after `--help`: what every number in the output means.
pub const METRICS_HELP: &str = "\
Metrics:
  QPS              completed requests (any outcome) / elapsed seconds; OK/s counts successes only
  latency          send start -> last body byte (service time)
  response time    scheduled slot -> last body byte; only with --rps (coordinated omission
                   corrected, wrk2 semantics)
  TTFB             send start -> response head received
  error rate       responses with an HTTP error status (4xx, 5xx) / all requests
  failure rate     client-side failures (connect, DNS, TLS, timeout, reset, protocol) / all requests
  late slots       --rps sends that started more than 1 ms after their scheduled slot

Exit codes: 0 success, 1 the run could not be done, 2 bad usage or input, 130 interrupted";

/// qpsbench: measure how many requests per second an HTTP service sustains.
#[derive(Debug, Parser)]
#[command(name = "qpsbench", version, about, after_help = METRICS_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load-test a URL (the default when the first argument is a flag).
    Run(RunArgs),
    /// Run the embedded target server.
    Serve(ServeArgs),
    /// Load-test an embedded target on loopback with a short ramp: the first thing to try.
    Demo(DemoArgs),
    /// Combine JSON reports of several runs (several machines) into one, with exact percentiles.
    Merge(MergeArgs),
    /// Re-render a saved JSON report as text, CSV, HTML or an HDR interval log.
    Report(ReportArgs),
}

/// Where the results go: any combination; each file is created before the run starts.
#[derive(Debug, Args, Clone, Default)]
pub struct OutputArgs {
    /// Write the full report as JSON to FILE (with the histograms `qpsbench merge` needs), or to
    /// stdout with '-' (the text summary then goes to stderr).
    #[arg(long, value_name = "FILE")]
    pub json: Option<String>,

    /// Write the per-stage table as CSV.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<String>,

    /// Write the per-second series as CSV.
    #[arg(long, value_name = "FILE")]
    pub csv_series: Option<String>,

    /// Write a self-contained HTML report with charts (opens offline).
    #[arg(long, value_name = "FILE")]
    pub html: Option<String>,

    /// Write an HdrHistogram interval log: one latency histogram per second.
    #[arg(long, value_name = "FILE")]
    pub hdr_log: Option<String>,
}

/// `qpsbench run`.
#[derive(Debug, Args, Clone)]
#[command(after_help = METRICS_HELP)]
pub struct RunArgs {
    /// Target URL (http:// or https://).
    #[arg(short = 'u', long)]
    pub url: String,

    /// Concurrent users, one OS thread each [default: 10].
    #[arg(short = 'c', long, value_name = "N", allow_negative_numbers = true)]
    pub users: Option<usize>,

    /// Global target rate in requests per second, shared by all users (open model).
    /// Without it each user sends its next request as soon as the last one is answered.
    #[arg(short = 'r', long, value_name = "R", value_parser = parse_rate, allow_negative_numbers = true)]
    pub rps: Option<f64>,

    /// How long to run: 10 (seconds), 30s, 5m, 1h [default: 10s unless --requests is given].
    #[arg(short = 'z', long, value_name = "D", value_parser = parse_duration, allow_negative_numbers = true)]
    pub duration: Option<Duration>,

    /// Stop after exactly N requests in total (10k and 1M work).
    #[arg(short = 'n', long, value_name = "N", value_parser = parse_count, allow_negative_numbers = true)]
    pub requests: Option<u64>,

    /// Users per stage, each stage lasting --step: 0,4,8,16 or 50..200:50.
    #[arg(long, value_name = "STAGES", value_parser = parse_ramp_spec, requires = "step")]
    pub ramp: Option<RampSpec>,

    /// Length of each --ramp stage: 10s, 1m.
    #[arg(long, value_name = "D", value_parser = parse_duration, requires = "ramp")]
    pub step: Option<Duration>,

    /// Start --users linearly over this time, then hold them for --duration.
    #[arg(long, value_name = "D", value_parser = parse_duration, conflicts_with = "ramp")]
    pub ramp_up: Option<Duration>,

    /// Per-request timeout, applied to connecting, sending, waiting for the response head and
    /// reading the body.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "30s")]
    pub timeout: Duration,

    /// HTTP method.
    #[arg(short = 'X', long, default_value = "GET")]
    pub method: String,

    /// Request header 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,

    /// Request body, or @FILE to read it from a file.
    #[arg(short = 'd', long = "body", value_name = "BODY")]
    pub body: Option<String>,

    /// Do not verify TLS certificates (verification is on by default).
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Send traffic through this HTTP or SOCKS proxy. Proxy environment variables
    /// (HTTP_PROXY, ALL_PROXY, ...) are ignored: a load test should not change route silently.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,

    /// No per-second lines.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Wait and start at this wall-clock time (RFC 3339, e.g. 2026-05-01T12:00:00Z), so that
    /// runs on many machines start together.
    #[arg(long, value_name = "TIME", value_parser = parse_rfc3339)]
    pub start_at: Option<SystemTime>,

    #[command(flatten)]
    pub outputs: OutputArgs,
}

/// Users per ramp stage, as parsed from `--ramp` (a newtype so clap takes it as one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RampSpec(pub Vec<usize>);

fn parse_ramp_spec(text: &str) -> Result<RampSpec, String> {
    parse_ramp(text).map(RampSpec)
}

/// `qpsbench serve`.
#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Delay added to every response on '/'.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "0")]
    pub delay: Duration,

    /// Uniform random extra delay in [0, D] on '/'.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "0")]
    pub jitter: Duration,

    /// Fraction of requests on '/' answered with 500 (0 to 1).
    #[arg(long, value_name = "F", default_value_t = 0.0)]
    pub error_rate: f64,

    /// Server worker threads [default: number of CPUs].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// `qpsbench demo`.
#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Length of each of the four ramp stages (0, 4, 8, 16 users).
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "2.5s")]
    pub step: Duration,

    /// No per-second lines.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    #[command(flatten)]
    pub outputs: OutputArgs,
}

/// `qpsbench merge`.
#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// JSON reports written by `qpsbench run --json` (same qpsbench version, same schedule).
    #[arg(required = true, value_name = "REPORT.json")]
    pub inputs: Vec<PathBuf>,

    #[command(flatten)]
    pub outputs: OutputArgs,
}

/// `qpsbench report`.
#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// A JSON report written by `qpsbench run --json` or `qpsbench merge --json`.
    #[arg(value_name = "REPORT.json")]
    pub input: PathBuf,

    #[command(flatten)]
    pub outputs: OutputArgs,
}

/// Subcommand names, to tell `qpsbench --url ...` (implicit `run`) from `qpsbench serve`.
pub const SUBCOMMANDS: &[&str] = &["run", "serve", "demo", "merge", "report", "help"];

/// Insert `run` when the first argument is a flag other than help or version.
pub fn with_default_subcommand(mut argv: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    if let Some(first) = argv.get(1).and_then(|a| a.to_str()) {
        let is_meta = matches!(first, "-h" | "--help" | "-V" | "--version");
        if first.starts_with('-') && !is_meta && !SUBCOMMANDS.contains(&first) {
            argv.insert(1, "run".into());
        }
    }
    argv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let argv = with_default_subcommand(args.iter().map(Into::into).collect());
        Cli::try_parse_from(argv)
    }

    #[test]
    fn run_is_the_default() {
        let cli = parse(&["qpsbench", "--url", "http://127.0.0.1/", "-c", "3"]).unwrap();
        match cli.command {
            Command::Run(a) => assert_eq!(a.users, Some(3)),
            other => panic!("expected run, got {other:?}"),
        }
        assert!(parse(&["qpsbench", "serve", "--addr", "127.0.0.1:0"]).is_ok());
    }

    #[test]
    fn the_clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn ramp_needs_a_step() {
        assert!(parse(&["qpsbench", "--url", "http://x/", "--ramp", "1,2"]).is_err());
        assert!(parse(&["qpsbench", "--url", "http://x/", "--step", "1s"]).is_err());
        assert!(
            parse(&[
                "qpsbench",
                "--url",
                "http://x/",
                "--ramp",
                "1,2",
                "--step",
                "1s"
            ])
            .is_ok()
        );
    }
}
