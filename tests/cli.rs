//! The built binary as a user meets it: exit codes, one-line errors, Ctrl-C, --json, demo.

mod common;

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let srv = server();
    let url = srv.url();
    let body_missing = "@/nonexistent/qpsbench-body";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run", "--url", "localhost:8080"], "no scheme"),
        (vec!["run", "--url", "ftp://127.0.0.1/"], "not supported"),
        (vec!["run", "--url", "http://"], "not a valid URL"),
        (vec!["run"], "--url"),
        (vec!["--url", &url, "--users", "0"], "at least 1"),
        (vec!["--url", &url, "--users", "-3"], "--users"),
        (vec!["--url", &url, "--users", "lots"], "--users"),
        (vec!["--url", &url, "--rps", "0"], "--rps"),
        (vec!["--url", &url, "--rps", "-5"], "--rps"),
        (vec!["--url", &url, "--duration", "10x"], "not a duration"),
        (vec!["--url", &url, "--duration", "0"], "above 0"),
        (vec!["--url", &url, "--requests", "many"], "not a count"),
        (
            vec!["--url", &url, "--ramp", "0,x", "--step", "1s"],
            "not a number of users",
        ),
        (vec!["--url", &url, "--ramp", "0,4"], "--step"),
        (
            vec!["--url", &url, "--ramp", "0,0", "--step", "1s"],
            "never has any users",
        ),
        (
            vec![
                "--url",
                &url,
                "--ramp",
                "1,2",
                "--step",
                "1s",
                "--ramp-up",
                "1s",
            ],
            "--ramp-up",
        ),
        (vec!["--url", &url, "-H", "NoColonHere"], "no colon"),
        (
            vec!["--url", &url, "-d", body_missing],
            "cannot read the body file",
        ),
        (vec!["--url", &url, "--timeout", "soon"], "not a duration"),
        (
            vec![
                "--url",
                &url,
                "--json",
                "/nonexistent-dir/x.json",
                "-n",
                "1",
            ],
            "cannot create",
        ),
        (vec!["--url", &url, "--users", "1000000"], "more than"),
        (vec!["--url", &url, "--bogus-flag"], "--bogus-flag"),
        (vec!["frobnicate"], "frobnicate"),
        (vec!["serve", "--addr", "nowhere"], "--addr"),
        (vec!["serve", "--error-rate", "2"], "between 0 and 1"),
    ];
    for (args, want) in cases {
        let (code, out, err) = qps(&args);
        assert_eq!(code, 2, "{args:?}: exit {code}, stderr: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: not one line:\n{err}");
        assert!(lines[0].starts_with("error: "), "{args:?}: {err}");
        assert!(
            err.contains(want),
            "{args:?}: '{err}' does not mention '{want}'"
        );
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{args:?}: {err}"
        );
        assert!(out.is_empty(), "{args:?}: printed on stdout: {out}");
    }
    // Nothing reached the server from any of them.
    assert_eq!(srv.stats.snapshot().requests, 0);
}

