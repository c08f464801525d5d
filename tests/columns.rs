//! Names, units and widths that agree (issue 17): every column of the CSV files is in the
//! README's table of CSV columns (the table is read from README.md here, so the two cannot
//! drift), and the live line and the text summary fit the terminal, measured on the lines real
//! runs print against the embedded target on 127.0.0.1. Every run is bounded.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{bin, qps, run_cmd, server, server_with};
use qpsbench::serve::{LlmConfig, ServeConfig, ServerHandle};

/// The embedded target with fast streamed answers on its chat routes (10 tokens, 2 ms apart).
fn llm_server() -> ServerHandle {
    server_with(ServeConfig {
        threads: 2,
        llm: LlmConfig {
            first_token: Duration::from_millis(5),
            tokens: 10,
            interval: Duration::from_millis(2),
            ..LlmConfig::default()
        },
        ..ServeConfig::ephemeral()
    })
}

/// `a_{x,y}_ms` -> `a_x_ms`, `a_y_ms`; every brace group in turn.
fn expand(name: &str) -> Vec<String> {
    let Some(open) = name.find('{') else {
        return vec![name.to_string()];
    };
    let close = open + name[open..].find('}').expect("a closing brace");
    name[open + 1..close]
        .split(',')
        .flat_map(|alt| expand(&format!("{}{alt}{}", &name[..open], &name[close + 1..])))
        .collect()
}

/// The README's table of CSV columns: each column name, and the files it is said to be in
/// (`--csv`, `--csv-series`).
fn readme_columns() -> BTreeMap<String, Vec<String>> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let section = readme
        .split("\n### CSV columns\n")
        .nth(1)
        .expect("README has a '### CSV columns' section");
    let mut columns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in section
        .lines()
        .take_while(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with("| `"))
    {
        let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
        assert_eq!(cells.len(), 4, "column | unit | file | meaning: {row}");
        assert!(!cells[1].is_empty(), "no unit: {row}");
        let files = match cells[2] {
            "both" => vec!["--csv".to_string(), "--csv-series".to_string()],
            f => vec![f.trim_matches('`').to_string()],
        };
        // The names are the code spans of the first cell.
        for name in cells[0].split('`').skip(1).step_by(2) {
            for n in expand(name) {
                columns.entry(n).or_default().extend(files.clone());
            }
        }
    }
    assert!(columns.len() > 20, "the table was not read: {columns:?}");
    columns
}

/// The header of a CSV file.
fn header(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let line = text.lines().next().expect("a header line");
    line.split(',').map(String::from).collect()
}

#[test]
fn expand_makes_every_name_of_a_pattern() {
    assert_eq!(expand("p50_ms"), ["p50_ms"]);
    assert_eq!(
        expand("{a,b}_{x,y}_ms"),
        ["a_x_ms", "a_y_ms", "b_x_ms", "b_y_ms"]
    );
}

