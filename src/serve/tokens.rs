//! A chat answer on schedule: its tokens (words of a fixed text), the absolute schedule they are
//! due on, and [`SseBody`], which sends one body frame per token as each falls due.

use std::io;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::Frame;
use serde_json::{Value, json};

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

#[derive(Debug, Clone, Copy)]
pub(super) struct Usage {
    prompt: u64,
    completion: u32,
}

impl Usage {
    /// `prompt` tokens (qpsbench's estimate of the prompt text) and `completion` tokens.
    pub(super) fn new(prompt: u64, completion: u32) -> Usage {
        Usage { prompt, completion }
    }

    pub(super) fn json(self) -> String {
        format!(
            "{{\"prompt_tokens\":{},\"completion_tokens\":{},\"total_tokens\":{}}}",
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
    pub(super) tokens: u32,
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
    /// The `data:` line of token `i`.
    fn token_event(&self, i: u32) -> String {
        let word = WORDS[i as usize % WORDS.len()];
        match self.api {
            Api::OpenAi => {
                let delta = if i == 0 {
                    format!("{{\"role\":\"assistant\",\"content\":\"{word}\"}}")
                } else {
                    format!("{{\"content\":\"{word}\"}}")
                };
                self.openai_chunk(&format!(
                    "[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":null}}]"
                ))
            }
            Api::Dify => format!(
                "data: {{\"event\":\"message\",\"task_id\":\"task-{id}\",\"id\":\"msg-{id}\",\"message_id\":\"msg-{id}\",\"conversation_id\":{conv},\"answer\":\"{word}\",\"created_at\":{created}}}\n\n",
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
        let text: String = (0..self.tokens)
            .map(|i| WORDS[i as usize % WORDS.len()])
            .collect();
        let usage = self.usage.map(|u| {
            json!({
                "prompt_tokens": u.prompt,
                "completion_tokens": u.completion,
                "total_tokens": u.prompt + u64::from(u.completion),
            })
        });
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

/// A streaming answer: one body frame per token, on schedule.
pub(super) struct SseBody {
    plan: Plan,
    phase: Phase,
    /// Tokens sent so far.
    sent: u32,
    /// Where the last token event is on its way to the socket.
    flush: Flush,
    /// The tokens' due times.
    walk: Walk,
    /// Sleeps until the next event is due (on the server's timer thread).
    sleep: Sleep,
}

impl SseBody {
    pub(super) fn new(plan: Plan, clock: &Clock) -> SseBody {
        let mut walk = plan.schedule.walk();
        let sleep = clock.sleep_until(walk.due(0));
        SseBody {
            plan,
            phase: Phase::Start,
            sent: 0,
            flush: Flush::Done,
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
                let at_end = self.sent == plan.tokens;
                let cut = plan.cut_after == Some(self.sent);
                let error = plan.error_after == Some(self.sent);
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
                        // hyper has written it: tell the timer how late that was.
                        self.flush = Flush::Done;
                        self.sleep.written(Instant::now());
                    }
                    Flush::Done => {}
                }
                // A cut, an error or an empty answer come when the next token would have.
                let due = self.walk.due(self.sent);
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
                let event = plan.token_event(self.sent);
                self.sent += 1;
                self.flush = Flush::Handed;
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
