//! `qpsbench compare` and `--baseline` gates, against two real runs: a baseline against the
//! embedded target, and a run against one that answers 2 ms later and 20% of the time with a
//! 500. Every change and every verdict is checked against what this test computes itself from
//! the two `--json` files (read as plain JSON values, not through qpsbench's types).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use qpsbench::serve::ServeConfig;
use serde_json::Value;

/// The two runs' report files, in a directory that lives as long as the test.
struct Runs {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    base: String,
    slow: String,
}

/// A baseline run named `base` (200 requests against the plain target) and a run saved as
/// `slow.json` without a name (200 requests against a target 2 ms slower with 20% errors).
fn two_runs() -> Runs {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let base = d.join("base.json").to_str().unwrap().to_string();
    let slow = d.join("slow.json").to_str().unwrap().to_string();
    let fast = server();
    save_run(
        &fast.url(),
        &["-n", "200", "-c", "2", "--name", "base"],
        &base,
    );
    save_run(
        &slow_erring_server().url(),
        &["-n", "200", "-c", "2"],
        &slow,
    );
    Runs {
        _dir: dir,
        dir: d,
        base,
        slow,
    }
}

fn slow_erring_server() -> qpsbench::serve::ServerHandle {
    server_with(ServeConfig {
        threads: 2,
        delay: Duration::from_millis(2),
        error_rate: 0.2,
        ..ServeConfig::ephemeral()
    })
}

