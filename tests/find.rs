//! `qpsbench find` against the embedded target, whose capacity is known by hand: N users over
//! a 20 ms delay cannot exceed N / 20 ms requests per second. Every search is bounded by `--to`
//! and steps of 1 s.

mod common;
#[path = "common/fault.rs"]
mod fault;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{assert_valid_find, closed_port, find_one_step, qps};
use fault::{FaultServer, Mode};
use serde_json::Value;

fn slow_server() -> qpsbench::serve::ServerHandle {
    common::slow_server(Duration::from_millis(20))
}

#[test]
fn by_rate_the_capacity_step_passes_and_the_next_fails() {
    let srv = slow_server();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("find.json");
    let html = dir.path().join("find.html");
    let (code, out, err) = qps(&[
        "find",
        "--url",
        &format!("{}/", srv.url()),
        "--slo",
        "p99<2s,error-rate<1%",
        "--users",
        "5",
        "--from",
        "50",
        "--to",
        "1000",
        "--step",
        "1s",
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let v: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let c = &v["capacity"];
    let steps = c["steps"].as_array().unwrap();
    let max = c["max_rps"].as_f64().unwrap();
    let fail = &c["first_failing"];
    let fail_at = fail["target_rps"].as_f64().unwrap();
    // 5 users over 20 ms: at most 250 req/s, so no target above 250 / 0.95 can pass; and up to
    // 150 req/s (60% of it) every step passes.
    assert!((150.0..=263.2).contains(&max), "{max}\n{out}");
    assert!(
        fail_at > max && fail_at <= max * 1.05 + 1.0,
        "{max} {fail_at}"
    );
    assert_eq!(fail["passed"], false);
    assert!(
        fail["failed"][0].as_str().unwrap().contains("< 95% of"),
        "{fail}"
    );
    let passing = steps
        .iter()
        .find(|s| s["target_rps"].as_f64() == Some(max))
        .unwrap();
    assert_eq!(passing["passed"], true);
    // Steps ran at the rates the search chose: up by doubling, then between pass and fail.
    let targets: Vec<f64> = steps
        .iter()
        .map(|s| s["target_rps"].as_f64().unwrap())
        .collect();
    assert_eq!(&targets[..4], &[50.0, 100.0, 200.0, 400.0], "{targets:?}");
    // The server's own count: every request of every step, plus at most the users in flight at
    // each step's end.
    let sent: u64 = steps.iter().map(|s| s["requests"].as_u64().unwrap()).sum();
    let served = srv.stats.requests.load(Ordering::SeqCst);
    assert!(
        served >= sent && served <= sent + 5 * steps.len() as u64,
        "server {served}, steps {sent}"
    );
    assert_valid_find(&v);
    // The answer line, and the table sorted by load.
    assert!(
        out.contains(&format!(
            "Capacity: holds {} req/s (5 users",
            qpsbench::parse::format_rate(max)
        )),
        "{out}"
    );
    assert!(out.contains(&format!(
        "fails at {} req/s",
        qpsbench::parse::format_rate(fail_at)
    )));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("id=\"capacity\"") && page.contains("\"name\":\"SLO p99\\u003c2s\""),
        "{page}"
    );
    assert!(page.contains("holds "));
}

#[test]
fn by_users_the_knee_is_one_user_apart() {
    let srv = slow_server();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("find.json");
    let (code, out, err) = qps(&[
        "find",
        "--url",
        &format!("{}/", srv.url()),
        "--by",
        "users",
        "--slo",
        "qps<270",
        "--from",
        "1",
        "--to",
        "32",
        "--step",
        "1s",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let v: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let c = &v["capacity"];
    let max = c["max_users"].as_u64().unwrap();
    // 5 users over 20 ms cannot reach 270 req/s: they always pass.
    assert!(max >= 5, "{out}");
    let fail = &c["first_failing"];
    assert_eq!(fail["users"].as_u64(), Some(max + 1), "{out}");
    assert!(fail["achieved_responses_per_s"].as_f64().unwrap() >= 270.0);
    assert!(
        out.contains(&format!("Capacity: holds {max} users")),
        "{out}"
    );
}

/// A service that answers one request at a time, 50 ms each (20/s), cannot hold 50/s however
/// many users wait on it: 200 users take every slot, so none is unsent and most are in flight
/// when the step ends. Constant arrivals are judged against the target; random ones against
/// the slots their schedule offered, which count the requests in flight (a new user's check
/// found random steps passing when the offered slots left those out).
#[test]
fn a_service_short_of_the_rate_fails_with_constant_and_random_arrivals() {
    for arrival in ["constant", "poisson"] {
        // A server of its own: the other search leaves it a backlog to serve.
        let srv = FaultServer::start(Mode::OneAtATime {
            each: Duration::from_millis(50),
        });
        let url = format!("{}/", srv.url());
        let (code, out, err) = find_one_step(
            &url,
            "p99<5s",
            "50",
            "2s",
            &["-c", "200", "--arrival", arrival, "--seed", "4"],
        );
        assert_eq!(code, 1, "{arrival}: {out}\n{err}");
        let row = out
            .lines()
            .find(|l| l.trim_start().starts_with("1 "))
            .unwrap();
        let want = if arrival == "constant" {
            "< 95% of 50"
        } else {
            "its random schedule offered"
        };
        assert!(
            row.contains("FAIL: achieved") && row.contains(want),
            "{arrival}: {row}"
        );
    }
}

/// Requests still in flight when a step ends count against it. A service with a 1 s latency
/// that keeps up with 40/s (60 users hold 60/s) answers only the slots of a 4 s step's first
/// 3 s: short, and the step says why (its mean latency is 25% of the step: a longer --step).
/// Past what the users hold (100/s), the step is short and says its users were all busy. With
/// a 20 ms latency a 2 s step passes at the same rate.
#[test]
fn a_step_short_against_its_latency_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("find.json").to_str().unwrap().to_string();
    let step_of = |url: &str, rate: &str, step: &str, code_want: i32| -> (Value, String) {
        let (code, out, err) =
            find_one_step(url, "p99<5s", rate, step, &["-c", "60", "--json", &json]);
        assert_eq!(code, code_want, "{out}\n{err}");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        (v["capacity"]["steps"][0].clone(), out)
    };
    let slow = common::slow_server(Duration::from_secs(1));
    let url = format!("{}/", slow.url());
    let (step, out) = step_of(&url, "40", "4s", 1);
    assert_eq!(step["short_of_target"], true, "{step}");
    assert!(out.contains("its mean latency is 25% of the step"), "{out}");
    assert!(out.contains("try a --step of 20x the latency"), "{out}");
    let (step, out) = step_of(&url, "100", "3s", 1);
    assert_eq!(step["short_of_target"], true, "{step}");
    assert_eq!(step["users_busy"], true, "{step}");
    assert!(out.contains("its mean latency is 33% of the step"), "{out}");
    let quick = common::slow_server(Duration::from_millis(20));
    let (step, _) = step_of(&format!("{}/", quick.url()), "40", "2s", 0);
    assert_eq!(step["short_of_target"], false, "{step}");
}

#[test]
fn a_first_step_that_fails_exits_1_and_bad_flags_exit_2() {
    let srv = slow_server();
    let url = format!("{}/", srv.url());
    let (code, out, err) = qps(&[
        "find", "--url", &url, "--slo", "p99<1ms", "--from", "20", "--step", "1s",
    ]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("Capacity: no step passed the SLO; fails at 20 req/s: p99"),
        "{out}"
    );
    // A service that refuses every connection holds nothing: refused connections are not
    // throughput, and client failures fail a step unless the SLO allows some.
    let dead = format!("http://127.0.0.1:{}/", closed_port());
    let (code, out, err) = qps(&[
        "find",
        "--url",
        &dead,
        "--slo",
        "p99<50ms,error-rate<1%",
        "--from",
        "50",
        "--step",
        "1s",
    ]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("no step passed the SLO; fails at 50 req/s: "),
        "{out}"
    );
    assert!(out.contains("client failures (connect: "), "{out}");
    // Responses that fail the run's own check are wrong answers: they fail the step unless
    // the SLO allows some (the target answers "ok" to every request; the test's 20/s x 1 s
    // step is 20 responses, counted by the server).
    let before = srv.stats.requests.load(Ordering::SeqCst);
    let (code, out, err) = find_one_step(
        &url,
        "p99<1s",
        "20",
        "1s",
        &["--expect-body", "NOT-IN-THE-BODY"],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    let sent = srv.stats.requests.load(Ordering::SeqCst) - before;
    assert!(
        out.contains(&format!("{sent} responses failed a check")),
        "{sent}: {out}"
    );
    let (code, out, err) = find_one_step(
        &url,
        "p99<1s,check-failure-rate<=100%",
        "20",
        "1s",
        &["--expect-body", "NOT-IN-THE-BODY"],
    );
    assert_eq!(code, 0, "the SLO allows them: {out}\n{err}");
    // `--json -`: the JSON alone on stdout, the table on stderr.
    let (code, out, err) = find_one_step(&url, "p99<1s", "20", "1s", &["--json", "-"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("stdout is the JSON alone");
    assert_eq!(v["capacity"]["max_rps"], 20.0);
    assert!(err.contains("Capacity: holds 20 req/s"), "{err}");
    let before = srv.stats.requests.load(Ordering::SeqCst);
    for (args, words) in [
        (
            vec!["--slo", "p99<300ms", "--rps", "10"],
            "--rps does not go with find",
        ),
        (vec!["--slo", "p99<<3"], "--slo"),
        (
            vec!["--slo", "p99<1s", "--from", "100", "--to", "10"],
            "--to 10 is below --from 100",
        ),
        (
            vec!["--slo", "p99<1s", "--by", "users", "--from", "1.5"],
            "whole number of users",
        ),
        (
            vec!["--slo", "p99<1s", "--csv", "x.csv"],
            "--csv does not go with find",
        ),
        (
            vec!["--slo", "p99<1s", "--fail-on", "p99<1s"],
            "give the SLO with --slo",
        ),
    ] {
        let mut argv = vec!["find", "--url", &url];
        argv.extend(args);
        let (code, out, err) = qps(&argv);
        assert_eq!(code, 2, "{argv:?}\n{out}\n{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: ") && err.contains(words), "{err}");
    }
    assert_eq!(
        srv.stats.requests.load(Ordering::SeqCst),
        before,
        "no request sent"
    );
}
