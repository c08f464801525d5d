//! Command-line surface (clap derive) and nothing else: checks across flags live in `config`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, Parser, Subcommand};

pub mod generate;
mod llm;
mod saved;
pub use llm::LlmArgs;
pub use saved::{CompareArgs, MergeArgs, ReportArgs};

use crate::parse::{parse_count, parse_duration, parse_ramp, parse_rates, parse_rfc3339};

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

Streaming (text/event-stream responses, or every response with --stream):
  TTFT             send start -> first event that carries content
  TTFOT            with reasoning: send start -> first answer (not reasoning) content
  ITL              gap between consecutive content events (content only, as guidellm)
  TPOT             (last token - first token) / (output tokens - 1), complete answers only
  tokens           output tokens: the server's usage when sent, else the content text counted
                   by --tokenizer, else estimated (words, CJK characters); input tokens: the
                   server's prompt_tokens
  goodput          --goodput: requests per second that met every objective (vLLM's goodput)
  tokens/s         per request: tokens / (last token - send start); output tokens/s: tokens of the
                   streams that ended in a window / its length
  stream failures  'stream': cut before its end event; 'stream_error': an error event

Exit codes: 0 success, 1 a --fail-on threshold failed, --abort-on stopped the run or the run
could not be done, 2 bad usage or input, 130 interrupted (even when a threshold failed)";

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
    /// Find the most load a service sustains within an SLO: step the rate (or the users) up
    /// until a step fails, then bisect to within 5%.
    #[command(mut_args(hide_from_find))]
    Find(FindArgs),
    /// Combine JSON reports of several runs (several machines) into one, with exact percentiles.
    Merge(MergeArgs),
    /// Re-render a saved JSON report as text, CSV, HTML or an HDR interval log; with
    /// --fail-on (and --baseline), gate it as a run is gated.
    Report(ReportArgs),
    /// Compare saved JSON reports, the first as the baseline: a row per run with its qps,
    /// p50/p90/p99 and error and failure rates, and each one's change from the baseline (in %,
    /// and in percentage points for the rates); with --fail-on, a gate.
    Compare(CompareArgs),
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell (see the
    /// README's "Shell completions and the man page").
    Completions(CompletionsArgs),
    /// Print the man page (roff): qpsbench man > qpsbench.1; man -l qpsbench.1
    Man,
}

/// `qpsbench completions`.
#[derive(Debug, Args, Clone)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
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

    /// Write one JSON object per second (the JSON report's per-second rows) as the run goes,
    /// flushed every second: `tail -f` works, and a killed run keeps every completed second.
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<String>,

    /// Write the totals under the key names of vLLM's `bench serve` result file
    /// (request_throughput, mean_ttft_ms, p99_itl_ms, ...), for scripts made for those files.
    #[arg(long, value_name = "FILE")]
    pub result_json: Option<String>,
}

/// `qpsbench run`.
#[derive(Debug, Args, Clone)]
#[command(after_help = METRICS_HELP)]
pub struct RunArgs {
    /// Target URL (http:// or https://); may hold {{column}} placeholders (see --data). With
    /// --targets it is optional: the base of entries whose URL starts with '/'.
    #[arg(short = 'u', long, required_unless_present_any = ["targets", "url_last"])]
    pub url: Option<String>,

    /// The target URL given without --url, after the flags (as wrk, hey, oha and ab take it).
    #[arg(value_name = "URL", conflicts_with = "url")]
    pub url_last: Option<String>,

    /// Concurrent users, one OS thread each [default: 10].
    #[arg(short = 'c', long, value_name = "N", value_parser = parse_users, allow_negative_numbers = true)]
    pub users: Option<usize>,

    /// Global target rate in requests per second, shared by all users (open model); or one per
    /// stage (100,200,400 or 100..1000:100, each stage lasting --step; --users caps the
    /// concurrency, or with --ramp the lists pair up). Without it each user sends its next
    /// request as soon as the last one is answered.
    #[arg(short = 'r', long, value_name = "R", value_parser = parse_rate_spec, allow_hyphen_values = true)]
    pub rps: Option<RateSpec>,

    /// How --rps slots are spread: constant (evenly, 1/R apart) or poisson (random gaps of mean
    /// 1/R; see --burstiness). Reproducible with --seed.
    #[arg(long, value_enum, value_name = "PROCESS")]
    pub arrival: Option<ArrivalArg>,

