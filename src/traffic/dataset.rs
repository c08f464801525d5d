//! Workloads for LLM benchmarks (`--dataset`): synthetic prompts of a given token length
//! (`random`, as vLLM's `bench serve` makes them), the first human turn of ShareGPT
//! conversations (`sharegpt`, the format vLLM and guidellm read) and JSON lines of
//! `{"prompt", "max_tokens"}` (`jsonl`). Each gives a list of [`Prompt`]s, rendered into
//! bodies before the run by `config::llm`, and a [`DatasetView`] for the report.
//!
//! Lengths are counted with the `--tokenizer` when there is one, else with
//! [`estimate_tokens`] ([`Counter`]).

use std::io::BufRead;

use serde::de::{DeserializeSeed, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::stream::{Tokenizer, estimate_tokens};

/// The default `--num-prompts` of `--dataset random`.
pub const DEFAULT_RANDOM_PROMPTS: u64 = 100;

/// `--seed` is turned into the prompts' draw through this, a stream of its own.
const DATASET_STREAM: u64 = 0x6a09_e667_f3bc_c908;

/// Rounds of re-encoding a random prompt (cut or lengthened each time) before its length is
/// taken as it is: with the tokenizers tried, the first or second round is exact.
const MAX_ROUNDS: usize = 16;

/// One prompt and the most tokens its answer may have (`max_tokens`), when one is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub text: String,
    pub max_tokens: Option<u64>,
}

/// What counts the tokens of a text: the `--tokenizer`, or the estimate.
#[derive(Debug, Clone, Copy)]
pub enum Counter<'a> {
    Tokenizer(&'a Tokenizer),
    Estimate,
}

impl Counter<'_> {
    pub fn count(&self, text: &str) -> u64 {
        match self {
            Counter::Tokenizer(t) => t.count(text),
            Counter::Estimate => estimate_tokens(text),
        }
    }

    /// "tokenizer" or "estimate", as reports say it.
    pub fn name(&self) -> &'static str {
        match self {
            Counter::Tokenizer(_) => "tokenizer",
            Counter::Estimate => "estimate",
        }
    }
}

/// Mean, least and most of a length over the prompts.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Lengths {
    pub mean: f64,
    pub min: u64,
    pub max: u64,
}

impl Lengths {
    /// `None` for no values.
    pub fn of(values: impl IntoIterator<Item = u64>) -> Option<Lengths> {
        let (mut n, mut sum, mut min, mut max) = (0u64, 0u128, u64::MAX, 0u64);
        for v in values {
            n += 1;
            sum += u128::from(v);
            min = min.min(v);
            max = max.max(v);
        }
        (n > 0).then(|| Lengths {
            mean: sum as f64 / n as f64,
            min,
            max,
        })
    }
}

/// The workload as the report shows it (no prompt text).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DatasetView {
    /// "random", "sharegpt" or "jsonl".
    pub kind: String,
    /// The file read (sharegpt, jsonl), as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Distinct prompts made or read; requests use them in turn.
    pub prompts: usize,
    /// ShareGPT conversations passed over, among those read: no human turn followed by a model
    /// turn, or an empty one.
    #[serde(default)]
    pub skipped: usize,
    /// Input tokens per prompt (the user message; a --system-prompt is apart).
    pub input_tokens: Lengths,
    /// How tokens were counted: "tokenizer" (--tokenizer) or "estimate".
    pub counted_by: String,
    /// `--input-len` (random).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_len: Option<u64>,
    /// `--output-len`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_len: Option<u64>,
    /// `--range-ratio` (random).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_ratio: Option<f64>,
    /// The max_tokens the bodies ask, over the prompts that ask one; absent when none does
    /// (or the API has no place for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<Lengths>,
    /// How many prompts ask a max_tokens (a JSON lines file may leave it out; 0 where the API
    /// has no place for it).
    #[serde(default)]
    pub max_tokens_asked: usize,
}

/// The lengths `len · (1 − ratio)` to `len · (1 + ratio)`, both included, the low end rounded
/// down and at least 1, the high end rounded up (vLLM's random dataset; a product such as
/// 100 × 1.1 = 110.00000000000001 in floating point is taken as the 110 it means).
pub fn length_range(len: u64, ratio: f64) -> (u64, u64) {
    const SLACK: f64 = 1e-9;
    let low = ((len as f64) * (1.0 - ratio) + SLACK).floor().max(1.0) as u64;
    let high = ((len as f64) * (1.0 + ratio) - SLACK).ceil() as u64;
    (low, high.max(low))
}

