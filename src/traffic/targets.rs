//! `--targets FILE`: several requests in one run, in a line-oriented format close to vegeta's
//! (see `docs/targets.md`):
//!
//! ```text
//! # a comment
//! POST http://127.0.0.1:8080/orders weight=3 name=create
//! Content-Type: application/json
//! body {"user": {{user}}}
//!
//! PUT /orders/{{id}} weight=1
//! @order.json
//! ```
//!
//! An entry is a request line `METHOD URL [weight=N] [name=NAME]`, then any `Name: value`
//! header lines, then at most one body line: `body TEXT` (the rest of the line) or `@PATH` (a
//! file, relative to the targets file). Blank lines separate entries; `#` starts a comment line.
//! A URL starting with `/` is relative to `--url`. Also the weighted pick of the next target.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Largest `weight=`.
pub const MAX_WEIGHT: u32 = 10_000;
/// Most entries in one file.
pub const MAX_TARGETS: usize = 1_000;

/// One entry of a targets file, as written (checked for shape; URLs and headers are checked
/// when the run is configured, with the line numbers kept here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetEntry {
    pub line: usize,
    pub method: String,
    pub url: String,
    pub weight: u32,
    pub name: Option<String>,
    /// `(line, "Name: value")`.
    pub headers: Vec<(usize, String)>,
    pub body: Option<EntryBody>,
}

/// The body of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryBody {
    /// `body TEXT`.
    Inline(String),
    /// `@PATH`, resolved against the targets file's directory.
    File { line: usize, path: PathBuf },
}

/// Read a targets file. Errors are one line: `--targets FILE:LINE: what is wrong`.
///
/// # Errors
///
/// When the file cannot be read or is not UTF-8, or its text is refused by [`parse`].
pub fn load(path: &Path) -> Result<Vec<TargetEntry>, String> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--targets {shown}: cannot read the file: {e}"))?;
    let dir = path.parent().unwrap_or(Path::new(""));
    parse(&shown, dir, &text)
}

fn looks_like_method(word: &str) -> bool {
    !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_')
}