fn read_json(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The witness's figures of a report's total row, read from the file as plain JSON.
#[derive(Debug, Clone, Copy)]
struct Fig {
    requests: u64,
    qps: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    error_rate: f64,
    failure_rate: f64,
}

fn figures(path: &str) -> Fig {
    let v = read_json(path);
    let t = &v["total"];
    let f = |v: &Value| {
        v.as_f64()
            .unwrap_or_else(|| panic!("{path}: not a number: {v}"))
    };
    Fig {
        requests: t["requests"].as_u64().unwrap(),
        qps: f(&t["qps"]),
        p50: f(&t["latency_ms"]["p50"]),
        p90: f(&t["latency_ms"]["p90"]),
        p99: f(&t["latency_ms"]["p99"]),
        error_rate: f(&t["error_rate"]),
        failure_rate: f(&t["failure_rate"]),
    }
}

/// The changes the witness expects, in the CSV's column order: qps, p50, p90, p99 in %, error
/// and failure rates in pp.
fn changes(a: Fig, b: Fig) -> [(&'static str, f64); 6] {
    let pct = |a: f64, b: f64| (b - a) / a * 100.0;
    [
        ("qps_change_pct", pct(a.qps, b.qps)),
        ("p50_change_pct", pct(a.p50, b.p50)),
        ("p90_change_pct", pct(a.p90, b.p90)),
        ("p99_change_pct", pct(a.p99, b.p99)),
        (
            "error_rate_change_pp",
            (b.error_rate - a.error_rate) * 100.0,
        ),
        (
            "failure_rate_change_pp",
            (b.failure_rate - a.failure_rate) * 100.0,
        ),
    ]
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-9 * want.abs().max(1.0)
}

/// `--json` of compare must match docs/compare.schema.json.
fn assert_valid_compare(v: &Value) {
    assert_matches_schema("compare.schema.json", v, "compare");
}

#[test]
fn every_change_is_the_witness_s_in_text_csv_json_and_html() {
    let runs = two_runs();
    let (a, b) = (figures(&runs.base), figures(&runs.slow));
    assert_eq!((a.requests, b.requests), (200, 200));
    // The setting makes the direction known by hand: 2 ms later, 20% errors.
    assert!(b.p50 >= 2.0 && b.p50 > a.p50, "{a:?} {b:?}");
    assert!(b.error_rate > a.error_rate, "{a:?} {b:?}");
    let want = changes(a, b);
    let out = |name: &str| runs.dir.join(name).to_str().unwrap().to_string();
    let (csv, json, html) = (out("c.csv"), out("c.json"), out("c.html"));
    let (code, text, err) = qps(&[
        "compare", &runs.base, &runs.slow, "--csv", &csv, "--json", &json, "--html", &html,
    ]);
    assert_eq!(code, 0, "{err}");

    // CSV: a header, the baseline's row (no changes), the run's row.
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = csv_text.lines().collect();
    assert_eq!(lines.len(), 3, "{csv_text}");
    let header: Vec<&str> = lines[0].split(',').collect();
    let row = |i: usize| -> std::collections::HashMap<&str, &str> {
        header.iter().copied().zip(lines[i].split(',')).collect()
    };
    let (base_row, slow_row) = (row(1), row(2));
    assert_eq!(
        (base_row["run"], base_row["baseline"]),
        ("base", "true"),
        "named by --name"
    );
    assert_eq!(
        (slow_row["run"], slow_row["baseline"]),
        ("slow", "false"),
        "named by its file"
    );
    assert_eq!(
        (base_row["status"], slow_row["status"]),
        ("complete", "complete")
    );
    for (col, want) in [
        ("requests", b.requests as f64),
        ("qps", b.qps),
        ("p50_ms", b.p50),
        ("p90_ms", b.p90),
        ("p99_ms", b.p99),
        ("error_rate", b.error_rate),
        ("failure_rate", b.failure_rate),
    ] {
        let got: f64 = slow_row[col].parse().unwrap();
        assert!(close(got, want), "CSV {col}: {got} != {want}");
    }
    for (col, want) in want {
        assert_eq!(base_row[col], "", "the baseline has no {col}");
        let got: f64 = slow_row[col].parse().unwrap();
        assert!(close(got, want), "CSV {col}: {got} != {want}");
    }

    // JSON: the same numbers, nulls for the baseline, and the schema.
    let doc = read_json(&json);
    assert_valid_compare(&doc);
    assert_eq!(doc["baseline"], "base");
    let (j0, j1) = (&doc["runs"][0], &doc["runs"][1]);
    assert_eq!(
        (j0["file"].as_str(), j1["name"].as_str()),
        (Some(runs.base.as_str()), Some("slow"))
    );
    for (key, want) in want {
        assert!(j0[key].is_null(), "baseline {key}: {}", j0[key]);
        let got = j1[key].as_f64().unwrap();
        assert!(close(got, want), "JSON {key}: {got} != {want}");
    }

    // Text: a row per run, the change line under the run, within 100 columns.
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    let change_line = text
        .lines()
        .find(|l| l.starts_with("  vs baseline"))
        .unwrap_or_else(|| panic!("no change line:\n{text}"));
    let shown: Vec<&str> = change_line.split_whitespace().skip(2).collect();
    let expected: Vec<String> = want
        .iter()
        .map(|(k, v)| {
            if k.ends_with("_pp") {
                format!("{v:+.2}pp")
            } else {
                format!("{v:+.1}%")
            }
        })
        .collect();
    assert_eq!(shown, expected, "{text}");
    assert!(text.contains("  (baseline)"), "{text}");
    let slow_line = text.lines().find(|l| l.starts_with("slow ")).unwrap();
    let cells: Vec<&str> = slow_line.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "slow".to_string(),
            b.requests.to_string(),
            format!("{:.1}", b.qps),
            format!("{:.3}", b.p50),
            format!("{:.3}", b.p90),
            format!("{:.3}", b.p99),
            format!("{:.2}", b.error_rate * 100.0),
            format!("{:.2}", b.failure_rate * 100.0),
        ],
        "{text}"
    );

    // HTML: both rows; each later figure with its change under it, coloured by the witness's
    // direction (more qps is better; more latency, errors or failures worse); a thresholds
    // column (`-` without --fail-on); nothing that needs the network.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<td class=\"l f\">base<br><small>baseline</small></td>"),
        "{page}"
    );
    assert!(page.contains("<td class=\"l f\">slow</td>"), "{page}");
    assert_eq!(page.matches("<td class=\"l\">complete</td>").count(), 2);
    assert_eq!(page.matches("<td class=\"l\">-</td></tr>").count(), 2);
    let values = [
        format!("{:.1}", b.qps),
        format!("{:.3}", b.p50),
        format!("{:.3}", b.p90),
        format!("{:.3}", b.p99),
        format!("{:.2}", b.error_rate * 100.0),
        format!("{:.2}", b.failure_rate * 100.0),
    ];
    for ((k, v), value) in want.iter().zip(&values) {
        let (shown, rounded) = if k.ends_with("_pp") {
            (format!("{v:+.2}pp"), (v * 100.0).round())
        } else {
            (format!("{v:+.1}%"), (v * 10.0).round())
        };
        let better = if *k == "qps_change_pct" {
            rounded > 0.0
        } else {
            rounded < 0.0
        };
        let class = match rounded {
            0.0 => String::new(),
            _ if better => " class=\"better\"".to_string(),
            _ => " class=\"worse\"".to_string(),
        };
        let cell = format!("<td>{value}<br><small{class}>{shown}</small></td>");
        assert!(page.contains(&cell), "{cell} not in the page");
    }
    // Known by hand: the slow run's p50 and error rate are worse.
    assert!(page.matches("class=\"worse\"").count() >= 2, "{page}");
    assert!(!page.contains("<script") && !page.contains("http://") && !page.contains("https://"));

    // `--json -`: the document on stdout, the table on stderr.
    let (code, out, err) = qps(&["compare", &runs.base, &runs.slow, "--json", "-"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), doc);
    assert!(err.contains("  vs baseline"), "{err}");
}

