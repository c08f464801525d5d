//! The per-second lines written to a stream (`--jsonl -`, a FIFO) rather than a file: live as
//! the run goes, and complete at its end: read the way the README says (a later line for a
//! second replaces an earlier one), they are the JSON report's `seconds`, and their requests
//! are the ones the server answered.

mod common;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{qps, server};
use serde_json::Value;

/// Lines of JSON rows, the last one of each second kept.
fn by_second(lines: &[String]) -> BTreeMap<u64, Value> {
    lines
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
            (v["second"].as_u64().unwrap(), v)
        })
        .collect()
}

/// The report's seconds, keyed by second.
fn report_seconds(json: &Value) -> BTreeMap<u64, Value> {
    json["seconds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["second"].as_u64().unwrap(), v.clone()))
        .collect()
}

#[test]
fn jsonl_on_stdout_ends_with_the_runs_last_window() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    // 2.3 s: the last 0.3 s is added to second 2; 2.7 s: a 0.7 s window of its own.
    for (length, rows) in [("2.3", 2), ("2.7", 3)] {
        let before = srv.stats.requests.load(Ordering::SeqCst);
        let (code, out, err) = qps(&[
            "--url",
            &srv.url(),
            "-c",
            "2",
            "--rps",
            "200",
            "-z",
            length,
            "-q",
            "--jsonl",
            "-",
            "--json",
            json.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        let lines: Vec<String> = out.lines().map(str::to_string).collect();
        let streamed = by_second(&lines);
        let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(streamed, report_seconds(&report), "-z {length}: {out}");
        assert_eq!(streamed.len(), rows, "-z {length}");
        // The witness: the server answered what the stream's seconds add up to (and the
        // requests still in flight at the end).
        let sent = srv.stats.requests.load(Ordering::SeqCst) - before;
        let counted: u64 = streamed
            .values()
            .map(|v| v["requests"].as_u64().unwrap())
            .sum();
        let in_flight = report["in_flight_at_end"].as_u64().unwrap();
        assert_eq!(sent, counted + in_flight, "-z {length}");
    }
}

#[test]
fn jsonl_to_a_fifo_arrives_as_the_run_goes() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("seconds.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        common::skip_outside_ci("mkfifo is not available");
        return;
    }
    let json = dir.path().join("r.json");
    // The reader notes when each line arrives.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let f = std::io::BufReader::new(std::fs::File::open(fifo).unwrap());
            f.lines()
                .map(|l| (Instant::now(), l.unwrap()))
                .collect::<Vec<_>>()
        })
    };
    let (code, _, err) = qps(&[
        "--url",
        &srv.url(),
        "-c",
        "2",
        "--rps",
        "100",
        "-z",
        "3",
        "-q",
        "--jsonl",
        fifo.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let ended = Instant::now();
    assert_eq!(code, 0, "{err}");
    let arrived = reader.join().unwrap();
    assert!(arrived.len() >= 3, "{arrived:?}");
    // Second 1's line came about two seconds before the run ended, not with the final file.
    let first = ended.duration_since(arrived[0].0);
    assert!(
        first > Duration::from_millis(1200),
        "arrived {first:?} before the end"
    );
    let lines: Vec<String> = arrived.into_iter().map(|(_, l)| l).collect();
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(by_second(&lines), report_seconds(&report));
    // Each second once, unless the end lengthened the last one.
    assert!(lines.len() <= report["seconds"].as_array().unwrap().len() + 1);
}
