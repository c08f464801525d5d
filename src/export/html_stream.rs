//! The LLM streaming section of the HTML report: cards, TTFT/ITL and output tokens per second
//! charts, a per-stage table of every per-request metric, stream end reasons and definitions.
//! Only when the run streamed; every string passes through [`esc`].

use std::fmt::Write as _;

use super::page::{Axis, Chart, Charts, Series, esc, ms_axis, ms_card, time_chart};
use crate::output::stream_summary::{dataset_words, metrics, request_words, token_source_words};
use crate::report::Report;
use crate::stats::hdr::{Percentiles, cell};
use crate::stats::rows::StageReport;
use crate::stats::stream::SecondStream;

const TTFT_COLOR: &str = "#1f77b4";
const TTFT99_COLOR: &str = "#aec7e8";
const ITL_COLOR: &str = "#ff7f0e";
const ITL99_COLOR: &str = "#ffbb78";
const TOKENS_COLOR: &str = "#2ca02c";
const STREAMS_COLOR: &str = "#7f7f7f";
const INPUT_COLOR: &str = "#9467bd";
const TPOT_COLOR: &str = "#d62728";
const TPOT99_COLOR: &str = "#ff9896";
const SPEED99_COLOR: &str = "#98df8a";

/// Append the section (nothing when no response was streamed).
pub fn section(h: &mut String, charts: &mut Charts, r: &Report) {
    let Some(st) = &r.total.stream else {
        if let Some(w) = crate::output::stream_summary::no_stream_warning(r) {
            let _ = writeln!(h, "<div class=\"warn\">Warning: {}</div>", esc(&w));
        }
        return;
    };
    h.push_str("<h2 id=\"llm-streaming\">LLM streaming</h2>\n");
    let cards = [
        (st.streams.to_string(), "streamed responses"),
        (st.output_tokens.to_string(), "output tokens"),
        (
            format!("{:.1}", st.output_tokens_per_s),
            "output tokens / s",
        ),
        (ms_card(p50(&st.ttft_ms)), "p50 TTFT"),
        (ms_card(p50(&st.itl_ms)), "p50 ITL"),
        (ms_card(p50(&st.tpot_ms)), "p50 TPOT"),
        (cell(p50(&st.tokens_per_request), 1), "p50 tokens / request"),
    ];
    let mut cards = cards.to_vec();
    if st.streams_with_input_tokens > 0 {
        cards.push((st.input_tokens.to_string(), "input tokens"));
        cards.push((
            format!("{:.1}", st.total_tokens_per_s),
            "input + output tokens / s",
        ));
    }
    if let Some(ttfot) = &st.ttfot_ms {
        cards.push((ms_card(p50(ttfot)), "p50 TTFOT (first answer token)"));
        cards.push((st.reasoning_tokens.to_string(), "reasoning tokens"));
    }
    h.push_str("<div class=\"cards\">");
    for (value, label) in cards {
        let _ = write!(
            h,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            esc(&value),
            esc(label)
        );
    }
    h.push_str("</div>\n");
    let _ = writeln!(
        h,
        "<p>Output tokens from {}.</p>",
        esc(&token_source_words(st))
    );
    if let Some(llm) = &r.config.llm {
        let _ = writeln!(h, "<p>Requests: {}.</p>", esc(&request_words(llm)));
        if let Some(d) = &llm.dataset {
            let _ = writeln!(h, "<p>Dataset: {}.</p>", esc(&dataset_words(d)));
        }
    }
    for chart in stream_charts(r) {
        charts.place(h, chart);
    }

    let _ = writeln!(
        h,
        "<h2>Stages: streaming, per request ({} in ms; output tokens; tokens/s{})</h2>",
        if st.ttfot_ms.is_some() {
            "TTFB, TTFT, TTFOT, ITL, TPOT"
        } else {
            "TTFB, TTFT, ITL, TPOT"
        },
        if st.streams_with_input_tokens > 0 {
            "; input tokens"
        } else {
            ""
        }
    );
    h.push_str(
        "<table><tr><th class=\"l\">stage</th><th>streams</th><th>output tokens</th>\
         <th>tokens/s</th><th class=\"l\">metric</th><th>avg</th><th>min</th><th>p50</th>\
         <th>p90</th><th>p95</th><th>p99</th><th>max</th></tr>\n",
    );
    let rows: Vec<&StageReport> = if r.stages.len() > 1 {
        r.stages.iter().chain(std::iter::once(&r.total)).collect()
    } else {
        vec![&r.total]
    };
    for s in rows {
        let Some(sst) = s.stream.as_ref().filter(|x| x.streams > 0) else {
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td>0</td><td colspan=\"10\">-</td></tr>",
                esc(&s.name)
            );
            continue;
        };
        // The stage's cells span its metric rows: as many as it has (TTFOT and input tokens
        // only when measured).
        let rows = metrics(s, sst);
        let span = rows.len();
        for (i, (metric, p)) in rows.into_iter().enumerate() {
            h.push_str("<tr>");
            if i == 0 {
                let _ = write!(
                    h,
                    "<td class=\"l\" rowspan=\"{span}\">{}</td><td rowspan=\"{span}\">{}</td>\
                     <td rowspan=\"{span}\">{}</td><td rowspan=\"{span}\">{:.1}</td>",
                    esc(&s.name),
                    sst.streams,
                    sst.output_tokens,
                    sst.output_tokens_per_s
                );
            }
            let _ = write!(h, "<td class=\"l\">{}</td>", esc(metric));
            match p.measured() {
                Some(p) => {
                    for v in [p.mean, p.min, p.p50, p.p90, p.p95, p.p99, p.max] {
                        let _ = write!(h, "<td>{v:.3}</td>");
                    }
                }
                None => h.push_str("<td colspan=\"7\">-</td>"),
            }
            h.push_str("</tr>\n");
        }
    }
    h.push_str("</table>\n");

    h.push_str("<h2>Stream ends</h2>\n");
    if st.end_reasons.is_empty() {
        h.push_str("<p>none</p>\n");
    } else {
        h.push_str("<table><tr><th class=\"l\">end</th><th>count</th></tr>");
        for (k, n) in &st.end_reasons {
            let _ = write!(h, "<tr><td class=\"l\">{}</td><td>{n}</td></tr>", esc(k));
        }
        h.push_str("</table>\n");
    }
    h.push_str(DEFINITIONS);
}

