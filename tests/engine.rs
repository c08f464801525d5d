//! Behaviour of the load engine against the embedded server on 127.0.0.1.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn requests_sends_exactly_that_many() {
    let srv = server();
    let url = srv.url();
    let r = run(&["--url", &url, "--requests", "1000", "--users", "8"]);
    assert_eq!(r.total.requests, 1000);
    assert_eq!(r.total.status_counts.get("200"), Some(&1000));
    assert_eq!(r.in_flight_at_end, 0);
    // The server saw exactly as many, no more (no retries, no extra probes).
    assert_eq!(srv.stats.requests.load(Ordering::SeqCst), 1000);
}

#[test]
fn requests_fewer_than_users() {
    let srv = server();
    let r = run(&["--url", &srv.url(), "-n", "3", "-c", "20"]);
    assert_eq!(r.total.requests, 3);
    assert_eq!(srv.stats.requests.load(Ordering::SeqCst), 3);
}

#[test]
fn closed_port_is_counted_as_connect_failures() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let r = run(&["--url", &url, "-n", "25", "-c", "5"]);
    assert_eq!(r.total.requests, 25);
    assert_eq!(r.total.failures, 25);
    assert_eq!(r.total.failure_kinds.get("connect"), Some(&25));
    assert_eq!(r.total.failure_rate, 1.0);
    assert_eq!(r.total.error_rate, 0.0);
}

#[test]
fn unknown_host_is_a_dns_failure() {
    // .invalid never resolves (RFC 6761); no packet leaves the machine for it.
    let r = run(&[
        "--url",
        "http://no-such-host.invalid/",
        "-n",
        "2",
        "-c",
        "1",
        "--timeout",
        "5s",
    ]);
    assert_eq!(
        r.total.failure_kinds.get("dns"),
        Some(&2),
        "{:?}",
        r.total.failure_kinds
    );
}

#[test]
fn slow_answers_beyond_the_timeout_are_timeouts() {
    let srv = server();
    let url = format!("{}/delay/3000", srv.url());
    let started = Instant::now();
    let r = run(&["--url", &url, "-n", "4", "-c", "2", "--timeout", "300ms"]);
    assert_eq!(
        r.total.failure_kinds.get("timeout"),
        Some(&4),
        "{:?}",
        r.total
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "timeouts did not cut the wait"
    );
    // Latency of a timed-out request is about the timeout.
    assert!(r.total.latency_ms.min >= 299.0, "{:?}", r.total.latency_ms);
}

#[test]
fn status_codes_are_data() {
    let srv = server();
    for (code, n) in [("404", 7), ("503", 5), ("201", 3)] {
        let url = format!("{}/status/{code}", srv.url());
        let r = run(&["--url", &url, "-n", &n.to_string(), "-c", "2"]);
        assert_eq!(r.total.status_counts.get(code), Some(&n));
        let is_error = code.starts_with('4') || code.starts_with('5');
        assert_eq!(r.total.errors, if is_error { n } else { 0 });
        assert_eq!(r.total.failures, 0);
    }
}

#[test]
fn rate_limit_holds_the_target() {
    let srv = server();
    let r = run(&[
        "--url",
        &srv.url(),
        "--rps",
        "200",
        "--duration",
        "3",
        "-c",
        "10",
    ]);
    let achieved = r.total.requests as f64 / 3.0;
    assert!(
        (190.0..=210.0).contains(&achieved),
        "200 rps target, got {achieved}"
    );
    assert_eq!(r.total.target_rps, Some(200.0));
    assert!(r.total.response_time_ms.is_some() && r.total.late_slots.is_some());
    // Closed-loop users at 10 would do thousands per second here: the pacing is real.
    let srv_count = srv.stats.requests.load(Ordering::SeqCst);
    assert!(
        srv_count <= r.total.requests + 10,
        "{srv_count} vs {}",
        r.total.requests
    );
}

#[test]
fn slow_server_with_rate_shows_lag_in_response_time() {
    // 2 users, each request 100 ms: at most 20 rps can be sent, the target is 50.
    let srv = server();
    let url = format!("{}/delay/100", srv.url());
    let r = run(&["--url", &url, "--rps", "50", "--duration", "2", "-c", "2"]);
    let late = r.total.late_slots.unwrap();
    assert!(late > 10, "slots should fall behind: {late}");
    let rt = r.total.response_time_ms.unwrap();
    assert!(
        rt.p99 > r.total.latency_ms.p99 + 200.0,
        "CO correction missing: rt {rt:?} lat {:?}",
        r.total.latency_ms
    );
}

