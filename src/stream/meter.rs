//! [`StreamMeter`]: the SSE parser, the content format, the timer and the client's own token
//! count of the text, run together for one user thread.

use std::sync::Arc;
use std::time::Instant;

use super::content::{ContentFormat, TextKind};
use super::sse::{SseError, SseEvent, SseParser};
use super::timing::{EndReason, StreamClose, StreamStats, StreamTimer, TokenSource};
use super::tokens::{TextTokens, Tokenizer};

/// Parser + content format + timer for one user thread: one per thread, reused for every
/// request (its buffers are kept).
///
/// Per request: [`StreamMeter::start`] at send start, [`StreamMeter::feed`] with each piece of
/// body read and the instant it was read, then [`StreamMeter::finish`].
#[derive(Debug, Clone)]
pub struct StreamMeter {
    parser: SseParser,
    sink: EventSink,
}

/// What the parser's events go to: the content format reads each, the timer and the text
/// count take what it found.
#[derive(Debug, Clone)]
struct EventSink {
    format: ContentFormat,
    timer: StreamTimer,
    malformed: u32,
    events: u32,
    text: TextCount,
}

impl EventSink {
    fn take(&mut self, at: Instant, ev: &SseEvent<'_>, on_itl: &mut impl FnMut(u32)) {
        let text = &mut self.text;
        let info = self
            .format
            .inspect_text(ev, &mut |kind, t| text.take(kind, t));
        self.events = self.events.saturating_add(1);
        self.malformed = self.malformed.saturating_add(u32::from(info.malformed));
        self.timer.record(at, info, on_itl);
    }
}

/// The client's own count of a request's output tokens, from the content text: the estimate
/// always (cheap, incremental), and the text itself kept for the tokenizer when there is one.
#[derive(Debug, Clone, Default)]
struct TextCount {
    tokenizer: Option<Arc<Tokenizer>>,
    answer: TextTokens,
    reasoning: TextTokens,
    answer_text: String,
    reasoning_text: String,
}

impl TextCount {
    fn reset(&mut self) {
        self.answer = TextTokens::new();
        self.reasoning = TextTokens::new();
        self.answer_text.clear();
        self.reasoning_text.clear();
    }

    fn take(&mut self, kind: TextKind, text: &str) {
        let (estimate, kept) = match kind {
            TextKind::Answer => (&mut self.answer, &mut self.answer_text),
            TextKind::Reasoning => (&mut self.reasoning, &mut self.reasoning_text),
        };
        estimate.feed(text);
        if self.tokenizer.is_some() {
            kept.push_str(text);
        }
    }

    /// (output tokens, of which reasoning, how they were counted); the tokenizer only when
    /// `tokenize` (the server sent no count of its own).
    fn count(&self, tokenize: bool) -> (u32, u32, TokenSource) {
        let u32_of = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        match &self.tokenizer {
            Some(t) if tokenize => {
                let reasoning = t.count(&self.reasoning_text);
                let answer = t.count(&self.answer_text);
                (
                    u32_of(answer + reasoning),
                    u32_of(reasoning),
                    TokenSource::Tokenizer,
                )
            }
            _ => (
                u32_of(self.answer.count() + self.reasoning.count()),
                u32_of(self.reasoning.count()),
                TokenSource::Estimate,
            ),
        }
    }
}

impl StreamMeter {
    pub fn new(format: ContentFormat) -> Self {
        StreamMeter::with_parser(format, SseParser::new())
    }

    /// With a parser of another bound.
    pub fn with_parser(format: ContentFormat, parser: SseParser) -> Self {
        StreamMeter {
            parser,
            sink: EventSink {
                format,
                timer: StreamTimer::new(Instant::now()),
                malformed: 0,
                events: 0,
                text: TextCount::default(),
            },
        }
    }

    /// Count output tokens with `tokenizer` when the server sends no usage (else they are
    /// estimated from the text).
    pub fn with_tokenizer(mut self, tokenizer: Option<Arc<Tokenizer>>) -> Self {
        self.sink.text.tokenizer = tokenizer;
        self
    }

    pub fn format(&self) -> &ContentFormat {
        &self.sink.format
    }