    /// Gaps between --rps slots from a gamma distribution of this shape and mean 1/R: 1 is a
    /// Poisson process, below 1 burstier, above 1 more regular (as vLLM's --burstiness).
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    pub burstiness: Option<f64>,

    /// How long to run: 10 (seconds), 30s, 5m, 1h [default: 10s unless --requests is given].
    #[arg(short = 'z', long, value_name = "D", value_parser = parse_duration, allow_hyphen_values = true)]
    pub duration: Option<Duration>,

    /// Stop after exactly N requests in total (10k and 1M work).
    #[arg(short = 'n', long, value_name = "N", value_parser = parse_count, allow_negative_numbers = true)]
    pub requests: Option<u64>,

    /// Each user sends exactly N requests and stops; the run ends when all have (1 for a
    /// single-shot run of every user).
    #[arg(long, value_name = "N", value_parser = parse_count, allow_negative_numbers = true, conflicts_with_all = ["requests", "duration", "ramp", "ramp_up", "warmup"])]
    pub iterations: Option<u64>,

    /// A name for this run, in every output (the summary, the first CSV column, the JSON's
    /// `name`, the HTML title), so that runs line up in one table.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Users per stage, each stage lasting --step: 0,4,8,16 or 50..200:50.
    #[arg(long, value_name = "STAGES", value_parser = parse_ramp_spec, requires = "step", allow_hyphen_values = true)]
    pub ramp: Option<RampSpec>,

    /// Warm up for this long at the first stage's shape before the measured run: its requests
    /// are sent, and kept out of the totals, stages, series and --fail-on (a 'warmup' row).
    #[arg(long, value_name = "D", value_parser = parse_duration, allow_hyphen_values = true)]
    pub warmup: Option<Duration>,

    /// Length of each --ramp stage, or of each --rps rate stage: 10s, 1m.
    #[arg(long, value_name = "D", value_parser = parse_duration, allow_hyphen_values = true)]
    pub step: Option<Duration>,

    /// Start --users linearly over this time, then hold them for --duration.
    #[arg(long, value_name = "D", value_parser = parse_duration, conflicts_with = "ramp", allow_hyphen_values = true)]
    pub ramp_up: Option<Duration>,

    /// Per-request timeout: one deadline for connecting, sending, waiting for the response head
    /// and reading the body together (each single read or write within it, too).
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "30s", allow_hyphen_values = true)]
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

    /// Serve live metrics (Prometheus/OpenMetrics text) at http://ADDR/metrics while the run
    /// goes: HOST:PORT, or a bare PORT on 127.0.0.1 (0: any free port). Bound before the first
    /// request.
    #[arg(long, value_name = "ADDR", allow_hyphen_values = true)]
    pub metrics_addr: Option<String>,

    /// Keep serving /metrics this long after the run, once the summary and reports are
    /// written, so that a scraper sees the final values (Ctrl-C ends it sooner).
    #[arg(long, value_name = "D", value_parser = parse_duration, requires = "metrics_addr", allow_hyphen_values = true)]
    pub metrics_linger: Option<Duration>,

    #[command(flatten)]
    pub llm: LlmArgs,

    #[command(flatten)]
    pub traffic: TrafficArgs,

    #[command(flatten)]
    pub outputs: OutputArgs,

    /// Write one line per request to FILE.csv or FILE.jsonl as the run goes ('-': JSON lines
    /// on stdout).
    ///
    /// Every attempt is a line (a retry is one more), the warm-up's included; whole lines,
    /// flushed at least once a second. A CSV file has a header line; a JSON line has every key (null when
    /// empty). Columns: start_unix_us (wall clock at send start), stage (0 the warm-up, then 1,
    /// 2 ... as the report numbers them), user (from 0), target (the --targets name, or method
    /// and URL, secrets masked), attempt (0 the first, 1 ... its retries), latency_us, ttfb_us,
    /// status (empty on a client failure), failure (its kind, or 'check' for a failed
    /// --expect-*), body_bytes, and for event streams ttft_us and output_tokens.
    #[arg(long, value_name = "FILE")]
    pub samples: Option<String>,

    /// Keep this fraction of the --samples lines, drawn at random: 0 < F <= 1, e.g. 0.1 or 10%
    /// (with --seed, the n-th request recorded is kept or dropped alike in every run).
    #[arg(long, value_name = "F", value_parser = parse_fraction, allow_negative_numbers = true)]
    pub samples_rate: Option<f64>,
}

