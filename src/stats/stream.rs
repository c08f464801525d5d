//! Statistics of streamed (LLM) answers, kept by the collector next to a window's latency
//! histograms: TTFT, ITL, TPOT, tokens per request and tokens/s per request as HdrHistograms,
//! output tokens, how the token counts were obtained and why streams ended. A window holds
//! one only once a streamed response has been seen, so plain runs carry none of it.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::stats::hdr::{
    HIST_MAX_US, Percentiles, Record as _, add_histogram, decode_histogram, encode_histogram,
    new_histogram, round3,
};
use crate::stream::{EndReason, StreamStats, TokenSource};

/// Within the histograms' one upper bound (also for token counts and milli-tokens/s).
fn clamp(v: u64) -> u64 {
    v.min(HIST_MAX_US)
}

fn micros(d: Duration) -> u64 {
    clamp(d.as_micros() as u64)
}

/// Streaming statistics of one window (a second, a stage or the run).
#[derive(Debug, Clone)]
pub struct StreamBucket {
    /// Responses read as event streams.
    pub streams: u64,
    /// Output tokens of those responses (usage when sent, else counted from the text).
    pub output_tokens: u64,
    /// Of `output_tokens`, reasoning tokens.
    pub reasoning_tokens: u64,
    /// Streams that carried reasoning.
    pub reasoning_streams: u64,
    /// Input tokens the server reported (`prompt_tokens`).
    pub input_tokens: u64,
    /// Streams with input tokens (reported by the server, or counted by the client).
    pub with_input: u64,
    /// Of `with_input`, streams whose input tokens the client counted (no `prompt_tokens`).
    pub input_counted: u64,
    /// Streams whose token count came from the server's `usage`.
    pub from_usage: u64,
    /// Streams whose tokens were counted with `--tokenizer`.
    pub from_tokenizer: u64,
    /// Streams whose tokens were estimated from the text.
    pub from_estimate: u64,
    ends: [u64; EndReason::ALL.len()],
    /// Send start -> first content event, µs.
    pub ttft: Histogram<u64>,
    /// Send start -> first answer (not reasoning) content, µs; streams with reasoning only.
    pub ttfot: Histogram<u64>,
    /// Input tokens per stream whose server reported them.
    pub input: Histogram<u64>,
    /// Gaps between consecutive content events, µs (one value per gap).
    pub itl: Histogram<u64>,
    /// (last token - first token) / (tokens - 1), µs; complete answers with 2 tokens or more.
    pub tpot: Histogram<u64>,
    /// Output tokens per streamed response.
    pub tokens: Histogram<u64>,
    /// Output tokens / (last token - send start) per complete answer, in milli-tokens per second.
    pub tokens_per_s: Histogram<u64>,
}

impl Default for StreamBucket {
    fn default() -> Self {
        StreamBucket::new()
    }
}

impl StreamBucket {
    pub fn new() -> Self {
        StreamBucket {
            streams: 0,
            output_tokens: 0,
            reasoning_tokens: 0,
            reasoning_streams: 0,
            input_tokens: 0,
            with_input: 0,
            input_counted: 0,
            from_usage: 0,
            from_tokenizer: 0,
            from_estimate: 0,
            ends: [0; EndReason::ALL.len()],
            ttft: new_histogram(),
            ttfot: new_histogram(),
            input: new_histogram(),
            itl: new_histogram(),
            tpot: new_histogram(),
            tokens: new_histogram(),
            tokens_per_s: new_histogram(),
        }
    }

    /// Add one streamed response. TTFT, tokens and the end reason count for every stream (a
    /// cut one included: its tokens were received); TPOT and tokens/s only for complete ones,
    /// whose end is the end of the answer.
    pub fn record(&mut self, s: &StreamStats) {
        self.streams += 1;
        let tokens = s.tokens();
        self.output_tokens += tokens;
        self.reasoning_tokens += s.reasoning_tokens();
        match s.token_source() {
            TokenSource::Usage => self.from_usage += 1,
            TokenSource::Tokenizer => self.from_tokenizer += 1,
            TokenSource::Estimate => self.from_estimate += 1,
        }
        if let Some(n) = s.input_tokens {
            self.input_tokens += u64::from(n);
            self.with_input += 1;
            self.input_counted += u64::from(s.input_counted);
            self.input.put(clamp(u64::from(n)));
        }
        self.ends[s.end.index()] += 1;
        if let Some(ttft) = s.ttft {
            self.ttft.put(micros(ttft));
        }
        if s.has_reasoning() {
            self.reasoning_streams += 1;
            if let Some(ttfot) = s.ttfot {
                self.ttfot.put(micros(ttfot));
            }
        }
        self.tokens.put(clamp(tokens));
        if s.end.is_complete() {
            if let Some(tpot) = s.tpot() {
                self.tpot.put(micros(tpot));
            }
            if let Some(rate) = s.tokens_per_sec() {
                self.tokens_per_s.put(clamp((rate * 1e3).round() as u64));
            }
        }
    }

