//! Per-request token timing (TTFT, TTFOT, ITL, TPOT, tokens/s) from the events of one answer.

use super::content::EventInfo;
use std::time::{Duration, Instant};

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

/// Where [`StreamStats::tokens`] comes from, in the order they are preferred.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TokenSource {
    /// The server's `usage` (`completion_tokens`).
    Usage,
    /// The content text counted with `--tokenizer`.
    Tokenizer,
    /// The content text's estimate (see [`crate::stream::tokens`]).
    #[default]
    Estimate,
}

impl TokenSource {
    pub fn key(self) -> &'static str {
        match self {
            TokenSource::Usage => "usage",
            TokenSource::Tokenizer => "tokenizer",
            TokenSource::Estimate => "estimate",
        }
    }
}

/// A request's token timings: small and `Copy`, for the request's sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Send start → first content event (none when no content arrived).
    pub ttft: Option<Duration>,
    /// First content event → last content event (zero without content): what the server
    /// does after the answer's last token (a usage chunk, `[DONE]`, a slow close) is not in it.
    pub generation: Duration,
    /// Send start → end of the request.
    pub total: Duration,
    /// Events that carried content.
    pub content_events: u32,
    /// Bytes of content text received.
    pub content_bytes: u64,
    /// Output tokens reported by the server (the last `usage` seen).
    pub usage_tokens: Option<u32>,
    /// Input tokens reported by the server (`prompt_tokens` of the last `usage` seen), or
    /// counted by the client when the server reported none (`input_counted`).
    pub input_tokens: Option<u32>,
    /// `input_tokens` is the client's count of the prompt, not the server's.
    pub input_counted: bool,
    /// Reasoning tokens among the output tokens, as the server reports them
    /// (`completion_tokens_details.reasoning_tokens`).
    pub usage_reasoning_tokens: Option<u32>,
    /// Output tokens as the client counted the content text ([`StreamStats::counter`]).
    pub counted_tokens: u32,
    /// Of `counted_tokens`, those of reasoning text.
    pub counted_reasoning_tokens: u32,
    /// How the client counted: [`TokenSource::Tokenizer`] or [`TokenSource::Estimate`].
    pub counter: TokenSource,
    /// Events that carried reasoning text.
    pub reasoning_events: u32,
    /// Send start -> first event carrying answer text (not reasoning): the time to first
    /// output token (TTFOT) of reasoning models; equal to `ttft` without reasoning.
    pub ttfot: Option<Duration>,
    /// Number of inter-token gaps (content events after the first).
    pub itl_count: u32,
    /// Sum of the gaps, microseconds.
    pub itl_sum_us: u64,
    /// Largest gap, microseconds.
    pub itl_max_us: u32,
    /// Why the stream ended.
    pub end: EndReason,
    /// The server said the answer was finished (an OpenAI `finish_reason`).
    pub finished: bool,
}

impl StreamStats {
    /// Output tokens: the server's usage when it sent one, else the client's count of the
    /// content text (tokenizer or estimate).
    pub fn tokens(&self) -> u64 {
        u64::from(self.usage_tokens.unwrap_or(self.counted_tokens))
    }

    /// Where [`StreamStats::tokens`] comes from.
    pub fn token_source(&self) -> TokenSource {
        if self.usage_tokens.is_some() {
            TokenSource::Usage
        } else {
            self.counter
        }
    }

    /// Reasoning tokens among [`StreamStats::tokens`]: the server's figure when its usage has
    /// one, else the client's count of the reasoning text (at most the output tokens).
    pub fn reasoning_tokens(&self) -> u64 {
        let n = match (self.usage_tokens, self.usage_reasoning_tokens) {
            (Some(_), Some(r)) => r,
            _ => self.counted_reasoning_tokens,
        };
        u64::from(n).min(self.tokens())
    }

    /// The stream carried reasoning (text or a server count above 0).
    pub fn has_reasoning(&self) -> bool {
        self.reasoning_events > 0 || self.usage_reasoning_tokens.is_some_and(|r| r > 0)
    }

    /// Time per output token after the first: (last token − first token) / (tokens − 1), as
    /// vLLM's TPOT over the answer's own span; needs 2 tokens.
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

    /// Output tokens per second of the answer: tokens / (send start → last token); without
    /// content, over the whole request (0 tokens).
    pub fn tokens_per_sec(&self) -> Option<f64> {
        let span = match self.ttft {
            Some(ttft) => ttft + self.generation,
            None => self.total,
        };
        let secs = span.as_secs_f64();
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
    first_answer: Option<Instant>,
    last: Option<Instant>,
    content_events: u32,
    reasoning_events: u32,
    content_bytes: u64,
    usage_tokens: Option<u32>,
    input_tokens: Option<u32>,
    usage_reasoning_tokens: Option<u32>,
    itl_count: u32,
    itl_sum_us: u64,
    itl_max_us: u32,
    done: bool,
    finished: bool,
    error: bool,
}

impl StreamTimer {
    /// A timer for a request whose sending started at `sent`.
    pub fn new(sent: Instant) -> Self {
        StreamTimer {
            sent,
            first: None,
            first_answer: None,
            last: None,
            content_events: 0,
            reasoning_events: 0,
            content_bytes: 0,
            usage_tokens: None,
            input_tokens: None,
            usage_reasoning_tokens: None,
            itl_count: 0,
            itl_sum_us: 0,
            itl_max_us: 0,
            done: false,
            finished: false,
            error: false,
        }
    }