#[test]
fn help_and_version_exit_0() {
    let (code, out, _) = qps(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("run") && out.contains("demo") && out.contains("serve"));
    let (code, out, _) = qps(&["run", "--help"]);
    assert_eq!(code, 0);
    for flag in [
        "--users",
        "--rps",
        "--duration",
        "--requests",
        "--ramp",
        "--ramp-up",
        "--json",
    ] {
        assert!(out.contains(flag), "run --help lacks {flag}");
    }
    assert!(
        out.contains("coordinated omission"),
        "metric definitions missing from --help"
    );
    let (code, out, _) = qps(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn json_summary_has_the_documented_keys() {
    let srv = server();
    let (code, out, err) = qps(&[
        "--url",
        &srv.url(),
        "-n",
        "300",
        "-c",
        "3",
        "--rps",
        "500",
        "--json",
        "-",
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("stdout is pure JSON with --json -");
    assert!(
        err.contains("Summary"),
        "text summary goes to stderr with --json -"
    );
    let rows = std::iter::once(&v["total"]).chain(v["stages"].as_array().unwrap());
    for row in rows {
        for key in [
            "users",
            "requests",
            "duration_s",
            "qps",
            "errors",
            "failures",
            "error_rate",
            "failure_rate",
            "status_counts",
            "failure_kinds",
            "latency_ms",
            "target_rps",
            "late_slots",
            "max_lag_ms",
            "response_time_ms",
        ] {
            assert!(!row[key].is_null(), "missing {key} in {row}");
        }
        for p in ["min", "mean", "p50", "p90", "p95", "p99", "p999", "max"] {
            assert!(row["latency_ms"][p].is_number(), "latency_ms.{p}");
            assert!(
                row["response_time_ms"][p].is_number(),
                "response_time_ms.{p}"
            );
        }
    }
    assert_eq!(v["total"]["requests"], 300);
    assert_eq!(v["total"]["status_counts"]["200"], 300);
    assert_eq!(v["total"]["target_rps"], 500.0);
    assert_eq!(srv.stats.snapshot().requests, 300);
}

#[test]
fn json_file_and_secrets_masked() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    let url = format!("http://bob:pa55word@{}/", srv.addr);
    let (code, out, err) = qps(&[
        "--url",
        &url,
        "-n",
        "20",
        "-c",
        "2",
        "-q",
        "-H",
        "Authorization: Bearer sk-live-SECRET1",
        "-H",
        "X-Api-Key: SECRET2",
        "-H",
        "Cookie: session=SECRET3",
        "-H",
        "X-Trace: visible",
        "--json",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let file = std::fs::read_to_string(&path).unwrap();
    let v: Value = serde_json::from_str(&file).unwrap();
    assert_eq!(v["total"]["requests"], 20);
    for text in [&out, &err, &file] {
        for secret in ["SECRET1", "SECRET2", "SECRET3", "pa55word"] {
            assert!(!text.contains(secret), "{secret} leaked");
        }
    }
    assert!(file.contains("X-Trace: visible") || file.contains("x-trace: visible"));
}

#[test]
fn ctrl_c_prints_the_summary_and_exits_130() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("int.json");
    // Half the users hang on a request far longer than the run will last.
    let url = format!("{}/delay/30000", srv.url());
    let mut child = bin()
        .args([
            "--url",
            &url,
            "-c",
            "50",
            "--duration",
            "60",
            "--timeout",
            "60s",
            "--json",
            json.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the users are in flight.
    let t0 = Instant::now();
    while srv.stats.snapshot().in_flight < 50 && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        srv.stats.snapshot().in_flight,
        50,
        "users never all got in flight"
    );
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let sent = Instant::now();
    let status =
        wait_with_deadline(&mut child, Duration::from_secs(5)).expect("exits after Ctrl-C");
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(130));
    assert!(
        took < Duration::from_millis(1500),
        "took {took:?} to stop after Ctrl-C"
    );
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(
        out.contains("Summary") && out.contains("(interrupted)"),
        "{out}"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["interrupted"], true);
    assert_eq!(v["in_flight_at_end"], 50);
}

#[test]
fn sigterm_behaves_like_ctrl_c() {
    let srv = server();
    let mut child = bin()
        .args([
            "--url",
            &srv.url(),
            "-c",
            "2",
            "--rps",
            "50",
            "--duration",
            "60",
            "-q",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Ready when it sends: the signal handler is installed before the run starts.
    wait_for_server(&srv, 1);
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status =
        wait_with_deadline(&mut child, Duration::from_secs(5)).expect("exits after SIGTERM");
    assert_eq!(status.code(), Some(130));
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(out.contains("Summary"), "{out}");
}

#[test]
fn demo_runs_the_ramp_against_its_own_server() {
    let (code, out, err) = qps(&["demo", "--step", "0.5s", "--quiet", "--json", "-"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let stages = v["stages"].as_array().unwrap();
    let users: Vec<u64> = stages
        .iter()
        .map(|s| s["users"].as_u64().unwrap())
        .collect();
    assert_eq!(users, [0, 4, 8, 16]);
    assert_eq!(stages[0]["requests"], 0);
    for s in &stages[1..] {
        assert!(s["requests"].as_u64().unwrap() > 0, "{s}");
    }
    // The demo target answers 1% of requests with 500: errors are counted, never failures.
    assert_eq!(v["total"]["failures"], 0);
    assert!(
        v["config"]["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert!(err.contains("demo:"));
    // "The same run by hand" is the same run: its timeout is the run's (issue 13).
    let by_hand = err
        .lines()
        .find(|l| l.contains("qpsbench run --url"))
        .expect("the by-hand command");
    let timeout_s = v["config"]["timeout_s"].as_f64().unwrap();
    assert!(
        by_hand.contains(&format!("--timeout {timeout_s}s")),
        "{by_hand} (the run's timeout is {timeout_s} s)"
    );
}

#[test]
fn live_lines_once_per_second() {
    let srv = server();
    let (code, _out, err) = qps(&[
        "--url",
        &srv.url(),
        "-c",
        "2",
        "--rps",
        "100",
        "--duration",
        "2.5",
    ]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].contains("1s]") && lines[1].contains("2s]"));
    for l in &lines {
        assert!(
            l.contains("users   2")
                && l.contains("p50")
                && l.contains("p99")
                && l.contains("| err ")
                && l.contains(" fail "),
            "{l}"
        );
    }
    // --quiet drops them: the same run, past the same two ticks, prints none.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("q.json");
    let (code, _out, err) = qps(&[
        "--url",
        &srv.url(),
        "-c",
        "2",
        "--rps",
        "100",
        "--duration",
        "2.5",
        "-q",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.lines().any(|l| l.starts_with('[')), "{err}");
    // It did run past both ticks (its report has the seconds a live line would have shown).
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(report["elapsed_s"].as_f64().unwrap() >= 2.0, "{report}");
    assert!(report["seconds"].as_array().unwrap().len() >= 2, "{report}");
}

#[test]
fn broken_pipe_is_quiet() {
    let srv = server();
    let mut child = bin()
        .args(["--url", &srv.url(), "-n", "50", "-c", "2", "-q"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // like `| head -0`
    let status = wait_with_deadline(&mut child, Duration::from_secs(20)).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // completions and man too (clap_complete panicked on the closed pipe).
    for args in [
        &["completions", "bash"][..],
        &["completions", "fish"],
        &["man"],
    ] {
        let mut child = bin()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let status = wait_with_deadline(&mut child, Duration::from_secs(20)).unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }

    // find too (it panicked writing its table): the search's exit code, its --json whole.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("find.json");
    for stderr_closed in [false, true] {
        let mut child = bin()
            .args([
                "find",
                "--url",
                &srv.url(),
                "--slo",
                "p99<1s",
                "--from",
                "50",
                "--to",
                "50",
            ])
            .args(["--step", "1s", "--json"])
            .arg(&json)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        if stderr_closed {
            drop(child.stderr.take()); // like `2>&1 | head -0`
        }
        let status = wait_with_deadline(&mut child, Duration::from_secs(20)).unwrap();
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            e.read_to_string(&mut err).unwrap();
        }
        assert_eq!(status.code(), Some(0), "{err}");
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_valid_find(&doc);
        assert_eq!(doc["capacity"]["max_rps"], 50.0);
        std::fs::remove_file(&json).unwrap();
    }
}

#[test]
fn a_run_where_every_request_failed_says_so_first() {
    // Issue 13: nothing listening gave exit 0 and a summary headed by a high qps and fast
    // "latencies", with nothing saying that no request was answered.
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let (code, out, err) = qps(&["--url", &url, "-n", "20", "-c", "2", "-q"]);
    assert_eq!(code, 0, "failures are results: {err}");
    let at = out.find("EVERY REQUEST FAILED").expect("said plainly");
    assert!(
        at < out.find("Latency").unwrap(),
        "said before the tables: {out}"
    );
    assert!(
        out.contains("20 of 20") && out.contains("connect: 20"),
        "{out}"
    );
    assert!(out.contains("refused"), "and why: {out}");
    // A healthy run does not say it.
    let srv = server();
    let (code, out, _) = qps(&["--url", &srv.url(), "-n", "20", "-c", "2", "-q"]);
    assert_eq!(code, 0);
    assert!(!out.contains("EVERY REQUEST FAILED"), "{out}");
}

/// `qpsbench completions bash` loads in bash and completes run's flags (bash itself does the
/// completing); zsh and fish scripts name the command; `qpsbench man` renders with `man -l`
/// (man-db, an independent roff renderer) and holds every subcommand and the LLM flags.
#[test]
fn completions_load_in_bash_and_the_man_page_renders() {
    let exe = env!("CARGO_BIN_EXE_qpsbench");
    let script = format!(
        "source <('{exe}' completions bash) && complete -p qpsbench && \
         COMP_WORDS=(qpsbench run --open) COMP_CWORD=2 COMP_LINE='qpsbench run --open' \
         COMP_POINT=19 && _qpsbench qpsbench --open run && echo \"${{COMPREPLY[@]}}\""
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("-F _qpsbench qpsbench"), "{text}");
    assert!(
        text.lines()
            .last()
            .unwrap_or("")
            .split(' ')
            .any(|w| w == "--openai"),
        "{text}"
    );
    // `qpsbench --url ...` is `run` without its name: the top level completes run's options and
    // their values too (the words a user types; the values are run's own possible values).
    let script = format!(
        "source <('{exe}' completions bash) && \
         COMP_WORDS=(qpsbench --basel) COMP_CWORD=1 && _qpsbench qpsbench --basel qpsbench && \
         echo \"${{COMPREPLY[@]}}\" && \
         COMP_WORDS=(qpsbench --arrival '') COMP_CWORD=2 && _qpsbench qpsbench '' --arrival && \
         echo \"${{COMPREPLY[@]}}\" && \
         COMP_WORDS=(qpsbench find --s) COMP_CWORD=2 && _qpsbench qpsbench --s find && \
         echo \"${{COMPREPLY[@]}}\""
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("--baseline"), "{text}");
    let arrivals: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
    assert!(
        arrivals.contains(&"poisson") && !arrivals.contains(&"run"),
        "{text}"
    );
    // find offers its own --slo and --step, not the run flags it refuses (hidden: bash's
    // generated script would offer them).
    let find: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
    assert!(
        find.contains(&"--slo") && find.contains(&"--step"),
        "{text}"
    );
    assert!(
        !find.contains(&"--samples") && !find.contains(&"--start-at"),
        "{text}"
    );
    for shell in ["zsh", "fish"] {
        let (code, out, _) = qps(&["completions", shell]);
        assert_eq!(code, 0);
        assert!(
            out.contains("qpsbench") && out.contains("goodput"),
            "{shell}"
        );
    }
    let (code, _, err) = qps(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error:") && err.contains("bash"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("qpsbench.1");
    let (code, roff, _) = qps(&["man"]);
    assert_eq!(code, 0);
    std::fs::write(&page, roff).unwrap();
    let out = std::process::Command::new("man")
        .args(["-l", page.to_str().unwrap()])
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .output()
        .expect("man is installed by scripts/install-test-deps.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "QPSBENCH RUN",
        "QPSBENCH SERVE",
        "QPSBENCH FIND",
        "QPSBENCH MERGE",
        "QPSBENCH REPORT",
        "QPSBENCH COMPARE",
        "--baseline",
        "--openai",
        "--goodput",
        "--result-json",
        "METRICS AND EXIT CODES",
    ] {
        assert!(text.contains(want), "{want} not in the rendered page");
    }
    // The definitions keep --help's columns (a long row is neither refilled nor stretched to
    // the page's width), and no section heading repeats (option groups are subsections of
    // their subcommand).
    let help = qps(&["--help"]).1;
    let row = help
        .lines()
        .find(|l| l.trim_start().starts_with("failure rate "))
        .expect("a failure rate row in --help")
        .trim();
    assert!(
        text.lines().any(|l| l.trim() == row),
        "{row:?} not kept as a row of the man page"
    );
    let roff = String::from_utf8_lossy(&std::fs::read(&page).unwrap()).to_string();
    let headings: Vec<&str> = roff.lines().filter(|l| l.starts_with(".SH ")).collect();
    let unique: std::collections::HashSet<_> = headings.iter().collect();
    assert_eq!(unique.len(), headings.len(), "{headings:?}");
}

/// The long flags an option list of `--help` names (its lines that start with `-`).
fn help_flags(help: &str) -> std::collections::BTreeSet<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .flat_map(|l| l.split([' ', ',', '=']).take(3).map(str::to_string))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .collect()
}

/// `find --help` shows the run flags find takes and hides the ones it refuses: each run flag
/// missing from find's help is refused by find itself (exit 2, "does not go with find"), and
/// each flag find refuses is missing from its help.
#[test]
fn find_help_hides_exactly_the_run_flags_find_refuses() {
    let run_help = help_flags(&qps(&["run", "--help"]).1);
    let find_help_text = qps(&["find", "--help"]).1;
    let find_help = help_flags(&find_help_text);
    // Its -c default is the one find uses (the header of a real search says it).
    let users_help = &find_help_text[find_help_text.find("--users <N>").unwrap()..];
    let default_users = users_help
        .split("[default: ")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_default()
        .to_string();
    let (_, _, err) = find_one_step(
        &format!("http://127.0.0.1:{}/", common::closed_port()),
        "p99<1s",
        "10",
        "200ms",
        &[],
    );
    assert!(
        err.contains(&format!("(up to {default_users} users)")),
        "help says {default_users}: {err}"
    );
    assert!(run_help.contains("--url") && find_help.contains("--url"));
    assert!(find_help.contains("--slo") && find_help.contains("--step"));
    let hidden: Vec<&String> = run_help.difference(&find_help).collect();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let samples = file("s.jsonl");
    let baseline = file("base.json");
    // A flag with a value find would otherwise take (and the flag it needs, if any).
    let given = |flag: &str| -> Vec<String> {
        let args: Vec<&str> = match flag {
            "--rps" => vec!["--rps", "10"],
            "--duration" => vec!["--duration", "1s"],
            "--requests" => vec!["--requests", "1"],
            "--iterations" => vec!["--iterations", "1"],
            "--ramp" => vec!["--ramp", "1,2", "--step", "1s"],
            "--ramp-up" => vec!["--ramp-up", "1s"],
            "--start-at" => vec!["--start-at", "2099-01-01T00:00:00Z"],
            "--fail-on" => vec!["--fail-on", "p99<1s"],
            "--baseline" => vec!["--baseline", &baseline],
            "--csv" | "--csv-series" | "--hdr-log" | "--jsonl" | "--result-json" => {
                vec![flag, &samples]
            }
            "--abort-on" => vec!["--abort-on", "error-rate>50%"],
            "--abort-window" => vec!["--abort-window", "5s", "--abort-on", "error-rate>50%"],
            "--samples" => vec!["--samples", &samples],
            "--samples-rate" => vec!["--samples-rate", "10%", "--samples", &samples],
            other => panic!("{other} is hidden from find --help: give it a value here"),
        };
        args.into_iter().map(str::to_string).collect()
    };
    assert!(hidden.len() >= 10, "{hidden:?}");
    for flag in &hidden {
        let mut argv = vec![
            "find".to_string(),
            "--url".to_string(),
            "http://127.0.0.1:9/".to_string(),
            "--slo".to_string(),
            "p99<1s".to_string(),
        ];
        let args = given(flag);
        argv.extend(args.iter().cloned());
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let (code, _, err) = qps(&argv);
        assert_eq!(code, 2, "{argv:?}: {err}");
        // Named: the flag, or the one it needs (--abort-window needs --abort-on).
        let named = args
            .iter()
            .filter(|a| a.starts_with("--"))
            .any(|a| err.contains(&format!("{a} does not go with find")));
        assert!(named, "{argv:?}: {err}");
    }
    // Each flag find refuses (as its own message names them) is hidden, but for those it
    // refuses only with --by users.
    let find_rs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/cmd/find.rs")).unwrap();
    let start = find_rs
        .find("let sets = [")
        .expect("find.rs lists the flags it refuses");
    let list = &find_rs[start..start + find_rs[start..].find("];").unwrap()];
    let refused: std::collections::BTreeSet<&str> = list
        .split('"')
        .filter(|w| w.starts_with("--") && !w.contains(' '))
        .collect();
    for flag in refused {
        assert!(
            !find_help.contains(flag) || ["--users", "--arrival", "--burstiness"].contains(&flag),
            "find refuses {flag} but its help offers it"
        );
    }
}
