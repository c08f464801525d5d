//! The live `/metrics` page (`--metrics-addr`), scraped from the built binary during and after a
//! run and read by an independent parser: Python `prometheus_client`'s OpenMetrics parser
//! (`scripts/install-test-deps.sh` installs it). Its counters must agree with the final `--json`
//! report: every request, each status and failure kind, the bytes, the latency histogram (its
//! count, its sum and its buckets against the report's own HdrHistogram), the warm-up apart;
//! the gauges must follow the schedule while it runs and drop to 0 after it; `find`'s one page
//! must add up its steps.
//!
//! (The package's classic `prometheus_client.parser` reads the Prometheus 0.0.4 format and
//! does not group OpenMetrics counters, whose samples are named `NAME_total` under `# TYPE NAME
//! counter`: it drops them. The page is OpenMetrics, as its content type says.)

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Reads OpenMetrics text on stdin, writes `{family: {"type": T, "samples": [[name, labels,
/// value], ...]}}` as JSON. The parser raises on anything OpenMetrics does not allow (no `#
/// EOF`, a counter sample without `_total`, buckets out of order, a missing `+Inf` bucket ...).
const PARSE: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
families = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    families[f.name] = {
        "type": f.type,
        "samples": [[s.name, s.labels, s.value] for s in f.samples],
    }
json.dump(families, sys.stdout)
"#;

const NO_PARSER: &str =
    "no Python with prometheus_client (scripts/install-test-deps.sh installs Debian's)";

/// A Python that has `prometheus_client` (Debian's package installs it for /usr/bin/python3,
/// which may not be the first `python3` on the PATH).
fn python() -> Option<&'static str> {
    ["/usr/bin/python3", "python3"].into_iter().find(|py| {
        std::process::Command::new(py)
            .args(["-c", "import prometheus_client.openmetrics.parser"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The page's families, as the Python parser reads them.
#[derive(Debug)]
struct Page(serde_json::Map<String, Value>);

impl Page {
    fn parse(py: &str, text: &str) -> Page {
        let mut child = std::process::Command::new(py)
            .args(["-c", PARSE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "the OpenMetrics parser refused the page: {}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        match serde_json::from_slice(&out.stdout).unwrap() {
            Value::Object(families) => Page(families),
            other => panic!("not an object: {other}"),
        }
    }

    /// Samples of `family` named `name` whose labels include every one of `labels`.
    fn samples(&self, family: &str, name: &str, labels: &[(&str, &str)]) -> Vec<(Value, f64)> {
        let Some(f) = self.0.get(family) else {
            return Vec::new();
        };
        f["samples"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s[0] == name)
            .filter(|s| labels.iter().all(|(k, v)| s[1][*k] == *v))
            .map(|s| (s[1].clone(), s[2].as_f64().unwrap()))
            .collect()
    }

    /// The sum of those samples (0 without any).
    fn sum(&self, family: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples(family, name, labels).iter().map(|s| s.1).sum()
    }

    /// A gauge's one value.
    fn gauge(&self, name: &str) -> f64 {
        assert_eq!(self.0[name]["type"], "gauge", "{name}");
        let s = self.samples(name, name, &[]);
        assert_eq!(s.len(), 1, "{name}: {s:?}");
        s[0].1
    }

    fn requests(&self, labels: &[(&str, &str)]) -> f64 {
        self.sum("qpsbench_requests", "qpsbench_requests_total", labels)
    }
}

/// `GET path` over a fresh connection: (status, head, body); `None` when nothing listens.
fn get(port: u16, path: &str) -> Option<(u16, String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Some((status, head.to_ascii_lowercase(), body.to_string()))
}

/// A running binary, killed if the test fails before it has ended (its linger would keep it
/// for a minute).
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The binary with `args`, its stderr lines sent to the returned channel as they come (and
/// its stdout drained).
fn spawn(args: &[&str]) -> (Running, mpsc::Receiver<String>) {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = out.read_to_end(&mut sink);
    });
    let err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (Running(Some(child)), rx)
}

/// Wait (at most 60 s) for the stderr line that says the run is over and the page lingers;
/// returns every line seen.
fn wait_for_linger(rx: &mpsc::Receiver<String>) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let done = line.starts_with("metrics: serving");
                seen.push(line);
                if done {
                    return seen;
                }
            }
            Err(e) => panic!("no linger line ({e}); stderr so far:\n{}", seen.join("\n")),
        }
    }
}

