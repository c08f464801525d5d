//! HdrHistogram helpers: the one histogram shape (1 µs to 1 h, 3 significant digits), its
//! base64 codec for reports, percentiles, and the log-spaced bins of the text summary.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

/// Largest value a histogram holds: one hour, in microseconds. Larger values are clamped.
pub const HIST_MAX_US: u64 = 3_600_000_000;

/// A latency histogram in microseconds, 3 significant digits (as wrk2 and oha), from 1 µs to
/// [`HIST_MAX_US`]. It starts small and grows to the largest value recorded (HdrHistogram's
/// auto-resize; callers clamp values to [`HIST_MAX_US`]): one sized for an hour from the start
/// takes 180 KB, and a run keeps several per stage (2,000 rate stages took 1.5 GB).
pub fn new_histogram() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 2048, 3).expect("static histogram bounds are valid");
    h.auto(true);
    h
}

/// Recording into a [`new_histogram`]: grows it to hold the value (`saturating_record` would
/// clamp to its current size instead of growing it).
pub trait Record {
    /// Record `v`, at most [`HIST_MAX_US`].
    fn put(&mut self, v: u64);
}

impl Record for Histogram<u64> {
    fn put(&mut self, v: u64) {
        let v = v.min(HIST_MAX_US);
        if self.record(v).is_err() {
            self.saturating_record(v);
        }
    }
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
    let mut h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram: {e:?}"))?;
    // Written with the range its values needed: it grows as others are added into it.
    h.auto(true);
    Ok(h)
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
/// milliseconds; `tokens_per_s`: tokens per second), with how many values it summarizes.
///
/// A summary of no values has no values: `count` is 0 and the JSON report writes every other
/// field as `null` (the text and HTML outputs show `-`, the CSV an empty cell), so that a metric
/// that was never measured is never read as 0.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(into = "PercentilesJson", try_from = "PercentilesJson")]
pub struct Percentiles {
    /// Values summarized (requests, gaps, answers...); 0 when nothing was measured.
    pub count: u64,
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
    /// The summary of nothing: `count` 0.
    pub const NONE: Percentiles = Percentiles {
        count: 0,
        min: 0.0,
        mean: 0.0,
        p50: 0.0,
        p90: 0.0,
        p95: 0.0,
        p99: 0.0,
        p999: 0.0,
        max: 0.0,
    };

    /// Summarize a microsecond histogram in milliseconds.
    pub fn of(h: &Histogram<u64>) -> Self {
        Percentiles::scaled(h, 1e3)
    }

    /// Summarize a histogram with each value divided by `divisor` (1 for plain counts).
    pub fn scaled(h: &Histogram<u64>, divisor: f64) -> Self {
        if h.is_empty() {
            return Percentiles::NONE;
        }
        let v = |x: u64| round3(x as f64 / divisor);
        Percentiles {
            count: h.len(),
            min: v(h.min()),
            mean: round3(h.mean() / divisor),
            p50: v(h.value_at_quantile(0.50)),
            p90: v(h.value_at_quantile(0.90)),
            p95: v(h.value_at_quantile(0.95)),
            p99: v(h.value_at_quantile(0.99)),
            p999: v(h.value_at_quantile(0.999)),
            max: v(h.max()),
        }
    }

    /// The summary, or `None` when nothing was measured.
    pub fn measured(&self) -> Option<&Percentiles> {
        (self.count > 0).then_some(self)
    }

    /// mean, min, p50, p90, p95, p99, p99.9, max (the tables' order); `None` without values.
    pub fn table_row(&self) -> Option<[f64; 8]> {
        self.measured()
            .map(|p| [p.mean, p.min, p.p50, p.p90, p.p95, p.p99, p.p999, p.max])
    }
}

/// A fraction as a percent with 2 decimals for a table cell, or `-` without requests.
pub fn percent(v: Option<f64>) -> String {
    cell(v.map(|v| v * 100.0), 2)
}

/// A number of a table cell with `decimals` decimals, or `-` when nothing was measured.
pub fn cell(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}"))
}

/// [`Percentiles`] as the JSON report writes it: `null` values when `count` is 0.
#[derive(Serialize, Deserialize)]
struct PercentilesJson {
    count: u64,
    min: Option<f64>,
    mean: Option<f64>,
    p50: Option<f64>,
    p90: Option<f64>,
    p95: Option<f64>,
    p99: Option<f64>,
    p999: Option<f64>,
    max: Option<f64>,
}

impl From<Percentiles> for PercentilesJson {
    fn from(p: Percentiles) -> Self {
        let v = |x: f64| (p.count > 0).then_some(x);
        PercentilesJson {
            count: p.count,
            min: v(p.min),
            mean: v(p.mean),
            p50: v(p.p50),
            p90: v(p.p90),
            p95: v(p.p95),
            p99: v(p.p99),
            p999: v(p.p999),
            max: v(p.max),
        }
    }
}

impl TryFrom<PercentilesJson> for Percentiles {
    type Error = String;

    fn try_from(j: PercentilesJson) -> Result<Self, String> {
        if j.count == 0 {
            return Ok(Percentiles::NONE);
        }
        let (
            Some(min),
            Some(mean),
            Some(p50),
            Some(p90),
            Some(p95),
            Some(p99),
            Some(p999),
            Some(max),
        ) = (j.min, j.mean, j.p50, j.p90, j.p95, j.p99, j.p999, j.max)
        else {
            return Err(format!("a summary of {} values with a null value", j.count));
        };
        Ok(Percentiles {
            count: j.count,
            min,
            mean,
            p50,
            p90,
            p95,
            p99,
            p999,
            max,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_grows_to_its_values_and_combines_with_larger_ones() {
        let mut small = new_histogram();
        small.put(500);
        // Sized for what it holds, not for an hour.
        assert!(small.high() < 10_000, "{}", small.high());
        let mut large = new_histogram();
        large.put(2_000_000);
        large.put(u64::MAX);
        assert_eq!(large.max(), large.highest_equivalent(HIST_MAX_US));
        assert!(large.high() >= HIST_MAX_US);
        // Written, read back and added either way, nothing is lost or clamped.
        let mut a = decode_histogram(&encode_histogram(&small)).unwrap();
        add_histogram(&mut a, &large).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a.max(), large.max());
        let mut b = decode_histogram(&encode_histogram(&large)).unwrap();
        add_histogram(&mut b, &small).unwrap();
        assert_eq!((b.len(), b.min()), (3, small.min()));
    }
}
