//! The LLM streaming section of the HTML report: cards, TTFT/ITL and output tokens per second
//! charts, a per-stage table of every per-request metric, stream end reasons and definitions.
//! Only when the run streamed; every string passes through [`esc`].

use std::fmt::Write as _;

use super::svg::{Chart, Line, esc, ms_card};
use crate::output::stream_summary::{dataset_words, metrics, request_words, token_source_words};
use crate::report::Report;
use crate::stats::hdr::{Percentiles, cell};
use crate::stats::rows::{SecondReport, StageReport};

const TTFT_COLOR: &str = "#1f77b4";
const TTFT99_COLOR: &str = "#aec7e8";
const ITL_COLOR: &str = "#ff7f0e";
const ITL99_COLOR: &str = "#ffbb78";
const TOKENS_COLOR: &str = "#2ca02c";
const STREAMS_COLOR: &str = "#7f7f7f";
const INPUT_COLOR: &str = "#9467bd";

/// Append the section (nothing when no response was streamed).
pub fn section(h: &mut String, r: &Report) {
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
    h.push_str(&latency_chart(r).render());
    h.push('\n');
    h.push_str(&tokens_chart(r).render());
    h.push('\n');

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
        for (i, (metric, p)) in metrics(s, sst).into_iter().enumerate() {
            h.push_str("<tr>");
            if i == 0 {
                let _ = write!(
                    h,
                    "<td class=\"l\" rowspan=\"6\">{}</td><td rowspan=\"6\">{}</td>\
                     <td rowspan=\"6\">{}</td><td rowspan=\"6\">{:.1}</td>",
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

fn window_end(s: &SecondReport) -> f64 {
    (s.second - 1) as f64 + s.interval_s
}

fn latency_chart(r: &Report) -> Chart {
    let pts = |f: &dyn Fn(&SecondReport) -> Option<f64>| -> Vec<(f64, f64)> {
        r.seconds
            .iter()
            .filter_map(|s| f(s).map(|v| (window_end(s), v)))
            .collect()
    };
    let ttft = |s: &SecondReport, p99: bool| {
        s.stream
            .as_ref()
            .and_then(|st| if p99 { st.ttft_p99_ms } else { st.ttft_p50_ms })
    };
    let itl = |s: &SecondReport, p99: bool| {
        s.stream
            .as_ref()
            .and_then(|st| if p99 { st.itl_p99_ms } else { st.itl_p50_ms })
    };
    let line = |name: &str, color, points, dashed| Line {
        name: name.into(),
        color,
        points,
        dashed,
    };
    Chart {
        id: "chart-ttft-itl",
        title: "Time to first token and inter-token latency per second".into(),
        x_label: "seconds since start".into(),
        y_label: "TTFT ms".into(),
        lines: vec![
            line("TTFT p50", TTFT_COLOR, pts(&|s| ttft(s, false)), false),
            line("TTFT p99", TTFT99_COLOR, pts(&|s| ttft(s, true)), true),
        ],
        right: Some((
            "ITL ms".into(),
            vec![
                line("ITL p50", ITL_COLOR, pts(&|s| itl(s, false)), false),
                line("ITL p99", ITL99_COLOR, pts(&|s| itl(s, true)), true),
            ],
        )),
        x_ticks: None,
    }
}

fn tokens_chart(r: &Report) -> Chart {
    let pts = |f: &dyn Fn(&SecondReport) -> f64| -> Vec<(f64, f64)> {
        r.seconds.iter().map(|s| (window_end(s), f(s))).collect()
    };
    let per_s = |n: u64, s: &SecondReport| {
        if s.interval_s > 0.0 {
            n as f64 / s.interval_s
        } else {
            0.0
        }
    };
    Chart {
        id: "chart-tokens",
        title: "Tokens per second (output, and input when reported), with streams completed per \
                second"
            .into(),
        x_label: "seconds since start".into(),
        y_label: "output tokens / s".into(),
        lines: {
            let mut lines = vec![Line {
                name: "output tokens/s".into(),
                color: TOKENS_COLOR,
                points: pts(&|s| {
                    s.stream
                        .as_ref()
                        .map_or(0.0, |st| per_s(st.output_tokens, s))
                }),
                dashed: false,
            }];
            // Input tokens only when the server reported them.
            if r.seconds
                .iter()
                .any(|s| s.stream.as_ref().is_some_and(|st| st.input_tokens > 0))
            {
                lines.push(Line {
                    name: "input tokens/s".into(),
                    color: INPUT_COLOR,
                    points: pts(&|s| {
                        s.stream
                            .as_ref()
                            .map_or(0.0, |st| per_s(st.input_tokens, s))
                    }),
                    dashed: false,
                });
            }
            lines
        },
        right: Some((
            "streams / s".into(),
            vec![Line {
                name: "streams/s".into(),
                color: STREAMS_COLOR,
                points: pts(&|s| s.stream.as_ref().map_or(0.0, |st| per_s(st.streams, s))),
                dashed: true,
            }],
        )),
        x_ticks: None,
    }
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
