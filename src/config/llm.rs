//! The LLM flags (`--openai`, `--dify`, `--body-template`, `--prompt(s)`, `--dataset` and its
//! lengths, `--system-prompt`, `--ignore-eos`, `--api-key(-file)`, `--max-tokens`, `--stream`,
//! `--content-path`) into an [`LlmSetup`], with messages a user can act on.

use std::path::Path;
use std::sync::Arc;

use ureq::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use ureq::http::{HeaderName, HeaderValue, Method};

use crate::cli::LlmArgs;
use crate::config::dataset::{load_dataset, workload_flags};
use crate::config::target::Target;
use crate::error::UsageError;
use crate::error::bad;
use crate::stream::{ContentFormat, Tokenizer};
use crate::traffic::dataset::{Counter, DatasetView, Lengths, Prompt};
use crate::traffic::llm::{
    Api, DEFAULT_PROMPT, LlmSetup, LlmView, OpenAiBody, Rotation, StreamSetup, bearer, describe,
    dify_body, guess_format, parse_api_keys, parse_prompts, render,
};

/// Check the LLM flags and fold them into `target`: method POST, a JSON Content-Type, the
/// first body and key (the rest go to [`Rotation`]). `seed` draws `--dataset random`'s prompts.
///
/// # Errors
///
/// When flags conflict (two APIs, `-d` with one, a key given twice), a flag lacks what it needs
/// (`--prompt` without an API, a template without `{prompt}`), a value is bad (an empty model,
/// `--max-tokens 0`), or a file is unreadable, not UTF-8 or empty; `target` is then unchanged.
pub fn setup(a: &LlmArgs, target: &mut Target, seed: u64) -> Result<LlmSetup, UsageError> {
    let api = match (&a.openai, a.dify, &a.body_template) {
        (Some(_), true, _) => return bad("--openai and --dify do not go together: pick one API"),
        (Some(_), _, Some(_)) | (_, true, Some(_)) => {
            return bad(
                "--body-template is for other APIs: --openai and --dify write their own bodies",
            );
        }
        (Some(_), false, None) => Some(Api::OpenAi),
        (None, true, None) => Some(Api::Dify),
        (None, false, Some(_)) => Some(Api::Template),
        (None, false, None) => None,
    };
    if let Some(model) = &a.openai
        && model.trim().is_empty()
    {
        return bad("--openai needs a model name, e.g. --openai gpt-4o-mini");
    }
    if api.is_some() && target.body.is_some() {
        return bad(
            "-d does not go with --openai, --dify or --body-template: they write the body \
             (use --body-template for a body of your own)",
        );
    }
    if api.is_none() {
        for (given, flag) in [
            (a.prompt.is_some(), "--prompt"),
            (a.prompts.is_some(), "--prompts"),
            (a.dataset.is_some(), "--dataset"),
            (a.max_tokens.is_some(), "--max-tokens"),
        ] {
            if given {
                return bad(format!(
                    "{flag} needs --openai MODEL, --dify or --body-template to put it in a request"
                ));
            }
        }
    }
    if a.prompt.is_some() && a.prompts.is_some() {
        return bad("--prompt and --prompts do not go together: give one prompt or a file");
    }
    if a.api_key.is_some() && a.api_key_file.is_some() {
        return bad("--api-key and --api-key-file do not go together: give one");
    }
    if a.content_path.is_some() && matches!(api, Some(Api::OpenAi | Api::Dify)) {
        return bad(
            "--content-path is for other APIs: --openai and --dify know where their content is",
        );
    }
    if a.max_tokens == Some(0) {
        return bad("--max-tokens must be at least 1");
    }
    if api == Some(Api::Dify) && a.max_tokens.is_some() {
        return bad(
            "--max-tokens: Dify's chat-messages API has no such field (set it in the Dify app)",
        );
    }
    let kind = workload_flags(a, api)?;

    let tokenizer = match &a.tokenizer {
        Some(path) => Some(Arc::new(Tokenizer::from_file(path).map_err(|e| {
            UsageError(format!(
                "--tokenizer {}: {e} (give the tokenizer.json of the model, a local file)",
                path.display()
            ))
        })?)),
        None => None,
    };
    let keys = api_keys(a)?;
    if !keys.is_empty() && target.headers.iter().any(|(n, _)| n == AUTHORIZATION) {
        return bad("--api-key and -H 'Authorization: ...' do not go together: give the key once");
    }

    let format = match (api, &a.content_path) {
        (Some(Api::OpenAi), _) => ContentFormat::OpenAi,
        (Some(Api::Dify), _) => ContentFormat::Dify,
        (_, Some(path)) => ContentFormat::path(path, a.usage_path.as_deref())
            .map_err(|e| UsageError(format!("--content-path / --usage-path: {e}")))?,
        _ => guess_format(target.uri.path()),
    };

    let counter = tokenizer
        .as_deref()
        .map_or(Counter::Estimate, Counter::Tokenizer);
    let system_tokens = a.system_prompt.as_deref().map(|t| counter.count(t));
    let mut bodies: Vec<Arc<[u8]>> = Vec::new();
    let mut prompt_tokens: Vec<u32> = Vec::new();
    let mut prompts = 0;
    let mut dataset_view = None;
    if let Some(api) = api {
        let template = match (api, &a.body_template) {
            (Api::Template, Some(t)) => Some(read_template(t, a)?),
            _ => None,
        };
        let (mut list, view) = match &kind {
            Some(kind) => {
                let (list, view) = load_dataset(a, kind, counter, seed)?;
                (list, Some(view))
            }
            None => (prompt_list(a)?, None),
        };
        // Where the API has no place for max_tokens, no prompt asks one.
        let max_tokens_placed = match api {
            Api::OpenAi => true,
            Api::Dify => false,
            Api::Template => template
                .as_deref()
                .is_some_and(|t| t.contains("{max_tokens}")),
        };
        if !max_tokens_placed {
            list.iter_mut().for_each(|p| p.max_tokens = None);
        }
        let unbounded = list.iter().filter(|p| p.max_tokens.is_none()).count();
        if unbounded > 0 && kind.is_some() && api == Api::Template && max_tokens_placed {
            return bad(format!(
                "--body-template has {{max_tokens}}, but {unbounded} of the dataset's prompts ask \
                 no max_tokens: give --output-len N"
            ));
        }
        if unbounded > 0 && a.ignore_eos {
            return bad(if kind.is_some() {
                format!(
                    "--ignore-eos needs a length to stop at, and {unbounded} of the dataset's \
                     prompts ask no max_tokens: give --output-len N"
                )
            } else {
                "--ignore-eos needs a length to stop at: give --max-tokens N".to_string()
            });
        }
        // Each prompt's tokens, counted once: the dataset's description and each request's
        // input tokens when the server reports none.
        let counts: Vec<u64> = list.iter().map(|p| counter.count(&p.text)).collect();
        dataset_view = view.map(|mut v: DatasetView| {
            if let Some(l) = Lengths::of(counts.iter().copied()) {
                v.input_tokens = l;
            }
            v.max_tokens = Lengths::of(list.iter().filter_map(|p| p.max_tokens));
            v.max_tokens_asked = list.iter().filter(|p| p.max_tokens.is_some()).count();
            v
        });
        prompts = list.len();
        let openai = OpenAiBody {
            model: a.openai.as_deref().unwrap_or(""),
            system: a.system_prompt.as_deref(),
            ignore_eos: a.ignore_eos,
        };
        prompt_tokens = counts
            .iter()
            .map(|n| u32::try_from(n + system_tokens.unwrap_or(0)).unwrap_or(u32::MAX))
            .collect();
        bodies = list
            .iter()
            .map(|p| match api {
                Api::OpenAi => openai.render(&p.text, p.max_tokens),
                Api::Dify => dify_body(&p.text),
                Api::Template => render(
                    template.as_deref().unwrap_or(""),
                    a.system_prompt.as_deref(),
                    &p.text,
                    p.max_tokens,
                ),
            })
            .map(Arc::from)
            .collect();
        if target.method == Method::GET {
            target.method = Method::POST;
        }
        add_header_if_absent(target, CONTENT_TYPE, "application/json");
        add_header_if_absent(target, ACCEPT, "text/event-stream, application/json");
        target.body = bodies.first().cloned();
    }
    if let Some(first) = keys.first() {
        target.headers.push((AUTHORIZATION, first.clone()));
    }
    let first_prompt_tokens = prompt_tokens.first().copied();
    let rotation = (bodies.len() > 1 || keys.len() > 1)
        .then(|| Arc::new(Rotation::new(bodies, prompt_tokens, keys.clone())));
    let any_flag = api.is_some()
        || a.stream
        || a.content_path.is_some()
        || !keys.is_empty()
        || tokenizer.is_some();
    let view = any_flag.then(|| LlmView {
        api: match api {
            Some(Api::OpenAi) => "openai",
            Some(Api::Dify) => "dify",
            Some(Api::Template) => "template",
            None => "none",
        }
        .into(),
        model: a.openai.clone(),
        content: describe(&format),
        stream_forced: a.stream,
        prompts,
        api_keys: keys.len(),
        max_tokens: a.max_tokens,
        tokenizer: tokenizer.as_ref().map(|t| t.name().to_string()),
        dataset: dataset_view,
        ignore_eos: a.ignore_eos,
        system_prompt_tokens: system_tokens,
    });
    Ok(LlmSetup {
        stream: StreamSetup {
            forced: a.stream,
            format,
            tokenizer,
        },
        prompt_tokens: first_prompt_tokens,
        rotation,
        view,
    })
}

