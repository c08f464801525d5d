//! LLM chat requests: one pre-rendered body per prompt (so the hot path formats no JSON) and the
//! API keys, used in turn across requests, and how the event stream is read. Keys are never
//! shown: only their number is.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::json;
use ureq::http::HeaderValue;

use crate::error::UsageError;
use crate::error::bad;
use crate::stream::{ContentFormat, Tokenizer};
use crate::traffic::dataset::DatasetView;

/// The prompt sent when neither `--prompt` nor `--prompts` is given.
pub const DEFAULT_PROMPT: &str = "Write a short poem about load testing.";

/// The `user` of Dify requests.
pub const DIFY_USER: &str = "qpsbench";

/// How responses are read as event streams.
#[derive(Debug, Clone)]
pub struct StreamSetup {
    /// `--stream`: every response is read as an event stream, not only `text/event-stream`.
    pub forced: bool,
    /// Where the content of an event is.
    pub format: ContentFormat,
    /// `--tokenizer`: counts the output tokens of answers that come without usage.
    pub tokenizer: Option<Arc<Tokenizer>>,
}

/// Bodies and keys that change from request to request (more than one prompt or key).
#[derive(Debug)]
pub struct Rotation {
    bodies: Vec<Arc<[u8]>>,
    /// The input tokens of each body's prompt, as the client counts them (see
    /// [`LlmSetup::prompt_tokens`]); empty when not counted.
    prompt_tokens: Vec<u32>,
    keys: Vec<HeaderValue>,
    next: AtomicU64,
}

/// The next request's turn: its body, key and prompt tokens (`None` where nothing changes).
pub type Turn<'a> = (Option<&'a Arc<[u8]>>, Option<&'a HeaderValue>, Option<u32>);

impl Rotation {
    /// Bodies (one per prompt, with their prompts' tokens) and `Authorization` values used in
    /// turn, from the first.
    pub fn new(bodies: Vec<Arc<[u8]>>, prompt_tokens: Vec<u32>, keys: Vec<HeaderValue>) -> Self {
        Rotation {
            bodies,
            prompt_tokens,
            keys,
            next: AtomicU64::new(0),
        }
    }

    /// The body, `Authorization` value and prompt tokens of the next request (each `None` when
    /// it does not change: the target's own is used).
    pub fn next(&self) -> Turn<'_> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let pick = |len: usize| (n % len as u64) as usize;
        let body = (self.bodies.len() > 1).then(|| &self.bodies[pick(self.bodies.len())]);
        let tokens = (self.prompt_tokens.len() > 1)
            .then(|| self.prompt_tokens[pick(self.prompt_tokens.len())]);
        let key = (self.keys.len() > 1).then(|| &self.keys[pick(self.keys.len())]);
        (body, key, tokens)
    }
}

/// What the LLM flags describe, as reports show it (no key, no prompt text).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LlmView {
    /// "openai", "dify", "template" or "none" (the request is `-d` / no body).
    pub api: String,
    /// `--openai MODEL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Where content is read: "openai", "dify", "path `<p>`" or "raw" (every event's data is content).
    pub content: String,
    /// `--stream`: every response read as an event stream.
    pub stream_forced: bool,
    /// Prompts used in turn.
    pub prompts: usize,
    /// API keys used in turn (the keys themselves are never written).
    pub api_keys: usize,
    /// `--max-tokens`: the most output tokens asked per answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// `--tokenizer`: the file name of the tokenizer that counts tokens without usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<String>,
    /// `--dataset`: the workload the prompts came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<DatasetView>,
    /// `--ignore-eos`: the bodies ask the server to generate all max_tokens.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_eos: bool,
    /// `--system-prompt`: its tokens (counted as the dataset's are), sent before each prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt_tokens: Option<u64>,
}

/// Everything the LLM flags decided.
#[derive(Debug, Clone)]
pub struct LlmSetup {
    pub stream: StreamSetup,
    /// The input tokens of the (first) body's prompt as the client counts them (`--tokenizer`,
    /// else the estimate; the system prompt included): a stream whose server reports no
    /// `prompt_tokens` is given this count, as vLLM's `bench serve` counts its prompts.
    pub prompt_tokens: Option<u32>,
    /// Per-request bodies or keys, when there is more than one of either.
    pub rotation: Option<Arc<Rotation>>,
    /// Shown in the report when any LLM flag was given.
    pub view: Option<LlmView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    OpenAi,
    Dify,
    Template,
}

