//! Fuzz the SSE parser and the content extractors (see docs/FUZZING.md).
//!
//! Input: two control bytes, then the stream. Properties checked:
//! - nothing panics, whatever the bytes (parser, every content format, the meter);
//! - feeding the stream in pieces (sizes drawn from the control bytes) gives exactly the events
//!   and the error verdict of feeding it whole;
//! - with the default bound, the events are those of a simple non-incremental reference
//!   implementation of the WHATWG event-stream rules (plus the final-event-on-finish rule).

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use qpsbench::stream::{ContentFormat, SseEvent, SseParser, StreamClose, StreamMeter};

/// (event type, data, id) of one event.
type Ev = (Vec<u8>, Vec<u8>, Vec<u8>);

fn own(e: &SseEvent<'_>) -> Ev {
    (e.event_type().to_vec(), e.data.to_vec(), e.id.to_vec())
}

/// Feed `pieces`, then finish: the events and whether any call reported an error.
fn run(parser: &mut SseParser, pieces: &[&[u8]]) -> (Vec<Ev>, bool) {
    let mut out = Vec::new();
    let mut failed = false;
    for p in pieces {
        failed |= parser.feed(p, |e| out.push(own(e))).is_err();
    }
    failed |= parser.finish(|e| out.push(own(e))).is_err();
    (out, failed)
}

/// Cut `input` into pieces whose sizes come from a small generator seeded with `seed`.
fn split(input: &[u8], seed: u8) -> Vec<&[u8]> {
    let mut pieces = Vec::new();
    let mut state = u32::from(seed) | 1;
    let mut rest = input;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        // Mostly tiny pieces (1..=8 bytes) to hit every boundary; sometimes empty ones.
        let n = (state % 9) as usize;
        let n = n.min(rest.len());
        pieces.push(&rest[..n]);
        rest = &rest[n..];
    }
    pieces
}

/// The event-stream rules applied to the whole input at once.
fn reference(input: &[u8]) -> Vec<Ev> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\r' => {
                lines.push(&input[start..i]);
                if input.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            b'\n' => {
                lines.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < input.len() {
        lines.push(&input[start..]);
    }
    // End of stream dispatches like a blank line.
    lines.push(b"");

    let mut out = Vec::new();
    let (mut data, mut event, mut id): (Option<Vec<u8>>, Vec<u8>, Vec<u8>) =
        (None, Vec::new(), Vec::new());
    for line in lines {
        if line.is_empty() {
            if let Some(d) = data.take() {
                let ty = if event.is_empty() {
                    b"message".to_vec()
                } else {
                    event.clone()
                };
                out.push((ty, d, id.clone()));
            }
            event.clear();
            continue;
        }
        if line[0] == b':' {
            continue;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(c) => {
                let v = &line[c + 1..];
                (&line[..c], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => match &mut data {
                Some(d) => {
                    d.push(b'\n');
                    d.extend_from_slice(value);
                }
                None => data = Some(value.to_vec()),
            },
            b"event" => event = value.to_vec(),
            b"id" if !value.contains(&0) => id = value.to_vec(),
            _ => {}
        }
    }
    out
}

fuzz_target!(|input: &[u8]| {
    let [bound, seed, stream @ ..] = input else {
        return;
    };
    // Half the time a tiny bound, to exercise the oversize paths.
    let max = if bound & 1 == 1 {
        usize::from(bound >> 1) + 1
    } else {
        usize::MAX
    };

    let mut parser = SseParser::with_max_event_bytes(max);
    let whole = run(&mut parser, &[stream]);
    // The same parser again (finish resets it), now in pieces.
    let pieces = run(&mut parser, &split(stream, *seed));
    assert_eq!(whole, pieces, "pieces differ from whole");

    if max == usize::MAX {
        assert!(!whole.1);
        assert_eq!(whole.0, reference(stream), "differs from the reference");
    }

    // Every format on every event, and the meter, must not panic.
    let formats = [
        ContentFormat::OpenAi,
        ContentFormat::Dify,
        ContentFormat::path("choices.0.delta.content", Some("usage.completion_tokens")).unwrap(),
        ContentFormat::path("a.1.b", None).unwrap(),
        ContentFormat::Raw,
    ];
    let t0 = Instant::now();
    for format in formats {
        let mut meter = StreamMeter::new(format);
        meter.start(t0);
        let mut gaps = 0u32;
        let mut on_itl = |_us: u32| gaps += 1;
        for (i, p) in split(stream, seed.wrapping_add(1)).iter().enumerate() {
            let _ = meter.feed(t0 + Duration::from_micros(i as u64), p, &mut on_itl);
        }
        let stats = meter.finish(t0 + Duration::from_secs(1), StreamClose::Eof, &mut on_itl);
        assert_eq!(gaps, stats.itl_count);
        assert!(stats.content_events <= meter.events());
        let _ = (stats.tpot(), stats.tokens_per_sec(), stats.itl_mean());
    }
});
