//! `qpsbench compare` in text: a row per run with its change from the baseline beneath, then
//! each run's `--fail-on` verdicts. Every column is as wide as its longest cell: 100 columns
//! with everyday figures, wider (never misaligned) with a huge change.

use crate::output::table::{KEEP, Table};
use crate::report::compare::{ComparedRun, Comparison};
use crate::stats::hdr::{cell, percent};

/// The widest run name shown; a longer one is cut in the middle, at a `…`.
const NAME_WIDTH: usize = 24;

/// The whole comparison.
pub fn render(c: &Comparison) -> String {
    let mut out = format!(
        "Compared with {} (the first run, the baseline): changes of qps and latency in %,\n\
         of the error and failure rates in percentage points (pp)\n\n",
        crate::parse::one_line(c.baseline.clone())
    );
    // Each column as wide as its longest cell (a change of +290725.6% too), at least as wide
    // as usual: 94 columns in all with names of up to 24 characters and everyday figures.
    let mut t = Table::new()
        .column("run", false, 13, KEEP)
        .column("requests", true, 9, KEEP)
        .column("qps", true, 10, KEEP)
        .column("p50 ms", true, 9, KEEP)
        .column("p90 ms", true, 9, KEEP)
        .column("p99 ms", true, 9, KEEP)
        .column("error %", true, 8, KEEP)
        .column("failure %", true, 9, KEEP);
    // Names cut to NAME_WIDTH, unless two would then read the same: then whole.
    let cut: Vec<String> = c
        .runs
        .iter()
        .map(|r| shown_name(&r.name, &r.status, NAME_WIDTH))
        .collect();
    let distinct: std::collections::HashSet<&String> = cut.iter().collect();
    let names = if distinct.len() == cut.len() {
        cut
    } else {
        c.runs
            .iter()
            .map(|r| shown_name(&r.name, &r.status, usize::MAX))
            .collect()
    };
    for (r, name) in c.runs.iter().zip(names) {
        t.row([
            name,
            r.requests.to_string(),
            format!("{:.1}", r.qps),
            cell(r.p50_ms, 3),
            cell(r.p90_ms, 3),
            cell(r.p99_ms, 3),
            percent(r.error_rate),
            percent(r.failure_rate),
        ]);
        if r.baseline {
            t.row(["  (baseline)"]);
        } else {
            t.row(change_cells(r));
        }
    }
    out.push_str(&t.render(None));
    for r in c.runs.iter().filter(|r| !r.thresholds.is_empty()) {
        out.push_str(&crate::report::thresholds::summary_titled(
            &format!(
                "Thresholds of {}{}",
                crate::parse::one_line(r.name.clone()),
                r.status_words()
            ),
            &r.thresholds,
        ));
    }
    out
}

/// ` (interrupted)`, ` (aborted)`: a run that did not end as planned; empty for a complete one.
fn status_suffix(status: &str) -> String {
    if status == "complete" {
        String::new()
    } else {
        format!(" ({status})")
    }
}

/// `  vs baseline   -50.6%  +1047.6% ...`: a run's changes under its figures.
fn change_cells(r: &ComparedRun) -> [String; 8] {
    let pct = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:+.1}%"));
    let pp = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:+.2}pp"));
    [
        "  vs baseline".to_string(),
        String::new(),
        pct(r.qps_change_pct),
        pct(r.p50_change_pct),
        pct(r.p90_change_pct),
        pct(r.p99_change_pct),
        pp(r.error_rate_change_pp),
        pp(r.failure_rate_change_pp),
    ]
}

/// The name as it fits `width` characters with its status (`new (interrupted)`), control
/// characters escaped (a report file says what it likes).
fn shown_name(name: &str, status: &str, width: usize) -> String {
    let name = crate::parse::one_line(name.to_string());
    let suffix = status_suffix(status);
    let room = width.max(NAME_WIDTH) - suffix.chars().count();
    if name.chars().count() <= room {
        return name + &suffix;
    }
    // Cut in the middle: names of one series differ at their end (`...-run-1`, `...-run-2`).
    let chars: Vec<char> = name.chars().collect();
    let head = (room - 1) / 2;
    let tail = room - 1 - head;
    let mut cut: String = chars[..head].iter().collect();
    cut.push('…');
    cut.extend(&chars[chars.len() - tail..]);
    cut + &suffix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_name_is_cut_in_the_middle_to_its_column() {
        let name = |i: u32| format!("checkout-service-production-canary-eu-west-1-run-{i}");
        // 11 characters, the ellipsis, the last 12: 24 in all.
        assert_eq!(
            shown_name(&name(1), "complete", NAME_WIDTH),
            "checkout-se…west-1-run-1"
        );
        assert_eq!(
            shown_name(&name(2), "complete", NAME_WIDTH),
            "checkout-se…west-1-run-2"
        );
        // The status suffix keeps its room: 24 - 14 = 10 for the name.
        assert_eq!(
            shown_name(&name(1), "interrupted", NAME_WIDTH),
            "chec…run-1 (interrupted)"
        );
        assert_eq!(
            shown_name("short", "aborted", NAME_WIDTH),
            "short (aborted)"
        );
        assert_eq!(
            shown_name(&"x".repeat(24), "complete", NAME_WIDTH),
            "x".repeat(24)
        );
    }
}
