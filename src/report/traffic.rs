//! The traffic flags as the report shows them (secrets never included).

use serde::{Deserialize, Serialize};

use crate::traffic::plan::TrafficConfig;

/// The traffic flags as the report shows them (secrets never included).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrafficInfo {
    /// `--targets` file and order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets_file: Option<String>,
    /// `--targets-order`: weighted, random or round-robin (with several targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets_order: Option<String>,
    /// Target names (secrets masked) with their weights.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetInfo>,
    /// `--auth-file` and how many values it holds (the values are never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_file: Option<String>,
    /// How many `--auth-file` values there are (0 without one).
    #[serde(default)]
    pub auth_values: usize,
    /// `--data` file, its columns and row count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_file: Option<String>,
    /// The `--data` columns, in file order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_columns: Vec<String>,
    /// The `--data` rows (0 without a file).
    #[serde(default)]
    pub data_rows: usize,
    /// `--think-time` as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_time: Option<String>,
    /// `--ok-status` as written (default 200-399).
    pub ok_status: String,
    /// The checks on each response (`--expect-status`, `--expect-body`, `--expect-json`), as
    /// written (`status 200,201`, `body contains "ok"`, `json data.status = ok`), secrets
    /// masked; empty without checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
    /// `--cookies`: each user kept its own cookie jar.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cookies: bool,
    /// `--retries` and `--retry-backoff` (ms).
    pub retries: u32,
    /// `--retry-backoff`: the first retry's backoff, milliseconds.
    pub retry_backoff_ms: f64,
    /// `--redact` names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redact: Vec<String>,
    /// `--seed` (or the one chosen), when random choices were made.
    pub seed: u64,
}

/// A target as the report shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetInfo {
    /// `name=`, or `METHOD URL` with secrets masked.
    pub name: String,
    /// `weight=`: its share of the requests (1 when not given).
    pub weight: u32,
}

impl TrafficInfo {
    /// The report view of `cfg`.
    pub fn of(cfg: &TrafficConfig) -> Self {
        let many = cfg.requests.len() > 1 || cfg.targets_file.is_some();
        TrafficInfo {
            targets_file: cfg.targets_file.clone(),
            targets_order: many.then(|| cfg.order.name().to_string()),
            targets: if many {
                cfg.requests
                    .iter()
                    .map(|r| TargetInfo {
                        name: r.name.clone(),
                        weight: r.weight,
                    })
                    .collect()
            } else {
                Vec::new()
            },
            auth_file: cfg.auth_file.clone(),
            auth_values: cfg.auth.len(),
            data_file: cfg.data.as_ref().map(|d| d.path.clone()),
            data_columns: cfg
                .data
                .as_ref()
                .map_or_else(Vec::new, |d| d.columns.clone()),
            data_rows: cfg.data.as_ref().map_or(0, |d| d.rows.len()),
            think_time: cfg.think.map(|t| t.display()),
            ok_status: cfg.ok_status.text.clone(),
            checks: cfg
                .checks
                .describe()
                .iter()
                .map(|c| cfg.redactor.text(c))
                .collect(),
            cookies: cfg.cookies,
            retries: cfg.retry.retries,
            retry_backoff_ms: cfg.retry.backoff.as_secs_f64() * 1e3,
            redact: cfg.redactor.names().to_vec(),
            seed: cfg.seed,
        }
    }
}
