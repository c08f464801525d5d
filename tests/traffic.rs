//! Real traffic and CI gates against the embedded server on 127.0.0.1: auth rotation, targets
//! and weights, data substitution, think time, --ok-status, retries, thresholds, evidence and
//! secrets.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use common::*;
use qpsbench::serve::ServeConfig;
use serde_json::Value;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn recording(header: &str) -> qpsbench::serve::ServerHandle {
    server_with(ServeConfig {
        threads: 2,
        record_header: Some(header.into()),
        ..ServeConfig::ephemeral()
    })
}

#[test]
fn auth_file_values_rotate_evenly() {
    let dir = tempfile::tempdir().unwrap();
    let auth = write(
        dir.path(),
        "tokens.csv",
        "token,owner\n\ntok-a,ann\ntok-b,bob\n\nBasic dXNlcjpwdw==,cy\ntok-d,dee\n",
    );
    let srv = recording("authorization");
    let r = run(&[
        "--url",
        &srv.url(),
        "-n",
        "400",
        "-c",
        "4",
        "--auth-file",
        s(&auth),
    ]);
    assert_eq!(r.total.requests, 400);
    let counts = srv.stats.header_counts();
    assert_eq!(counts.len(), 4, "{counts:?}");
    for v in [
        "Bearer tok-a",
        "Bearer tok-b",
        "Basic dXNlcjpwdw==",
        "Bearer tok-d",
    ] {
        assert_eq!(srv.stats.header_count(v), 100, "{v}: {counts:?}");
    }
}

#[test]
fn host_user_agent_and_accept_are_sent_once_each() {
    // qpsbench makes these three headers once per target (ureq would build them per request);
    // each must still reach the server exactly once per request, with ureq's values, and give
    // way to -H.
    let ua = format!("qpsbench/{}", env!("CARGO_PKG_VERSION"));
    for (header, default) in [
        ("host", None),
        ("user-agent", Some(ua.as_str())),
        ("accept", Some("*/*")),
    ] {
        let srv = recording(header);
        let host = srv.url().trim_start_matches("http://").to_string();
        let default = default.unwrap_or(&host);
        let given = format!("{header}: given-{header}");
        let templated = format!("{}/?n={{{{seq}}}}", srv.url());
        for (url, extra, want) in [
            (srv.url(), None, default.to_string()),
            (srv.url(), Some(given.as_str()), format!("given-{header}")),
            // A URL with placeholders: ureq adds Host per request.
            (templated, None, default.to_string()),
        ] {
            srv.stats.clear_header_counts();
            let mut args = vec!["--url", url.as_str(), "-n", "40", "-c", "2"];
            if let Some(h) = extra {
                args.extend(["-H", h]);
            }
            let r = run(&args);
            assert_eq!(r.total.ok, 40, "{args:?}");
            let counts = srv.stats.header_counts();
            assert_eq!(counts.len(), 1, "{header} {args:?}: {counts:?}");
            assert_eq!(srv.stats.header_count(&want), 40, "{args:?}: {counts:?}");
        }
    }
}

