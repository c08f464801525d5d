//! The validated traffic plan: the requests a run may send, split for quick assembly, and the
//! settings around them (targets order, data, auth rotation, think time, success statuses,
//! retries, redaction). Built by `config::traffic` from the flags; read at run time by
//! [`super::run::TrafficRun`].

use std::sync::Arc;

use ureq::http::{HeaderName, HeaderValue, Method, Uri};

use crate::redact::Redactor;
use crate::traffic::data::DataSet;
use crate::traffic::policy::{OkStatus, ThinkTime};
use crate::traffic::retry::RetryPolicy;
use crate::traffic::targets::TargetsOrder;
use crate::traffic::template::{Template, Vars};

/// A request's URL: as parsed, or a template rendered per request.
#[derive(Debug, Clone)]
pub enum UrlPlan {
    Static(Uri),
    Template(Template),
}

/// A request's body.
#[derive(Debug, Clone)]
pub enum BodyPlan {
    None,
    Static(Arc<[u8]>),
    Template(Template),
}

/// One request a user may send, split for quick assembly.
#[derive(Debug, Clone)]
pub struct RequestPlan {
    /// For people: `name=`, or `METHOD URL` with secrets masked.
    pub name: String,
    pub method: Method,
    pub url: UrlPlan,
    /// Header values without placeholders.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Header values with placeholders.
    pub header_templates: Vec<(HeaderName, Template)>,
    pub body: BodyPlan,
    pub weight: u32,
}

impl RequestPlan {
    /// Does building this request need the request number (a `{{seq}}` or a data column)?
    pub fn needs_seq(&self) -> bool {
        let url = matches!(&self.url, UrlPlan::Template(t) if t.needs_seq());
        let body = matches!(&self.body, BodyPlan::Template(t) if t.needs_seq());
        url || body || self.header_templates.iter().any(|(_, t)| t.needs_seq())
    }

    /// Body size for the report (templates: their size with empty values).
    pub fn body_len(&self) -> usize {
        match &self.body {
            BodyPlan::None => 0,
            BodyPlan::Static(b) => b.len(),
            BodyPlan::Template(t) => t
                .render(
                    &Vars {
                        user: 0,
                        seq: 0,
                        row: &[],
                    },
                    false,
                )
                .len(),
        }
    }
}

/// The validated traffic flags.
#[derive(Debug, Clone, Default)]
pub struct TrafficConfig {
    /// At least one.
    pub requests: Vec<RequestPlan>,
    /// The `--targets` file, when there is one.
    pub targets_file: Option<String>,
    pub order: TargetsOrder,
    pub seed: u64,
    /// `--auth-file` values (empty: none), and the file.
    pub auth: Vec<HeaderValue>,
    pub auth_file: Option<String>,
    pub data: Option<Arc<DataSet>>,
    pub think: Option<ThinkTime>,
    pub ok_status: OkStatus,
    /// `--expect-status`, `--expect-body`, `--expect-json` (empty: none).
    pub checks: crate::traffic::check::Checks,
    /// `--cookies`: each user keeps the cookies the server sets and sends them back.
    pub cookies: bool,
    pub retry: RetryPolicy,
    pub redactor: Redactor,
    /// Some request needs the request number.
    pub needs_seq: bool,
}