fn add_header_if_absent(target: &mut Target, name: HeaderName, value: &'static str) {
    if !target.headers.iter().any(|(n, _)| *n == name) {
        target.headers.push((name, HeaderValue::from_static(value)));
    }
}

/// The prompts: `--prompt`, the lines of `--prompts`, or the default one; each asks
/// `--max-tokens`.
fn prompt_list(a: &LlmArgs) -> Result<Vec<Prompt>, UsageError> {
    let texts = if let Some(p) = &a.prompt {
        vec![p.clone()]
    } else if let Some(path) = &a.prompts {
        let text = read_text(path, "--prompts")?;
        parse_prompts(&path.display().to_string(), &text)?
    } else {
        vec![DEFAULT_PROMPT.to_string()]
    };
    Ok(texts
        .into_iter()
        .map(|text| Prompt {
            text,
            max_tokens: a.max_tokens,
        })
        .collect())
}

fn read_text(path: &Path, flag: &str) -> Result<String, UsageError> {
    let bytes = std::fs::read(path).map_err(|e| {
        UsageError(format!(
            "{flag} {}: cannot read the file: {e}",
            path.display()
        ))
    })?;
    String::from_utf8(bytes).map_err(|_| {
        UsageError(format!(
            "{flag} {}: the file is not UTF-8 text",
            path.display()
        ))
    })
}