/// A change the run meets and one it misses, around the observed `change` (in % or pp) of a
/// metric judged by `op`: at least 1 (or half the change) beyond it on each side, a fall in %
/// never past -100.
fn sides(change: f64, op: &str, unit: &str) -> (f64, f64) {
    let margin = (change.abs() / 2.0).max(1.0);
    let mut lower = change - margin;
    if unit == "%" && lower < -100.0 {
        lower = (change - 100.0) / 2.0;
    }
    let upper = change + margin;
    if op == "<" {
        (upper, lower)
    } else {
        (lower, upper)
    }
}

/// Expression text for a signed limit with 3 decimals (`+12.345%`, `-4.000pp`).
fn signed(v: f64, unit: &str) -> String {
    format!("{v:+.3}{unit}")
}

/// The witness's verdict and limit of a change, as the tool must compute them.
fn judge(base: f64, run: f64, op: &str, change: f64, unit: &str) -> (f64, bool) {
    let change = (change * 1000.0).round() / 1000.0;
    let limit = if unit == "pp" {
        base + change / 100.0
    } else {
        base * (1.0 + change / 100.0)
    };
    let passed = match op {
        "<" => run < limit,
        ">" => run > limit,
        _ => unreachable!(),
    };
    (limit, passed)
}

/// Check the tool's JSON verdicts against the witness's: the baseline value, the limit made
/// of it and the pass or fail. Returns whether all passed.
fn check_verdicts(thresholds: &Value, gates: &[(String, f64, f64, f64, &str, &str)]) -> bool {
    let list = thresholds.as_array().expect("thresholds");
    assert_eq!(list.len(), gates.len(), "{thresholds:#}");
    let mut all = true;
    for (t, (text, base, run, change, op, unit)) in list.iter().zip(gates) {
        let (limit, passed) = judge(*base, *run, op, *change, unit);
        assert_eq!(t["expression"], text.as_str());
        assert!(
            close(t["baseline"]["value"].as_f64().unwrap(), *base),
            "{t}"
        );
        assert!(
            close(t["limit"].as_f64().unwrap(), limit),
            "{t}: limit {limit}"
        );
        assert!(close(t["measured"].as_f64().unwrap(), *run), "{t}");
        assert_eq!(
            t["passed"].as_bool(),
            Some(passed),
            "{t}: witness says {passed}"
        );
        all &= passed;
    }
    all
}