    /// Add inter-token gaps (µs).
    pub fn record_itl(&mut self, gaps_us: &[u32]) {
        for &us in gaps_us {
            self.itl.put(u64::from(us));
        }
    }

    /// Empty the bucket, keeping its allocations.
    pub fn clear(&mut self) {
        self.streams = 0;
        self.output_tokens = 0;
        self.reasoning_tokens = 0;
        self.reasoning_streams = 0;
        self.input_tokens = 0;
        self.with_input = 0;
        self.input_counted = 0;
        self.from_usage = 0;
        self.from_tokenizer = 0;
        self.from_estimate = 0;
        self.ends = [0; EndReason::ALL.len()];
        for h in [
            &mut self.ttft,
            &mut self.ttfot,
            &mut self.input,
            &mut self.itl,
            &mut self.tpot,
            &mut self.tokens,
            &mut self.tokens_per_s,
        ] {
            h.reset();
        }
    }

    /// Add `other` (exact: counts add, histograms add).
    ///
    /// # Errors
    ///
    /// When a histogram of `other` does not fit in this one's range (see [`add_histogram`]); the
    /// counts and the histograms before it are then already added.
    pub fn add(&mut self, other: &StreamBucket) -> Result<(), String> {
        self.streams += other.streams;
        self.output_tokens += other.output_tokens;
        self.reasoning_tokens += other.reasoning_tokens;
        self.reasoning_streams += other.reasoning_streams;
        self.input_tokens += other.input_tokens;
        self.with_input += other.with_input;
        self.input_counted += other.input_counted;
        self.from_usage += other.from_usage;
        self.from_tokenizer += other.from_tokenizer;
        self.from_estimate += other.from_estimate;
        for (mine, theirs) in self.ends.iter_mut().zip(other.ends) {
            *mine += theirs;
        }
        add_histogram(&mut self.ttft, &other.ttft)?;
        add_histogram(&mut self.ttfot, &other.ttfot)?;
        add_histogram(&mut self.input, &other.input)?;
        add_histogram(&mut self.itl, &other.itl)?;
        add_histogram(&mut self.tpot, &other.tpot)?;
        add_histogram(&mut self.tokens, &other.tokens)?;
        add_histogram(&mut self.tokens_per_s, &other.tokens_per_s)
    }

    /// Count per end reason (only reasons that occurred).
    pub fn end_counts(&self) -> Vec<(EndReason, u64)> {
        EndReason::ALL
            .iter()
            .map(|&r| (r, self.ends[r.index()]))
            .filter(|&(_, n)| n > 0)
            .collect()
    }

