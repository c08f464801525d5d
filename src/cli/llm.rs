//! The LLM flags of `run` (`--openai`, `--dify`, prompts, datasets, keys, token counting).

use std::path::PathBuf;

use clap::Args;

use crate::parse::parse_count;

/// LLM chat APIs and event streams (`text/event-stream` responses are always read event by
/// event; these flags build the requests and say where the content is).
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "LLM streaming")]
pub struct LlmArgs {
    /// Read every response as an event stream, whatever its Content-Type.
    #[arg(long)]
    pub stream: bool,

    /// POST an OpenAI-compatible chat completion for MODEL: the prompt as the user message,
    /// "stream": true and stream_options.include_usage; content is choices[0].delta.content.
    #[arg(long, value_name = "MODEL")]
    pub openai: Option<String>,

    /// POST a Dify chat-messages request (query, inputs {}, response_mode "streaming", user,
    /// conversation_id ""); content is the answer of message events.
    #[arg(long)]
    pub dify: bool,

    /// Request body for other APIs, or @FILE: {prompt} is replaced by the prompt, JSON-escaped
    /// (write "{prompt}" inside quotes), {max_tokens} by --max-tokens (or the dataset's),
    /// {system_prompt} by --system-prompt.
    #[arg(long, value_name = "TEMPLATE")]
    pub body_template: Option<String>,

    /// Where an event's content is in its JSON, e.g. choices.0.delta.content or data.text
    /// (events without it carry no token). Without it, events are guessed from the URL
    /// (/chat/completions: OpenAI, /chat-messages: Dify), else every event's data is content text.
    #[arg(long, value_name = "PATH")]
    pub content_path: Option<String>,

    /// Where the output token count is in an event's JSON, e.g. usage.completion_tokens.
    #[arg(long, value_name = "PATH", requires = "content_path")]
    pub usage_path: Option<String>,

    /// The prompt to send [default: a short fixed prompt].
    #[arg(long, value_name = "TEXT")]
    pub prompt: Option<String>,

    /// Prompts, one per line (UTF-8, blank lines skipped), used in turn across requests.
    #[arg(long, value_name = "FILE")]
    pub prompts: Option<PathBuf>,

    /// API key, sent as 'Authorization: Bearer KEY'; never printed or written to a report.
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,

    /// API keys, one per line ('Bearer x' or bare 'x'), used in turn across requests.
    #[arg(long, value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,

    /// Most output tokens per answer (max_tokens of the OpenAI body, {max_tokens} of a
    /// template).
    #[arg(long, value_name = "N", value_parser = parse_count, allow_negative_numbers = true)]
    pub max_tokens: Option<u64>,

    /// Count output tokens with this Hugging Face tokenizer.json (the model's own, a local
    /// file: nothing is downloaded) when the server sends no usage; without it, they are
    /// estimated from the text. Also makes --dataset random's input lengths exact.
    #[arg(long, value_name = "FILE")]
    pub tokenizer: Option<PathBuf>,

    /// Prompts from a workload instead of --prompt(s): 'random' (synthetic prompts of
    /// --input-len tokens), 'sharegpt FILE.json' (ShareGPT conversations: the first human turn
    /// is the prompt, the model's answer caps max_tokens) or 'jsonl FILE' ({"prompt": ...,
    /// "max_tokens": N} a line). Rendered into bodies before the run, used in turn.
    #[arg(long, num_args = 1..=2, value_names = ["KIND", "FILE"])]
    pub dataset: Option<Vec<String>>,

    /// --dataset random: input tokens per prompt (exact with --tokenizer, else estimated:
    /// that many plain English words).
    #[arg(long, value_name = "N", value_parser = parse_count, allow_negative_numbers = true)]
    pub input_len: Option<u64>,

    /// With --dataset: max_tokens of every prompt (random: drawn with --range-ratio; a file:
    /// overrides the file's own).
    #[arg(long, value_name = "N", value_parser = parse_count, allow_negative_numbers = true)]
    pub output_len: Option<u64>,

    /// --dataset random: draw each prompt's input and output lengths uniformly in
    /// [len x (1-R), len x (1+R)], 0 <= R < 1 [default: 0, every prompt the same length].
    #[arg(long, value_name = "R", allow_negative_numbers = true)]
    pub range_ratio: Option<f64>,

    /// With --dataset: how many distinct prompts to make or read (a file: the first N)
    /// [default: random 100, a file all]. The run's length is still -n / -z.
    #[arg(long, value_name = "N", value_parser = parse_count, allow_negative_numbers = true)]
    pub num_prompts: Option<u64>,

    /// Add "ignore_eos": true to OpenAI bodies (vLLM, SGLang): the server generates exactly
    /// max_tokens (give --max-tokens or --output-len).
    #[arg(long)]
    pub ignore_eos: bool,

    /// A system message before each prompt (OpenAI bodies; {system_prompt} of a
    /// --body-template). Dify's API has no place for one.
    #[arg(long, value_name = "TEXT")]
    pub system_prompt: Option<String>,

    /// Count the requests that meet every objective, as vLLM's goodput:
    /// 'ttft<200ms,tpot<50ms,e2el<2s' (ttft, tpot, e2el = the whole request; < below,
    /// <= at most). Reported per stage and in total; --fail-on takes goodput>N (requests/s)
    /// and goodput-ratio>0.95.
    #[arg(long, value_name = "SLOS")]
    pub goodput: Option<String>,
}