/// A run with every optional column (`--name`, a check, `--goodput`, streamed answers): each
/// column of `--csv` and `--csv-series` is in the README's table, for that file, and each name
/// in the table is a column of a file it names. `qps` is the achieved rate; `rps` is no
/// column.
#[test]
fn every_csv_column_is_in_the_readme_table_and_back() {
    let srv = llm_server();
    let dir = tempfile::tempdir().unwrap();
    let (table, series) = (dir.path().join("t.csv"), dir.path().join("s.csv"));
    let url = format!("{}/v1/chat/completions", srv.url());
    let (code, _, err) = qps(&[
        "--url",
        &url,
        "--openai",
        "m",
        "-c",
        "2",
        "-n",
        "6",
        "--name",
        "cols",
        "--expect-status",
        "200",
        "--goodput",
        "ttft<1s",
        "-q",
        "--csv",
        table.to_str().unwrap(),
        "--csv-series",
        series.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let documented = readme_columns();
    let mut written: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (file, path) in [("--csv", &table), ("--csv-series", &series)] {
        let columns = header(path);
        assert_eq!(columns.first().map(String::as_str), Some("run"));
        assert_eq!(columns.last().map(String::as_str), Some("status"));
        assert!(columns.iter().any(|c| c == "qps"), "{columns:?}");
        assert!(!columns.iter().any(|c| c == "rps"), "{columns:?}");
        assert!(
            columns.iter().any(|c| c == "ttft_p50_ms"),
            "streamed: {columns:?}"
        );
        for c in columns {
            let files = documented
                .get(&c)
                .unwrap_or_else(|| panic!("{file} column '{c}' is not in README's CSV table"));
            assert!(
                files.iter().any(|f| f == file),
                "README says '{c}' is in {files:?}, not {file}"
            );
            written.entry(c).or_default().push(file.to_string());
        }
    }
    for (c, files) in &documented {
        for f in files {
            assert!(
                written.get(c).is_some_and(|w| w.contains(f)),
                "README lists '{c}' in {f}, which has no such column"
            );
        }
    }
}

/// The live lines of a run's stderr (each starts with `[`), after checking the run passed.
fn live_lines(args: &[&str]) -> Vec<String> {
    let (code, _, err) = qps(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    let lines: Vec<String> = err
        .lines()
        .filter(|l| l.starts_with('['))
        .map(String::from)
        .collect();
    assert!(!lines.is_empty(), "{args:?}: no live line in {err}");
    lines
}

/// Every live line of short real runs in each mode fits a 100-column terminal, counted in
/// characters: closed loop, paced with the time left, paced with a request count, rate stages
/// over a user ramp, `--targets`, and streamed LLM answers (whose line has TTFT, ITL, tokens/s).
#[test]
fn every_live_line_fits_100_columns() {
    let srv = server();
    let llm = llm_server();
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("t.txt");
    std::fs::write(
        &targets,
        format!(
            "GET {0}/status/200 name=light\n\nPOST {0}/status/201 weight=2 name=heavy\n",
            srv.url()
        ),
    )
    .unwrap();
    let url = srv.url();
    let chat = format!("{}/v1/chat/completions", llm.url());
    let modes: [(&str, Vec<&str>); 6] = [
        ("closed loop", vec!["--url", &url, "-c", "4", "-z", "2"]),
        (
            "paced",
            vec!["--url", &url, "-c", "2", "--rps", "200", "-z", "2"],
        ),
        (
            "paced, counted",
            vec!["--url", &url, "-c", "2", "--rps", "150", "-n", "300"],
        ),
        (
            "rate stages",
            vec![
                "--url", &url, "--ramp", "1,3", "--rps", "40,80", "--step", "1s",
            ],
        ),
        (
            "targets",
            vec![
                "--url",
                &url,
                "--targets",
                targets.to_str().unwrap(),
                "-c",
                "2",
                "-z",
                "2",
            ],
        ),
        (
            "streamed",
            vec![
                "--url", &chat, "--openai", "m", "-c", "4", "--rps", "20", "-z", "2",
            ],
        ),
    ];
    for (mode, args) in &modes {
        let lines = live_lines(args);
        for line in &lines {
            let width = line.chars().count();
            assert!(width <= 100, "{mode}: {width} columns: {line}");
        }
        // The fields are there, not cut: the time left, the rate's share, the stream's own.
        let last = lines.last().unwrap();
        assert!(last.contains("| qps "), "{mode}: {last}");
        if args.contains(&"-z") {
            assert!(lines[0].ends_with("1s left"), "{mode}: {}", lines[0]);
        }
        if args.contains(&"--rps") {
            assert!(last.contains("%) | "), "{mode}: {last}");
        }
        if *mode == "streamed" {
            assert!(
                last.contains("| ttft ") && last.contains(" tok/s "),
                "{mode}: {last}"
            );
        }
    }
}

/// The summary of a run made with `COLUMNS` set to `columns` (stdout; the report files none).
fn summary_at(columns: Option<usize>, args: &[&str]) -> String {
    let mut cmd = bin();
    cmd.args(args).arg("-q");
    if let Some(c) = columns {
        cmd.env("COLUMNS", c.to_string());
    }
    let (code, out, err) = run_cmd(&mut cmd);
    assert_eq!(code, 0, "{args:?}: {err}");
    assert!(out.contains("Summary"), "{out}");
    out
}

/// The header line of the summary's first (latency) table, as its words (`err %` is one).
fn latency_header(summary: &str) -> Vec<String> {
    let line = summary
        .lines()
        .skip_while(|l| !l.starts_with("Latency (ms"))
        .nth(1)
        .expect("the latency table's header");
    line.replace("err %", "err%")
        .replace("fail %", "fail%")
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// On an 80-column terminal (`COLUMNS=80`) no line of the summary is wider than 80 characters,
/// whatever the run printed (rate stages and their table, response times, streams, targets,
/// warnings), and the latency table keeps requests, qps, the error rate, p50 and p99; at 120
/// columns a plain run's table is whole; piped without `COLUMNS`, it is as wide as ever.
#[test]
fn the_summary_fits_the_terminal_width() {
    let srv = server();
    let llm = llm_server();
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("t.txt");
    std::fs::write(
        &targets,
        format!(
            "GET {0}/status/200 name=light\n\nPOST {0}/status/503 weight=2 name=heavy\n",
            srv.url()
        ),
    )
    .unwrap();
    let url = srv.url();
    let chat = format!("{}/v1/chat/completions", llm.url());
    let runs: [Vec<&str>; 3] = [
        vec!["--url", &url, "-c", "2", "--rps", "100,200", "--step", "1s"],
        vec!["--url", &chat, "--openai", "m", "-c", "2", "-n", "10"],
        vec![
            "--url",
            &url,
            "--targets",
            targets.to_str().unwrap(),
            "-c",
            "2",
            "-n",
            "300",
        ],
    ];
    let all = [
        "stage", "users", "requests", "time", "qps", "err%", "fail%", "avg", "min", "p50", "p90",
        "p95", "p99", "p99.9", "max",
    ];
    for args in &runs {
        let out = summary_at(Some(80), args);
        for line in out.lines() {
            let width = line.chars().count();
            assert!(
                width <= 80,
                "{width} columns at COLUMNS=80: '{line}' in\n{out}"
            );
        }
        let header = latency_header(&out);
        for essential in ["stage", "requests", "qps", "err%", "p50", "p99"] {
            assert!(header.iter().any(|h| h == essential), "{essential}: {out}");
        }
        assert!(header.len() < all.len(), "narrowed: {header:?}");
        // The rows still have a cell under each header.
        let row = out
            .lines()
            .find(|l| l.starts_with("total "))
            .expect("the total row");
        assert_eq!(row.split_whitespace().count(), header.len(), "{out}");
    }
    let plain = ["--url", &url, "-c", "2", "-n", "300"];
    let wide = summary_at(Some(120), &plain);
    assert_eq!(latency_header(&wide), all, "{wide}");
    assert!(wide.lines().all(|l| l.chars().count() <= 120), "{wide}");
    // Piped, without COLUMNS: the usual widths, whatever the terminal the tests run in.
    let piped = summary_at(None, &plain);
    assert_eq!(latency_header(&piped), all, "{piped}");
    let header = piped.lines().find(|l| l.starts_with("stage ")).unwrap();
    assert!(
        header.contains("users  requests     time        qps   err %  fail %      avg"),
        "{header}"
    );
}
