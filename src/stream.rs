//! Server-Sent Events: an incremental parser, content extraction for LLM chat APIs and the
//! per-request token timing (TTFT, ITL, TPOT, tokens/s).
//!
//! Three layers, usable on their own or together through [`StreamMeter`]:
//!
//! 1. [`SseParser`] turns the bytes of a `text/event-stream` body, fed in arbitrary pieces as
//!    they arrive, into [`SseEvent`]s (borrowed from the parser's reused buffers: no allocation
//!    per event once the buffers have grown to the stream's largest event).
//! 2. [`ContentFormat::inspect`] looks at one event and says whether it carries content and how
//!    much, whether it reports the number of output tokens (`usage`), ends the stream
//!    (`[DONE]`, Dify `message_end`) or reports an error.
//! 3. [`StreamTimer`] takes those per event with the instant the event was read and keeps the
//!    request's token timings; [`StreamTimer::finish`] gives a small `Copy` [`StreamStats`] for
//!    the request's sample. Each inter-token gap (ITL) is also handed to a caller's closure in
//!    microseconds, e.g. to fill an [`ItlBatch`] that the user thread sends to the collector.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use qpsbench::stream::{ContentFormat, ItlBatch, StreamClose, StreamMeter, TokenSource};
//!
//! let sent = Instant::now();
//! let mut meter = StreamMeter::new(ContentFormat::OpenAi);
//! meter.start(sent);
//! let mut batch = ItlBatch::new();
//! let mut on_itl = |us: u32| {
//!     if batch.push(us) {
//!         // full: send `batch.take()` to the collector
//!     }
//! };
//! let chunks: [&[u8]; 3] = [
//!     b"data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n",
//!     b"data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\ndata: {\"choices\":[],",
//!     b"\"usage\":{\"completion_tokens\":2}}\n\ndata: [DONE]\n\n",
//! ];
//! for (i, chunk) in chunks.iter().enumerate() {
//!     let at = sent + Duration::from_millis(50 + 10 * i as u64);
//!     meter.feed(at, chunk, &mut on_itl).unwrap();
//! }
//! let stats = meter.finish(sent + Duration::from_millis(80), StreamClose::Eof, &mut on_itl);
//! assert_eq!(stats.ttft, Some(Duration::from_millis(50)));
//! assert_eq!((stats.tokens(), stats.token_source()), (2, TokenSource::Usage));
//! assert_eq!(stats.itl_count, 1);
//! ```

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

// ---------------------------------------------------------------------------------------------
// SSE parser
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Content extraction
// ---------------------------------------------------------------------------------------------

/// What one event means for token timing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventInfo {
    /// Bytes of content text the event carries; the event "carries content" when this is > 0.
    pub content_bytes: usize,
    /// Output tokens the server reports (`completion_tokens`) in this event.
    pub usage_tokens: Option<u64>,
    /// The event ends the stream normally (`[DONE]`, Dify `message_end`).
    pub done: bool,
    /// The event reports an error (`event: error`, an OpenAI `error` object, Dify `error`).
    pub error: bool,
    /// The event's data should have been JSON but was not (or not of the expected shape).
    pub malformed: bool,
}

impl EventInfo {
    /// The event carries (non-empty) content.
    pub fn is_content(&self) -> bool {
        self.content_bytes > 0
    }
}

/// Where the content of a streamed answer sits in its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentFormat {
    /// OpenAI-compatible chat completions (also vLLM, SGLang, TGI, llama.cpp, Ollama's `/v1`):
    /// content is `choices[0].delta.content` (or `delta.reasoning_content` / `delta.reasoning`
    /// of reasoning models, or `choices[0].text` of the legacy completions API); the output
    /// tokens are the last `usage.completion_tokens` seen; `data: [DONE]` ends the stream; a
    /// top-level `error` object (or `"object": "error"`) is an error.
    OpenAi,
    /// Dify `chat-messages` streaming: content is the `answer` of `message` and
    /// `agent_message` events (the type is the JSON `event` key, or else the SSE `event:`
    /// field); `message_end` ends the stream and carries `metadata.usage.completion_tokens`;
    /// an `error` event is an error.
    Dify,
    /// Any JSON API: the content is the string at `content`; output tokens are the integer at
    /// `usage` when given. `data: [DONE]` still ends the stream.
    Path {
        content: JsonPath,
        usage: Option<JsonPath>,
    },
    /// Not JSON: every event with non-empty data (other than `[DONE]`) is content.
    Raw,
}

impl ContentFormat {
    /// A [`ContentFormat::Path`] from `--content-path` (and an optional usage path).
    pub fn path(content: &str, usage: Option<&str>) -> Result<Self, JsonPathError> {
        Ok(ContentFormat::Path {
            content: JsonPath::parse(content)?,
            usage: usage.map(JsonPath::parse).transpose()?,
        })
    }

    /// The format names a terminating event (`[DONE]` or `message_end`), so an end of stream
    /// before it means the answer was cut short.
    pub fn has_terminator(&self) -> bool {
        matches!(self, ContentFormat::OpenAi | ContentFormat::Dify)
    }

