//! What an event of an LLM chat API means for token timing: content, usage, end, error
//! (OpenAI-compatible chat completions, Dify chat messages, or a `--content-path`).

use std::borrow::Cow;
use std::fmt;

use super::json_path::{JsonPath, JsonPathError, LenientVisitor, StrLenLeaf, U64Leaf, walk};
use super::sse::SseEvent;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};

/// What one event means for token timing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventInfo {
    /// Bytes of content text the event carries; the event "carries content" when this is > 0.
    pub content_bytes: usize,
    /// Output tokens the server reports (`completion_tokens`) in this event.
    pub usage_tokens: Option<u64>,
    /// The event ends the stream normally (`[DONE]`, Dify `message_end`).
    pub done: bool,
    /// The event reports an error (`event: error`, an OpenAI `error` object, Dify `error`).
    pub error: bool,
    /// The event's data should have been JSON but was not (or not of the expected shape).
    pub malformed: bool,
}

impl EventInfo {
    /// The event carries (non-empty) content.
    pub fn is_content(&self) -> bool {
        self.content_bytes > 0
    }
}

/// Where the content of a streamed answer sits in its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentFormat {
    /// OpenAI-compatible chat completions (also vLLM, SGLang, TGI, llama.cpp, Ollama's `/v1`):
    /// content is `choices[0].delta.content` (or `delta.reasoning_content` / `delta.reasoning`
    /// of reasoning models, or `choices[0].text` of the legacy completions API); the output
    /// tokens are the last `usage.completion_tokens` seen; `data: [DONE]` ends the stream; a
    /// top-level `error` object (or `"object": "error"`) is an error.
    OpenAi,
    /// Dify `chat-messages` streaming: content is the `answer` of `message` and
    /// `agent_message` events (the type is the JSON `event` key, or else the SSE `event:`
    /// field); `message_end` ends the stream and carries `metadata.usage.completion_tokens`;
    /// an `error` event is an error.
    Dify,
    /// Any JSON API: the content is the string at `content`; output tokens are the integer at
    /// `usage` when given. `data: [DONE]` still ends the stream.
    Path {
        content: JsonPath,
        usage: Option<JsonPath>,
    },
    /// Not JSON: every event with non-empty data (other than `[DONE]`) is content.
    Raw,
}

impl ContentFormat {
    /// A [`ContentFormat::Path`] from `--content-path` (and an optional usage path).
    ///
    /// # Errors
    ///
    /// When `content` or `usage` is not a usable path (see [`JsonPath::parse`]).
    pub fn path(content: &str, usage: Option<&str>) -> Result<Self, JsonPathError> {
        Ok(ContentFormat::Path {
            content: JsonPath::parse(content)?,
            usage: usage.map(JsonPath::parse).transpose()?,
        })
    }

    /// The format names a terminating event (`[DONE]` or `message_end`), so an end of stream
    /// before it means the answer was cut short.
    pub fn has_terminator(&self) -> bool {
        matches!(self, ContentFormat::OpenAi | ContentFormat::Dify)
    }

    /// What `event` means. Never fails: data that is not what the format expects is
    /// reported as [`EventInfo::malformed`] and carries no content.
    pub fn inspect(&self, event: &SseEvent<'_>) -> EventInfo {
        let mut info = EventInfo {
            error: event.event == b"error",
            ..EventInfo::default()
        };
        let data = event.data;
        if data.trim_ascii() == b"[DONE]" {
            info.done = true;
            return info;
        }
        match self {
            ContentFormat::OpenAi => inspect_openai(data, &mut info),
            ContentFormat::Dify => inspect_dify(event, &mut info),
            ContentFormat::Path { content, usage } => {
                match walk(data, content, StrLenLeaf) {
                    Ok(len) => info.content_bytes = len.unwrap_or(0),
                    Err(()) => info.malformed = true,
                }
                if let Some(usage) = usage
                    && let Ok(tokens) = walk(data, usage, U64Leaf)
                {
                    info.usage_tokens = tokens;
                }
            }
            ContentFormat::Raw => info.content_bytes = data.len(),
        }
        info
    }
}