    /// The streaming part of a results row for a window `duration` long.
    pub fn report(&self, duration: Duration) -> StreamReport {
        let secs = duration.as_secs_f64();
        let mut tokens = Percentiles::scaled(&self.tokens, 1.0);
        // The mean from the exact sum (the histogram's mean is within its precision).
        if self.streams > 0 {
            tokens.mean = round3(self.output_tokens as f64 / self.streams as f64);
        }
        let per_s = |n: u64| {
            if secs > 0.0 {
                round3(n as f64 / secs)
            } else {
                0.0
            }
        };
        let mut input = Percentiles::scaled(&self.input, 1.0);
        if self.with_input > 0 {
            input.mean = round3(self.input_tokens as f64 / self.with_input as f64);
        }
        StreamReport {
            streams: self.streams,
            output_tokens: self.output_tokens,
            output_tokens_per_s: per_s(self.output_tokens),
            input_tokens: self.input_tokens,
            input_tokens_per_s: per_s(self.input_tokens),
            total_tokens_per_s: per_s(self.input_tokens + self.output_tokens),
            streams_with_input_tokens: self.with_input,
            input_tokens_counted_by_client: self.input_counted,
            input_tokens_per_request: input,
            reasoning_tokens: self.reasoning_tokens,
            answer_tokens: self.output_tokens.saturating_sub(self.reasoning_tokens),
            reasoning_streams: self.reasoning_streams,
            ttfot_ms: (self.reasoning_streams > 0).then(|| Percentiles::of(&self.ttfot)),
            token_source: token_source(self.from_usage, self.from_tokenizer, self.from_estimate)
                .into(),
            tokens_from_usage: self.from_usage,
            tokens_from_tokenizer: self.from_tokenizer,
            tokens_from_estimate: self.from_estimate,
            end_reasons: self
                .end_counts()
                .into_iter()
                .map(|(r, n)| (r.key().to_string(), n))
                .collect(),
            ttft_ms: Percentiles::of(&self.ttft),
            itl_ms: Percentiles::of(&self.itl),
            tpot_ms: Percentiles::of(&self.tpot),
            tokens_per_request: tokens,
            tokens_per_s: Percentiles::scaled(&self.tokens_per_s, 1e3),
            hdr: StreamHistograms {
                ttft_us: encode_histogram(&self.ttft),
                itl_us: encode_histogram(&self.itl),
                tpot_us: encode_histogram(&self.tpot),
                tokens: encode_histogram(&self.tokens),
                tokens_per_s_milli: encode_histogram(&self.tokens_per_s),
                ttfot_us: encode_histogram(&self.ttfot),
                input_tokens: encode_histogram(&self.input),
            },
        }
    }

    /// Rebuild the window a saved report describes, for exact merging.
    ///
    /// # Errors
    ///
    /// When an end reason is not one qpsbench writes, or a histogram cannot be decoded (see
    /// [`decode_histogram`]).
    pub fn from_report(r: &StreamReport) -> Result<Self, String> {
        let mut b = StreamBucket::new();
        b.streams = r.streams;
        b.output_tokens = r.output_tokens;
        b.reasoning_tokens = r.reasoning_tokens;
        b.reasoning_streams = r.reasoning_streams;
        b.input_tokens = r.input_tokens;
        b.with_input = r.streams_with_input_tokens;
        b.input_counted = r.input_tokens_counted_by_client;
        b.from_usage = r.tokens_from_usage;
        b.from_tokenizer = r.tokens_from_tokenizer;
        b.from_estimate = r.tokens_from_estimate;
        for (key, n) in &r.end_reasons {
            let reason = EndReason::ALL
                .into_iter()
                .find(|e| e.key() == key)
                .ok_or_else(|| format!("unknown stream end reason '{key}'"))?;
            b.ends[reason.index()] = *n;
        }
        b.ttft = decode_histogram(&r.hdr.ttft_us)?;
        b.itl = decode_histogram(&r.hdr.itl_us)?;
        b.tpot = decode_histogram(&r.hdr.tpot_us)?;
        b.tokens = decode_histogram(&r.hdr.tokens)?;
        b.tokens_per_s = decode_histogram(&r.hdr.tokens_per_s_milli)?;
        if !r.hdr.ttfot_us.is_empty() {
            b.ttfot = decode_histogram(&r.hdr.ttfot_us)?;
        }
        if !r.hdr.input_tokens.is_empty() {
            b.input = decode_histogram(&r.hdr.input_tokens)?;
        }
        Ok(b)
    }

