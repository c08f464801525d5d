//! A chat answer on schedule: its tokens (words of a fixed text, reasoning words first), the
//! absolute schedule they are due on, and [`SseBody`], which sends one body frame per event
//! (`tokens_per_event` tokens) as each falls due.

use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::Frame;
use serde_json::{Value, json};

use super::conn::ConnTimes;
use super::timer::{Clock, Sleep};

/// Which API a chat route speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Api {
    OpenAi,
    Dify,
}

/// The answer text, one token per word (no characters that need JSON escaping).
const WORDS: [&str; 16] = [
    "The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ",", " and",
    " then", " it", " rests", " again", ".",
];

/// The reasoning text, one token per word (words only: nothing to escape, and none of
/// [`WORDS`], so a test tells the two apart).
const REASONING_WORDS: [&str; 16] = [
    "Let", " me", " think", " about", " what", " is", " asked", " here", " step", " by",
    " careful", " step", " before", " I", " reply", " now",
];

#[derive(Debug, Clone, Copy)]
pub(super) struct Usage {
    prompt: u64,
    completion: u32,
    /// Of `completion`, how many were reasoning (`completion_tokens_details` when not 0).
    reasoning: u32,
}

impl Usage {
    /// `prompt` tokens (qpsbench's estimate of the prompt text) and `completion` tokens, of
    /// which `reasoning` were reasoning.
    pub(super) fn new(prompt: u64, completion: u32, reasoning: u32) -> Usage {
        Usage {
            prompt,
            completion,
            reasoning,
        }
    }

    pub(super) fn json(self) -> String {
        let details = if self.reasoning > 0 {
            format!(
                ",\"completion_tokens_details\":{{\"reasoning_tokens\":{}}}",
                self.reasoning
            )
        } else {
            String::new()
        };
        format!(
            "{{\"prompt_tokens\":{},\"completion_tokens\":{},\"total_tokens\":{}{details}}}",
            self.prompt,
            self.completion,
            self.prompt + u64::from(self.completion)
        )
    }
}

/// Everything about one answer, decided when the request arrives.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) api: Api,
    /// Tokens in all, reasoning included.
    pub(super) tokens: u32,
    /// The first `reasoning` tokens (at most `tokens`) are reasoning: OpenAI's
    /// `delta.reasoning_content`, [`REASONING_WORDS`]. Always 0 for Dify.
    pub(super) reasoning: u32,
    /// Tokens per event (at least 1); an event never mixes reasoning and answer tokens, so the
    /// last of each may carry fewer.
    pub(super) per_event: u32,
    pub(super) finish_reason: &'static str,
    pub(super) usage: Option<Usage>,
    pub(super) cut_after: Option<u32>,
    pub(super) error_after: Option<u32>,
    pub(super) id: u64,
    pub(super) created: u64,
    /// The model name as a JSON string (quoted, escaped).
    pub(super) model_json: String,
    pub(super) conversation_json: String,
    pub(super) schedule: Schedule,
}

/// When each token of an answer is due: token `i` at `arrival + first_token + i * interval`,
/// plus a uniform random `[0, jitter]` added to every step (so the jitter accumulates, and the
/// schedule never drifts otherwise).
#[derive(Debug, Clone, Copy)]
pub(super) struct Schedule {
    /// When the request arrived: its head's receive time (see `conn.rs`), before its body was
    /// read.
    pub(super) arrival: Instant,
    pub(super) first_token: Duration,
    pub(super) interval: Duration,
    pub(super) jitter: Duration,
}

impl Schedule {
    /// Walk the schedule from token 0.
    pub(super) fn walk(self) -> Walk {
        Walk {
            index: 0,
            due: self.arrival + self.first_token + random_upto(self.jitter),
            schedule: self,
        }
    }
}

/// The due time of one token of a [`Schedule`], moved forward token by token (each step draws
/// its jitter once).
#[derive(Debug)]
pub(super) struct Walk {
    schedule: Schedule,
    /// The token `due` is for.
    index: u32,
    due: Instant,
}

impl Walk {
    /// When token `i` is due; `i` may not be lower than in an earlier call.
    pub(super) fn due(&mut self, i: u32) -> Instant {
        debug_assert!(i >= self.index, "the schedule is walked forward only");
        while self.index < i {
            self.index += 1;
            self.due += self.schedule.interval + random_upto(self.schedule.jitter);
        }
        self.due
    }
}

