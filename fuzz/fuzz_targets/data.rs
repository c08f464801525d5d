//! Fuzz the `--data FILE.csv` reader and the `{{name}}` templates it feeds (see
//! docs/FUZZING.md).
//!
//! Input: the text of a CSV file (UTF-8; other inputs are skipped). Properties checked:
//! - nothing panics in `data::parse_csv`, `DataSet::parse` or `Template::compile` / `render`;
//! - CSV records survive a round trip: writing every field quoted (`"` doubled) and reading the
//!   result back gives the same fields;
//! - an accepted data set has unique, non-empty, trimmed column names and at least one row, and
//!   every row has one field per column;
//! - every error starts with `--data d.csv` and is one line once escaped as printed;
//! - the text compiled as a template against the columns: a template without placeholders
//!   renders to the text itself; `{{user}}`/`{{seq}}` render as numbers.

#![no_main]

use libfuzzer_sys::fuzz_target;
use qpsbench::traffic::data::{DataSet, parse_csv};
use qpsbench::traffic::template::{Template, Vars};
use qpsbench::parse::one_line;

fn quoted(fields: &[String]) -> String {
    fields
        .iter()
        .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(",")
}

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    if let Ok(records) = parse_csv(text) {
        let mut last = 0;
        for r in &records {
            assert!(r.line > last, "{r:?}");
            last = r.line;
        }
        let again: String = records.iter().map(|r| quoted(&r.fields) + "\n").collect();
        let back = parse_csv(&again).expect("quoted records parse");
        let a: Vec<&Vec<String>> = records.iter().map(|r| &r.fields).collect();
        let b: Vec<&Vec<String>> = back.iter().map(|r| &r.fields).collect();
        assert_eq!(a, b, "round trip of {text:?} via {again:?}");
    }
    let columns = match DataSet::parse("d.csv", text) {
        Ok(d) => {
            assert!(!d.rows.is_empty());
            for (i, c) in d.columns.iter().enumerate() {
                assert!(!c.is_empty() && c.trim() == c, "{c:?}");
                assert!(!d.columns[..i].contains(c), "{c:?} twice");
            }
            for row in &d.rows {
                assert_eq!(row.len(), d.columns.len());
            }
            Some(d)
        }
        Err(e) => {
            assert!(e.starts_with("--data d.csv"), "{e}");
            assert!(!one_line(e.clone()).contains('\n'), "{e:?}");
            None
        }
    };
    let (cols, row): (&[String], &[String]) = match &columns {
        Some(d) => (&d.columns, &d.rows[0]),
        None => (&[], &[]),
    };
    if let Ok(t) = Template::compile(text.as_bytes(), cols) {
        let vars = Vars {
            user: 7,
            seq: u64::MAX,
            row,
        };
        let plain = t.render(&vars, false);
        let encoded = t.render(&vars, true);
        if t.is_static() {
            assert_eq!(plain, text.as_bytes());
            assert_eq!(encoded, text.as_bytes());
        }
        if text.trim() == "{{user}}" && !cols.iter().any(|c| c == "user") {
            assert_eq!(String::from_utf8_lossy(&plain).trim(), "7");
        }
        if text.trim() == "{{seq}}" && !cols.iter().any(|c| c == "seq") {
            assert_eq!(String::from_utf8_lossy(&plain).trim(), u64::MAX.to_string());
        }
    }
});
