//! Reading one response as an event stream in the user thread: each read into the thread's
//! reused buffer is timestamped and fed to the thread's [`StreamMeter`]; inter-token gaps go to
//! the collector in fixed-size [`ItlBatch`]es over the sample channel. Only responses that are
//! event streams (or every response with `--stream`) come here: the plain path is unchanged.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Sender;
use ureq::http::HeaderMap;
use ureq::http::header::CONTENT_TYPE;

use crate::collector::Event;
use crate::sample::{FailureKind, Outcome, classify_io};
use crate::stats::bucket::is_error_status;
use crate::stream::{
    ContentFormat, EndReason, ItlBatch, StreamClose, StreamMeter, StreamStats, Tokenizer,
};

/// Is the response a `text/event-stream`?
pub fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| is_event_stream_value(v.as_bytes()))
}

/// Is a `Content-Type` value `text/event-stream` (with or without parameters)?
pub fn is_event_stream_value(value: &[u8]) -> bool {
    value
        .get(..17)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"text/event-stream"))
}

/// A user thread's stream reading state, reused from request to request.
#[derive(Debug)]
pub struct StreamReader {
    meter: StreamMeter,
    batch: ItlBatch,
}

/// What reading one stream gave.
#[derive(Debug, Clone, Copy)]
pub struct StreamRead {
    /// Body bytes read.
    pub bytes: u64,
    pub stats: StreamStats,
    /// The client-side failure that ended the read, if any.
    pub io_failure: Option<FailureKind>,
    /// A line or event was larger than the parser's bound (dropped).
    pub oversized: bool,
    /// When the terminating event (`[DONE]`, `message_end`) was read, if it was.
    pub answered: Option<Instant>,
}

impl StreamReader {
    pub fn new(format: ContentFormat) -> Self {
        StreamReader::with_tokenizer(format, None)
    }

    /// With `--tokenizer` to count output tokens when the server sends no usage.
    pub fn with_tokenizer(format: ContentFormat, tokenizer: Option<Arc<Tokenizer>>) -> Self {
        StreamReader {
            meter: StreamMeter::new(format).with_tokenizer(tokenizer),
            batch: ItlBatch::new(),
        }
    }

    /// Read `body` to its end. `sent` is the request's send start; full ITL batches are sent
    /// to the collector as they fill, the rest before returning (so before the sample).
    pub fn read(
        &mut self,
        body: &mut impl Read,
        buf: &mut [u8],
        sent: Instant,
        stage: u32,
        tx: &Sender<Event>,
    ) -> StreamRead {
        let StreamReader { meter, batch } = self;
        meter.start(sent);
        let mut bytes = 0u64;
        let mut oversized = false;
        let mut io_failure = None;
        let mut answered = None;
        let close = loop {
            let result = body.read(buf);
            let at = Instant::now();
            let mut on_itl = |us: u32| {
                if batch.push(us) {
                    let batch = batch.take();
                    let _ = tx.send(Event::Itl { stage, at, batch });
                }
            };
            match result {
                Ok(0) => break StreamClose::Eof,
                Ok(n) => {
                    bytes += n as u64;
                    oversized |= meter.feed(at, &buf[..n], &mut on_itl).is_err();
                    if answered.is_none() && meter.saw_done() {
                        answered = Some(at);
                    }
                }
                Err(e) => {
                    let kind = classify_io(&e);
                    io_failure = Some(kind);
                    break if kind == FailureKind::Timeout {
                        StreamClose::Timeout
                    } else {
                        StreamClose::Broken
                    };
                }
            }
        };
        let end = Instant::now();
        let mut on_itl = |us: u32| {
            if batch.push(us) {
                let batch = batch.take();
                let _ = tx.send(Event::Itl {
                    stage,
                    at: end,
                    batch,
                });
            }
        };
        let stats = meter.finish(end, close, &mut on_itl);
        if !batch.is_empty() {
            let batch = batch.take();
            let _ = tx.send(Event::Itl {
                stage,
                at: end,
                batch,
            });
        }
        StreamRead {
            bytes,
            stats,
            io_failure,
            oversized,
            answered,
        }
    }

    /// Does the format name a terminating event?
    pub fn has_terminator(&self) -> bool {
        self.meter.format().has_terminator()
    }
}

