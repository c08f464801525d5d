//! LLM streaming against the embedded OpenAI and Dify routes on 127.0.0.1: token counts, TTFT,
//! ITL and TPOT, usage vs counted tokens, cut and failed streams, key secrecy, reports (schema,
//! CSV, HTML, exact merge) and `demo --llm`. Timing bounds are wide enough for a loaded 2-core
//! machine; every run is bounded by a request count or a duration.

mod common;

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use common::{assert_valid, qps, read_request, run, server, server_with};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use qpsbench::serve::{LlmConfig, ServeConfig, ServerHandle, UsageMode};
use qpsbench::stats::stream::StreamReport;
use serde_json::Value;

/// 50 ms to the first token, 20 tokens 10 ms apart, no jitter.
fn llm_server(usage: UsageMode) -> ServerHandle {
    server_with(ServeConfig {
        threads: 2,
        record_header: Some("authorization".into()),
        llm: LlmConfig {
            first_token: Duration::from_millis(50),
            tokens: 20,
            interval: Duration::from_millis(10),
            jitter: Duration::ZERO,
            usage,
            ..LlmConfig::default()
        },
        ..ServeConfig::ephemeral()
    })
}

fn decode(text: &str) -> Histogram<u64> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64");
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .expect("a V2 histogram")
}

fn within(what: &str, v: f64, lo: f64, hi: f64) {
    assert!((lo..=hi).contains(&v), "{what} = {v}, expected {lo}..={hi}");
}

/// The timing figures of a 50 ms / 20 tokens / 10 ms stream. Only what the server's schedule
/// guarantees on any machine is checked (no token before it is due; how much later it is read
/// depends on the machine's load), and how the figures must relate to each other.
fn check_timings(st: &StreamReport, requests: u64) {
    assert_eq!(st.streams, requests);
    assert_eq!(st.output_tokens, 20 * requests);
    assert_eq!(
        (st.tokens_per_request.min, st.tokens_per_request.max),
        (20.0, 20.0)
    );
    assert_eq!(st.tokens_per_request.mean, 20.0);
    assert_eq!(st.end_reasons.get("done"), Some(&requests), "{st:?}");
    // The first token is sent 50 ms after the request: no TTFT is shorter (the upper bound is
    // a liveness bound only).
    within("TTFT min", st.ttft_ms.min, 49.0, 10_000.0);
    // The last token leaves the server 50 + 19 * 10 = 240 ms after the request: no answer
    // takes less, so no answer streams faster than 20 / 0.240 = 83.3 tokens/s.
    within("tokens/s max", st.tokens_per_s.max, 1.0, 84.0);
    // Per answer, the 19 gaps between its tokens add up to (last token - first token), and TPOT
    // is (end - first token) / 19 with the end at or after the last token: the mean ITL can
    // only be at most the mean TPOT (plus the histograms' 0.1% resolution).
    assert!(
        st.itl_ms.mean <= st.tpot_ms.mean * 1.001 + 0.001,
        "ITL mean {} > TPOT mean {}",
        st.itl_ms.mean,
        st.tpot_ms.mean
    );
    assert!(st.tpot_ms.min > 0.0 && st.itl_ms.max > 0.0, "{st:?}");
    // One ITL per gap: 19 per stream, every one recorded.
    assert_eq!(decode(&st.hdr.itl_us).len(), 19 * requests);
    assert_eq!(decode(&st.hdr.tpot_us).len(), requests);
}

#[test]
fn openai_stream_timings() {
    let srv = llm_server(UsageMode::OnRequest);
    let url = format!("{}/v1/chat/completions", srv.url());
    let r = run(&["--url", &url, "--openai", "m", "-c", "4", "-n", "24"]);
    let t = &r.total;
    assert_eq!((t.requests, t.ok, t.failures), (24, 24, 0), "{t:?}");
    let st = t.stream.as_ref().expect("the run streamed");
    check_timings(st, 24);
    assert_eq!(st.token_source, "usage");
    // TTFB is the response head: well before the first token.
    assert!(t.ttfb_ms.p50 < st.ttft_ms.p50, "{:?}", t.ttfb_ms);
    // The per-second series carries the tokens, and the config says how requests were built.
    let in_series: u64 = r
        .seconds
        .iter()
        .filter_map(|s| s.stream.as_ref())
        .map(|s| s.output_tokens)
        .sum();
    assert_eq!(in_series, 480);
    let llm = r.config.llm.as_ref().unwrap();
    assert_eq!(
        (llm.api.as_str(), llm.prompts, llm.api_keys),
        ("openai", 1, 0)
    );
}