/// The content format an event stream from this URL path most likely has.
pub fn guess_format(path: &str) -> ContentFormat {
    if path.ends_with("/chat/completions") || path.ends_with("/completions") {
        ContentFormat::OpenAi
    } else if path.ends_with("/chat-messages") || path.ends_with("/completion-messages") {
        ContentFormat::Dify
    } else {
        ContentFormat::Raw
    }
}

pub fn describe(format: &ContentFormat) -> String {
    match format {
        ContentFormat::OpenAi => "openai".into(),
        ContentFormat::Dify => "dify".into(),
        ContentFormat::Path { content, usage } => match usage {
            Some(u) => format!("path {content} (usage {u})"),
            None => format!("path {content}"),
        },
        ContentFormat::Raw => "raw".into(),
    }
}

/// The prompts of a `--prompts` file's text (`name` only names it in messages): one per line,
/// blank lines skipped.
///
/// # Errors
///
/// When every line is blank; the message names the file.
pub fn parse_prompts(name: &str, text: &str) -> Result<Vec<String>, UsageError> {
    let list: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    if list.is_empty() {
        return bad(format!(
            "--prompts {name}: the file has no prompts (one per line; blank lines are skipped)"
        ));
    }
    Ok(list)
}

/// The keys of an `--api-key-file`'s text (`name` only names it in messages): one per line,
/// `Bearer x` or `x`, blank lines skipped. Errors name the line, never the key.
///
/// # Errors
///
/// When a key has characters a header cannot carry (control characters other than tab), or
/// every line is blank.
pub fn parse_api_keys(name: &str, text: &str) -> Result<Vec<HeaderValue>, UsageError> {
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match bearer(line) {
            None => {}
            Some(Ok(v)) => keys.push(v),
            Some(Err(())) => {
                return bad(format!(
                    "--api-key-file {name} line {}: the key has characters a header cannot carry",
                    i + 1
                ));
            }
        }
    }
    if keys.is_empty() {
        return bad(format!(
            "--api-key-file {name}: the file has no keys (one per line, 'Bearer x' or 'x')"
        ));
    }
    Ok(keys)
}

/// `Bearer x` or `x` into the header value `Bearer x`; `None` for a blank line.
///
/// # Errors
///
/// `Some(Err(()))` when the key has characters a header cannot carry (control characters
/// other than tab).
pub fn bearer(line: &str) -> Option<Result<HeaderValue, ()>> {
    let line = line.trim();
    let key = match line.split_once(char::is_whitespace) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => line,
    };
    if key.is_empty() {
        return None;
    }
    Some(
        HeaderValue::from_str(&format!("Bearer {key}"))
            .map(|mut v| {
                v.set_sensitive(true);
                v
            })
            .map_err(|_| ()),
    )
}

/// A JSON string's inside: `text` escaped, without its quotes.
fn escaped(text: &str) -> String {
    let quoted = serde_json::Value::from(text).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// The template with `{prompt}` replaced by the JSON-escaped prompt (no quotes added),
/// `{system_prompt}` by the JSON-escaped system prompt when there is one, and `{max_tokens}` by
/// the number.
pub fn render(
    template: &str,
    system: Option<&str>,
    prompt: &str,
    max_tokens: Option<u64>,
) -> Vec<u8> {
    let mut out = template.replace("{prompt}", &escaped(prompt));
    if let Some(s) = system {
        out = out.replace("{system_prompt}", &escaped(s));
    }
    if let Some(n) = max_tokens {
        out = out.replace("{max_tokens}", &n.to_string());
    }
    out.into_bytes()
}

/// What every OpenAI body of a run shares.
#[derive(Debug, Clone, Copy)]
pub struct OpenAiBody<'a> {
    pub model: &'a str,
    /// `--system-prompt`: a system message before the user's.
    pub system: Option<&'a str>,
    /// `--ignore-eos`: `"ignore_eos": true` (vLLM, SGLang).
    pub ignore_eos: bool,
}

impl OpenAiBody<'_> {
    pub fn render(&self, prompt: &str, max_tokens: Option<u64>) -> Vec<u8> {
        let mut messages = Vec::with_capacity(2);
        if let Some(s) = self.system {
            messages.push(json!({"role": "system", "content": s}));
        }
        messages.push(json!({"role": "user", "content": prompt}));
        let mut v = json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        if let Some(n) = max_tokens {
            v["max_tokens"] = n.into();
        }
        if self.ignore_eos {
            v["ignore_eos"] = true.into();
        }
        v.to_string().into_bytes()
    }
}

pub fn dify_body(prompt: &str) -> Vec<u8> {
    json!({
        "inputs": {},
        "query": prompt,
        "response_mode": "streaming",
        "conversation_id": "",
        "user": DIFY_USER,
    })
    .to_string()
    .into_bytes()
}
