//! `--dataset` and its flags (`--input-len`, `--output-len`, `--range-ratio`,
//! `--num-prompts`), `--ignore-eos` and `--system-prompt`: checked against each other and the
//! API, and the dataset's prompts made or read ([`crate::traffic::dataset`]) for
//! `config::llm` to render.

use std::path::{Path, PathBuf};

use crate::cli::LlmArgs;
use crate::error::UsageError;
use crate::error::bad;
use crate::traffic::dataset::{
    self, Counter, DEFAULT_RANDOM_PROMPTS, DatasetView, Lengths, Prompt, RandomSpec, SHAREGPT_SHAPE,
};
use crate::traffic::llm::Api;

/// The most tokens `--dataset random` makes before a run (`--num-prompts` × the longest
/// input): beyond it, set-up time and memory grow for no benchmark's sake.
pub const MAX_DATASET_TOKENS: u64 = 50_000_000;

/// A `--dataset` as given: its kind and file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Random,
    ShareGpt(PathBuf),
    Jsonl(PathBuf),
}

impl Kind {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Kind::Random => "random",
            Kind::ShareGpt(_) => "sharegpt",
            Kind::Jsonl(_) => "jsonl",
        }
    }
}

/// Check `--dataset`, its lengths, `--ignore-eos` and `--system-prompt` against each other and
/// the API; the dataset's kind when there is one.
pub(crate) fn workload_flags(a: &LlmArgs, api: Option<Api>) -> Result<Option<Kind>, UsageError> {
    if a.ignore_eos && api != Some(Api::OpenAi) {
        return bad(
            "--ignore-eos goes with --openai MODEL: \"ignore_eos\" is a field of \
             OpenAI-compatible bodies (vLLM, SGLang); with --body-template, write it in the \
             template",
        );
    }
    if let Some(s) = &a.system_prompt {
        match api {
            Some(Api::Dify) => {
                return bad(
                    "--system-prompt: Dify's chat-messages API has no system message (write \
                     the instructions in the Dify app)",
                );
            }
            None => {
                return bad(
                    "--system-prompt needs --openai MODEL or a --body-template with \
                     {system_prompt} to put it in a request",
                );
            }
            Some(_) if s.trim().is_empty() => return bad("--system-prompt is empty"),
            Some(_) => {}
        }
    }
    let Some(words) = &a.dataset else {
        for (given, flag, fix) in [
            (
                a.input_len.is_some(),
                "--input-len",
                "--dataset random --input-len N",
            ),
            (
                a.range_ratio.is_some(),
                "--range-ratio",
                "--dataset random --input-len N --range-ratio R",
            ),
            (
                a.output_len.is_some(),
                "--output-len",
                "--dataset KIND ... --output-len N (with --prompt/--prompts: --max-tokens N)",
            ),
            (
                a.num_prompts.is_some(),
                "--num-prompts",
                "--dataset KIND ... --num-prompts N",
            ),
        ] {
            if given {
                return bad(format!("{flag} goes with --dataset: write {fix}"));
            }
        }
        return Ok(None);
    };
    let kind = match (words[0].as_str(), words.get(1)) {
        ("random", None) => Kind::Random,
        ("random", Some(file)) => {
            return bad(format!(
                "--dataset random makes its prompts and reads no file ('{file}'): write \
                 --dataset random --input-len N"
            ));
        }
        ("sharegpt", Some(file)) => Kind::ShareGpt(PathBuf::from(file)),
        ("jsonl", Some(file)) => Kind::Jsonl(PathBuf::from(file)),
        (k @ ("sharegpt" | "jsonl"), None) => {
            let file = if k == "sharegpt" { "FILE.json" } else { "FILE" };
            return bad(format!(
                "--dataset {k} needs a file: write --dataset {k} {file}"
            ));
        }
        (other, _) => {
            return bad(format!(
                "--dataset '{other}' is not a dataset kind: write random, sharegpt FILE.json \
                 or jsonl FILE"
            ));
        }
    };
    for (given, flag) in [
        (a.prompt.is_some(), "--prompt"),
        (a.prompts.is_some(), "--prompts"),
    ] {
        if given {
            return bad(format!(
                "--dataset and {flag} do not go together: the prompts come from the dataset"
            ));
        }
    }
    if a.max_tokens.is_some() {
        return bad("--max-tokens: with --dataset, write --output-len N (it sets max_tokens)");
    }
    for (value, flag) in [
        (a.input_len, "--input-len"),
        (a.output_len, "--output-len"),
        (a.num_prompts, "--num-prompts"),
    ] {
        if value == Some(0) {
            return bad(format!("{flag} must be at least 1"));
        }
    }
    if kind == Kind::Random {
        if a.input_len.is_none() {
            return bad(
                "--dataset random needs --input-len N: the input tokens of each prompt (vLLM's \
                 bench serve uses 1024), e.g. --input-len 1024 --output-len 128",
            );
        }
    } else {
        for (given, flag) in [
            (a.input_len.is_some(), "--input-len"),
            (a.range_ratio.is_some(), "--range-ratio"),
        ] {
            if given {
                return bad(format!(
                    "{flag} goes with --dataset random: a {} file's prompts have their own \
                     lengths (--output-len sets max_tokens)",
                    kind.name()
                ));
            }
        }
    }
    if let Some(r) = a.range_ratio
        && !(0.0..1.0).contains(&r)
    {
        return bad(format!(
            "--range-ratio {r} is outside 0 <= R < 1: e.g. 0.1 draws each length within 10% of \
             --input-len / --output-len"
        ));
    }
    if api == Some(Api::Dify) && a.output_len.is_some() {
        return bad(
            "--output-len: Dify's chat-messages API has no max_tokens (set it in the Dify app)",
        );
    }
    if let (Kind::Random, Some(len)) = (&kind, a.input_len) {
        let prompts = a.num_prompts.unwrap_or(DEFAULT_RANDOM_PROMPTS);
        let (_, longest) = dataset::length_range(len, a.range_ratio.unwrap_or(0.0));
        if prompts.saturating_mul(longest) > MAX_DATASET_TOKENS {
            return bad(format!(
                "--dataset random: {prompts} prompts of up to {longest} tokens are more than \
                 {MAX_DATASET_TOKENS} tokens to make before the run: lower --num-prompts or \
                 --input-len"
            ));
        }
    }
    Ok(Some(kind))
}