    /// What `event` means. Never fails: data that is not what the format expects is
    /// reported as [`EventInfo::malformed`] and carries no content.
    pub fn inspect(&self, event: &SseEvent<'_>) -> EventInfo {
        let mut info = EventInfo {
            error: event.event == b"error",
            ..EventInfo::default()
        };
        let data = event.data;
        if data.trim_ascii() == b"[DONE]" {
            info.done = true;
            return info;
        }
        match self {
            ContentFormat::OpenAi => inspect_openai(data, &mut info),
            ContentFormat::Dify => inspect_dify(event, &mut info),
            ContentFormat::Path { content, usage } => {
                match walk(data, content, StrLenLeaf) {
                    Ok(len) => info.content_bytes = len.unwrap_or(0),
                    Err(()) => info.malformed = true,
                }
                if let Some(usage) = usage
                    && let Ok(tokens) = walk(data, usage, U64Leaf)
                {
                    info.usage_tokens = tokens;
                }
            }
            ContentFormat::Raw => info.content_bytes = data.len(),
        }
        info
    }
}

/// Length of a JSON string without keeping it; `null` and non-strings count as empty.
#[derive(Debug, Clone, Copy, Default)]
struct StrLen(usize);

impl<'de> Deserialize<'de> for StrLen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(StrLen(
            d.deserialize_any(LenientVisitor(StrLenLeaf))?.unwrap_or(0),
        ))
    }
}

#[derive(Deserialize)]
struct OpenAiChunk<'a> {
    #[serde(default)]
    choices: Option<FirstChoice>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<IgnoredAny>,
    #[serde(default, borrow)]
    object: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    completion_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    text: Option<StrLen>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<StrLen>,
    #[serde(default)]
    reasoning_content: Option<StrLen>,
    #[serde(default)]
    reasoning: Option<StrLen>,
}

/// The first element of an array (the rest is skipped without being kept).
struct FirstChoice(Option<Choice>);

impl<'de> Deserialize<'de> for FirstChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FirstChoice;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstChoice, A::Error> {
                let first = seq.next_element::<Choice>()?;
                // Bounded by the input: each element consumes bytes.
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstChoice(first))
            }
        }
        d.deserialize_seq(V)
    }
}

fn inspect_openai(data: &[u8], info: &mut EventInfo) {
    let Ok(chunk) = serde_json::from_slice::<OpenAiChunk<'_>>(data) else {
        info.malformed = true;
        return;
    };
    if chunk.error.is_some() || chunk.object.as_deref() == Some("error") {
        info.error = true;
    }
    if let Some(usage) = chunk.usage {
        info.usage_tokens = usage.completion_tokens;
    }
    if let Some(FirstChoice(Some(choice))) = chunk.choices {
        let len = |s: Option<StrLen>| s.map_or(0, |s| s.0);
        info.content_bytes = match choice.delta {
            Some(d) => len(d.content) + len(d.reasoning_content) + len(d.reasoning),
            None => 0,
        } + len(choice.text);
    }
}

#[derive(Deserialize)]
struct DifyEvent<'a> {
    #[serde(default, borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(default)]
    answer: Option<StrLen>,
    #[serde(default)]
    metadata: Option<DifyMetadata>,
}

#[derive(Deserialize)]
struct DifyMetadata {
    #[serde(default)]
    usage: Option<Usage>,
}

fn inspect_dify(event: &SseEvent<'_>, info: &mut EventInfo) {
    let Ok(msg) = serde_json::from_slice::<DifyEvent<'_>>(event.data) else {
        info.malformed = true;
        return;
    };
    let kind: &[u8] = match &msg.event {
        Some(kind) => kind.as_bytes(),
        None => event.event_type(),
    };
    match kind {
        b"message" | b"agent_message" => {
            info.content_bytes = msg.answer.map_or(0, |a| a.0);
        }
        b"message_end" => {
            info.done = true;
            info.usage_tokens = msg
                .metadata
                .and_then(|m| m.usage)
                .and_then(|u| u.completion_tokens);
        }
        b"error" => info.error = true,
        _ => {}
    }
}

// --- generic JSON paths ----------------------------------------------------------------------

/// A dotted path into JSON, like `choices.0.delta.content` or `a.b`: each segment is an object
/// key, or (when it is a number) an array index. There is no escaping: keys containing `.`
/// cannot be named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    key: String,
    index: Option<usize>,
}

/// A path that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonPathError {
    #[error("empty content path")]
    Empty,
    #[error(
        "empty segment in path {0:?} (use keys separated by single dots, like choices.0.delta.content)"
    )]
    EmptySegment(String),
    #[error("path {0:?} is too deep (at most 32 segments)")]
    TooDeep(String),
}

impl JsonPath {
    /// Parse `a.b.0.c`.
    pub fn parse(path: &str) -> Result<JsonPath, JsonPathError> {
        if path.is_empty() {
            return Err(JsonPathError::Empty);
        }
        let segments: Vec<Segment> = path
            .split('.')
            .map(|s| {
                if s.is_empty() {
                    Err(JsonPathError::EmptySegment(path.to_string()))
                } else {
                    Ok(Segment {
                        key: s.to_string(),
                        index: if s.bytes().all(|b| b.is_ascii_digit()) {
                            s.parse().ok()
                        } else {
                            None
                        },
                    })
                }
            })
            .collect::<Result<_, _>>()?;
        if segments.len() > 32 {
            return Err(JsonPathError::TooDeep(path.to_string()));
        }
        Ok(JsonPath { segments })
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(&s.key)?;
        }
        Ok(())
    }
}