impl Plan {
    /// How many tokens the event that starts at token `sent` carries (0 when all are sent).
    pub(super) fn event_len(&self, sent: u32) -> u32 {
        let part_end = if sent < self.reasoning {
            self.reasoning
        } else {
            self.tokens
        };
        part_end.saturating_sub(sent).min(self.per_event)
    }

    /// The text of tokens `from..to` (reasoning words for the first [`Plan::reasoning`], then
    /// the answer's words from the start of [`WORDS`]).
    pub(super) fn text(&self, from: u32, to: u32) -> String {
        (from..to)
            .map(|i| match i.checked_sub(self.reasoning) {
                None => REASONING_WORDS[i as usize % REASONING_WORDS.len()],
                Some(j) => WORDS[j as usize % WORDS.len()],
            })
            .collect()
    }

    /// The `data:` line of the event of tokens `from..to` (all reasoning or all answer).
    fn token_event(&self, from: u32, to: u32) -> String {
        let text = self.text(from, to);
        match self.api {
            Api::OpenAi => {
                let field = if from < self.reasoning {
                    "reasoning_content"
                } else {
                    "content"
                };
                let delta = if from == 0 {
                    format!("{{\"role\":\"assistant\",\"{field}\":\"{text}\"}}")
                } else {
                    format!("{{\"{field}\":\"{text}\"}}")
                };
                self.openai_chunk(&format!(
                    "[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":null}}]"
                ))
            }
            Api::Dify => format!(
                "data: {{\"event\":\"message\",\"task_id\":\"task-{id}\",\"id\":\"msg-{id}\",\"message_id\":\"msg-{id}\",\"conversation_id\":{conv},\"answer\":\"{text}\",\"created_at\":{created}}}\n\n",
                id = self.id,
                conv = self.conversation_json,
                created = self.created,
            ),
        }
    }

    /// `data: {chat.completion.chunk with these choices}\n\n`.
    fn openai_chunk(&self, choices: &str) -> String {
        format!(
            "data: {{\"id\":\"chatcmpl-{}\",\"object\":\"chat.completion.chunk\",\"created\":{},\"model\":{},\"choices\":{choices}{}}}\n\n",
            self.id,
            self.created,
            self.model_json,
            if self.usage.is_some() {
                ",\"usage\":null"
            } else {
                ""
            },
        )
    }

    /// The events after the last token.
    fn end_events(&self) -> String {
        match self.api {
            Api::OpenAi => {
                let mut s = self.openai_chunk(&format!(
                    "[{{\"index\":0,\"delta\":{{}},\"logprobs\":null,\"finish_reason\":\"{}\"}}]",
                    self.finish_reason
                ));
                if let Some(usage) = self.usage {
                    s.push_str(&format!(
                        "data: {{\"id\":\"chatcmpl-{}\",\"object\":\"chat.completion.chunk\",\"created\":{},\"model\":{},\"choices\":[],\"usage\":{}}}\n\n",
                        self.id,
                        self.created,
                        self.model_json,
                        usage.json()
                    ));
                }
                s.push_str("data: [DONE]\n\n");
                s
            }
            Api::Dify => format!(
                "data: {{\"event\":\"message_end\",\"task_id\":\"task-{id}\",\"id\":\"msg-{id}\",\"message_id\":\"msg-{id}\",\"conversation_id\":{conv},\"metadata\":{{{usage}}},\"created_at\":{created}}}\n\n",
                id = self.id,
                conv = self.conversation_json,
                created = self.created,
                usage = self
                    .usage
                    .map(|u| format!("\"usage\":{}", u.json()))
                    .unwrap_or_default(),
            ),
        }
    }

    /// The error event (and, for OpenAI, the `[DONE]` after it).
    fn error_events(&self) -> String {
        match self.api {
            Api::OpenAi => "data: {\"error\":{\"message\":\"simulated failure (error_after)\",\"type\":\"server_error\",\"code\":500}}\n\ndata: [DONE]\n\n".into(),
            Api::Dify => format!(
                "data: {{\"event\":\"error\",\"task_id\":\"task-{id}\",\"message_id\":\"msg-{id}\",\"status\":500,\"code\":\"internal_error\",\"message\":\"simulated failure (error_after)\"}}\n\n",
                id = self.id
            ),
        }
    }

    /// The whole answer as one JSON body.
    pub(super) fn blocking_answer(&self) -> Vec<u8> {
        let text = self.text(self.reasoning, self.tokens);
        let usage = self
            .usage
            .map(|u| serde_json::from_str::<Value>(&u.json()).unwrap_or(Value::Null));
        let conversation: Value =
            serde_json::from_str(&self.conversation_json).unwrap_or(Value::Null);
        let model: Value = serde_json::from_str(&self.model_json).unwrap_or(Value::Null);
        let mut v = match self.api {
            Api::OpenAi => json!({
                "id": format!("chatcmpl-{}", self.id),
                "object": "chat.completion",
                "created": self.created,
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "logprobs": null,
                    "finish_reason": self.finish_reason,
                }],
            }),
            Api::Dify => json!({
                "event": "message",
                "task_id": format!("task-{}", self.id),
                "id": format!("msg-{}", self.id),
                "message_id": format!("msg-{}", self.id),
                "conversation_id": conversation,
                "mode": "chat",
                "answer": text,
                "metadata": {},
                "created_at": self.created,
            }),
        };
        if self.reasoning > 0 {
            v["choices"][0]["message"]["reasoning_content"] =
                Value::String(self.text(0, self.reasoning));
        }
        if let Some(usage) = usage {
            match self.api {
                Api::OpenAi => v["usage"] = usage,
                Api::Dify => v["metadata"]["usage"] = usage,
            }
        }
        let mut bytes = v.to_string().into_bytes();
        bytes.push(b'\n');
        bytes
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing sent yet (Dify sends its ping first).
    Start,
    /// Waiting for the next token (or the cut / error that replaces it).
    Tokens,
    /// Everything sent.
    Ended,
}

