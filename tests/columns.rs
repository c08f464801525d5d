//! Names, units and widths that agree (issue 17): every column of the CSV files is in the
//! README's table of CSV columns (the table is read from README.md here, so the two cannot
//! drift), and the live line and the text summary fit the terminal, measured on the lines real
//! runs print against the embedded target on 127.0.0.1. Every run is bounded.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{qps, server_with};
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
