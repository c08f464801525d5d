//! What an event of an LLM chat API means for token timing: content, usage, end, error
//! (OpenAI-compatible chat completions, Dify chat messages, or a `--content-path`).

use std::borrow::Cow;
use std::fmt;

use super::json_path::{JsonPath, JsonPathError, StrLeaf, U64Leaf, walk};
use super::sse::SseEvent;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};

/// What one event means for token timing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventInfo {
    /// Bytes of content text the event carries (answer and reasoning); the event "carries
    /// content" when this is > 0.
    pub content_bytes: usize,
    /// Of `content_bytes`, the bytes of reasoning text (`delta.reasoning_content` /
    /// `delta.reasoning` of reasoning models).
    pub reasoning_bytes: usize,
    /// Output tokens the server reports (`completion_tokens`) in this event.
    pub usage_tokens: Option<u64>,
    /// Input tokens the server reports (`prompt_tokens`) in this event.
    pub prompt_tokens: Option<u64>,
    /// Reasoning tokens among the output tokens the server reports
    /// (`completion_tokens_details.reasoning_tokens`) in this event.
    pub reasoning_tokens: Option<u64>,
    /// The event ends the stream normally (`[DONE]`, Dify `message_end`).
    pub done: bool,
    /// The event says the answer is finished (an OpenAI `finish_reason` such as `stop` or
    /// `length`): a body that then ends without `[DONE]` still holds the whole answer.
    pub finished: bool,
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

    /// The event carries answer text (content that is not reasoning).
    pub fn is_answer(&self) -> bool {
        self.content_bytes > self.reasoning_bytes
    }
}

/// Which part of the output a piece of content text belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// The answer (`delta.content`, `choices[0].text`, Dify `answer`, a `--content-path`, raw data).
    Answer,
    /// A reasoning model's thinking (`delta.reasoning_content`, `delta.reasoning`).
    Reasoning,
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
        self.inspect_text(event, &mut |_, _| {})
    }

    /// [`ContentFormat::inspect`], handing each piece of content text to `on_text` (for
    /// counting tokens when the server sends no usage).
    pub fn inspect_text(
        &self,
        event: &SseEvent<'_>,
        on_text: &mut dyn FnMut(TextKind, &str),
    ) -> EventInfo {
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
            ContentFormat::OpenAi => inspect_openai(data, &mut info, on_text),
            ContentFormat::Dify => inspect_dify(event, &mut info, on_text),
            ContentFormat::Path { content, usage } => {
                match walk(data, content, StrLeaf) {
                    Ok(text) => {
                        let text = text.unwrap_or_default();
                        info.content_bytes = text.len();
                        if !text.is_empty() {
                            on_text(TextKind::Answer, &text);
                        }
                    }
                    Err(()) => info.malformed = true,
                }
                if let Some(usage) = usage
                    && let Ok(tokens) = walk(data, usage, U64Leaf)
                {
                    info.usage_tokens = tokens;
                }
            }
            ContentFormat::Raw => {
                info.content_bytes = data.len();
                if !data.is_empty() {
                    on_text(TextKind::Answer, &String::from_utf8_lossy(data));
                }
            }
        }
        info
    }
}

/// A JSON string, borrowed from the event when it has no escapes; `null` and non-strings
/// read as empty.
#[derive(Debug, Clone, Default)]
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Text<'de>, E> {
                Ok(Text::default())
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Text<'de>, E> {
                Ok(Text::default())
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Text<'de>, E> {
                Ok(Text::default())
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Text<'de>, E> {
                Ok(Text::default())
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Text<'de>, E> {
                Ok(Text::default())
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Text<'de>, E> {
                Ok(Text::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text::default())
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Text<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text::default())
            }
        }
        d.deserialize_any(V)
    }
}

impl Text<'_> {
    /// Hand the text to `on_text` (when not empty) and return its length in bytes.
    fn emit(
        t: Option<&Text<'_>>,
        kind: TextKind,
        on_text: &mut dyn FnMut(TextKind, &str),
    ) -> usize {
        match t {
            Some(Text(s)) if !s.is_empty() => {
                on_text(kind, s);
                s.len()
            }
            _ => 0,
        }
    }
}

#[derive(Deserialize)]
struct OpenAiChunk<'a> {
    #[serde(default, borrow)]
    choices: Option<FirstChoice<'a>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<IgnoredAny>,
    #[serde(default, borrow)]
    object: Option<Cow<'a, str>>,
}

/// OpenAI `usage` (Dify's `metadata.usage` has the same names).
#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl Usage {
    fn fill(self, info: &mut EventInfo) {
        info.usage_tokens = self.completion_tokens;
        info.prompt_tokens = self.prompt_tokens;
        info.reasoning_tokens = self
            .completion_tokens_details
            .and_then(|d| d.reasoning_tokens);
    }
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
    #[serde(default, borrow)]
    text: Option<Text<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow)]
    content: Option<Text<'a>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Text<'a>>,
    #[serde(default, borrow)]
    reasoning: Option<Text<'a>>,
}

/// The first element of an array (the rest is skipped without being kept).
struct FirstChoice<'a>(Option<Choice<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for FirstChoice<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FirstChoice<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<FirstChoice<'de>, A::Error> {
                let first = seq.next_element::<Choice<'de>>()?;
                // Bounded by the input: each element consumes bytes.
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstChoice(first))
            }
        }
        d.deserialize_seq(V)
    }
}

