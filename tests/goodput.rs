//! `--goodput` and `--result-json` against a raw SSE server whose own counts are the witness:
//! it answers every third request slowly (first token after 150 ms, the others after 10 ms)
//! and counts what it sent, so the number of requests within `ttft<80ms` is known without
//! qpsbench.

mod common;

use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use common::{qps, read_request};

/// What the server sent, counted by the server.
#[derive(Default)]
struct Sent {
    answers: AtomicU64,
    fast: AtomicU64,
    output_tokens: AtomicU64,
    prompt_tokens: AtomicU64,
}

const TOKENS: u64 = 6;

/// Serve OpenAI-style streams on keep-alive connections until the test ends; answer `n`
/// (from 0) is slow when `n % 3 == 0`. Each answer reports `prompt_tokens` = the words of its
/// request body (the server's own count) and `completion_tokens` = TOKENS.
fn start() -> (String, Arc<Sent>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/chat/completions", l.local_addr().unwrap());
    let sent = Arc::new(Sent::default());
    let counter = Arc::new(AtomicU64::new(0));
    let s2 = sent.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { break };
            // Each write goes out at once (no Nagle wait behind a delayed ACK).
            conn.set_nodelay(true).unwrap();
            let sent = s2.clone();
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                loop {
                    let (head, body) = read_request(&mut reader);
                    if head.is_empty() {
                        return;
                    }
                    let n = counter.fetch_add(1, SeqCst);
                    let slow = n.is_multiple_of(3);
                    let words = String::from_utf8_lossy(&body).split_whitespace().count() as u64;
                    let mut events = String::new();
                    for i in 0..TOKENS {
                        events.push_str(&format!(
                            "data: {{\"choices\":[{{\"delta\":{{\"content\":\" w{i}\"}}}}]}}\n\n"
                        ));
                    }
                    events.push_str(&format!(
                        "data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":{words},\"completion_tokens\":{TOKENS}}}}}\n\ndata: [DONE]\n\n"
                    ));
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {}\r\n\r\n",
                        events.len()
                    );
                    if conn.write_all(head.as_bytes()).is_err() {
                        return;
                    }
                    let _ = conn.flush();
                    std::thread::sleep(Duration::from_millis(if slow { 150 } else { 10 }));
                    if conn.write_all(events.as_bytes()).is_err() {
                        return;
                    }
                    sent.answers.fetch_add(1, SeqCst);
                    sent.fast.fetch_add(u64::from(!slow), SeqCst);
                    sent.output_tokens.fetch_add(TOKENS, SeqCst);
                    sent.prompt_tokens.fetch_add(words, SeqCst);
                }
            });
        }
    });
    (url, sent)
}

fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn goodput_counts_the_requests_the_server_answered_within_the_objectives() {
    let (url, sent) = start();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let result = dir.path().join("vllm.json");
    let (code, out, err) = qps(&[
        "run",
        "--url",
        &url,
        "--openai",
        "m",
        "-c",
        "2",
        "-n",
        "30",
        "--goodput",
        "ttft<80ms,e2el<1s",
        "--fail-on",
        "goodput-ratio>90%",
        "--json",
        report.to_str().unwrap(),
        "--result-json",
        result.to_str().unwrap(),
    ]);
    // 20 of 30 were fast: a ratio of 2/3 fails the gate.
    assert_eq!(code, 1, "{out}\n{err}");
    let answers = sent.answers.load(SeqCst);
    let fast = sent.fast.load(SeqCst);
    assert_eq!(answers, 30);
    assert_eq!(fast, 20, "the server's own pattern");
    let r = json(&report);
    let t = &r["total"];
    assert_eq!(t["goodput"]["good_requests"], fast);
    let duration = t["duration_s"].as_f64().unwrap();
    let per_s = t["goodput"]["goodput_per_s"].as_f64().unwrap();
    // duration_s is written to the millisecond: a relative tolerance of that rounding.
    let want = fast as f64 / duration;
    assert!(
        (per_s - want).abs() <= want * 0.002 + 0.001,
        "{per_s} vs {want}"
    );
    let ratio = t["goodput"]["goodput_ratio"].as_f64().unwrap();
    assert!((ratio - 20.0 / 30.0).abs() < 1e-5, "{ratio}");
    assert_eq!(r["config"]["goodput"], "ttft<80ms,e2el<1s");
    // The seconds add up to the total.
    let by_second: u64 = r["seconds"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["good_requests"].as_u64())
        .sum();
    assert_eq!(by_second, fast);
    assert!(
        out.contains("Goodput:") && out.contains("20 of 30 requests"),
        "{out}"
    );
    common::assert_valid(&r, "report with goodput");

    // The vLLM-style result: the server's counts.
    let v = json(&result);
    assert_eq!(v["completed"], answers);
    assert_eq!(v["failed"], 0);
    assert_eq!(v["total_output_tokens"], sent.output_tokens.load(SeqCst));
    assert_eq!(v["total_input_tokens"], sent.prompt_tokens.load(SeqCst));
    assert!(sent.prompt_tokens.load(SeqCst) > 0);
    let d = v["duration"].as_f64().unwrap();
    let close = |key: &str, want: f64| {
        let got = v[key].as_f64().unwrap();
        assert!(
            (got - want).abs() <= want * 0.01 + 1e-3,
            "{key}: {got} vs {want}"
        );
    };
    close("request_throughput", answers as f64 / d);
    close("request_goodput", fast as f64 / d);
    close(
        "output_throughput",
        sent.output_tokens.load(SeqCst) as f64 / d,
    );
    close(
        "total_token_throughput",
        (sent.output_tokens.load(SeqCst) + sent.prompt_tokens.load(SeqCst)) as f64 / d,
    );
    // TTFT: 10 ms for 20 requests and 150 ms for 10, as the server slept.
    let median = v["median_ttft_ms"].as_f64().unwrap();
    assert!((10.0..40.0).contains(&median), "{median}");
    let p99 = v["p99_ttft_ms"].as_f64().unwrap();
    assert!((150.0..200.0).contains(&p99), "{p99}");
    let mean = v["mean_ttft_ms"].as_f64().unwrap();
    let want_mean = (20.0 * 10.0 + 10.0 * 150.0) / 30.0;
    assert!((mean - want_mean).abs() < 15.0, "{mean} vs {want_mean}");
    assert!(v["std_ttft_ms"].as_f64().unwrap() > 30.0);
    assert_eq!(v["model_id"], "m");
    assert_eq!(v["endpoint_type"], "openai-chat");
    assert_eq!(v["max_concurrency"], 2);
    assert_eq!(v["request_rate"], "inf");
    for m in ["ttft", "tpot", "itl", "e2el"] {
        for s in ["mean", "median", "std", "p50", "p90", "p95", "p99", "p99.9"] {
            assert!(v[format!("{s}_{m}_ms")].is_number(), "{s}_{m}_ms");
        }
    }
}