#[test]
fn weights_hold_and_each_target_gets_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server();
    let targets = write(
        dir.path(),
        "t.txt",
        &format!(
            "# three paths, weights 1:2:5\nGET {0}/status/200 name=light\n\n\
             GET /status/201 weight=2 name=medium\nAccept: text/plain\n\n\
             POST {0}/status/202 weight=5 name=heavy\nbody {{\"n\": {{{{seq}}}}}}\n",
            srv.url()
        ),
    );
    let r = run(&[
        "--url",
        &srv.url(),
        "--targets",
        s(&targets),
        "-n",
        "2400",
        "-c",
        "6",
    ]);
    let names: Vec<&str> = r.targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["light", "medium", "heavy"]);
    // Smooth weighted round-robin over a shared counter: exact.
    let got: Vec<u64> = r.targets.iter().map(|t| t.requests).collect();
    assert_eq!(got, [300, 600, 1500]);
    assert_eq!(r.targets[1].status_counts.get("201"), Some(&600));
    assert_eq!(r.targets[2].status_counts.get("202"), Some(&1500));
    assert_eq!(r.total.requests, 2400);
    // The header and the summary name the methods the entries send, not a GET of their own.
    assert_eq!(r.config.method, "GET, POST");
    let summary = qpsbench::output::summary::render(&r);
    assert!(summary.contains("Summary: GET, POST targets "), "{summary}");
    let header =
        qpsbench::output::live::header(&config(&["--url", &srv.url(), "--targets", s(&targets)]));
    assert!(
        header.contains(": GET, POST from --targets ") && header.contains("3 entries, weighted"),
        "{header}"
    );

    // Seeded random order: within a tolerance.
    let r = run(&[
        "--targets",
        s(&targets),
        "--url",
        &srv.url(),
        "--targets-order",
        "random",
        "--seed",
        "42",
        "-n",
        "4000",
        "-c",
        "4",
    ]);
    let share = |i: usize| r.targets[i].requests as f64 / 4000.0;
    for (i, want) in [(0, 0.125), (1, 0.25), (2, 0.625)] {
        assert!(
            (share(i) - want).abs() < 0.03,
            "target {i}: {} vs {want}",
            share(i)
        );
    }

    // Round-robin ignores weights.
    let r = run(&[
        "--targets",
        s(&targets),
        "--url",
        &srv.url(),
        "--targets-order",
        "round-robin",
        "-n",
        "300",
        "-c",
        "3",
    ]);
    let got: Vec<u64> = r.targets.iter().map(|t| t.requests).collect();
    assert_eq!(got, [100, 100, 100]);
}

/// With several targets and several stages, each stage has a row per target: the server's
/// status per path says which target each response came from, so a stage's per-target counts
/// must equal its counts of each status, and each target's stage rows add up to its run row.
#[test]
fn each_stage_has_a_row_per_target() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server();
    let targets = write(
        dir.path(),
        "t.txt",
        &format!(
            "GET {0}/status/200 name=first\n\nGET {0}/status/201 name=second\n",
            srv.url()
        ),
    );
    let r = run(&[
        "--url",
        &srv.url(),
        "--targets",
        s(&targets),
        "--ramp",
        "1,2",
        "--step",
        "1s",
        "--think-time",
        "10ms",
        "-n",
        "150",
        // Keeps each second's histograms (the library run writes no file).
        "--json",
        s(&dir.path().join("unused.json")),
    ]);
    // At most 100 in the first second's one user (10 ms apart), the rest in the second stage.
    assert_eq!(r.total.requests, 150);
    assert_eq!(srv.stats.requests.load(Ordering::SeqCst), 150);
    for stage in &r.stages {
        assert!(stage.requests > 0, "{}", stage.name);
        let names: Vec<&str> = stage.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["first", "second"], "{}", stage.name);
        for (t, code) in stage.targets.iter().zip(["200", "201"]) {
            assert_eq!(
                Some(&t.requests),
                stage.status_counts.get(code),
                "{} {}",
                stage.name,
                t.name
            );
            assert_eq!(t.status_counts.len(), 1);
        }
        assert_eq!(
            stage.targets.iter().map(|t| t.requests).sum::<u64>(),
            stage.requests
        );
    }
    for (i, t) in r.targets.iter().enumerate() {
        let by_stage: u64 = r.stages.iter().map(|s| s.targets[i].requests).sum();
        assert_eq!(by_stage, t.requests, "{}", t.name);
    }
    let summary = qpsbench::output::summary::render(&r);
    assert!(summary.contains("Targets in stage 2: 2 users"), "{summary}");
    assert_valid(
        &serde_json::to_value(&r).unwrap(),
        "a report with stage targets",
    );
    // Two runs merged (the same one, as if run on two machines at once): each stage's target
    // rows add up.
    let mut twin = r.clone();
    twin.started_at_unix_ms += 1;
    let merged = qpsbench::report::merge::merge(&[
        ("a.json".to_string(), r.clone()),
        ("b.json".to_string(), twin),
    ])
    .unwrap();
    for (m, one) in merged.stages.iter().zip(&r.stages) {
        let got: Vec<u64> = m.targets.iter().map(|t| t.requests).collect();
        let want: Vec<u64> = one.targets.iter().map(|t| t.requests * 2).collect();
        assert_eq!(got, want, "{}", m.name);
    }
    // One stage: the run's rows say it all.
    let r = run(&["--url", &srv.url(), "--targets", s(&targets), "-n", "20"]);
    assert!(r.stages.iter().all(|s| s.targets.is_empty()));
}

