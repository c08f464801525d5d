//! Statistics owned by the collector: counters and HdrHistograms per second, per stage and for
//! the whole run, turned into serializable rows at the end. Nothing here grows with the number
//! of requests.
//!
//! - [`bucket`]: the accumulator of one window; [`hdr`]: histogram codec and percentiles;
//!   [`rows`]: the results rows of the report.
//! - [`stream`]: TTFT, ITL, TPOT and tokens of streamed answers; [`retry`]: logical requests
//!   under `--retries`; [`traffic`]: a row per `--targets` entry.
//! - [`thresholds`]: the `--fail-on` grammar and the metrics it reads from a row.

pub mod abort;
pub mod bucket;
pub mod goodput;
pub mod hdr;
pub mod retry;
pub mod rows;
pub mod saturation;
pub mod stream;
pub mod thresholds;
pub mod traffic;
