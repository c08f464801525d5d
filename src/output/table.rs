//! Text that fits the terminal: tables that drop their least needed columns (never wrap a row)
//! and prose lines folded at spaces, for the end summary. Without a width (a pipe or a file and
//! no `COLUMNS`) nothing changes: every column at its usual width, every line whole.

/// The width the summary is written for: `COLUMNS` when set, else the size of the terminal the
/// summary goes to (stderr when `stderr`, else stdout); `None` when that is not a terminal, so
/// that output to a file or a pipe does not depend on where it was made.
pub fn terminal_width(stderr: bool) -> Option<usize> {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|w| *w > 0);
    if columns.is_some() {
        return columns;
    }
    let term = if stderr {
        console::Term::stderr()
    } else {
        console::Term::stdout()
    };
    if !term.is_term() {
        return None;
    }
    term.size_checked().map(|(_rows, cols)| usize::from(cols))
}

/// A column: its header, its cells, how it is aligned and how much it is needed.
struct Column {
    header: String,
    /// Right-aligned (numbers); else left (names).
    right: bool,
    /// The usual width (the table's look on a wide terminal and in files).
    usual: usize,
    /// Which goes first when the table is too wide: the lowest; [`KEEP`] never goes.
    keep: u8,
    cells: Vec<String>,
}

/// A column that stays whatever the width (the essential ones: name, requests, qps, error
/// rate, p50, p99).
pub const KEEP: u8 = u8::MAX;

/// A text table whose columns are separated by one space.
#[derive(Default)]
pub struct Table {
    columns: Vec<Column>,
}

impl Table {
    /// An empty table.
    pub fn new() -> Self {
        Table::default()
    }

    /// Add a column `header`, right-aligned or not, `usual` characters wide (at least), that
    /// goes before the columns of a higher `keep` when the table must narrow.
    pub fn column(mut self, header: &str, right: bool, usual: usize, keep: u8) -> Self {
        self.columns.push(Column {
            header: header.to_string(),
            right,
            usual,
            keep,
            cells: Vec::new(),
        });
        self
    }