#[test]
fn data_rows_reach_the_server_in_turn() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(
        dir.path(),
        "d.csv",
        "id,code\nu1,200\nu2,404\n\"u,3\",200\n",
    );
    let srv = recording("x-id");
    let r = run(&[
        "--url",
        &format!("{}/status/{{{{code}}}}", srv.url()),
        "-H",
        "X-Id: {{id}}-{{user}}",
        "--data",
        s(&data),
        "-n",
        "300",
        "-c",
        "1",
    ]);
    assert_eq!(r.total.status_counts.get("200"), Some(&200));
    assert_eq!(r.total.status_counts.get("404"), Some(&100));
    assert_eq!(srv.stats.header_count("u1-0"), 100);
    assert_eq!(srv.stats.header_count("u2-0"), 100);
    assert_eq!(srv.stats.header_count("u,3-0"), 100);
}

/// Issue 13 (a regression of the port check): a port or a whole URL taken from `--data` is
/// checked as it will be sent (the first row), not as a stand-in `0`, and reaches the server.
#[test]
fn a_port_or_url_from_the_data_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server();
    let port = srv.addr.port();
    let ports = write(dir.path(), "p.csv", &format!("p\n{port}\n"));
    let r = run(&[
        "--url",
        "http://127.0.0.1:{{p}}/",
        "--data",
        s(&ports),
        "-n",
        "3",
        "-c",
        "1",
    ]);
    assert_eq!(r.total.ok, 3, "{:?}", r.total.failure_kinds);
    let urls = write(
        dir.path(),
        "u.csv",
        &format!("url\n{}/status/204\n", srv.url()),
    );
    let r = run(&["--url", "{{url}}", "--data", s(&urls), "-n", "3", "-c", "1"]);
    assert_eq!(r.total.status_counts.get("204"), Some(&3));
    assert_eq!(srv.stats.snapshot().requests, 6, "the server's own count");
}

#[test]
fn think_time_slows_a_user() {
    let srv = server();
    let fast = run(&["--url", &srv.url(), "-n", "6", "-c", "1"]);
    let slow = run(&[
        "--url",
        &srv.url(),
        "-n",
        "6",
        "-c",
        "1",
        "--think-time",
        "80ms..120ms",
    ]);
    assert_eq!(slow.total.requests, 6);
    // Five pauses of at least 80 ms separate six requests.
    assert!(slow.elapsed_s >= 0.4, "{}", slow.elapsed_s);
    assert!(
        fast.elapsed_s < slow.elapsed_s,
        "{} {}",
        fast.elapsed_s,
        slow.elapsed_s
    );
}

#[test]
fn ok_status_decides_what_is_an_error() {
    let srv = server();
    let url = format!("{}/status/404", srv.url());
    let r = run(&["--url", &url, "-n", "20", "-c", "2"]);
    assert_eq!((r.total.ok, r.total.errors), (0, 20));
    let r = run(&[
        "--url",
        &url,
        "-n",
        "20",
        "-c",
        "2",
        "--ok-status",
        "200-299,404",
    ]);
    assert_eq!((r.total.ok, r.total.errors), (20, 0));
    let url = format!("{}/status/302", srv.url());
    let r = run(&[
        "--url",
        &url,
        "-n",
        "10",
        "-c",
        "1",
        "--ok-status",
        "200-299",
    ]);
    assert_eq!((r.total.ok, r.total.errors), (0, 10));
}