/// Follow `path` in the JSON `data` and read the leaf; `Ok(None)` when the path is absent
/// or the leaf has another type, `Err` when `data` is not JSON.
fn walk<L: Leaf>(data: &[u8], path: &JsonPath, leaf: L) -> Result<Option<L::Value>, ()> {
    let mut de = serde_json::Deserializer::from_slice(data);
    let value = Walk {
        path: &path.segments,
        leaf,
    }
    .deserialize(&mut de)
    .map_err(|_| ())?;
    de.end().map_err(|_| ())?;
    Ok(value)
}

/// What to read at the end of a path (any other type reads as `None`).
trait Leaf: Copy {
    type Value;
    fn string(self, _s: &str) -> Option<Self::Value> {
        None
    }
    fn unsigned(self, _n: u64) -> Option<Self::Value> {
        None
    }
}

#[derive(Clone, Copy)]
struct StrLenLeaf;

impl Leaf for StrLenLeaf {
    type Value = usize;
    fn string(self, s: &str) -> Option<usize> {
        Some(s.len())
    }
}

#[derive(Clone, Copy)]
struct U64Leaf;

impl Leaf for U64Leaf {
    type Value = u64;
    fn unsigned(self, n: u64) -> Option<u64> {
        Some(n)
    }
}

/// A visitor that accepts any JSON value: the leaf reads strings/integers, everything else is
/// skipped and reads as `None`.
struct LenientVisitor<L>(L);

impl<'de, L: Leaf> Visitor<'de> for LenientVisitor<L> {
    type Value = Option<L::Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.string(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(self.0.unsigned(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(v).ok().and_then(|v| self.0.unsigned(v)))
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

struct Walk<'p, L> {
    path: &'p [Segment],
    leaf: L,
}

impl<'de, L: Leaf> DeserializeSeed<'de> for Walk<'_, L> {
    type Value = Option<L::Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        match self.path.split_first() {
            None => d.deserialize_any(LenientVisitor(self.leaf)),
            Some((segment, rest)) => d.deserialize_any(WalkVisitor {
                segment,
                rest,
                leaf: self.leaf,
            }),
        }
    }
}

struct WalkVisitor<'p, L> {
    segment: &'p Segment,
    rest: &'p [Segment],
    leaf: L,
}

impl<'de, L: Leaf> Visitor<'de> for WalkVisitor<'_, L> {
    type Value = Option<L::Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(is_ours) = map.next_key_seed(KeyIs(&self.segment.key))? {
            if is_ours && found.is_none() {
                found = Some(map.next_value_seed(Walk {
                    path: self.rest,
                    leaf: self.leaf,
                })?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found.flatten())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        let mut i = 0usize;
        loop {
            if Some(i) == self.segment.index {
                match seq.next_element_seed(Walk {
                    path: self.rest,
                    leaf: self.leaf,
                })? {
                    Some(v) => found = v,
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(found)
    }
    // Scalars where a container was expected: the path is absent.
    fn visit_str<E: de::Error>(self, _v: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _v: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A map key compared with a path segment without being kept.
struct KeyIs<'p>(&'p str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Token timing
// ---------------------------------------------------------------------------------------------

/// Why a stream ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EndReason {
    /// The terminating event arrived (`[DONE]`, Dify `message_end`).
    Done,
    /// The body ended normally without a terminating event (the normal end for APIs that have
    /// none; see [`ContentFormat::has_terminator`]).
    #[default]
    Closed,
    /// The server sent an error event (takes precedence over everything else).
    ErrorEvent,
    /// The client's read timeout expired first.
    Timeout,
    /// The connection broke before the body was complete (reset, early EOF in the body).
    Cut,
}

impl EndReason {
    /// Every reason, in report order.
    pub const ALL: [EndReason; 5] = [
        EndReason::Done,
        EndReason::Closed,
        EndReason::ErrorEvent,
        EndReason::Timeout,
        EndReason::Cut,
    ];

    /// Stable key for reports.
    pub fn key(self) -> &'static str {
        match self {
            EndReason::Done => "done",
            EndReason::Closed => "closed",
            EndReason::ErrorEvent => "error_event",
            EndReason::Timeout => "timeout",
            EndReason::Cut => "cut",
        }
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            EndReason::Done => "[DONE] / end event",
            EndReason::Closed => "connection closed",
            EndReason::ErrorEvent => "error event",
            EndReason::Timeout => "timeout",
            EndReason::Cut => "cut off mid-stream",
        }
    }

    /// Position in [`EndReason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The answer arrived whole (`Done` or `Closed`).
    pub fn is_complete(self) -> bool {
        matches!(self, EndReason::Done | EndReason::Closed)
    }
}

/// How the transport ended, as the reading code saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamClose {
    /// The body ended normally (read returned 0).
    Eof,
    /// A read timed out.
    Timeout,
    /// A read failed otherwise (reset, body ended before its declared end).
    Broken,
}

/// Where [`StreamStats::tokens`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenSource {
    /// The server's `usage` (`completion_tokens`).
    Usage,
    /// The number of content events (one token each, as far as the client can tell).
    Events,
}

impl TokenSource {
    pub fn key(self) -> &'static str {
        match self {
            TokenSource::Usage => "usage",
            TokenSource::Events => "events",
        }
    }
}