/// Real traffic and CI gates: several targets, data, rotated credentials, think time, success
/// statuses, retries, thresholds and secret masking.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Traffic, retries and CI gates")]
pub struct TrafficArgs {
    /// Several requests in one run, from a file: 'METHOD URL [weight=N] [name=NAME]', then
    /// 'Name: value' headers, then 'body TEXT' or '@FILE'; blank lines between entries
    /// (docs/targets.md). A results row per target.
    #[arg(long, value_name = "FILE")]
    pub targets: Option<PathBuf>,

    /// How --targets are chosen: weighted (smooth weighted round-robin), random (by weight,
    /// seeded by --seed) or round-robin (in file order, weights ignored).
    #[arg(
        long,
        value_enum,
        value_name = "ORDER",
        default_value_t,
        requires = "targets"
    )]
    pub targets_order: TargetsOrderArg,

    /// Seed of every random choice (--targets-order random, think time, retry jitter,
    /// --dataset random's prompts); without it one is chosen and written in the report.
    #[arg(long, value_name = "N", value_parser = parse_seed, allow_negative_numbers = true)]
    pub seed: Option<u64>,

    /// Authorization values, rotated round-robin across requests: the first column of a CSV or
    /// text file (a header row such as 'token' is skipped; a bare token is sent as 'Bearer
    /// TOKEN'). Never printed or written to a report.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["api_key", "api_key_file"])]
    pub auth_file: Option<PathBuf>,

    /// CSV with a header row: request n uses row n (in turn), its values replacing
    /// {{column}} in the URL, headers and body. {{user}} and {{seq}} work without it.
    #[arg(long, value_name = "FILE.csv")]
    pub data: Option<PathBuf>,

    /// Pause after each of a user's requests: D, or D1..D2 for a uniformly random pause.
    #[arg(long, value_name = "D|D1..D2", value_parser = crate::traffic::policy::parse_think_time, allow_hyphen_values = true)]
    pub think_time: Option<crate::traffic::policy::ThinkTime>,

    /// Statuses that count as success, e.g. 200-299,304 [default: 200-399]; any other status is
    /// an HTTP error.
    #[arg(long, value_name = "CODES", value_parser = crate::traffic::policy::parse_ok_status)]
    pub ok_status: Option<crate::traffic::policy::OkStatus>,

    /// Check each response's status: a success status (--ok-status) outside CODES (e.g.
    /// 200,201) is a check failure, counted apart from HTTP errors (a 500 stays an HTTP error)
    /// and client failures.
    #[arg(long, value_name = "CODES", value_parser = crate::traffic::policy::parse_ok_status)]
    pub expect_status: Option<crate::traffic::policy::OkStatus>,

    /// Check each response's body contains TEXT (repeatable: each must be there); reads the
    /// first 4 MiB of the body. A body without it is a check failure.
    #[arg(long, value_name = "TEXT", value_parser = crate::traffic::check::parse_expect_body)]
    pub expect_body: Vec<String>,

    /// Check a JSON body's value at PATH (the --content-path syntax) equals VALUE, e.g.
    /// 'data.status=ok' or 'items.0.id=7' (repeatable). A mismatch is a check failure.
    #[arg(long, value_name = "PATH=VALUE", value_parser = crate::traffic::check::parse_expect_json)]
    pub expect_json: Vec<crate::traffic::check::JsonCheck>,

    /// Give each user its own cookie jar: cookies the server sets are sent back on that user's
    /// later requests (for sites with a login), never on another user's.
    #[arg(long)]
    pub cookies: bool,

    /// Retry a request up to N times on 429/500/502/503/504 and connection failures (refused,
    /// reset, timeout). Every attempt is measured.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub retries: u32,

    /// First retry backoff; doubles each retry (capped at 30s), with jitter.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "100ms", allow_hyphen_values = true)]
    pub retry_backoff: Duration,

    /// Thresholds checked after the run; exit code 1 when one fails:
    /// 'p99<300ms,error-rate<1%,qps>500' (p50 p90 p95 p99 p999 max mean, error-rate,
    /// failure-rate, check-failure-rate, qps; the same percentiles of ttfb- and, for streamed
    /// answers, ttft- itl- tpot-, e.g. ttft-p99<2s; tokens-per-s, tokens-per-s-p50, tokens-per-s-min (per answer),
    /// output-tokens-per-s (throughput); 'stage=N:' for one stage). With --baseline, a signed
    /// limit is a change from the baseline's value: 'p99<+10%,qps>-5%,error-rate<+0.5pp'.
    #[arg(long, value_name = "THRESHOLDS")]
    pub fail_on: Option<String>,

    /// A saved JSON report (--json) that --fail-on's changes are measured against, read before
    /// the first request: 'p99<+10%' is p99 < the baseline's p99 x 1.10, 'qps>-5%' qps > its
    /// qps x 0.95, 'error-rate<+0.5pp' error-rate < its error rate + 0.005 (pp: rates only).
    /// A % of a baseline value of 0 is 0 (error-rate<+10% against no errors fails even with
    /// none: use pp, or <=); a baseline that measured nothing for a change's metric is refused,
    /// and so is a goodput change against a baseline of other --goodput objectives.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Stop the run early, as Ctrl-C does (summary and reports written), and exit 1 when one of
    /// these holds over the last --abort-window seconds, judged as each second closes:
    /// 'error-rate>50%,p99>5s' (the --fail-on metrics; no 'stage=N:'). A soak stops once its
    /// service has clearly failed instead of hammering it for hours.
    #[arg(long, value_name = "THRESHOLDS")]
    pub abort_on: Option<String>,

    /// The rolling window --abort-on is judged over, whole seconds [default: 10s].
    #[arg(long, value_name = "D", value_parser = parse_duration, allow_hyphen_values = true)]
    pub abort_window: Option<Duration>,

    /// Also mask this header, or this URL query parameter, in every output (repeatable).
    #[arg(long, value_name = "NAME")]
    pub redact: Vec<String>,
}