/// What `--dataset random` makes.
#[derive(Debug, Clone, Copy)]
pub struct RandomSpec {
    pub prompts: u64,
    pub input_len: u64,
    pub output_len: Option<u64>,
    pub range_ratio: f64,
    pub seed: u64,
}

/// Synthetic prompts: each input length drawn in `length_range(input_len)`, each output length
/// in `length_range(output_len)`. With a tokenizer, random plain (not special) token ids are
/// decoded to text, and the text re-encoded and cut or lengthened until it has that many tokens
/// (vLLM's random dataset); else that many words from [`WORDS`], which the estimate counts
/// exactly. The same seed gives the same prompts.
///
/// # Errors
///
/// When the tokenizer has no plain token to draw.
pub fn random_prompts(spec: &RandomSpec, counter: Counter<'_>) -> Result<Vec<Prompt>, String> {
    let mut rng = fastrand::Rng::with_seed(spec.seed ^ DATASET_STREAM);
    let ids = match counter {
        Counter::Tokenizer(t) => {
            let ids = t.plain_ids();
            if ids.is_empty() {
                return Err("the tokenizer has no plain (non-special) tokens to draw".into());
            }
            ids
        }
        Counter::Estimate => Vec::new(),
    };
    let (in_low, in_high) = length_range(spec.input_len, spec.range_ratio);
    let out_range = spec.output_len.map(|o| length_range(o, spec.range_ratio));
    let mut prompts = Vec::with_capacity(spec.prompts as usize);
    for _ in 0..spec.prompts {
        let input = rng.u64(in_low..=in_high);
        let max_tokens = out_range.map(|(low, high)| rng.u64(low..=high));
        let text = match counter {
            Counter::Tokenizer(t) => exact_text(t, &ids, input as usize, &mut rng),
            Counter::Estimate => words(input as usize, &mut rng),
        };
        prompts.push(Prompt { text, max_tokens });
    }
    Ok(prompts)
}

/// `n` words of [`WORDS`] drawn at random, one space apart.
fn words(n: usize, rng: &mut fastrand::Rng) -> String {
    let mut text = String::with_capacity(n * 7);
    for i in 0..n {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(WORDS[rng.usize(..WORDS.len())]);
    }
    text
}

/// Text of `n` tokens of `t`: random `ids` decoded, then re-encoded and cut at the start of
/// token `n` (when longer) or lengthened by more random tokens (when shorter), until exact or
/// [`MAX_ROUNDS`] are done (the count is then near; reports count what was made).
fn exact_text(t: &Tokenizer, ids: &[u32], n: usize, rng: &mut fastrand::Rng) -> String {
    let mut draw = |k: usize| -> Vec<u32> { (0..k).map(|_| ids[rng.usize(..ids.len())]).collect() };
    let mut text = t.decode(&draw(n));
    for _ in 0..MAX_ROUNDS {
        let starts = t.token_starts(&text);
        match starts.len().cmp(&n) {
            std::cmp::Ordering::Equal => break,
            std::cmp::Ordering::Greater => {
                let mut cut = starts[n].min(text.len());
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
            }
            std::cmp::Ordering::Less => {
                let more = t.decode(&draw(n - starts.len()));
                if !text.is_empty()
                    && !text.ends_with(char::is_whitespace)
                    && !more.starts_with(char::is_whitespace)
                {
                    text.push(' ');
                }
                text.push_str(&more);
            }
        }
    }
    text
}

/// The prompts of a ShareGPT file (`[{"conversations": [{"from": "human", "value": ...},
/// {"from": "gpt", "value": ...}, ...]}, ...]`), read as a stream (a large file is never held
/// as a JSON tree): the first human turn of each conversation is the prompt, the first model
/// turn after it caps `max_tokens` at its token count. Conversations without both (or with an
/// empty one) are skipped and counted. At most `limit` prompts are taken; the rest of the file
/// is only checked to be JSON.
///
/// # Errors
///
/// When the text is not JSON or not an array of objects whose `conversations` are turns of
/// strings; the message says where (serde_json's line and column). An I/O error is returned as
/// it is (its category is `Io`).
pub fn sharegpt(
    reader: impl std::io::Read,
    limit: usize,
    counter: Counter<'_>,
) -> Result<(Vec<Prompt>, usize), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let mut take = Take {
        limit,
        counter,
        prompts: Vec::new(),
        skipped: 0,
    };
    (&mut take).deserialize(&mut de)?;
    de.end()?;
    Ok((take.prompts, take.skipped))
}