/// A request's token timings: small and `Copy`, for the request's sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Send start → first content event (none when no content arrived).
    pub ttft: Option<Duration>,
    /// First content event → end of the request (zero without content).
    pub generation: Duration,
    /// Send start → end of the request.
    pub total: Duration,
    /// Events that carried content.
    pub content_events: u32,
    /// Bytes of content text received.
    pub content_bytes: u64,
    /// Output tokens reported by the server (the last `usage` seen).
    pub usage_tokens: Option<u32>,
    /// Number of inter-token gaps (content events after the first).
    pub itl_count: u32,
    /// Sum of the gaps, microseconds.
    pub itl_sum_us: u64,
    /// Largest gap, microseconds.
    pub itl_max_us: u32,
    /// Why the stream ended.
    pub end: EndReason,
}

impl StreamStats {
    /// Output tokens: the server's usage when it sent one, else the content events.
    pub fn tokens(&self) -> u64 {
        match self.usage_tokens {
            Some(n) => u64::from(n),
            None => u64::from(self.content_events),
        }
    }

    /// Where [`StreamStats::tokens`] comes from.
    pub fn token_source(&self) -> TokenSource {
        if self.usage_tokens.is_some() {
            TokenSource::Usage
        } else {
            TokenSource::Events
        }
    }

    /// Time per output token after the first: (end − TTFT) / (tokens − 1); needs 2 tokens.
    pub fn tpot(&self) -> Option<Duration> {
        self.ttft?;
        let tokens = self.tokens();
        if tokens < 2 {
            return None;
        }
        let nanos = self.generation.as_nanos() / u128::from(tokens - 1);
        Some(Duration::from_nanos(
            u64::try_from(nanos).unwrap_or(u64::MAX),
        ))
    }

    /// Output tokens per second of the whole request (send start → end).
    pub fn tokens_per_sec(&self) -> Option<f64> {
        let secs = self.total.as_secs_f64();
        (secs > 0.0).then(|| self.tokens() as f64 / secs)
    }

    /// Mean inter-token gap.
    pub fn itl_mean(&self) -> Option<Duration> {
        (self.itl_count > 0)
            .then(|| Duration::from_micros(self.itl_sum_us / u64::from(self.itl_count)))
    }

    /// Largest inter-token gap.
    pub fn itl_max(&self) -> Option<Duration> {
        (self.itl_count > 0).then(|| Duration::from_micros(u64::from(self.itl_max_us)))
    }
}

/// Duration in whole microseconds, saturating at `u32::MAX` (about 71 minutes).
pub fn micros_u32(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// Accumulates one request's token timings from its events.
///
/// Feed every event with [`StreamTimer::record`] (events parsed from the same read share that
/// read's instant, so their gaps are zero, as with any client that timestamps reads), then
/// call [`StreamTimer::finish`]. Each ITL (gap between consecutive content events) goes to the
/// caller's `on_itl(microseconds)` as it is measured.
#[derive(Debug, Clone, Copy)]
pub struct StreamTimer {
    sent: Instant,
    first: Option<Instant>,
    last: Option<Instant>,
    content_events: u32,
    content_bytes: u64,
    usage_tokens: Option<u32>,
    itl_count: u32,
    itl_sum_us: u64,
    itl_max_us: u32,
    done: bool,
    error: bool,
}

impl StreamTimer {
    /// A timer for a request whose sending started at `sent`.
    pub fn new(sent: Instant) -> Self {
        StreamTimer {
            sent,
            first: None,
            last: None,
            content_events: 0,
            content_bytes: 0,
            usage_tokens: None,
            itl_count: 0,
            itl_sum_us: 0,
            itl_max_us: 0,
            done: false,
            error: false,
        }
    }

    /// Take one event read at `at`.
    pub fn record(&mut self, at: Instant, info: EventInfo, on_itl: &mut impl FnMut(u32)) {
        if let Some(n) = info.usage_tokens {
            self.usage_tokens = Some(u32::try_from(n).unwrap_or(u32::MAX));
        }
        self.done |= info.done;
        self.error |= info.error;
        if !info.is_content() {
            return;
        }
        self.content_events = self.content_events.saturating_add(1);
        self.content_bytes = self.content_bytes.saturating_add(info.content_bytes as u64);
        match self.last {
            None => self.first = Some(at),
            Some(last) => {
                let gap = micros_u32(at.saturating_duration_since(last));
                self.itl_count = self.itl_count.saturating_add(1);
                self.itl_sum_us = self.itl_sum_us.saturating_add(u64::from(gap));
                self.itl_max_us = self.itl_max_us.max(gap);
                on_itl(gap);
            }
        }
        self.last = Some(at);
    }

    /// Content events so far.
    pub fn content_events(&self) -> u32 {
        self.content_events
    }

    /// A terminating event has been seen.
    pub fn saw_done(&self) -> bool {
        self.done
    }

    /// The summary at `end` (the last body byte, or when the failure was seen). The end reason
    /// is `ErrorEvent` if an error event came, else `Done` if a terminating event came, else
    /// what `close` says.
    pub fn finish(&self, end: Instant, close: StreamClose) -> StreamStats {
        let reason = if self.error {
            EndReason::ErrorEvent
        } else if self.done {
            EndReason::Done
        } else {
            match close {
                StreamClose::Eof => EndReason::Closed,
                StreamClose::Timeout => EndReason::Timeout,
                StreamClose::Broken => EndReason::Cut,
            }
        };
        StreamStats {
            ttft: self.first.map(|f| f.saturating_duration_since(self.sent)),
            generation: self
                .first
                .map_or(Duration::ZERO, |f| end.saturating_duration_since(f)),
            total: end.saturating_duration_since(self.sent),
            content_events: self.content_events,
            content_bytes: self.content_bytes,
            usage_tokens: self.usage_tokens,
            itl_count: self.itl_count,
            itl_sum_us: self.itl_sum_us,
            itl_max_us: self.itl_max_us,
            end: reason,
        }
    }
}

/// A fixed-size batch of ITL values (microseconds) for the collector's histograms: `Copy`,
/// no allocation, 132 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItlBatch {
    len: u32,
    us: [u32; ItlBatch::CAPACITY],
}