/// `--targets-order`: how the next target is chosen (see `traffic::targets::TargetsOrder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TargetsOrderArg {
    /// By weight, deterministically spread (smooth weighted round-robin, as nginx).
    #[default]
    Weighted,
    /// By weight, at random (seeded by --seed).
    Random,
    /// In file order, weights ignored.
    RoundRobin,
}

/// `--users`: a whole number (its range is checked with the schedule).
fn parse_users(text: &str) -> Result<usize, String> {
    text.trim().parse().map_err(|_| {
        format!("'{text}' is not a number of users: write a whole number of 1 or more, e.g. 10")
    })
}

/// `--samples-rate`: a fraction above 0 and at most 1, as a number or a percentage.
fn parse_fraction(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let value = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    };
    match value {
        Ok(f) if f > 0.0 && f <= 1.0 => Ok(f),
        Ok(_) => Err(format!(
            "'{text}' is outside 0 < F <= 1: write e.g. 0.1 (or 10%) to keep a tenth of the \
             lines, 1 to keep all"
        )),
        Err(_) => Err(format!(
            "'{text}' is not a fraction: write a number above 0 and at most 1, e.g. 0.1 or 10%"
        )),
    }
}

/// `--seed`: any unsigned 64-bit number.
fn parse_seed(text: &str) -> Result<u64, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "'{text}' is not a seed: write a whole number from 0 to {}",
            u64::MAX
        )
    })
}

/// Target rates, one or one per stage, as parsed from `--rps` (one value for clap).
#[derive(Debug, Clone, PartialEq)]
pub struct RateSpec(pub Vec<f64>);

fn parse_rate_spec(text: &str) -> Result<RateSpec, String> {
    parse_rates(text).map(RateSpec)
}