/// A per-second value of the streaming part of a row (`None` in seconds without streams).
fn of(r: &Report, f: fn(&SecondStream) -> Option<f64>) -> Vec<Option<f64>> {
    r.seconds
        .iter()
        .map(|s| s.stream.as_ref().and_then(f))
        .collect()
}

/// A rate per second of the window (0 in seconds without streams).
fn rate(r: &Report, f: fn(&SecondStream) -> u64) -> Vec<Option<f64>> {
    r.seconds
        .iter()
        .map(|s| {
            let n = s.stream.as_ref().map_or(0, f);
            Some(if s.interval_s > 0.0 {
                n as f64 / s.interval_s
            } else {
                0.0
            })
        })
        .collect()
}

/// TTFT, ITL, TPOT and per-answer speed each on a chart of its own (their scales differ by an
/// order of magnitude), then token throughput with streams per second.
fn stream_charts(r: &Report) -> Vec<Chart> {
    let ms = |name: &str, color, f| Series::new(name, "ms", color, "ms", of(r, f));
    let mut tokens = vec![Series::new(
        "output tokens/s",
        "tokens/s",
        TOKENS_COLOR,
        "tokens",
        rate(r, |st| st.output_tokens),
    )];
    // Input tokens only when the server reported them (or the client counted them).
    if r.seconds
        .iter()
        .any(|s| s.stream.as_ref().is_some_and(|st| st.input_tokens > 0))
    {
        tokens.push(Series::new(
            "input tokens/s",
            "tokens/s",
            INPUT_COLOR,
            "tokens",
            rate(r, |st| st.input_tokens),
        ));
    }
    tokens.push(
        Series::new(
            "streams/s",
            "streams/s",
            STREAMS_COLOR,
            "streams",
            rate(r, |st| st.streams),
        )
        .dashed(),
    );
    vec![
        time_chart(
            r,
            "chart-ttft",
            "Time to first token per second (send start → first content)",
            vec![ms_axis("TTFT (ms)")],
            vec![
                ms("TTFT p50", TTFT_COLOR, |st| st.ttft_p50_ms),
                ms("TTFT p99", TTFT99_COLOR, |st| st.ttft_p99_ms).dashed(),
            ],
        ),
        time_chart(
            r,
            "chart-itl",
            "Inter-token latency per second (gap between content events)",
            vec![ms_axis("ITL (ms)")],
            vec![
                ms("ITL p50", ITL_COLOR, |st| st.itl_p50_ms),
                ms("ITL p99", ITL99_COLOR, |st| st.itl_p99_ms).dashed(),
            ],
        ),
        time_chart(
            r,
            "chart-tpot",
            "Time per output token per second (complete answers of 2 tokens or more)",
            vec![ms_axis("TPOT (ms)")],
            vec![
                ms("TPOT p50", TPOT_COLOR, |st| st.tpot_p50_ms),
                ms("TPOT p99", TPOT99_COLOR, |st| st.tpot_p99_ms).dashed(),
            ],
        ),
        time_chart(
            r,
            "chart-answer-speed",
            "Output speed per answer (tokens / (last token − send start)), complete answers",
            vec![Axis::left("speed", "tokens/s per answer")],
            vec![
                Series::new(
                    "tokens/s p50",
                    "tokens/s",
                    TOKENS_COLOR,
                    "speed",
                    of(r, |st| st.tokens_per_s_p50),
                ),
                Series::new(
                    "tokens/s p99",
                    "tokens/s",
                    SPEED99_COLOR,
                    "speed",
                    of(r, |st| st.tokens_per_s_p99),
                )
                .dashed(),
            ],
        ),
        time_chart(
            r,
            "chart-tokens",
            "Tokens per second (output, and input when known), with streams completed per second",
            vec![
                Axis::left("tokens", "tokens/s"),
                Axis {
                    right: true,
                    ..Axis::left("streams", "streams/s")
                },
            ],
            tokens,
        ),
    ]
}