/// The keys of `--api-key` or `--api-key-file`, as `Bearer x` header values marked sensitive.
/// Error messages name the line, never the key.
fn api_keys(a: &LlmArgs) -> Result<Vec<HeaderValue>, UsageError> {
    if let Some(key) = &a.api_key {
        return match bearer(key) {
            Some(Ok(v)) => Ok(vec![v]),
            Some(Err(())) => bad("--api-key: the key has characters a header cannot carry"),
            None => bad("--api-key is empty"),
        };
    }
    let Some(path) = &a.api_key_file else {
        return Ok(Vec::new());
    };
    let text = read_text(path, "--api-key-file")?;
    parse_api_keys(&path.display().to_string(), &text)
}

fn read_template(t: &str, a: &LlmArgs) -> Result<String, UsageError> {
    let text = match t.strip_prefix('@') {
        Some(path) => read_text(Path::new(path), "--body-template")?,
        None => t.to_string(),
    };
    if !text.contains("{prompt}") {
        return bad(
            "--body-template has no {prompt}: write where the prompt goes, e.g. \
             '{\"input\": \"{prompt}\"}' (use -d for a fixed body)",
        );
    }
    for (given, flag) in [
        (a.max_tokens.is_some(), "--max-tokens"),
        (a.output_len.is_some(), "--output-len"),
    ] {
        if given && !text.contains("{max_tokens}") {
            return bad(format!(
                "{flag}: the --body-template has no {{max_tokens}} to put it in"
            ));
        }
    }
    if a.system_prompt.is_some() && !text.contains("{system_prompt}") {
        return bad("--system-prompt: the --body-template has no {system_prompt} to put it in");
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::Value;

    fn target(url: &str) -> Target {
        crate::config::target::parse_target(url, "GET", &[], None).unwrap()
    }

    #[test]
    fn openai_body_is_prepared_once() {
        let a = LlmArgs {
            openai: Some("m1".into()),
            prompt: Some("say \"hi\"\n".into()),
            max_tokens: Some(7),
            ..LlmArgs::default()
        };
        let mut t = target("http://127.0.0.1:1/v1/chat/completions");
        let s = setup(&a, &mut t, 1).unwrap();
        assert_eq!(t.method, Method::POST);
        assert!(s.rotation.is_none());
        assert_eq!(s.stream.format, ContentFormat::OpenAi);
        let v: Value = serde_json::from_slice(t.body.as_deref().unwrap()).unwrap();
        assert_eq!(v["model"], "m1");
        assert_eq!(v["messages"][0]["content"], "say \"hi\"\n");
        assert_eq!(v["stream"], true);
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert_eq!(v["max_tokens"], 7);
        assert!(
            t.headers
                .iter()
                .any(|(n, v)| n == CONTENT_TYPE && v == "application/json")
        );
    }

    #[test]
    fn dify_and_template_bodies() {
        let a = LlmArgs {
            dify: true,
            ..LlmArgs::default()
        };
        let mut t = target("http://127.0.0.1:1/v1/chat-messages");
        setup(&a, &mut t, 1).unwrap();
        let v: Value = serde_json::from_slice(t.body.as_deref().unwrap()).unwrap();
        assert_eq!(v["query"], DEFAULT_PROMPT);
        assert_eq!(v["response_mode"], "streaming");
        assert_eq!(v["conversation_id"], "");
        assert!(v["inputs"].as_object().unwrap().is_empty());

        let body = render(
            "{\"in\":\"{prompt}\",\"n\":{max_tokens}}",
            None,
            "a\"b\\c\u{1}é",
            Some(3),
        );
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["in"], "a\"b\\c\u{1}é");
        assert_eq!(v["n"], 3);
    }

    #[test]
    fn prompts_and_keys_rotate() {
        let dir = tempfile::tempdir().unwrap();
        let prompts = dir.path().join("p.txt");
        std::fs::write(&prompts, "one\n\n  \ntwo\r\nthree").unwrap();
        let keys = dir.path().join("k.txt");
        std::fs::write(&keys, "Bearer k1\n\nk2\n").unwrap();
        let a = LlmArgs {
            body_template: Some("{\"p\":\"{prompt}\"}".into()),
            prompts: Some(prompts),
            api_key_file: Some(keys),
            content_path: Some("a.b".into()),
            ..LlmArgs::default()
        };
        let mut t = target("http://127.0.0.1:1/x");
        let s = setup(&a, &mut t, 1).unwrap();
        let r = s.rotation.unwrap();
        let mut seen = Vec::new();
        for _ in 0..6 {
            let (body, key, _) = r.next();
            let v: Value = serde_json::from_slice(body.unwrap()).unwrap();
            seen.push((
                v["p"].as_str().unwrap().to_string(),
                key.unwrap().to_str().unwrap().to_string(),
            ));
        }
        let p: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(p, ["one", "two", "three", "one", "two", "three"]);
        assert_eq!(seen[0].1, "Bearer k1");
        assert_eq!(seen[1].1, "Bearer k2");
        let view = s.view.unwrap();
        assert_eq!((view.prompts, view.api_keys), (3, 2));
        assert_eq!(view.content, "path a.b");
        assert!(
            !format!("{t:?}").contains("k1"),
            "keys are sensitive in Debug"
        );
    }

    /// Every distinct body of a set-up, in the order requests send them (parsed as JSON).
    fn bodies(s: &LlmSetup, t: &Target) -> Vec<Value> {
        let n = s.view.as_ref().map_or(1, |v| v.prompts);
        (0..n)
            .map(|_| {
                let body = match &s.rotation {
                    Some(r) => r.next().0.cloned().unwrap(),
                    None => t.body.clone().unwrap(),
                };
                serde_json::from_slice(&body).unwrap()
            })
            .collect()
    }

    fn chat() -> Target {
        target("http://127.0.0.1:1/v1/chat/completions")
    }

    #[test]
    fn random_dataset_bodies() {
        let a = LlmArgs {
            openai: Some("m".into()),
            dataset: Some(vec!["random".into()]),
            input_len: Some(40),
            output_len: Some(9),
            num_prompts: Some(6),
            ignore_eos: true,
            system_prompt: Some("You are terse.".into()),
            ..LlmArgs::default()
        };
        let mut t = chat();
        let s = setup(&a, &mut t, 3).unwrap();
        let all = bodies(&s, &t);
        assert_eq!(all.len(), 6);
        for v in &all {
            let m = v["messages"].as_array().unwrap();
            assert_eq!(m.len(), 2);
            assert_eq!(
                (&m[0]["role"], &m[0]["content"]),
                (&"system".into(), &"You are terse.".into())
            );
            assert_eq!(m[1]["role"], "user");
            // The witness: whitespace-split words.
            assert_eq!(
                m[1]["content"].as_str().unwrap().split_whitespace().count(),
                40
            );
            assert_eq!(v["max_tokens"], 9);
            assert_eq!(v["ignore_eos"], true);
        }
        let view = s.view.unwrap();
        assert_eq!(view.prompts, 6);
        assert!(view.ignore_eos);
        assert_eq!(view.system_prompt_tokens, Some(4), "You are terse .");
        let d = view.dataset.unwrap();
        assert_eq!(
            (d.kind.as_str(), d.prompts, d.counted_by.as_str()),
            ("random", 6, "estimate")
        );
        assert_eq!((d.input_tokens.min, d.input_tokens.max), (40, 40));
        assert_eq!(d.max_tokens.map(|m| (m.min, m.max)), Some((9, 9)));
        assert_eq!(
            (d.input_len, d.output_len, d.range_ratio),
            (Some(40), Some(9), None)
        );

        // The seed decides the prompts.
        let again = bodies(&setup(&a, &mut chat(), 3).unwrap(), &t);
        assert_eq!(all, again);
        let mut t2 = chat();
        let other = setup(&a, &mut t2, 4).unwrap();
        assert_ne!(all, bodies(&other, &t2));
    }

    #[test]
    fn file_datasets_with_output_len_and_apis() {
        let dir = tempfile::tempdir().unwrap();
        let share = dir.path().join("s.json");
        std::fs::write(
            &share,
            r#"[{"conversations": [{"from": "human", "value": "q1"}, {"from": "gpt", "value": "a b c"}]},
                {"conversations": [{"from": "gpt", "value": "no question"}]},
                {"conversations": [{"from": "human", "value": "q2"}, {"from": "gpt", "value": "d"}]}]"#,
        )
        .unwrap();
        let lines = dir.path().join("p.jsonl");
        std::fs::write(
            &lines,
            "{\"prompt\": \"j1\", \"max_tokens\": 4}\n{\"prompt\": \"j2\"}\n",
        )
        .unwrap();
        let file =
            |kind: &str, path: &Path| Some(vec![kind.to_string(), path.display().to_string()]);

        let a = LlmArgs {
            openai: Some("m".into()),
            dataset: file("sharegpt", &share),
            ..LlmArgs::default()
        };
        let mut t = chat();
        let s = setup(&a, &mut t, 1).unwrap();
        let got: Vec<(String, u64)> = bodies(&s, &t)
            .iter()
            .map(|v| {
                (
                    v["messages"][0]["content"].as_str().unwrap().into(),
                    v["max_tokens"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, [("q1".into(), 3), ("q2".into(), 1)]);
        let d = s.view.unwrap().dataset.unwrap();
        assert_eq!((d.prompts, d.skipped), (2, 1));
        assert_eq!(d.file.as_deref(), Some(share.to_str().unwrap()));

        // --output-len overrides the file's lengths.
        let a = LlmArgs {
            output_len: Some(50),
            ..a
        };
        let mut t = chat();
        let s = setup(&a, &mut t, 1).unwrap();
        assert!(bodies(&s, &t).iter().all(|v| v["max_tokens"] == 50));

        // A template gets {system_prompt} and each line's {max_tokens}; --ignore-eos is
        // OpenAI's, and a line without max_tokens cannot fill the template.
        let a = LlmArgs {
            body_template: Some(
                "{\"s\":\"{system_prompt}\",\"p\":\"{prompt}\",\"n\":{max_tokens}}".into(),
            ),
            dataset: file("jsonl", &lines),
            system_prompt: Some("sys \"q\"".into()),
            ..LlmArgs::default()
        };
        let e = setup(&a, &mut target("http://127.0.0.1:1/x"), 1).unwrap_err();
        assert!(
            e.0.contains("1 of the dataset's prompts ask no max_tokens"),
            "{e}"
        );
        let a = LlmArgs {
            output_len: Some(2),
            ..a
        };
        let mut t = target("http://127.0.0.1:1/x");
        let s = setup(&a, &mut t, 1).unwrap();
        let got: Vec<(String, String, u64)> = bodies(&s, &t)
            .iter()
            .map(|v| {
                (
                    v["s"].as_str().unwrap().into(),
                    v["p"].as_str().unwrap().into(),
                    v["n"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("sys \"q\"".into(), "j1".into(), 2),
                ("sys \"q\"".into(), "j2".into(), 2)
            ]
        );

        // Dify has no max_tokens: the ShareGPT caps are not sent, and the view says so.
        let a = LlmArgs {
            dify: true,
            dataset: file("sharegpt", &share),
            ..LlmArgs::default()
        };
        let mut t = target("http://127.0.0.1:1/v1/chat-messages");
        let s = setup(&a, &mut t, 1).unwrap();
        let all = bodies(&s, &t);
        assert_eq!(all[1]["query"], "q2");
        assert!(all.iter().all(|v| v.get("max_tokens").is_none()));
        let d = s.view.unwrap().dataset.unwrap();
        assert_eq!((d.max_tokens, d.max_tokens_asked), (None, 0));
    }

    #[test]
    fn workload_flags_are_checked() {
        let openai = || LlmArgs {
            openai: Some("m".into()),
            ..LlmArgs::default()
        };
        let random = || LlmArgs {
            dataset: Some(vec!["random".into()]),
            input_len: Some(10),
            ..openai()
        };
        let t = |t: &str| Some(t.to_string());
        let ds = |k: &[&str]| Some(k.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let d = LlmArgs::default;
        #[rustfmt::skip]
        let cases: Vec<(LlmArgs, &str)> = vec![
            (LlmArgs { input_len: Some(5), ..openai() }, "--input-len goes with --dataset"),
            (LlmArgs { output_len: Some(5), ..openai() }, "--output-len goes with --dataset"),
            (LlmArgs { num_prompts: Some(5), ..openai() }, "--num-prompts goes with --dataset"),
            (LlmArgs { input_len: None, ..random() }, "--dataset random needs --input-len"),
            (LlmArgs { range_ratio: Some(1.0), ..random() }, "--range-ratio 1 is outside"),
            (LlmArgs { range_ratio: Some(-0.1), ..random() }, "outside 0 <= R < 1"),
            (LlmArgs { range_ratio: Some(f64::NAN), ..random() }, "outside 0 <= R < 1"),
            (LlmArgs { input_len: Some(0), ..random() }, "--input-len must be at least 1"),
            (LlmArgs { num_prompts: Some(0), ..random() }, "--num-prompts must be at least 1"),
            (LlmArgs { num_prompts: Some(100_000), input_len: Some(1000), ..random() }, "lower --num-prompts"),
            (LlmArgs { max_tokens: Some(5), ..random() }, "write --output-len"),
            (LlmArgs { prompt: t("x"), ..random() }, "--dataset and --prompt"),
            (LlmArgs { dataset: ds(&["random", "f"]), ..random() }, "reads no file"),
            (LlmArgs { dataset: ds(&["sharegpt"]), ..openai() }, "needs a file"),
            (LlmArgs { dataset: ds(&["csv", "f"]), ..openai() }, "not a dataset kind"),
            (LlmArgs { dataset: ds(&["jsonl", "f"]), input_len: Some(3), ..openai() }, "--input-len goes with --dataset random"),
            (LlmArgs { dataset: ds(&["jsonl", "/nonexistent/f"]), ..openai() }, "cannot read the file"),
            (LlmArgs { dataset: ds(&["sharegpt", "/"]), ..openai() }, "it is a directory"),
            (LlmArgs { dataset: ds(&["random"]), ..d() }, "--dataset needs --openai"),
            (LlmArgs { ignore_eos: true, ..d() }, "--ignore-eos goes with --openai"),
            (LlmArgs { ignore_eos: true, dify: true, ..d() }, "--ignore-eos goes with --openai"),
            (LlmArgs { ignore_eos: true, ..openai() }, "--ignore-eos needs a length"),
            (LlmArgs { ignore_eos: true, ..random() }, "give --output-len"),
            (LlmArgs { system_prompt: t("s"), dify: true, ..d() }, "Dify's chat-messages API has no system message"),
            (LlmArgs { system_prompt: t("s"), ..d() }, "--system-prompt needs --openai"),
            (LlmArgs { system_prompt: t(" "), ..openai() }, "--system-prompt is empty"),
            (LlmArgs { system_prompt: t("s"), body_template: t("{\"p\":\"{prompt}\"}"), ..d() }, "no {system_prompt}"),
        ];
        for (a, want) in cases {
            let e = setup(&a, &mut chat(), 1).unwrap_err();
            assert!(e.0.contains(want), "{a:?}: '{e}' lacks '{want}'");
        }
    }

    #[test]
    fn urls_suggest_a_format() {
        assert_eq!(guess_format("/v1/chat/completions"), ContentFormat::OpenAi);
        assert_eq!(guess_format("/v1/chat-messages"), ContentFormat::Dify);
        assert_eq!(guess_format("/events"), ContentFormat::Raw);
    }
}