impl Default for ItlBatch {
    fn default() -> Self {
        ItlBatch::new()
    }
}

impl ItlBatch {
    /// Values per batch.
    pub const CAPACITY: usize = 32;

    pub const fn new() -> Self {
        ItlBatch {
            len: 0,
            us: [0; ItlBatch::CAPACITY],
        }
    }

    /// Add a value; returns `true` when the batch is now full (send it with
    /// [`ItlBatch::take`] before the next push). A push into a full batch is dropped.
    pub fn push(&mut self, us: u32) -> bool {
        if let Some(slot) = self.us.get_mut(self.len as usize) {
            *slot = us;
            self.len += 1;
        }
        self.len as usize >= ItlBatch::CAPACITY
    }

    /// The values.
    pub fn as_slice(&self) -> &[u32] {
        &self.us[..self.len as usize]
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The batch so far, leaving this one empty.
    pub fn take(&mut self) -> ItlBatch {
        std::mem::take(self)
    }
}

/// Parser + content format + timer for one user thread: one per thread, reused for every
/// request (its buffers are kept).
///
/// Per request: [`StreamMeter::start`] at send start, [`StreamMeter::feed`] with each piece of
/// body read and the instant it was read, then [`StreamMeter::finish`].
#[derive(Debug, Clone)]
pub struct StreamMeter {
    parser: SseParser,
    format: ContentFormat,
    timer: StreamTimer,
    malformed: u32,
    events: u32,
}

impl StreamMeter {
    pub fn new(format: ContentFormat) -> Self {
        StreamMeter::with_parser(format, SseParser::new())
    }

    /// With a parser of another bound.
    pub fn with_parser(format: ContentFormat, parser: SseParser) -> Self {
        StreamMeter {
            parser,
            format,
            timer: StreamTimer::new(Instant::now()),
            malformed: 0,
            events: 0,
        }
    }

    pub fn format(&self) -> &ContentFormat {
        &self.format
    }

    /// Begin a request whose sending started at `sent`.
    pub fn start(&mut self, sent: Instant) {
        self.parser.reset();
        self.timer = StreamTimer::new(sent);
        self.malformed = 0;
        self.events = 0;
    }

    /// A piece of the body, read at `at`. An `Err` says an oversized line/event was dropped;
    /// the meter stays usable (the caller may end the request as a protocol failure).
    pub fn feed(
        &mut self,
        at: Instant,
        chunk: &[u8],
        on_itl: &mut impl FnMut(u32),
    ) -> Result<(), SseError> {
        let StreamMeter {
            parser,
            format,
            timer,
            malformed,
            events,
        } = self;
        parser.feed(chunk, |ev| {
            let info = format.inspect(ev);
            *events = events.saturating_add(1);
            *malformed = malformed.saturating_add(u32::from(info.malformed));
            timer.record(at, info, on_itl);
        })
    }

    /// End the request at `end`: a last event without its blank line is dispatched (at `end`),
    /// and the summary is returned.
    pub fn finish(
        &mut self,
        end: Instant,
        close: StreamClose,
        on_itl: &mut impl FnMut(u32),
    ) -> StreamStats {
        let StreamMeter {
            parser,
            format,
            timer,
            malformed,
            events,
        } = self;
        // An oversized tail was dropped; nothing else to do with the error here.
        let _ = parser.finish(|ev| {
            let info = format.inspect(ev);
            *events = events.saturating_add(1);
            *malformed = malformed.saturating_add(u32::from(info.malformed));
            timer.record(end, info, on_itl);
        });
        timer.finish(end, close)
    }

    /// Content events so far in this request.
    pub fn content_events(&self) -> u32 {
        self.timer.content_events()
    }

    /// Events dispatched so far in this request.
    pub fn events(&self) -> u32 {
        self.events
    }

    /// Events whose data did not have the expected shape so far in this request.
    pub fn malformed_events(&self) -> u32 {
        self.malformed
    }
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

    // --- content extraction ------------------------------------------------------------------

    fn inspect(format: &ContentFormat, event: &str, data: &str) -> EventInfo {
        format.inspect(&SseEvent {
            event: event.as_bytes(),
            data: data.as_bytes(),
            id: b"",
        })
    }

    fn content(bytes: usize) -> EventInfo {
        EventInfo {
            content_bytes: bytes,
            ..EventInfo::default()
        }
    }