    /// Begin a request whose sending started at `sent`.
    pub fn start(&mut self, sent: Instant) {
        self.parser.reset();
        self.sink.timer = StreamTimer::new(sent);
        self.sink.malformed = 0;
        self.sink.events = 0;
        self.sink.text.reset();
    }

    /// A piece of the body, read at `at`. An `Err` says an oversized line/event was dropped;
    /// the meter stays usable (the caller may end the request as a protocol failure).
    ///
    /// # Errors
    ///
    /// When a line or an event's data in `chunk` goes over the parser's bound (see
    /// [`SseParser::feed`]); it is dropped, and the events around it still count.
    pub fn feed(
        &mut self,
        at: Instant,
        chunk: &[u8],
        on_itl: &mut impl FnMut(u32),
    ) -> Result<(), SseError> {
        let StreamMeter { parser, sink, .. } = self;
        parser.feed(chunk, |ev| sink.take(at, ev, on_itl))
    }

    /// End the request at `end`: a last event without its blank line is dispatched (at `end`),
    /// and the summary is returned.
    pub fn finish(
        &mut self,
        end: Instant,
        close: StreamClose,
        on_itl: &mut impl FnMut(u32),
    ) -> StreamStats {
        let StreamMeter { parser, sink } = self;
        // An oversized tail was dropped; nothing else to do with the error here.
        let _ = parser.finish(|ev| sink.take(end, ev, on_itl));
        let EventSink {
            timer,
            text,
            format,
            ..
        } = sink;
        let mut stats = timer.finish(end, close);
        // A format with a terminating event whose body ended before it, and before the server
        // said the answer was finished: the answer was cut short.
        if stats.end == EndReason::Closed && format.has_terminator() && !stats.finished {
            stats.end = EndReason::Cut;
        }
        // The tokenizer only runs when the server sent no count of its own.
        (
            stats.counted_tokens,
            stats.counted_reasoning_tokens,
            stats.counter,
        ) = text.count(stats.usage_tokens.is_none());
        stats
    }

    /// A terminating event has been seen in this request.
    pub fn saw_done(&self) -> bool {
        self.sink.timer.saw_done()
    }

    /// Content events so far in this request.
    pub fn content_events(&self) -> u32 {
        self.sink.timer.content_events()
    }

    /// Events dispatched so far in this request.
    pub fn events(&self) -> u32 {
        self.sink.events
    }

