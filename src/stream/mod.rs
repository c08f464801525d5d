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

pub mod content;
pub mod json_path;
pub mod meter;
pub mod sse;
pub mod timing;
pub mod tokens;

pub use content::*;
pub use json_path::*;
pub use meter::*;
pub use sse::*;
pub use timing::*;
pub use tokens::*;
