//! Report files (JSON, CSV, HTML, HDR interval log), `merge` and `report`, against the embedded
//! server on 127.0.0.1. Every run is bounded by --requests or --duration.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use common::*;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use serde_json::Value;

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// `qps` with every report flag of `paths` (see [`files`]) after `args`.
fn qps_with_outputs(args: &[&str], paths: &[PathBuf; 5]) -> (i32, String, String) {
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.extend(output_args(paths));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    qps(&all)
}

fn decode(text: &str) -> Histogram<u64> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64");
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .expect("a V2 histogram")
}

fn files(dir: &Path, stem: &str) -> [PathBuf; 5] {
    ["json", "csv", "series.csv", "html", "hlog"].map(|ext| dir.join(format!("{stem}.{ext}")))
}

fn output_args(paths: &[PathBuf; 5]) -> Vec<String> {
    let flags = ["--json", "--csv", "--csv-series", "--html", "--hdr-log"];
    flags
        .iter()
        .zip(paths)
        .flat_map(|(f, p)| [f.to_string(), p.display().to_string()])
        .collect()
}

#[test]
fn json_reports_match_the_schema() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/mix/200,200,503", srv.url());
    let paced = dir.path().join("paced.json");
    let ramp = dir.path().join("ramp.json");
    let runs: [(&Path, Vec<&str>); 2] = [
        (&paced, vec!["--rps", "300", "-n", "300", "-c", "4"]),
        (&ramp, vec!["--ramp", "1,3", "--step", "0.6s"]),
    ];
    for (path, extra) in &runs {
        let mut args = vec!["--url", &url, "-q", "--json", path.to_str().unwrap()];
        args.extend(extra);
        let (code, _, err) = qps(&args);
        assert_eq!(code, 0, "{err}");
        let v = read_json(path);
        assert_valid(&v, &path.display().to_string());
        // The keys scripts rely on are still there.
        let t = &v["total"];
        for key in [
            "users",
            "requests",
            "duration_s",
            "qps",
            "errors",
            "failures",
            "error_rate",
            "failure_rate",
            "status_counts",
            "failure_kinds",
        ] {
            assert!(t.get(key).is_some(), "total.{key} missing");
        }
        for p in ["min", "mean", "p50", "p90", "p95", "p99", "p999", "max"] {
            assert!(t["latency_ms"][p].is_number(), "latency_ms.{p}");
        }
        let h = decode(t["hdr"]["latency_us"].as_str().unwrap());
        assert_eq!(h.len(), t["requests"].as_u64().unwrap());
        let in_series: u64 = v["seconds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["requests"].as_u64().unwrap())
            .sum();
        assert_eq!(
            in_series,
            t["requests"].as_u64().unwrap(),
            "the series covers the run"
        );
    }
    let v = read_json(&paced);
    // The schema has teeth: a report without its histograms is refused.
    let mut broken = v.clone();
    broken["total"].as_object_mut().unwrap().remove("hdr");
    assert!(!schema_validator().is_valid(&broken));
    for key in ["target_rps", "late_slots", "max_lag_ms", "response_time_ms"] {
        assert!(v["total"].get(key).is_some(), "paced total.{key} missing");
    }
    let rt = decode(v["total"]["hdr"]["response_time_us"].as_str().unwrap());
    assert_eq!(rt.len(), 300);
    assert_eq!(read_json(&ramp)["stages"].as_array().unwrap().len(), 2);
}

