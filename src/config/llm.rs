//! The LLM flags (`--openai`, `--dify`, `--body-template`, `--prompt(s)`, `--api-key(-file)`,
//! `--max-tokens`, `--stream`, `--content-path`) into an [`LlmSetup`], with messages a user can
//! act on.

use std::path::Path;
use std::sync::Arc;

use ureq::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use ureq::http::{HeaderName, HeaderValue, Method};

use crate::cli::LlmArgs;
use crate::config::target::Target;
use crate::error::UsageError;
use crate::error::bad;
use crate::stream::{ContentFormat, Tokenizer};
use crate::traffic::llm::{
    Api, DEFAULT_PROMPT, LlmSetup, LlmView, Rotation, StreamSetup, bearer, describe, dify_body,
    guess_format, openai_body, parse_api_keys, parse_prompts, render,
};

/// Check the LLM flags and fold them into `target`: method POST, a JSON Content-Type, the
/// first body and key (the rest go to [`Rotation`]).
///
/// # Errors
///
/// When flags conflict (two APIs, `-d` with one, a key given twice), a flag lacks what it needs
/// (`--prompt` without an API, a template without `{prompt}`), a value is bad (an empty model,
/// `--max-tokens 0`), or a file is unreadable, not UTF-8 or empty; `target` is then unchanged.
pub fn setup(a: &LlmArgs, target: &mut Target) -> Result<LlmSetup, UsageError> {
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

    let mut bodies: Vec<Arc<[u8]>> = Vec::new();
    let mut prompts = 0;
    if let Some(api) = api {
        let list = prompt_list(a)?;
        prompts = list.len();
        let template = match (api, &a.body_template) {
            (Api::Template, Some(t)) => Some(read_template(t, a.max_tokens.is_some())?),
            _ => None,
        };
        bodies = list
            .iter()
            .map(|p| match api {
                Api::OpenAi => openai_body(a.openai.as_deref().unwrap_or(""), p, a.max_tokens),
                Api::Dify => dify_body(p),
                Api::Template => render(template.as_deref().unwrap_or(""), p, a.max_tokens),
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
    let rotation =
        (bodies.len() > 1 || keys.len() > 1).then(|| Arc::new(Rotation::new(bodies, keys.clone())));
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
    });
    Ok(LlmSetup {
        stream: StreamSetup {
            forced: a.stream,
            format,
            tokenizer,
        },
        rotation,
        view,
    })
}

fn add_header_if_absent(target: &mut Target, name: HeaderName, value: &'static str) {
    if !target.headers.iter().any(|(n, _)| *n == name) {
        target.headers.push((name, HeaderValue::from_static(value)));
    }
}

/// The prompts: `--prompt`, the lines of `--prompts`, or the default one.
fn prompt_list(a: &LlmArgs) -> Result<Vec<String>, UsageError> {
    if let Some(p) = &a.prompt {
        return Ok(vec![p.clone()]);
    }
    let Some(path) = &a.prompts else {
        return Ok(vec![DEFAULT_PROMPT.to_string()]);
    };
    let text = read_text(path, "--prompts")?;
    parse_prompts(&path.display().to_string(), &text)
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

fn read_template(t: &str, max_tokens: bool) -> Result<String, UsageError> {
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
    if max_tokens && !text.contains("{max_tokens}") {
        return bad("--max-tokens: the --body-template has no {max_tokens} to put it in");
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
        let s = setup(&a, &mut t).unwrap();
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
        setup(&a, &mut t).unwrap();
        let v: Value = serde_json::from_slice(t.body.as_deref().unwrap()).unwrap();
        assert_eq!(v["query"], DEFAULT_PROMPT);
        assert_eq!(v["response_mode"], "streaming");
        assert_eq!(v["conversation_id"], "");
        assert!(v["inputs"].as_object().unwrap().is_empty());

        let body = render(
            "{\"in\":\"{prompt}\",\"n\":{max_tokens}}",
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
        let s = setup(&a, &mut t).unwrap();
        let r = s.rotation.unwrap();
        let mut seen = Vec::new();
        for _ in 0..6 {
            let (body, key) = r.next();
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

    #[test]
    fn urls_suggest_a_format() {
        assert_eq!(guess_format("/v1/chat/completions"), ContentFormat::OpenAi);
        assert_eq!(guess_format("/v1/chat-messages"), ContentFormat::Dify);
        assert_eq!(guess_format("/events"), ContentFormat::Raw);
    }
}