/// Length of a JSON string without keeping it; `null` and non-strings count as empty.
#[derive(Debug, Clone, Copy, Default)]
struct StrLen(usize);

impl<'de> Deserialize<'de> for StrLen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(StrLen(
            d.deserialize_any(LenientVisitor(StrLenLeaf))?.unwrap_or(0),
        ))
    }
}

#[derive(Deserialize)]
struct OpenAiChunk<'a> {
    #[serde(default)]
    choices: Option<FirstChoice>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<IgnoredAny>,
    #[serde(default, borrow)]
    object: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    completion_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    text: Option<StrLen>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<StrLen>,
    #[serde(default)]
    reasoning_content: Option<StrLen>,
    #[serde(default)]
    reasoning: Option<StrLen>,
}

/// The first element of an array (the rest is skipped without being kept).
struct FirstChoice(Option<Choice>);

impl<'de> Deserialize<'de> for FirstChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FirstChoice;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstChoice, A::Error> {
                let first = seq.next_element::<Choice>()?;
                // Bounded by the input: each element consumes bytes.
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstChoice(first))
            }
        }
        d.deserialize_seq(V)
    }
}

fn inspect_openai(data: &[u8], info: &mut EventInfo) {
    let Ok(chunk) = serde_json::from_slice::<OpenAiChunk<'_>>(data) else {
        info.malformed = true;
        return;
    };
    if chunk.error.is_some() || chunk.object.as_deref() == Some("error") {
        info.error = true;
    }
    if let Some(usage) = chunk.usage {
        info.usage_tokens = usage.completion_tokens;
    }
    if let Some(FirstChoice(Some(choice))) = chunk.choices {
        let len = |s: Option<StrLen>| s.map_or(0, |s| s.0);
        info.content_bytes = match choice.delta {
            Some(d) => len(d.content) + len(d.reasoning_content) + len(d.reasoning),
            None => 0,
        } + len(choice.text);
    }
}

#[derive(Deserialize)]
struct DifyEvent<'a> {
    #[serde(default, borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(default)]
    answer: Option<StrLen>,
    #[serde(default)]
    metadata: Option<DifyMetadata>,
}

#[derive(Deserialize)]
struct DifyMetadata {
    #[serde(default)]
    usage: Option<Usage>,
}