#[test]
fn ramp_stages_admit_exactly_their_users() {
    let srv = server();
    let url = format!("{}/delay/100", srv.url());
    let stages = [2usize, 5, 3];
    let step = Duration::from_millis(1200);
    let handle = {
        let url = url.clone();
        std::thread::spawn(move || run(&["--url", &url, "--ramp", "2,5,3", "--step", "1.2s"]))
    };
    let start = Instant::now();
    let mut seen = Vec::new();
    for (i, _) in stages.iter().enumerate() {
        // Watch the middle of each stage (the run starts a few ms after `start`).
        let from = step * i as u32 + Duration::from_millis(400);
        let to = step * i as u32 + Duration::from_millis(900);
        while start.elapsed() < from {
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut most = 0;
        while start.elapsed() < to {
            most = most.max(srv.stats.in_flight.load(Ordering::SeqCst));
            std::thread::sleep(Duration::from_millis(2));
        }
        seen.push(most as usize);
    }
    let r = handle.join().unwrap();
    assert_eq!(
        seen, stages,
        "concurrent requests the server saw in each stage"
    );
    let users: Vec<usize> = r.stages.iter().map(|s| s.users).collect();
    assert_eq!(users, stages);
    for (s, &u) in r.stages.iter().zip(&stages) {
        // Each user does about 10 requests per second of 100 ms each.
        let expect = u as f64 * 10.0 * 1.2;
        assert!(
            (s.requests as f64) > expect * 0.7 && (s.requests as f64) < expect * 1.15,
            "{}: {} requests, expected ~{expect}",
            s.name,
            s.requests
        );
    }
    assert_eq!(
        r.total.requests,
        r.stages.iter().map(|s| s.requests).sum::<u64>()
    );
    // Each second shows the users of the stage it ends in: [0,1) 2, [1,2) 5, [2,3) 3.
    let per_second: Vec<usize> = r.seconds.iter().take(3).map(|s| s.users).collect();
    assert_eq!(per_second, [2, 5, 3]);
}

#[test]
fn duration_ends_on_time_with_requests_in_flight() {
    let srv = server();
    let url = format!("{}/delay/20000", srv.url());
    let started = Instant::now();
    let r = run(&[
        "--url",
        &url,
        "--duration",
        "1",
        "-c",
        "200",
        "--timeout",
        "60s",
    ]);
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(r.total.requests, 0);
    assert_eq!(r.in_flight_at_end, 200);
}

#[test]
fn linear_ramp_up_reaches_all_users_then_holds() {
    let srv = server();
    let url = format!("{}/delay/50", srv.url());
    let r = run(&[
        "--url",
        &url,
        "--users",
        "4",
        "--ramp-up",
        "1s",
        "--duration",
        "1s",
    ]);
    assert_eq!(r.stages.len(), 2);
    // Ramp: on average 2.5 users of 20 req/s each; hold: 4 users.
    let (ramp, hold) = (&r.stages[0], &r.stages[1]);
    assert!(
        ramp.requests > 30 && ramp.requests < 60,
        "ramp {}",
        ramp.requests
    );
    assert!(
        hold.requests > 60 && hold.requests < 85,
        "hold {}",
        hold.requests
    );
}

#[test]
fn per_second_series_adds_up() {
    let srv = server();
    let r = run(&[
        "--url",
        &srv.url(),
        "--rps",
        "100",
        "--duration",
        "3",
        "-c",
        "4",
    ]);
    assert!(r.seconds.len() >= 2, "{:?}", r.seconds.len());
    for s in &r.seconds[..2] {
        assert!(
            (90..=110).contains(&s.requests),
            "second {}: {}",
            s.second,
            s.requests
        );
        assert_eq!(s.users, 4);
    }
    let in_series: u64 = r.seconds.iter().map(|s| s.requests).sum();
    assert!(in_series <= r.total.requests);
}

#[test]
fn post_body_reaches_the_server() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("body.json");
    std::fs::write(&path, br#"{"hello":"world"}"#).unwrap();
    let body = format!("@{}", path.display());
    let r = run(&[
        "--url",
        &srv.url(),
        "-X",
        "POST",
        "-d",
        &body,
        "-H",
        "Content-Type: application/json",
        "-n",
        "10",
    ]);
    assert_eq!(r.total.status_counts.get("200"), Some(&10), "{:?}", r.total);
    assert_eq!(r.config.body_bytes, 17);
}

#[test]
fn a_known_mix_of_statuses_is_reported_exactly() {
    let srv = server();
    // Every 10 requests: 6 x 200, 2 x 404, 1 x 500, 1 x 503.
    let url = format!("{}/mix/200,404,200,500,200,200,404,200,503,200", srv.url());
    let r = run(&["--url", &url, "-n", "2000", "-c", "7"]);
    let want = [("200", 1200), ("404", 400), ("500", 200), ("503", 200)];
    for (code, n) in want {
        assert_eq!(
            r.total.status_counts.get(code),
            Some(&n),
            "{code}: {:?}",
            r.total.status_counts
        );
    }
    assert_eq!(r.total.status_counts.len(), 4);
    assert_eq!(
        (r.total.ok, r.total.errors, r.total.failures),
        (1200, 800, 0)
    );
    assert!((r.total.error_rate - 0.4).abs() < 1e-9);
}

#[test]
fn a_large_request_header_is_sent_whole() {
    // Beyond the default 8 KiB output buffer: the buffer grows to fit the configured headers.
    let srv = server();
    let big = format!("X-Big: {}", "a".repeat(9000));
    let r = run(&["--url", &srv.url(), "-n", "3", "-c", "1", "-H", &big]);
    assert_eq!(
        r.total.status_counts.get("200"),
        Some(&3),
        "{:?}",
        r.total.failure_kinds
    );
}

#[test]
fn per_second_histograms_are_kept_only_for_outputs_that_need_them() {
    // They are the part of memory that grows with the run's length: without --json or
    // --hdr-log nothing reads them.
    let srv = server();
    let r = run(&[
        "--url",
        &srv.url(),
        "--rps",
        "200",
        "--duration",
        "2",
        "-c",
        "2",
    ]);
    assert!(!r.seconds.is_empty());
    assert!(r.seconds.iter().all(|s| s.hdr_latency_us.is_empty()));
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let r = run(&[
        "--url",
        &srv.url(),
        "--rps",
        "200",
        "--duration",
        "2",
        "-c",
        "2",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(r.seconds.iter().all(|s| !s.hdr_latency_us.is_empty()));
}