#[derive(Deserialize)]
struct Conversation {
    #[serde(default)]
    conversations: Vec<Turn>,
}

#[derive(Deserialize)]
struct Turn {
    #[serde(default, alias = "role")]
    from: Option<String>,
    #[serde(default, alias = "content")]
    value: Option<String>,
}

/// Who speaks a turn: `Some(true)` a person, `Some(false)` the model, `None` another role
/// (system, tool ...).
fn human(turn: &Turn) -> Option<bool> {
    let from = turn.from.as_deref()?.to_ascii_lowercase();
    match from.as_str() {
        "human" | "user" => Some(true),
        "gpt" | "assistant" | "chatgpt" | "bard" | "bing" | "model" => Some(false),
        _ => None,
    }
}

struct Take<'a> {
    limit: usize,
    counter: Counter<'a>,
    prompts: Vec<Prompt>,
    skipped: usize,
}

impl Take<'_> {
    fn take(&mut self, c: Conversation) {
        let turns = c.conversations;
        let Some(first) = turns.iter().position(|t| human(t) == Some(true)) else {
            self.skipped += 1;
            return;
        };
        let answer = turns[first + 1..].iter().find(|t| human(t) == Some(false));
        let prompt = turns[first].value.as_deref().unwrap_or("");
        let tokens = answer
            .and_then(|a| a.value.as_deref())
            .map_or(0, |a| self.counter.count(a));
        if prompt.trim().is_empty() || tokens == 0 {
            self.skipped += 1;
            return;
        }
        self.prompts.push(Prompt {
            text: prompt.to_string(),
            max_tokens: Some(tokens),
        });
    }
}

impl<'de> DeserializeSeed<'de> for &mut Take<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for &mut Take<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of conversations")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while self.prompts.len() < self.limit {
            match seq.next_element::<Conversation>()? {
                Some(c) => self.take(c),
                None => return Ok(()),
            }
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// The prompts of a JSON lines file: `{"prompt": "...", "max_tokens": N}` a line (`max_tokens`
/// may be left out or null), blank lines skipped, at most `limit` prompts (the lines after the
/// last one taken are not read).
///
/// # Errors
///
/// `line N: what is wrong` (lines counted from 1, blank ones included), or an I/O error's text.
pub fn jsonl(reader: impl BufRead, limit: usize) -> Result<Vec<Prompt>, String> {
    let mut prompts = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        if prompts.len() >= limit {
            break;
        }
        let n = i + 1;
        let line = line.map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => format!("line {n}: not UTF-8 text"),
            _ => format!("cannot read the file: {e}"),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| {
            // serde_json says where as "at line 1 column C" of the one line: say the file's.
            let what = e.to_string();
            let what = what
                .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
                .unwrap_or(&what)
                .to_string();
            format!(
                "line {n}, column {}: not JSON ({what}): {JSONL_SHAPE}",
                e.column()
            )
        })?;
        let Some(text) = v.get("prompt").and_then(serde_json::Value::as_str) else {
            return Err(format!("line {n}: no \"prompt\" string: {JSONL_SHAPE}"));
        };
        if text.trim().is_empty() {
            return Err(format!("line {n}: the prompt is empty"));
        }
        let max_tokens = match v.get("max_tokens") {
            None | Some(serde_json::Value::Null) => None,
            Some(m) => match m.as_u64() {
                Some(m) if m >= 1 => Some(m),
                _ => {
                    return Err(format!(
                        "line {n}: max_tokens must be a whole number of at least 1 (or left out)"
                    ));
                }
            },
        };
        prompts.push(Prompt {
            text: text.to_string(),
            max_tokens,
        });
    }
    Ok(prompts)
}

/// What a `--dataset jsonl` line looks like, for messages.
pub const JSONL_SHAPE: &str = "write {\"prompt\": \"...\", \"max_tokens\": N} a line";

/// What a `--dataset sharegpt` file looks like, for messages.
pub const SHAREGPT_SHAPE: &str = "an array of {\"conversations\": [{\"from\": \"human\", \"value\": \
                                  \"...\"}, {\"from\": \"gpt\", \"value\": \"...\"}]}";