/// Every key the README lists for --result-json is in the file, and nothing else.
#[test]
fn result_json_has_the_keys_the_readme_lists() {
    let (url, _sent) = start();
    let dir = tempfile::tempdir().unwrap();
    let result = dir.path().join("vllm.json");
    let (code, out, err) = qps(&[
        "run",
        "--url",
        &url,
        "--openai",
        "m",
        "-n",
        "6",
        "--goodput",
        "ttft<1s",
        "--result-json",
        result.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let v = json(&result);
    let mut written: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    written.sort();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("<!-- result-json keys -->")
        .nth(1)
        .and_then(|s| s.split("<!-- /result-json keys -->").next())
        .expect("README has the --result-json key list");
    let mut listed: Vec<String> = Vec::new();
    for key in section.split('`').skip(1).step_by(2) {
        if let Some((pre, post)) = key.split_once("X") {
            for m in ["ttft", "tpot", "itl", "e2el"] {
                listed.push(format!("{pre}{m}{post}"));
            }
        } else {
            listed.push(key.to_string());
        }
    }
    listed.sort();
    assert_eq!(written, listed);
}

#[test]
fn goodput_needs_its_objectives() {
    let (code, _, err) = qps(&[
        "run",
        "--url",
        "http://127.0.0.1:1/",
        "-n",
        "1",
        "--fail-on",
        "goodput>5",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("needs --goodput"), "{err}");
}

/// Two runs merged: good requests and input tokens add up to the two servers' counts, and runs
/// judged by other objectives are refused.
#[test]
fn merged_runs_add_goodput_and_input_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    // One server (merge takes runs of one target); its counts run on across the runs.
    let (url, sent) = start();
    let mut fast_before = 0;
    for i in 0..2 {
        let file = dir.path().join(format!("run{i}.json"));
        let (code, out, err) = qps(&[
            "run",
            "--url",
            &url,
            "--openai",
            "m",
            "-n",
            "9",
            "--goodput",
            "ttft<80ms",
            "--json",
            file.to_str().unwrap(),
            "--html",
            dir.path().join(format!("run{i}.html")).to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{out}\n{err}");
        files.push(file.to_str().unwrap().to_string());
        let fast_now = sent.fast.load(SeqCst);
        let html = std::fs::read_to_string(dir.path().join(format!("run{i}.html"))).unwrap();
        assert!(
            html.contains(&format!("{} of 9 requests", fast_now - fast_before)),
            "the HTML report shows goodput"
        );
        fast_before = fast_now;
    }
    let fast = sent.fast.load(SeqCst);
    let prompt = sent.prompt_tokens.load(SeqCst);
    assert_eq!(fast, 12, "6 of 9 fast in each run");
    let merged = dir.path().join("merged.json");
    let (code, out, err) = qps(&[
        "merge",
        &files[0],
        &files[1],
        "--json",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let m = json(&merged);
    assert_eq!(m["total"]["goodput"]["good_requests"], fast);
    assert_eq!(m["total"]["stream"]["input_tokens"], prompt);
    common::assert_valid(&m, "merged report");

    // Other objectives: refused.
    let other = dir.path().join("other.json");
    let (code, _, _) = qps(&[
        "run",
        "--url",
        &url,
        "--openai",
        "m",
        "-n",
        "3",
        "--goodput",
        "ttft<1s",
        "--json",
        other.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let (code, _, err) = qps(&["merge", &files[0], other.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("same objectives"), "{err}");

    // The same objectives written another way are the same; another model is another run.
    for (goodput, model, merges) in [("ttft < 80ms", "m", true), ("ttft<80ms", "other", false)] {
        let file = dir.path().join(format!("{model}.json"));
        let (code, _, _) = qps(&[
            "run",
            "--url",
            &url,
            "--openai",
            model,
            "-n",
            "3",
            "--goodput",
            goodput,
            "--json",
            file.to_str().unwrap(),
        ]);
        assert_eq!(code, 0);
        let (code, _, err) = qps(&["merge", &files[0], file.to_str().unwrap()]);
        assert_eq!(code == 0, merges, "{goodput} {model}: {err}");
        if !merges {
            assert!(err.contains("one model"), "{err}");
        }
    }
}