#[test]
fn baseline_gates_pass_and_fail_as_the_witness_computes_them() {
    let runs = two_runs();
    let (a, b) = (figures(&runs.base), figures(&runs.slow));
    let [qps_c, _, _, p99_c, err_c, _] = changes(a, b).map(|(_, v)| v);
    let (p99_pass, p99_fail) = sides(p99_c, "<", "%");
    let (err_pass, err_fail) = sides(err_c, "<", "pp");
    let (qps_pass, qps_fail) = sides(qps_c, ">", "%");
    let gate = |p99: f64, qps: f64, err: f64| {
        vec![
            (
                format!("p99<{}", signed(p99, "%")),
                a.p99,
                b.p99,
                p99,
                "<",
                "%",
            ),
            (
                format!("qps>{}", signed(qps, "%")),
                a.qps,
                b.qps,
                qps,
                ">",
                "%",
            ),
            (
                format!("error-rate<{}", signed(err, "pp")),
                a.error_rate,
                b.error_rate,
                err,
                "<",
                "pp",
            ),
        ]
    };
    let spec = |g: &[(String, f64, f64, f64, &str, &str)]| {
        g.iter().map(|t| t.0.clone()).collect::<Vec<_>>().join(",") + ",p50<10s"
    };
    let out = runs.dir.join("g.json").to_str().unwrap().to_string();
    for (gates, why) in [
        (
            gate(p99_pass, qps_pass, err_pass),
            "limits beyond the change",
        ),
        (
            gate(p99_fail, qps_pass, err_pass),
            "p99 short of its change",
        ),
        (
            gate(p99_pass, qps_fail, err_pass),
            "qps short of its change",
        ),
        (
            gate(p99_pass, qps_pass, err_fail),
            "error rate short of its change",
        ),
    ] {
        let spec = spec(&gates);
        // compare: the run after the first checked against it.
        let page = runs.dir.join("g.html").to_str().unwrap().to_string();
        let (code, text, err) = qps(&[
            "compare",
            &runs.base,
            &runs.slow,
            "--fail-on",
            &spec,
            "--json",
            &out,
            "--html",
            &page,
        ]);
        // The HTML's thresholds column: the baseline is not gated; the run's count is the
        // witness's (the absolute p50<10s passes).
        let failed = gates
            .iter()
            .filter(|(_, base, run, change, op, unit)| !judge(*base, *run, op, *change, unit).1)
            .count();
        let column = if failed == 0 {
            format!("<td class=\"l\">passed {}</td></tr>", gates.len() + 1)
        } else {
            format!(
                "<td class=\"l\"><b>FAILED {failed} of {}</b></td></tr>",
                gates.len() + 1
            )
        };
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(html.contains(&column), "{column} not in the page");
        assert!(
            html.contains("<td class=\"l\">-</td></tr>"),
            "the baseline's cell"
        );
        let doc = read_json(&out);
        assert_valid_compare(&doc);
        let thresholds = &doc["runs"][1]["thresholds"];
        let mut list = thresholds.as_array().unwrap().clone();
        // The absolute limit in the same list: the last, no baseline.
        let absolute = list.pop().unwrap();
        assert_eq!(absolute["limit"].as_f64(), Some(10_000.0));
        assert!(absolute.get("baseline").is_none(), "{absolute}");
        let passed = check_verdicts(&Value::from(list), &gates);
        assert_eq!(
            code,
            if passed { 0 } else { 1 },
            "{why}: {spec}\n{text}{err}"
        );
        assert_eq!(
            passed,
            why == "limits beyond the change",
            "{why}: the witness disagrees"
        );
        assert!(
            doc["runs"][0].get("thresholds").is_none(),
            "the baseline is not gated"
        );
        // The text says what baseline and limit it computed.
        let (limit, _) = judge(a.p99, b.p99, "<", gates[0].3, "%");
        let line = format!(
            "{}: {} (baseline {:.3} ms -> limit {:.3} ms, measured {:.3} ms)",
            gates[0].0,
            if b.p99 < limit { "passed" } else { "FAILED" },
            a.p99,
            limit,
            b.p99
        );
        assert!(text.contains(&line), "{line}\n{text}");
        assert!(
            text.contains("Thresholds of slow (--fail-on, baseline base): "),
            "{text}"
        );

        // report: the saved run checked against the baseline file, the same verdicts.
        let (code, text, err) = qps(&[
            "report",
            &runs.slow,
            "--baseline",
            &runs.base,
            "--fail-on",
            &spec,
            "--json",
            &out,
        ]);
        assert_eq!(
            code,
            if passed { 0 } else { 1 },
            "{why}: {spec}\n{text}{err}"
        );
        let report = read_json(&out);
        assert_valid(&report, "a report gated against a baseline");
        let mut list = report["thresholds"].as_array().unwrap().clone();
        list.pop();
        assert_eq!(check_verdicts(&Value::from(list), &gates), passed);
        assert_eq!(
            report["thresholds"][0]["baseline"]["source"],
            runs.base.as_str()
        );
        assert!(
            text.contains(&format!("Thresholds (--fail-on, baseline {}): ", runs.base)),
            "{text}"
        );
    }
}

