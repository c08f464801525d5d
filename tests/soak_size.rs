//! Issue 15: a 24-hour run stays small. 86,400 synthetic seconds (40 requests each, latencies
//! spread over 1-200 ms, a 503 now and then) go through the real collector and the real report
//! builders, with `--json --html --hdr-log` asked for; the process's peak resident memory above
//! its start stays under 64 MiB, the JSON report under 20 MB and the HTML under 3 MB. The
//! witnesses are independent of the code under test: the kernel's own memory figures
//! (`/proc/self/status`), the files' byte counts, the request count fed in (the rows must add up
//! to it), and a spike planted in one second, which the thinned HTML chart must still show.
//!
//! One test in this file: the process's peak memory is the test's own.

use std::time::{Duration, Instant};

use qpsbench::collector::{self, CollectorSetup, Event, Sinks};
use qpsbench::config::output::Format;
use qpsbench::sample::{Outcome, Sample};

const SECONDS: u64 = 86_400;
const PER_SECOND: u64 = 40;
/// The second (from 1) whose requests all take 9.5 s: a spike the HTML chart must keep.
const SPIKE_SECOND: u64 = 12_345;

/// A figure of `/proc/self/status`, KiB.
fn status_kib(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{key} in /proc/self/status"))
}

#[test]
fn a_day_of_seconds_stays_under_the_memory_and_size_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let argv: Vec<String> = [
        "qpsbench",
        "run",
        "--url",
        "http://127.0.0.1:9/",
        "--users",
        "40",
        "--duration",
        "24h",
        "--json",
        &path("day.json"),
        "--html",
        &path("day.html"),
        "--hdr-log",
        &path("day.hlog"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let args = qpsbench::cli::parse_run_args(&argv).expect("a valid command line");
    let cfg = qpsbench::Config::try_from(args).expect("a valid configuration");
    assert!(cfg.keeps_second_histograms());

    let rss_start = status_kib("VmRSS:");
    let start = Instant::now();
    let (tx, rx) = crossbeam_channel::bounded::<Event>(4096);
    let (done, _done_rx) = crossbeam_channel::bounded(1);
    let setup = CollectorSetup {
        start,
        schedule: cfg.schedule.clone(),
        stages: cfg.schedule.stages().len(),
        paced: false,
        requests_limit: None,
        done,
        sinks: Sinks::default(),
        second_histograms: true,
        traffic: qpsbench::stats::traffic::TrafficStats::new(&cfg.traffic, false, 1),
        abort: None,
        client: None,
        goodput: None,
    };
    let collector = std::thread::spawn(move || collector::collect(rx, setup));
    let mut rng = fastrand::Rng::with_seed(15);
    for second in 0..SECONDS {
        for i in 0..PER_SECOND {
            let end = start + Duration::from_millis(second * 1000 + i * 25 + 1);
            let latency_us = if second + 1 == SPIKE_SECOND {
                9_500_000
            } else {
                // Mostly 1-20 ms, a tail to 200 ms: a realistic spread of distinct values.
                let base = rng.u64(1_000..20_000);
                if rng.u8(..) < 8 { base * 10 } else { base }
            };
            let sent = end - Duration::from_micros(latency_us);
            let status = if rng.u16(..1000) == 0 { 503 } else { 200 };
            tx.send(Event::Sample(Sample {
                stage: 0,
                scheduled: None,
                sent,
                first_byte: Some(sent + Duration::from_micros(latency_us / 2)),
                end,
                outcome: Outcome::Status(status),
                bytes: 1_200,
                stream: None,
                tag: Default::default(),
            }))
            .unwrap();
        }
    }
    tx.send(Event::Stop {
        at: start + Duration::from_secs(SECONDS),
        interrupted: false,
    })
    .unwrap();
    let measured = collector.join().expect("the collector");

    // The rows add up to what was fed in, and only the last hour is one row a second.
    let fed = SECONDS * PER_SECOND;
    assert_eq!(measured.total.requests, fed);
    assert_eq!(
        measured.seconds.iter().map(|s| s.requests).sum::<u64>(),
        fed
    );
    assert_eq!(
        measured.seconds.len() as u64,
        3_600 + (SECONDS - 3_600) / 60
    );
    let coarse: Vec<_> = measured
        .seconds
        .iter()
        .take_while(|s| s.interval_s == 60.0)
        .collect();
    assert_eq!(coarse.len() as u64, (SECONDS - 3_600) / 60);
    assert!(coarse.iter().all(|s| s.requests == 60 * PER_SECOND));
    // Each window starts where the one before it ended.
    let mut next = 1;
    for s in &measured.seconds {
        assert_eq!(s.second, next, "windows are contiguous");
        next += s.interval_s as u64;
    }
    assert_eq!(next, SECONDS + 1);

    let run = qpsbench::engine::run::RunResult {
        measured,
        start,
        started_at: std::time::SystemTime::now() - Duration::from_secs(SECONDS),
        in_flight_at_end: 0,
        evidence: Vec::new(),
        unsent_slots: None,
        usage: None,
    };
    let report = qpsbench::Report::build(&cfg, &run);
    drop(run);
    let render = |f: Format| -> Vec<u8> {
        qpsbench::export::manager::exporter(f)
            .serialize(&report)
            .expect("renders")
    };
    let json = render(Format::Json);
    let html = render(Format::Html);
    let hlog = render(Format::HdrLog);
    let peak_above_start_kib = status_kib("VmHWM:").saturating_sub(rss_start);

    eprintln!(
        "24 h: JSON {} bytes, HTML {} bytes, HDR log {} bytes, peak RSS above start {} KiB",
        json.len(),
        html.len(),
        hlog.len(),
        peak_above_start_kib
    );
    assert!(json.len() < 20_000_000, "JSON is {} bytes", json.len());
    assert!(html.len() < 3_000_000, "HTML is {} bytes", html.len());
    assert!(
        peak_above_start_kib < 64 * 1024,
        "peak RSS grew by {peak_above_start_kib} KiB"
    );

    // The JSON reads back with every window, the spike in its 60 s window at the full 9.5 s.
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let rows = v["seconds"].as_array().unwrap();
    let spike = rows
        .iter()
        .find(|s| {
            let first = s["second"].as_u64().unwrap();
            (first..first + s["interval_s"].as_f64().unwrap() as u64).contains(&SPIKE_SECOND)
        })
        .unwrap();
    let max_ms = spike["max_ms"].as_f64().unwrap();
    assert!(
        (9_400.0..9_600.0).contains(&max_ms),
        "spike window max {max_ms} ms"
    );
    // The HTML's latency chart has every window (a 24-hour soak has about 5,000: uPlot draws
    // them all), and its max line reaches the spike in the window the JSON has it.
    let html = String::from_utf8(html).unwrap();
    let data = html
        .split("id=\"qpsbench-charts\">")
        .nth(1)
        .expect("the chart data");
    let data: serde_json::Value =
        serde_json::from_str(&data[..data.find("</script>").unwrap()]).unwrap();
    let chart = data
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "chart-latency")
        .expect("latency chart");
    assert_eq!(chart["xs"].as_array().unwrap().len(), rows.len());
    let max_line = chart["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "max")
        .expect("the max line");
    let values = max_line["values"].as_array().unwrap();
    assert_eq!(values.len(), rows.len());
    let top = values
        .iter()
        .filter_map(serde_json::Value::as_f64)
        .fold(0.0f64, f64::max);
    assert_eq!(top, max_ms, "the max line's highest point");
    // The HDR log has one interval line per window, every one decodable.
    let hlog = String::from_utf8(hlog).unwrap();
    let intervals = hlog
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('"') && !l.is_empty())
        .count();
    assert_eq!(intervals, rows.len());
}