    /// The streaming part of one second's row.
    pub fn second(&self, interval: Duration) -> SecondStream {
        let secs = interval.as_secs_f64();
        let ttft = Percentiles::of(&self.ttft);
        let itl = Percentiles::of(&self.itl);
        let tpot = Percentiles::of(&self.tpot);
        let speed = Percentiles::scaled(&self.tokens_per_s, 1e3);
        let encode = |h: &Histogram<u64>| {
            if h.is_empty() {
                String::new()
            } else {
                encode_histogram(h)
            }
        };
        let per_s = |n: u64| {
            if secs > 0.0 {
                round3(n as f64 / secs)
            } else {
                0.0
            }
        };
        SecondStream {
            streams: self.streams,
            output_tokens: self.output_tokens,
            output_tokens_per_s: per_s(self.output_tokens),
            input_tokens: self.input_tokens,
            input_tokens_per_s: per_s(self.input_tokens),
            total_tokens_per_s: per_s(self.input_tokens + self.output_tokens),
            gaps: self.itl.len(),
            ttft_p50_ms: ttft.measured().map(|p| p.p50),
            ttft_p99_ms: ttft.measured().map(|p| p.p99),
            itl_p50_ms: itl.measured().map(|p| p.p50),
            itl_p99_ms: itl.measured().map(|p| p.p99),
            tpot_p50_ms: tpot.measured().map(|p| p.p50),
            tpot_p99_ms: tpot.measured().map(|p| p.p99),
            tokens_per_s_p50: speed.measured().map(|p| p.p50),
            tokens_per_s_p99: speed.measured().map(|p| p.p99),
            hdr_ttft_us: encode_histogram(&self.ttft),
            hdr_itl_us: encode_histogram(&self.itl),
            hdr_tpot_us: encode(&self.tpot),
            hdr_tokens_per_s_milli: encode(&self.tokens_per_s),
        }
    }

    /// Add a saved second (merging the series of several runs).
    ///
    /// # Errors
    ///
    /// When a histogram of `s` cannot be decoded (see [`decode_histogram`]) or does not fit in this
    /// one's range; the counts are then already added.
    pub fn add_second(&mut self, s: &SecondStream) -> Result<(), String> {
        self.streams += s.streams;
        self.output_tokens += s.output_tokens;
        self.input_tokens += s.input_tokens;
        add_histogram(&mut self.ttft, &decode_histogram(&s.hdr_ttft_us)?)?;
        add_histogram(&mut self.itl, &decode_histogram(&s.hdr_itl_us)?)?;
        // Absent in reports written before 0.2, and in seconds without complete answers.
        if !s.hdr_tpot_us.is_empty() {
            add_histogram(&mut self.tpot, &decode_histogram(&s.hdr_tpot_us)?)?;
        }
        if !s.hdr_tokens_per_s_milli.is_empty() {
            add_histogram(
                &mut self.tokens_per_s,
                &decode_histogram(&s.hdr_tokens_per_s_milli)?,
            )?;
        }
        Ok(())
    }
}

/// "usage", "tokenizer", "estimate", "mixed" (more than one) or "none".
pub fn token_source(from_usage: u64, from_tokenizer: u64, from_estimate: u64) -> &'static str {
    match (from_usage > 0, from_tokenizer > 0, from_estimate > 0) {
        (false, false, false) => "none",
        (true, false, false) => "usage",
        (false, true, false) => "tokenizer",
        (false, false, true) => "estimate",
        _ => "mixed",
    }
}

/// The streaming results of a stage or of the run: present only when responses were streamed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StreamReport {
    /// Responses read as event streams (`text/event-stream`, or every response with `--stream`).
    pub streams: u64,
    /// Output tokens of all streams (cut ones included).
    pub output_tokens: u64,
    /// output_tokens / duration_s of the window.
    pub output_tokens_per_s: f64,
    /// Input tokens the server reported (`prompt_tokens` of its usage), of the streams that
    /// reported them.
    #[serde(default)]
    pub input_tokens: u64,
    /// input_tokens / duration_s.
    #[serde(default)]
    pub input_tokens_per_s: f64,
    /// (input_tokens + output_tokens) / duration_s.
    #[serde(default)]
    pub total_tokens_per_s: f64,
    /// Streams with input tokens: reported by the server, or counted by the client from the
    /// prompt when the server reported none.
    #[serde(default)]
    pub streams_with_input_tokens: u64,
    /// Of those, streams whose input tokens the client counted (`--tokenizer`, else the
    /// estimate), as vLLM's `bench serve` counts its prompts.
    #[serde(default)]
    pub input_tokens_counted_by_client: u64,
    /// Input tokens per stream that reported them (a count).
    #[serde(default)]
    pub input_tokens_per_request: Percentiles,
    /// Of output_tokens, reasoning tokens (the server's
    /// `completion_tokens_details.reasoning_tokens`, else counted from the reasoning text).
    #[serde(default)]
    pub reasoning_tokens: u64,
    /// output_tokens - reasoning_tokens.
    #[serde(default)]
    pub answer_tokens: u64,
    /// Streams that carried reasoning (`reasoning_content` / `reasoning`).
    #[serde(default)]
    pub reasoning_streams: u64,
    /// Time to first output token of streams with reasoning: send start -> first answer
    /// (not reasoning) content; absent without reasoning streams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttfot_ms: Option<Percentiles>,
    /// Where output token counts come from: "usage" (the server's `usage`), "tokenizer"
    /// (`--tokenizer` over the text), "estimate" (estimated from the text), "mixed" or "none".
    pub token_source: String,
    /// Streams counted from the server's usage.
    pub tokens_from_usage: u64,
    /// Streams counted with `--tokenizer`.
    #[serde(default)]
    pub tokens_from_tokenizer: u64,
    /// Streams whose tokens were estimated from the text.
    #[serde(default)]
    pub tokens_from_estimate: u64,
    /// Count per end reason: done, closed, error_event, timeout, cut.
    pub end_reasons: BTreeMap<String, u64>,
    /// Time to first token: send start -> first event carrying content.
    pub ttft_ms: Percentiles,
    /// Inter-token latency: gap between consecutive content events (per gap).
    pub itl_ms: Percentiles,
    /// Time per output token: (last token - first token) / (tokens - 1); complete answers only.
    pub tpot_ms: Percentiles,
    /// Output tokens per streamed response (a count, not milliseconds).
    pub tokens_per_request: Percentiles,
    /// Output tokens / (last token - send start) per complete answer (tokens per second).
    pub tokens_per_s: Percentiles,
    /// The histograms the values above come from, for exact merging.
    pub hdr: StreamHistograms,
}

