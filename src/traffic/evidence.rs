//! The first few attempts of each failure kind and each error status, kept as evidence: when,
//! which target, the status, the response headers and the first 1 KiB of the body, secrets
//! masked. Claiming a slot is one relaxed atomic load while the quota is open and nothing more
//! once it is full, so the hot path pays nothing measurable.

use std::sync::atomic::{AtomicU8, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::redact::Redactor;
use crate::sample::FailureKind;

/// Samples kept per failure kind and per error status.
pub const PER_KIND: u8 = 3;
/// Body bytes kept per sample.
pub const BODY_BYTES: usize = 1024;
/// Status codes that get their own quota (larger codes share the last one).
const STATUS_SLOTS: usize = 600;

/// One kept sample.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    /// Wall-clock time the answer (or failure) came, UTC, RFC 3339 with milliseconds.
    pub time: String,
    /// Seconds since the start of the run.
    pub elapsed_s: f64,
    /// The target's name (`METHOD URL`, or its `name=`), secrets masked.
    pub target: String,
    /// The URL this attempt was sent to, secrets masked.
    pub url: String,
    /// Attempt number of the logical request (1 = the first).
    pub attempt: u32,
    /// HTTP status, when a response came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Failure kind key (`connect`, `timeout`, ...), when no complete response came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The client's error message for a failure, secrets masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why a response with a success status failed a check (`--expect-*`), secrets masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// Response header lines, secret values as `***`.
    #[serde(default)]
    pub headers: Vec<String>,
    /// The first bytes of the body (at most 1 KiB; invalid UTF-8 replaced), secrets masked.
    #[serde(default)]
    pub body: String,
    /// True when the body was longer than what is kept.
    #[serde(default)]
    pub body_truncated: bool,
}

impl Evidence {
    /// `status 503` or `failure timeout`.
    pub fn kind(&self) -> String {
        if self.check.is_some() {
            return "check".into();
        }
        match (&self.status, &self.failure) {
            (Some(code), _) => format!("status {code}"),
            (None, Some(kind)) => format!("failure {kind}"),
            (None, None) => "other".into(),
        }
    }
}

/// Quotas and the kept samples of one run (shared by every user).
#[derive(Debug)]
pub struct EvidenceStore {
    statuses: Box<[AtomicU8]>,
    failures: Box<[AtomicU8]>,
    checks: AtomicU8,
    kept: Mutex<Vec<Evidence>>,
    pub redactor: Redactor,
}

fn claim(slot: &AtomicU8) -> bool {
    slot.load(Ordering::Relaxed) < PER_KIND && slot.fetch_add(1, Ordering::Relaxed) < PER_KIND
}

impl EvidenceStore {
    /// An empty store that masks with `redactor`.
    pub fn new(redactor: Redactor) -> Self {
        EvidenceStore {
            statuses: (0..STATUS_SLOTS).map(|_| AtomicU8::new(0)).collect(),
            failures: FailureKind::ALL.iter().map(|_| AtomicU8::new(0)).collect(),
            checks: AtomicU8::new(0),
            kept: Mutex::new(Vec::new()),
            redactor,
        }
    }

    /// Take a slot for an error status; false once this status has its samples.
    pub fn claim_status(&self, code: u16) -> bool {
        claim(&self.statuses[usize::from(code).min(STATUS_SLOTS - 1)])
    }

    /// Take a slot for a failure kind; false once this kind has its samples.
    pub fn claim_failure(&self, kind: FailureKind) -> bool {
        claim(&self.failures[kind.index()])
    }

    /// Take a slot for a check failure; false once checks have their samples.
    pub fn claim_check(&self) -> bool {
        claim(&self.checks)
    }

    /// Is a slot for a check failure left (without taking it)?
    pub fn check_open(&self) -> bool {
        self.checks.load(Ordering::Relaxed) < PER_KIND
    }

    /// Keep a sample (whose slot was claimed).
    pub fn keep(&self, e: Evidence) {
        self.kept.lock().push(e);
    }

    /// The kept samples, grouped by kind, in the order they came.
    pub fn take(&self) -> Vec<Evidence> {
        let mut all = std::mem::take(&mut *self.kept.lock());
        all.sort_by(|a, b| {
            (a.check.is_some(), a.status.is_none(), a.status, &a.failure)
                .partial_cmp(&(b.check.is_some(), b.status.is_none(), b.status, &b.failure))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.elapsed_s.total_cmp(&b.elapsed_s))
        });
        all
    }

    /// Mask and trim a body prefix for keeping.
    pub fn body_text(&self, prefix: &[u8], total: u64) -> (String, bool) {
        let kept = &prefix[..prefix.len().min(BODY_BYTES)];
        (
            self.redactor.text(&String::from_utf8_lossy(kept)),
            total > kept.len() as u64,
        )
    }
}

/// The evidence section of the text summary (empty when nothing was kept).
pub fn summary(kept: &[Evidence]) -> String {
    use std::fmt::Write as _;
    if kept.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\nEvidence (first {PER_KIND} of each error status, failure kind and failed check, secrets \
         masked):\n"
    );
    for e in kept {
        // The URL once: the target's name already ends with it unless placeholders made it.
        let url = if e.target.ends_with(e.url.as_str()) {
            String::new()
        } else {
            format!(": {}", e.url)
        };
        let _ = writeln!(
            out,
            "  [{}] {} at {} (+{:.3}s), attempt {}{url}",
            e.kind(),
            e.target,
            e.time,
            e.elapsed_s,
            e.attempt,
        );
        if let Some(err) = &e.error {
            let _ = writeln!(out, "    error: {err}");
        }
        if let Some(why) = &e.check {
            let _ = writeln!(out, "    check: {why}");
        }
        for h in &e.headers {
            let _ = writeln!(out, "    < {h}");
        }
        if !e.body.is_empty() {
            let body: String = e
                .body
                .chars()
                .take(200)
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let more = if e.body_truncated || e.body.chars().count() > 200 {
                " ..."
            } else {
                ""
            };
            let _ = writeln!(out, "    body: {}{more}", body.trim_end());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_shows_a_url_once_unless_placeholders_made_it() {
        let e = |target: &str, url: &str| Evidence {
            time: "2026-11-30T00:00:00.000Z".into(),
            elapsed_s: 0.5,
            target: target.into(),
            url: url.into(),
            attempt: 1,
            status: None,
            failure: Some("connect".into()),
            error: Some("Connection refused".into()),
            check: None,
            headers: Vec::new(),
            body: String::new(),
            body_truncated: false,
        };
        let plain = summary(&[e("GET http://h:1/a", "http://h:1/a")]);
        assert_eq!(plain.matches("http://h:1/a").count(), 1, "{plain}");
        let rendered = summary(&[e("GET http://h:1/{{id}}", "http://h:1/7")]);
        assert!(rendered.contains("attempt 1: http://h:1/7"), "{rendered}");
    }

    #[test]
    fn quotas_close_after_a_few() {
        let store = EvidenceStore::new(Redactor::default());
        let taken = (0..10).filter(|_| store.claim_status(503)).count();
        assert_eq!(taken, usize::from(PER_KIND));
        assert!(store.claim_status(500));
        assert!(store.claim_status(9999));
        let taken = (0..10)
            .filter(|_| store.claim_failure(FailureKind::Timeout))
            .count();
        assert_eq!(taken, usize::from(PER_KIND));
        let (body, cut) = store.body_text(&[b'x'; 2000], 5000);
        assert_eq!((body.len(), cut), (BODY_BYTES, true));
    }
}