impl StreamRead {
    /// How the request ended. An HTTP error status stays an HTTP error. Otherwise a stream is
    /// a failure of its own kind when it did not end whole: [`FailureKind::StreamError`] when
    /// the server sent an error event, [`FailureKind::StreamCut`] when the connection broke or
    /// closed before the terminating event of a format that has one; a read timeout stays a
    /// timeout. Tokens received before the end are counted in every case.
    pub fn outcome(&self, status: u16, has_terminator: bool) -> Outcome {
        if is_error_status(status) {
            return Outcome::Status(status);
        }
        match self.stats.end {
            EndReason::ErrorEvent => Outcome::Failure(FailureKind::StreamError),
            EndReason::Timeout => Outcome::Failure(FailureKind::Timeout),
            EndReason::Cut => Outcome::Failure(FailureKind::StreamCut),
            // The body ended before its terminating event, and the server never said the answer
            // was finished (a `finish_reason`): cut short.
            EndReason::Closed if has_terminator && !self.stats.finished => {
                Outcome::Failure(FailureKind::StreamCut)
            }
            // A complete answer (its terminating event came) stays complete whatever the
            // connection does after it (a timeout or a reset while the body's end is awaited).
            EndReason::Done if !self.oversized => Outcome::Status(status),
            EndReason::Done | EndReason::Closed => match self.io_failure {
                Some(kind) => Outcome::Failure(kind),
                None if self.oversized => Outcome::Failure(FailureKind::Protocol),
                None => Outcome::Status(status),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn content_type_is_recognized() {
        let mut h = HeaderMap::new();
        assert!(!is_event_stream(&h));
        h.insert(
            CONTENT_TYPE,
            "Text/Event-Stream; charset=utf-8".parse().unwrap(),
        );
        assert!(is_event_stream(&h));
        h.insert(CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(!is_event_stream(&h));
    }

    #[test]
    fn a_stream_sends_its_gaps_before_returning() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut r = StreamReader::new(ContentFormat::Raw);
        let body: String = (0..40).map(|i| format!("data: t{i}\n\n")).collect();
        let mut buf = [0u8; 64];
        let out = r.read(&mut Cursor::new(body), &mut buf, Instant::now(), 2, &tx);
        assert_eq!(out.stats.content_events, 40);
        assert_eq!(out.outcome(200, r.has_terminator()), Outcome::Status(200));
        let mut gaps = 0;
        while let Ok(Event::Itl { stage, batch, .. }) = rx.try_recv() {
            assert_eq!(stage, 2);
            gaps += batch.len();
        }
        assert_eq!(gaps, 39);
    }

    #[test]
    fn a_complete_answer_is_not_failed_by_what_follows_it() {
        let read = |end, io_failure| StreamRead {
            bytes: 10,
            stats: StreamStats {
                end,
                ..StreamStats::default()
            },
            io_failure,
            oversized: false,
            answered: None,
        };
        let timed_out = read(EndReason::Done, Some(FailureKind::Timeout));
        assert_eq!(timed_out.outcome(200, true), Outcome::Status(200));
        let reset = read(EndReason::Done, Some(FailureKind::Reset));
        assert_eq!(reset.outcome(200, true), Outcome::Status(200));
        // Without its terminating event, the same is a failure.
        let cut = read(EndReason::Closed, Some(FailureKind::Reset));
        assert_eq!(
            cut.outcome(200, false),
            Outcome::Failure(FailureKind::Reset)
        );
    }

    #[test]
    fn an_openai_stream_without_done_is_cut() {
        let (tx, _rx) = crossbeam_channel::unbounded();
        let mut r = StreamReader::new(ContentFormat::OpenAi);
        let body = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n";
        let mut buf = [0u8; 16];
        let out = r.read(&mut Cursor::new(body), &mut buf, Instant::now(), 0, &tx);
        assert_eq!(out.stats.tokens(), 1);
        assert_eq!(
            out.outcome(200, r.has_terminator()),
            Outcome::Failure(FailureKind::StreamCut)
        );
        assert_eq!(out.outcome(503, r.has_terminator()), Outcome::Status(503));
    }
}

#[cfg(test)]
mod size {
    /// Samples and events are copied through the channel for every request: keep them small.
    #[test]
    fn samples_and_events_stay_small() {
        let sample = std::mem::size_of::<crate::sample::Sample>();
        let event = std::mem::size_of::<crate::collector::Event>();
        eprintln!("Sample {sample} bytes, Event {event} bytes");
        assert!(sample <= 256, "Sample is {sample} bytes");
        assert!(event <= 256, "Event is {event} bytes");
    }
}