/// Plain English words, letters only, so that each is one estimated token: the words of
/// estimated random prompts.
#[rustfmt::skip]
pub const WORDS: &[&str] = &[
    "about", "above", "across", "after", "again", "against", "air", "all", "almost", "along",
    "also", "always", "among", "and", "animal", "another", "answer", "any", "around", "ask", "away",
    "back", "because", "before", "began", "begin", "behind", "being", "below", "best", "better",
    "between", "big", "bird", "black", "blue", "boat", "body", "book", "both", "box", "boy",
    "bring", "brother", "build", "call", "came", "can", "car", "carry", "cause", "center", "change",
    "children", "city", "class", "clear", "close", "cold", "color", "come", "common", "country",
    "course", "cover", "cross", "cut", "dark", "day", "deep", "did", "different", "direct", "does",
    "dog", "door", "down", "draw", "during", "each", "early", "earth", "east", "easy", "eat", "end",
    "enough", "even", "ever", "every", "example", "eye", "face", "fact", "fall", "family", "far",
    "farm", "fast", "father", "feel", "feet", "few", "field", "figure", "find", "fine", "fire",
    "first", "fish", "five", "fly", "follow", "food", "foot", "form", "found", "four", "free",
    "friend", "from", "front", "full", "game", "garden", "gave", "girl", "give", "going", "gold",
    "good", "got", "great", "green", "ground", "group", "grow", "half", "hand", "happen", "hard",
    "have", "head", "hear", "heard", "heart", "heavy", "help", "here", "high", "hill", "hold",
    "home", "horse", "hot", "hour", "house", "idea", "important", "inch", "island", "just", "keep",
    "kind", "king", "knew", "know", "land", "language", "large", "last", "late", "later", "laugh",
    "lead", "learn", "leave", "left", "letter", "life", "light", "line", "list", "listen", "little",
    "live", "long", "look", "machine", "made", "main", "make", "many", "map", "mark", "measure",
    "men", "might", "mile", "mind", "minute", "miss", "money", "moon", "more", "morning", "most",
    "mother", "mountain", "move", "much", "music", "must", "name", "near", "need", "never", "new",
    "next", "night", "north", "note", "nothing", "notice", "number", "ocean", "off", "often", "old",
    "once", "only", "open", "order", "other", "over", "own", "page", "paper", "part", "pass",
    "people", "picture", "piece", "place", "plain", "plan", "plant", "play", "point", "power",
    "problem", "pull", "question", "quick", "rain", "read", "ready", "real", "record", "red",
    "remember", "rest", "river", "road", "rock", "room", "round", "rule", "run", "said", "same",
    "saw", "say", "school", "science", "sea", "second", "seem", "self", "sentence", "several",
    "shape", "ship", "short", "should", "show", "side", "simple", "since", "sing", "size", "sleep",
    "slow", "small", "snow", "song", "soon", "sound", "south", "space", "special", "spell", "stand",
    "star", "start", "state", "stay", "step", "still", "stood", "stop", "story", "street", "strong",
    "study", "such", "sun", "sure", "surface", "table", "tail", "take", "talk", "teach", "tell",
    "ten", "test", "than", "that", "their", "them", "there", "these", "thing", "think", "those",
    "thought", "three", "through", "time", "today", "together", "told", "too", "took", "top",
    "toward", "town", "travel", "tree", "true", "try", "turn", "under", "until", "upon", "usual",
    "very", "voice", "walk", "want", "warm", "watch", "water", "weather", "week", "weight", "well",
    "went", "west", "what", "wheel", "where", "which", "while", "white", "whole", "wind", "window",
    "winter", "with", "without", "wonder", "wood", "word", "work", "world", "write", "year",
    "young",
];

#[cfg(test)]
mod tests {
    use super::*;

    use std::path::Path;

    fn tokenizer(name: &str) -> Tokenizer {
        Tokenizer::from_file(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data")
                .join(name),
        )
        .unwrap()
    }

    fn spec(prompts: u64, input_len: u64, output_len: Option<u64>, ratio: f64) -> RandomSpec {
        RandomSpec {
            prompts,
            input_len,
            output_len,
            range_ratio: ratio,
            seed: 7,
        }
    }