#[test]
fn every_format_is_written_and_adds_up() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let paths = files(dir.path(), "run");
    let mut args: Vec<String> = [
        "--url",
        &srv.url(),
        "-n",
        "700",
        "-c",
        "3",
        "--rps",
        "400",
        "-q",
    ]
    .map(String::from)
    .to_vec();
    args.extend(output_args(&paths));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = qps(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Summary"),
        "the text summary still goes to stdout"
    );
    let [json, csv, series, html, hlog] = &paths;
    let v = read_json(json);
    let total = v["total"]["requests"].as_u64().unwrap();
    assert_eq!(total, 700);

    let csv = std::fs::read_to_string(csv).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with(
            "stage,users,requests,qps,error_rate,failure_rate,avg_ms,min_ms,max_ms,p90_ms,\
             p95_ms,p99_ms"
        ),
        "{header}"
    );
    assert!(header.ends_with(",status"), "{header}");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2, "one stage and the total: {csv}");
    // A run that ran its course says so on every row.
    assert!(rows.iter().all(|r| r.last() == Some(&"complete")), "{csv}");
    assert_eq!(rows[1][0], "total");
    assert_eq!(rows[1][2], "700");
    assert_eq!(
        rows[1][11].parse::<f64>().unwrap(),
        v["total"]["latency_ms"]["p99"].as_f64().unwrap()
    );

    let series = std::fs::read_to_string(series).unwrap();
    let mut lines = series.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("second,start_unix_s,interval_s,users,requests")
    );
    let in_series: u64 = lines
        .map(|l| l.split(',').nth(4).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(in_series, 700);

    // The interval log reads back with the hdrhistogram crate: one histogram per second,
    // together holding every request.
    let log = std::fs::read(hlog).unwrap();
    let text = String::from_utf8_lossy(&log);
    assert!(text.starts_with("#[Logged with qpsbench"), "{text}");
    assert!(text.contains("#[Histogram log format version 1.3]"));
    assert!(text.contains(
        "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
    ));
    let mut intervals = 0;
    let mut counted = 0;
    let mut base_time = None;
    for entry in IntervalLogIterator::new(&log) {
        match entry.expect("the log parses") {
            LogEntry::BaseTime(t) => base_time = Some(t),
            LogEntry::StartTime(_) => {}
            LogEntry::Interval(h) => {
                assert_eq!(h.start_timestamp(), Duration::from_secs(intervals));
                let hist = decode(h.encoded_histogram());
                if !hist.is_empty() {
                    assert!((h.max() - hist.max() as f64 / 1e3).abs() < 0.01);
                }
                counted += hist.len();
                intervals += 1;
            }
        }
    }
    let seconds = v["seconds"].as_array().unwrap();
    assert_eq!(intervals as usize, seconds.len());
    assert!(
        intervals >= 2,
        "700 requests at 400/s span two windows (1.75 s)"
    );
    assert_eq!(counted, 700);
    let base_ms = base_time.expect("BaseTime header").as_millis() as u64;
    assert_eq!(base_ms, v["started_at_unix_ms"].as_u64().unwrap());

    let html = std::fs::read_to_string(html).unwrap();
    for id in [
        "chart-qps",
        "chart-latency",
        "chart-errors",
        "chart-percentiles",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id} missing");
    }
    assert!(
        !html.contains(" src=") && !html.contains(" href="),
        "nothing to fetch"
    );
    assert_only_our_scripts(&html);
}

#[test]
fn report_re_renders_a_saved_run_identically() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let run = files(dir.path(), "run");
    let again = files(dir.path(), "again");
    let url = format!("{}/mix/200,404", srv.url());
    let mut args: Vec<String> = ["--url", &url, "--ramp", "1,2", "--step", "0.7s", "-q"]
        .map(String::from)
        .to_vec();
    args.extend(output_args(&run));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(qps(&args).0, 0);

    let mut args = vec!["report".to_string(), run[0].display().to_string()];
    args.extend(output_args(&again));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = qps(&args);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Summary"));
    for (a, b) in run.iter().zip(&again) {
        assert_eq!(
            std::fs::read(a).unwrap(),
            std::fs::read(b).unwrap(),
            "{} re-rendered differs",
            b.display()
        );
    }
    // With no output flag it prints the text summary.
    let (code, out, _) = qps(&["report", run[0].to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Status codes:   200: ") && out.contains("404: "),
        "{out}"
    );
}

#[test]
fn html_escapes_the_command_line_and_hides_secrets() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let paths = files(dir.path(), "x");
    let url = format!("{}/?q=%3Cb%3E", srv.url());
    let mut args: Vec<String> = [
        "--url",
        &url,
        "-n",
        "20",
        "-H",
        "X-Note: <script>alert('x')</script> & \"more\"",
        "-H",
        "Authorization: Bearer s3cr3t-t0ken",
        "-H",
        "Cookie: session=c00kie-value",
        "-q",
    ]
    .map(String::from)
    .to_vec();
    args.extend(output_args(&paths));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = qps(&args);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(&paths[3]).unwrap();
    assert_only_our_scripts(&html);
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;")
    );
    for path in &paths {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).to_string();
        for secret in ["s3cr3t-t0ken", "c00kie-value"] {
            assert!(!text.contains(secret), "{} leaks {secret}", path.display());
        }
    }
    for stream in [&out, &err] {
        assert!(!stream.contains("s3cr3t-t0ken") && !stream.contains("c00kie-value"));
    }
}

#[test]
fn a_bad_output_path_fails_before_any_request() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("ok.json");
    for flag in ["--html", "--csv", "--csv-series", "--hdr-log", "--json"] {
        // --json twice is a clap error, so the good file goes to --csv when testing --json.
        let other = if flag == "--json" { "--csv" } else { "--json" };
        let (code, _, err) = qps(&[
            "--url",
            &srv.url(),
            "-n",
            "50",
            other,
            good.to_str().unwrap(),
            flag,
            "/nonexistent-dir/qpsbench/out",
        ]);
        assert_eq!(code, 2, "{flag}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{flag}: one line: {err}");
        assert!(
            err.contains(flag) && err.contains("cannot create"),
            "{flag}: {err}"
        );
    }
    assert_eq!(srv.stats.requests.load(Ordering::SeqCst), 0);
    let (code, _, err) = qps(&["--url", &srv.url(), "-n", "5", "--csv", "-", "--html", "-"]);
    assert_eq!(code, 2);
    assert!(err.contains("both write to stdout"), "{err}");
}