/// A token event on its way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flush {
    /// Returned to hyper, which has not written it yet.
    Handed,
    /// One Pending returned since, on which hyper wrote it.
    Flushing,
    /// Written and accounted for (or nothing sent yet).
    Done,
}

/// A streaming answer: one body frame per event, on schedule.
pub(super) struct SseBody {
    plan: Plan,
    phase: Phase,
    /// Tokens sent so far.
    sent: u32,
    /// Where the last token event is on its way to the socket.
    flush: Flush,
    /// When the last token event was handed to hyper.
    handed: Instant,
    /// The connection's times: when hyper last wrote to its socket.
    conn: Arc<ConnTimes>,
    /// The tokens' due times.
    walk: Walk,
    /// Sleeps until the next event is due (on the server's timer thread).
    sleep: Sleep,
}

impl SseBody {
    pub(super) fn new(plan: Plan, clock: &Clock, conn: Arc<ConnTimes>) -> SseBody {
        let mut walk = plan.schedule.walk();
        let sleep = clock.sleep_until(walk.due(0));
        SseBody {
            plan,
            phase: Phase::Start,
            sent: 0,
            flush: Flush::Done,
            handed: Instant::now(),
            conn,
            walk,
            sleep,
        }
    }

    pub(super) fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let data = |s: String| Poll::Ready(Some(Ok(Frame::data(Bytes::from(s)))));
        match self.phase {
            Phase::Ended => Poll::Ready(None),
            Phase::Start => {
                self.phase = Phase::Tokens;
                match self.plan.api {
                    Api::Dify => data("event: ping\n\n".into()),
                    Api::OpenAi => self.poll_frame(cx),
                }
            }
            Phase::Tokens => {
                let plan = &self.plan;
                let len = plan.event_len(self.sent);
                let at_end = len == 0;
                // A cut or an error replaces the first event that would take the answer past
                // its count (so with several tokens per event it comes after the last whole
                // event within the count), or comes after the end when the count is all.
                let stops_here = |n: Option<u32>| n.is_some_and(|n| n < self.sent + len.max(1));
                let cut = stops_here(plan.cut_after);
                let error = stops_here(plan.error_after);
                if at_end && !cut && !error && self.sent > 0 {
                    // The end follows the last token at once.
                    self.phase = Phase::Ended;
                    return data(plan.end_events());
                }
                match self.flush {
                    Flush::Handed => {
                        // A token event was just handed to hyper, which writes it to the socket
                        // when this body returns Pending: let it, before anything else
                        // (registering the next deadline may wake the timer thread, which must
                        // not delay the write; and a cut drops what is not yet written, so the
                        // answer has exactly `cut_after` tokens even when the cut is due at
                        // once).
                        self.flush = Flush::Flushing;
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    Flush::Flushing => {
                        // hyper has written it: tell the timer how late that was (by the
                        // socket's last write, when it came after the event was handed over).
                        self.flush = Flush::Done;
                        let written = self
                            .conn
                            .written()
                            .filter(|&w| w >= self.handed)
                            .unwrap_or_else(Instant::now);
                        self.sleep.written(written);
                    }
                    Flush::Done => {}
                }
                // An event goes when its last token is due; a cut, an error or an empty answer
                // when the next token would have been.
                let due = if at_end || cut || error {
                    self.walk.due(self.sent)
                } else {
                    self.walk.due(self.sent + len - 1)
                };
                self.sleep.reset(due);
                if self.sleep.poll_due(cx).is_pending() {
                    return Poll::Pending;
                }
                if cut {
                    self.phase = Phase::Ended;
                    return Poll::Ready(Some(Err(io::Error::other(
                        "stream cut on purpose (cut_after)",
                    ))));
                }
                if error {
                    self.phase = Phase::Ended;
                    return data(plan.error_events());
                }
                if at_end {
                    self.phase = Phase::Ended;
                    return data(plan.end_events());
                }
                let event = plan.token_event(self.sent, self.sent + len);
                self.sent += len;
                self.flush = Flush::Handed;
                self.handed = Instant::now();
                data(event)
            }
        }
    }
}

