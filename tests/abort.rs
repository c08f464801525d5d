//! `--abort-on`: a soak stops once its service has clearly failed. The witness of when the
//! service began to fail is the test's own clock (the fault server fails from a set instant);
//! the witness of when the run stopped is the report's start and length, checked against the
//! wall clock around the process. Traffic stays on 127.0.0.1.

mod common;
#[path = "common/fault.rs"]
mod fault;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use fault::{FaultServer, Mode};

const FAILING: &str = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown";

fn unix_ms(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64() * 1e3
}

/// A target that answers 200 for 3 s and 503 from then on; `--abort-on 'error-rate>50%'` over
/// a 2 s window stops a 30 s run within the window plus one second of the first 503, exits 1
/// naming the threshold, and writes complete reports.
#[test]
fn abort_on_stops_a_run_whose_service_starts_failing() {
    let after = Duration::from_secs(3);
    let onset = SystemTime::now() + after;
    let srv = FaultServer::start(Mode::FailAfter {
        after,
        response: FAILING,
    });
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let html = dir.path().join("r.html");
    let csv = dir.path().join("r.csv");
    let (code, out, err) = qps(&[
        "--url",
        &srv.url(),
        "--users",
        "2",
        "--rps",
        "100",
        "--duration",
        "30s",
        "--abort-on",
        "p99>5s,error-rate>50%",
        "--abort-window",
        "2s",
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("ABORTED by --abort-on: error-rate>50% held over seconds "),
        "{out}"
    );
    // And on stderr, where the live lines stopped.
    assert!(
        err.contains("aborted by --abort-on: error-rate>50% held over seconds "),
        "{err}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_valid(&v, "aborted run");
    assert_eq!(v["aborted"]["threshold"], "error-rate>50%");
    assert_eq!(v["aborted"]["window_s"], 2);
    assert!(v["aborted"]["measured"].as_f64().unwrap() > 0.5);
    assert_eq!(v["interrupted"], false);
    // The CSV says on every row that the run was cut short, in its last column.
    let table = std::fs::read_to_string(&csv).unwrap();
    let mut lines = table.lines();
    assert!(lines.next().unwrap().ends_with(",status"), "{table}");
    assert!(lines.all(|l| l.ends_with(",aborted")), "{table}");
    // Stopped within the window plus one second of the first failure.
    let stop_ms =
        v["started_at_unix_ms"].as_f64().unwrap() + v["elapsed_s"].as_f64().unwrap() * 1e3;
    let late_ms = stop_ms - unix_ms(onset);
    assert!(
        (0.0..=3_000.0).contains(&late_ms),
        "stopped {late_ms:.0} ms after the service began to fail (window 2 s + 1 s)"
    );
    // Every request the server saw is in the report: nothing lost by stopping early.
    let done = v["total"]["requests"].as_u64().unwrap();
    let in_flight = v["in_flight_at_end"].as_u64().unwrap();
    let seen = srv.requests();
    assert!(
        (done..=done + in_flight).contains(&seen),
        "server saw {seen}, report {done} + {in_flight} in flight"
    );
    assert!(v["total"]["status_counts"]["503"].as_u64().unwrap() > 0);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("Stopped early by --abort-on: error-rate&gt;50%"),
        "html"
    );
}

/// The same thresholds against a healthy target: the run goes its full length, exit 0.
#[test]
fn abort_on_leaves_a_healthy_run_alone() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let (code, out, err) = qps(&[
        "--url",
        &srv.url(),
        "--users",
        "2",
        "--rps",
        "100",
        "--duration",
        "4s",
        "--abort-on",
        "error-rate>50%,p99>5s",
        "--abort-window",
        "2s",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("ABORTED"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(v.get("aborted").is_none());
    assert!(v["elapsed_s"].as_f64().unwrap() >= 4.0);
}