/// The prompts of a `--dataset` and its view (`max_tokens` is filled in by the caller, once it
/// knows where the API puts it).
pub(crate) fn load_dataset(
    a: &LlmArgs,
    kind: &Kind,
    counter: Counter<'_>,
    seed: u64,
) -> Result<(Vec<Prompt>, DatasetView), UsageError> {
    let limit = a
        .num_prompts
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut skipped = 0;
    let (mut list, file) = match kind {
        Kind::Random => {
            let spec = RandomSpec {
                prompts: a.num_prompts.unwrap_or(DEFAULT_RANDOM_PROMPTS),
                input_len: a.input_len.unwrap_or(1),
                output_len: a.output_len,
                range_ratio: a.range_ratio.unwrap_or(0.0),
                seed,
            };
            let list = dataset::random_prompts(&spec, counter)
                .map_err(|e| UsageError(format!("--dataset random: {e} (--tokenizer)")))?;
            (list, None)
        }
        Kind::ShareGpt(path) => {
            let shown = path.display();
            let file = open(path, "sharegpt")?;
            let (list, s) = dataset::sharegpt(file, limit, counter).map_err(|e| {
                UsageError(if e.classify() == serde_json::error::Category::Io {
                    format!("--dataset sharegpt {shown}: cannot read the file: {e}")
                } else {
                    format!("--dataset sharegpt {shown}: not ShareGPT JSON ({SHAREGPT_SHAPE}): {e}")
                })
            })?;
            if list.is_empty() {
                return bad(format!(
                    "--dataset sharegpt {shown}: no conversation has a human turn followed by a \
                     model (gpt) turn, both with text ({s} skipped): the file should be \
                     {SHAREGPT_SHAPE}"
                ));
            }
            skipped = s;
            (list, Some(path))
        }
        Kind::Jsonl(path) => {
            let shown = path.display();
            let file = open(path, "jsonl")?;
            let list = dataset::jsonl(std::io::BufReader::new(file), limit)
                .map_err(|e| UsageError(format!("--dataset jsonl {shown}: {e}")))?;
            if list.is_empty() {
                return bad(format!(
                    "--dataset jsonl {shown}: the file has no prompts ({})",
                    dataset::JSONL_SHAPE
                ));
            }
            (list, Some(path))
        }
    };
    if let (Some(n), Some(_)) = (a.output_len, file) {
        list.iter_mut().for_each(|p| p.max_tokens = Some(n));
    }
    // Filled in by the caller, which counts every prompt once for its requests too.
    let input_tokens = Lengths {
        mean: 0.0,
        min: 0,
        max: 0,
    };
    let view = DatasetView {
        kind: kind.name().into(),
        file: file.map(|p| p.display().to_string()),
        prompts: list.len(),
        skipped,
        input_tokens,
        counted_by: counter.name().into(),
        input_len: a.input_len,
        output_len: a.output_len,
        range_ratio: a.range_ratio,
        max_tokens: None,
        max_tokens_asked: 0,
    };
    Ok((list, view))
}

/// A dataset file, opened for reading (a directory is refused here: reading it would fail
/// with a less clear message).
fn open(path: &Path, kind: &str) -> Result<std::fs::File, UsageError> {
    let fail = |e: String| {
        UsageError(format!(
            "--dataset {kind} {}: cannot read the file: {e}",
            path.display()
        ))
    };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(fail("it is a directory".into()));
    }
    Ok(file)
}