#[test]
fn retries_recover_a_flaky_service_and_every_attempt_counts() {
    let srv = server();
    // Each logical request has its own key ({{seq}}): its first attempt gets 503, its second 200.
    let url = format!("{}/flaky/503?k={{{{seq}}}}", srv.url());
    let r = run(&[
        "--url",
        &url,
        "-n",
        "50",
        "-c",
        "5",
        "--retries",
        "2",
        "--retry-backoff",
        "20ms",
    ]);
    let rt = r.retries.as_ref().expect("a retries section");
    assert_eq!((rt.requests, rt.attempts, rt.retries), (50, 100, 50));
    assert_eq!((rt.ok, rt.errors, rt.failures), (50, 0, 0));
    assert_eq!(rt.retried_requests, 50);
    // The rows count attempts: half of them were 503.
    assert_eq!(r.total.requests, 100);
    assert_eq!(r.total.status_counts.get("503"), Some(&50));
    assert_eq!(srv.stats.requests.load(Ordering::SeqCst), 100);
    // A logical request's latency runs from its first send to its last byte, backoff included:
    // every one here waited at least the fixed half of its 20 ms backoff, which no single
    // attempt on loopback takes.
    assert!(rt.latency_ms.min >= 10.0, "{:?}", rt.latency_ms);

    // Off by default: the same service shows its errors.
    let srv = server();
    let url = format!("{}/flaky/503?k={{{{seq}}}}", srv.url());
    let r = run(&["--url", &url, "-n", "40", "-c", "4"]);
    assert!(r.retries.is_none());
    assert_eq!(r.total.errors, 40);

    // Retries give up after N and count the final outcome.
    let srv = server();
    let url = format!("{}/status/502", srv.url());
    let r = run(&[
        "--url",
        &url,
        "-n",
        "10",
        "-c",
        "2",
        "--retries",
        "3",
        "--retry-backoff",
        "1ms",
    ]);
    let rt = r.retries.unwrap();
    assert_eq!((rt.requests, rt.attempts, rt.errors), (10, 40, 10));
}

#[test]
fn retries_resend_the_same_key_as_their_first_attempt() {
    // Two API keys used in turn, a service that always answers 503, two retries: every
    // logical request is 3 attempts, and all of them must carry the request's one key (a
    // retry is the same request again, not the next one). Per-attempt rotation would give
    // counts of 11 and 10.
    let dir = tempfile::tempdir().unwrap();
    let keys = write(dir.path(), "keys.txt", "sk-one\nBearer sk-two\n");
    let srv = recording("authorization");
    let r = run(&[
        "--url",
        &format!("{}/status/503", srv.url()),
        "-n",
        "7",
        "-c",
        "2",
        "--api-key-file",
        s(&keys),
        "--retries",
        "2",
        "--retry-backoff",
        "1ms",
    ]);
    let rt = r.retries.as_ref().expect("a retries section");
    assert_eq!((rt.requests, rt.attempts), (7, 21));
    let counts = srv.stats.header_counts();
    let one = srv.stats.header_count("Bearer sk-one");
    let two = srv.stats.header_count("Bearer sk-two");
    assert_eq!(one + two, 21, "{counts:?}");
    assert_eq!(
        (one % 3, two % 3),
        (0, 0),
        "a retry changed key: {counts:?}"
    );
    // The logical requests still take the keys in turn.
    assert_eq!((one.max(two), one.min(two)), (12, 9), "{counts:?}");
}

#[test]
fn connection_failures_are_retried() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let r = run(&[
        "--url",
        &url,
        "-n",
        "5",
        "-c",
        "1",
        "--retries",
        "1",
        "--retry-backoff",
        "1ms",
    ]);
    let rt = r.retries.unwrap();
    assert_eq!((rt.requests, rt.attempts, rt.failures), (5, 10, 5));
    assert_eq!(r.total.failure_kinds.get("connect"), Some(&10));
}

#[test]
fn evidence_keeps_the_first_few_of_each_kind() {
    let srv = server();
    let r = run(&[
        "--url",
        &format!("{}/mix/200,500,503", srv.url()),
        "-n",
        "60",
        "-c",
        "3",
    ]);
    let kinds: Vec<String> = r.evidence.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "status 500").count(), 3);
    assert_eq!(kinds.iter().filter(|k| *k == "status 503").count(), 3);
    assert_eq!(kinds.len(), 6, "{kinds:?}");
    let e = &r.evidence[0];
    assert!(e.body.contains("500"), "{e:?}");
    assert!(
        e.headers.iter().any(|h| h.starts_with("content-type")),
        "{e:?}"
    );
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let r = run(&["--url", &url, "-n", "10", "-c", "1"]);
    assert_eq!(r.evidence.len(), 3);
    assert_eq!(r.evidence[0].failure.as_deref(), Some("connect"));
    assert!(r.evidence[0].error.is_some());
}