/// Streaming histograms, each encoded like the latency ones.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StreamHistograms {
    /// TTFT, microseconds.
    pub ttft_us: String,
    /// ITL (every gap between content events), microseconds.
    pub itl_us: String,
    /// TPOT, microseconds.
    pub tpot_us: String,
    /// Output tokens per response.
    pub tokens: String,
    /// Tokens per second per response, times 1000.
    pub tokens_per_s_milli: String,
    /// TTFOT of streams with reasoning, microseconds.
    #[serde(default)]
    pub ttfot_us: String,
    /// Input tokens per stream.
    #[serde(default)]
    pub input_tokens: String,
}

/// The streaming part of one second: what the live line shows, and its histograms.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SecondStream {
    /// Streamed responses that ended in this window.
    pub streams: u64,
    /// Output tokens of the streams that ended in this window.
    pub output_tokens: u64,
    /// output_tokens / interval_s: the output token throughput of this second.
    pub output_tokens_per_s: f64,
    /// Input tokens (the server's `prompt_tokens`) of the streams that ended in this window.
    #[serde(default)]
    pub input_tokens: u64,
    /// input_tokens / interval_s.
    #[serde(default)]
    pub input_tokens_per_s: f64,
    /// (input_tokens + output_tokens) / interval_s.
    #[serde(default)]
    pub total_tokens_per_s: f64,
    /// Inter-token gaps measured in this window.
    pub gaps: u64,
    /// Median TTFT of the streams that ended in this window, milliseconds; `null` when nothing was measured.
    pub ttft_p50_ms: Option<f64>,
    /// 99th percentile TTFT, milliseconds; `null` when nothing was measured.
    pub ttft_p99_ms: Option<f64>,
    /// Median ITL of the gaps measured in this window, milliseconds; `null` when nothing was measured.
    pub itl_p50_ms: Option<f64>,
    /// 99th percentile ITL of the gaps measured in this window, milliseconds; `null` when nothing was measured.
    pub itl_p99_ms: Option<f64>,
    /// Median TPOT of the complete answers (2 tokens or more) that ended in this window,
    /// milliseconds; `null` when there was none (and in reports written before 0.2).
    #[serde(default)]
    pub tpot_p50_ms: Option<f64>,
    /// 99th percentile TPOT, milliseconds; `null` as `tpot_p50_ms`.
    #[serde(default)]
    pub tpot_p99_ms: Option<f64>,
    /// Median per-answer output speed of the complete answers that ended in this window: output
    /// tokens / (last content token - send start), tokens per second; `null` as `tpot_p50_ms`.
    #[serde(default)]
    pub tokens_per_s_p50: Option<f64>,
    /// 99th percentile of the per-answer output speed (the fastest answers), tokens per second.
    #[serde(default)]
    pub tokens_per_s_p99: Option<f64>,
    /// This second's TTFT histogram (microseconds), encoded for merging.
    pub hdr_ttft_us: String,
    /// This second's ITL histogram (microseconds), encoded for merging.
    pub hdr_itl_us: String,
    /// This second's TPOT histogram (microseconds), encoded; omitted when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hdr_tpot_us: String,
    /// This second's per-answer speed histogram (milli-tokens per second), encoded; omitted
    /// when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hdr_tokens_per_s_milli: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(tokens: u32, usage: Option<u32>, end: EndReason) -> StreamStats {
        StreamStats {
            ttft: Some(Duration::from_millis(50)),
            generation: Duration::from_millis(10 * u64::from(tokens.saturating_sub(1))),
            total: Duration::from_millis(50 + 10 * u64::from(tokens.saturating_sub(1))),
            content_events: tokens,
            content_bytes: u64::from(tokens) * 4,
            usage_tokens: usage,
            counted_tokens: tokens,
            itl_count: tokens.saturating_sub(1),
            itl_sum_us: 10_000 * u64::from(tokens.saturating_sub(1)),
            itl_max_us: 10_000,
            end,
            ..StreamStats::default()
        }
    }

    #[test]
    fn tokens_ttft_and_tpot_are_summarized() {
        let mut b = StreamBucket::new();
        for _ in 0..10 {
            b.record(&stats(20, Some(20), EndReason::Done));
        }
        b.record(&stats(5, None, EndReason::Cut));
        let r = b.report(Duration::from_secs(2));
        assert_eq!((r.streams, r.output_tokens), (11, 205));
        assert_eq!(r.output_tokens_per_s, 102.5);
        assert_eq!(r.token_source, "mixed");
        assert_eq!((r.tokens_from_usage, r.tokens_from_estimate), (10, 1));
        assert_eq!(r.end_reasons.get("done"), Some(&10));
        assert_eq!(r.end_reasons.get("cut"), Some(&1));
        assert_eq!(
            (r.tokens_per_request.min, r.tokens_per_request.max),
            (5.0, 20.0)
        );
        assert_eq!(r.tokens_per_request.p50, 20.0);
        assert!((r.ttft_ms.p50 - 50.0).abs() < 0.1, "{:?}", r.ttft_ms);
        // TPOT only from the 10 complete answers: 190 ms / 19 = 10 ms.
        assert_eq!(b.tpot.len(), 10);
        assert!((r.tpot_ms.p50 - 10.0).abs() < 0.02, "{:?}", r.tpot_ms);
        // 20 tokens in 240 ms.
        assert!(
            (r.tokens_per_s.p50 - 83.333).abs() < 0.2,
            "{:?}",
            r.tokens_per_s
        );
    }

    #[test]
    fn reports_round_trip_and_merge_exactly() {
        let mut a = StreamBucket::new();
        let mut b = StreamBucket::new();
        for i in 1..=50u32 {
            a.record(&stats(i, None, EndReason::Done));
            b.record(&stats(i + 50, Some(i + 50), EndReason::Closed));
            a.record_itl(&[i * 100, i * 200]);
            b.record_itl(&[i * 300]);
        }
        let mut direct = a.clone();
        direct.add(&b).unwrap();
        let mut merged = StreamBucket::from_report(&a.report(Duration::from_secs(1))).unwrap();
        merged
            .add(&StreamBucket::from_report(&b.report(Duration::from_secs(1))).unwrap())
            .unwrap();
        let d = Duration::from_secs(3);
        assert_eq!(merged.report(d), direct.report(d));
        assert_eq!(merged.itl.len(), 150);
        let mut second = StreamBucket::new();
        second
            .add_second(&a.second(Duration::from_secs(1)))
            .unwrap();
        assert_eq!(second.itl, a.itl);
        assert_eq!(second.output_tokens, a.output_tokens);
    }

    #[test]
    fn clear_empties() {
        let mut b = StreamBucket::new();
        b.record(&stats(3, None, EndReason::Done));
        b.record_itl(&[5, 6]);
        b.clear();
        let r = b.report(Duration::from_secs(1));
        assert_eq!((r.streams, r.output_tokens), (0, 0));
        assert!(r.end_reasons.is_empty() && b.itl.is_empty());
        assert_eq!(r.token_source, "none");
    }
}