/// Ctrl-C during the linger ends it at once, with the run's exit code.
fn interrupt_linger(mut running: Running, code: i32) {
    let mut child = running.0.take().expect("still running");
    // SAFETY: a signal to our own child, whose pid is live until it is waited for.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let status = wait_with_deadline(&mut child, Duration::from_secs(10))
        .expect("Ctrl-C ends the linger at once");
    assert_eq!(status.code(), Some(code), "{status:?}");
}

#[test]
fn scraped_counters_agree_with_the_final_report() {
    let Some(py) = python() else {
        skip_outside_ci(NO_PARSER);
        return;
    };
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    // Three statuses in a known mix, and a port where nothing listens (connect failures).
    let targets = dir.path().join("t.txt");
    std::fs::write(
        &targets,
        format!(
            "GET {}/mix/200,404,503\nGET http://127.0.0.1:{}/\n",
            srv.url(),
            closed_port()
        ),
    )
    .unwrap();
    let json = dir.path().join("r.json");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    #[rustfmt::skip]
    let (child, stderr) = spawn(&[
        "run", "--targets", targets.to_str().unwrap(), "-c", "3", "--rps", "150",
        "--warmup", "1s", "-z", "3s", "-q", "--json", json.to_str().unwrap(),
        "--metrics-addr", &addr, "--metrics-linger", "60s",
    ]);

    // During the run: counters only grow; the gauges are the schedule's, and the send lag is
    // a closed second's once one has closed.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut last, mut measured_seen, mut in_flight_max, mut lag_max) =
        (0.0, false, 0.0f64, 0.0f64);
    loop {
        assert!(Instant::now() < deadline, "the run did not end");
        std::thread::sleep(Duration::from_millis(50));
        let Some((status, head, text)) = get(port, "/metrics") else {
            continue;
        };
        assert_eq!(status, 200, "{head}");
        assert!(
            head.contains("content-type: application/openmetrics-text; version=1.0.0"),
            "{head}"
        );
        let page = Page::parse(py, &text);
        let total = page.requests(&[]);
        assert!(total >= last, "requests went from {last} back to {total}");
        last = total;
        let warmup = page.sum(
            "qpsbench_warmup_requests",
            "qpsbench_warmup_requests_total",
            &[],
        );
        let users = page.gauge("qpsbench_active_users");
        if total > 0.0 && users == 0.0 {
            break; // the run is over
        }
        in_flight_max = in_flight_max.max(page.gauge("qpsbench_in_flight_requests"));
        if total > 0.0 {
            measured_seen = true;
            assert_eq!(users, 3.0);
            assert_eq!(page.gauge("qpsbench_target_rps"), 150.0);
            // The warm-up ran its second at 150 req/s before anything was measured.
            assert!(warmup > 100.0, "warm-up requests: {warmup}");
            lag_max = lag_max.max(page.gauge("qpsbench_send_lag_seconds"));
        }
    }
    assert!(measured_seen, "no scrape saw the measured run");
    // Begun and not yet recorded: a few at 150 req/s (more while the collector waits for a
    // core on a busy machine), never the count of requests sent (150 in the warm-up alone).
    assert!(in_flight_max < 100.0, "in flight: {in_flight_max}");
    let (status, _, body) = get(port, "/").unwrap();
    assert_eq!(status, 404, "{body}");

    let lines = wait_for_linger(&stderr);
    assert!(
        lines
            .iter()
            .any(|l| *l == format!("metrics: http://{addr}/metrics")),
        "{lines:?}"
    );
    let (_, _, text) = get(port, "/metrics").expect("the page lingers");
    let page = Page::parse(py, &text);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let total = &report["total"];
    let n = |v: &Value| v.as_f64().unwrap_or(0.0);

    // Every request, by outcome.
    assert_eq!(page.requests(&[]), n(&total["requests"]), "{text}");
    assert!(n(&total["requests"]) >= 300.0, "{total}");
    for (outcome, field) in [
        ("ok", "ok"),
        ("error", "errors"),
        ("failure", "failures"),
        ("check_failed", "check_failures"),
    ] {
        assert_eq!(
            page.requests(&[("outcome", outcome)]),
            n(&total[field]),
            "{outcome}"
        );
    }
    // Each status and failure kind, and no other.
    let statuses = total["status_counts"].as_object().unwrap();
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    for (code, count) in statuses {
        assert_eq!(
            page.requests(&[("status", code)]),
            n(count),
            "status {code}"
        );
    }
    let kinds = total["failure_kinds"].as_object().unwrap();
    assert!(n(&kinds["connect"]) > 0.0, "{kinds:?}");
    let mut labelled: BTreeMap<String, f64> = BTreeMap::new();
    for (labels, v) in page.samples("qpsbench_requests", "qpsbench_requests_total", &[]) {
        let key = match (labels["status"].as_str(), labels["failure"].as_str()) {
            (Some(code), None) => code.to_string(),
            (None, Some(kind)) => kind.to_string(),
            other => panic!("a sample with status and failure {other:?}"),
        };
        *labelled.entry(key).or_default() += v;
    }
    for (key, v) in &labelled {
        let want = statuses.get(key).or(kinds.get(key)).map_or(0.0, n);
        assert_eq!(*v, want, "{key}: {labelled:?}");
    }
    // Bytes, and the latency histogram: its count, its sum, its buckets.
    assert_eq!(
        page.sum(
            "qpsbench_response_bytes",
            "qpsbench_response_bytes_total",
            &[]
        ),
        n(&total["bytes"])
    );
    let family = "qpsbench_latency_seconds";
    let count = page.sum(family, "qpsbench_latency_seconds_count", &[]);
    assert_eq!(count, n(&total["latency_ms"]["count"]));
    let hdr = qpsbench::stats::hdr::decode_histogram(total["hdr"]["latency_us"].as_str().unwrap())
        .unwrap();
    assert_eq!(count, hdr.len() as f64);
    let sum = page.sum(family, "qpsbench_latency_seconds_sum", &[]);
    let hdr_sum = hdr.mean() * hdr.len() as f64 / 1e6;
    assert!(
        (sum - hdr_sum).abs() <= 0.02 * hdr_sum + 1e-3,
        "latency sum {sum} s, the report's {hdr_sum} s"
    );
    let mut below = 0.0;
    for (labels, cumulative) in page.samples(family, "qpsbench_latency_seconds_bucket", &[]) {
        assert!(cumulative >= below, "buckets not cumulative: {text}");
        below = cumulative;
        let le: f64 = labels["le"].as_str().unwrap().parse().unwrap();
        // The report's histogram is in whole µs with 0.1% buckets, the page's in ns: a value
        // within a µs (and 0.1%) of a bound may fall on either side. The page's count must lie
        // between the report's counts just below and just above the bound.
        let (low, high) = if le.is_infinite() {
            (hdr.len(), hdr.len())
        } else {
            let us = le * 1e6;
            (
                hdr.count_between(0, (us * 0.999 - 1.0).max(0.0) as u64),
                hdr.count_between(0, (us * 1.001 + 1.0) as u64),
            )
        };
        assert!(
            cumulative + 2.0 >= low as f64 && cumulative <= high as f64 + 2.0,
            "le {le}: {cumulative} on the page, {low}..{high} in the report around the bound"
        );
    }
    assert_eq!(below, count, "+Inf bucket");
    // A user wakes for its slot a little late, never later than the run's largest lag.
    let report_lag = n(&total["max_lag_ms"]) / 1e3;
    assert!(
        lag_max > 0.0 && lag_max <= report_lag + 2e-6,
        "send lag {lag_max} s seen, the report's largest {report_lag} s"
    );
    // The warm-up is counted apart, as the report keeps it apart.
    assert_eq!(
        page.sum(
            "qpsbench_warmup_requests",
            "qpsbench_warmup_requests_total",
            &[]
        ),
        n(&report["warmup"]["requests"])
    );
    // After the run: nothing runs, nothing is asked for, nothing is in flight.
    for gauge in [
        "qpsbench_active_users",
        "qpsbench_target_rps",
        "qpsbench_in_flight_requests",
        "qpsbench_send_lag_seconds",
    ] {
        assert_eq!(page.gauge(gauge), 0.0, "{gauge}");
    }
    // Not streamed: no token histograms.
    assert!(!page.0.contains_key("qpsbench_ttft_seconds"), "{text}");
    interrupt_linger(child, 0);
}