#[test]
fn thresholds_pass_fail_and_set_the_exit_code() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let url = format!("{}/mix/200,200,200,500", srv.url());
    let (code, out, err) = qps(&[
        "--url",
        &url,
        "-n",
        "200",
        "-c",
        "2",
        "-q",
        "--fail-on",
        "p99<10s,error-rate<30%,qps>1,stage=1:max<60s",
        "--json",
        s(&json),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("Thresholds (--fail-on): 4 passed, 0 failed"),
        "{out}"
    );
    assert!(
        out.contains("error-rate<30%: passed (measured 25.000%)"),
        "{out}"
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let t = v["thresholds"].as_array().unwrap();
    assert_eq!(t.len(), 4);
    assert_eq!(t[1]["metric"], "error-rate");
    assert_eq!(t[1]["passed"], true);
    assert!((t[1]["measured"].as_f64().unwrap() - 0.25).abs() < 1e-9);

    let (code, out, _) = qps(&[
        "--url",
        &url,
        "-n",
        "100",
        "-c",
        "2",
        "-q",
        "--fail-on",
        "p50<1us,error-rate<1%,failure-rate<0.1%",
        "--json",
        s(&json),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("Thresholds (--fail-on): 1 passed, 2 failed"),
        "{out}"
    );
    assert!(out.contains("p50<1us: FAILED (measured"), "{out}");
    assert!(
        out.contains("error-rate<1%: FAILED (measured 25.000%)"),
        "{out}"
    );
    assert!(out.contains("failure-rate<0.1%: passed"), "{out}");
    let v: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["thresholds"][0]["passed"], false);

    // A malformed expression fails before any request is sent.
    let before = srv.stats.requests.load(Ordering::SeqCst);
    let (code, _, err) = qps(&["--url", &url, "-n", "5", "--fail-on", "p99<300ms,p42>1"]);
    assert_eq!(code, 2);
    assert!(err.contains("--fail-on 'p42>1': unknown metric"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(srv.stats.requests.load(Ordering::SeqCst), before);
}

#[test]
fn malformed_files_give_line_numbers_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let srv = server();
    let url = srv.url();
    let targets_bad = write(
        d,
        "t1.txt",
        "GET http://127.0.0.1:1/\nAccept: x\nnot a header\n",
    );
    let targets_weight = write(d, "t2.txt", "# c\n\nGET http://127.0.0.1:1/ weight=zero\n");
    let targets_method = write(d, "t3.txt", "GET http://127.0.0.1:1/\n\nGE@T http://h/\n");
    let targets_col = write(d, "t4.txt", "GET http://127.0.0.1:1/{{nope}}\n");
    let data_short = write(d, "d1.csv", "id,name\n1,a\n2\n");
    let data_quote = write(d, "d2.csv", "id\n1\n\"2\n");
    let good_data = write(d, "d3.csv", "id\n1\n");
    let auth_empty = write(d, "a.txt", "token\n\n");
    let bad_col_url = format!("{url}/{{{{idd}}}}");
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--targets", s(&targets_bad)],
            format!("--targets {}:3: not a header", s(&targets_bad)),
        ),
        (
            vec!["--targets", s(&targets_weight)],
            format!("--targets {}:3: weight=zero", s(&targets_weight)),
        ),
        (
            vec!["--targets", s(&targets_method)],
            format!(
                "--targets {}:3: expected a request line",
                s(&targets_method)
            ),
        ),
        (
            vec!["--targets", s(&targets_col)],
            format!(
                "--targets {}:1: {{{{nope}}}} names nothing known",
                s(&targets_col)
            ),
        ),
        (
            vec!["--url", &url, "--data", s(&data_short)],
            format!("--data {}:3: 1 fields", s(&data_short)),
        ),
        (
            vec!["--url", &url, "--data", s(&data_quote)],
            format!(
                "--data {}:3: a quoted field is never closed",
                s(&data_quote)
            ),
        ),
        (
            vec!["--url", &bad_col_url, "--data", s(&good_data)],
            "--url: {{idd}} names nothing known: --data columns are id".to_string(),
        ),
        (
            vec!["--url", &url, "--auth-file", s(&auth_empty)],
            "no values in the file".to_string(),
        ),
        (
            vec!["--url", &url, "--ok-status", "2xx"],
            "--ok-status".to_string(),
        ),
        (
            vec!["--url", &url, "--think-time", "2s..1s"],
            "goes down".to_string(),
        ),
    ];
    for (args, want) in cases {
        let (code, out, err) = qps(&args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(&want), "{args:?}: '{err}' lacks '{want}'");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
    assert_eq!(srv.stats.requests.load(Ordering::SeqCst), 0);
}

#[test]
fn secrets_appear_in_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let srv = server();
    let auth = write(
        d,
        "auth.txt",
        "authorization\nSECRET-AUTH-1111\nSECRET-AUTH-2222\n",
    );
    let targets = write(
        d,
        "t.txt",
        &format!(
            "GET {0}/status/500?api_key=SECRET-QUERY-3333&page=1\nX-Session: SECRET-TARGET-4444\n\n\
             POST {0}/status/503 weight=2\nCookie: sid=SECRET-COOKIE-5555\nbody hello\n",
            srv.url()
        ),
    );
    let json = d.join("r.json");
    let csv = d.join("r.csv");
    let html = d.join("r.html");
    let samples = d.join("samples.csv");
    let (code, out, err) = qps(&[
        "--url",
        &srv.url(),
        "--samples",
        s(&samples),
        "--targets",
        s(&targets),
        "-H",
        "X-Api-Key: SECRET-HEADER-6666",
        "-H",
        "X-Custom: SECRET-REDACT-7777",
        "--redact",
        "x-custom",
        "--redact",
        "api_key",
        "--auth-file",
        s(&auth),
        "-n",
        "60",
        "-c",
        "2",
        "--json",
        s(&json),
        "--csv",
        s(&csv),
        "--html",
        s(&html),
    ]);
    assert_eq!(code, 0, "{err}");
    let files = [&json, &csv, &html, &samples].map(|p| std::fs::read_to_string(p).unwrap());
    for (name, text) in [
        ("stdout", &out),
        ("stderr", &err),
        ("json", &files[0]),
        ("csv", &files[1]),
        ("html", &files[2]),
        ("samples", &files[3]),
    ] {
        assert!(!text.contains("SECRET"), "{name} leaks a secret:\n{text}");
    }
    // Every request is a line of the samples, its target masked as in the reports.
    assert_eq!(files[3].lines().count(), 1 + 60);
    assert!(files[3].contains("api_key=***&page=1"), "{}", files[3]);
    // The evidence is there, masked.
    let v: Value = serde_json::from_str(&files[0]).unwrap();
    let evidence = v["evidence"].as_array().unwrap();
    assert_eq!(evidence.len(), 6);
    assert!(
        evidence
            .iter()
            .any(|e| e["url"].as_str().unwrap().contains("api_key=***&page=1")),
        "{evidence:?}"
    );
    assert_eq!(v["targets"].as_array().unwrap().len(), 2);
    assert!(out.contains("Evidence (first 3"), "{out}");
    assert!(files[2].contains("id=\"evidence\""));
}