#[test]
fn ctrl_c_still_writes_every_file() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let paths = files(dir.path(), "int");
    let mut args: Vec<String> = [
        "--url",
        &srv.url(),
        "--duration",
        "30",
        "-c",
        "2",
        "--rps",
        "100",
    ]
    .map(String::from)
    .to_vec();
    args.extend(output_args(&paths));
    let child = bin()
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Every path is checked at the start (a temporary file beside it, created and removed);
    // during the run no report path and no temporary file holds anything.
    let temporaries = |dir: &Path| -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                let name = name.to_string_lossy();
                name.starts_with('.') && name.ends_with(".tmp")
            })
            .count()
    };
    // Interrupted once it has measured something: a second's worth of requests at 100 rps.
    wait_for_server(&srv, 100);
    // The final reports (JSON, CSV table, HTML) are complete or absent; the per-second files
    // (CSV series, HDR log) are written as the run goes (issue 15).
    let [json, csv, series, html, hlog] = &paths;
    assert!(
        [json, csv, html].iter().all(|p| !p.exists()),
        "no report before it is whole"
    );
    assert!(series.exists() && hlog.exists(), "the live files are there");
    assert_eq!(
        temporaries(dir.path()),
        0,
        "nothing for a kill -9 to leave behind"
    );
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let (code, _, err) = finish(child);
    assert_eq!(code, 130, "{err}");
    for p in &paths {
        assert!(
            std::fs::metadata(p).unwrap().len() > 0,
            "{} is empty",
            p.display()
        );
    }
    assert_eq!(
        temporaries(dir.path()),
        0,
        "every temporary file renamed into place"
    );
    let v = read_json(&paths[0]);
    assert_eq!(v["interrupted"], true);
    assert!(v["total"]["requests"].as_u64().unwrap() > 50);
    assert_valid(&v, "interrupted run");
}

#[test]
fn start_at_waits_for_the_wall_clock() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("s.json");
    let at = SystemTime::now() + Duration::from_millis(1200);
    let at_text = humantime::format_rfc3339_millis(at).to_string();
    let (code, _, err) = qps(&[
        "--url",
        &srv.url(),
        "-n",
        "10",
        "--start-at",
        &at_text,
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("waiting to start at"), "{err}");
    let v = read_json(&json);
    let started = v["started_at_unix_ms"].as_u64().unwrap();
    let at_ms = qpsbench::report::unix_ms(at);
    // Never before the instant asked for; how soon after it depends on the machine (the upper
    // bound is a liveness bound only).
    assert!(
        started >= at_ms && started < at_ms + 10_000,
        "started {started}, asked {at_ms}"
    );
    assert_eq!(v["config"]["start_at"], at_text);
    let (code, _, err) = qps(&["--url", &srv.url(), "-n", "1", "--start-at", "yesterday"]);
    assert_eq!(code, 2);
    assert!(err.contains("--start-at"), "{err}");
}

