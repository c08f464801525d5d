//! Behaviour of the load engine against the embedded server on 127.0.0.1.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

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
    assert_eq!(r.total.failure_rate, Some(1.0));
    assert_eq!(r.total.error_rate, Some(0.0));
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
fn rate_limit_never_exceeds_the_target() {
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
    // The slot schedule allows at most 200 sends a second of the run, plus the first at 0,
    // whatever the machine; the run's own length is how long it really ran (a loaded machine
    // stops it a little after 3 s), and the server's count is the witness. (How close a loaded
    // machine gets to the target is measured in scripts/: the lower bound below is only a
    // liveness bound.)
    let srv_count = srv.stats.requests.load(Ordering::SeqCst);
    let ceiling = (200.0 * r.elapsed_s).floor() as u64 + 2;
    assert!(
        srv_count <= ceiling,
        "{srv_count} requests in {} s at 200 rps",
        r.elapsed_s
    );
    assert!(
        r.total.requests <= srv_count,
        "{} vs {srv_count}",
        r.total.requests
    );
    assert!(r.total.requests >= 100, "{} requests", r.total.requests);
    assert_eq!(r.total.target_rps, Some(200.0));
    assert!(r.total.response_time_ms.is_some() && r.total.late_slots.is_some());
}

#[test]
fn a_timed_paced_run_sends_exactly_rate_times_duration_at_most() {
    // Slots 0 .. R·d − 1 fall inside the run; slot R·d is due at its very end and was sent
    // whenever the user woke before the controller stopped it (151 of 150, 3 of 2). A loaded
    // machine may send fewer (slots it could not reach in time); never more.
    let srv = server();
    let r = run(&[
        "--url",
        &srv.url(),
        "--rps",
        "50",
        "--duration",
        "3",
        "-c",
        "5",
    ]);
    let served = srv.stats.requests.load(Ordering::SeqCst);
    assert!(
        served <= 150,
        "the server counted {served} for 50 rps × 3 s"
    );
    assert!(served >= 100, "liveness: {served}");
    assert_eq!(r.total.requests, served);
    for _ in 0..4 {
        let srv = server();
        let r = run(&["--url", &srv.url(), "--rps", "2", "--duration", "1"]);
        let served = srv.stats.requests.load(Ordering::SeqCst);
        assert!(served <= 2, "the server counted {served} for 2 rps × 1 s");
        assert_eq!(r.total.requests, served);
    }
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
    let step_ms = 1200u64;
    let stats = srv.stats.clone();
    let handle =
        std::thread::spawn(move || run(&["--url", &url, "--ramp", "2,5,3", "--step", "1.2s"]));
    // The server's own count of requests in flight, stamped with the wall clock. Every request
    // takes 100 ms, so each admitted user has one in flight nearly all the time.
    let mut samples: Vec<(u64, u64)> = Vec::new();
    while !handle.is_finished() {
        let now_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        samples.push((now_ms, stats.in_flight.load(Ordering::SeqCst)));
        std::thread::sleep(Duration::from_millis(2));
    }
    let r = handle.join().unwrap();
    // The most in flight inside each stage (away from its edges, where the previous stage's
    // last requests finish) is exactly its users: the run's start places the stages.
    let seen: Vec<usize> = (0..stages.len() as u64)
        .map(|i| {
            let from = r.started_at_unix_ms + i * step_ms + 300;
            let to = r.started_at_unix_ms + (i + 1) * step_ms - 100;
            samples
                .iter()
                .filter(|(t, _)| (from..to).contains(t))
                .map(|&(_, n)| n as usize)
                .max()
                .unwrap_or(0)
        })
        .collect();
    assert_eq!(
        seen, stages,
        "concurrent requests the server saw in each stage"
    );
    let users: Vec<usize> = r.stages.iter().map(|s| s.users).collect();
    assert_eq!(users, stages);
    assert!(r.stages.iter().all(|s| s.requests > 0), "{:?}", r.stages);
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
    // Every answer takes 20 s: a run that waited for one would take that long. From the run's
    // end (its own clock) to its report: well under a second is expected, 3 s allowed for a
    // loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    let ended_ms = r.started_at_unix_ms + (r.elapsed_s * 1e3) as u64;
    let now_ms = qpsbench::report::unix_ms(SystemTime::now());
    assert!(
        now_ms.saturating_sub(ended_ms) < 3_000,
        "the report came {} ms after the end",
        now_ms.saturating_sub(ended_ms)
    );
    assert_eq!(r.total.requests, 0);
    // Every request sent is in flight at the end, and counted there: the server's own count
    // reaches it (requests still on their way in a loaded machine arrive after the run).
    assert!(
        (1..=200).contains(&r.in_flight_at_end),
        "{}",
        r.in_flight_at_end
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while srv.stats.requests.load(Ordering::SeqCst) < r.in_flight_at_end {
        assert!(
            Instant::now() < deadline,
            "the server saw {} requests, the run says {} were in flight",
            srv.stats.requests.load(Ordering::SeqCst),
            r.in_flight_at_end
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn linear_ramp_up_reaches_all_users_then_holds() {
    let srv = server();
    let url = format!("{}/delay/50", srv.url());
    let stats = srv.stats.clone();
    let handle = std::thread::spawn(move || {
        run(&[
            "--url",
            &url,
            "--users",
            "4",
            "--ramp-up",
            "2s",
            "--duration",
            "1s",
        ])
    });
    // The server's own count of open connections (one keep-alive connection per user) climbs
    // to 4 instead of jumping there: users 1..4 start 0, 0.5, 1 and 1.5 s into the run.
    let mut seen: Vec<u64> = Vec::new();
    while !handle.is_finished() {
        let c = stats.snapshot().connections;
        if seen.last() != Some(&c) {
            seen.push(c);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let r = handle.join().unwrap();
    let first_four = seen.iter().position(|&c| c == 4);
    assert!(first_four.is_some(), "never 4 users at once: {seen:?}");
    assert!(
        seen[..first_four.unwrap()]
            .iter()
            .any(|&c| (1..4).contains(&c)),
        "all 4 users started at once: {seen:?}"
    );
    assert_eq!(stats.snapshot().max_connections, 4, "{seen:?}");
    // Then held: the hold stage ran its 4 users, and every request of the run is in a stage.
    assert_eq!(r.stages.len(), 2);
    assert_eq!((r.stages[0].users, r.stages[1].users), (4, 4));
    assert!(r.stages[1].requests > 0, "{:?}", r.stages[1]);
    assert_eq!(
        r.total.requests,
        r.stages[0].requests + r.stages[1].requests
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
        "3.7",
        "-c",
        "4",
    ]);
    // Three whole seconds and the run's 0.7 s tail: every request in exactly one of them.
    assert_eq!(r.seconds.len(), 4, "{:?}", r.seconds);
    let tail = &r.seconds[3];
    assert!(tail.interval_s >= 0.7 && tail.interval_s < 1.0, "{tail:?}");
    assert!(tail.requests > 0, "the tail lost its requests: {tail:?}");
    for s in &r.seconds[..3] {
        assert_eq!(s.users, 4, "second {}", s.second);
        assert_eq!(s.interval_s, 1.0, "second {}", s.second);
        assert_eq!(
            s.requests,
            s.ok + s.errors + s.failures,
            "second {}",
            s.second
        );
    }
    let in_series: u64 = r.seconds.iter().map(|s| s.requests).sum();
    assert_eq!(in_series, r.total.requests);
    let seen = srv.stats.requests.load(Ordering::SeqCst);
    assert!(
        (r.total.requests..=r.total.requests + r.in_flight_at_end).contains(&seen),
        "server {seen}, run {} + {} in flight",
        r.total.requests,
        r.in_flight_at_end
    );
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
    assert!((r.total.error_rate.unwrap() - 0.4).abs() < 1e-9);
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