/// `--arrival`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ArrivalArg {
    /// Evenly spaced slots.
    Constant,
    /// A Poisson process: exponential gaps (gamma of shape --burstiness, 1 by default).
    Poisson,
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
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "0", allow_hyphen_values = true)]
    pub delay: Duration,

    /// Uniform random extra delay in [0, D] on '/'.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "0", allow_hyphen_values = true)]
    pub jitter: Duration,

    /// Fraction of requests on '/' answered with 500 (0 to 1).
    #[arg(
        long,
        value_name = "F",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub error_rate: f64,

    /// Server worker threads [default: number of CPUs].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub threads: Option<usize>,

    /// Chat routes: request -> first token.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "50ms", help_heading = "LLM routes (/v1/chat/completions, /v1/chat-messages)", allow_hyphen_values = true)]
    pub first_token: Duration,

    /// Chat routes: tokens per answer (a request's max_tokens or ?tokens=N lowers it; with
    /// "ignore_eos": true, max_tokens sets it).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 20,
        help_heading = "LLM routes (/v1/chat/completions, /v1/chat-messages)",
        allow_negative_numbers = true
    )]
    pub tokens: u32,

    /// Chat routes: tokens per streamed event (the last event may carry fewer; per request
    /// ?tokens_per_event=N).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        help_heading = "LLM routes (/v1/chat/completions, /v1/chat-messages)",
        allow_negative_numbers = true
    )]
    pub tokens_per_event: u32,

    /// Chat routes: the first N tokens of each OpenAI answer are reasoning
    /// (delta.reasoning_content), counted in --tokens; Dify ignores it (per request
    /// ?reasoning_tokens=N).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        help_heading = "LLM routes (/v1/chat/completions, /v1/chat-messages)",
        allow_negative_numbers = true
    )]
    pub reasoning_tokens: u32,

    /// Chat routes: time between tokens.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "10ms", help_heading = "LLM routes (/v1/chat/completions, /v1/chat-messages)", allow_hyphen_values = true)]
    pub token_interval: Duration,

    /// Chat routes: uniform random extra in [0, D] added to every token's wait.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "0", help_heading = "LLM routes (/v1/chat/completions, /v1/chat-messages)", allow_hyphen_values = true)]
    pub token_jitter: Duration,

    /// Chat routes: when to send token usage (on-request: OpenAI streams only with
    /// stream_options.include_usage, as OpenAI does).
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value = "on-request",
        help_heading = "LLM routes (/v1/chat/completions, /v1/chat-messages)"
    )]
    pub usage: UsageArg,
}

/// `qpsbench serve --usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UsageArg {
    Never,
    OnRequest,
    Always,
}

/// `qpsbench demo`.
#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Length of each of the four ramp stages (0, 4, 8, 16 users).
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "2.5s", allow_hyphen_values = true)]
    pub step: Duration,

    /// No per-second lines.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Benchmark the embedded OpenAI-compatible streaming route instead (1, 4, 8 users) and
    /// show TTFT, ITL, TPOT and tokens/s.
    #[arg(long)]
    pub llm: bool,

    #[command(flatten)]
    pub outputs: OutputArgs,
}

/// `qpsbench find`: each step is a run of the flags below at one load.
#[derive(Debug, Args, Clone)]
pub struct FindArgs {
    /// What each step must meet, in the --fail-on syntax: 'p99<300ms,error-rate<1%'. By rate,
    /// a step that achieves less than 95% of its target rate fails too.
    #[arg(long, value_name = "SLO")]
    pub slo: String,

    /// Step the target rate (open model; --users caps the concurrency, 200 by default) or the
    /// number of users (closed model).
    #[arg(long, value_enum, default_value = "rate")]
    pub by: FindByArg,

    /// The first step's load: requests per second [default: 100], or users with --by users
    /// [default: 10].
    #[arg(long, value_name = "N", value_parser = crate::parse::parse_rate)]
    pub from: Option<f64>,

    /// The most load to try: requests per second [default: 100k], or users [default: 1000].
    #[arg(long, value_name = "N", value_parser = crate::parse::parse_rate)]
    pub to: Option<f64>,

    /// The whole search stops after this long, with the answer so far.
    #[arg(long, value_name = "D", value_parser = parse_duration, default_value = "10m", allow_hyphen_values = true)]
    pub max_time: Duration,

    /// The flags of a run: the URL, headers, body, --users, --warmup (before each step),
    /// --step (each step's length, 10s by default), --json, --html and --metrics-addr (one
    /// page for the whole search).
    #[command(flatten)]
    pub run: RunArgs,
}

/// `find --by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FindByArg {
    /// The target rate, requests per second.
    Rate,
    /// The number of users.
    Users,
}

/// The ids of `run`'s flags that `find` refuses (it sets the load, the length and the outputs
/// itself; `cmd::find` says why for each): hidden from find's help, man page and completions.
pub const FIND_REFUSES: &[&str] = &[
    "rps",
    "duration",
    "requests",
    "iterations",
    "ramp",
    "ramp_up",
    "start_at",
    "fail_on",
    "baseline",
    "csv",
    "csv_series",
    "hdr_log",
    "jsonl",
    "result_json",
    "abort_on",
    "abort_window",
    "samples",
    "samples_rate",
];