    #[test]
    fn the_word_list_is_plain_words() {
        for w in WORDS {
            assert!(
                !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()),
                "{w}"
            );
        }
        let mut sorted = WORDS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), WORDS.len(), "no word twice");
        assert!(WORDS.len() >= 256);
    }

    #[test]
    fn estimated_random_prompts_have_that_many_words() {
        let p = random_prompts(&spec(20, 100, Some(20), 0.0), Counter::Estimate).unwrap();
        assert_eq!(p.len(), 20);
        for prompt in &p {
            // The witness: words split on whitespace, each one of the list.
            let words: Vec<&str> = prompt.text.split_whitespace().collect();
            assert_eq!(words.len(), 100);
            assert!(words.iter().all(|w| WORDS.contains(w)));
            assert_eq!(prompt.max_tokens, Some(20));
        }
        let distinct: std::collections::HashSet<&str> = p.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(distinct.len(), 20, "prompts differ");
    }

    #[test]
    fn the_seed_decides_the_prompts() {
        let a = random_prompts(&spec(5, 30, Some(5), 0.5), Counter::Estimate).unwrap();
        let b = random_prompts(&spec(5, 30, Some(5), 0.5), Counter::Estimate).unwrap();
        assert_eq!(a, b);
        let mut other = spec(5, 30, Some(5), 0.5);
        other.seed = 8;
        let c = random_prompts(&other, Counter::Estimate).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn range_ratio_spreads_lengths_within_bounds() {
        assert_eq!(length_range(100, 0.0), (100, 100));
        assert_eq!(length_range(100, 0.1), (90, 110));
        assert_eq!(length_range(10, 0.25), (7, 13), "7.5 down, 12.5 up");
        assert_eq!(length_range(1, 0.9), (1, 2), "never below 1");
        let p = random_prompts(&spec(400, 100, Some(20), 0.1), Counter::Estimate).unwrap();
        let inputs: Vec<usize> = p.iter().map(|p| p.text.split(' ').count()).collect();
        let outputs: Vec<u64> = p.iter().map(|p| p.max_tokens.unwrap()).collect();
        assert!(inputs.iter().all(|n| (90..=110).contains(n)), "{inputs:?}");
        assert!(outputs.iter().all(|n| (18..=22).contains(n)), "{outputs:?}");
        // Uniform over 21 values: 400 draws reach both ends and spread out.
        assert!(inputs.contains(&90) && inputs.contains(&110));
        assert!(outputs.contains(&18) && outputs.contains(&22));
        let mean = inputs.iter().sum::<usize>() as f64 / 400.0;
        assert!((97.0..=103.0).contains(&mean), "{mean}");
    }

    #[test]
    fn tokenizer_prompts_are_exact() {
        // One token per character: the witness is the prompt's length in characters.
        let chars = tokenizer("tokenizer-chars.json");
        let p = random_prompts(&spec(10, 100, None, 0.2), Counter::Tokenizer(&chars)).unwrap();
        for prompt in &p {
            let n = prompt.text.chars().count();
            assert!((80..=120).contains(&n), "{n}");
            assert!(!prompt.text.contains("[UNK]"), "no special token drawn");
        }
        let lens: std::collections::HashSet<usize> =
            p.iter().map(|p| p.text.chars().count()).collect();
        assert!(lens.len() > 1, "lengths differ with --range-ratio");
        let p = random_prompts(&spec(5, 100, None, 0.0), Counter::Tokenizer(&chars)).unwrap();
        assert!(p.iter().all(|p| p.text.chars().count() == 100));

        // Word-level: words of its vocabulary, split on whitespace and punctuation alike.
        let words = tokenizer("tokenizer-words.json");
        let p = random_prompts(&spec(5, 50, None, 0.0), Counter::Tokenizer(&words)).unwrap();
        for prompt in &p {
            let n = prompt.text.split_whitespace().count();
            assert_eq!(n, 50, "{}", prompt.text);
            assert_eq!(words.count(&prompt.text), 50);
        }
    }

    #[test]
    fn lengths_summarise() {
        assert_eq!(Lengths::of([]), None);
        assert_eq!(
            Lengths::of([3, 1, 8]),
            Some(Lengths {
                mean: 4.0,
                min: 1,
                max: 8
            })
        );
    }

    const SHAREGPT: &str = r#"[
      {"id": "a", "conversations": [
        {"from": "human", "value": "first question"},
        {"from": "gpt", "value": "one two three four"},
        {"from": "human", "value": "later"}, {"from": "gpt", "value": "x"}]},
      {"id": "no answer", "conversations": [{"from": "human", "value": "alone"}]},
      {"id": "no conversations"},
      {"id": "b", "conversations": [
        {"from": "system", "value": "be brief"},
        {"from": "gpt", "value": "a model turn before the human one does not count"},
        {"role": "user", "content": "second question"},
        {"role": "assistant", "content": "five, six"}]},
      {"id": "empty answer", "conversations": [
        {"from": "human", "value": "hello"}, {"from": "gpt", "value": "  "}]},
      {"id": "c", "conversations": [
        {"from": "human", "value": "third"}, {"from": "bard", "value": "seven"}]}
    ]"#;

    #[test]
    fn sharegpt_takes_the_first_human_turn_and_caps_by_the_answer() {
        let (p, skipped) = sharegpt(SHAREGPT.as_bytes(), usize::MAX, Counter::Estimate).unwrap();
        let got: Vec<(&str, Option<u64>)> =
            p.iter().map(|p| (p.text.as_str(), p.max_tokens)).collect();
        assert_eq!(
            got,
            [
                ("first question", Some(4)),
                ("second question", Some(3)),
                ("third", Some(1))
            ]
        );
        assert_eq!(skipped, 3);
        // The first N: the rest is not taken (and its skips not counted).
        let (p, skipped) = sharegpt(SHAREGPT.as_bytes(), 2, Counter::Estimate).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(skipped, 2);
        // Counted by a tokenizer: one token per character.
        let chars = tokenizer("tokenizer-chars.json");
        let (p, _) = sharegpt(SHAREGPT.as_bytes(), 1, Counter::Tokenizer(&chars)).unwrap();
        assert_eq!(p[0].max_tokens, Some("one two three four".len() as u64));
    }

    #[test]
    fn sharegpt_errors_say_where() {
        let e = sharegpt("{\"a\": 1}".as_bytes(), 5, Counter::Estimate).unwrap_err();
        assert!(e.to_string().contains("array of conversations"), "{e}");
        let e = sharegpt("[{\"conversations\": 5}]".as_bytes(), 5, Counter::Estimate).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        let e = sharegpt("[1, 2,".as_bytes(), 1, Counter::Estimate).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        let e = sharegpt("[] x".as_bytes(), 1, Counter::Estimate).unwrap_err();
        assert!(e.to_string().contains("trailing"), "{e}");
        let (p, skipped) = sharegpt("[]".as_bytes(), 1, Counter::Estimate).unwrap();
        assert!(p.is_empty() && skipped == 0);
    }

    #[test]
    fn jsonl_lines() {
        let text = "{\"prompt\": \"a b\", \"max_tokens\": 5}\n\n{\"prompt\": \"c\"}\n\
                    {\"prompt\": \"d\", \"max_tokens\": null, \"extra\": 1}\n";
        let p = jsonl(text.as_bytes(), usize::MAX).unwrap();
        let got: Vec<(&str, Option<u64>)> =
            p.iter().map(|p| (p.text.as_str(), p.max_tokens)).collect();
        assert_eq!(got, [("a b", Some(5)), ("c", None), ("d", None)]);
        assert_eq!(jsonl(text.as_bytes(), 2).unwrap().len(), 2);
        // After the first N prompts, nothing more is read: a bad line there is no error.
        assert_eq!(
            jsonl("{\"prompt\": \"a\"}\nnot json".as_bytes(), 1)
                .unwrap()
                .len(),
            1
        );
        for (text, want) in [
            (
                "{\"prompt\": \"a\"}\n\nnope\n",
                "line 3, column 2: not JSON (expected ident)",
            ),
            ("{\"text\": \"a\"}", "line 1: no \"prompt\" string"),
            ("{\"prompt\": 5}", "line 1: no \"prompt\" string"),
            ("{\"prompt\": \" \"}", "line 1: the prompt is empty"),
            (
                "{\"prompt\": \"a\", \"max_tokens\": 0}",
                "line 1: max_tokens",
            ),
            (
                "{\"prompt\": \"a\", \"max_tokens\": -3}",
                "line 1: max_tokens",
            ),
            (
                "{\"prompt\": \"a\", \"max_tokens\": \"9\"}",
                "line 1: max_tokens",
            ),
        ] {
            let e = jsonl(text.as_bytes(), usize::MAX).unwrap_err();
            assert!(e.starts_with(want), "{text}: {e}");
        }
        let e = jsonl(&b"{\"prompt\": \"a\"}\n\xff\xfe\n"[..], 9).unwrap_err();
        assert_eq!(e, "line 2: not UTF-8 text");
    }
}