    #[test]
    fn openai_chunks() {
        let f = ContentFormat::OpenAi;
        // The role-only first chunk carries no content.
        let role = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}"#;
        assert_eq!(inspect(&f, "", role), EventInfo::default());
        let tok = r#"{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" Hello"},"finish_reason":null}]}"#;
        assert_eq!(inspect(&f, "", tok), content(6));
        // Escapes count as the text they stand for.
        let esc = r#"{"choices":[{"delta":{"content":"a\n\u00e9\"b"}}]}"#;
        assert_eq!(inspect(&f, "", esc), content("a\né\"b".len()));
        // The finish chunk: empty delta, `content: null`.
        assert_eq!(
            inspect(
                &f,
                "",
                r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#
            ),
            EventInfo::default()
        );
        assert_eq!(
            inspect(
                &f,
                "",
                r#"{"choices":[{"delta":{"content":null,"tool_calls":[{"index":0}]}}]}"#
            ),
            EventInfo::default()
        );
        // Usage chunk with empty choices.
        let usage = r#"{"id":"c1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":20,"total_tokens":29}}"#;
        assert_eq!(
            inspect(&f, "", usage),
            EventInfo {
                usage_tokens: Some(20),
                ..EventInfo::default()
            }
        );
        // vLLM continuous usage: content and usage in the same chunk.
        let both = r#"{"choices":[{"delta":{"content":"x"}}],"usage":{"completion_tokens":3}}"#;
        assert_eq!(
            inspect(&f, "", both),
            EventInfo {
                content_bytes: 1,
                usage_tokens: Some(3),
                ..EventInfo::default()
            }
        );
        // Only the first choice counts.
        assert_eq!(
            inspect(
                &f,
                "",
                r#"{"choices":[{"delta":{}},{"delta":{"content":"zz"}}]}"#
            ),
            EventInfo::default()
        );
        // Reasoning models and the legacy completions API.
        assert_eq!(
            inspect(
                &f,
                "",
                r#"{"choices":[{"delta":{"reasoning_content":"hmm"}}]}"#
            ),
            content(3)
        );
        assert_eq!(
            inspect(&f, "", r#"{"choices":[{"delta":{"reasoning":"hm"}}]}"#),
            content(2)
        );
        assert_eq!(
            inspect(&f, "", r#"{"choices":[{"text":"abcd","index":0}]}"#),
            content(4)
        );
    }

    #[test]
    fn openai_done_and_errors() {
        let f = ContentFormat::OpenAi;
        let done = EventInfo {
            done: true,
            ..EventInfo::default()
        };
        assert_eq!(inspect(&f, "", "[DONE]"), done);
        assert_eq!(inspect(&f, "", " [DONE] "), done);
        let error = EventInfo {
            error: true,
            ..EventInfo::default()
        };
        assert_eq!(
            inspect(
                &f,
                "",
                r#"{"error":{"message":"overloaded","type":"server_error","code":503}}"#
            ),
            error
        );
        assert_eq!(
            inspect(&f, "", r#"{"object":"error","message":"bad","code":400}"#),
            error
        );
        // `event: error` with any data.
        assert!(inspect(&f, "error", r#"{"message":"x"}"#).error);
        assert!(inspect(&f, "error", "not json").error);
        assert!(!inspect(&f, "", r#"{"error":null,"choices":[]}"#).error);
        // Not JSON / not an object.
        for bad in [
            "",
            "hello",
            "{\"choices\":",
            "[1,2]",
            "{\"choices\":[{\"delta\":{\"content\":5}}]} x",
        ] {
            let info = inspect(&f, "", bad);
            assert!(info.malformed, "{bad:?}");
            assert!(!info.is_content());
        }
        // A non-string content is not content, but not malformed either.
        assert_eq!(
            inspect(&f, "", r#"{"choices":[{"delta":{"content":5}}]}"#),
            EventInfo::default()
        );
    }

    #[test]
    fn dify_events() {
        let f = ContentFormat::Dify;
        let msg = r#"{"event": "message", "task_id": "t", "message_id": "m", "conversation_id": "c", "answer": " Hi", "created_at": 1705398420}"#;
        assert_eq!(inspect(&f, "", msg), content(3));
        assert_eq!(
            inspect(&f, "", r#"{"event":"agent_message","answer":"yo"}"#),
            content(2)
        );
        assert_eq!(
            inspect(&f, "", r#"{"event":"message","answer":""}"#),
            EventInfo::default()
        );
        let end = r#"{"event": "message_end", "id": "m", "metadata": {"usage": {"prompt_tokens": 1033, "completion_tokens": 135, "total_tokens": 1168, "latency": 1.38}, "retriever_resources": []}}"#;
        assert_eq!(
            inspect(&f, "", end),
            EventInfo {
                done: true,
                usage_tokens: Some(135),
                ..EventInfo::default()
            }
        );
        assert_eq!(
            inspect(&f, "", r#"{"event":"message_end"}"#),
            EventInfo {
                done: true,
                ..EventInfo::default()
            }
        );
        let err = r#"{"event": "error", "message_id": "m", "status": 400, "code": "invalid_param", "message": "bad"}"#;
        assert!(inspect(&f, "", err).error);
        // Other events carry nothing.
        for other in [
            r#"{"event":"workflow_started","data":{}}"#,
            r#"{"event":"message_replace","answer":"censored"}"#,
            r#"{"event":"tts_message","audio":"AAAA"}"#,
        ] {
            assert_eq!(inspect(&f, "", other), EventInfo::default(), "{other}");
        }
        // The type may come from the SSE `event:` field instead.
        assert_eq!(inspect(&f, "message", r#"{"answer":"abc"}"#), content(3));
        assert_eq!(inspect(&f, "", r#"{"answer":"abc"}"#), content(3));
        assert_eq!(
            inspect(&f, "ping", r#"{"answer":"abc"}"#),
            EventInfo::default()
        );
        assert!(inspect(&f, "", "garbage").malformed);
    }

    #[test]
    fn generic_paths() {
        let f = ContentFormat::path("choices.0.delta.content", None).unwrap();
        assert_eq!(
            inspect(&f, "", r#"{"choices":[{"delta":{"content":"abc"}}]}"#),
            content(3)
        );
        assert_eq!(
            inspect(
                &f,
                "",
                r#"{"x":1,"choices":[{"delta":{"role":"a"}}],"y":[1,{"z":2}]}"#
            ),
            EventInfo::default()
        );
        assert_eq!(inspect(&f, "", r#"{"choices":[]}"#), EventInfo::default());
        assert_eq!(
            inspect(&f, "", r#"{"choices":{"0":{"delta":{"content":"ab"}}}}"#),
            content(2)
        );
        assert_eq!(inspect(&f, "", r#"{"choices":"no"}"#), EventInfo::default());
        assert_eq!(
            inspect(&f, "", r#"{"choices":[{"delta":{"content":{"a":"b"}}}]}"#),
            EventInfo::default()
        );
        assert!(inspect(&f, "", r#"{"choices":[}"#).malformed);
        assert!(inspect(&f, "", r#"{"a":1} trailing"#).malformed);
        assert!(inspect(&f, "", "[DONE]").done);

        let f = ContentFormat::path("a.b", Some("meta.tokens")).unwrap();
        assert_eq!(inspect(&f, "", r#"{"a":{"b":"xy"}}"#), content(2));
        assert_eq!(
            inspect(&f, "", r#"{"a":{"b":"first"},"a":{"b":"second"}}"#),
            content(5)
        );
        assert_eq!(
            inspect(&f, "", r#"{"a":{"b":""},"meta":{"tokens":12}}"#),
            EventInfo {
                usage_tokens: Some(12),
                ..EventInfo::default()
            }
        );
        assert_eq!(
            inspect(&f, "", r#"{"meta":{"tokens":-1}}"#),
            EventInfo::default()
        );
        assert_eq!(
            inspect(&f, "", r#"{"a":{"b\u0000":"x"}}"#),
            EventInfo::default()
        );
        // Escaped keys still match.
        assert_eq!(inspect(&f, "", r#"{"\u0061":{"b":"x"}}"#), content(1));

        let f = ContentFormat::path("1", None).unwrap();
        assert_eq!(inspect(&f, "", r#"["a","bcd","e"]"#), content(3));
        assert_eq!(inspect(&f, "", r#"["a"]"#), EventInfo::default());
        assert_eq!(inspect(&f, "", r#""top""#), EventInfo::default());
    }

    #[test]
    fn path_parsing() {
        assert_eq!(
            JsonPath::parse("choices.0.delta.content")
                .unwrap()
                .to_string(),
            "choices.0.delta.content"
        );
        assert_eq!(JsonPath::parse(""), Err(JsonPathError::Empty));
        assert!(matches!(
            JsonPath::parse("a..b"),
            Err(JsonPathError::EmptySegment(_))
        ));
        assert!(matches!(
            JsonPath::parse(".a"),
            Err(JsonPathError::EmptySegment(_))
        ));
        assert!(matches!(
            JsonPath::parse("a."),
            Err(JsonPathError::EmptySegment(_))
        ));
        assert!(matches!(
            JsonPath::parse("a.".repeat(40).trim_end_matches('.')),
            Err(JsonPathError::TooDeep(_))
        ));
        // A huge index is a key only.
        let p = JsonPath::parse("99999999999999999999999").unwrap();
        assert_eq!(p.segments[0].index, None);
    }

    #[test]
    fn raw_events() {
        let f = ContentFormat::Raw;
        assert_eq!(inspect(&f, "", "some text"), content(9));
        assert_eq!(inspect(&f, "", ""), EventInfo::default());
        assert!(inspect(&f, "", "[DONE]").done);
        assert!(!ContentFormat::Raw.has_terminator());
        assert!(ContentFormat::OpenAi.has_terminator() && ContentFormat::Dify.has_terminator());
    }

    // --- timing ------------------------------------------------------------------------------

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn timer_ttft_itl_tpot_from_events() {
        let t0 = Instant::now();
        let mut timer = StreamTimer::new(t0);
        let mut gaps = Vec::new();
        let mut on_itl = |us| gaps.push(us);
        // Role chunk at 40 ms: no content, no TTFT.
        timer.record(t0 + ms(40), EventInfo::default(), &mut on_itl);
        for i in 0..5u64 {
            timer.record(t0 + ms(50 + 10 * i), content(3), &mut on_itl);
        }
        // Two tokens from one read: a zero gap.
        timer.record(t0 + ms(90), content(1), &mut on_itl);
        let s = timer.finish(t0 + ms(100), StreamClose::Eof);
        assert_eq!(gaps, vec![10_000, 10_000, 10_000, 10_000, 0]);
        assert_eq!(s.ttft, Some(ms(50)));
        assert_eq!(s.content_events, 6);
        assert_eq!(s.content_bytes, 16);
        assert_eq!((s.tokens(), s.token_source()), (6, TokenSource::Events));
        assert_eq!(
            (s.itl_count, s.itl_sum_us, s.itl_max_us),
            (5, 40_000, 10_000)
        );
        assert_eq!(s.itl_mean(), Some(ms(8)));
        assert_eq!(s.itl_max(), Some(ms(10)));
        assert_eq!(s.generation, ms(50));
        assert_eq!(s.total, ms(100));
        // (100 - 50) / (6 - 1)
        assert_eq!(s.tpot(), Some(ms(10)));
        assert_eq!(s.tokens_per_sec(), Some(60.0));
        assert_eq!(s.end, EndReason::Closed);
    }

    #[test]
    fn timer_prefers_usage_tokens() {
        let t0 = Instant::now();
        let mut timer = StreamTimer::new(t0);
        let mut none = |_| {};
        timer.record(t0 + ms(10), content(1), &mut none);
        timer.record(t0 + ms(20), content(1), &mut none);
        let usage = |n| EventInfo {
            usage_tokens: Some(n),
            ..EventInfo::default()
        };
        timer.record(t0 + ms(21), usage(1), &mut none);
        timer.record(t0 + ms(22), usage(11), &mut none);
        timer.record(
            t0 + ms(23),
            EventInfo {
                done: true,
                ..EventInfo::default()
            },
            &mut none,
        );
        let s = timer.finish(t0 + ms(110), StreamClose::Eof);
        assert_eq!((s.tokens(), s.token_source()), (11, TokenSource::Usage));
        assert_eq!(s.usage_tokens, Some(11));
        assert_eq!(s.tpot(), Some(ms(10)));
        assert_eq!(s.end, EndReason::Done);
        assert_eq!(TokenSource::Usage.key(), "usage");
    }

    #[test]
    fn timer_without_content() {
        let t0 = Instant::now();
        let timer = StreamTimer::new(t0);
        let s = timer.finish(t0 + ms(5), StreamClose::Eof);
        assert_eq!(s.ttft, None);
        assert_eq!(s.tokens(), 0);
        assert_eq!(s.tpot(), None);
        assert_eq!(s.itl_mean(), None);
        assert_eq!(s.generation, Duration::ZERO);
        assert_eq!(s.tokens_per_sec(), Some(0.0));
        assert_eq!(
            StreamTimer::new(t0)
                .finish(t0, StreamClose::Eof)
                .tokens_per_sec(),
            None
        );
        // One token: no TPOT.
        let mut timer = StreamTimer::new(t0);
        timer.record(t0 + ms(1), content(1), &mut |_| {});
        assert_eq!(timer.finish(t0 + ms(2), StreamClose::Eof).tpot(), None);
    }

    #[test]
    fn end_reasons() {
        let t0 = Instant::now();
        let fin = |infos: &[EventInfo], close| {
            let mut timer = StreamTimer::new(t0);
            for &i in infos {
                timer.record(t0, i, &mut |_| {});
            }
            timer.finish(t0, close).end
        };
        let done = EventInfo {
            done: true,
            ..EventInfo::default()
        };
        let error = EventInfo {
            error: true,
            ..EventInfo::default()
        };
        assert_eq!(fin(&[], StreamClose::Eof), EndReason::Closed);
        assert_eq!(fin(&[], StreamClose::Timeout), EndReason::Timeout);
        assert_eq!(fin(&[content(1)], StreamClose::Broken), EndReason::Cut);
        assert_eq!(fin(&[done], StreamClose::Eof), EndReason::Done);
        assert_eq!(fin(&[done], StreamClose::Broken), EndReason::Done);
        assert_eq!(fin(&[error, done], StreamClose::Eof), EndReason::ErrorEvent);
        assert_eq!(fin(&[error], StreamClose::Timeout), EndReason::ErrorEvent);
        assert!(EndReason::Done.is_complete() && EndReason::Closed.is_complete());
        assert!(!EndReason::Cut.is_complete() && !EndReason::Timeout.is_complete());
        for (i, r) in EndReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
            assert!(!r.key().is_empty() && !r.label().is_empty());
        }
    }

    #[test]
    fn itl_values_saturate() {
        let t0 = Instant::now();
        let mut timer = StreamTimer::new(t0);
        let mut gaps = Vec::new();
        timer.record(t0, content(1), &mut |g| gaps.push(g));
        timer.record(t0 + Duration::from_secs(5000), content(1), &mut |g| {
            gaps.push(g)
        });
        assert_eq!(gaps, vec![u32::MAX]);
        assert_eq!(micros_u32(ms(3)), 3000);
    }

    #[test]
    fn itl_batches() {
        let mut b = ItlBatch::new();
        assert!(b.is_empty());
        for i in 0..ItlBatch::CAPACITY as u32 - 1 {
            assert!(!b.push(i));
        }
        assert!(b.push(99));
        assert_eq!(b.len(), ItlBatch::CAPACITY);
        // Full: further pushes are dropped.
        assert!(b.push(7));
        let full = b.take();
        assert!(b.is_empty());
        assert_eq!(full.as_slice()[ItlBatch::CAPACITY - 1], 99);
        assert_eq!(full.as_slice().len(), ItlBatch::CAPACITY);
        assert!(std::mem::size_of::<ItlBatch>() <= 132);
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
                b"data: {\"event\":\"message\",\"answer\":\"y\"}\n\ndata: {\"event\":\"mess",
                &mut none,
            )
            .unwrap();
        let s = meter.finish(t0 + ms(9), StreamClose::Broken, &mut none);
        assert_eq!(s.end, EndReason::Cut);
        assert_eq!((s.tokens(), s.token_source()), (2, TokenSource::Events));
        // The partial last event was malformed JSON: not content.
        assert_eq!(meter.malformed_events(), 1);
        assert_eq!(meter.format(), &ContentFormat::Dify);
    }
}