    /// Events whose data did not have the expected shape so far in this request.
    pub fn malformed_events(&self) -> u32 {
        self.sink.malformed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn meter_end_to_end_openai() {
        let t0 = Instant::now();
        let mut meter = StreamMeter::new(ContentFormat::OpenAi);
        let mut gaps = Vec::new();
        for round in 0..2 {
            gaps.clear();
            meter.start(t0);
            let mut on_itl = |g| gaps.push(g);
            let pieces: [&[u8]; 5] = [
                b"\xEF\xBB\xBF: keep-alive\n\ndata: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
                b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"del",
                b"ta\":{\"content\":\"b\"}}]}\r\n\r\n",
                b"data: {\"choices\":[{\"delta\":{\"content\":\"c\"}}]}\n\ndata: not json\n\n",
                b"data: {\"choices\":[],\"usage\":{\"completion_tokens\":3}}\n\ndata: [DONE]",
            ];
            for (i, p) in pieces.iter().enumerate() {
                meter
                    .feed(t0 + ms(40 + 10 * i as u64), p, &mut on_itl)
                    .unwrap();
            }
            assert_eq!(meter.content_events(), 3);
            let s = meter.finish(t0 + ms(100), StreamClose::Eof, &mut on_itl);
            assert_eq!(s.ttft, Some(ms(50)), "round {round}");
            assert_eq!(gaps, vec![10_000, 10_000]);
            assert_eq!((s.tokens(), s.token_source()), (3, TokenSource::Usage));
            // [DONE] without its blank line is dispatched by finish.
            assert_eq!(s.end, EndReason::Done);
            assert_eq!(meter.events(), 7);
            assert_eq!(meter.malformed_events(), 1);
        }
    }

    #[test]
    fn meter_cut_stream_keeps_tokens_so_far() {
        let t0 = Instant::now();
        let mut meter = StreamMeter::new(ContentFormat::Dify);
        meter.start(t0);
        let mut none = |_| {};
        meter
            .feed(
                t0 + ms(5),
                b"event: ping\n\ndata: {\"event\":\"message\",\"answer\":\"x\"}\n\n",
                &mut none,
            )
            .unwrap();
        meter
            .feed(
                t0 + ms(6),
                b"data: {\"event\":\"message\",\"answer\":\" y\"}\n\ndata: {\"event\":\"mess",
                &mut none,
            )
            .unwrap();
        let s = meter.finish(t0 + ms(9), StreamClose::Broken, &mut none);
        assert_eq!(s.end, EndReason::Cut);
        // "x", " y": two words of the text, estimated (no usage).
        assert_eq!((s.tokens(), s.token_source()), (2, TokenSource::Estimate));
        // The partial last event was malformed JSON: not content.
        assert_eq!(meter.malformed_events(), 1);
        assert_eq!(meter.format(), &ContentFormat::Dify);
    }

    fn openai_event(field: &str, text: &str) -> Vec<u8> {
        format!("data: {{\"choices\":[{{\"delta\":{{\"{field}\":\"{text}\"}}}}]}}\n\n").into_bytes()
    }

    #[test]
    fn meter_counts_text_without_usage_and_splits_reasoning() {
        let t0 = Instant::now();
        let run = |meter: &mut StreamMeter, usage: &str| {
            meter.start(t0);
            // Two reasoning events (three words), then the answer, two words per event.
            let mut at = 10;
            for (field, text) in [
                ("reasoning_content", "Let me"),
                ("reasoning_content", " think"),
                ("content", "The quick"),
                ("content", " brown fox"),
                ("content", "."),
            ] {
                meter
                    .feed(t0 + ms(at), &openai_event(field, text), &mut |_| {})
                    .unwrap();
                at += 10;
            }
            meter
                .feed(t0 + ms(at), usage.as_bytes(), &mut |_| {})
                .unwrap();
            meter.finish(t0 + ms(100), StreamClose::Eof, &mut |_| {})
        };
        let mut meter = StreamMeter::new(ContentFormat::OpenAi);
        let s = run(&mut meter, "data: [DONE]\n\n");
        assert_eq!(s.ttft, Some(ms(10)));
        assert_eq!(s.ttfot, Some(ms(30)), "the first answer event");
        assert_eq!((s.tokens(), s.token_source()), (8, TokenSource::Estimate));
        assert_eq!(s.reasoning_tokens(), 3);
        assert!(s.has_reasoning() && s.reasoning_events == 2);
        // 8 tokens between 10 and 50 ms.
        assert_eq!(s.tpot(), Some(Duration::from_nanos(40_000_000 / 7)));

        // One token per character with the tokenizer: "Let me think" is 12, the answer 20.
        let chars = Tokenizer::from_file(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/tokenizer-chars.json"),
        )
        .unwrap();
        let mut meter =
            StreamMeter::new(ContentFormat::OpenAi).with_tokenizer(Some(Arc::new(chars)));
        let s = run(&mut meter, "data: [DONE]\n\n");
        assert_eq!((s.tokens(), s.token_source()), (32, TokenSource::Tokenizer));
        assert_eq!(s.reasoning_tokens(), 12);
        // The server's usage wins, its reasoning figure too; the next request starts afresh.
        let usage = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":9,\"completion_tokens_details\":{\"reasoning_tokens\":4}}}\n\n";
        let s = run(&mut meter, usage);
        assert_eq!((s.tokens(), s.token_source()), (9, TokenSource::Usage));
        assert_eq!((s.reasoning_tokens(), s.input_tokens), (4, Some(7)));
        // Usage without a reasoning figure: the client's count of the reasoning text.
        let s = run(
            &mut meter,
            "data: {\"choices\":[],\"usage\":{\"completion_tokens\":40}}\n\n",
        );
        assert_eq!((s.tokens(), s.reasoning_tokens()), (40, 3));
    }
}
