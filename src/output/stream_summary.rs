//! The streaming (LLM) part of the text summary: only when the run streamed.

use std::fmt::Write as _;

use crate::output::counts_line;
use crate::output::table::{KEEP, Table};
use crate::report::Report;
use crate::stats::hdr::{Percentiles, cell};
use crate::stats::rows::StageReport;
use crate::stats::stream::StreamReport;
use crate::traffic::dataset::{DatasetView, Lengths};

/// Append the streaming section to `out` (nothing when no response was streamed).
pub fn render(out: &mut String, r: &Report, width: Option<usize>) {
    let Some(total) = &r.total.stream else {
        if let Some(w) = no_stream_warning(r) {
            let _ = writeln!(out, "\nWARNING:        {w}");
        }
        return;
    };
    let _ = writeln!(
        out,
        "\nStreaming: {}, {}, {:.1} output tokens/s over the run",
        crate::parse::count_of(total.streams, "streamed response", "streamed responses"),
        crate::parse::count_of(total.output_tokens, "output token", "output tokens"),
        total.output_tokens_per_s
    );
    if total.streams_with_input_tokens > 0 {
        let _ = writeln!(
            out,
            "Input tokens:   {} ({:.1}/s); input + output {:.1} tokens/s{}",
            total.input_tokens,
            total.input_tokens_per_s,
            total.total_tokens_per_s,
            input_words(total)
        );
    }
    if total.reasoning_streams > 0 {
        let _ = writeln!(
            out,
            "Reasoning:      {} streams; {} reasoning tokens, {} answer tokens",
            total.reasoning_streams, total.reasoning_tokens, total.answer_tokens
        );
    }
    if let Some(llm) = &r.config.llm {
        let _ = writeln!(out, "LLM requests:   {}", request_words(llm));
        if let Some(d) = &llm.dataset {
            let _ = writeln!(out, "Dataset:        {}", dataset_words(d));
        }
    }
    let _ = writeln!(out, "Tokens from:    {}", token_source_words(total));
    let _ = writeln!(out, "Stream ends:    {}", counts_line(&total.end_reasons));
    let _ = writeln!(
        out,
        "\nPer request ({} in ms; output tokens; tokens/s{}):",
        if total.ttfot_ms.is_some() {
            "TTFB, TTFT, TTFOT, ITL, TPOT"
        } else {
            "TTFB, TTFT, ITL, TPOT"
        },
        if total.streams_with_input_tokens > 0 {
            "; input tokens"
        } else {
            ""
        }
    );
    // Narrowed to the terminal: min, p95, avg, p90, streams, then max go.
    let mut t = Table::new()
        .column("stage", false, r.stage_name_width(), KEEP)
        .column("streams", true, 8, 5)
        .column("metric", false, 8, KEEP);
    for (header, keep) in [
        ("avg", 3),
        ("min", 1),
        ("p50", KEEP),
        ("p90", 4),
        ("p95", 2),
        ("p99", KEEP),
        ("max", 6),
    ] {
        t = t.column(header, true, 9, keep);
    }
    let rows: Vec<&StageReport> = if r.stages.len() > 1 {
        r.stages.iter().chain(std::iter::once(&r.total)).collect()
    } else {
        vec![&r.total]
    };
    for s in rows {
        let Some(st) = s.stream.as_ref().filter(|st| st.streams > 0) else {
            t.row([s.name.clone(), "0".to_string(), "-".to_string()]);
            continue;
        };
        for (i, (metric, p)) in metrics(s, st).into_iter().enumerate() {
            let (name, streams) = if i == 0 {
                (s.name.clone(), st.streams.to_string())
            } else {
                (String::new(), String::new())
            };
            // Never measured (no content, no complete answer): `-`, not 0.
            let values = p
                .measured()
                .map(|p| [p.mean, p.min, p.p50, p.p90, p.p95, p.p99, p.max]);
            let mut cells = vec![name, streams, metric.to_string()];
            cells.extend((0..7).map(|i| cell(values.map(|v| v[i]), 3)));
            t.row(cells);
        }
    }
    out.push_str(&t.render(width));
}

/// LLM requests (`--openai`, `--dify`, `--body-template`) whose responses arrived but none as
/// an event stream: no token was measured, and the reader should know why.
pub fn no_stream_warning(r: &Report) -> Option<String> {
    let llm = r.config.llm.as_ref()?;
    let answered = r.total.requests.saturating_sub(r.total.failures);
    (r.total.stream.is_none() && llm.api != "none" && answered > 0).then(|| {
        format!(
            "{answered} responses to --{} requests arrived and none was an event stream \
             (Content-Type text/event-stream): no token, TTFT or ITL was measured. Does the \
             server stream this request? --stream reads every response as a stream.",
            match llm.api.as_str() {
                "openai" => "openai",
                "dify" => "dify",
                _ => "body-template",
            }
        )
    })
}

