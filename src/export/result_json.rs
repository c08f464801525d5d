//! `--result-json FILE`: the run's totals under the key names of vLLM's `bench serve` result
//! file (`vllm/benchmarks/serve.py`, `--save-result`), so scripts and dashboards made for those
//! files read qpsbench's unchanged. Only what qpsbench measures is written; the README lists the
//! keys and where the definitions differ.
//!
//! Keys: `date` (`%Y%m%d-%H%M%S`, UTC), `endpoint_type`, `label`, `model_id`, `tokenizer_id`,
//! `num_prompts`, `request_rate`, `burstiness`, `max_concurrency`, `duration`, `completed`,
//! `failed`, `total_input_tokens`, `total_output_tokens`, `request_throughput`,
//! `request_goodput`, `output_throughput`, `total_token_throughput`,
//! `max_output_tokens_per_s`, `max_concurrent_requests`, and for each of `ttft`, `tpot`, `itl`
//! and `e2el`: `mean_X_ms`, `median_X_ms`, `std_X_ms`, `p50_X_ms`, `p90_X_ms`, `p95_X_ms`,
//! `p99_X_ms`, `p99.9_X_ms`. Per-request lists (`input_lens`, `ttfts`, `generated_texts`...) are
//! not kept by qpsbench (it keeps histograms) and are not written.

use serde_json::{Map, Value, json};

use super::Exporter;
use crate::report::Report;
use crate::stats::hdr::{Percentiles, decode_histogram, round3};

/// The vLLM-style result object.
pub struct ResultJson;

impl Exporter for ResultJson {
    fn serialize(&self, r: &Report) -> anyhow::Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(&result(r)?)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// `2026-12-01T03:04:05.123Z` -> `20261201-030405`.
fn vllm_date(rfc3339: &str) -> String {
    let digits: String = rfc3339.chars().filter(char::is_ascii_digit).collect();
    match (digits.get(..8), digits.get(8..14)) {
        (Some(day), Some(time)) => format!("{day}-{time}"),
        _ => rfc3339.to_string(),
    }
}

/// vLLM's burstiness: 1 for Poisson arrivals, K for gamma(K); `null` for constant slots (no
/// randomness: vLLM has no such mode) and for runs without `--rps`.
fn burstiness(arrival: Option<&str>) -> Option<f64> {
    match arrival? {
        "poisson" => Some(1.0),
        other => other
            .strip_prefix("gamma(")?
            .strip_suffix(')')?
            .parse()
            .ok(),
    }
}

/// The result object of `r`.
///
/// # Errors
///
/// When a histogram of the report cannot be decoded (a damaged saved report).
pub fn result(r: &Report) -> anyhow::Result<Value> {
    let t = &r.total;
    let c = &r.config;
    let st = t.stream.as_ref();
    let llm = c.llm.as_ref();
    let duration = t.duration_s;
    let per_s = |n: f64| if duration > 0.0 { n / duration } else { 0.0 };
    let completed = t.ok;
    let failed = t.requests - t.ok;
    let input = st.map_or(0, |s| s.input_tokens);
    let output = st.map_or(0, |s| s.output_tokens);
    let mut o = Map::new();
    let mut put = |k: &str, v: Value| {
        o.insert(k.to_string(), v);
    };
    put("date", json!(vllm_date(&r.started_at)));
    // vLLM's backend names: chat completions are `openai-chat`.
    let endpoint = llm.map_or("none", |l| match l.api.as_str() {
        "openai" => "openai-chat",
        other => other,
    });
    put("endpoint_type", json!(endpoint));
    // vLLM's label defaults to the backend.
    put("label", json!(r.name.as_deref().unwrap_or(endpoint)));
    put("model_id", json!(llm.and_then(|l| l.model.as_deref())));
    put(
        "tokenizer_id",
        json!(llm.and_then(|l| l.tokenizer.as_deref())),
    );
    put("num_prompts", json!(t.requests));
    put(
        "request_rate",
        // One rate for the run; `null` when its stages ran several.
        match c.rps {
            Some(_) if c.stage_rps.len() > 1 => Value::Null,
            Some(rate) => json!(rate),
            None => json!("inf"),
        },
    );
    put("burstiness", json!(burstiness(c.arrival.as_deref())));
    put("max_concurrency", json!(c.users));
    put("duration", json!(round3(duration)));
    put("completed", json!(completed));
    put("failed", json!(failed));
    put("total_input_tokens", json!(input));
    put("total_output_tokens", json!(output));
    put("request_throughput", json!(per_s(completed as f64)));
    put("request_goodput", json!(t.goodput.map(|g| g.goodput_per_s)));
    put("output_throughput", json!(per_s(output as f64)));
    put(
        "total_token_throughput",
        json!(per_s((input + output) as f64)),
    );
    put(
        "max_output_tokens_per_s",
        json!(
            r.seconds
                .iter()
                // Whole seconds only: a last partial second divided by its length reads high.
                .filter(|s| s.interval_s >= 0.999)
                .filter_map(|s| s.stream.as_ref().map(|x| x.output_tokens_per_s))
                .fold(0.0_f64, f64::max)
        ),
    );
    put(
        "max_concurrent_requests",
        json!(r.seconds.iter().map(|s| s.users).max().unwrap_or(c.users)),
    );
    let families: [(&str, Option<(&Percentiles, &str)>); 4] = [
        ("ttft", st.map(|s| (&s.ttft_ms, s.hdr.ttft_us.as_str()))),
        ("tpot", st.map(|s| (&s.tpot_ms, s.hdr.tpot_us.as_str()))),
        ("itl", st.map(|s| (&s.itl_ms, s.hdr.itl_us.as_str()))),
        ("e2el", Some((&t.latency_ms, t.hdr.latency_us.as_str()))),
    ];
    for (name, figures) in families {
        let Some((p, hdr)) = figures.and_then(|(p, h)| p.measured().map(|p| (p, h))) else {
            continue;
        };
        let h = decode_histogram(hdr).map_err(anyhow::Error::msg)?;
        put(&format!("mean_{name}_ms"), json!(p.mean));
        put(&format!("median_{name}_ms"), json!(p.p50));
        put(&format!("std_{name}_ms"), json!(round3(h.stdev() / 1e3)));
        for (word, v) in [
            ("50", p.p50),
            ("90", p.p90),
            ("95", p.p95),
            ("99", p.p99),
            ("99.9", p.p999),
        ] {
            put(&format!("p{word}_{name}_ms"), json!(v));
        }
    }
    Ok(Value::Object(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_vllm_writes_them() {
        assert_eq!(vllm_date("2026-12-01T03:04:05.123Z"), "20261201-030405");
        assert_eq!(vllm_date("garbled"), "garbled");
        assert_eq!(burstiness(Some("poisson")), Some(1.0));
        assert_eq!(burstiness(Some("gamma(0.5)")), Some(0.5));
        assert_eq!(burstiness(None), None);
    }
}
