//! Checks on what came back (`--expect-status`, `--expect-body`, `--expect-json`) and per-user
//! cookie jars (`--cookies`), judged against what a raw loopback server sent and received
//! (tests/common/fault.rs). Every run is bounded by a request count.

mod common;
#[path = "common/fault.rs"]
mod fault;

use std::collections::BTreeMap;

use common::{assert_valid, qps, run};
use fault::{FaultServer, Mode};
use serde_json::Value;

const GOOD: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 38\r\n\r\n{\"data\":{\"status\":\"ok\",\"items\":[1,2]}}";
const ERROR_PAGE: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 41\r\n\r\n{\"data\":{\"status\":\"error\",\"items\":[1,2]}}";
const SERVER_ERROR: &str = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops";

/// How many requests the server answered with its second response (`Mode::Alternate`: the
/// 2nd, 4th ... request of each connection): the independent count of what should fail.
fn second_answers(srv: &FaultServer) -> u64 {
    let mut per_conn: BTreeMap<u64, u64> = BTreeMap::new();
    for r in srv.received() {
        *per_conn.entry(r.conn).or_default() += 1;
    }
    per_conn.values().map(|n| n / 2).sum()
}

#[test]
fn a_200_carrying_an_error_fails_the_json_check_and_keeps_evidence() {
    let srv = FaultServer::start(Mode::Alternate(GOOD, ERROR_PAGE));
    let r = run(&[
        "--url",
        &format!("{}/", srv.url()),
        "-n",
        "61",
        "-c",
        "3",
        "--expect-json",
        "data.status=ok",
    ]);
    let bad = second_answers(&srv);
    assert!(bad >= 25, "the server alternated: {bad} error pages");
    let t = &r.total;
    assert_eq!(t.requests, 61);
    assert_eq!(t.check_failures, bad, "{t:?}");
    assert_eq!(t.ok, 61 - bad);
    assert_eq!((t.errors, t.failures), (0, 0));
    assert_eq!(t.status_counts.get("200"), Some(&61));
    // Each second and stage row counts the same.
    let per_second: u64 = r.seconds.iter().map(|s| s.check_failures).sum();
    assert_eq!(per_second, bad);
    assert_eq!(r.stages[0].check_failures, bad);
    // The first three as evidence, with why and the body that failed.
    let checks: Vec<_> = r.evidence.iter().filter(|e| e.kind() == "check").collect();
    assert_eq!(checks.len(), 3, "{:?}", r.evidence);
    for e in checks {
        assert_eq!(
            e.check.as_deref(),
            Some(r#"data.status is "error", expected ok"#)
        );
        assert!(e.body.contains("\"error\""), "{e:?}");
        assert_eq!(e.status, Some(200));
        assert!(
            e.headers.iter().any(|h| h.starts_with("content-type")),
            "{e:?}"
        );
    }
}

#[test]
fn body_and_status_checks_count_apart_from_http_errors() {
    // --expect-body: the text must be in the body.
    let srv = FaultServer::start(Mode::Alternate(GOOD, ERROR_PAGE));
    let r = run(&[
        "--url",
        &format!("{}/", srv.url()),
        "-n",
        "40",
        "-c",
        "2",
        "--expect-body",
        "\"status\":\"ok\"",
    ]);
    assert_eq!(r.total.check_failures, second_answers(&srv));
    assert_eq!(r.total.ok + r.total.check_failures, 40);

    // A 500 is an HTTP error, not also a check failure; a 200 outside --expect-status is one.
    let srv = FaultServer::start(Mode::Alternate(GOOD, SERVER_ERROR));
    let r = run(&[
        "--url",
        &format!("{}/", srv.url()),
        "-n",
        "40",
        "-c",
        "2",
        "--expect-status",
        "201",
    ]);
    let errors = second_answers(&srv);
    assert_eq!(r.total.errors, errors);
    assert_eq!(r.total.check_failures, 40 - errors);
    assert_eq!(r.total.ok, 0);
    let e = r.evidence.iter().find(|e| e.kind() == "check").unwrap();
    assert_eq!(
        e.check.as_deref(),
        Some("status 200 is not in --expect-status 201")
    );

    // Without checks, the same error pages pass as ok.
    let srv = FaultServer::start(Mode::Alternate(GOOD, ERROR_PAGE));
    let r = run(&["--url", &format!("{}/", srv.url()), "-n", "20", "-c", "2"]);
    assert_eq!((r.total.ok, r.total.check_failures), (20, 0));
}

#[test]
fn check_failures_are_in_every_output_and_gate_the_exit_code() {
    let srv = FaultServer::start(Mode::Alternate(GOOD, ERROR_PAGE));
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let csv = dir.path().join("r.csv");
    let html = dir.path().join("r.html");
    let (code, out, err) = qps(&[
        "--url",
        &format!("{}/", srv.url()),
        "-n",
        "30",
        "-c",
        "1",
        "-q",
        "--expect-json",
        "data.items.1=2",
        "--expect-json",
        "data.status=ok",
        "--fail-on",
        "check-failure-rate<10%",
        "--json",
        json.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    // One user on one connection: every second response failed, 15 of 30.
    assert_eq!(second_answers(&srv), 15);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("(15 ok, 0 HTTP errors, 0 failures, 15 check failures)"),
        "{out}"
    );
    assert!(
        out.contains("Checks:         json data.items.1 = 2; json data.status = ok: 15 of 30 requests failed a check (50.00%)"),
        "{out}"
    );
    assert!(out.contains("check-failure-rate<10%: FAILED"), "{out}");
    assert!(out.contains("[check]"), "{out}");
    let v: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_valid(&v, "a report with checks");
    assert_eq!(v["total"]["check_failures"], 15);
    assert_eq!(v["config"]["traffic"]["checks"][1], "json data.status = ok");
    let text = std::fs::read_to_string(&csv).unwrap();
    let head: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let col = head.iter().position(|c| *c == "check_failures").unwrap();
    let total = text.lines().find(|l| l.starts_with("total,")).unwrap();
    assert_eq!(total.split(',').nth(col), Some("15"));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("15 of 30 requests failed a check"));
    assert!(
        page.contains("check: data.status is &quot;error&quot;, expected ok"),
        "the reason in the HTML evidence"
    );
}

/// `--cookies`: every request after a connection's first carries exactly the cookie the
/// server set on that connection's previous response (each user has its own connection, and
/// each response sets a value no other response sets); without `--cookies`, none is sent.
#[test]
fn cookies_set_by_the_server_come_back_from_the_same_user_only() {
    let srv = FaultServer::start(Mode::SetCookie);
    let r = run(&[
        "--url",
        &format!("{}/", srv.url()),
        "-n",
        "80",
        "-c",
        "4",
        "--cookies",
    ]);
    assert_eq!(r.total.ok, 80);
    let received = srv.received();
    assert_eq!(received.len(), 80);
    let mut nth: BTreeMap<u64, u64> = BTreeMap::new();
    let mut checked = 0;
    for req in &received {
        let n = nth.entry(req.conn).or_default();
        let expected = (*n > 0).then(|| format!("sid={}.{}", req.conn, *n - 1));
        assert_eq!(
            req.header("cookie").map(str::to_string),
            expected,
            "request {n} of connection {}",
            req.conn
        );
        checked += usize::from(*n > 0);
        *n += 1;
    }
    assert!(nth.len() >= 2, "several users, each on its own connection");
    assert!(checked >= 70);
    assert!(r.config.traffic.as_ref().unwrap().cookies);

    let srv = FaultServer::start(Mode::SetCookie);
    run(&["--url", &format!("{}/", srv.url()), "-n", "10", "-c", "2"]);
    assert!(srv.received().iter().all(|r| r.header("cookie").is_none()));

    // A Cookie of the request itself (-H) and the jar's go in one header.
    let srv = FaultServer::start(Mode::SetCookie);
    run(&[
        "--url",
        &format!("{}/", srv.url()),
        "-n",
        "10",
        "-c",
        "1",
        "--cookies",
        "-H",
        "Cookie: extra=1",
    ]);
    for (n, req) in srv.received().iter().enumerate() {
        let lines = req
            .head
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("cookie:"))
            .count();
        assert_eq!(lines, 1, "{}", req.head);
        let want = match n {
            0 => "extra=1".to_string(),
            n => format!("extra=1; sid={}.{}", req.conn, n - 1),
        };
        assert_eq!(req.header("cookie"), Some(want.as_str()));
    }
}

/// An event stream is judged by its events: body and JSON checks do not read it, and the
/// summary says so instead of reporting them as passed.
#[test]
fn body_checks_say_they_do_not_read_event_streams() {
    let srv = common::server();
    let url = format!("{}/v1/chat/completions", srv.url());
    let (code, out, err) = qps(&[
        "--url",
        &url,
        "--openai",
        "m",
        "-c",
        "2",
        "-n",
        "6",
        "-q",
        "--expect-body",
        "ZZZ",
        "--expect-status",
        "200",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "0 of 6 requests failed a check (0.00%); 6 event streams were judged by status only"
        ),
        "{out}"
    );
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    let (code, _, err) = qps(&[
        "--url",
        &url,
        "--openai",
        "m",
        "-n",
        "4",
        "-q",
        "--expect-body",
        "ZZZ",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("4 event streams were judged by status only"));
}
