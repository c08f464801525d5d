//! `{{name}}` placeholders in URLs, headers and bodies, split once before the run into literal
//! pieces and slots, so that a request only concatenates (no parsing, no regex per request).
//!
//! A placeholder is `{{` + a name of letters, digits, `_`, `-` or `.` (spaces around it are
//! allowed) + `}}`. Anything else between braces is left as it is, so JSON bodies such as
//! `{{"a":1}}` need no escaping. Names: a `--data` column; else `user` (the user index, from 0)
//! or `seq` (the request number in the run, from 0).

/// What a placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// A `--data` column, by index.
    Column(usize),
    /// The user index.
    User,
    /// The request number.
    Seq,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(Vec<u8>),
    Slot(Slot),
}

/// Values one request substitutes.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    pub user: usize,
    pub seq: u64,
    /// The `--data` row of this request (empty without `--data`).
    pub row: &'a [String],
}

/// A compiled text with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// A placeholder that names nothing known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName(pub String);

/// Longest placeholder name.
const MAX_NAME: usize = 64;

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

impl Template {
    /// Split `text` into pieces; `columns` are the `--data` column names (they win over the
    /// built-in `user` and `seq`).
    ///
    /// # Errors
    ///
    /// [`UnknownName`] when a placeholder names neither a column nor `user` or `seq`.
    pub fn compile(text: &[u8], columns: &[String]) -> Result<Template, UnknownName> {
        let mut pieces = Vec::new();
        let mut literal = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if text[i..].starts_with(b"{{")
                && let Some((name, len)) = placeholder(&text[i..])
            {
                let slot = match columns.iter().position(|c| c == name) {
                    Some(c) => Slot::Column(c),
                    None if name == "user" => Slot::User,
                    None if name == "seq" => Slot::Seq,
                    None => return Err(UnknownName(name.to_string())),
                };
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Slot(slot));
                i += len;
                continue;
            }
            literal.push(text[i]);
            i += 1;
        }
        if !literal.is_empty() || pieces.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(Template { pieces })
    }

    /// True when there is no placeholder: the text is sent as it is.
    pub fn is_static(&self) -> bool {
        self.pieces.iter().all(|p| matches!(p, Piece::Literal(_)))
    }

    /// True when a placeholder needs the request number or a data row.
    pub fn needs_seq(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Slot(Slot::Seq | Slot::Column(_))))
    }

    /// The column indexes this template uses.
    pub fn columns(&self) -> impl Iterator<Item = usize> + '_ {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Slot(Slot::Column(c)) => Some(*c),
            _ => None,
        })
    }

    /// Append the text with `vars` substituted; `encode` percent-encodes substituted bytes that
    /// cannot stand in a URL.
    pub fn render_into(&self, out: &mut Vec<u8>, vars: &Vars<'_>, encode: bool) {
        for p in &self.pieces {
            match p {
                Piece::Literal(l) => out.extend_from_slice(l),
                Piece::Slot(Slot::User) => push_number(out, vars.user as u64),
                Piece::Slot(Slot::Seq) => push_number(out, vars.seq),
                Piece::Slot(Slot::Column(c)) => {
                    let value = vars.row.get(*c).map_or("", String::as_str);
                    if encode {
                        push_url_encoded(out, value.as_bytes());
                    } else {
                        out.extend_from_slice(value.as_bytes());
                    }
                }
            }
        }
    }

    /// The text with `vars` substituted.
    pub fn render(&self, vars: &Vars<'_>, encode: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.render_into(&mut out, vars, encode);
        out
    }
}

/// `{{ name }}` at the start of `text`: the name and the length of the whole placeholder.
fn placeholder(text: &[u8]) -> Option<(&str, usize)> {
    // Names are short: looking a little way ahead keeps compiling linear on brace-heavy bodies.
    let window = &text[..text.len().min(MAX_NAME + 6)];
    let end = window.windows(2).skip(2).position(|w| w == b"}}")? + 2;
    let inner = std::str::from_utf8(&text[2..end]).ok()?.trim();
    (!inner.is_empty() && inner.bytes().all(is_name_byte)).then_some((inner, end + 2))
}

fn push_number(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Percent-encode what a URI cannot carry (space, quotes, controls, non-ASCII...); reserved
/// characters stay, so a value may hold a path or a query.
fn push_url_encoded(out: &mut Vec<u8>, value: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b);
        if keep {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn placeholders_are_substituted() {
        let columns = cols(&["id", "name"]);
        let t = Template::compile(b"/u/{{id}}?n={{ name }}&by={{user}}#{{seq}}", &columns).unwrap();
        assert!(!t.is_static() && t.needs_seq());
        let row = cols(&["42", "a b"]);
        let vars = Vars {
            user: 3,
            seq: 1007,
            row: &row,
        };
        assert_eq!(t.render(&vars, false), b"/u/42?n=a b&by=3#1007");
        assert_eq!(t.render(&vars, true), b"/u/42?n=a%20b&by=3#1007");
    }

    #[test]
    fn braces_that_are_not_placeholders_stay() {
        let t = Template::compile(br#"{{"a":1}} {{}} {{ x y }} {{user"#, &[]).unwrap();
        assert!(t.is_static());
        let vars = Vars {
            user: 0,
            seq: 0,
            row: &[],
        };
        assert_eq!(
            t.render(&vars, false),
            br#"{{"a":1}} {{}} {{ x y }} {{user"#
        );
        assert!(!Template::compile(b"{{user}}", &[]).unwrap().needs_seq());
    }

    #[test]
    fn unknown_names_are_errors_and_columns_win() {
        assert_eq!(
            Template::compile(b"/{{idd}}", &cols(&["id"])),
            Err(UnknownName("idd".into()))
        );
        let t = Template::compile(b"{{user}}", &cols(&["user"])).unwrap();
        let row = cols(&["alice"]);
        let vars = Vars {
            user: 9,
            seq: 0,
            row: &row,
        };
        assert_eq!(t.render(&vars, false), b"alice");
    }
}