    /// Add a row: one cell per column, in order (missing cells are empty).
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        // Escaped as the terminal will show them, so that the widths count what is printed.
        let mut cells = cells.into_iter().map(|c| crate::parse::one_line(c.into()));
        for c in &mut self.columns {
            c.cells.push(cells.next().unwrap_or_default());
        }
    }

    /// The table as text, a line per row after the header, each ending in a newline. Within
    /// `width`, the columns first narrow to their content, then the least needed go, one at a
    /// time, until the rest fit (the [`KEEP`] columns stay even if they do not).
    pub fn render(&self, width: Option<usize>) -> String {
        let content = |c: &Column| {
            c.cells
                .iter()
                .chain(std::iter::once(&c.header))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        };
        let mut widths: Vec<usize> = self
            .columns
            .iter()
            .map(|c| content(c).max(c.usual))
            .collect();
        let mut shown: Vec<bool> = vec![true; self.columns.len()];
        let total = |widths: &[usize], shown: &[bool]| {
            let cols: Vec<usize> = widths
                .iter()
                .zip(shown)
                .filter(|(_, s)| **s)
                .map(|(w, _)| *w)
                .collect();
            cols.iter().sum::<usize>() + cols.len().saturating_sub(1)
        };
        if let Some(limit) = width {
            if total(&widths, &shown) > limit {
                widths = self.columns.iter().map(content).collect();
            }
            while total(&widths, &shown) > limit {
                // The least needed column still shown (the rightmost of equals).
                let drop = self
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(i, c)| shown[*i] && c.keep != KEEP)
                    .min_by_key(|(i, c)| (c.keep, std::cmp::Reverse(*i)))
                    .map(|(i, _)| i);
                match drop {
                    Some(i) => shown[i] = false,
                    None => break,
                }
            }
        }
        let rows = self.columns.first().map_or(0, |c| c.cells.len());
        let mut out = String::new();
        for r in 0..=rows {
            let mut line = String::new();
            for (i, c) in self.columns.iter().enumerate().filter(|(i, _)| shown[*i]) {
                if !line.is_empty() {
                    line.push(' ');
                }
                let text = if r == 0 { &c.header } else { &c.cells[r - 1] };
                let pad = widths[i].saturating_sub(text.chars().count());
                if c.right {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(text);
                } else {
                    line.push_str(text);
                    line.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Fold every line of `text` longer than `width` at spaces; its continuation lines are
/// indented to the line's value (the text after `Label:` and its spaces) or, without a label,
/// two more than the line. A word longer than the room left is cut. Nothing changes without a
/// width.
pub fn fold(text: &str, width: Option<usize>) -> String {
    let Some(width) = width else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        if body.chars().count() <= width {
            out.push_str(line);
            continue;
        }
        let indent = continuation_indent(body).min(width / 2);
        let mut current = String::new();
        for (spaces, word) in words(body) {
            let room = width.saturating_sub(current.chars().count());
            if !current.trim().is_empty() && spaces.len() + word.chars().count() > room {
                out.push_str(current.trim_end());
                out.push('\n');
                current = " ".repeat(indent);
            } else {
                current.push_str(spaces);
            }
            // A word longer than a whole line: cut it.
            let mut rest = word;
            while current.chars().count() + rest.chars().count() > width {
                let take = width.saturating_sub(current.chars().count()).max(1);
                let cut = rest.char_indices().nth(take).map_or(rest.len(), |(i, _)| i);
                current.push_str(&rest[..cut]);
                out.push_str(&current);
                out.push('\n');
                current = " ".repeat(indent);
                rest = &rest[cut..];
            }
            current.push_str(rest);
        }
        out.push_str(current.trim_end());
        out.push_str(newline);
    }
    out
}

/// The words of `line`, each with the spaces before it (kept while on the same line).
fn words(line: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        let word_at = rest.len() - rest.trim_start_matches(' ').len();
        let end = rest[word_at..]
            .find(' ')
            .map_or(rest.len(), |i| word_at + i);
        out.push((&rest[..word_at], &rest[word_at..end]));
        rest = &rest[end..];
    }
    out
}

/// Where the value of `Label:   value` starts, or two past a line's own indent.
fn continuation_indent(line: &str) -> usize {
    let lead = line.len() - line.trim_start().len();
    if let Some(colon) = line.find(": ") {
        let label = &line[lead..colon];
        let after = &line[colon + 1..];
        let spaces = after.len() - after.trim_start().len();
        if !label.is_empty() && label.len() <= 20 && !label.contains(['(', '|']) && spaces >= 2 {
            return colon + 1 + spaces;
        }
    }
    lead + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut t = Table::new()
            .column("name", false, 5, KEEP)
            .column("a", true, 6, 2)
            .column("b", true, 6, 1)
            .column("c", true, 6, KEEP);
        t.row(["total", "1", "22", "333"]);
        t
    }

    #[test]
    fn a_table_without_a_width_keeps_its_usual_widths() {
        assert_eq!(
            table().render(None),
            "name       a      b      c\ntotal      1     22    333\n"
        );
    }

    #[test]
    fn a_narrow_table_fits_its_content_then_drops_the_least_needed() {
        // Fits once narrowed to the content.
        assert_eq!(table().render(Some(16)), "name  a  b   c\ntotal 1 22 333\n");
        // `b` goes first, then `a`; the essential columns stay.
        assert_eq!(table().render(Some(13)), "name  a   c\ntotal 1 333\n");
        assert_eq!(table().render(Some(10)), "name    c\ntotal 333\n");
        assert_eq!(table().render(Some(3)), "name    c\ntotal 333\n");
    }

    #[test]
    fn long_lines_fold_at_spaces_under_their_label() {
        let text =
            "Requests:       50064 completed (50064 ok, 0 HTTP errors), 25022.5 req/s\nshort\n";
        let folded = fold(text, Some(40));
        assert_eq!(
            folded,
            "Requests:       50064 completed (50064\n                ok, 0 HTTP errors),\n                25022.5 req/s\nshort\n"
        );
        assert!(folded.lines().all(|l| l.chars().count() <= 40), "{folded}");
        assert_eq!(fold(text, None), text);
        // A word longer than the line is cut; nothing is lost.
        let url = format!("Summary: GET http://{}/ for 2.0s\n", "x".repeat(50));
        let folded = fold(&url, Some(30));
        assert!(folded.lines().all(|l| l.chars().count() <= 30), "{folded}");
        assert_eq!(
            folded.split_whitespace().collect::<String>(),
            url.split_whitespace().collect::<String>()
        );
    }
}
