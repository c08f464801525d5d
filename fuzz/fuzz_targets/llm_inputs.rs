//! Fuzz the parsers of the LLM flags' inputs (see docs/FUZZING.md): `--prompts FILE`,
//! `--api-key-file FILE` and the `--content-path` / `--usage-path` JSON paths.
//!
//! Input: one selector byte, then the text (UTF-8; other inputs are skipped). Properties:
//! - nothing panics, whatever the text;
//! - prompts: one per non-blank line, in order, each the line as written;
//! - API keys: one per non-blank line, each a sensitive `Bearer KEY` header value; an error
//!   names the file and the line but never shows a key;
//! - paths (`CONTENT` then optionally `0x1F USAGE`): an accepted path renders back to itself
//!   and parses again to the same path; and on a JSON event built to hold a string at that
//!   path, the content format finds exactly that string (`inspect`), and the usage path
//!   that number; errors are one line.

#![no_main]

use libfuzzer_sys::fuzz_target;
use qpsbench::traffic::llm::{parse_api_keys, parse_prompts};
use qpsbench::stream::{ContentFormat, JsonPath, SseEvent};
use serde_json::{Map, Value};

/// A JSON value holding `leaf` at `path` (dotted; numeric segments up to 16 become array
/// indexes, others object keys).
fn build(path: &str, leaf: Value) -> Value {
    path.split('.')
        .rev()
        .fold(leaf, |inner, seg| match seg.parse::<usize>() {
            Ok(i) if i <= 16 && seg.bytes().all(|b| b.is_ascii_digit()) => {
                let mut a = vec![Value::Null; i];
                a.push(inner);
                Value::Array(a)
            }
            _ => {
                let mut m = Map::new();
                m.insert(seg.to_string(), inner);
                Value::Object(m)
            }
        })
}

fuzz_target!(|input: &[u8]| {
    let [selector, rest @ ..] = input else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match selector % 3 {
        0 => match parse_prompts("p.txt", text) {
            Ok(list) => {
                let want: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
                assert_eq!(list, want);
            }
            Err(e) => {
                assert!(text.lines().all(|l| l.trim().is_empty()));
                assert!(e.0.starts_with("--prompts p.txt: "), "{e}");
            }
        },
        1 => match parse_api_keys("k.txt", text) {
            Ok(keys) => {
                assert_eq!(
                    keys.len(),
                    text.lines().filter(|l| !l.trim().is_empty()).count()
                );
                for k in &keys {
                    assert!(k.is_sensitive());
                    assert!(k.as_bytes().starts_with(b"Bearer "), "{k:?}");
                    assert!(k.as_bytes().len() > 7);
                }
            }
            Err(e) => {
                let e = e.0;
                let ok = e
                    == "--api-key-file k.txt: the file has no keys (one per line, 'Bearer x' or 'x')"
                    || (e.starts_with("--api-key-file k.txt line ")
                        && e.ends_with(": the key has characters a header cannot carry")
                        && e["--api-key-file k.txt line ".len()..]
                            .split(':')
                            .next()
                            .is_some_and(|n| n.parse::<usize>().is_ok()));
                assert!(ok, "not a fixed message: {e:?}");
            }
        },
        _ => {
            let (content, usage) = match text.split_once('\u{1f}') {
                Some((c, u)) => (c, Some(u)),
                None => (text, None),
            };
            match ContentFormat::path(content, usage) {
                Ok(format) => {
                    let p = JsonPath::parse(content).expect("accepted above");
                    assert_eq!(p.to_string(), content);
                    assert_eq!(JsonPath::parse(&p.to_string()), Ok(p));
                    let data = build(content, Value::from("tok")).to_string();
                    let event = SseEvent {
                        event: b"",
                        data: data.as_bytes(),
                        id: b"",
                    };
                    let info = format.inspect(&event);
                    assert_eq!(info.content_bytes, 3, "{content:?} in {data}");
                    if let Some(u) = usage {
                        let data = build(u, Value::from(42u64)).to_string();
                        let event = SseEvent {
                            event: b"",
                            data: data.as_bytes(),
                            id: b"",
                        };
                        assert_eq!(format.inspect(&event).usage_tokens, Some(42), "{u:?}");
                    }
                }
                Err(e) => {
                    let shown = e.to_string();
                    assert!(!shown.contains('\n'), "{shown:?}");
                }
            }
        }
    }
});