/// A run flag as `find` shows it: hidden when find refuses it ([`FIND_REFUSES`]), and the
/// flags whose meaning find changes described as find uses them.
fn hide_from_find(arg: clap::Arg) -> clap::Arg {
    match arg.get_id().as_str() {
        id if FIND_REFUSES.contains(&id) => arg.hide(true),
        "users" => arg.help(
            "By rate: the most users each step may use, one OS thread each [default: 200]; \
             --by users steps the users itself (--from, --to)",
        ),
        "step" => arg.help("Each step's length, after its --warmup: 30s, 1m [default: 10s]"),
        "json" => arg.help(
            "Write the search as JSON to FILE, or - for stdout: every step and the capacity \
             found (docs/find.schema.json)",
        ),
        "arrival" => arg.help(
            "How each rate step's slots are spread: constant (evenly) or poisson (random gaps \
             of mean 1/R; see --burstiness). Reproducible with --seed",
        ),
        "warmup" => arg.help(
            "Warm up for this long at each step's load before the step is measured: its \
             requests are sent and kept out of the step's results",
        ),
        _ => arg,
    }
}

/// Parse `argv` (program name first) as `qpsbench run`, for commands that build a run as a
/// command line (the demos).
///
/// # Errors
///
/// clap's message, first line only, when `argv` is not a valid `run` command line.
pub fn parse_run_args(argv: &[String]) -> Result<RunArgs, String> {
    match Cli::try_parse_from(argv).map(|c| c.command) {
        Ok(Command::Run(a)) => Ok(a),
        Ok(_) => Err("not a run command line".to_string()),
        Err(e) => Err(e.to_string().lines().next().unwrap_or("").to_string()),
    }
}

/// Subcommand names, to tell `qpsbench --url ...` (implicit `run`) from `qpsbench serve`.
pub const SUBCOMMANDS: &[&str] = &[
    "run",
    "serve",
    "demo",
    "find",
    "merge",
    "report",
    "compare",
    "completions",
    "man",
    "help",
];

/// Insert `run` when the first argument is a flag other than help or version, and take a URL
/// given as the first argument (`qpsbench http://host/ -c 10`, `qpsbench run http://host/`, as
/// wrk, hey, oha and ab take it) as `--url`.
///
/// `--dataset=KIND FILE` is read as `--dataset KIND FILE` (clap gives an `=` value no
/// second one). A URL given last right after `--dataset random` (which takes no file, though
/// `--dataset` takes one or two values) is the target's, given as `--url` when there is no
/// `--url`.
pub fn with_default_subcommand(argv: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut argv: Vec<std::ffi::OsString> = argv
        .into_iter()
        .flat_map(
            |a| match a.to_str().and_then(|s| s.strip_prefix("--dataset=")) {
                Some(kind) => vec!["--dataset".into(), kind.into()],
                None => vec![a],
            },
        )
        .collect();
    let is_url = |a: Option<&std::ffi::OsString>| {
        a.and_then(|a| a.to_str())
            .is_some_and(|a| !a.starts_with('-') && a.contains("://"))
    };
    let has_url = argv
        .iter()
        .filter_map(|a| a.to_str())
        .any(|a| a == "-u" || a == "--url" || a.starts_with("--url="));
    if !has_url
        && let Some(i) = argv
            .windows(3)
            .position(|w| w[0] == "--dataset" && w[1] == "random" && is_url(Some(&w[2])))
    {
        argv.insert(i + 2, "--url".into());
    }
    if is_url(argv.get(1)) {
        argv.insert(1, "run".into());
        argv.insert(2, "--url".into());
        return argv;
    }
    if argv.get(1).and_then(|a| a.to_str()) == Some("run") && is_url(argv.get(2)) {
        argv.insert(2, "--url".into());
        return argv;
    }
    if let Some(first) = argv.get(1).and_then(|a| a.to_str()) {
        let is_meta = matches!(first, "-h" | "--help" | "-V" | "--version");
        if first.starts_with('-') && !is_meta && !SUBCOMMANDS.contains(&first) {
            argv.insert(1, "run".into());
        }
    }
    argv
}

