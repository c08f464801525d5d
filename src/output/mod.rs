//! What people read in the terminal.

pub mod capacity;
pub mod compare;
pub mod live;
pub mod progress;
pub mod stream_summary;
pub mod summary;
pub mod table;
pub mod traffic_summary;

/// `key: count` pairs on one line, two spaces apart, or `none`.
pub fn counts_line(counts: &std::collections::BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "none".into();
    }
    let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    parts.join("  ")
}