/// The name of a `Name:value` word (a header name, then a colon).
fn header_like(word: &str) -> Option<&str> {
    let (name, _) = word.split_once(':')?;
    (!name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(name)
}

/// Parse the text of a targets file (`path` names it in messages; `dir` resolves `@PATH`).
///
/// # Errors
///
/// When a line does not fit where it is (an entry not opening with `METHOD URL`, an option other
/// than `weight=N` or `name=NAME`, a second body, a line after the body), a weight is outside
/// 1..=[`MAX_WEIGHT`], or there are no entries or more than [`MAX_TARGETS`].
pub fn parse(path: &str, dir: &Path, text: &str) -> Result<Vec<TargetEntry>, String> {
    let err = |line: usize, why: String| Err(format!("--targets {path}:{line}: {why}"));
    let mut entries: Vec<TargetEntry> = Vec::new();
    let mut open = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = if i == 0 {
            raw.strip_prefix('\u{feff}').unwrap_or(raw)
        } else {
            raw
        };
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            open = false;
            continue;
        }
        if trimmed.starts_with('#') {
            continue;
        }
        let mut words = trimmed.split_whitespace();
        let first = words.next().unwrap_or("");
        let second = words.next();
        let is_request_line = looks_like_method(first)
            && second.is_some_and(|u| u.starts_with('/') || u.contains("://"));
        if !open || is_request_line {
            if !is_request_line {
                let hint = if looks_like_method(first) {
                    "a request line is METHOD URL, e.g. GET http://127.0.0.1:8080/"
                } else {
                    "an entry starts with a request line METHOD URL, e.g. GET http://127.0.0.1:8080/"
                };
                return err(line, format!("expected a request line: {hint}"));
            }
            if entries.len() == MAX_TARGETS {
                return err(line, format!("more than {MAX_TARGETS} entries"));
            }
            let mut entry = TargetEntry {
                line,
                method: first.to_string(),
                url: second.unwrap_or("").to_string(),
                weight: 1,
                name: None,
                headers: Vec::new(),
                body: None,
            };
            for option in words {
                match option.split_once('=') {
                    Some(("weight", w)) => match w.parse::<u32>() {
                        Ok(w) if (1..=MAX_WEIGHT).contains(&w) => entry.weight = w,
                        _ => {
                            return err(
                                line,
                                format!(
                                    "weight={w}: a weight is a whole number from 1 to {MAX_WEIGHT}"
                                ),
                            );
                        }
                    },
                    Some(("name", n)) if !n.is_empty() => entry.name = Some(n.to_string()),
                    // `Name:value` here is a header put on the request line: its value may be
                    // a secret, so only the name is shown.
                    _ if header_like(option).is_some() => {
                        return err(
                            line,
                            format!(
                                "'{}: ...' after the URL: a header goes on its own line, after \
                                 the request line",
                                header_like(option).unwrap_or_default()
                            ),
                        );
                    }
                    _ => {
                        return err(
                            line,
                            format!(
                                "'{option}' after the URL: only weight=N and name=NAME may follow it \
                                 (a URL has no spaces)"
                            ),
                        );
                    }
                }
            }
            entries.push(entry);
            open = true;
            continue;
        }
        let entry = entries.last_mut().expect("an entry is open");
        let body_line = if let Some(file) = trimmed.strip_prefix('@') {
            Some(EntryBody::File {
                line,
                path: dir.join(file.trim()),
            })
        } else if first == "body" && raw.trim_start().len() > 4 {
            // "body", then one separator of any width (a Unicode space is several bytes),
            // then the text as written.
            let mut after = raw.trim_start()["body".len()..].chars();
            after.next();
            Some(EntryBody::Inline(
                after.as_str().trim_end_matches(['\r', '\n']).to_string(),
            ))
        } else {
            None
        };
        if let Some(body) = body_line {
            if entry.body.is_some() {
                return err(line, "a second body for one entry: give at most one".into());
            }
            entry.body = Some(body);
            continue;
        }
        if entry.body.is_some() {
            return err(
                line,
                "a line after the body: headers come before it, and a blank line ends the entry"
                    .into(),
            );
        }
        match trimmed.split_once(':') {
            Some((name, _)) if !name.trim().is_empty() && !name.contains(' ') => {
                entry.headers.push((line, trimmed.to_string()));
            }
            _ => {
                return err(
                    line,
                    "not a header ('Name: value'), a body ('body TEXT' or '@FILE') or a new \
                     request line"
                        .into(),
                );
            }
        }
    }
    if entries.is_empty() {
        return Err(format!(
            "--targets {path}: no entries: write a request line such as GET http://127.0.0.1:8080/"
        ));
    }
    Ok(entries)
}

/// How the next target is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetsOrder {
    /// By weight, deterministically spread (smooth weighted round-robin, as nginx).
    #[default]
    Weighted,
    /// By weight, at random (seeded by --seed).
    Random,
    /// In file order, weights ignored.
    RoundRobin,
}

impl TargetsOrder {
    /// The flag value.
    pub fn name(self) -> &'static str {
        match self {
            TargetsOrder::Weighted => "weighted",
            TargetsOrder::Random => "random",
            TargetsOrder::RoundRobin => "round-robin",
        }
    }
}

/// Picks target indexes for the whole run (shared by every user).
#[derive(Debug)]
pub struct Picker {
    order: TargetsOrder,
    /// Weighted: one period of the smooth weighted round-robin sequence; round-robin: 0..n.
    wheel: Vec<u16>,
    /// Random: cumulative weights.
    cumulative: Vec<u64>,
    /// Weighted, when one period would be too long to precompute: the live smooth weighted
    /// round-robin state (weight, current) behind a lock.
    live: Option<parking_lot::Mutex<Vec<(i64, i64)>>>,
    next: AtomicU64,
}