#[test]
fn three_concurrent_runs_merge_exactly() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    // On a whole second: merge puts each run's seconds on the nearest wall-clock second, so a
    // start at .000 keeps runs that start up to 500 ms late (a loaded machine) in line; one at
    // .499 would put a run started 2 ms late a whole second after the others.
    let unix_s = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let at =
        humantime::format_rfc3339_millis(SystemTime::UNIX_EPOCH + Duration::from_secs(unix_s + 3))
            .to_string();
    let url = format!("{}/mix/200,200,200,500", srv.url());
    let counts = [300u64, 240, 180];
    let inputs: Vec<PathBuf> = (0..3)
        .map(|i| dir.path().join(format!("r{i}.json")))
        .collect();
    let children: Vec<_> = inputs
        .iter()
        .zip(counts)
        .map(|(path, n)| {
            bin()
                .args([
                    "--url",
                    &url,
                    "--rps",
                    "120",
                    "-n",
                    &n.to_string(),
                    "-c",
                    "3",
                    "-q",
                    "--start-at",
                    &at,
                    "--json",
                    path.to_str().unwrap(),
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let (code, _, err) = finish(child);
        assert_eq!(code, 0, "{err}");
    }
    let reports: Vec<Value> = inputs.iter().map(|p| read_json(p)).collect();

    let merged = files(dir.path(), "merged");
    let mut args = vec!["merge".to_string()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(output_args(&merged));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = qps(&args);
    assert_eq!(code, 0, "{err}");
    let m = read_json(&merged[0]);
    assert_valid(&m, "merged report");

    // Counts add up, and match what the server saw.
    let sum: u64 = counts.iter().sum();
    assert_eq!(m["total"]["requests"].as_u64().unwrap(), sum);
    assert_eq!(srv.stats.requests.load(Ordering::SeqCst), sum);
    assert_eq!(
        m["total"]["status_counts"]["200"].as_u64().unwrap(),
        sum * 3 / 4
    );
    assert_eq!(
        m["total"]["status_counts"]["500"].as_u64().unwrap(),
        sum / 4
    );
    assert_eq!(m["runs"], 3);
    assert_eq!(m["total"]["users"], 9);
    assert_eq!(m["config"]["rps"], 360.0);
    assert_eq!(m["config"]["start_at"], at);

    // Percentiles equal those of one histogram built here from the three.
    for (hdr, pcts, from_slot) in [
        ("latency_us", "latency_ms", false),
        ("response_time_us", "response_time_ms", true),
    ] {
        let mut all = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for r in &reports {
            all.add(decode(r["total"]["hdr"][hdr].as_str().unwrap()))
                .unwrap();
        }
        assert_eq!(all.len(), sum, "{hdr}");
        let ms = |us: u64| (us as f64 / 1e3 * 1e3).round() / 1e3;
        let got = &m["total"][pcts];
        for (key, q) in [
            ("p50", 0.5),
            ("p90", 0.9),
            ("p95", 0.95),
            ("p99", 0.99),
            ("p999", 0.999),
        ] {
            assert_eq!(
                got[key].as_f64().unwrap(),
                ms(all.value_at_quantile(q)),
                "{pcts}.{key} (from slot: {from_slot})"
            );
        }
        assert_eq!(got["max"].as_f64().unwrap(), ms(all.max()));
        assert_eq!(got["min"].as_f64().unwrap(), ms(all.min()));
    }

    // The series line up on wall-clock seconds: all three started at --start-at, so each
    // merged second holds every run's window of that second.
    let series = m["seconds"].as_array().unwrap();
    let longest = reports
        .iter()
        .map(|r| r["seconds"].as_array().unwrap().len())
        .max()
        .unwrap();
    assert_eq!(series.len(), longest, "{series:#?}");
    let in_series: u64 = series.iter().map(|s| s["requests"].as_u64().unwrap()).sum();
    assert_eq!(in_series, sum);
    assert_eq!(series[0]["users"], 9);
    let first_second: u64 = reports
        .iter()
        .map(|r| r["seconds"][0]["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(series[0]["requests"].as_u64().unwrap(), first_second);

    let csv = std::fs::read_to_string(&merged[1]).unwrap();
    assert!(
        csv.lines()
            .last()
            .unwrap()
            .starts_with(&format!("total,9,{sum},")),
        "{csv}"
    );
    let html = std::fs::read_to_string(&merged[3]).unwrap();
    assert!(html.contains("3 runs merged"));
}

#[test]
fn merge_refuses_what_does_not_fit_together() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.json");
    let paced = dir.path().join("paced.json");
    let ramp = dir.path().join("ramp.json");
    let url = srv.url();
    for (path, extra) in [
        (&plain, vec!["-n", "20"]),
        (&paced, vec!["-n", "20", "--rps", "200"]),
        (&ramp, vec!["--ramp", "1,2", "--step", "0.3s"]),
    ] {
        let mut args = vec!["--url", &url, "-q", "--json", path.to_str().unwrap()];
        args.extend(extra);
        assert_eq!(qps(&args).0, 0);
    }
    let mut v = read_json(&plain);
    v["version"] = "0.0.1-other".into();
    let other_version = dir.path().join("other-version.json");
    std::fs::write(&other_version, v.to_string()).unwrap();
    let mut v = read_json(&plain);
    v["report_format"] = 99.into();
    let other_format = dir.path().join("other-format.json");
    std::fs::write(&other_format, v.to_string()).unwrap();
    let not_report = dir.path().join("not-report.json");
    std::fs::write(&not_report, r#"{"hello": 1}"#).unwrap();
    let not_json = dir.path().join("not.json");
    std::fs::write(&not_json, "total: 3").unwrap();
    let mut v = read_json(&plain);
    v["total"]["hdr"]["latency_us"] = "HISTFAAAA!!".into();
    let damaged = dir.path().join("damaged.json");
    std::fs::write(&damaged, v.to_string()).unwrap();

    let p = |path: &PathBuf| path.to_str().unwrap().to_string();
    let cases = [
        (
            vec![p(&plain), p(&other_version)],
            "by qpsbench 0.0.1-other",
        ),
        (vec![p(&plain), p(&other_format)], "report format 99"),
        (vec![p(&plain), p(&paced)], "paced by --rps"),
        (vec![p(&plain), p(&ramp)], "stages"),
        (vec![p(&plain), p(&plain)], "are the same run"),
        (vec![p(&plain), p(&not_report)], "not a qpsbench report"),
        (vec![p(&not_json)], "not JSON"),
        (vec![p(&damaged)], "not base64"),
        (vec!["/nonexistent/r.json".into()], "cannot read the report"),
    ];
    for (inputs, want) in cases {
        let mut args = vec!["merge".to_string()];
        args.extend(inputs.clone());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = qps(&args);
        assert_eq!(code, 2, "{inputs:?}: {err}");
        assert!(out.is_empty(), "{inputs:?}: {out}");
        assert_eq!(err.trim().lines().count(), 1, "{inputs:?}: one line: {err}");
        assert!(
            err.contains(want),
            "{inputs:?}: '{err}' does not say '{want}'"
        );
    }
    let (code, _, err) = qps(&["merge"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = qps(&["report", "/nonexistent/r.json", "--html", "x.html"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn one_report_that_cannot_be_written_loses_neither_the_others_nor_the_summary() {
    // Issue 13, item 12: --json on a device that takes no bytes, the others on a disk.
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    let csv = dir.path().join("r.csv");
    let (code, out, err) = qps(&[
        "--url",
        &srv.url(),
        "-n",
        "20",
        "-c",
        "2",
        "--json",
        "/dev/full",
        "--html",
        html.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains("--json /dev/full"), "{err}");
    assert!(out.contains("Requests:"), "the summary is printed: {out}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.trim_end().ends_with("</html>"),
        "the HTML report is whole"
    );
    let table = std::fs::read_to_string(&csv).unwrap();
    assert!(
        table.lines().count() >= 2,
        "the CSV report is written: {table}"
    );
    assert_eq!(srv.stats.requests.load(Ordering::SeqCst), 20);
}

#[test]
fn reports_can_go_to_stdout_by_name_and_to_a_fifo() {
    // Issue 13, item 13: pipes and FIFOs refused the truncate and seek of a regular file.
    let srv = server();
    let (code, out, err) = qps(&[
        "--url",
        &srv.url(),
        "-n",
        "10",
        "-q",
        "--json",
        "/dev/stdout",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("stdout holds the JSON report alone");
    assert_eq!(v["total"]["requests"], 10);
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("report.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        skip_outside_ci("mkfifo is not available");
        return;
    }
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let (code, _, err) = qps(&[
        "--url",
        &srv.url(),
        "-n",
        "10",
        "-q",
        "--csv",
        fifo.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let table = reader.join().unwrap();
    assert!(
        table.starts_with("stage,") && table.lines().count() >= 2,
        "{table}"
    );
}

#[test]
fn a_killed_run_leaves_the_previous_report_as_it_was() {
    // Issue 13, items 14 and 15: report files were truncated when the run started, so a run
    // killed before its end (kill -9, out of memory) left them empty and the last report lost.
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("last.json");
    std::fs::write(&path, "{\"previous\": true}").unwrap();
    let child = bin()
        .args(["--url", &srv.url(), "-z", "20", "-c", "2", "-q", "--json"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = child;
    wait_for_server(&srv, 10);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"previous\": true}",
        "the previous report is untouched"
    );
}

/// Issue 15: `--jsonl`, `--csv-series` and `--hdr-log` are written as the run goes. A run
/// killed with SIGKILL after 3 seconds keeps every completed second in each, whole lines,
/// numbered from 1 in order; a run that ends is replaced by its final rows, the same as the
/// JSON report's.
#[test]
fn jsonl_keeps_every_completed_second_of_a_killed_run() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.jsonl");
    let series = dir.path().join("live.csv");
    let hlog = dir.path().join("live.hlog");
    let mut child = bin()
        .args(["--url", &srv.url(), "-z", "30", "-c", "2", "-q", "--jsonl"])
        .arg(&path)
        .arg("--csv-series")
        .arg(&series)
        .arg("--hdr-log")
        .arg(&hlog)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while lines(&path) < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "no third second written"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with('\n'), "whole lines only");
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect();
    assert!(rows.len() >= 3);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["second"], i as u64 + 1);
        assert_eq!(row["interval_s"], 1.0);
        assert!(row["requests"].as_u64().unwrap() > 0, "{row}");
    }
    // The CSV series and the HDR log (written after the JSON line of each second): at least the
    // seconds before the last JSON line, whole lines, the same counts.
    let csv = std::fs::read_to_string(&series).unwrap();
    assert!(csv.ends_with('\n'));
    let csv_rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert!(csv_rows.len() + 1 >= rows.len(), "{csv}");
    for (row, json) in csv_rows.iter().zip(&rows) {
        assert_eq!(row[0], json["second"].to_string());
        assert_eq!(row[4], json["requests"].to_string());
        // Written while the run went: its end was not known yet.
        assert_eq!(row.last(), Some(&"running"), "{csv}");
    }
    let log = std::fs::read_to_string(&hlog).unwrap();
    assert!(log.ends_with('\n'));
    let intervals: Vec<&str> = log.lines().filter(|l| !l.starts_with(['#', '"'])).collect();
    assert!(intervals.len() + 1 >= rows.len(), "{log}");
    for (line, json) in intervals.iter().zip(&rows) {
        let h = line.rsplit(',').next().unwrap();
        assert_eq!(h, json["hdr_latency_us"].as_str().unwrap());
    }

    let json = dir.path().join("r.json");
    let (code, _, err) = qps(&[
        "--url",
        &srv.url(),
        "-z",
        "2.3",
        "-c",
        "2",
        "-q",
        "--jsonl",
        path.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let report = read_json(&json);
    let rows: Vec<Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(&rows, report["seconds"].as_array().unwrap());
}

/// Issue 13, item 2: a ramp stage of 0 users sends nothing, so it has no latency: `-` in every
/// column of the text and HTML tables, empty CSV cells (never 0, which an average would count),
/// `null` with a count of 0 in the JSON.
#[test]
fn a_stage_without_requests_has_no_latency_in_any_output() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let paths = files(dir.path(), "ramp");
    let url = format!("{}/", srv.url());
    let (code, out, err) = qps_with_outputs(
        &["--url", &url, "--ramp", "0,2", "--step", "1s", "--quiet"],
        &paths,
    );
    assert_eq!(code, 0, "{err}");
    let [json, csv, _, html, _] = &paths;

    let row = out
        .lines()
        .find(|l| l.starts_with("1: 0 users"))
        .expect("stage row");
    let cells: Vec<&str> = row.split_whitespace().skip(3).collect();
    // users, requests, time, qps, err%, fail%, then avg min p50 p90 p95 p99 p99.9 max: a rate
    // of 0 per second was measured, an error rate of no requests was not.
    assert_eq!(cells[..4], ["0", "0", "1.0s", "0.0"][..], "{row}");
    assert_eq!(cells[4..], ["-"; 10], "{row}");

    let v = read_json(json);
    assert_valid(&v, "ramp report");
    let stage = &v["stages"][0];
    assert_eq!(stage["requests"], 0);
    for key in ["latency_ms", "ttfb_ms"] {
        assert_eq!(stage[key]["count"], 0, "{key}");
        assert!(
            stage[key]["p50"].is_null() && stage[key]["max"].is_null(),
            "{key}: {}",
            stage[key]
        );
    }
    assert!(v["stages"][1]["latency_ms"]["count"].as_u64().unwrap() > 0);
    assert!(
        stage["error_rate"].is_null() && stage["failure_rate"].is_null(),
        "{stage}"
    );
    assert_eq!(stage["qps"], 0.0);
    let first = &v["seconds"][0];
    assert_eq!(first["requests"], 0, "{first}");
    assert!(
        first["p50_ms"].is_null() && first["max_ms"].is_null(),
        "{first}"
    );

    let table = std::fs::read_to_string(csv).unwrap();
    let header: Vec<&str> = table.lines().next().unwrap().split(',').collect();
    let zero: Vec<&str> = table.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(zero[0], "1: 0 users", "{table}");
    for (name, value) in header.iter().zip(&zero) {
        if name.ends_with("_ms") || name.ends_with("_rate") {
            assert_eq!(*value, "", "{name} in:\n{table}");
        }
    }

    let h = std::fs::read_to_string(html).unwrap();
    assert!(
        h.contains("<td class=\"l\">1: 0 users</td><td>0</td><td>0</td>"),
        "stage row in the HTML"
    );
}

/// A stage the run never reached (its 20 requests were done in the first) has no rate: `-` in
/// the text and HTML, an empty CSV cell, and a 0-second window in the JSON; never a rate of 0.
#[test]
fn a_stage_never_reached_has_no_rate_in_any_output() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let paths = files(dir.path(), "unreached");
    let url = format!("{}/", srv.url());
    let (code, out, err) = qps_with_outputs(
        &[
            "--url", &url, "--ramp", "2,4", "--step", "5s", "-n", "20", "--quiet",
        ],
        &paths,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(srv.stats.requests.load(Ordering::SeqCst), 20);
    let [json, csv, _, html, _] = &paths;
    let row = out
        .lines()
        .find(|l| l.starts_with("2: 4 users"))
        .expect("row");
    let cells: Vec<&str> = row.split_whitespace().skip(3).collect();
    assert_eq!(cells[..4], ["4", "0", "0.0s", "-"][..], "{row}");
    let v = read_json(json);
    assert_eq!(v["stages"][1]["duration_s"], 0.0);
    assert_eq!(v["stages"][1]["requests"], 0);
    let table = std::fs::read_to_string(csv).unwrap();
    let header: Vec<&str> = table.lines().next().unwrap().split(',').collect();
    let qps = header.iter().position(|c| *c == "qps").unwrap();
    let unreached: Vec<&str> = table.lines().nth(2).unwrap().split(',').collect();
    assert_eq!(
        (unreached[0], unreached[qps]),
        ("2: 4 users", ""),
        "{table}"
    );
    let reached: Vec<&str> = table.lines().nth(1).unwrap().split(',').collect();
    assert!(reached[qps].parse::<f64>().unwrap() > 0.0);
    let h = std::fs::read_to_string(html).unwrap();
    assert!(
        h.contains("<td class=\"l\">2: 4 users</td><td>4</td><td>0</td><td>0.0</td><td>-</td>"),
        "stage row in the HTML"
    );
}

/// Issue 13, item 5: one rule for the last, partial second in every output. A timed run ends
/// with the few milliseconds in which its in-flight requests drain; that sliver is added to the
/// second before it (a rate over 3 ms read as twice the real rate), so the JSON, the CSV series
/// and the HDR log have the same windows, none shorter than half a second, and they still add
/// up to the total.
#[test]
fn the_last_partial_second_follows_one_rule_in_every_output() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let paths = files(dir.path(), "tail");
    let url = format!("{}/", srv.url());
    let (code, _, err) =
        qps_with_outputs(&["--url", &url, "-c", "2", "-z", "2", "--quiet"], &paths);
    assert_eq!(code, 0, "{err}");
    let [json, _, series, _, hlog] = &paths;

    let v = read_json(json);
    assert_valid(&v, "timed run");
    let seconds = v["seconds"].as_array().unwrap();
    assert_eq!(
        seconds.len(),
        2,
        "two seconds, the drain inside the second: {seconds:?}"
    );
    let interval = |s: &Value| s["interval_s"].as_f64().unwrap();
    assert_eq!(interval(&seconds[0]), 1.0);
    let last = interval(&seconds[1]);
    assert!(
        (1.0..1.5).contains(&last),
        "the drain is added to second 2: {last}"
    );
    let in_series: u64 = seconds
        .iter()
        .map(|s| s["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(in_series, v["total"]["requests"].as_u64().unwrap());

    // The CSV series: the same windows, each rate over its own length.
    let csv = std::fs::read_to_string(series).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), seconds.len(), "{csv}");
    for (row, s) in rows.iter().zip(seconds) {
        let (requests, len) = (s["requests"].as_f64().unwrap(), interval(s));
        assert_eq!(row[2].parse::<f64>().unwrap(), len, "{csv}");
        let qps: f64 = row[5].parse().unwrap();
        assert!(
            (qps - requests / len).abs() < 0.01,
            "qps {qps} for {requests} in {len} s"
        );
        assert_eq!(
            row[3], "2",
            "users: the drain is not a 0-user window: {csv}"
        );
    }

    // The HDR interval log: the same windows again.
    let log = std::fs::read_to_string(hlog).unwrap();
    let lengths: Vec<f64> = log
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('"'))
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let want: Vec<f64> = seconds
        .iter()
        .map(|s| (interval(s) * 1e3).round() / 1e3)
        .collect();
    assert_eq!(lengths, want, "{log}");
}

/// A symbolic link to a report stays a link (its target gets the new report), an old report's
/// permissions are kept, and a FIFO that nobody reads is refused before the run (opening it
/// would wait for ever), one line, exit 2.
#[test]
fn links_permissions_and_unread_fifos() {
    use std::os::unix::fs::PermissionsExt;
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.json");
    std::fs::write(&target, "old").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let url = srv.url();
    let link_s = link.display().to_string();
    let (code, _, err) = qps(&["--url", &url, "-n", "3", "-q", "--json", &link_s]);
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(read_json(&target)["total"]["requests"], 3);
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.display().to_string()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let before = srv.stats.snapshot().requests;
    let fifo_s = fifo.display().to_string();
    let mut child = bin()
        .args(["--url", &url, "-n", "3", "-q", "--json", &fifo_s])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_with_deadline(&mut child, Duration::from_secs(10))
        .expect("an unread FIFO must not hang the run");
    assert_eq!(status.code(), Some(2));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("no process is reading this FIFO"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(srv.stats.snapshot().requests, before, "no request sent");
}

/// `/dev/stderr` (or `/dev/fd/N`, `/proc/self/fd/N`) is a descriptor of the process, written
/// where it points: with stderr redirected to a log file, the report is appended to the log,
/// and neither the system's `/dev/stderr` link nor the log is replaced (renaming over it did).
#[test]
fn a_report_to_dev_stderr_goes_where_stderr_goes() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    for dest in ["/dev/stderr", "/proc/self/fd/2"] {
        let log = dir.path().join("err.log");
        std::fs::write(&log, "earlier line\n").unwrap();
        let file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        let status = bin()
            .args(["--url", &srv.url(), "-n", "3", "-q", "--json", dest])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(file))
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(0), "{dest}");
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.starts_with("earlier line\n"),
            "{dest}: the log was replaced: {text:.200}"
        );
        let json = &text[text.find('{').expect("the JSON is in the log")..];
        let v: Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["total"]["requests"], 3, "{dest}");
    }
    let meta = std::fs::symlink_metadata("/dev/stderr").unwrap();
    assert!(
        meta.file_type().is_symlink(),
        "/dev/stderr is still the system's link"
    );
}

/// Issue 15: a long run's report has 60 s windows before its last hour. Merged with a run that
/// started 30 s later and kept one row a second, the windows that overlap become one window
/// spanning them: the merged series is contiguous, never double-counts a second, and adds up to
/// the rows fed in (hand-built rows: the witness is the counts written here).
#[test]
fn merge_joins_a_long_runs_minute_windows_with_another_runs_seconds() {
    use qpsbench::stats::bucket::Bucket;
    use qpsbench::stats::rows::SecondReport;
    let srv = server();
    let base = run(&["--url", &srv.url(), "-n", "5", "--json", "/dev/null"]);
    let row = |second: u64, length_s: u64, n: u64| {
        let mut b = Bucket::new(false);
        b.requests = n;
        b.ok = n;
        SecondReport::from_bucket(second, Duration::from_secs(length_s), 1, &b)
    };
    let mut long = base.clone();
    // Two minute windows (seconds 1-120), then one row a second (121-125).
    long.seconds = vec![row(1, 60, 600), row(61, 60, 600)];
    long.seconds.extend((121..=125).map(|s| row(s, 1, 10)));
    let mut short = base.clone();
    short.started_at_unix_ms = long.started_at_unix_ms + 30_000;
    short.seconds = (1..=100).map(|s| row(s, 1, 1)).collect();
    let fed: u64 = long
        .seconds
        .iter()
        .chain(&short.seconds)
        .map(|s| s.requests)
        .sum();
    let m = qpsbench::report::merge::merge(&[("long".into(), long), ("short".into(), short)])
        .expect("merges");
    let total: u64 = m.seconds.iter().map(|s| s.requests).sum();
    assert_eq!(total, fed);
    // Contiguous: each window starts where the one before ended.
    let mut next = 1;
    for s in &m.seconds {
        assert_eq!(
            s.second,
            next,
            "{:?}",
            m.seconds
                .iter()
                .map(|s| (s.second, s.interval_s))
                .collect::<Vec<_>>()
        );
        next += (s.interval_s.round() as u64).max(1);
    }
    // Seconds 1-120 of the long run hold short's seconds 1-90 (wall-clock 31-120): one window.
    assert_eq!((m.seconds[0].second, m.seconds[0].interval_s), (1, 60.0));
    assert_eq!(m.seconds[0].requests, 600 + 30);
    assert_eq!((m.seconds[1].second, m.seconds[1].interval_s), (61, 60.0));
    assert_eq!(m.seconds[1].requests, 600 + 60);
    // Then one row a second: long's 121-125 beside short's 91-95, short's alone to 130.
    assert_eq!((m.seconds[2].second, m.seconds[2].requests), (121, 11));
    assert_eq!(
        m.seconds.last().map(|s| (s.second, s.requests)),
        Some((130, 1))
    );
}

/// The page runs only uPlot and its chart script, each allowed by its SHA-256 in the policy
/// (hashed here independently with `sha2`), and carries its chart data in one JSON block that
/// parses: any other `<script`, or an unlisted one, means something leaked into the markup.
fn assert_only_our_scripts(html: &str) {
    use base64::Engine as _;
    use sha2::Digest as _;
    assert_eq!(html.matches("<script").count(), 3, "three script elements");
    let data = html
        .split("<script type=\"application/json\" id=\"qpsbench-charts\">")
        .nth(1)
        .expect("the chart data");
    let data = &data[..data.find("</script>").unwrap()];
    serde_json::from_str::<serde_json::Value>(data).expect("the chart data is JSON");
    let policy = html
        .split("http-equiv=\"Content-Security-Policy\" content=\"")
        .nth(1)
        .unwrap();
    let policy = &policy[..policy.find('"').unwrap()];
    assert!(policy.starts_with("default-src 'none';"), "{policy}");
    let scripts: Vec<&str> = html
        .split("<script>")
        .skip(1)
        .map(|s| &s[..s.find("</script>").unwrap()])
        .collect();
    assert_eq!(scripts.len(), 2);
    for script in scripts {
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script));
        assert!(policy.contains(&format!("'sha256-{hash}'")), "{policy}");
    }
    assert!(!policy.contains("unsafe-inline'; script") && !policy.contains("script-src 'unsafe"));
}

/// A crafted report cannot drive the terminal: the control characters of its name, URL and
/// stage names (ESC, the OSC that retitles a window, BEL, a carriage return) are printed
/// escaped by `report` and `merge`, as `\u{1b}`.
#[test]
fn a_saved_report_s_control_characters_reach_the_terminal_escaped() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("run.json");
    let (code, _, err) = qps(&[
        "--url",
        &srv.url(),
        "--ramp",
        "1,2",
        "--step",
        "0.3s",
        "-q",
        "--json",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let mut v = read_json(&saved);
    v["name"] = Value::from("evil\u{1b}]0;pwned\u{7}\u{1b}[2J");
    v["config"]["url"] = Value::from("http://x/\u{1b}[31mred\rback");
    v["stages"][0]["name"] = Value::from("1: \u{1b}[1Abold\u{9b}");
    let crafted = dir.path().join("crafted.json");
    std::fs::write(&crafted, serde_json::to_string(&v).unwrap()).unwrap();
    let crafted = crafted.to_str().unwrap();
    for args in [vec!["report", crafted], vec!["merge", crafted]] {
        let (code, out, err) = qps(&args);
        assert_eq!(code, 0, "{args:?}: {err}");
        // Only newlines below the space, no DEL, no C1 control (0x80-0x9f).
        let raw: Vec<char> = out
            .chars()
            .filter(|&c| (c < ' ' && c != '\n') || ('\u{7f}'..='\u{9f}').contains(&c))
            .collect();
        assert!(raw.is_empty(), "{args:?}: raw control characters {raw:?}");
        for shown in [
            r"evil\u{1b}]0;pwned\u{7}\u{1b}[2J",
            r"http://x/\u{1b}[31mred\rback",
            r"\u{1b}[1Abold\u{9b}",
        ] {
            assert!(out.contains(shown), "{args:?}: {shown} not in\n{out}");
        }
        // The stage table is measured as printed: its rows stay the same width.
        let row = |start: &str| {
            out.lines()
                .find(|l| l.starts_with(start))
                .unwrap_or_else(|| panic!("no {start} row:\n{out}"))
                .chars()
                .count()
        };
        assert_eq!(row("1: "), row("total "), "{args:?}\n{out}");
    }
}
