//! HdrHistogram helpers: the one histogram shape (1 µs to 1 h, 3 significant digits), its
//! base64 codec for reports, percentiles, and the log-spaced bins of the text summary.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

/// Largest value a histogram holds: one hour, in microseconds. Larger values are clamped.
pub const HIST_MAX_US: u64 = 3_600_000_000;

/// A latency histogram in microseconds, 3 significant digits (as wrk2 and oha).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_US, 3).expect("static histogram bounds are valid")
}

/// A histogram as a report carries it: HdrHistogram V2 with deflate, base64 (the encoding the
/// HdrHistogram tools and interval logs use; it starts with `HISTF`).
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .expect("serializing into memory does not fail for in-range histograms");
    BASE64.encode(bytes)
}

/// Read a histogram written by [`encode_histogram`] (or any V2 / V2 deflate base64 histogram).
///
/// # Errors
///
/// When the text (trimmed) is not base64, or the bytes are not an HdrHistogram V2 (deflated or
/// not) with counts that fit a `u64`.
pub fn decode_histogram(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = BASE64
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram: {e:?}"))
}

/// Add `from` into `into`, clamping nothing: both cover the same range when written by qpsbench.
///
/// # Errors
///
/// When `from` holds a value above the highest `into` can store (a histogram written by another
/// tool); two histograms of [`new_histogram`]'s shape always combine.
pub fn add_histogram(into: &mut Histogram<u64>, from: &Histogram<u64>) -> Result<(), String> {
    into.add(from)
        .map_err(|e| format!("histograms do not combine: {e:?}"))
}

/// `x` rounded to 3 decimals (milliseconds to the microsecond), as the report writes it.
pub fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

/// `x` rounded to 6 decimals (rates), as the report writes it.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The summary of one histogram, in the unit its field's name gives (`latency_ms`:
/// milliseconds; `tokens_per_s`: tokens per second). All zero when there were no samples.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    /// Smallest value.
    pub min: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median (50th percentile).
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest value.
    pub max: f64,
}

impl Percentiles {
    /// Summarize a microsecond histogram in milliseconds.
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Percentiles {
                min: 0.0,
                mean: 0.0,
                p50: 0.0,
                p90: 0.0,
                p95: 0.0,
                p99: 0.0,
                p999: 0.0,
                max: 0.0,
            };
        }
        let ms = |us: u64| round3(us as f64 / 1e3);
        Percentiles {
            min: ms(h.min()),
            mean: round3(h.mean() / 1e3),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

/// One bar of the text latency histogram.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HistogramBin {
    /// Upper edge of the bin, in milliseconds (inclusive).
    pub upto_ms: f64,
    /// Values in the bin.
    pub count: u64,
}

/// Split the recorded range into `bins` log-spaced bins with their counts.
pub fn latency_bins(h: &Histogram<u64>, bins: usize) -> Vec<HistogramBin> {
    if h.is_empty() || bins == 0 {
        return Vec::new();
    }
    let (lo, hi) = (h.min().max(1) as f64, h.max().max(1) as f64);
    let mut out = Vec::with_capacity(bins);
    let mut prev = lo.floor() as u64 - 1;
    for i in 1..=bins {
        let edge = if i == bins {
            h.max()
        } else {
            (lo * (hi / lo).powf(i as f64 / bins as f64)).round() as u64
        };
        if edge <= prev {
            continue;
        }
        let count = h.count_between(prev + 1, edge);
        // count_between works on equivalent ranges; take exactly what lies above the last edge.
        out.push(HistogramBin {
            upto_ms: round3(edge as f64 / 1e3),
            count,
        });
        prev = h.highest_equivalent(edge);
    }
    out
}