    /// Take one event read at `at`.
    pub fn record(&mut self, at: Instant, info: EventInfo, on_itl: &mut impl FnMut(u32)) {
        let u32_of = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        if let Some(n) = info.usage_tokens {
            self.usage_tokens = Some(u32_of(n));
        }
        if let Some(n) = info.prompt_tokens {
            self.input_tokens = Some(u32_of(n));
        }
        if let Some(n) = info.reasoning_tokens {
            self.usage_reasoning_tokens = Some(u32_of(n));
        }
        self.done |= info.done;
        self.finished |= info.finished;
        self.error |= info.error;
        if !info.is_content() {
            return;
        }
        if info.reasoning_bytes > 0 {
            self.reasoning_events = self.reasoning_events.saturating_add(1);
        }
        if info.is_answer() && self.first_answer.is_none() {
            self.first_answer = Some(at);
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
    /// what `close` says. The client's own token count is 0 here: [`StreamMeter::finish`]
    /// fills it from the text.
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
            generation: match (self.first, self.last) {
                (Some(first), Some(last)) => last.saturating_duration_since(first),
                _ => Duration::ZERO,
            },
            total: end.saturating_duration_since(self.sent),
            content_events: self.content_events,
            content_bytes: self.content_bytes,
            usage_tokens: self.usage_tokens,
            input_tokens: self.input_tokens,
            input_counted: false,
            usage_reasoning_tokens: self.usage_reasoning_tokens,
            counted_tokens: 0,
            counted_reasoning_tokens: 0,
            counter: TokenSource::Estimate,
            reasoning_events: self.reasoning_events,
            ttfot: self
                .first_answer
                .map(|f| f.saturating_duration_since(self.sent)),
            itl_count: self.itl_count,
            itl_sum_us: self.itl_sum_us,
            itl_max_us: self.itl_max_us,
            end: reason,
            finished: self.finished,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn content(bytes: usize) -> EventInfo {
        EventInfo {
            content_bytes: bytes,
            ..EventInfo::default()
        }
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
        // The timer has no text: the meter counts it (here, as if each event were a token).
        assert_eq!(s.tokens(), 0);
        let s = StreamStats {
            counted_tokens: 6,
            ..s
        };
        assert_eq!((s.tokens(), s.token_source()), (6, TokenSource::Estimate));
        assert_eq!(
            (s.itl_count, s.itl_sum_us, s.itl_max_us),
            (5, 40_000, 10_000)
        );
        assert_eq!(s.itl_mean(), Some(ms(8)));
        assert_eq!(s.itl_max(), Some(ms(10)));
        // The last token at 90 ms, the end at 100 ms: the answer spans 50..90 ms.
        assert_eq!(s.generation, ms(40));
        assert_eq!(s.total, ms(100));
        // (90 - 50) / (6 - 1)
        assert_eq!(s.tpot(), Some(ms(8)));
        // 6 tokens over send start → last token (90 ms).
        assert!((s.tokens_per_sec().unwrap() - 6.0 / 0.09).abs() < 1e-9);
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
        // 11 tokens between 10 and 20 ms; the usage, [DONE] and the close at 110 ms are after
        // the answer and stretch nothing.
        assert_eq!(s.tpot(), Some(ms(1)));
        assert!((s.tokens_per_sec().unwrap() - 11.0 / 0.02).abs() < 1e-9);
        assert_eq!(s.end, EndReason::Done);
        assert_eq!(TokenSource::Usage.key(), "usage");
    }

    #[test]
    fn what_the_server_does_after_the_last_token_stretches_nothing() {
        // The case: 10 tokens 20 ms apart, then 500 ms until the usage and [DONE].
        let t0 = Instant::now();
        let mut timer = StreamTimer::new(t0);
        let mut none = |_| {};
        for i in 0..10u64 {
            timer.record(t0 + ms(100 + 20 * i), content(1), &mut none);
        }
        let after = EventInfo {
            usage_tokens: Some(10),
            done: true,
            ..EventInfo::default()
        };
        timer.record(t0 + ms(780), after, &mut none);
        let s = timer.finish(t0 + ms(781), StreamClose::Eof);
        assert_eq!(s.tpot(), Some(ms(20)), "(280 − 100) / 9");
        assert!((s.tokens_per_sec().unwrap() - 10.0 / 0.28).abs() < 1e-9);
        assert_eq!(
            s.total,
            ms(781),
            "the request's own latency still runs to its end"
        );
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
}