fn inspect_dify(event: &SseEvent<'_>, info: &mut EventInfo) {
    let Ok(msg) = serde_json::from_slice::<DifyEvent<'_>>(event.data) else {
        info.malformed = true;
        return;
    };
    let kind: &[u8] = match &msg.event {
        Some(kind) => kind.as_bytes(),
        None => event.event_type(),
    };
    match kind {
        b"message" | b"agent_message" => {
            info.content_bytes = msg.answer.map_or(0, |a| a.0);
        }
        b"message_end" => {
            info.done = true;
            info.usage_tokens = msg
                .metadata
                .and_then(|m| m.usage)
                .and_then(|u| u.completion_tokens);
        }
        b"error" => info.error = true,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // --- content extraction ------------------------------------------------------------------

    fn inspect(format: &ContentFormat, event: &str, data: &str) -> EventInfo {
        format.inspect(&SseEvent {
            event: event.as_bytes(),
            data: data.as_bytes(),
            id: b"",
        })
    }

    fn content(bytes: usize) -> EventInfo {
        EventInfo {
            content_bytes: bytes,
            ..EventInfo::default()
        }
    }

    #[test]
    fn openai_chunks() {
        let f = ContentFormat::OpenAi;
        // The role-only first chunk carries no content.
        let role = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}"#;
        assert_eq!(inspect(&f, "", role), EventInfo::default());
        let tok = r#"{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" Hello"},"finish_reason":null}]}"#;
        assert_eq!(inspect(&f, "", tok), content(6));
        // Escapes count as the text they stand for.
        let esc = r#"{"choices":[{"delta":{"content":"a\n\u00e9\"b"}}]}"#;
        assert_eq!(inspect(&f, "", esc), content("a\né\"b".len()));
        // The finish chunk: empty delta, `content: null`.
        assert_eq!(
            inspect(
                &f,
                "",
                r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#
            ),
            EventInfo::default()
        );
        assert_eq!(
            inspect(
                &f,
                "",
                r#"{"choices":[{"delta":{"content":null,"tool_calls":[{"index":0}]}}]}"#
            ),
            EventInfo::default()
        );
        // Usage chunk with empty choices.
        let usage = r#"{"id":"c1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":20,"total_tokens":29}}"#;
        assert_eq!(
            inspect(&f, "", usage),
            EventInfo {
                usage_tokens: Some(20),
                ..EventInfo::default()
            }
        );
        // vLLM continuous usage: content and usage in the same chunk.
        let both = r#"{"choices":[{"delta":{"content":"x"}}],"usage":{"completion_tokens":3}}"#;
        assert_eq!(
            inspect(&f, "", both),
            EventInfo {
                content_bytes: 1,
                usage_tokens: Some(3),
                ..EventInfo::default()
            }
        );
        // Only the first choice counts.
        assert_eq!(
            inspect(
                &f,
                "",
                r#"{"choices":[{"delta":{}},{"delta":{"content":"zz"}}]}"#
            ),
            EventInfo::default()
        );
        // Reasoning models and the legacy completions API.
        assert_eq!(
            inspect(
                &f,
                "",
                r#"{"choices":[{"delta":{"reasoning_content":"hmm"}}]}"#
            ),
            content(3)
        );
        assert_eq!(
            inspect(&f, "", r#"{"choices":[{"delta":{"reasoning":"hm"}}]}"#),
            content(2)
        );
        assert_eq!(
            inspect(&f, "", r#"{"choices":[{"text":"abcd","index":0}]}"#),
            content(4)
        );
    }

    #[test]
    fn openai_done_and_errors() {
        let f = ContentFormat::OpenAi;
        let done = EventInfo {
            done: true,
            ..EventInfo::default()
        };
        assert_eq!(inspect(&f, "", "[DONE]"), done);
        assert_eq!(inspect(&f, "", " [DONE] "), done);
        let error = EventInfo {
            error: true,
            ..EventInfo::default()
        };
        assert_eq!(
            inspect(
                &f,
                "",
                r#"{"error":{"message":"overloaded","type":"server_error","code":503}}"#
            ),
            error
        );
        assert_eq!(
            inspect(&f, "", r#"{"object":"error","message":"bad","code":400}"#),
            error
        );
        // `event: error` with any data.
        assert!(inspect(&f, "error", r#"{"message":"x"}"#).error);
        assert!(inspect(&f, "error", "not json").error);
        assert!(!inspect(&f, "", r#"{"error":null,"choices":[]}"#).error);
        // Not JSON / not an object.
        for bad in [
            "",
            "hello",
            "{\"choices\":",
            "[1,2]",
            "{\"choices\":[{\"delta\":{\"content\":5}}]} x",
        ] {
            let info = inspect(&f, "", bad);
            assert!(info.malformed, "{bad:?}");
            assert!(!info.is_content());
        }
        // A non-string content is not content, but not malformed either.
        assert_eq!(
            inspect(&f, "", r#"{"choices":[{"delta":{"content":5}}]}"#),
            EventInfo::default()
        );
    }

    #[test]
    fn dify_events() {
        let f = ContentFormat::Dify;
        let msg = r#"{"event": "message", "task_id": "t", "message_id": "m", "conversation_id": "c", "answer": " Hi", "created_at": 1705398420}"#;
        assert_eq!(inspect(&f, "", msg), content(3));
        assert_eq!(
            inspect(&f, "", r#"{"event":"agent_message","answer":"yo"}"#),
            content(2)
        );
        assert_eq!(
            inspect(&f, "", r#"{"event":"message","answer":""}"#),
            EventInfo::default()
        );
        let end = r#"{"event": "message_end", "id": "m", "metadata": {"usage": {"prompt_tokens": 1033, "completion_tokens": 135, "total_tokens": 1168, "latency": 1.38}, "retriever_resources": []}}"#;
        assert_eq!(
            inspect(&f, "", end),
            EventInfo {
                done: true,
                usage_tokens: Some(135),
                ..EventInfo::default()
            }
        );
        assert_eq!(
            inspect(&f, "", r#"{"event":"message_end"}"#),
            EventInfo {
                done: true,
                ..EventInfo::default()
            }
        );
        let err = r#"{"event": "error", "message_id": "m", "status": 400, "code": "invalid_param", "message": "bad"}"#;
        assert!(inspect(&f, "", err).error);
        // Other events carry nothing.
        for other in [
            r#"{"event":"workflow_started","data":{}}"#,
            r#"{"event":"message_replace","answer":"censored"}"#,
            r#"{"event":"tts_message","audio":"AAAA"}"#,
        ] {
            assert_eq!(inspect(&f, "", other), EventInfo::default(), "{other}");
        }
        // The type may come from the SSE `event:` field instead.
        assert_eq!(inspect(&f, "message", r#"{"answer":"abc"}"#), content(3));
        assert_eq!(inspect(&f, "", r#"{"answer":"abc"}"#), content(3));
        assert_eq!(
            inspect(&f, "ping", r#"{"answer":"abc"}"#),
            EventInfo::default()
        );
        assert!(inspect(&f, "", "garbage").malformed);
    }

    #[test]
    fn generic_paths() {
        let f = ContentFormat::path("choices.0.delta.content", None).unwrap();
        assert_eq!(
            inspect(&f, "", r#"{"choices":[{"delta":{"content":"abc"}}]}"#),
            content(3)
        );
        assert_eq!(
            inspect(
                &f,
                "",
                r#"{"x":1,"choices":[{"delta":{"role":"a"}}],"y":[1,{"z":2}]}"#
            ),
            EventInfo::default()
        );
        assert_eq!(inspect(&f, "", r#"{"choices":[]}"#), EventInfo::default());
        assert_eq!(
            inspect(&f, "", r#"{"choices":{"0":{"delta":{"content":"ab"}}}}"#),
            content(2)
        );
        assert_eq!(inspect(&f, "", r#"{"choices":"no"}"#), EventInfo::default());
        assert_eq!(
            inspect(&f, "", r#"{"choices":[{"delta":{"content":{"a":"b"}}}]}"#),
            EventInfo::default()
        );
        assert!(inspect(&f, "", r#"{"choices":[}"#).malformed);
        assert!(inspect(&f, "", r#"{"a":1} trailing"#).malformed);
        assert!(inspect(&f, "", "[DONE]").done);

        let f = ContentFormat::path("a.b", Some("meta.tokens")).unwrap();
        assert_eq!(inspect(&f, "", r#"{"a":{"b":"xy"}}"#), content(2));
        assert_eq!(
            inspect(&f, "", r#"{"a":{"b":"first"},"a":{"b":"second"}}"#),
            content(5)
        );
        assert_eq!(
            inspect(&f, "", r#"{"a":{"b":""},"meta":{"tokens":12}}"#),
            EventInfo {
                usage_tokens: Some(12),
                ..EventInfo::default()
            }
        );
        assert_eq!(
            inspect(&f, "", r#"{"meta":{"tokens":-1}}"#),
            EventInfo::default()
        );
        assert_eq!(
            inspect(&f, "", r#"{"a":{"b\u0000":"x"}}"#),
            EventInfo::default()
        );
        // Escaped keys still match.
        assert_eq!(inspect(&f, "", r#"{"\u0061":{"b":"x"}}"#), content(1));

        let f = ContentFormat::path("1", None).unwrap();
        assert_eq!(inspect(&f, "", r#"["a","bcd","e"]"#), content(3));
        assert_eq!(inspect(&f, "", r#"["a"]"#), EventInfo::default());
        assert_eq!(inspect(&f, "", r#""top""#), EventInfo::default());
    }

    #[test]
    fn raw_events() {
        let f = ContentFormat::Raw;
        assert_eq!(inspect(&f, "", "some text"), content(9));
        assert_eq!(inspect(&f, "", ""), EventInfo::default());
        assert!(inspect(&f, "", "[DONE]").done);
        assert!(!ContentFormat::Raw.has_terminator());
        assert!(ContentFormat::OpenAi.has_terminator() && ContentFormat::Dify.has_terminator());
    }
}
