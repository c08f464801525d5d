//! `--data FILE.csv`: a header row naming the columns, then one row per request in turn
//! (request n uses row n mod rows). Also the small CSV reader `--auth-file` shares.

use std::path::Path;

/// One CSV record and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

/// Split CSV text into records (RFC 4180: `,` separates, `"` quotes, `""` is a quote inside
/// quotes, quoted fields may hold commas and newlines). Blank lines are skipped; a leading
/// UTF-8 byte order mark is dropped. Errors carry the line number.
///
/// # Errors
///
/// `(line, why)` when a quoted field is never closed (the line it starts on), or text follows a
/// closing quote (`"a"b`).
pub fn parse_csv(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted_field = false;
        loop {
            match chars.next() {
                None => {
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                Some('"') if field.is_empty() && !quoted_field => {
                    quoted_field = true;
                    loop {
                        match chars.next() {
                            None => {
                                return Err((start, "a quoted field is never closed".into()));
                            }
                            Some('"') if chars.peek() == Some(&'"') => {
                                chars.next();
                                field.push('"');
                            }
                            Some('"') => break,
                            Some(c) => {
                                if c == '\n' {
                                    line += 1;
                                }
                                field.push(c);
                            }
                        }
                    }
                    match chars.peek() {
                        None | Some(',' | '\n' | '\r') => {}
                        Some(_) => {
                            return Err((
                                line,
                                "text after a closing quote: quote the whole field".into(),
                            ));
                        }
                    }
                }
                Some(',') => {
                    fields.push(std::mem::take(&mut field));
                    quoted_field = false;
                }
                Some('\r') if chars.peek() == Some(&'\n') => {}
                Some('\n') => {
                    line += 1;
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                Some(c) => field.push(c),
            }
        }
        let blank = fields.len() == 1 && fields[0].trim().is_empty() && !quoted_field;
        if !blank {
            records.push(Record {
                line: start,
                fields,
            });
        }
    }
    Ok(records)
}

/// The rows of a `--data` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSet {
    /// The file as given (for messages).
    pub path: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl DataSet {
    /// Read and check a `--data` file: a header row of unique names, then rows of as many
    /// fields. Errors are one line with `FILE:LINE`.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or is not UTF-8, or its text is refused by [`DataSet::parse`].
    pub fn load(path: &Path) -> Result<DataSet, String> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--data {shown}: cannot read the file: {e}"))?;
        Self::parse(&shown, &text)
    }

    /// Check CSV text (`path` only names it in messages).
    ///
    /// # Errors
    ///
    /// When the CSV is malformed (see [`parse_csv`]), there is no header row, a column name is
    /// empty or repeated, a row's field count differs from the header's, or there are no rows.
    pub fn parse(path: &str, text: &str) -> Result<DataSet, String> {
        let records =
            parse_csv(text).map_err(|(line, why)| format!("--data {path}:{line}: {why}"))?;
        let mut records = records.into_iter();
        let Some(header) = records.next() else {
            return Err(format!(
                "--data {path}: the file is empty: it needs a header row naming the columns, then rows"
            ));
        };
        let columns: Vec<String> = header.fields.iter().map(|c| c.trim().to_string()).collect();
        for (i, c) in columns.iter().enumerate() {
            if c.is_empty() {
                return Err(format!(
                    "--data {path}:{}: column {} of the header row has no name",
                    header.line,
                    i + 1
                ));
            }
            if columns[..i].contains(c) {
                return Err(format!(
                    "--data {path}:{}: the header row names column '{c}' twice",
                    header.line
                ));
            }
        }
        let mut rows = Vec::new();
        for r in records {
            if r.fields.len() != columns.len() {
                return Err(format!(
                    "--data {path}:{}: {} fields, but the header row names {} columns",
                    r.line,
                    r.fields.len(),
                    columns.len()
                ));
            }
            rows.push(r.fields);
        }
        if rows.is_empty() {
            return Err(format!(
                "--data {path}: no rows after the header row (line {})",
                header.line
            ));
        }
        Ok(DataSet {
            path: path.to_string(),
            columns,
            rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_blank_lines() {
        let r = parse_csv("a,b\r\n\n\"x,1\",\"say \"\"hi\"\"\"\n\"multi\nline\",z\n").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].fields, vec!["x,1", "say \"hi\""]);
        assert_eq!(r[1].line, 3);
        assert_eq!(r[2].fields, vec!["multi\nline", "z"]);
        assert_eq!(r[2].line, 4);
        assert_eq!(parse_csv("a\n\"open\n").unwrap_err().0, 2);
    }

    #[test]
    fn data_files_are_checked_with_line_numbers() {
        let d = DataSet::parse("d.csv", "id,name\n1,ann\n2,bob\n").unwrap();
        assert_eq!(d.columns, vec!["id", "name"]);
        assert_eq!(d.rows.len(), 2);
        let cases = [
            ("", "the file is empty"),
            ("id,name\n", "no rows"),
            (
                "id,name\n1,ann\n2\n",
                "d.csv:3: 1 fields, but the header row names 2",
            ),
            (
                "id,id\n1,2\n",
                "d.csv:1: the header row names column 'id' twice",
            ),
            ("id,\n1,2\n", "column 2 of the header row has no name"),
            ("id\n\"1\"x\n", "d.csv:2: text after a closing quote"),
        ];
        for (text, want) in cases {
            let err = DataSet::parse("d.csv", text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
