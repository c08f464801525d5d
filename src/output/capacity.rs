//! `qpsbench find` in text: a row per step as it ends, the table of every step, and the answer.

use std::fmt::Write as _;

use crate::report::capacity::{By, Capacity, Step};
use crate::stats::hdr::{cell, percent};

/// The table's header line: by rate a step's target and its users, by users its users.
pub fn header(by: By) -> String {
    let load = match by {
        By::Rate => format!("{:>12} {:>6}", "target/s", "users"),
        By::Users => format!("{:>6}", "users"),
    };
    format!(
        "{:>4} {load} {:>12} {:>9} {:>10} {:>10} {:>7} {:>7}  verdict",
        "step", "achieved/s", "requests", "p50 ms", "p99 ms", "err %", "fail %"
    )
}

/// One step's row: its load, what it achieved, and `pass` or `FAIL: why`.
pub fn row(s: &Step) -> String {
    let load = match s.target_rps {
        Some(r) => format!("{:>12} {:>6}", crate::parse::format_rate(r), s.users),
        None => format!("{:>6}", s.users),
    };
    let verdict = s.verdict();
    format!(
        "{:>4} {load} {:>12.1} {:>9} {:>10} {:>10} {:>7} {:>7}  {verdict}",
        s.step,
        s.achieved_responses_per_s,
        s.requests,
        cell(s.p50_ms, 3),
        cell(s.p99_ms, 3),
        percent(s.error_rate),
        percent(s.failure_rate),
    )
}

/// The whole result: the steps sorted by load, then the answer line.
pub fn render(c: &Capacity) -> String {
    let mut out = format!("\nSteps by load (SLO {}):\n{}\n", c.slo, header(c.by));
    let mut steps: Vec<&Step> = c.steps.iter().collect();
    steps.sort_by(|a, b| {
        let load = |s: &Step| s.target_rps.unwrap_or(s.users as f64);
        load(a).total_cmp(&load(b))
    });
    for s in steps {
        let _ = writeln!(out, "{}", row(s));
    }
    let _ = writeln!(out, "\nCapacity: {}", c.answer());
    out
}