/// Longest smooth weighted round-robin period that is precomputed (u16 entries).
const MAX_WHEEL: i64 = 100_000;

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Picker {
    /// A picker over targets with these weights (at most [`MAX_TARGETS`], each 1..=MAX_WEIGHT).
    pub fn new(weights: &[u32], order: TargetsOrder) -> Self {
        let g = weights
            .iter()
            .fold(0u64, |g, &w| gcd(g, u64::from(w)))
            .max(1);
        let reduced: Vec<i64> = weights.iter().map(|&w| (u64::from(w) / g) as i64).collect();
        let total: i64 = reduced.iter().sum();
        let live = (order == TargetsOrder::Weighted && total > MAX_WHEEL)
            .then(|| parking_lot::Mutex::new(reduced.iter().map(|&w| (w, 0)).collect()));
        let wheel = match order {
            TargetsOrder::RoundRobin => (0..weights.len() as u16).collect(),
            TargetsOrder::Random => Vec::new(),
            TargetsOrder::Weighted if live.is_some() => Vec::new(),
            TargetsOrder::Weighted => {
                let mut current = vec![0i64; reduced.len()];
                let mut wheel = Vec::with_capacity(total as usize);
                for _ in 0..total {
                    for (c, w) in current.iter_mut().zip(&reduced) {
                        *c += w;
                    }
                    let (best, _) = current
                        .iter()
                        .enumerate()
                        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
                        .expect("at least one target");
                    current[best] -= total;
                    wheel.push(best as u16);
                }
                wheel
            }
        };
        let cumulative = weights
            .iter()
            .scan(0u64, |sum, &w| {
                *sum += u64::from(w);
                Some(*sum)
            })
            .collect();
        Picker {
            order,
            wheel,
            cumulative,
            live,
            next: AtomicU64::new(0),
        }
    }

    /// The next target's index; `rng` serves the random order.
    pub fn pick(&self, rng: &mut fastrand::Rng) -> usize {
        if self.cumulative.len() <= 1 {
            return 0;
        }
        match self.order {
            TargetsOrder::Random => {
                let total = *self.cumulative.last().expect("not empty");
                let x = rng.u64(0..total);
                self.cumulative.partition_point(|&c| c <= x)
            }
            TargetsOrder::Weighted if self.live.is_some() => {
                let mut state = self.live.as_ref().expect("checked").lock();
                let total: i64 = state.iter().map(|(w, _)| w).sum();
                for (w, c) in state.iter_mut() {
                    *c += *w;
                }
                let best = (0..state.len())
                    .max_by(|&a, &b| state[a].1.cmp(&state[b].1).then(b.cmp(&a)))
                    .expect("at least one target");
                state[best].1 -= total;
                best
            }
            TargetsOrder::Weighted | TargetsOrder::RoundRobin => {
                let n = self.next.fetch_add(1, Ordering::Relaxed);
                usize::from(self.wheel[(n % self.wheel.len() as u64) as usize])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Vec<TargetEntry>, String> {
        parse("t.txt", Path::new("/d"), text)
    }

    #[test]
    fn entries_headers_bodies_and_options() {
        let e = p("# c\nGET http://h/a weight=3 name=list\nAccept: x\n\n\
                   POST /b\nContent-Type: application/json\nbody {\"a\": 1}\n\
                   PUT http://h/c\n@body.bin\n")
        .unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!((e[0].line, e[0].weight), (2, 3));
        assert_eq!(e[0].name.as_deref(), Some("list"));
        assert_eq!(e[0].headers, vec![(3, "Accept: x".to_string())]);
        assert_eq!(e[1].body, Some(EntryBody::Inline("{\"a\": 1}".into())));
        assert_eq!(e[1].url, "/b");
        assert_eq!(
            e[2].body,
            Some(EntryBody::File {
                line: 9,
                path: "/d/body.bin".into()
            })
        );
    }

    #[test]
    fn a_body_after_a_unicode_space_is_read_whole() {
        // Found by reading the parser while writing the `targets` fuzz target: `body` then a
        // multi-byte space (U+0085, U+3000) was sliced inside the character and panicked.
        for (text, want) in [
            ("GET http://h/\nbody\u{85}x\n", "x"),
            ("GET http://h/\nbody\u{3000}{\"a\": 1}\n", "{\"a\": 1}"),
            ("GET http://h/\nbody  two spaces\n", " two spaces"),
        ] {
            let e = p(text).unwrap();
            assert_eq!(e[0].body, Some(EntryBody::Inline(want.into())), "{text:?}");
        }
    }

    #[test]
    fn a_header_on_the_request_line_is_not_echoed() {
        let err = p("GET http://h/ X-Api-Key:sk-secret-123\n").unwrap_err();
        assert!(!err.contains("sk-secret-123"), "{err}");
    }

    #[test]
    fn malformed_entries_name_their_line() {
        let cases = [
            ("", "no entries"),
            ("http://h/\n", "t.txt:1: expected a request line"),
            ("GET http://h/ weight=0\n", "t.txt:1: weight=0"),
            ("GET http://h/ weight=x\n", "t.txt:1: weight=x"),
            ("GET http://h/ extra\n", "t.txt:1: 'extra' after the URL"),
            // Found by the `targets` fuzz target: a header written on the request line was
            // echoed whole, secret value and all.
            (
                "GET http://h/ X-Api-Key:sk-secret-123\n",
                "t.txt:1: 'X-Api-Key: ...' after the URL: a header goes on its own line",
            ),
            ("GET http://h/\nnot a header\n", "t.txt:2: not a header"),
            ("GET http://h/\nbody a\nbody b\n", "t.txt:3: a second body"),
            (
                "GET http://h/\nbody a\nX: y\n",
                "t.txt:3: a line after the body",
            ),
            (
                "GET http://h/\n\nAccept: x\n",
                "t.txt:3: expected a request line",
            ),
        ];
        for (text, want) in cases {
            let err = p(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(!err.contains('\n'));
        }
    }

    #[test]
    fn smooth_weighted_round_robin_spreads_picks() {
        let picker = Picker::new(&[5, 1, 1], TargetsOrder::Weighted);
        let mut rng = fastrand::Rng::with_seed(1);
        let picks: Vec<usize> = (0..7).map(|_| picker.pick(&mut rng)).collect();
        assert_eq!(picks, [0, 0, 1, 0, 2, 0, 0]);
        let picker = Picker::new(&[2, 4], TargetsOrder::Weighted);
        let picks: Vec<usize> = (0..6).map(|_| picker.pick(&mut rng)).collect();
        assert_eq!(picks.iter().filter(|&&i| i == 1).count(), 4);
        // Too long a period to precompute: the live state gives the same sequence.
        let big = Picker::new(&[99_999, 2], TargetsOrder::Weighted);
        assert!(big.live.is_some());
        let picks: Vec<usize> = (0..100_001).map(|_| big.pick(&mut rng)).collect();
        assert_eq!(picks.iter().filter(|&&i| i == 1).count(), 2);
        let rr = Picker::new(&[9, 1], TargetsOrder::RoundRobin);
        let picks: Vec<usize> = (0..4).map(|_| rr.pick(&mut rng)).collect();
        assert_eq!(picks, [0, 1, 0, 1]);
    }

    #[test]
    fn random_order_follows_weights() {
        let picker = Picker::new(&[3, 1], TargetsOrder::Random);
        let mut rng = fastrand::Rng::with_seed(7);
        let first = (0..40_000).filter(|_| picker.pick(&mut rng) == 0).count();
        assert!((29_000..31_000).contains(&first), "{first}");
    }
}