/// Where the flags of a command line are described: `qpsbench run --help` for a run (its argv
/// after [`with_default_subcommand`]).
pub fn help_pointer(argv: &[std::ffi::OsString]) -> String {
    match argv.get(1).and_then(|a| a.to_str()) {
        Some(sub) if sub != "help" && SUBCOMMANDS.contains(&sub) => {
            format!("qpsbench {sub} --help")
        }
        _ => "qpsbench --help".to_string(),
    }
}

/// What a flag of wrk, hey, oha, ab, vegeta or k6 is called here, as a tip.
pub fn peer_flag(arg: &str) -> Option<&'static str> {
    let name = arg.split('=').next().unwrap_or(arg);
    Some(match name {
        "--threads" | "--connections" | "--concurrency" | "--vus" | "--workers" => {
            "tip: qpsbench runs one thread per user: use '--users N'"
        }
        "--rate" | "--qps" | "--rps-limit" => "tip: the target rate is '--rps R'",
        "--requests-per-second" => "tip: the target rate is '--rps R'",
        "--time" | "--timelimit" => "tip: the run's length is '--duration D'",
        _ => return None,
    })
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
    fn a_url_first_is_the_url_of_a_run() {
        for argv in [
            &["qpsbench", "http://127.0.0.1:8080/x", "-c", "3"][..],
            &["qpsbench", "run", "http://127.0.0.1:8080/x", "-c", "3"][..],
        ] {
            match parse(argv).unwrap().command {
                Command::Run(a) => {
                    assert_eq!(a.url.as_deref(), Some("http://127.0.0.1:8080/x"));
                    assert_eq!(a.users, Some(3));
                }
                other => panic!("expected run, got {other:?}"),
            }
        }
        // A URL given twice is an error, not a silent choice.
        assert!(parse(&["qpsbench", "http://a/", "--url", "http://b/"]).is_err());
    }

    #[test]
    fn the_clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn a_url_after_the_flags_is_the_url_of_a_run() {
        let cli = parse(&["qpsbench", "-n", "2", "http://127.0.0.1:9/"]).unwrap();
        match cli.command {
            Command::Run(a) => assert_eq!(a.url_last.as_deref(), Some("http://127.0.0.1:9/")),
            other => panic!("expected run, got {other:?}"),
        }
        assert!(parse(&["qpsbench", "--url", "http://a/", "http://b/"]).is_err());
        // `--dataset random` takes no file: a URL after it is the target's.
        let cli = parse(&["qpsbench", "--dataset", "random", "http://127.0.0.1:9/v1"]).unwrap();
        match cli.command {
            Command::Run(a) => {
                assert_eq!(a.url.as_deref(), Some("http://127.0.0.1:9/v1"));
                assert_eq!(a.llm.dataset, Some(vec!["random".to_string()]));
            }
            other => panic!("expected run, got {other:?}"),
        }
        let cli = parse(&[
            "qpsbench",
            "--dataset=jsonl",
            "p.jsonl",
            "--url",
            "http://h/",
        ])
        .unwrap();
        match cli.command {
            Command::Run(a) => assert_eq!(
                a.llm.dataset,
                Some(vec!["jsonl".to_string(), "p.jsonl".to_string()])
            ),
            other => panic!("expected run, got {other:?}"),
        }
        let cli = parse(&["qpsbench", "--dataset", "sharegpt", "f.json", "http://h/"]).unwrap();
        match cli.command {
            Command::Run(a) => assert_eq!(a.url_last.as_deref(), Some("http://h/")),
            other => panic!("expected run, got {other:?}"),
        }
    }

    #[test]
    fn samples_rate_is_a_fraction_or_a_percentage() {
        assert_eq!(parse_fraction("0.1"), Ok(0.1));
        assert_eq!(parse_fraction(" 10% "), Ok(0.1));
        assert_eq!(parse_fraction("1"), Ok(1.0));
        for bad in [
            "0", "0%", "1.01", "101%", "-0.5", "NaN", "inf", "%", "tenth",
        ] {
            assert!(parse_fraction(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ramp_needs_a_step() {
        assert!(parse(&["qpsbench", "--url", "http://x/", "--ramp", "1,2"]).is_err());
        // --step alone parses; the configuration refuses it (it needs --ramp or --rps stages).
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