#[test]
fn dify_stream_timings() {
    let srv = llm_server(UsageMode::OnRequest);
    let url = format!("{}/v1/chat-messages", srv.url());
    let r = run(&["--url", &url, "--dify", "-c", "3", "-n", "12"]);
    let t = &r.total;
    assert_eq!((t.requests, t.ok, t.failures), (12, 12, 0), "{t:?}");
    let st = t.stream.as_ref().expect("the run streamed");
    check_timings(st, 12);
    assert_eq!(st.token_source, "usage");
}

#[test]
fn tokens_are_counted_when_there_is_no_usage() {
    let srv = llm_server(UsageMode::Never);
    let url = format!("{}/v1/chat/completions", srv.url());
    let r = run(&["--url", &url, "--openai", "m", "-c", "2", "-n", "6"]);
    let st = r.total.stream.as_ref().unwrap();
    check_timings(st, 6);
    assert_eq!(st.token_source, "estimate");
    assert_eq!(st.tokens_from_estimate, 6);

    // A generic template with a content path, on a server that does send usage when asked:
    // this body does not ask, so the tokens are counted.
    let srv = llm_server(UsageMode::OnRequest);
    let url = format!("{}/v1/chat/completions", srv.url());
    let template =
        r#"{"model":"x","stream":true,"messages":[{"role":"user","content":"{prompt}"}]}"#;
    let r = run(&[
        "--url",
        &url,
        "--body-template",
        template,
        "--content-path",
        "choices.0.delta.content",
        "--prompt",
        "a \"quoted\" prompt",
        "-c",
        "2",
        "-n",
        "4",
    ]);
    assert_eq!(r.total.ok, 4, "{:?}", r.total);
    let st = r.total.stream.as_ref().unwrap();
    assert_eq!(
        (st.output_tokens, st.token_source.as_str()),
        (80, "estimate")
    );
    assert_eq!(r.config.method, "POST");
}

#[test]
fn a_cut_stream_is_a_stream_failure_with_its_tokens() {
    let srv = llm_server(UsageMode::OnRequest);
    let url = format!("{}/v1/chat/completions?cut_after=5", srv.url());
    let r = run(&["--url", &url, "--openai", "m", "-c", "2", "-n", "6"]);
    let t = &r.total;
    assert_eq!((t.requests, t.ok, t.failures), (6, 0, 6), "{t:?}");
    assert_eq!(
        t.failure_kinds.get("stream"),
        Some(&6),
        "{:?}",
        t.failure_kinds
    );
    let st = t.stream.as_ref().unwrap();
    assert_eq!(st.output_tokens, 30);
    assert_eq!(
        (st.tokens_per_request.min, st.tokens_per_request.max),
        (5.0, 5.0)
    );
    assert_eq!(st.end_reasons.get("cut"), Some(&6), "{st:?}");
    assert_eq!(st.token_source, "estimate", "a cut stream has no usage");
    within("TTFT min", st.ttft_ms.min, 49.0, 10_000.0);
    // TPOT and tokens/s are for complete answers only.
    assert_eq!(decode(&st.hdr.tpot_us).len(), 0);

    // An error event after 3 tokens: a failure of its own kind, 3 tokens each.
    for (path, flag) in [
        ("/v1/chat/completions?error_after=3", "--openai"),
        ("/v1/chat-messages?error_after=3", "--dify"),
    ] {
        let url = format!("{}{path}", srv.url());
        let mut args = vec!["--url", &url, flag];
        if flag == "--openai" {
            args.push("m");
        }
        args.extend(["-c", "1", "-n", "2"]);
        let r = run(&args);
        let t = &r.total;
        assert_eq!(
            t.failure_kinds.get("stream_error"),
            Some(&2),
            "{path}: {t:?}"
        );
        let st = t.stream.as_ref().unwrap();
        assert_eq!(st.output_tokens, 6, "{path}");
        assert_eq!(st.end_reasons.get("error_event"), Some(&2), "{path}");
    }
}