#[test]
fn a_run_is_gated_against_its_baseline_after_the_load() {
    let runs = two_runs();
    let a = figures(&runs.base);
    let target = slow_erring_server();
    let out = runs.dir.join("new.json").to_str().unwrap().to_string();
    let page = runs.dir.join("new.html").to_str().unwrap().to_string();
    // One gate the slower run misses and one it meets, decided below from the files.
    for (spec, op, change, unit) in [
        ("p50<+1%", "<", 1.0, "%"),
        ("p50>+1%", ">", 1.0, "%"),
        ("error-rate<+100pp", "<", 100.0, "pp"),
    ] {
        let (code, text, err) = qps(&[
            "--url",
            &target.url(),
            "-n",
            "100",
            "-c",
            "2",
            "-q",
            "--baseline",
            &runs.base,
            "--fail-on",
            spec,
            "--json",
            &out,
            "--html",
            &page,
        ]);
        let b = figures(&out);
        let (base, run) = if unit == "pp" {
            (a.error_rate, b.error_rate)
        } else {
            (a.p50, b.p50)
        };
        let (limit, passed) = judge(base, run, op, change, unit);
        assert_eq!(code, if passed { 0 } else { 1 }, "{spec}\n{text}{err}");
        let report = read_json(&out);
        assert_valid(&report, "a run gated against a baseline");
        let t = &report["thresholds"][0];
        assert!(close(t["limit"].as_f64().unwrap(), limit), "{t}");
        assert!(close(t["baseline"]["value"].as_f64().unwrap(), base), "{t}");
        assert_eq!(t["passed"].as_bool(), Some(passed));
        // 2 ms later than the baseline's target: the witness's verdicts are known by hand.
        assert_eq!(passed, spec != "p50<+1%", "{spec}: {a:?} {b:?}");
        // The summary and the HTML report say the baseline value and the limit made of it.
        let show = |v: f64| {
            if unit == "pp" {
                format!("{:.3}%", v * 100.0)
            } else {
                format!("{v:.3} ms")
            }
        };
        let words = format!("baseline {} -> limit {}", show(base), show(limit));
        assert!(
            text.contains(&format!("{spec}: ")) && text.contains(&words),
            "{words}\n{text}"
        );
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(
            html.contains(&words.replace('>', "&gt;")),
            "{words} not in the HTML report"
        );
    }
}

#[test]
fn a_run_without_requests_shows_dashes_and_no_changes() {
    let runs = two_runs();
    // Every request outlasts the 1 s run: none completes.
    let silent = slow_server(Duration::from_secs(5));
    let none = runs.dir.join("none.json").to_str().unwrap().to_string();
    save_run(&silent.url(), &["-z", "1", "-c", "1"], &none);
    assert_eq!(read_json(&none)["total"]["requests"], 0);
    let csv = runs.dir.join("n.csv").to_str().unwrap().to_string();
    let json = runs.dir.join("n.json").to_str().unwrap().to_string();
    let (code, text, err) = qps(&["compare", &runs.base, &none, "--csv", &csv, "--json", &json]);
    assert_eq!(code, 0, "{err}");
    let doc = read_json(&json);
    assert_valid_compare(&doc);
    let run = &doc["runs"][1];
    for key in [
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "error_rate",
        "failure_rate",
        "qps_change_pct",
        "p50_change_pct",
        "p90_change_pct",
        "p99_change_pct",
        "error_rate_change_pp",
        "failure_rate_change_pp",
    ] {
        assert!(run[key].is_null(), "{key}: {}", run[key]);
    }
    let row = std::fs::read_to_string(&csv).unwrap();
    let row = row.lines().nth(2).unwrap();
    assert!(row.starts_with("none,"), "{row}");
    // qps is measured (0 per second); everything after it is empty.
    assert!(row.ends_with(",,,,,,,,,,,,complete"), "{row}");
    let line = text.lines().find(|l| l.starts_with("none ")).unwrap();
    assert_eq!(
        line.split_whitespace().filter(|c| *c == "-").count(),
        5,
        "{text}"
    );
    let change = text
        .lines()
        .rfind(|l| l.starts_with("  vs baseline"))
        .unwrap();
    assert_eq!(
        change.split_whitespace().skip(2).collect::<Vec<_>>(),
        ["-"; 6],
        "{text}"
    );
}

