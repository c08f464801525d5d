//! Helpers shared by the integration tests: the embedded server on an ephemeral loopback port,
//! configurations parsed exactly as the command line parses them, and the built binary.
#![allow(dead_code)]

use std::time::Duration;

use clap::Parser;
use qpsbench::cli::{Cli, Command, with_default_subcommand};
use qpsbench::serve::{self, ServeConfig, ServerHandle};
use qpsbench::{Config, Report};

/// The embedded target on 127.0.0.1 with an ephemeral port.
pub fn server() -> ServerHandle {
    server_with(ServeConfig {
        threads: 2,
        ..ServeConfig::ephemeral()
    })
}

/// The embedded target answering each request after `delay`: N users over it cannot exceed
/// N / delay requests per second, a limit known by hand.
pub fn slow_server(delay: Duration) -> ServerHandle {
    server_with(ServeConfig {
        threads: 2,
        delay,
        ..ServeConfig::ephemeral()
    })
}

/// The embedded target's OpenAI route streaming `tokens` tokens, the first `first_token` after
/// the request, then one every `interval`, without jitter, with usage in every answer: TTFT,
/// ITL and TPOT known by hand.
pub fn llm_target(first_token: Duration, tokens: u32, interval: Duration) -> ServerHandle {
    server_with(ServeConfig {
        threads: 2,
        llm: serve::LlmConfig {
            first_token,
            tokens,
            interval,
            jitter: Duration::ZERO,
            usage: serve::UsageMode::Always,
            ..serve::LlmConfig::default()
        },
        ..ServeConfig::ephemeral()
    })
}

pub fn server_with(cfg: ServeConfig) -> ServerHandle {
    serve::spawn(cfg).expect("embedded server starts on loopback")
}

/// A run configuration from command-line words (after `qpsbench run`).
pub fn config(args: &[&str]) -> Config {
    let mut argv = vec!["qpsbench", "run", "--quiet"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(with_default_subcommand(
        argv.iter().map(Into::into).collect(),
    ))
    .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let Command::Run(a) = cli.command else {
        unreachable!()
    };
    Config::try_from(a).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Run in-process and return the report.
pub fn run(args: &[&str]) -> Report {
    let (_tx, rx) = crossbeam_channel::bounded::<()>(1);
    qpsbench::run(&config(args), &rx).expect("run completes")
}

/// A loopback port free right now, for a server the test starts on it itself (another test may
/// take it first: use it at once).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A loopback port with nothing listening on it, for as long as this test process lives: a
/// socket is bound to it and never listens (a connect is refused), so no other test's server
/// can take the port meanwhile (binding and closing a listener would free it for anyone).
pub fn closed_port() -> u16 {
    // SAFETY: plain socket calls on a descriptor we own; the address struct outlives them.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let bound = libc::bind(fd, (&raw const addr).cast(), len);
        assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
        let mut len = len;
        let named = libc::getsockname(fd, (&raw mut addr).cast(), &mut len);
        assert_eq!(named, 0, "getsockname: {}", std::io::Error::last_os_error());
        // The descriptor is kept open (never closed) so that the port stays taken.
        u16::from_be(addr.sin_port)
    }
}

/// The built `qpsbench` binary.
pub fn bin() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_qpsbench"));
    cmd.env_remove("RUST_BACKTRACE");
    // The summary's tables narrow to COLUMNS: tests read them at their usual width.
    cmd.env_remove("COLUMNS");
    cmd
}

/// Wait for a child with a deadline; kill it if the deadline passes.
pub fn wait_with_deadline(
    child: &mut std::process::Child,
    deadline: Duration,
) -> Option<std::process::ExitStatus> {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Run the built binary with `args` to completion (stdin closed, at most 60 s);
/// returns (exit code, stdout, stderr).
pub fn qps(args: &[&str]) -> (i32, String, String) {
    run_cmd(bin().args(args))
}

/// Run a prepared command (stdin closed, output captured) to completion; see [`finish`].
pub fn run_cmd(cmd: &mut std::process::Command) -> (i32, String, String) {
    use std::process::Stdio;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish(child)
}

/// Read a spawned child's stdout and stderr (both piped) while it runs, and wait for it at most
/// 60 s; returns (exit code, stdout, stderr).
pub fn finish(mut child: std::process::Child) -> (i32, String, String) {
    use std::io::Read;
    let mut out = child.stdout.take().expect("stdout is piped");
    let mut err = child.stderr.take().expect("stderr is piped");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = wait_with_deadline(&mut child, Duration::from_secs(60)).expect("finishes in 60 s");
    (
        status.code().unwrap_or(-1),
        out_t.join().unwrap(),
        err_t.join().unwrap(),
    )
}

/// For a test whose machine lacks what it needs (`why`): outside CI, say so and return true
/// (the caller returns, skipping the test); under `CI` (set by CI's environment) panic instead,
/// since a skipped test would count as a pass there.
pub fn skip_outside_ci(why: &str) -> bool {
    if std::env::var_os("CI").is_some() {
        panic!("CI is set, so this test may not be skipped: {why}");
    }
    eprintln!("skipped: {why}");
    true
}

/// Wait (at most 20 s, then fail) until the embedded server has seen `n` requests: the signal
/// that a run under test has started sending, instead of a sleep that guesses.
pub fn wait_for_server(srv: &ServerHandle, n: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while srv.stats.requests.load(std::sync::atomic::Ordering::SeqCst) < n {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never sent {n} requests"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The JSON Schema of reports, docs/report.schema.json.
pub fn schema_validator() -> jsonschema::Validator {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

/// Assert that `v` is a report the schema describes; the message lists every mismatch.
pub fn assert_valid(v: &serde_json::Value, what: &str) {
    let errors: Vec<String> = schema_validator()
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match the schema:\n{}",
        errors.join("\n")
    );
}

/// Assert that `v` is a `qpsbench find --json` document as docs/find.schema.json describes it.
pub fn assert_valid_find(v: &serde_json::Value) {
    assert_matches_schema("find.schema.json", v, "find");
}

/// Assert that `v` matches `docs/{schema}`; `what` names the document in the failure.
pub fn assert_matches_schema(schema: &str, v: &serde_json::Value, what: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(schema);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} JSON does not match its schema:\n{}",
        errors.join("\n")
    );
}

/// Run qpsbench quietly against `url` with `args`, its report saved by `--json` at `path`;
/// asserts that it exits 0.
pub fn save_run(url: &str, args: &[&str], path: &str) {
    let mut all = vec!["--url", url];
    all.extend_from_slice(args);
    all.extend(["-q", "--json", path]);
    let (code, _, err) = qps(&all);
    assert_eq!(code, 0, "{err}");
}

/// `qpsbench find` of one step (`--from` = `--to` = `rate`) of length `step` against `url`,
/// judged by `slo`, with `extra` flags: (exit code, stdout, stderr).
pub fn find_one_step(
    url: &str,
    slo: &str,
    rate: &str,
    step: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let mut args = vec![
        "find", "--url", url, "--slo", slo, "--from", rate, "--to", rate, "--step", step,
    ];
    args.extend_from_slice(extra);
    qps(&args)
}

/// Read one HTTP/1.1 request from `r` (a raw test server's side): its head (request line and
/// headers, as sent) and its Content-Length body.
pub fn read_request(r: &mut impl std::io::BufRead) -> (String, Vec<u8>) {
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    let _ = r.read_exact(&mut body);
    (head, body)
}