#[test]
fn streamed_answers_add_ttft_itl_and_tpot_as_the_report_counts_them() {
    let Some(py) = python() else {
        skip_outside_ci(NO_PARSER);
        return;
    };
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("s.json");
    let port = free_port();
    let url = format!("{}/v1/chat/completions", srv.url());
    #[rustfmt::skip]
    let (child, stderr) = spawn(&[
        "run", "--url", &url, "--openai", "m", "-c", "2", "-n", "6", "-q",
        "--json", json.to_str().unwrap(),
        "--metrics-addr", &port.to_string(), "--metrics-linger", "60s",
    ]);
    wait_for_linger(&stderr);
    let (_, _, text) = get(port, "/metrics").expect("the page lingers");
    let page = Page::parse(py, &text);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let stream = &report["total"]["stream"];
    for (family, field) in [
        ("qpsbench_ttft_seconds", "ttft_ms"),
        ("qpsbench_itl_seconds", "itl_ms"),
        ("qpsbench_tpot_seconds", "tpot_ms"),
    ] {
        assert_eq!(page.0[family]["type"], "histogram", "{family}");
        let count = page.sum(family, &format!("{family}_count"), &[]);
        assert_eq!(count, stream[field]["count"].as_f64().unwrap(), "{family}");
        assert!(count > 0.0, "{family}");
        // The sum is in seconds: count x the report's mean (ms), to a rounding.
        let sum = page.sum(family, &format!("{family}_sum"), &[]);
        let mean_s = stream[field]["mean"].as_f64().unwrap() / 1e3;
        assert!(
            (sum / count - mean_s).abs() <= 0.02 * mean_s + 1e-4,
            "{family}: mean {} s, the report's {mean_s} s",
            sum / count
        );
    }
    assert_eq!(
        page.sum(
            "qpsbench_output_tokens",
            "qpsbench_output_tokens_total",
            &[]
        ),
        stream["output_tokens"].as_f64().unwrap()
    );
    assert_eq!(page.requests(&[("status", "200")]), 6.0);
    // A run bounded by --requests has no schedule end: its gauges drop because it ended.
    assert_eq!(page.gauge("qpsbench_active_users"), 0.0);
    assert_eq!(page.gauge("qpsbench_in_flight_requests"), 0.0);
    interrupt_linger(child, 0);
}