const DEFINITIONS: &str = "<h2>Streaming definitions</h2><dl class=\"defs\">\
<dt>TTFB</dt><dd>send start &rarr; response head received</dd>\
<dt>TTFT</dt><dd>send start &rarr; first stream event that carries content</dd>\
<dt>TTFOT</dt><dd>streams with reasoning: send start &rarr; first answer (not reasoning) content</dd>\
<dt>ITL</dt><dd>gap between consecutive content events (content only, as guidellm; vLLM also \
counts chunks without content)</dd>\
<dt>TPOT</dt><dd>(last content token &minus; first content token) / (output tokens &minus; 1); \
complete answers of 2 tokens or more</dd>\
<dt>tokens</dt><dd>output tokens per response: the server&#39;s usage when it sends one, else the \
content text counted with --tokenizer, else estimated from the text (words, CJK characters)</dd>\
<dt>input tokens</dt><dd>the server&#39;s prompt_tokens; total tokens/s = (input + output) / length</dd>\
<dt>goodput</dt><dd>--goodput: requests that met every objective, per second (vLLM&#39;s goodput)</dd>\
<dt>tokens/s</dt><dd>per request: output tokens / (last content token &minus; send start), \
complete answers only; output tokens/s: all output tokens of the responses that ended in a window / its \
length</dd></dl>\n";

fn p50(p: &Percentiles) -> Option<f64> {
    p.measured().map(|p| p.p50)
}