/// Where input tokens come from, when not all from the server: `; 3 of 4 streams counted by
/// the client (no prompt_tokens)`, `; 2 of 4 streams reported none`.
pub fn input_words(st: &StreamReport) -> String {
    let mut w = String::new();
    if st.input_tokens_counted_by_client > 0 {
        w.push_str(&format!(
            "; {} of {} streams counted by the client (the server sent no prompt_tokens)",
            st.input_tokens_counted_by_client, st.streams
        ));
    }
    if st.streams_with_input_tokens < st.streams {
        w.push_str(&format!(
            "; {} of {} streams have none",
            st.streams - st.streams_with_input_tokens,
            st.streams
        ));
    }
    w
}

/// The per-request metrics of a row, in display order: TTFOT only with reasoning streams,
/// input tokens only when the server reported them.
pub fn metrics<'a>(
    s: &'a StageReport,
    st: &'a StreamReport,
) -> Vec<(&'static str, &'a Percentiles)> {
    let mut m = vec![("TTFB", &s.ttfb_ms), ("TTFT", &st.ttft_ms)];
    if let Some(ttfot) = &st.ttfot_ms {
        m.push(("TTFOT", ttfot));
    }
    m.extend([
        ("ITL", &st.itl_ms),
        ("TPOT", &st.tpot_ms),
        ("tokens", &st.tokens_per_request),
        ("tokens/s", &st.tokens_per_s),
    ]);
    if st.streams_with_input_tokens > 0 {
        m.push(("in tok", &st.input_tokens_per_request));
    }
    m
}

/// How the requests were built, in words (never a key or a prompt).
pub fn request_words(llm: &crate::traffic::llm::LlmView) -> String {
    let api = match (llm.api.as_str(), &llm.model) {
        ("openai", Some(model)) => format!("OpenAI chat completions, model {model}"),
        ("dify", _) => "Dify chat-messages".into(),
        ("template", _) => "--body-template".into(),
        _ => "as given (-d)".into(),
    };
    let mut words = format!(
        "{api}; content: {}; {} prompt{}; {} API key{}",
        llm.content,
        llm.prompts,
        if llm.prompts == 1 { "" } else { "s" },
        llm.api_keys,
        if llm.api_keys == 1 { "" } else { "s" }
    );
    if let Some(n) = llm.max_tokens {
        words.push_str(&format!("; max tokens {n}"));
    }
    if let Some(t) = &llm.tokenizer {
        words.push_str(&format!("; tokenizer {t}"));
    }
    if llm.ignore_eos {
        words.push_str("; ignore_eos");
    }
    if let Some(n) = llm.system_prompt_tokens {
        words.push_str(&format!(
            "; a system prompt of {}",
            crate::parse::count_of(n, "token", "tokens")
        ));
    }
    if llm.stream_forced {
        words.push_str("; every response read as a stream (--stream)");
    }
    words
}

/// The workload in words: kind, prompts, input tokens and how they were counted, max_tokens.
pub fn dataset_words(d: &DatasetView) -> String {
    let lengths = |l: &Lengths| {
        if l.min == l.max {
            crate::parse::count_of(l.min, "token", "tokens")
        } else {
            format!("{}-{} tokens (mean {:.1})", l.min, l.max, l.mean)
        }
    };
    let mut words = d.kind.clone();
    if let Some(f) = &d.file {
        words.push_str(&format!(" {f}"));
    }
    words.push_str(&format!(
        ", {}",
        crate::parse::count_of(d.prompts as u64, "prompt", "prompts")
    ));
    if d.skipped > 0 {
        words.push_str(&format!(
            " ({} skipped)",
            crate::parse::count_of(d.skipped as u64, "conversation", "conversations")
        ));
    }
    words.push_str(&format!(
        "; input {}, {}",
        lengths(&d.input_tokens),
        match d.counted_by.as_str() {
            "tokenizer" => "by the tokenizer",
            _ => "estimated",
        }
    ));
    match &d.max_tokens {
        Some(m) if d.max_tokens_asked < d.prompts => words.push_str(&format!(
            "; max_tokens {} in {} of the prompts (the others none)",
            lengths(m),
            d.max_tokens_asked
        )),
        Some(m) => words.push_str(&format!("; max_tokens {}", lengths(m))),
        None => words.push_str("; no max_tokens"),
    }
    words
}

/// Where the token counts come from, in words.
pub fn token_source_words(st: &StreamReport) -> String {
    match st.token_source.as_str() {
        "usage" => "the server's usage (completion_tokens) in every stream".into(),
        "tokenizer" => "--tokenizer over the content text (the server sent no usage)".into(),
        "estimate" => "ESTIMATED from the content text (words and CJK characters; the server \
                       sent no usage: give --tokenizer for exact counts)"
            .into(),
        "mixed" => {
            let mut parts = Vec::new();
            for (n, what) in [
                (st.tokens_from_usage, "the server's usage"),
                (st.tokens_from_tokenizer, "--tokenizer"),
                (st.tokens_from_estimate, "an estimate from the text"),
            ] {
                if n > 0 {
                    parts.push(format!("{what} in {n} streams"));
                }
            }
            parts.join(", ")
        }
        other => other.into(),
    }
}