#[test]
fn plain_runs_carry_no_stream_metrics() {
    let srv = llm_server(UsageMode::OnRequest);
    let r = run(&["--url", &format!("{}/", srv.url()), "-c", "1", "-n", "5"]);
    assert!(r.total.stream.is_none());
    assert!(r.seconds.iter().all(|s| s.stream.is_none()));
    assert!(r.config.llm.is_none());
    let json = serde_json::to_string(&r).unwrap();
    assert!(!json.contains("ttft"), "{json}");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

#[test]
fn streaming_thresholds_pass_fail_and_set_the_exit_code() {
    // 50 ms to the first token, 20 tokens 10 ms apart: TTFT ~50 ms, ITL/TPOT ~10 ms,
    // ~83 tokens/s per answer.
    let srv = llm_server(UsageMode::OnRequest);
    let url = format!("{}/v1/chat/completions", srv.url());
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let json = json.to_str().unwrap();
    let gate = "ttft-p50<5s,ttft-p99>=40ms,itl-p50<1s,tpot-mean<1s,ttfb-p99<5s,\
                tokens-per-s>5,tokens-per-s-min>1,output-tokens-per-s>1,stage=1:ttft-max<10s";
    let (code, out, err) = qps(&[
        "--url",
        &url,
        "--openai",
        "m",
        "-c",
        "2",
        "-n",
        "8",
        "-q",
        "--fail-on",
        gate,
        "--json",
        json,
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("Thresholds (--fail-on): 9 passed, 0 failed"),
        "{out}"
    );
    assert!(out.contains("ttft-p50<5s: passed (measured "), "{out}");
    let v: Value = serde_json::from_str(&read(Path::new(json))).unwrap();
    let t = v["thresholds"].as_array().unwrap();
    assert_eq!(t[0]["metric"], "ttft-p50");
    let ttft = t[0]["measured"].as_f64().unwrap();
    within("ttft-p50 measured", ttft, 49.0, 10_000.0);
    assert_eq!(
        Some(ttft),
        v["total"]["stream"]["ttft_ms"]["p50"].as_f64(),
        "the gate reads the reported TTFT"
    );

    // A TTFT below what the server can give fails: exit code 1, the measured value shown.
    let (code, out, _) = qps(&[
        "--url",
        &url,
        "--openai",
        "m",
        "-c",
        "2",
        "-n",
        "4",
        "-q",
        "--fail-on",
        "ttft-p50<1ms,itl-p99<10s",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ttft-p50<1ms: FAILED (measured "), "{out}");
    assert!(out.contains("itl-p99<10s: passed"), "{out}");

    // A streaming threshold on a run that streamed nothing fails and says why (whether a
    // response streams is known only when it arrives: any URL may answer text/event-stream).
    let (code, out, _) = qps(&[
        "--url",
        &format!("{}/", srv.url()),
        "-n",
        "3",
        "-q",
        "--fail-on",
        "ttft-p99<10s,ttfb-p99<10s",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("ttft-p99<10s: FAILED (nothing measured: ttft-p99 is a streaming metric"),
        "{out}"
    );
    assert!(out.contains("ttfb-p99<10s: passed"), "{out}");

    // An unknown streaming name is a one-line usage error before the run.
    let (code, _, err) = qps(&["--url", &url, "--openai", "m", "--fail-on", "ttft-p42<1s"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown metric 'ttft-p42'"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn api_keys_appear_in_no_output() {
    const KEY: &str = "sk-TOPSECRET-4f1e9";
    let srv = llm_server(UsageMode::OnRequest);
    let url = format!("{}/v1/chat/completions", srv.url());
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("keys.txt");
    std::fs::write(&key_file, format!("Bearer {KEY}-a\n\n{KEY}-b\n")).unwrap();
    let key_file = key_file.to_str().unwrap().to_string();
    let cases: [(&str, Vec<&str>); 2] = [
        ("cli", vec!["--api-key", KEY]),
        ("file", vec!["--api-key-file", &key_file]),
    ];
    for (name, key_args) in cases {
        let paths =
            ["json", "csv", "series.csv", "html"].map(|e| dir.path().join(format!("{name}.{e}")));
        let p: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let mut args = vec!["--url", &url, "--openai", "m", "-c", "2", "-n", "6"];
        args.extend(&key_args);
        args.extend([
            "--json",
            &p[0],
            "--csv",
            &p[1],
            "--csv-series",
            &p[2],
            "--html",
            &p[3],
        ]);
        let (code, out, err) = qps(&args);
        assert_eq!(code, 0, "{name}: {err}");
        assert!(out.contains("Streaming:"), "{name}: {out}");
        for (what, text) in [("stdout", out), ("stderr", err)]
            .into_iter()
            .chain(paths.iter().map(|p| ("file", read(p))))
        {
            assert!(!text.contains("TOPSECRET"), "{name}: the key is in {what}");
        }
        let v: Value = serde_json::from_str(&read(&paths[0])).unwrap();
        let keys = v["config"]["llm"]["api_keys"].as_u64().unwrap();
        assert_eq!(keys, if name == "cli" { 1 } else { 2 });
    }
    // The keys did reach the server, in turn.
    assert_eq!(srv.stats.header_count(&format!("Bearer {KEY}")), 6);
    assert_eq!(srv.stats.header_count(&format!("Bearer {KEY}-a")), 3);
    assert_eq!(srv.stats.header_count(&format!("Bearer {KEY}-b")), 3);

    // A bad key is refused without being echoed.
    let (code, out, err) = qps(&["--url", &url, "--api-key", "TOPSECRET\u{7f}x"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        !out.contains("TOPSECRET") && !err.contains("TOPSECRET"),
        "{err}"
    );
}

#[test]
fn bad_llm_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "\n  \n\n").unwrap();
    let empty = empty.to_str().unwrap();
    let url = "http://127.0.0.1:9/v1/chat/completions";
    let cases: [(&[&str], &str); 9] = [
        (&["--openai", "m", "--dify"], "--openai and --dify"),
        (
            &["--openai", "m", "--prompts", "/nonexistent/p.txt"],
            "cannot read the file",
        ),
        (&["--openai", "m", "--prompts", empty], "has no prompts"),
        (&["--api-key-file", empty], "has no keys"),
        (&["--content-path", "a..b"], "empty segment"),
        (&["--prompt", "hi"], "--prompt needs --openai"),
        (&["--openai", "m", "-d", "{}"], "-d does not go with"),
        (&["--body-template", "{}"], "has no {prompt}"),
        (&["--dify", "--max-tokens", "5"], "no such field"),
    ];
    for (extra, want) in cases {
        let mut args = vec!["--url", url];
        args.extend(extra);
        let (code, _, err) = qps(&args);
        assert_eq!(code, 2, "{extra:?}: {err}");
        assert!(err.contains(want), "{extra:?}: '{err}' lacks '{want}'");
        assert_eq!(err.trim_end().lines().count(), 1, "{extra:?}: {err}");
    }
}

#[test]
fn streamed_reports_match_the_schema_and_merge_exactly() {
    let srv = llm_server(UsageMode::OnRequest);
    let url = format!("{}/v1/chat/completions", srv.url());
    let dir = tempfile::tempdir().unwrap();
    let file = |n: &str| dir.path().join(n).display().to_string();
    for (name, extra) in [("a.json", "1,2"), ("b.json", "2,1")] {
        let path = file(name);
        let csv = file(&format!("{name}.csv"));
        let series = file(&format!("{name}.series.csv"));
        let html = file(&format!("{name}.html"));
        let (code, _, err) = qps(&[
            "--url",
            &url,
            "--openai",
            "m",
            "-q",
            "--ramp",
            extra,
            "--step",
            "0.7s",
            "--json",
            &path,
            "--csv",
            &csv,
            "--csv-series",
            &series,
            "--html",
            &html,
        ]);
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(&read(Path::new(&path))).unwrap();
        assert_valid(&v, name);
        assert!(v["total"]["stream"]["ttft_ms"]["p50"].is_number());
        assert!(v["stages"][0]["stream"]["itl_ms"]["p50"].is_number());
        // Each second with complete answers has their TPOT (10 ms by the target's schedule, later
        // on a loaded machine, never much earlier), the answers' speed (20 tokens in
        // 50 + 19 x 10 ms: at most 83.3 tokens/s) and TTFB (the head comes before the first
        // token: at most the second's TTFT).
        for sec in v["seconds"].as_array().unwrap() {
            let sst = &sec["stream"];
            if let Some(tpot) = sst["tpot_p50_ms"].as_f64() {
                within("second's TPOT p50", tpot, 9.5, 20.0);
                within(
                    "second's TPOT p99",
                    sst["tpot_p99_ms"].as_f64().unwrap(),
                    tpot,
                    40.0,
                );
                let speed = sst["tokens_per_s_p50"].as_f64().unwrap();
                within("second's tokens/s p50", speed, 30.0, 84.0);
            }
            if sec["requests"].as_u64().unwrap() > 0 {
                let ttfb = sec["ttfb_p50_ms"].as_f64().expect("a second's TTFB");
                let ttft = sst["ttft_p50_ms"].as_f64().expect("a second's TTFT");
                within("second's TTFB p50", ttfb, 0.0, ttft);
            }
        }
        assert!(
            v["seconds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["stream"]["tpot_p50_ms"].is_number()),
            "no second has TPOT"
        );
        // CSV: the streaming columns, one value per column on every row.
        let csv = read(Path::new(&csv));
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        for col in [
            "ttft_p50_ms",
            "itl_p99_ms",
            "tpot_p50_ms",
            "tokens_max",
            "tokens_per_s_p50",
            "output_tokens",
        ] {
            assert!(header.contains(&col), "{col} missing: {header:?}");
        }
        for line in csv.lines() {
            assert_eq!(line.split(',').count(), header.len(), "{line}");
        }
        let series = read(Path::new(&series));
        assert!(
            series
                .lines()
                .next()
                .unwrap()
                .contains("ttft_p50_ms,ttft_p99_ms,itl_p50_ms")
        );
        let html = read(Path::new(&html));
        for part in [
            "LLM streaming",
            "chart-ttft",
            "chart-itl",
            "chart-tpot",
            "chart-answer-speed",
            "chart-tokens",
            "TPOT",
            "Stream ends",
        ] {
            assert!(html.contains(part), "html lacks {part}");
        }
    }
    let merged = file("m.json");
    let (code, _, err) = qps(&["merge", &file("a.json"), &file("b.json"), "--json", &merged]);
    assert_eq!(code, 0, "{err}");
    let [a, b, m]: [Value; 3] = ["a.json", "b.json", "m.json"]
        .map(|n| serde_json::from_str(&read(Path::new(&file(n)))).unwrap());
    assert_valid(&m, "merged");
    let st = |v: &Value, k: &str| v["total"]["stream"][k].as_u64().unwrap();
    for k in ["streams", "output_tokens", "tokens_from_usage"] {
        assert_eq!(st(&m, k), st(&a, k) + st(&b, k), "{k}");
    }
    let hist = |v: &Value, k: &str| decode(v["total"]["stream"]["hdr"][k].as_str().unwrap());
    for k in [
        "ttft_us",
        "itl_us",
        "tpot_us",
        "tokens",
        "tokens_per_s_milli",
    ] {
        // The witness sum grows to hold both (a decoded histogram's range is the largest value
        // it was written with; b's may be larger).
        let mut sum = hist(&a, k);
        sum.auto(true);
        sum.add(hist(&b, k)).unwrap();
        assert_eq!(hist(&m, k), sum, "{k} merges exactly");
    }
    // Stage rows and seconds merge too.
    let stage_streams = |v: &Value, i: usize| v["stages"][i]["stream"]["streams"].as_u64().unwrap();
    assert_eq!(
        stage_streams(&m, 0),
        stage_streams(&a, 0) + stage_streams(&b, 0)
    );
    let series_tokens = |v: &Value| -> u64 {
        v["seconds"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["stream"]["output_tokens"].as_u64())
            .sum()
    };
    assert_eq!(series_tokens(&m), series_tokens(&a) + series_tokens(&b));
    // Every answer's TPOT, speed and TTFB is in exactly one second, merged or not: the seconds'
    // histograms count as many as the runs' together.
    let counted = |v: &Value, path: &[&str]| -> u64 {
        v["seconds"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| path.iter().try_fold(s, |v, k| v.get(*k)))
            .filter_map(Value::as_str)
            .map(|e| decode(e).len())
            .sum()
    };
    for path in [
        &["hdr_ttfb_us"][..],
        &["stream", "hdr_tpot_us"],
        &["stream", "hdr_tokens_per_s_milli"],
    ] {
        let (na, nb) = (counted(&a, path), counted(&b, path));
        assert!(na > 0, "{path:?} empty");
        assert_eq!(counted(&m, path), na + nb, "{path:?}");
    }
    assert_eq!(
        counted(&a, &["hdr_ttfb_us"]),
        a["total"]["requests"].as_u64().unwrap()
    );
}

#[test]
fn demo_llm_shows_streaming_metrics() {
    let (code, out, err) = qps(&["demo", "--llm", "--step", "0.8s", "--json", "-"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("| ttft ") && err.contains(" tok/s "), "{err}");
    assert!(err.contains("Streaming:") && err.contains("TTFT"), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let st = &v["total"]["stream"];
    assert_eq!(st["tokens_per_request"]["max"], 20.0);
    assert_eq!(st["token_source"], "usage");
    assert_eq!(v["stages"].as_array().unwrap().len(), 3);
    assert!(st["streams"].as_u64().unwrap() > 0);
}

#[test]
fn html_and_summary_name_the_model_escaped() {
    let srv = llm_server(UsageMode::OnRequest);
    let url = format!("{}/v1/chat/completions", srv.url());
    let model = "<script>alert('m')</script>";
    let r = run(&["--url", &url, "--openai", model, "-c", "1", "-n", "2"]);
    let html = qpsbench::export::html::render(&r);
    // The page's own scripts are uPlot and its chart script; the model's never appears raw.
    assert!(!html.contains(model), "unescaped model in the HTML");
    assert_eq!(html.matches("<script>").count(), 2, "a third script");
    assert!(html.contains("&lt;script&gt;alert(&#39;m&#39;)&lt;/script&gt;"));
    let text = qpsbench::output::summary::render(&r);
    assert!(
        text.contains(&format!("OpenAI chat completions, model {model}")),
        "{text}"
    );
    assert!(text.contains("1 prompt; 0 API keys"), "{text}");
}

/// Issue 13, item 2: a stream whose only event is an error carries no token, so TTFT, ITL,
/// TPOT and tokens/s were never measured. Every output says so (`-`, an empty CSV cell, `null`
/// with a count of 0) instead of 0, and a threshold on them says no answer carried content.
#[test]
fn metrics_never_measured_are_absent_not_zero() {
    let srv = llm_server(UsageMode::OnRequest);
    // `error_after=0`: the server sends an error object and [DONE] before any content.
    let url = format!("{}/v1/chat/completions?error_after=0", srv.url());
    let dir = tempfile::tempdir().unwrap();
    let file = |n: &str| dir.path().join(n).display().to_string();
    let (json, csv, series, html) = (file("r.json"), file("r.csv"), file("s.csv"), file("r.html"));
    let (code, out, err) = qps(&[
        "--url",
        &url,
        "--openai",
        "m",
        "-c",
        "1",
        "-n",
        "2",
        "--quiet",
        "--fail-on",
        "ttft-p99<1s,tpot-p99<30ms,p99<10s",
        "--json",
        &json,
        "--csv",
        &csv,
        "--csv-series",
        &series,
        "--html",
        &html,
    ]);
    assert_eq!(
        code, 1,
        "a streaming threshold with nothing measured fails: {out}{err}"
    );
    assert_eq!(srv.stats.snapshot().requests, 2, "the server's own count");

    // Text: the TTFT, ITL, TPOT and tokens/s rows are all `-`; the tokens row is a real 0.
    for metric in ["TTFT", "ITL", "TPOT", "tokens/s"] {
        let row = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(metric))
            .unwrap_or_else(|| panic!("no {metric} row in:\n{out}"));
        let cells: Vec<&str> = row.split_whitespace().skip(1).collect();
        assert_eq!(cells, ["-"; 7], "{metric}: {row}");
    }
    assert!(!out.contains("0.000 ms"), "{out}");
    let verdict = out.lines().find(|l| l.contains("ttft-p99<1s:")).unwrap();
    assert!(
        verdict.contains("FAILED") && verdict.contains("no answer carried content"),
        "{verdict}"
    );
    assert!(
        !verdict.contains("text/event-stream"),
        "the responses were event streams: {verdict}"
    );

    // JSON: null values with a count of 0, valid against the schema, and the same after merge.
    let v: Value = serde_json::from_str(&read(Path::new(&json))).unwrap();
    assert_valid(&v, "report with unmeasured metrics");
    let st = &v["total"]["stream"];
    assert_eq!(st["streams"], 2);
    for key in ["ttft_ms", "itl_ms", "tpot_ms", "tokens_per_s"] {
        assert_eq!(st[key]["count"], 0, "{key}: {}", st[key]);
        for stat in ["min", "mean", "p50", "p99", "max"] {
            assert!(st[key][stat].is_null(), "{key}.{stat}: {}", st[key]);
        }
    }
    assert_eq!(st["tokens_per_request"]["count"], 2);
    assert_eq!(st["tokens_per_request"]["max"], 0.0);
    let second = &v["seconds"][0]["stream"];
    assert!(
        second["ttft_p50_ms"].is_null() && second["itl_p99_ms"].is_null(),
        "{second}"
    );
    let t = &v["thresholds"][0];
    assert!(t["measured"].is_null(), "{t}");
    assert!(
        t["unmeasured"]
            .as_str()
            .unwrap()
            .contains("no answer carried content"),
        "{t}"
    );
    // A second run of the same shape, merged with the first.
    let second = file("r2.json");
    let (code, _, err) = qps(&[
        "--url", &url, "--openai", "m", "-c", "1", "-n", "2", "--quiet", "--json", &second,
    ]);
    assert_eq!(code, 0, "{err}");
    let merged = file("m.json");
    let (code, _, err) = qps(&["merge", &json, &second, "--json", &merged]);
    assert_eq!(code, 0, "{err}");
    let m: Value = serde_json::from_str(&read(Path::new(&merged))).unwrap();
    assert_valid(&m, "merged report");
    assert_eq!(m["total"]["stream"]["ttft_ms"]["count"], 0);
    assert!(m["total"]["stream"]["ttft_ms"]["p50"].is_null());

    // CSV: empty cells (never 0) under every TTFT column, in the stage table and the series.
    let table = read(Path::new(&csv));
    let header: Vec<&str> = table.lines().next().unwrap().split(',').collect();
    let total: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("total,"))
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(header.len(), total.len(), "{table}");
    for (name, value) in header.iter().zip(&total) {
        if name.starts_with("ttft_") || name.starts_with("tpot_") || name.starts_with("itl_") {
            assert_eq!(*value, "", "{name} in:\n{table}");
        }
    }
    let s = read(Path::new(&series));
    let header: Vec<&str> = s.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = s.lines().nth(1).unwrap().split(',').collect();
    let ttft = header.iter().position(|h| *h == "ttft_p50_ms").unwrap();
    assert_eq!(row[ttft], "", "{s}");

    // HTML: the cards and the stage table say `-`.
    let h = read(Path::new(&html));
    assert!(h.contains("<b>-</b><span>p50 TTFT</span>"), "TTFT card");
    assert!(h.contains("<b>-</b><span>p50 TPOT</span>"), "TPOT card");
    assert!(!h.contains("<b>0.000 ms</b>"), "a 0 card");
}

/// Issue 13, item 1's kind (found by a new user's check): a server that sends `[DONE]` and then
/// holds the connection open for 1.5 s. The answer was complete at `[DONE]`; its latency ends
/// there, not when the server lets go.
#[test]
fn an_answer_ends_at_its_terminating_event() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/chat/completions", l.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        use std::io::{BufReader, Write};
        let (mut s, _) = l.accept().unwrap();
        read_request(&mut BufReader::new(s.try_clone().unwrap()));
        s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        for i in 0..5 {
            let chunk = format!(
                "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" t{i}\"}}}}]}}\n\n"
            );
            s.write_all(chunk.as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        s.write_all(b"data: [DONE]\n\n").unwrap();
        std::thread::sleep(Duration::from_millis(1500));
    });
    let r = run(&[
        "--url",
        &url,
        "--openai",
        "m",
        "-c",
        "1",
        "-n",
        "1",
        "--timeout",
        "10s",
    ]);
    server.join().unwrap();
    assert_eq!(r.total.ok, 1, "{:?}", r.total.failure_kinds);
    let st = r.total.stream.as_ref().unwrap();
    assert_eq!(
        (st.output_tokens, st.end_reasons.get("done")),
        (5, Some(&1))
    );
    let latency = r.total.latency_ms.max;
    assert!(
        latency < 1000.0,
        "the answer ended at [DONE], ~50 ms in: latency {latency} ms"
    );
}

/// An OpenAI stream that says its answer is finished (`finish_reason`) and then ends its body
/// without `data: [DONE]` is complete, as vLLM and guidellm take it; one that ends without
/// either was cut short: a `stream` failure whose TPOT is not counted.
#[test]
fn a_finish_reason_completes_an_answer_without_done() {
    for finish in [true, false] {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/chat/completions", l.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            use std::io::{BufReader, Write};
            for _ in 0..2 {
                let (mut s, _) = l.accept().unwrap();
                read_request(&mut BufReader::new(s.try_clone().unwrap()));
                s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
                )
                .unwrap();
                for i in 0..4 {
                    let chunk = format!(
                        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" t{i}\"}}}}]}}\n\n"
                    );
                    s.write_all(chunk.as_bytes()).unwrap();
                    std::thread::sleep(Duration::from_millis(5));
                }
                if finish {
                    s.write_all(
                        b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
                    )
                    .unwrap();
                }
                // The body ends here: no [DONE].
            }
        });
        let r = run(&[
            "--url",
            &url,
            "--openai",
            "m",
            "-c",
            "1",
            "-n",
            "2",
            "--timeout",
            "10s",
        ]);
        server.join().unwrap();
        let st = r.total.stream.as_ref().unwrap();
        if finish {
            assert_eq!(r.total.ok, 2, "{:?}", r.total.failure_kinds);
            assert_eq!(st.end_reasons.get("closed"), Some(&2));
            assert_eq!(st.tpot_ms.count, 2);
        } else {
            assert_eq!(r.total.failure_kinds.get("stream"), Some(&2));
            assert_eq!(st.end_reasons.get("cut"), Some(&2));
            assert_eq!(st.tpot_ms.count, 0, "no TPOT of a cut answer");
        }
        // The tokens received count either way.
        assert_eq!(st.output_tokens, 8);
    }
}

/// LLM requests answered without an event stream (here the target is told not to stream):
/// the summary and the HTML say that nothing was measured in tokens, rather than staying
/// silent.
#[test]
fn llm_requests_answered_without_a_stream_are_called_out() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    let url = format!("{}/v1/chat/completions?stream=false", srv.url());
    let (code, out, err) = qps(&[
        "run",
        "--url",
        &url,
        "--openai",
        "m",
        "-n",
        "2",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("WARNING:")
            && out
                .contains("2 responses to --openai requests arrived and none was an event stream"),
        "{out}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("none was an event stream"));
    // A streamed run has no such warning.
    let url = format!("{}/v1/chat/completions", srv.url());
    let (_, out, _) = qps(&["run", "--url", &url, "--openai", "m", "-n", "1"]);
    assert!(!out.contains("none was an event stream"), "{out}");
}