#[test]
fn secret_looking_query_parameters_are_masked_without_redact() {
    // Issue 13, item 17: `?api_key=X` was shown in clear unless `--redact api_key` was given,
    // while a header named X-Api-Key was masked by default. The same name rules now apply.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let srv = server();
    let targets = write(
        d,
        "t.txt",
        &format!(
            "GET {0}/status/500?api_key=SECRET-Q-1111&page=1\n\n\
             GET {0}/status/200?session_id=SECRET-Q-2222&Signature=SECRET-Q-3333\n",
            srv.url()
        ),
    );
    let json = d.join("r.json");
    let html = d.join("r.html");
    let csv = d.join("r.csv");
    let samples = d.join("samples.jsonl");
    let url = format!("{}/status/503?access_token=SECRET-Q-4444&page=2", srv.url());
    for args in [
        vec!["--targets", s(&targets), "-n", "20"],
        vec!["--url", &url, "-n", "10"],
    ] {
        let mut all = args.clone();
        all.extend([
            "-c",
            "2",
            "--json",
            s(&json),
            "--html",
            s(&html),
            "--csv",
            s(&csv),
            "--samples",
            s(&samples),
        ]);
        let (code, out, err) = qps(&all);
        assert_eq!(code, 0, "{err}");
        let files = [&json, &csv, &html, &samples].map(|p| std::fs::read_to_string(p).unwrap());
        for (name, text) in [
            ("stdout", &out),
            ("stderr", &err),
            ("json", &files[0]),
            ("csv", &files[1]),
            ("html", &files[2]),
            ("samples", &files[3]),
        ] {
            assert!(!text.contains("SECRET"), "{name} leaks a secret:\n{text}");
        }
        assert!(
            files[0].contains("=***") && files[3].contains("=***"),
            "the masked parameter is shown masked"
        );
    }
}

