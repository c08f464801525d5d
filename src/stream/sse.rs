//! Server-Sent Events: an incremental parser of `text/event-stream` bodies (the WHATWG
//! HTML Living Standard, "Server-sent events", section 9.2.6 "Interpreting an event stream").

/// The UTF-8 byte order mark, skipped once at the start of a stream.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Default bound on one line and on one event's data: 16 MiB.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 << 20;

/// One dispatched event, borrowed from the parser's buffers (valid during the callback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` field's value; empty when the event had none (the spec's `message`).
    pub event: &'a [u8],
    /// The `data:` lines joined with `\n` (no trailing newline).
    pub data: &'a [u8],
    /// The last event id seen on this stream (`id:` fields persist across events); may be empty.
    pub id: &'a [u8],
}

impl<'a> SseEvent<'a> {
    /// The event type: the `event:` field, or `message` when there was none.
    pub fn event_type(&self) -> &'a [u8] {
        if self.event.is_empty() {
            b"message"
        } else {
            self.event
        }
    }

    /// The data as UTF-8, if it is.
    pub fn data_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.data).ok()
    }
}

/// A line or an event's data grew beyond the parser's bound; that line (or event) was dropped
/// and parsing went on after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("event-stream line longer than {0} bytes")]
    LineTooLong(usize),
    #[error("event-stream event data larger than {0} bytes")]
    EventTooLarge(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BomState {
    /// At the start of the stream; this many bytes of the BOM have been seen (0..=2).
    Start(u8),
    /// Past the start.
    Done,
}

/// Incremental `text/event-stream` parser (the WHATWG HTML "event stream interpretation").
///
/// - Lines end with CRLF, LF or CR, also when the CR and the LF arrive in different pieces.
/// - A leading UTF-8 BOM is skipped (also when split across pieces).
/// - `data:` lines accumulate (joined with `\n`); `event:`, `id:` (ignored when it contains
///   NUL) and `retry:` (only ASCII digits) are kept; lines starting with `:` are comments; other
///   fields are ignored; a field without `:` has an empty value; one space after the `:` is
///   dropped.
/// - A blank line dispatches the event if it had at least one `data:` line (so `event: ping`
///   alone dispatches nothing, as in browsers).
/// - [`SseParser::finish`] ends the stream: unlike a browser, which drops an unterminated last
///   event, it dispatches it (many servers end with `data: [DONE]\n` or no newline at all), then
///   resets the parser for the next stream.
///
/// The data is kept as bytes; [`SseEvent::data_str`] checks UTF-8 when needed (JSON parsing
/// checks it anyway). Buffers are reused from event to event and from stream to stream. A line
/// or an event larger than the bound (see [`SseParser::with_max_event_bytes`]) is dropped and
/// reported as an error, so a broken server cannot grow memory without limit.
#[derive(Debug, Clone)]
pub struct SseParser {
    /// A line split across pieces, waiting for its end.
    line: Vec<u8>,
    data: Vec<u8>,
    event: Vec<u8>,
    last_id: Vec<u8>,
    /// At least one `data:` line since the last dispatch.
    has_data: bool,
    /// The previous piece ended with CR: an LF starting the next piece belongs to it.
    after_cr: bool,
    bom: BomState,
    retry: Option<u64>,
    max: usize,
    /// Discard bytes until the end of the current line (it was too long).
    skip_line: bool,
    /// Discard `data:` until the next blank line (the event was too large).
    skip_event: bool,
    error: Option<SseError>,
}

impl Default for SseParser {
    fn default() -> Self {
        SseParser::new()
    }
}

impl SseParser {
    /// A parser with the default bound ([`DEFAULT_MAX_EVENT_BYTES`]).
    pub fn new() -> Self {
        SseParser::with_max_event_bytes(DEFAULT_MAX_EVENT_BYTES)
    }

    /// A parser that drops lines and events larger than `max` bytes (at least 1).
    pub fn with_max_event_bytes(max: usize) -> Self {
        SseParser {
            line: Vec::new(),
            data: Vec::new(),
            event: Vec::new(),
            last_id: Vec::new(),
            has_data: false,
            after_cr: false,
            bom: BomState::Start(0),
            retry: None,
            max: max.max(1),
            skip_line: false,
            skip_event: false,
            error: None,
        }
    }

    /// Forget the current stream (keeping the buffers' memory) to parse a new one.
    pub fn reset(&mut self) {
        self.line.clear();
        self.data.clear();
        self.event.clear();
        self.last_id.clear();
        self.has_data = false;
        self.after_cr = false;
        self.bom = BomState::Start(0);
        self.retry = None;
        self.skip_line = false;
        self.skip_event = false;
        self.error = None;
    }

    /// The last `retry:` value (milliseconds) on this stream.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// The last event id on this stream (empty if none).
    pub fn last_event_id(&self) -> &[u8] {
        &self.last_id
    }

    /// Parse the next piece of the stream, calling `on_event` for each event it completes.
    ///
    /// The whole piece is always consumed. An `Err` says a line or an event in it was larger
    /// than the bound and dropped (the events around it were still dispatched).
    ///
    /// # Errors
    ///
    /// [`SseError::LineTooLong`] when a line went over the bound, [`SseError::EventTooLarge`] when
    /// an event's data did; with several in one piece, the first.
    pub fn feed<F>(&mut self, chunk: &[u8], mut on_event: F) -> Result<(), SseError>
    where
        F: FnMut(&SseEvent<'_>),
    {
        let mut input = chunk;
        if let BomState::Start(seen) = self.bom {
            let mut seen = seen as usize;
            let mut i = 0;
            while seen < BOM.len() && i < input.len() && input[i] == BOM[seen] {
                seen += 1;
                i += 1;
            }
            if seen == BOM.len() {
                self.bom = BomState::Done;
                input = &input[i..];
            } else if i == input.len() {
                // Still a possible BOM: wait for more.
                self.bom = BomState::Start(seen as u8);
                return self.take_error();
            } else {
                // Not a BOM: the bytes that looked like one are ordinary stream bytes.
                self.bom = BomState::Done;
                self.feed_body(&BOM[..seen], &mut on_event);
                input = &input[i..];
            }
        }
        self.feed_body(input, &mut on_event);
        self.take_error()
    }

    /// End the stream: complete a last line without its newline and dispatch a last event
    /// without its blank line, then reset for a new stream.
    ///
    /// # Errors
    ///
    /// An [`SseError`] when the held-back tail goes over the bound: usually the last line taking
    /// the last event's data over it (that event is dropped). The parser is reset either way.
    pub fn finish<F>(&mut self, mut on_event: F) -> Result<(), SseError>
    where
        F: FnMut(&SseEvent<'_>),
    {
        if let BomState::Start(seen) = self.bom {
            self.bom = BomState::Done;
            self.feed_body(&BOM[..seen as usize], &mut on_event);
        }
        if !self.line.is_empty() && !self.skip_line {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, &mut on_event);
            self.line = line;
        }
        self.dispatch(&mut on_event);
        let result = self.take_error();
        self.reset();
        result
    }

    fn take_error(&mut self) -> Result<(), SseError> {
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn fail(&mut self, e: SseError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    fn feed_body(&mut self, mut rest: &[u8], on_event: &mut impl FnMut(&SseEvent<'_>)) {
        if rest.is_empty() {
            return;
        }
        if self.after_cr {
            self.after_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        // Each turn consumes at least one byte or ends the loop.
        while !rest.is_empty() {
            let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.push_partial(rest);
                return;
            };
            let eol = rest[end];
            if self.skip_line {
                self.skip_line = false;
            } else if self.line.is_empty() {
                if end > self.max {
                    self.fail(SseError::LineTooLong(self.max));
                } else {
                    self.process_line(&rest[..end], on_event);
                }
            } else if self.line.len() + end > self.max {
                self.line.clear();
                self.fail(SseError::LineTooLong(self.max));
            } else {
                self.line.extend_from_slice(&rest[..end]);
                let line = std::mem::take(&mut self.line);
                self.process_line(&line, on_event);
                self.line = line;
                self.line.clear();
            }
            rest = &rest[end + 1..];
            if eol == b'\r' {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
    }

    /// Keep the start of a line whose end has not arrived yet.
    fn push_partial(&mut self, bytes: &[u8]) {
        if self.skip_line {
            return;
        }
        if self.line.len() + bytes.len() > self.max {
            self.line.clear();
            self.skip_line = true;
            self.fail(SseError::LineTooLong(self.max));
        } else {
            self.line.extend_from_slice(bytes);
        }
    }

    fn process_line(&mut self, line: &[u8], on_event: &mut impl FnMut(&SseEvent<'_>)) {
        if line.is_empty() {
            self.dispatch(on_event);
            return;
        }
        if line[0] == b':' {
            return; // comment
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &line[line.len()..]),
        };
        match field {
            b"data" => {
                if self.skip_event {
                    return;
                }
                let extra = value.len() + usize::from(self.has_data);
                if self.data.len() + extra > self.max {
                    self.data.clear();
                    self.has_data = false;
                    self.skip_event = true;
                    self.fail(SseError::EventTooLarge(self.max));
                    return;
                }
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                self.event.extend_from_slice(value);
            }
            // An id containing NUL is ignored.
            b"id" if !value.contains(&0) => {
                self.last_id.clear();
                self.last_id.extend_from_slice(value);
            }
            b"retry" => {
                if !value.is_empty()
                    && value.iter().all(u8::is_ascii_digit)
                    && let Some(ms) = parse_u64(value)
                {
                    self.retry = Some(ms);
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, on_event: &mut impl FnMut(&SseEvent<'_>)) {
        if self.has_data {
            on_event(&SseEvent {
                event: &self.event,
                data: &self.data,
                id: &self.last_id,
            });
        }
        self.data.clear();
        self.event.clear();
        self.has_data = false;
        self.skip_event = false;
    }
}

/// ASCII digits to u64; `None` on overflow.
fn parse_u64(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (event type, data, id) of each event, as strings.
    type Ev = (String, String, String);

    fn ev(event: &str, data: &str, id: &str) -> Ev {
        (event.into(), data.into(), id.into())
    }

    fn own(e: &SseEvent<'_>) -> Ev {
        (
            String::from_utf8_lossy(e.event_type()).into_owned(),
            String::from_utf8_lossy(e.data).into_owned(),
            String::from_utf8_lossy(e.id).into_owned(),
        )
    }

    /// Feed `pieces` one after another, then finish.
    fn parse_pieces(pieces: &[&[u8]]) -> Vec<Ev> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for piece in pieces {
            p.feed(piece, |e| out.push(own(e))).unwrap();
        }
        p.finish(|e| out.push(own(e))).unwrap();
        out
    }

    fn parse(s: &[u8]) -> Vec<Ev> {
        parse_pieces(&[s])
    }

    /// Events dispatched by `feed` alone (no finish).
    fn parse_no_finish(s: &[u8]) -> Vec<Ev> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        p.feed(s, |e| out.push(own(e))).unwrap();
        out
    }

    /// Every way of cutting `s` in two and in single bytes gives the same events.
    fn assert_split_invariant(s: &[u8]) {
        let whole = parse(s);
        for cut in 0..=s.len() {
            assert_eq!(parse_pieces(&[&s[..cut], &s[cut..]]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = s.chunks(1).collect();
        assert_eq!(parse_pieces(&bytes), whole, "byte by byte");
    }

    #[test]
    fn lf_crlf_and_cr_line_endings() {
        let want = vec![ev("message", "a", ""), ev("message", "b", "")];
        assert_eq!(parse_no_finish(b"data: a\n\ndata: b\n\n"), want);
        assert_eq!(parse_no_finish(b"data: a\r\n\r\ndata: b\r\n\r\n"), want);
        assert_eq!(parse_no_finish(b"data: a\r\rdata: b\r\r"), want);
        assert_eq!(parse_no_finish(b"data: a\r\n\ndata: b\r\r\n"), want);
        for s in [
            &b"data: a\n\ndata: b\n\n"[..],
            b"data: a\r\n\r\ndata: b\r\n\r\n",
            b"data: a\r\rdata: b\r\r",
            b"data: x\r\ndata: y\r\r\nevent: e\ndata: z\n\r\n",
        ] {
            assert_split_invariant(s);
        }
    }

    #[test]
    fn crlf_split_between_pieces_is_one_line_end() {
        // CR at the end of one piece and LF at the start of the next: one line end, so no
        // extra blank line (which would dispatch early).
        let mut p = SseParser::new();
        let mut out = Vec::new();
        p.feed(b"data: a\r", |e| out.push(own(e))).unwrap();
        p.feed(b"\ndata: b\r", |e| out.push(own(e))).unwrap();
        assert!(out.is_empty());
        p.feed(b"\n\r", |e| out.push(own(e))).unwrap();
        // The event is dispatched as soon as its blank line's CR arrives.
        assert_eq!(out, vec![ev("message", "a\nb", "")]);
        p.feed(b"\ndata: c\n\n", |e| out.push(own(e))).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[1], ev("message", "c", ""));
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines() {
        assert_eq!(
            parse(b"data: one\ndata: two\ndata:three\n\n"),
            vec![ev("message", "one\ntwo\nthree", "")]
        );
        // Empty data lines count: `data` and `data:` add empty lines.
        assert_eq!(parse(b"data\n\n"), vec![ev("message", "", "")]);
        assert_eq!(parse(b"data:\ndata:\n\n"), vec![ev("message", "\n", "")]);
        assert_eq!(
            parse(b"data: a\ndata\ndata: b\n\n"),
            vec![ev("message", "a\n\nb", "")]
        );
        assert_split_invariant(b"data: one\ndata: two\n\ndata\n\n");
    }

    #[test]
    fn only_one_leading_space_is_dropped() {
        assert_eq!(
            parse(b"data:  two spaces \n\n"),
            vec![ev("message", " two spaces ", "")]
        );
        assert_eq!(parse(b"data:\tab\n\n"), vec![ev("message", "\tab", "")]);
        assert_eq!(parse(b"data: a: b\n\n"), vec![ev("message", "a: b", "")]);
    }

    #[test]
    fn event_id_and_retry_fields() {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        p.feed(
            b"event: add\nid: 7\nretry: 2500\ndata: x\n\ndata: y\n\nid\ndata: z\n\n",
            |e| out.push(own(e)),
        )
        .unwrap();
        assert_eq!(
            out,
            vec![
                ev("add", "x", "7"),
                ev("message", "y", "7"),
                ev("message", "z", "")
            ]
        );
        assert_eq!(p.retry(), Some(2500));
        assert_eq!(p.last_event_id(), b"");
        // The event type does not carry over; the last one before the data wins.
        assert_eq!(
            parse(b"event: a\nevent: b\ndata: 1\n\ndata: 2\n\n"),
            vec![ev("b", "1", ""), ev("message", "2", "")]
        );
    }

    #[test]
    fn invalid_id_and_retry_are_ignored() {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        p.feed(b"id: 1\nretry: 100\n\nid: a\0b\nretry: 12x\nretry: -5\nretry:\nretry: 99999999999999999999999\ndata: d\n\n", |e| {
            out.push(own(e))
        })
        .unwrap();
        assert_eq!(out, vec![ev("message", "d", "1")]);
        assert_eq!(p.retry(), Some(100));
        // `retry: 100` without the space works too; a space-padded value does not.
        p.feed(b"retry:250\nretry:  300\n", |_| {}).unwrap();
        assert_eq!(p.retry(), Some(250));
    }

    #[test]
    fn comments_and_unknown_fields_are_ignored() {
        assert_eq!(
            parse(b": hello\n:\ndata: a\n: in the middle\nfoo: bar\nDATA: no\ndata : no\nbar\ndata: b\n\n"),
            vec![ev("message", "a\nb", "")]
        );
        // A comment alone between blank lines dispatches nothing (keep-alive pings).
        assert_eq!(parse(b": ping\n\n: ping\n\n"), vec![]);
    }

    #[test]
    fn events_without_data_are_not_dispatched() {
        assert_eq!(parse(b"event: ping\n\n"), vec![]);
        assert_eq!(
            parse(b"event: ping\n\nevent: x\nid: 3\n\ndata: d\n\n"),
            vec![ev("message", "d", "3")]
        );
        assert_eq!(parse(b"\n\n\n\r\n\r"), vec![]);
    }

    #[test]
    fn leading_bom_is_skipped_once() {
        assert_eq!(
            parse(b"\xEF\xBB\xBFdata: a\n\n"),
            vec![ev("message", "a", "")]
        );
        // Split in every way.
        assert_split_invariant(b"\xEF\xBB\xBFdata: a\n\n");
        // A second BOM is not skipped: here it makes the field name unknown.
        assert_eq!(
            parse(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n"),
            vec![ev("message", "b", "")]
        );
        // A BOM later in the stream is ordinary data.
        assert_eq!(
            parse(b"data: \xEF\xBB\xBFa\n\n"),
            vec![ev("message", "\u{feff}a", "")]
        );
    }

    #[test]
    fn bytes_that_only_start_like_a_bom_are_kept() {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        p.feed(b"\xEF", |e| out.push(e.data.to_vec())).unwrap();
        p.feed(b"\xBB", |e| out.push(e.data.to_vec())).unwrap();
        p.feed(b"x: 1\ndata: a\n\n", |e| out.push(e.data.to_vec()))
            .unwrap();
        assert_eq!(out, vec![b"a".to_vec()]);
        // A partial BOM as the only content, then finish: nothing, no panic.
        assert_eq!(parse_pieces(&[b"\xEF\xBB"]), vec![]);
        // `\xEF` then a line end: the line is the lone byte, an unknown field.
        assert_eq!(
            parse_pieces(&[b"\xEF", b"\ndata: z\n\n"]),
            vec![ev("message", "z", "")]
        );
    }

    #[test]
    fn events_split_across_arbitrary_reads() {
        let stream: &[u8] = b"\xEF\xBB\xBF: comment\r\nevent: message\r\nid: 42\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\ndata: second\n\nretry: 10\rdata: third\r\r";
        assert_split_invariant(stream);
        assert_eq!(
            parse(stream),
            vec![
                ev("message", "{\"a\":\n1}", "42"),
                ev("message", "second", "42"),
                ev("message", "third", "42"),
            ]
        );
        // Three-way splits too.
        let whole = parse(stream);
        for a in 0..stream.len() {
            for b in a..stream.len() {
                assert_eq!(
                    parse_pieces(&[&stream[..a], &stream[a..b], &stream[b..]]),
                    whole
                );
            }
        }
    }

    #[test]
    fn finish_dispatches_a_final_event_without_blank_line() {
        // Ends after the line's newline.
        assert_eq!(
            parse_no_finish(b"data: a\n\ndata: [DONE]\n"),
            vec![ev("message", "a", "")]
        );
        assert_eq!(
            parse(b"data: a\n\ndata: [DONE]\n"),
            vec![ev("message", "a", ""), ev("message", "[DONE]", "")]
        );
        // Ends in the middle of the line.
        assert_eq!(
            parse(b"data: a\n\ndata: [DONE]"),
            vec![ev("message", "a", ""), ev("message", "[DONE]", "")]
        );
        assert_eq!(parse(b"event: end\ndata: x\r"), vec![ev("end", "x", "")]);
        // Nothing pending: nothing dispatched.
        assert_eq!(parse(b"data: a\n\n"), vec![ev("message", "a", "")]);
        assert_eq!(parse(b"event: x\n"), vec![]);
        assert_eq!(parse(b""), vec![]);
    }

    #[test]
    fn finish_resets_for_the_next_stream() {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        p.feed(b"\xEF\xBB\xBFid: 9\nretry: 5\ndata: a", |e| {
            out.push(own(e))
        })
        .unwrap();
        p.finish(|e| out.push(own(e))).unwrap();
        assert_eq!(p.retry(), None);
        assert_eq!(p.last_event_id(), b"");
        // A BOM is skipped again at the start of the next stream; no CR state carries over.
        p.feed(b"\xEF\xBB\xBFdata: b\n\n", |e| out.push(own(e)))
            .unwrap();
        assert_eq!(out, vec![ev("message", "a", "9"), ev("message", "b", "")]);
        let mut p = SseParser::new();
        p.feed(b"data: a\r", |_| {}).unwrap();
        p.finish(|_| {}).unwrap();
        let mut n = 0;
        p.feed(b"\ndata: b\n\n", |_| n += 1).unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn oversized_lines_and_events_are_dropped_and_reported() {
        let mut p = SseParser::with_max_event_bytes(16);
        let mut out = Vec::new();
        // A too-long line in one piece.
        let r = p.feed(b"data: 0123456789abcdefghij\n\ndata: ok\n\n", |e| {
            out.push(own(e))
        });
        assert_eq!(r, Err(SseError::LineTooLong(16)));
        assert_eq!(out, vec![ev("message", "ok", "")]);
        // A too-long line over several pieces: its tail is skipped up to its end.
        out.clear();
        assert_eq!(p.feed(b"data: 0123456789", |e| out.push(own(e))), Ok(()));
        assert_eq!(
            p.feed(b"abcdef", |e| out.push(own(e))),
            Err(SseError::LineTooLong(16))
        );
        assert_eq!(p.feed(b"ghij\ndata: x\n\n", |e| out.push(own(e))), Ok(()));
        assert_eq!(out, vec![ev("message", "x", "")]);
        // An event whose data lines add up to too much is dropped as a whole.
        out.clear();
        let r = p.feed(
            b"data: 0123456\ndata: 0123456\ndata: 0123\n\ndata: y\n\n",
            |e| out.push(own(e)),
        );
        assert_eq!(r, Err(SseError::EventTooLarge(16)));
        assert_eq!(out, vec![ev("message", "y", "")]);
        // The same split across pieces, and a partial line exceeding at finish.
        let mut p = SseParser::with_max_event_bytes(8);
        assert!(p.feed(b"data: 12345678", |_| {}).is_err());
        assert_eq!(p.finish(|_| panic!("dropped")), Ok(()));
    }

    #[test]
    fn buffers_are_reused() {
        let mut p = SseParser::new();
        let chunk = b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n".repeat(4);
        p.feed(&chunk[..17], |_| {}).unwrap();
        p.feed(&chunk[17..], |_| {}).unwrap();
        let caps = (p.line.capacity(), p.data.capacity(), p.event.capacity());
        for _ in 0..100 {
            p.feed(&chunk[..17], |_| {}).unwrap();
            p.feed(&chunk[17..], |_| {}).unwrap();
        }
        assert_eq!(
            (p.line.capacity(), p.data.capacity(), p.event.capacity()),
            caps
        );
    }
}