impl std::fmt::Debug for SseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseBody")
            .field("phase", &self.phase)
            .field("sent", &self.sent)
            .field("tokens", &self.plan.tokens)
            .finish()
    }
}

pub(super) fn random_upto(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(0..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::timer::Timer;

    fn plan(api: Api, tokens: u32, reasoning: u32, per_event: u32) -> Plan {
        Plan {
            api,
            tokens,
            reasoning,
            per_event,
            finish_reason: "stop",
            usage: Some(Usage::new(4, tokens, reasoning)),
            cut_after: None,
            error_after: None,
            id: 7,
            created: 1,
            model_json: "\"m\"".into(),
            conversation_json: "\"c\"".into(),
            schedule: Schedule {
                arrival: Instant::now(),
                first_token: Duration::ZERO,
                interval: Duration::ZERO,
                jitter: Duration::ZERO,
            },
        }
    }

    /// The (from, to) token ranges of the plan's events, in order.
    fn events(p: &Plan) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        let mut sent = 0;
        loop {
            let len = p.event_len(sent);
            if len == 0 {
                return out;
            }
            out.push((sent, sent + len));
            sent += len;
        }
    }

    /// Every frame of a streamed answer with no delays: the `data:` payloads as JSON (`[DONE]`
    /// as a string), and whether the stream ended cut.
    fn run(p: Plan) -> (Vec<Value>, bool) {
        let timer = Timer::start().unwrap();
        let mut body = SseBody::new(p, &timer.clock(), Arc::default());
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut text = String::new();
        let mut cut = false;
        for _ in 0..10_000 {
            match body.poll_frame(&mut cx) {
                Poll::Pending => {}
                Poll::Ready(None) => break,
                Poll::Ready(Some(Err(_))) => {
                    cut = true;
                    break;
                }
                Poll::Ready(Some(Ok(frame))) => {
                    text.push_str(std::str::from_utf8(frame.data_ref().unwrap()).unwrap());
                }
            }
        }
        let data = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).unwrap_or_else(|_| Value::String(d.into())))
            .collect();
        (data, cut)
    }

    /// The delta fields of each token chunk of an OpenAI stream: (field, text).
    fn deltas(data: &[Value]) -> Vec<(String, String)> {
        data.iter()
            .filter_map(|v| v.pointer("/choices/0/delta")?.as_object())
            .flat_map(|d| {
                d.iter()
                    .filter(|(k, _)| k.as_str() != "role")
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            })
            .collect()
    }

    #[test]
    fn tokens_are_grouped_per_event_and_the_last_event_carries_the_rest() {
        let p = plan(Api::OpenAi, 5, 0, 2);
        assert_eq!(events(&p), [(0, 2), (2, 4), (4, 5)]);
        assert_eq!(p.text(0, 2), "The quick");
        assert_eq!(p.text(2, 4), " brown fox");
        assert_eq!(p.text(4, 5), " jumps");
        assert_eq!(events(&plan(Api::OpenAi, 6, 0, 3)), [(0, 3), (3, 6)]);
        assert_eq!(events(&plan(Api::OpenAi, 2, 0, 50)), [(0, 2)]);
        assert_eq!(events(&plan(Api::OpenAi, 0, 0, 1)), []);
        let (data, cut) = run(plan(Api::OpenAi, 5, 0, 2));
        assert!(!cut);
        assert_eq!(
            deltas(&data),
            [
                ("content".into(), "The quick".into()),
                ("content".into(), " brown fox".into()),
                ("content".into(), " jumps".into()),
            ]
        );
        // Dify: the same words in `answer`.
        let (data, _) = run(plan(Api::Dify, 5, 0, 2));
        let answers: Vec<&str> = data
            .iter()
            .filter(|v| v["event"] == "message")
            .map(|v| v["answer"].as_str().unwrap())
            .collect();
        assert_eq!(answers, ["The quick", " brown fox", " jumps"]);
    }

    #[test]
    fn reasoning_comes_first_in_its_own_events_and_is_counted_in_the_usage() {
        let p = plan(Api::OpenAi, 7, 3, 2);
        // Events never mix the two: the reasoning's last event carries the one left.
        assert_eq!(events(&p), [(0, 2), (2, 3), (3, 5), (5, 7)]);
        let (data, _) = run(p);
        assert_eq!(
            deltas(&data),
            [
                ("reasoning_content".into(), "Let me".into()),
                ("reasoning_content".into(), " think".into()),
                ("content".into(), "The quick".into()),
                ("content".into(), " brown fox".into()),
            ]
        );
        assert_eq!(data[0]["choices"][0]["delta"]["role"], "assistant");
        let usage = data
            .iter()
            .find_map(|v| v.get("usage")?.as_object())
            .unwrap();
        assert_eq!(usage["completion_tokens"], 7);
        assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 3);
        // Without reasoning the usage has no details.
        assert_eq!(
            Usage::new(1, 2, 0).json(),
            r#"{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}"#
        );
        // The JSON answer carries both texts.
        let v: Value =
            serde_json::from_slice(&plan(Api::OpenAi, 5, 3, 1).blocking_answer()).unwrap();
        let message = &v["choices"][0]["message"];
        assert_eq!(message["reasoning_content"], "Let me think");
        assert_eq!(message["content"], "The quick");
        assert_eq!(
            v["usage"]["completion_tokens_details"]["reasoning_tokens"],
            3
        );
        let v: Value =
            serde_json::from_slice(&plan(Api::OpenAi, 2, 0, 1).blocking_answer()).unwrap();
        assert!(
            v["choices"][0]["message"]
                .get("reasoning_content")
                .is_none()
        );
    }

    #[test]
    fn cuts_and_errors_count_tokens_and_round_down_to_whole_events() {
        let with = |cut: Option<u32>, error: Option<u32>| {
            let mut p = plan(Api::OpenAi, 10, 0, 3);
            p.cut_after = cut;
            p.error_after = error;
            let (data, cut) = run(p);
            let texts: Vec<String> = deltas(&data).into_iter().map(|(_, t)| t).collect();
            let error = data.iter().any(|v| v.get("error").is_some());
            (texts.len(), texts.concat(), cut, error)
        };
        // 7 tokens: events 0..3 and 3..6; 6..9 would pass 7, so the cut comes instead.
        let (events, text, cut, _) = with(Some(7), None);
        assert_eq!((events, cut), (2, true));
        assert_eq!(text, "The quick brown fox jumps over");
        // On an event's end: exactly that many.
        assert_eq!(with(Some(6), None).0, 2);
        assert_eq!(with(None, Some(6)).0, 2);
        assert!(with(None, Some(6)).3);
        // Fewer than one event: nothing.
        assert_eq!(with(Some(2), None).0, 0);
        // All the tokens: every event (3, 3, 3, 1), then the cut instead of the end.
        let (events, _, cut, _) = with(Some(10), None);
        assert_eq!((events, cut), (4, true));
    }
}