/// A goodput change compares runs judged by the same `--goodput` objectives (as parsed: the
/// spacing does not matter); a latency gate, or an absolute goodput limit, across different
/// objectives is fine. A refused `run --baseline` sends nothing: the target's own counter says.
#[test]
fn goodput_changes_need_the_baseline_s_objectives() {
    let dir = tempfile::tempdir().unwrap();
    let target = server();
    let run = |name: &str, objectives: &str| {
        let path = dir.path().join(name).to_str().unwrap().to_string();
        save_run(
            &target.url(),
            &["-n", "20", "-c", "1", "--goodput", objectives],
            &path,
        );
        path
    };
    let one = run("one.json", "e2el<1s");
    let spaced = run("spaced.json", "e2el < 1s");
    let two = run("two.json", "e2el<2s");
    // The same objectives, written otherwise: judged (every request is good on both sides).
    for args in [
        vec!["compare", &one, &spaced, "--fail-on", "goodput-ratio>-1pp"],
        vec![
            "report",
            &spaced,
            "--baseline",
            &one,
            "--fail-on",
            "goodput-ratio>-1pp",
        ],
        // Other objectives, but no goodput change: judged.
        vec![
            "compare",
            &one,
            &two,
            "--fail-on",
            "p99<+10000%,goodput-ratio>0.5",
        ],
        vec![
            "report",
            &two,
            "--baseline",
            &one,
            "--fail-on",
            "p99<+10000%",
        ],
    ] {
        let (code, out, err) = qps(&args);
        assert_eq!(code, 0, "{args:?}\n{out}{err}");
        assert!(out.contains("passed"), "{args:?}\n{out}");
    }
    let (code, out, err) = qps(&["compare", &one, &two, "--fail-on", "goodput>-5%"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("has --goodput 'e2el<1s'") && err.contains("has --goodput 'e2el<2s'"),
        "{err}"
    );
    let before = target.stats.snapshot().requests;
    let (code, out, err) = qps(&[
        "--url",
        &target.url(),
        "-n",
        "5",
        "--goodput",
        "e2el<2s",
        "--baseline",
        &one,
        "--fail-on",
        "goodput>-5%",
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(
        target.stats.snapshot().requests,
        before,
        "a request was sent"
    );
}

/// A run given twice (the same file by any spelling, a symlink, a copy) is compared with
/// itself: allowed, with a warning on stderr, and every row has its own name.
#[test]
fn a_run_given_twice_is_warned_of_and_its_rows_named_apart() {
    let runs = two_runs();
    let dotted = runs.dir.join("./sub/../base.json");
    std::fs::create_dir(runs.dir.join("sub")).unwrap();
    let dotted = dotted.to_str().unwrap().to_string();
    let link = runs.dir.join("link.json");
    std::os::unix::fs::symlink(&runs.base, &link).unwrap();
    let link = link.to_str().unwrap().to_string();
    let copy = runs.dir.join("copy.json").to_str().unwrap().to_string();
    std::fs::copy(&runs.slow, &copy).unwrap();
    let out = runs.dir.join("twice.json").to_str().unwrap().to_string();
    let given_twice = format!("warning: {} is given twice", runs.base);
    // (the two files, the names the rows must have, the warning)
    for (a, b, names, warning) in [
        // The same path: both rows are the run named base.
        (
            &runs.base,
            &runs.base,
            [("base".to_string()), "base (2)".to_string()],
            given_twice.clone(),
        ),
        // Two spellings, or a symlink: named by the files as given.
        (
            &runs.base,
            &dotted,
            [runs.base.clone(), dotted.clone()],
            given_twice.clone(),
        ),
        (
            &runs.base,
            &link,
            [runs.base.clone(), link.clone()],
            given_twice.clone(),
        ),
        // A copy: its own file name, and a warning that it holds the same run.
        (
            &runs.slow,
            &copy,
            ["slow".to_string(), "copy".to_string()],
            format!("warning: {} and {copy} hold the same run", runs.slow),
        ),
    ] {
        let (code, text, err) = qps(&["compare", a, b, "--json", &out]);
        assert_eq!(code, 0, "{a} {b}: {err}");
        assert!(err.contains(&warning), "{a} {b}: {warning} not in {err}");
        // The same spelling twice is not said to be "also" itself.
        if warning.contains("given twice") {
            assert_eq!(err.contains("(also as"), a != b, "{a} {b}: {err}");
        }
        assert_eq!(err.lines().count(), 1, "{err}");
        let doc = read_json(&out);
        assert_valid_compare(&doc);
        let got: Vec<&str> = doc["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(got, names, "{text}");
        assert_eq!(doc["baseline"], names[0].as_str());
        // A run against itself changes by nothing.
        assert_eq!(
            doc["runs"][1]["p99_change_pct"].as_f64(),
            Some(0.0),
            "{doc:#}"
        );
    }
    // Two different runs: no warning.
    let (code, _, err) = qps(&["compare", &runs.base, &runs.slow]);
    assert_eq!((code, err.as_str()), (0, ""));
}

/// Runs that did not end as planned are compared, and marked: `(interrupted)`/`(aborted)` in
/// the text and the verdict line, a `status` in the CSV, the JSON and the HTML. The witness:
/// this test sent the Ctrl-C, and each report file says `interrupted` or `aborted`.
#[test]
fn interrupted_and_aborted_runs_are_marked() {
    let runs = two_runs();
    let target = slow_erring_server();
    let cut = runs.dir.join("cut.json").to_str().unwrap().to_string();
    let child = bin()
        .args([
            "--url",
            &target.url(),
            "-z",
            "20s",
            "-c",
            "2",
            "-q",
            "--json",
            &cut,
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_server(&target, 20);
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let (code, _, err) = finish(child);
    assert_eq!(code, 130, "{err}");
    assert_eq!(read_json(&cut)["interrupted"], true);
    // 20% errors: stopped within about a second of its first full one-second window.
    let stopped = runs.dir.join("stopped.json").to_str().unwrap().to_string();
    let (code, _, err) = qps(&[
        "--url",
        &target.url(),
        "-z",
        "20s",
        "-c",
        "2",
        "-q",
        "--abort-on",
        "error-rate>5%",
        "--abort-window",
        "1s",
        "--json",
        &stopped,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(read_json(&stopped)["aborted"].is_object());

    let out = |name: &str| runs.dir.join(name).to_str().unwrap().to_string();
    let (csv, json, html) = (out("s.csv"), out("s.json"), out("s.html"));
    let (code, text, err) = qps(&[
        "compare",
        &runs.base,
        &cut,
        &stopped,
        "--fail-on",
        "p99<+100000%",
        "--csv",
        &csv,
        "--json",
        &json,
        "--html",
        &html,
    ]);
    // The gate still runs, and passes.
    assert_eq!(code, 0, "{text}{err}");
    assert!(
        text.lines().any(|l| l.starts_with("cut (interrupted) ")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("stopped (aborted) ")),
        "{text}"
    );
    assert!(
        text.contains("Thresholds of cut, an interrupted run (Ctrl-C): it measured less than planned (--fail-on, baseline base): 1 passed, 0 failed"),
        "{text}"
    );
    assert!(
        text.contains("Thresholds of stopped, a run stopped by --abort-on: it measured less than planned (--fail-on"),
        "{text}"
    );
    let want = ["complete", "interrupted", "aborted"];
    let doc = read_json(&json);
    assert_valid_compare(&doc);
    let got: Vec<&str> = (0..3)
        .map(|i| doc["runs"][i]["status"].as_str().unwrap())
        .collect();
    assert_eq!(got, want);
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    let last: Vec<&str> = csv_text
        .lines()
        .map(|l| l.rsplit(',').next().unwrap())
        .collect();
    assert_eq!(last, ["status", want[0], want[1], want[2]], "{csv_text}");
    let page = std::fs::read_to_string(&html).unwrap();
    for w in [
        "<b>interrupted</b>",
        "<b>aborted</b>",
        "passed 1</td>",
        ", an interrupted run (Ctrl-C)",
    ] {
        assert!(page.contains(w), "{w} not in the page");
    }
}

/// A huge change (a target 300 ms slower than one that answers in microseconds) widens its
/// column instead of pushing the row out of line: every line of the table, the header, each
/// run and each change line, ends in the same column (the last is right-aligned).
#[test]
fn a_huge_change_keeps_the_table_aligned() {
    let runs = two_runs();
    let slow = slow_server(Duration::from_millis(300));
    let late = runs.dir.join("late.json").to_str().unwrap().to_string();
    save_run(&slow.url(), &["-n", "4", "-c", "4"], &late);
    let (a, b) = (figures(&runs.base), figures(&late));
    let p50 = format!("{:+.1}%", (b.p50 - a.p50) / a.p50 * 100.0);
    // The witness: a change wider than the usual 9-character column.
    assert!(p50.len() > 9, "{p50}: {a:?} {b:?}");
    let (code, text, err) = qps(&["compare", &runs.base, &runs.slow, &late]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains(&p50), "{p50} not in\n{text}");
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("run "))
        .take_while(|l| !l.is_empty())
        .filter(|l| *l != "  (baseline)")
        .collect();
    assert_eq!(table.len(), 6, "{text}");
    let ends: Vec<usize> = table.iter().map(|l| l.chars().count()).collect();
    assert!(ends.iter().all(|&e| e == ends[0]), "{ends:?}\n{text}");
}

/// Long run names are cut in the middle to 24 characters; names that would then read the same
/// (they differ only in the middle) are shown whole, so every row says which run it is.
#[test]
fn long_names_are_cut_and_never_made_alike() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let path = |f: &str| dir.path().join(f).to_str().unwrap().to_string();
    let save =
        |name: &str, file: &str| save_run(&srv.url(), &["-n", "20", "--name", name], &path(file));
    // Differ at the end: cut, and still told apart.
    save(
        "checkout-service-production-canary-eu-west-1-run-1",
        "a.json",
    );
    save(
        "checkout-service-production-canary-eu-west-1-run-2",
        "b.json",
    );
    let (code, text, err) = qps(&["compare", &path("a.json"), &path("b.json")]);
    assert_eq!(code, 0, "{err}");
    let first_cells = |text: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| !l.starts_with("run "))
            .skip(1)
            .filter(|l| !l.starts_with(' ') && !l.is_empty())
            .take_while(|l| !l.starts_with("Thresholds"))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        first_cells(&text),
        ["checkout-se…west-1-run-1", "checkout-se…west-1-run-2"],
        "{text}"
    );
    // Differ in the middle: whole.
    let (eu, us) = (
        "checkout-service-eu-west-1-2026-05-01-run",
        "checkout-service-us-east-1-2026-05-01-run",
    );
    save(eu, "c.json");
    save(us, "d.json");
    let (code, text, err) = qps(&["compare", &path("c.json"), &path("d.json")]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(first_cells(&text), [eu, us], "{text}");
}

/// A file given twice numbers its second row ` (2)`, unless a run is already named so: then
/// the next free number, so that no two rows share a name (a new user's check found two rows
/// named `api (2)`).
#[test]
fn numbered_names_never_repeat_a_runs_own_name() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let path = |f: &str| dir.path().join(f).to_str().unwrap().to_string();
    save_run(&srv.url(), &["-n", "20", "--name", "api"], &path("h.json"));
    save_run(
        &srv.url(),
        &["-n", "20", "--name", "api (2)"],
        &path("g.json"),
    );
    let out = path("c.json");
    let (code, _, err) = qps(&[
        "compare",
        &path("h.json"),
        &path("h.json"),
        &path("g.json"),
        "--json",
        &out,
    ]);
    assert_eq!(code, 0, "{err}");
    let doc = read_json(&out);
    let names: Vec<&str> = doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "api (3)", "api (2)"]);
}
