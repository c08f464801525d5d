//! `--samples FILE` and `--samples-rate F`: one line per request the server saw, checked against
//! the embedded server's own count (`/__stats`) and the headers it recorded, the files read by
//! parsers that are not the writer's (the `csv` crate's reader, `serde_json`), a seeded fraction,
//! an interrupted run and a killed one. Everything on 127.0.0.1, bounded in count and time.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use qpsbench::serve::{LlmConfig, ServeConfig, ServerHandle, UsageMode};
use serde_json::Value;

const COLUMNS: [&str; 12] = [
    "start_unix_us",
    "stage",
    "user",
    "target",
    "attempt",
    "latency_us",
    "ttfb_us",
    "status",
    "failure",
    "body_bytes",
    "ttft_us",
    "output_tokens",
];

/// The server's request count as it tells it over HTTP (`/__stats`, which it does not count).
fn server_count(srv: &ServerHandle) -> u64 {
    let mut s = std::net::TcpStream::connect(srv.addr).unwrap();
    s.write_all(b"GET /__stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split("\r\n\r\n").nth(1).expect("a body");
    let v: Value = serde_json::from_str(body).expect("/__stats is JSON");
    v["requests"].as_u64().unwrap()
}

/// Every record of a CSV file, by an RFC 4180 reader: the header must be [`COLUMNS`].
fn csv_rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, COLUMNS, "the header line");
    r.records()
        .map(|rec| {
            let rec = rec.expect("every record parses");
            assert_eq!(rec.len(), COLUMNS.len(), "{rec:?}");
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

fn num(row: &HashMap<String, String>, key: &str) -> Option<u64> {
    let cell = &row[key];
    (!cell.is_empty()).then(|| cell.parse().unwrap_or_else(|_| panic!("{key}: {cell}")))
}

fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

#[test]
fn csv_has_one_line_per_request_the_server_saw() {
    // Two targets the server answers 200 and 503, each request carrying a header the server
    // counts by value (the status it will get and the user sending it); the 503s are retried
    // once (a second request to the server); a warm-up first. A name with a comma must come back
    // whole from a CSV reader.
    let srv = server_with(ServeConfig {
        threads: 2,
        record_header: Some("x-want".into()),
        ..ServeConfig::ephemeral()
    });
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("t.txt");
    std::fs::write(
        &targets,
        format!(
            "GET {0}/status/200 weight=2 name=fine,fast\nX-Want: 200-{{{{user}}}}\n\n\
             GET {0}/status/503 name=busy\nX-Want: 503-{{{{user}}}}\n",
            srv.url()
        ),
    )
    .unwrap();
    let path = dir.path().join("run.csv");
    let before = unix_us();
    let (code, _, err) = qps(&[
        "--targets",
        targets.to_str().unwrap(),
        "--rps",
        "300",
        "-z",
        "1",
        "--warmup",
        "0.5s",
        "-c",
        "4",
        "--retries",
        "1",
        "--retry-backoff",
        "1ms",
        "-q",
        "--samples",
        path.to_str().unwrap(),
    ]);
    let after = unix_us();
    assert_eq!(code, 0, "{err}");
    let rows = csv_rows(&path);
    let seen = server_count(&srv);
    assert!(seen >= 300, "a few hundred requests: {seen}");
    assert_eq!(
        rows.len() as u64,
        seen,
        "one line per request the server saw"
    );

    // The statuses are the server's mix, and the users the ones that sent them: as many lines
    // of each status from each user as the server was asked for.
    let mut pairs: HashMap<String, u64> = HashMap::new();
    for r in &rows {
        *pairs
            .entry(format!("{}-{}", r["status"], r["user"]))
            .or_default() += 1;
    }
    assert_eq!(
        pairs,
        srv.stats.header_counts(),
        "lines by status-user vs the server's"
    );
    assert!(
        pairs.len() >= 6,
        "both statuses from several users: {pairs:?}"
    );
    // Every 503 that was a first attempt was retried, and the retry is its own line.
    let first_503 = rows
        .iter()
        .filter(|r| r["status"] == "503" && r["attempt"] == "0")
        .count();
    let retries = rows.iter().filter(|r| r["attempt"] == "1").count();
    assert!(first_503 > 0);
    // A retry due when the run stops is not sent.
    assert!(
        retries <= first_503 && retries + 4 >= first_503,
        "{retries} {first_503}"
    );

    let mut stages = HashMap::new();
    for r in &rows {
        let target = r["target"].as_str();
        match r["status"].as_str() {
            "200" => assert_eq!(target, "fine,fast"),
            "503" => assert_eq!(target, "busy"),
            other => panic!("status {other}: {r:?}"),
        }
        assert_eq!(r["failure"], "", "{r:?}");
        let start = num(r, "start_unix_us").unwrap();
        assert!(
            (before..=after).contains(&start),
            "{start} not in the run: {r:?}"
        );
        let latency = num(r, "latency_us").unwrap();
        let ttfb = num(r, "ttfb_us").expect("a response head arrived");
        assert!(latency >= ttfb && latency < 5_000_000, "{r:?}");
        assert!(num(r, "user").unwrap() < 4, "{r:?}");
        assert!(num(r, "body_bytes").unwrap() > 0, "{r:?}");
        assert_eq!((num(r, "ttft_us"), num(r, "output_tokens")), (None, None));
        *stages.entry(r["stage"].clone()).or_insert(0) += 1;
    }
    // The warm-up (stage 0, about 150 requests) and the measured stage (1, about 300).
    assert_eq!(stages.len(), 2, "{stages:?}");
    assert!(stages["0"] >= 75 && stages["1"] >= 150, "{stages:?}");
}

#[test]
fn jsonl_lines_parse_and_carry_the_stream_timings() {
    // The simulated model: its first token after 20 ms, then 5 tokens in all.
    let srv = server_with(ServeConfig {
        threads: 2,
        llm: LlmConfig {
            first_token: Duration::from_millis(20),
            tokens: 5,
            interval: Duration::from_millis(2),
            jitter: Duration::ZERO,
            usage: UsageMode::OnRequest,
            ..LlmConfig::default()
        },
        ..ServeConfig::ephemeral()
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    let url = format!("{}/v1/chat/completions", srv.url());
    let (code, _, err) = qps(&[
        "--url",
        &url,
        "--openai",
        "m",
        "-n",
        "40",
        "-c",
        "4",
        "-q",
        "--samples",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len() as u64, server_count(&srv));
    assert_eq!(lines.len(), 40);
    for l in &lines {
        let keys: Vec<&str> = l.as_object().unwrap().keys().map(String::as_str).collect();
        let mut want = COLUMNS.to_vec();
        want.sort_unstable();
        assert_eq!(keys, want, "{l}");
        assert_eq!(l["status"], 200, "{l}");
        assert_eq!(l["failure"], Value::Null, "{l}");
        assert_eq!(l["output_tokens"], 5, "{l}");
        assert_eq!(l["stage"], 1, "{l}");
        let ttft = l["ttft_us"].as_u64().unwrap();
        let latency = l["latency_us"].as_u64().unwrap();
        // The target puts each event on the socket on its deadline on average: a single one
        // may be early by its timer's lead (0.5 ms at most).
        assert!(ttft >= 19_500 && ttft <= latency, "{l}");
        assert!(l["ttfb_us"].as_u64().unwrap() <= ttft, "{l}");
        assert_eq!(l["target"], format!("POST {url}"));
    }
}

#[test]
fn samples_rate_keeps_a_seeded_tenth() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.csv");
    let kept = |seed: &str| {
        let (code, _, err) = qps(&[
            "--url",
            &srv.url(),
            "-n",
            "2000",
            "-c",
            "4",
            "-q",
            "--seed",
            seed,
            "--samples-rate",
            "0.1",
            "--samples",
            path.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        csv_rows(&path).len()
    };
    let first = kept("7");
    assert_eq!(server_count(&srv), 2000);
    assert!((140..=260).contains(&first), "kept {first} of 2000");
    assert_eq!(kept("7"), first, "the same seed keeps as many");
    assert_eq!(server_count(&srv), 4000);
}

#[test]
fn an_interrupted_run_keeps_every_line_it_recorded() {
    let srv = slow_server(Duration::from_millis(2));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.csv");
    let json = dir.path().join("r.json");
    let mut child = bin()
        .args([
            "--url",
            &srv.url(),
            "-z",
            "30",
            "-c",
            "3",
            "-q",
            "--samples",
        ])
        .arg(&path)
        .arg("--json")
        .arg(&json)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_server(&srv, 300);
    // SAFETY: kill(2) on our own child, not yet waited for.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_with_deadline(&mut child, Duration::from_secs(20)).expect("it stops");
    assert_eq!(status.code(), Some(130));
    let rows = csv_rows(&path);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // Every request the run recorded is a line; at most the 3 users' requests in flight at the
    // stop reached the server without being recorded.
    assert_eq!(
        rows.len() as u64,
        report["total"]["requests"].as_u64().unwrap()
    );
    let seen = server_count(&srv);
    assert!(
        rows.len() as u64 <= seen && rows.len() as u64 + 3 >= seen,
        "{} lines, {seen} requests at the server",
        rows.len()
    );
}

#[test]
fn a_killed_run_keeps_whole_lines() {
    // 50 lines a second fill no 64 KiB buffer: they reach the file as each second closes.
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.csv");
    let mut child = bin()
        .args([
            "--url",
            &srv.url(),
            "--rps",
            "50",
            "-z",
            "30",
            "-c",
            "2",
            "-q",
            "--samples",
        ])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Written out at least once a second: lines arrive while the run goes on (8 s allows for a
    // loaded machine; the 64 KiB buffer would take 18 s to fill).
    let deadline = Instant::now() + Duration::from_secs(8);
    let lines = || {
        std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .count()
    };
    while lines() < 10 {
        assert!(Instant::now() < deadline, "no line written while running");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with('\n'), "whole lines only");
    let rows = csv_rows(&path);
    assert!(rows.len() >= 9 && rows.len() as u64 <= server_count(&srv));
}

#[test]
fn a_samples_file_that_cannot_be_written_is_an_error() {
    // Names with the right extensions for a device that takes no byte (/dev/full).
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let (csv, jsonl) = (dir.path().join("full.csv"), dir.path().join("full.jsonl"));
    std::os::unix::fs::symlink("/dev/full", &csv).unwrap();
    std::os::unix::fs::symlink("/dev/full", &jsonl).unwrap();
    // The CSV header is written before the run: refused then, nothing sent.
    let (code, out, err) = qps(&[
        "--url",
        &srv.url(),
        "-n",
        "20",
        "--samples",
        csv.to_str().unwrap(),
    ]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.starts_with("error: --samples") && err.contains("full.csv"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(server_count(&srv), 0);
    // JSON lines have no header: the run is done, its summary shown, then the error (exit 1).
    let (code, out, err) = qps(&[
        "--url",
        &srv.url(),
        "-n",
        "20",
        "--samples",
        jsonl.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("Summary"),
        "the run's summary comes first: {out}"
    );
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].contains("--samples") && errors[0].contains("full.jsonl"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(server_count(&srv), 20);
}