fn inspect_openai(data: &[u8], info: &mut EventInfo, on_text: &mut dyn FnMut(TextKind, &str)) {
    let Ok(chunk) = serde_json::from_slice::<OpenAiChunk<'_>>(data) else {
        info.malformed = true;
        return;
    };
    if chunk.error.is_some() || chunk.object.as_deref() == Some("error") {
        info.error = true;
    }
    if let Some(usage) = chunk.usage {
        usage.fill(info);
    }
    if let Some(FirstChoice(Some(choice))) = chunk.choices {
        info.finished = choice.finish_reason.is_some_and(|r| !r.0.is_empty());
        if let Some(d) = &choice.delta {
            info.reasoning_bytes =
                Text::emit(d.reasoning_content.as_ref(), TextKind::Reasoning, on_text)
                    + Text::emit(d.reasoning.as_ref(), TextKind::Reasoning, on_text);
            info.content_bytes = Text::emit(d.content.as_ref(), TextKind::Answer, on_text);
        }
        info.content_bytes +=
            info.reasoning_bytes + Text::emit(choice.text.as_ref(), TextKind::Answer, on_text);
    }
}

#[derive(Deserialize)]
struct DifyEvent<'a> {
    #[serde(default, borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    answer: Option<Text<'a>>,
    #[serde(default)]
    metadata: Option<DifyMetadata>,
}

#[derive(Deserialize)]
struct DifyMetadata {
    #[serde(default)]
    usage: Option<Usage>,
}

fn inspect_dify(
    event: &SseEvent<'_>,
    info: &mut EventInfo,
    on_text: &mut dyn FnMut(TextKind, &str),
) {
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
            info.content_bytes = Text::emit(msg.answer.as_ref(), TextKind::Answer, on_text);
        }
        b"message_end" => {
            info.done = true;
            if let Some(usage) = msg.metadata.and_then(|m| m.usage) {
                usage.fill(info);
            }
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
        // The finish chunk: empty delta, `content: null`; the answer is finished.
        assert_eq!(
            inspect(
                &f,
                "",
                r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#
            ),
            EventInfo {
                finished: true,
                ..EventInfo::default()
            }
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
                prompt_tokens: Some(9),
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
            reasoning(3)
        );
        assert_eq!(
            inspect(&f, "", r#"{"choices":[{"delta":{"reasoning":"hm"}}]}"#),
            reasoning(2)
        );
        assert_eq!(
            inspect(&f, "", r#"{"choices":[{"text":"abcd","index":0}]}"#),
            content(4)
        );
    }

    fn reasoning(bytes: usize) -> EventInfo {
        EventInfo {
            content_bytes: bytes,
            reasoning_bytes: bytes,
            ..EventInfo::default()
        }
    }

    /// The texts `inspect_text` hands over, with their kinds.
    fn texts(format: &ContentFormat, data: &str) -> (EventInfo, Vec<(TextKind, String)>) {
        let mut seen = Vec::new();
        let info = format.inspect_text(
            &SseEvent {
                event: b"",
                data: data.as_bytes(),
                id: b"",
            },
            &mut |k, t| seen.push((k, t.to_string())),
        );
        (info, seen)
    }

    #[test]
    fn content_text_reasoning_and_usage_details() {
        let f = ContentFormat::OpenAi;
        // Escapes are decoded; answer and reasoning are told apart.
        let (info, seen) = texts(
            &f,
            r#"{"choices":[{"delta":{"reasoning_content":"hm\n","content":"a\u00e9"}}]}"#,
        );
        assert_eq!(
            seen,
            vec![
                (TextKind::Reasoning, "hm\n".to_string()),
                (TextKind::Answer, "aé".to_string())
            ]
        );
        assert_eq!((info.content_bytes, info.reasoning_bytes), (6, 3));
        assert!(info.is_answer());
        assert!(!reasoning(3).is_answer() && reasoning(3).is_content());
        let usage = r#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":30,"completion_tokens_details":{"reasoning_tokens":18}}}"#;
        let (info, seen) = texts(&f, usage);
        assert!(seen.is_empty());
        assert_eq!(
            (info.prompt_tokens, info.usage_tokens, info.reasoning_tokens),
            (Some(12), Some(30), Some(18))
        );
        let (_, seen) = texts(
            &ContentFormat::Dify,
            r#"{"event":"message","answer":"你好"}"#,
        );
        assert_eq!(seen, vec![(TextKind::Answer, "你好".to_string())]);
        let path = ContentFormat::path("a.b", None).unwrap();
        let (info, seen) = texts(&path, r#"{"a":{"b":"x y"}}"#);
        assert_eq!((info.content_bytes, seen.len()), (3, 1));
        let (_, seen) = texts(&ContentFormat::Raw, "raw words");
        assert_eq!(seen, vec![(TextKind::Answer, "raw words".to_string())]);
        // Text of the second choice is not the answer.
        let (_, seen) = texts(
            &f,
            r#"{"choices":[{"delta":{}},{"delta":{"content":"zz"}}]}"#,
        );
        assert!(seen.is_empty());
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
                prompt_tokens: Some(1033),
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