#[test]
fn find_serves_one_page_whose_counters_add_up_its_steps() {
    let Some(py) = python() else {
        skip_outside_ci(NO_PARSER);
        return;
    };
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("f.json");
    let port = free_port();
    #[rustfmt::skip]
    let (child, stderr) = spawn(&[
        "find", "--url", &srv.url(), "--slo", "p99<1s", "--from", "100", "--to", "200",
        "--step", "1s", "--max-time", "3s", "-c", "2", "--json", json.to_str().unwrap(),
        "--metrics-addr", &port.to_string(), "--metrics-linger", "60s",
    ]);
    wait_for_linger(&stderr);
    let (_, _, text) = get(port, "/metrics").expect("the page lingers");
    let page = Page::parse(py, &text);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let steps = report["capacity"]["steps"].as_array().unwrap();
    assert!(!steps.is_empty(), "{report}");
    let requests: f64 = steps.iter().map(|s| s["requests"].as_f64().unwrap()).sum();
    assert_eq!(page.requests(&[]), requests, "{text}");
    assert_eq!(
        page.sum(
            "qpsbench_latency_seconds",
            "qpsbench_latency_seconds_count",
            &[]
        ),
        requests
    );
    assert_eq!(page.gauge("qpsbench_target_rps"), 0.0);
    interrupt_linger(child, 0);
}
