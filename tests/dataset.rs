//! Workloads (`--dataset`, `--ignore-eos`, `--system-prompt`; issue 16) end to end: the binary
//! runs against a raw server that records every request body it receives, and each test checks
//! those bodies with its own count (words split on whitespace, characters), never with what
//! qpsbench says about them.

mod common;

use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::{assert_valid, qps, read_request};
use serde_json::Value;

/// A raw HTTP/1.1 server on loopback that keeps the body of every request, in the order they
/// arrive, and answers each with a tiny OpenAI event stream (keep-alive, Content-Length).
struct Recorder {
    url: String,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Recorder {
    fn start() -> Recorder {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/chat/completions", l.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&bodies);
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                let kept = Arc::clone(&kept);
                std::thread::spawn(move || {
                    let mut r = BufReader::new(s.try_clone().unwrap());
                    loop {
                        let (head, body) = read_request(&mut r);
                        if head.is_empty() {
                            return;
                        }
                        kept.lock().unwrap().push(body);
                        let answer = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\n\n\
                                      data: [DONE]\n\n";
                        let reply = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                             Content-Length: {}\r\n\r\n{answer}",
                            answer.len()
                        );
                        if s.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Recorder { url, bodies }
    }

    /// The bodies received so far, as JSON, and forget them.
    fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.bodies.lock().unwrap())
            .iter()
            .map(|b| serde_json::from_slice(b).expect("a JSON body"))
            .collect()
    }
}

/// Run the binary against `srv` with one user (so the bodies arrive in the order they are
/// sent) and these arguments, writing a JSON report; returns the report.
fn run(srv: &Recorder, args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let mut all = vec!["--url", &srv.url, "-c", "1", "-q", "--json"];
    all.push(json.to_str().unwrap());
    all.extend_from_slice(args);
    let (code, out, err) = qps(&all);
    assert_eq!(code, 0, "{args:?}\nstdout: {out}\nstderr: {err}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_valid(&report, "a report of a --dataset run");
    report
}

/// The user message of an OpenAI body.
fn user(v: &Value) -> &str {
    let m = v["messages"].as_array().unwrap();
    let last = m.last().unwrap();
    assert_eq!(last["role"], "user", "{v}");
    last["content"].as_str().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn random_prompts_have_the_asked_lengths() {
    let srv = Recorder::start();
    let r = run(
        &srv,
        &[
            "--openai",
            "m",
            "--dataset",
            "random",
            "--input-len",
            "100",
            "--output-len",
            "20",
            "--ignore-eos",
            "-n",
            "5",
        ],
    );
    let bodies = srv.take();
    assert_eq!(bodies.len(), 5);
    for v in &bodies {
        assert_eq!(user(v).split_whitespace().count(), 100, "{v}");
        assert_eq!(v["max_tokens"], 20);
        assert_eq!(v["ignore_eos"], true);
        assert_eq!(
            v["messages"].as_array().unwrap().len(),
            1,
            "no system message"
        );
    }
    let distinct: std::collections::HashSet<&str> = bodies.iter().map(user).collect();
    assert_eq!(distinct.len(), 5, "5 requests, 5 of the 100 prompts");
    let d = &r["config"]["llm"]["dataset"];
    assert_eq!(d["kind"], "random");
    assert_eq!(d["prompts"], 100, "the default --num-prompts");
    assert_eq!(d["counted_by"], "estimate");
    assert_eq!(d["input_tokens"]["mean"], 100.0);

    // With a tokenizer of one token per character, exactly 100 characters.
    let tokenizer = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/tokenizer-chars.json"
    );
    let r = run(
        &srv,
        &[
            "--openai",
            "m",
            "--dataset",
            "random",
            "--input-len",
            "100",
            "--output-len",
            "20",
            "--tokenizer",
            tokenizer,
            "--num-prompts",
            "3",
            "-n",
            "6",
        ],
    );
    let bodies = srv.take();
    assert_eq!(bodies.len(), 6);
    for (i, v) in bodies.iter().enumerate() {
        assert_eq!(user(v).chars().count(), 100, "{v}");
        assert!(v.get("ignore_eos").is_none());
        // 3 prompts, used in turn.
        assert_eq!(user(v), user(&bodies[i % 3]));
    }
    assert_ne!(user(&bodies[0]), user(&bodies[1]));
    let d = &r["config"]["llm"]["dataset"];
    assert_eq!(
        (d["prompts"].as_u64(), d["counted_by"].as_str()),
        (Some(3), Some("tokenizer"))
    );
}

#[test]
fn range_ratio_spreads_the_lengths() {
    let srv = Recorder::start();
    let r = run(
        &srv,
        &[
            "--openai",
            "m",
            "--dataset",
            "random",
            "--input-len",
            "50",
            "--output-len",
            "10",
            "--range-ratio",
            "0.2",
            "--num-prompts",
            "40",
            "-n",
            "40",
        ],
    );
    let bodies = srv.take();
    let inputs: Vec<u64> = bodies
        .iter()
        .map(|v| user(v).split_whitespace().count() as u64)
        .collect();
    let outputs: Vec<u64> = bodies
        .iter()
        .map(|v| v["max_tokens"].as_u64().unwrap())
        .collect();
    assert!(inputs.iter().all(|n| (40..=60).contains(n)), "{inputs:?}");
    assert!(outputs.iter().all(|n| (8..=12).contains(n)), "{outputs:?}");
    let spread = |v: &[u64]| v.iter().max().unwrap() - v.iter().min().unwrap();
    assert!(spread(&inputs) >= 8, "{inputs:?}");
    assert!(spread(&outputs) >= 2, "{outputs:?}");
    // The report's summary of the lengths is the bodies' own.
    let d = &r["config"]["llm"]["dataset"];
    let mean = inputs.iter().sum::<u64>() as f64 / 40.0;
    assert!((d["input_tokens"]["mean"].as_f64().unwrap() - mean).abs() < 1e-9);
    assert_eq!(d["input_tokens"]["min"], *inputs.iter().min().unwrap());
    assert_eq!(d["max_tokens"]["max"], *outputs.iter().max().unwrap());
    assert_eq!(d["range_ratio"], 0.2);
}

#[test]
fn the_seed_decides_the_prompts() {
    let srv = Recorder::start();
    let args = |seed: &'static str| {
        vec![
            "--openai",
            "m",
            "--dataset",
            "random",
            "--input-len",
            "30",
            "--num-prompts",
            "4",
            "-n",
            "4",
            "--seed",
            seed,
        ]
    };
    run(&srv, &args("5"));
    let first = srv.take();
    run(&srv, &args("5"));
    let again = srv.take();
    run(&srv, &args("6"));
    let other = srv.take();
    assert_eq!(first.len(), 4);
    assert_eq!(first, again, "the same seed, the same bodies");
    assert_ne!(first, other, "another seed, other prompts");
}

#[test]
fn sharegpt_prompts_cycle_in_order_capped_by_each_answer() {
    let srv = Recorder::start();
    let dir = tempfile::tempdir().unwrap();
    // (question, answer); the answers are plain words, so the estimate counts them as the
    // test does: split on whitespace.
    let convs = [
        ("What is a load test?", "It sends many requests at once"),
        ("Name a prime.", "seven"),
        ("Count to five.", "one two three four five"),
    ];
    let mut items: Vec<Value> = convs
        .iter()
        .map(|(q, a)| {
            serde_json::json!({"id": q, "conversations": [
                {"from": "human", "value": q}, {"from": "gpt", "value": a},
                {"from": "human", "value": "and then?"}, {"from": "gpt", "value": "no more"}]})
        })
        .collect();
    // One with no model answer: skipped, and counted.
    items.insert(
        1,
        serde_json::json!({"conversations": [{"from": "human", "value": "alone"}]}),
    );
    let file = write(
        dir.path(),
        "sg.json",
        &serde_json::to_string(&items).unwrap(),
    );
    let r = run(
        &srv,
        &["--openai", "m", "--dataset", "sharegpt", &file, "-n", "7"],
    );
    let bodies = srv.take();
    let got: Vec<(&str, u64)> = bodies
        .iter()
        .map(|v| (user(v), v["max_tokens"].as_u64().unwrap()))
        .collect();
    let want: Vec<(&str, u64)> = (0..7)
        .map(|i| {
            let (q, a) = convs[i % 3];
            (q, a.split_whitespace().count() as u64)
        })
        .collect();
    assert_eq!(got, want);
    let d = &r["config"]["llm"]["dataset"];
    assert_eq!(
        (d["prompts"].as_u64(), d["skipped"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(d["file"], file.as_str());

    // --output-len overrides the answers' lengths; --num-prompts takes the first N.
    run(
        &srv,
        &[
            "--openai",
            "m",
            "--dataset",
            "sharegpt",
            &file,
            "--output-len",
            "64",
            "--num-prompts",
            "2",
            "-n",
            "4",
        ],
    );
    let got: Vec<(String, u64)> = srv
        .take()
        .iter()
        .map(|v| (user(v).to_string(), v["max_tokens"].as_u64().unwrap()))
        .collect();
    let q = |i: usize| convs[i].0.to_string();
    assert_eq!(got, [(q(0), 64), (q(1), 64), (q(0), 64), (q(1), 64)]);
}

#[test]
fn jsonl_prompts_cycle_in_order() {
    let srv = Recorder::start();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "p.jsonl",
        "{\"prompt\": \"first\", \"max_tokens\": 5}\n\n{\"prompt\": \"second \\\"quoted\\\"\"}\n\
         {\"prompt\": \"third\", \"max_tokens\": 9}\n",
    );
    let r = run(
        &srv,
        &["--openai", "m", "--dataset", "jsonl", &file, "-n", "7"],
    );
    let got: Vec<(String, Option<u64>)> = srv
        .take()
        .iter()
        .map(|v| {
            (
                user(v).to_string(),
                v.get("max_tokens").and_then(Value::as_u64),
            )
        })
        .collect();
    let lines = [
        ("first", Some(5)),
        ("second \"quoted\"", None),
        ("third", Some(9)),
    ];
    let want: Vec<(String, Option<u64>)> = (0..7)
        .map(|i| (lines[i % 3].0.to_string(), lines[i % 3].1))
        .collect();
    assert_eq!(got, want);
    let d = &r["config"]["llm"]["dataset"];
    let asking = lines.iter().filter(|l| l.1.is_some()).count();
    assert_eq!(d["max_tokens_asked"], asking);
    assert_eq!(
        (
            d["max_tokens"]["min"].as_u64(),
            d["max_tokens"]["max"].as_u64()
        ),
        (Some(5), Some(9))
    );
}

#[test]
fn a_system_prompt_comes_first() {
    let srv = Recorder::start();
    let r = run(
        &srv,
        &[
            "--openai",
            "m",
            "--prompt",
            "hello",
            "--system-prompt",
            "You answer in one word.",
            "-n",
            "2",
        ],
    );
    for v in srv.take() {
        let m = v["messages"].as_array().unwrap();
        assert_eq!(m.len(), 2, "{v}");
        assert_eq!(m[0]["role"], "system");
        assert_eq!(m[0]["content"], "You answer in one word.");
        assert_eq!(
            (&m[1]["role"], &m[1]["content"]),
            (&"user".into(), &"hello".into())
        );
    }
    // The report has its length, never its text.
    let llm = &r["config"]["llm"];
    assert_eq!(llm["system_prompt_tokens"], 6, "You answer in one word .");
    assert!(!r.to_string().contains("one word"));
}