#[test]
fn relative_targets_need_a_base_url() {
    let dir = tempfile::tempdir().unwrap();
    let t = write(dir.path(), "t.txt", "GET /status/200\n");
    let (code, _, err) = qps(&["--targets", s(&t)]);
    assert_eq!(code, 2);
    assert!(err.contains(":1: '/status/200' is relative"), "{err}");
    let (code, _, err) = qps(&[
        "--url",
        "http://127.0.0.1:1/",
        "-d",
        "x",
        "--targets",
        s(&t),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("-d does not go with --targets"), "{err}");
}

#[test]
fn reports_with_every_traffic_section_match_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server();
    let targets = write(
        dir.path(),
        "t.txt",
        "GET /flaky/503?k={{seq}} name=flaky\n\nGET /status/404 name=missing\n",
    );
    let json = dir.path().join("r.json");
    let merged = dir.path().join("m.json");
    let (code, out, err) = qps(&[
        "--url",
        &srv.url(),
        "--targets",
        s(&targets),
        "--retries",
        "1",
        "--retry-backoff",
        "1ms",
        "--think-time",
        "0..1ms",
        // p99 under a minute passes; the error rate fails: of 60 attempts, 20 are the flaky
        // target's first (503) and 20 the missing target's (404).
        "--fail-on",
        "p99<60s,error-rate<50%",
        "-n",
        "40",
        "-c",
        "2",
        "-q",
        "--json",
        s(&json),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let text = std::fs::read_to_string(&json).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["thresholds"][0]["passed"], true, "{}", v["thresholds"]);
    assert_eq!(v["thresholds"][1]["passed"], false, "{}", v["thresholds"]);
    assert_eq!(v["total"]["requests"], 60);
    assert_eq!(v["total"]["errors"], 40);
    assert_valid(&v, "report with every traffic section");
    for key in ["targets", "retries", "thresholds", "evidence"] {
        assert!(v.get(key).is_some(), "no {key}");
    }
    assert_eq!(v["config"]["traffic"]["targets"][1]["name"], "missing");
    // Saved reports read back and merge, target rows included: with the same run as measured
    // by a second machine that started a millisecond later (one run twice is refused).
    let mut twin = v.clone();
    twin["started_at_unix_ms"] = (v["started_at_unix_ms"].as_u64().unwrap() + 1).into();
    let twin_path = json.with_file_name("twin.json");
    std::fs::write(&twin_path, twin.to_string()).unwrap();
    let (code, _, err) = qps(&["merge", s(&json), s(&twin_path), "--json", s(&merged)]);
    assert_eq!(code, 0, "{err}");
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&merged).unwrap()).unwrap();
    assert_eq!(
        m["targets"][0]["requests"].as_u64().unwrap(),
        2 * v["targets"][0]["requests"].as_u64().unwrap()
    );
}
