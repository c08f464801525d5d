//! Issue 16's measurements against the embedded target, whose own counters (`/__stats`: the
//! prompt, completion and reasoning tokens it planned for its answers) and configured schedule
//! are the witnesses: input tokens, output tokens and TPOT without usage (estimate and a
//! tokenizer file), reasoning tokens and TTFOT, `--dataset random --ignore-eos`, and the
//! target's own timing as qpsbench measures it.

mod common;

use std::time::Duration;

use common::{qps, server_with};
use qpsbench::serve::{LlmConfig, ServeConfig, ServerHandle, UsageMode};

/// One test at a time: each reads timings off the embedded target, which the others' load on
/// the same two cores would skew (a poisoned lock from a failed test still serializes).
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn target(llm: LlmConfig) -> ServerHandle {
    server_with(ServeConfig {
        threads: 2,
        llm,
        ..ServeConfig::ephemeral()
    })
}

fn chat(srv: &ServerHandle, query: &str) -> String {
    format!("http://{}/v1/chat/completions{query}", srv.addr)
}

/// Run `args` with `--json` into a temporary file; the report as JSON.
fn run_json(args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.json");
    let mut argv = vec!["run"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--json", file.to_str().unwrap()]);
    let (code, out, err) = qps(&argv);
    assert_eq!(code, 0, "{args:?}\n{out}\n{err}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    common::assert_valid(&v, "report");
    v
}

fn ms(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn input_tokens_are_the_targets_prompt_tokens() {
    let _serial = one_at_a_time();
    let srv = target(LlmConfig {
        first_token: Duration::from_millis(5),
        interval: Duration::from_millis(1),
        tokens: 8,
        ..LlmConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let prompts = dir.path().join("p.txt");
    // Prompts of different lengths, CJK included.
    std::fs::write(
        &prompts,
        "one two three\nWrite a poem, please.\n你好世界 and more words here\n",
    )
    .unwrap();
    let r = run_json(&[
        "--url",
        &chat(&srv, ""),
        "--openai",
        "m",
        "--prompts",
        prompts.to_str().unwrap(),
        "-n",
        "12",
        "-c",
        "2",
    ]);
    let snap = srv.stats.snapshot();
    assert_eq!(snap.chat_answers, 12);
    let st = &r["total"]["stream"];
    assert_eq!(
        st["input_tokens"], snap.prompt_tokens,
        "the target's own sum"
    );
    assert_eq!(st["streams_with_input_tokens"], 12);
    assert_eq!(st["output_tokens"], snap.completion_tokens);
    let duration = ms(&r["total"]["duration_s"]);
    let total_rate = ms(&st["total_tokens_per_s"]);
    let want = (snap.prompt_tokens + snap.completion_tokens) as f64 / duration;
    assert!(
        (total_rate - want).abs() < 0.01 * want,
        "{total_rate} vs {want}"
    );
    // Three prompts in turn: their per-request input tokens span min..max.
    let per = &st["input_tokens_per_request"];
    assert!(ms(&per["min"]) < ms(&per["max"]), "{per}");
}

/// 2 tokens per event, no usage: the estimate and a tokenizer file count 20 tokens per answer
/// (not 10 events). The target sends an event when its last token is due (token i at
/// 20 ms + i x 10 ms): events at 30, 50, ... 210 ms, so TTFT 30 ms, one gap of 20 ms per
/// event, and TPOT (210 - 30) / 19 ms; counting events as tokens would give 180 / 9 = 20 ms.
#[test]
fn tokens_without_usage_are_counted_from_the_text() {
    let _serial = one_at_a_time();
    let srv = target(LlmConfig {
        first_token: Duration::from_millis(20),
        interval: Duration::from_millis(10),
        tokens: 20,
        usage: UsageMode::Never,
        ..LlmConfig::default()
    });
    let url = chat(&srv, "?tokens_per_event=2");
    let words = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/tokenizer-words.json"
    );
    let chars = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/tokenizer-chars.json"
    );
    for (extra, source) in [
        (vec![], "estimate"),
        (vec!["--tokenizer", words], "tokenizer"),
    ] {
        let before = srv.stats.snapshot();
        let mut args = vec!["--url", &url, "--openai", "m", "-n", "6", "-c", "2"];
        args.extend(extra);
        let r = run_json(&args);
        let after = srv.stats.snapshot();
        let st = &r["total"]["stream"];
        assert_eq!(st["token_source"], source);
        assert_eq!(
            st["output_tokens"],
            after.completion_tokens - before.completion_tokens,
            "{source}: the target's own count"
        );
        assert_eq!(st["tokens_per_request"]["p50"], 20.0);
        // 9.47 ms, not the 20 ms of events counted as tokens. Not tighter: a first event late
        // by 10 ms on a loaded machine (seen) makes one answer's TPOT 0.53 ms shorter.
        let tpot = ms(&st["tpot_ms"]["p50"]);
        assert!((tpot - 180.0 / 19.0).abs() < 2.0, "{source}: TPOT {tpot}");
        let itl = ms(&st["itl_ms"]["p50"]);
        assert!(
            (itl - 20.0).abs() < 1.0,
            "{source}: one gap per event, {itl}"
        );
        // The first event waits for its second token (30 ms): at least that, and nowhere near
        // the 40 ms of a third. Not tighter: this debug-build client under the suite's load
        // read 31.2 ms once (the 0.2 ms claim is serve_timing.rs's, with a raw client).
        let ttft = ms(&st["ttft_ms"]["p50"]);
        assert!((29.5..35.0).contains(&ttft), "{source}: TTFT {ttft}");
    }
    // A tokenizer of one token per character: the count is the answer's characters, which the
    // test knows from the target's fixed text (its 16 words in turn, 20 of them).
    let r = run_json(&[
        "--url",
        &url,
        "--openai",
        "m",
        "-n",
        "2",
        "--tokenizer",
        chars,
    ]);
    let words = [
        "The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ",", " and",
        " then", " it", " rests", " again", ".",
    ];
    let text: String = words.iter().cycle().take(20).copied().collect();
    let per = &r["total"]["stream"]["tokens_per_request"];
    assert_eq!(ms(&per["p50"]), text.chars().count() as f64, "{per}");
}

/// 4 reasoning tokens first: the first answer token is the 5th, due 4 intervals after the
/// first token. Tokens are never early (each is due after the request arrived, which is after
/// qpsbench sent it) but a loaded machine makes them late: CI once read TTFT 25.2 ms for a
/// first token due at 20 ms, and a machine with three busy loops on its two cores read 30 ms.
/// So the interval is 50 ms, and each time must be its own token's due time, late by less
/// than half an interval: the tokens either side are 50 ms away.
#[test]
fn reasoning_tokens_and_ttfot() {
    let _serial = one_at_a_time();
    const FIRST_MS: f64 = 20.0;
    const INTERVAL_MS: f64 = 50.0;
    // The reasoning tokens come from the server's usage, or else from the text.
    for usage in [UsageMode::Always, UsageMode::Never] {
        let srv = target(LlmConfig {
            first_token: Duration::from_millis(FIRST_MS as u64),
            interval: Duration::from_millis(INTERVAL_MS as u64),
            tokens: 12,
            usage,
            ..LlmConfig::default()
        });
        let r = run_json(&[
            "--url",
            &chat(&srv, "?reasoning_tokens=4"),
            "--openai",
            "m",
            "-n",
            "4",
            "-c",
            "4",
        ]);
        let snap = srv.stats.snapshot();
        let st = &r["total"]["stream"];
        assert_eq!(st["reasoning_tokens"], snap.reasoning_tokens, "{usage:?}");
        assert_eq!(snap.reasoning_tokens, 16);
        assert_eq!(st["answer_tokens"], 4 * 8, "{usage:?}");
        assert_eq!(st["reasoning_streams"], 4);
        let ttft = ms(&st["ttft_ms"]["p50"]);
        let ttfot = ms(&st["ttfot_ms"]["p50"]);
        for (what, got, due) in [
            ("TTFT", ttft, FIRST_MS),
            ("TTFOT", ttfot, FIRST_MS + 4.0 * INTERVAL_MS),
        ] {
            assert!(
                (due - 0.5..due + INTERVAL_MS / 2.0).contains(&got),
                "{usage:?}: {what} {got} ms, due at {due} ms (TTFT {ttft}, TTFOT {ttfot})"
            );
        }
    }
}

/// `--dataset random --input-len 100 --output-len 20 --ignore-eos`: the target answers 5
/// tokens unless told to ignore the end; it is told, and sends 20.
#[test]
fn ignore_eos_gets_the_output_length_back() {
    let _serial = one_at_a_time();
    let srv = target(LlmConfig {
        first_token: Duration::from_millis(2),
        interval: Duration::from_millis(1),
        tokens: 5,
        ..LlmConfig::default()
    });
    let r = run_json(&[
        "--url",
        &chat(&srv, ""),
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
        "--seed",
        "7",
    ]);
    let snap = srv.stats.snapshot();
    assert_eq!(
        snap.completion_tokens,
        5 * 20,
        "the target planned 20 a answer"
    );
    let st = &r["total"]["stream"];
    assert_eq!(st["output_tokens"], 100);
    assert_eq!(st["tokens_per_request"]["min"], 20.0);
    // The prompt of 100 estimated tokens: the target's prompt_tokens (same estimate).
    assert_eq!(snap.prompt_tokens, 5 * 100);
    assert_eq!(st["input_tokens"], 500);
}

/// The target's own timing, as qpsbench measures it (`serve --first-token 50ms
/// --token-interval 10ms`). The 0.2 ms claim is held by `tests/serve_timing.rs` with a raw
/// client; here the client is this debug build of qpsbench, whose own parsing adds up to about
/// 0.2 ms (1 run in 12 read 50.207 ms), so the bound is 0.5 ms. The release build's figures
/// are in docs/BENCHMARKS.md.
#[test]
fn the_target_keeps_its_schedule_as_qpsbench_measures_it() {
    let _serial = one_at_a_time();
    let srv = target(LlmConfig::default());
    let r = run_json(&[
        "--url",
        &chat(&srv, ""),
        "--openai",
        "m",
        "-n",
        "40",
        "-c",
        "2",
    ]);
    let st = &r["total"]["stream"];
    let ttft = ms(&st["ttft_ms"]["p50"]);
    let itl = ms(&st["itl_ms"]["p50"]);
    assert!((ttft - 50.0).abs() <= 0.5, "TTFT p50 {ttft}");
    assert!((itl - 10.0).abs() <= 0.5, "ITL p50 {itl}");
}

/// A server that sends no usage: each request's input tokens are the client's count of its
/// prompt (as vLLM counts its prompts), said apart, and equal to the target's own count of the
/// prompts it received (the same estimate, system prompt included).
#[test]
fn input_tokens_without_usage_are_the_clients_count_of_the_prompt() {
    let _serial = one_at_a_time();
    let srv = target(LlmConfig {
        first_token: Duration::from_millis(2),
        interval: Duration::from_millis(1),
        tokens: 4,
        usage: UsageMode::Never,
        ..LlmConfig::default()
    });
    let r = run_json(&[
        "--url",
        &chat(&srv, ""),
        "--openai",
        "m",
        "--dataset",
        "random",
        "--input-len",
        "50",
        "--range-ratio",
        "0.5",
        "--num-prompts",
        "3",
        "--output-len",
        "4",
        "--system-prompt",
        "Be brief.",
        "-n",
        "7",
    ]);
    let snap = srv.stats.snapshot();
    let st = &r["total"]["stream"];
    assert_eq!(st["token_source"], "estimate", "no usage came");
    assert_eq!(
        st["input_tokens"], snap.prompt_tokens,
        "the target's own count"
    );
    assert_eq!(st["input_tokens_counted_by_client"], 7);
    assert_eq!(st["streams_with_input_tokens"], 7);
}
