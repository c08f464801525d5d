//! Ctrl-C (SIGINT) and SIGTERM at random moments — during the ramp-up, at a stage boundary, in
//! steady state, and while the reports are being written: every time the summary is printed,
//! every requested report file is complete and valid, and the exit code is 130.

mod common;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Where a signal lands.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// `delay` after the run header line (the run starts right after it).
    AfterHeader(Duration),
    /// `delay` after the summary reached stderr: the report files are being written, and the
    /// JSON to stdout is held up by a full pipe.
    WhileWritingReports(Duration),
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// A pipe whose write end is already full: whoever writes to it blocks until the read end is
/// drained. Returns (read end, write end, bytes already in it).
fn full_pipe() -> (File, OwnedFd, usize) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two descriptors, which we then own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just created and are owned by nobody else.
    let (read, write) = unsafe { (File::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let wfd = write.as_raw_fd();
    // SAFETY: fcntl on our own descriptor.
    unsafe {
        let flags = libc::fcntl(wfd, libc::F_GETFL);
        libc::fcntl(wfd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    let junk = [b'j'; 4096];
    let mut filled = 0usize;
    loop {
        // SAFETY: write from a live buffer to our own descriptor.
        let n = unsafe { libc::write(wfd, junk.as_ptr().cast(), junk.len()) };
        if n <= 0 {
            break;
        }
        filled += n as usize;
        assert!(filled < 16 << 20, "the pipe never filled");
    }
    // Blocking again: the child must wait, not fail, on its first write.
    // SAFETY: fcntl on our own descriptor.
    unsafe {
        let flags = libc::fcntl(wfd, libc::F_GETFL);
        libc::fcntl(wfd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
    }
    (read, write, filled)
}

/// Start the binary, wait for the moment, send `signal`, collect everything (bounded).
fn interrupt(args: &[&str], moment: Moment, signal: i32) -> Outcome {
    let mut cmd = bin();
    cmd.args(args).stdin(Stdio::null()).stderr(Stdio::piped());
    let mut held = None;
    match moment {
        Moment::AfterHeader(_) => {
            cmd.stdout(Stdio::piped());
        }
        Moment::WhileWritingReports(_) => {
            let (read, write, filled) = full_pipe();
            cmd.stdout(Stdio::from(write));
            held = Some((read, filled));
        }
    }
    let mut child = cmd.spawn().unwrap();
    drop(cmd); // our copy of a pipe's write end, if any
    let t0 = Instant::now();

    // stderr line by line, so that the moment can be found.
    let (line_tx, line_rx) = mpsc::channel::<String>();
    let err = child.stderr.take().unwrap();
    let err_t = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            let _ = line_tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let (marker, delay) = match moment {
        Moment::AfterHeader(d) => ("qpsbench ", d),
        Moment::WhileWritingReports(d) => ("Summary:", d),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match line_rx.recv_timeout(left) {
            Ok(line) if line.starts_with(marker) => break,
            Ok(_) => {}
            Err(_) => panic!("{args:?}: no '{marker}' line within 20 s"),
        }
    }
    std::thread::sleep(delay);
    // SAFETY: kill(2) on our own child, which has not been waited for (it cannot be reaped yet).
    unsafe { libc::kill(child.id() as i32, signal) };

    let stdout = match held {
        Some((mut read, filled)) => {
            // The tool is blocked on its stdout; let its handler see the signal (it says so on
            // stderr) before the pipe is drained and the tool runs on to its exit.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match line_rx.recv_timeout(left) {
                    Ok(line) if line.starts_with("interrupted") => break,
                    Ok(_) => {}
                    Err(_) => panic!("{args:?}: the signal was not acknowledged on stderr"),
                }
            }
            // Drain the pipe: the junk first, then what the child wrote.
            let mut bytes = Vec::new();
            read.read_to_end(&mut bytes).unwrap();
            assert!(bytes.len() >= filled && bytes[..filled].iter().all(|&b| b == b'j'));
            String::from_utf8(bytes[filled..].to_vec()).unwrap()
        }
        None => {
            let mut s = String::new();
            child.stdout.take().unwrap().read_to_string(&mut s).unwrap();
            s
        }
    };
    let status = wait_with_deadline(&mut child, Duration::from_secs(20));
    Outcome {
        code: status.and_then(|s| s.code()),
        stdout,
        stderr: err_t.join().unwrap(),
        took: t0.elapsed(),
    }
}

/// Every report file is complete and valid; returns the JSON report.
fn check_reports(dir: &Path, json_text: &str) -> Value {
    let v: Value = serde_json::from_str(json_text)
        .unwrap_or_else(|e| panic!("the JSON report does not parse ({e}): {json_text:.300}"));
    let t = &v["total"];
    let n = |k: &str| t[k].as_u64().unwrap_or_else(|| panic!("total.{k}: {t}"));
    assert_eq!(n("requests"), n("ok") + n("errors") + n("failures"), "{t}");
    assert!(v["interrupted"].is_boolean());

    let csv = std::fs::read_to_string(dir.join("stages.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines.len() >= 2, "csv: {csv}");
    let cols = lines[0].matches(',').count();
    for l in &lines {
        assert_eq!(l.matches(',').count(), cols, "csv row '{l}' in:\n{csv}");
    }
    assert!(lines.last().unwrap().starts_with("total,"), "{csv}");
    assert!(csv.ends_with('\n'));
    // Every row's last cell says how the run ended, as the JSON report's `interrupted` does.
    assert!(lines[0].ends_with(",status"), "{csv}");
    let status = if v["interrupted"] == true {
        "interrupted"
    } else {
        "complete"
    };
    for l in &lines[1..] {
        assert_eq!(l.rsplit(',').next(), Some(status), "{csv}");
    }

    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"),
        "{:.100}",
        html
    );
    assert!(html.trim_end().ends_with("</html>"), "html is cut");

    let hdr = std::fs::read_to_string(dir.join("latency.hlog")).unwrap();
    assert!(
        hdr.starts_with("#[") && hdr.ends_with('\n'),
        "hdr log: {hdr:.200}"
    );
    assert!(hdr.contains("\"StartTimestamp\""), "{hdr:.300}");
    for l in hdr
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('"'))
    {
        assert_eq!(l.split(',').count(), 4, "hdr log line '{l}'");
    }
    v
}

/// One interruption: the reports and summary are there, the exit code is 130.
fn case(name: &str, run_args: &[&str], moment: Moment, signal: i32) {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let file = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let json_to_stdout = matches!(moment, Moment::WhileWritingReports(_));
    let json = if json_to_stdout {
        "-".to_string()
    } else {
        file("run.json")
    };
    let (csv, html, hdr) = (
        file("stages.csv"),
        file("report.html"),
        file("latency.hlog"),
    );
    let url = srv.url();
    let mut args = vec!["--url", &url];
    args.extend_from_slice(run_args);
    args.extend_from_slice(&[
        "--json",
        &json,
        "--csv",
        &csv,
        "--html",
        &html,
        "--hdr-log",
        &hdr,
    ]);
    let out = interrupt(&args, moment, signal);
    let what = format!("{name} ({moment:?}, signal {signal})");
    eprintln!("{what}: exit {:?} after {:?}", out.code, out.took);
    assert_eq!(out.code, Some(130), "{what}: stderr:\n{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{what}: {}", out.stderr);
    let summary = if json_to_stdout {
        &out.stderr
    } else {
        &out.stdout
    };
    assert!(summary.contains("Summary:"), "{what}: no summary");
    assert!(summary.contains("Requests:"), "{what}: summary cut");
    let json_text = if json_to_stdout {
        out.stdout.clone()
    } else {
        std::fs::read_to_string(&json).unwrap()
    };
    let v = check_reports(dir.path(), &json_text);
    // A signal during the run cuts it short and says so; one while the reports are written
    // comes after a complete run.
    assert_eq!(v["interrupted"], !json_to_stdout, "{what}");
    assert!(out.took < Duration::from_secs(30), "{what}: {:?}", out.took);
}

fn jitter(rng: &mut fastrand::Rng, base_ms: u64, spread_ms: u64) -> Duration {
    Duration::from_millis(base_ms.saturating_sub(spread_ms) + rng.u64(0..=2 * spread_ms))
}

#[test]
fn interrupted_at_random_moments_reports_stay_whole() {
    // QPSBENCH_SIGNALS_SEED replays a run; the seed is printed (shown when the test fails).
    let seed = match std::env::var("QPSBENCH_SIGNALS_SEED") {
        Ok(text) => text
            .parse()
            .expect("QPSBENCH_SIGNALS_SEED is a whole number"),
        Err(_) => fastrand::u64(..),
    };
    eprintln!("seed {seed} (replay: QPSBENCH_SIGNALS_SEED={seed} cargo test --test signals)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let (int, term) = (libc::SIGINT, libc::SIGTERM);
    // During a linear ramp-up of 100 users over 3 s.
    let ramp_up = [
        "-c",
        "100",
        "--ramp-up",
        "3s",
        "--duration",
        "3s",
        "--rps",
        "300",
    ];
    case(
        "ramp-up",
        &ramp_up,
        Moment::AfterHeader(jitter(&mut rng, 1200, 1000)),
        int,
    );
    // At the boundaries of 1-second stages (the run starts just after the header line).
    let stages = ["--ramp", "2,4,8", "--step", "1s", "--rps", "200"];
    case(
        "stage boundary 1",
        &stages,
        Moment::AfterHeader(jitter(&mut rng, 1000, 60)),
        term,
    );
    case(
        "stage boundary 2",
        &stages,
        Moment::AfterHeader(jitter(&mut rng, 2000, 60)),
        int,
    );
    // In steady state, closed loop.
    case(
        "steady",
        &["-c", "4", "--duration", "10"],
        Moment::AfterHeader(jitter(&mut rng, 800, 500)),
        term,
    );
    // While the reports are written (the run itself ends normally after 1 s).
    let short = ["-c", "2", "--duration", "1", "--rps", "100"];
    case(
        "writing reports",
        &short,
        Moment::WhileWritingReports(jitter(&mut rng, 30, 30)),
        int,
    );
    case(
        "writing reports",
        &short,
        Moment::WhileWritingReports(jitter(&mut rng, 30, 30)),
        term,
    );
}

#[test]
fn a_full_stdout_pipe_only_delays_the_json() {
    // The same pipe, no signal: the JSON waits for the reader and then arrives whole.
    let srv = server();
    let sent = srv.stats.clone();
    let (mut read, write, filled) = full_pipe();
    let mut child = bin()
        .args([
            "--url",
            &srv.url(),
            "-n",
            "50",
            "-c",
            "2",
            "-q",
            "--json",
            "-",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::from(write))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Delayed: every request has been answered (the server's count), yet the process is still
    // there, waiting for the reader of its stdout.
    let deadline = Instant::now() + Duration::from_secs(20);
    while sent.requests.load(Ordering::SeqCst) < 50 {
        assert!(
            Instant::now() < deadline,
            "the run never sent its 50 requests"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the process ended while its stdout was full: the JSON was not waited for"
    );
    // Only delayed: once read, the JSON arrives whole and the run exits 0.
    let mut bytes = Vec::new();
    read.read_to_end(&mut bytes).unwrap();
    let status = wait_with_deadline(&mut child, Duration::from_secs(20)).unwrap();
    assert_eq!(status.code(), Some(0));
    let v: Value = serde_json::from_slice(&bytes[filled..]).unwrap();
    assert_eq!(v["total"]["requests"], 50);
    let _ = std::io::stderr().flush();
}

#[test]
fn an_interrupted_run_with_a_failed_threshold_exits_130_and_keeps_the_thresholds() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let child = bin()
        .args([
            "--url",
            &srv.url(),
            "--duration",
            "30",
            "-c",
            "2",
            "--rps",
            "100",
            "--fail-on",
            "p50<1us,error-rate<1%",
            "--json",
            json.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_server(&srv, 20);
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let (code, out, err) = finish(child);
    // 130 wins over the failed threshold, and the thresholds are still printed and written.
    assert_eq!(code, 130, "{err}");
    assert!(
        out.contains("Thresholds (--fail-on): 1 passed, 1 failed"),
        "{out}"
    );
    assert!(out.contains("p50<1us: FAILED (measured"), "{out}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["interrupted"], true);
    assert_eq!(v["thresholds"][0]["passed"], false, "{}", v["thresholds"]);
    assert_eq!(v["thresholds"][1]["passed"], true, "{}", v["thresholds"]);
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    // The run is over and its JSON waits for a reader of the full stdout pipe: the first
    // Ctrl-C does not abandon the report, the second exits without it.
    let srv = server();
    let (_read, write, _) = full_pipe();
    let mut child = bin()
        .args([
            "--url",
            &srv.url(),
            "-n",
            "50",
            "-c",
            "2",
            "-q",
            "--json",
            "-",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_server(&srv, 50);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "ended before its JSON was read"
    );
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    // Long enough for a build that exits on the first Ctrl-C to have done so.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first Ctrl-C abandoned the report"
    );
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    // Nobody ever reads the pipe: only exiting at once ends the process.
    let status = wait_with_deadline(&mut child, Duration::from_secs(10))
        .expect("the second Ctrl-C did not end the process");
    assert_eq!(status.code(), Some(130));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("interrupted again: exiting now"), "{err}");
}

/// `timeout -s INT` signals the process and its group: one request to stop arrives twice within
/// microseconds. It is one interrupt: the run stops with its summary and reports (exit 130), it
/// does not "exit at once" without them.
#[test]
fn two_signals_at_once_are_one_interrupt() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let mut child = bin()
        .args(["--url", &srv.url(), "-c", "2", "-z", "30", "-q", "--json"])
        .arg(&json)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_server(&srv, 20);
    for _ in 0..2 {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        // Apart enough not to merge into one pending signal, as the two of `timeout` do not.
        std::thread::sleep(Duration::from_millis(3));
    }
    let status = wait_with_deadline(&mut child, Duration::from_secs(20)).expect("the run stopped");
    assert_eq!(status.code(), Some(130));
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["interrupted"], true);
    let served = srv.stats.snapshot().requests;
    let counted = report["total"]["requests"].as_u64().unwrap();
    assert!(
        counted > 0 && counted <= served,
        "report {counted}, server {served}"
    );
}

/// Ctrl-C while the prompts are still being made (a large `--dataset` with a tokenizer takes
/// seconds) exits 130 at once: nothing is sent (the server's own count) and no report file is
/// left behind.
#[test]
fn ctrl_c_while_the_prompts_are_made_sends_nothing() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let url = format!("{}/v1/chat/completions", srv.url());
    let chars = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/tokenizer-chars.json"
    );
    let child = bin()
        .args([
            "--url",
            &url,
            "--openai",
            "m",
            "--dataset",
            "random",
            "--input-len",
            "10000",
            "--num-prompts",
            "3000",
            "--output-len",
            "1",
            "--tokenizer",
            chars,
            "-n",
            "5",
            "--json",
            json.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Well into the set-up (3000 prompts of 10,000 tokens take far longer than this).
    std::thread::sleep(Duration::from_millis(1500));
    let signalled = std::time::Instant::now();
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let (code, _out, err) = finish(child);
    assert_eq!(code, 130, "{err}");
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "exited {:?} after the signal",
        signalled.elapsed()
    );
    assert!(err.contains("nothing was sent"), "{err}");
    assert_eq!(
        srv.stats.snapshot().requests,
        0,
        "the server saw no request"
    );
    assert!(!json.exists(), "no report file");
}
