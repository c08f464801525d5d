//! The per-second line on stderr.

use std::io::Write;

use crate::config::Config;
use crate::output::progress::Standing;
use crate::parse::format_duration;
use crate::stats::rows::SecondReport;

/// The widest a live line is: it fits a 100-column terminal.
pub const LINE_WIDTH: usize = 100;

/// Format one second, then as many of the words of `standing` (the requests done, the time
/// left) as fit in [`LINE_WIDTH`]; a terminal's progress bar says them all. A plain second:
/// elapsed, active users, QPS (paced: with its share of the target), p50 and p99 latency,
/// errors, failures. A streamed second puts the second's median time to first token,
/// inter-token latency and output tokens/s in place of the latency percentiles (the whole
/// answer's time is in the summary).
pub fn format_second(r: &SecondReport, standing: &Standing) -> String {
    let share = standing
        .rate
        .map(|(percent, _)| format!(" ({percent:>3.0}%)"))
        .unwrap_or_default();
    let mut line = match &r.stream {
        None => format!(
            "[{:>3}s] users {:>3} | qps {:>5}{share} | p50 {:>6} p99 {:>6} | err {:>3} fail {:>3}",
            r.second,
            r.users,
            r.requests,
            ms(r.p50_ms),
            ms(r.p99_ms),
            r.errors,
            r.failures
        ),
        Some(st) => format!(
            "[{:>3}s] users {:>3} | qps {:>4}{share} | ttft {:>6} itl {:>6} tok/s {:>5.0} | err {:>3} fail {:>3}",
            r.second,
            r.users,
            r.requests,
            ms(st.ttft_p50_ms),
            ms(st.itl_p50_ms),
            st.output_tokens_per_s,
            r.errors,
            r.failures
        ),
    };
    for w in &standing.rest {
        if line.chars().count() + 3 + w.chars().count() <= LINE_WIDTH {
            line.push_str(" | ");
            line.push_str(w);
        }
    }
    line
}

/// Milliseconds in at most 6 characters, the unit with them: `0.07ms`, `51.5ms`, `250ms`,
/// `1.25s`, `30.0s`; `-` when nothing was measured.
fn ms(v: Option<f64>) -> String {
    let Some(v) = v else {
        return "-".into();
    };
    // Whole seconds and more in seconds: `1.25s` rather than `1250ms`.
    let forms = if v < 999.5 {
        [
            format!("{v:.2}ms"),
            format!("{v:.1}ms"),
            format!("{v:.0}ms"),
        ]
    } else {
        let s = v / 1e3;
        [format!("{s:.2}s"), format!("{s:.1}s"), format!("{s:.0}s")]
    };
    forms
        .into_iter()
        .find(|f| f.len() <= 6)
        .unwrap_or_else(|| format!("{:.0}s", v / 1e3))
}

/// The pacing of a run in words: `target 400 req/s`, `target 100, 200, 400 req/s by stage`,
/// with `, poisson arrivals` when slots are random.
fn rate_words(cfg: &Config) -> String {
    let s = &cfg.schedule;
    let Some(rate) = s.target_rate() else {
        return "no rate limit (closed loop)".to_string();
    };
    let mut words = if s.rate_stages() {
        let rates: Vec<String> = s
            .measured()
            .iter()
            .filter_map(|st| st.rate.map(crate::parse::format_rate))
            .collect();
        format!("target {} req/s by stage", rates.join(", "))
    } else {
        format!("target {} req/s", crate::parse::format_rate(rate))
    };
    match cfg.arrival {
        crate::config::schedule::Arrival::Constant => {}
        crate::config::schedule::Arrival::Gamma { shape: 1.0, .. } => {
            words.push_str(", poisson arrivals");
        }
        crate::config::schedule::Arrival::Gamma { shape, .. } => {
            words.push_str(&format!(", gamma arrivals (burstiness {shape})"));
        }
    }
    words
}

/// Print one live line on stderr (ignoring a closed stderr).
pub fn print_line(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The line that opens a run.
pub fn header(cfg: &Config) -> String {
    let stages = cfg.schedule.measured();
    // The measured run's length (the schedule's, less the warm-up).
    let warmup = cfg.schedule.warmup();
    let end = cfg
        .schedule
        .end()
        .map(|e| e.saturating_sub(warmup.unwrap_or_default()));
    let ramp_up = match stages {
        [up, hold] => match (up.shape, up.len) {
            (crate::config::schedule::Shape::Linear(n), Some(len)) => Some((n, len, hold.len)),
            _ => None,
        },
        _ => None,
    };
    let shape = if let Some((n, len, hold)) = ramp_up {
        // `--ramp-up`: say it as it is, not as the two stages it is made of.
        let mut s = format!(
            "ramp-up to {} over {}",
            crate::parse::count_of(n as u64, "user", "users"),
            format_duration(len)
        );
        if let Some(hold) = hold {
            s.push_str(&format!(", then {}", format_duration(hold)));
        }
        s
    } else if stages.len() > 1 && stages.windows(2).all(|w| w[0].users() == w[1].users()) {
        // Rate stages at one concurrency: the users, and the stages in time (the rates follow).
        let len = stages[0].len.map(format_duration).unwrap_or_default();
        format!(
            "{}, {} of {len}",
            crate::parse::count_of(stages[0].users() as u64, "user", "users"),
            crate::parse::count_of(stages.len() as u64, "stage", "stages")
        )
    } else if stages.len() > 1 {
        let users: Vec<String> = stages.iter().map(|s| s.users().to_string()).collect();
        match end {
            Some(end) => format!("ramp {} over {}", users.join(","), format_duration(end)),
            None => format!("ramp {}", users.join(",")),
        }
    } else {
        let mut s = crate::parse::count_of(cfg.users as u64, "user", "users");
        if let Some(end) = end {
            s.push_str(&format!(", {}", format_duration(end)));
        }
        s
    };
    let shape = match warmup {
        Some(w) => format!("warm-up {}, then {shape}", format_duration(w)),
        None => shape,
    };
    let requests = cfg
        .requests
        .map(|n| format!(", {}", crate::parse::count_of(n, "request", "requests")))
        .unwrap_or_default();
    let rate = rate_words(cfg);
    let proxy = match &cfg.proxy {
        Some(p) => format!("proxy {}", crate::redact::mask_url(p)),
        None => "no proxy".into(),
    };
    let name = cfg
        .name
        .as_ref()
        .map(|n| format!(" [{n}]"))
        .unwrap_or_default();
    let iterations = cfg
        .iterations
        .map(|n| {
            format!(
                " ({} each)",
                crate::parse::count_of(n, "iteration", "iterations")
            )
        })
        .unwrap_or_default();
    format!(
        "qpsbench {}{name}: {} {} | {}{}{iterations} | {} | timeout {} | {}",
        env!("CARGO_PKG_VERSION"),
        crate::config::display_method(cfg),
        crate::config::display_target(cfg),
        shape,
        requests,
        rate,
        format_duration(cfg.timeout),
        proxy
    )
}

/// A run's configuration from `run` arguments after a loopback `--url`, for the tests of the
/// live line and its progress words.
#[cfg(test)]
pub(crate) fn test_config(args: &[&str]) -> Config {
    let mut argv = vec!["qpsbench", "run", "--url", "http://127.0.0.1:9/"];
    argv.extend_from_slice(args);
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    Config::try_from(crate::cli::parse_run_args(&argv).unwrap()).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Config {
        test_config(args)
    }

    #[test]
    fn the_header_says_the_load_shape_in_words() {
        let h = header(&config(&["-c", "8", "--ramp-up", "2s", "-z", "6"]));
        assert!(h.contains("ramp-up to 8 users over 2s, then 6s"), "{h}");
        let h = header(&config(&["-c", "1", "-z", "3"]));
        assert!(h.contains("| 1 user, 3s"), "{h}");
        let h = header(&config(&["--ramp", "0,4", "--step", "1s"]));
        assert!(h.contains("ramp 0,4 over 2s"), "{h}");
        // Rate stages at one concurrency are not a "ramp 4,4".
        let h = header(&config(&["-c", "4", "--rps", "10,20", "--step", "1s"]));
        assert!(
            h.contains("| 4 users, 2 stages of 1s | target 10, 20 req/s by stage"),
            "{h}"
        );
        let h = header(&config(&["-c", "2", "--warmup", "3s", "-z", "5"]));
        assert!(h.contains("| warm-up 3s, then 2 users, 5s |"), "{h}");
        // The warm-up's rate is not a stage's.
        let h = header(&config(&[
            "-c", "4", "--warmup", "1s", "--rps", "100,300", "--step", "1s",
        ]));
        assert!(h.contains("| target 100, 300 req/s by stage"), "{h}");
        let h = header(&config(&["-c", "2", "--iterations", "3", "--name", "b1"]));
        assert!(
            h.contains("[b1]") && h.contains("6 requests (3 iterations each)"),
            "{h}"
        );
    }

    #[test]
    fn second_line_has_every_field() {
        let r = SecondReport {
            second: 3,
            interval_s: 1.0,
            users: 8,
            requests: 1234,
            ok: 1200,
            errors: 30,
            failures: 4,
            check_failures: 0,
            p50_ms: Some(0.5),
            p90_ms: Some(1.0),
            p99_ms: Some(2.25),
            max_ms: Some(9.0),
            hdr_latency_us: String::new(),
            ttfb_p50_ms: None,
            ttfb_p99_ms: None,
            hdr_ttfb_us: String::new(),
            stream: None,
            good_requests: None,
        };
        let line = format_second(&r, &Standing::default());
        for part in [
            "[  3s]",
            "users   8",
            "qps  1234",
            "p50 0.50ms",
            "p99 2.25ms",
            "err  30",
            "fail   4",
        ] {
            assert!(line.contains(part), "'{line}' lacks '{part}'");
        }
        assert!(
            !line.contains("ttft"),
            "plain runs show no stream fields: {line}"
        );
        let mut streamed = r.clone();
        streamed.stream = Some(
            crate::stats::stream::StreamBucket::new().second(std::time::Duration::from_secs(1)),
        );
        let mut st = streamed.stream.take().unwrap();
        (st.streams, st.gaps, st.ttft_p50_ms, st.itl_p50_ms) = (4, 76, Some(51.5), Some(10.25));
        st.output_tokens_per_s = 80.0;
        streamed.stream = Some(st);
        let line = format_second(&streamed, &Standing::default());
        for part in ["ttft 51.5ms", "itl 10.2ms", "tok/s    80 |"] {
            assert!(line.contains(part), "'{line}' lacks '{part}'");
        }
    }

    #[test]
    fn milliseconds_take_at_most_six_characters() {
        let cases = [
            (0.071, "0.07ms"),
            (9.99, "9.99ms"),
            (9.996, "10.0ms"),
            (51.46, "51.5ms"),
            (250.2, "250ms"),
            (999.7, "1.00s"),
            (1250.0, "1.25s"),
            (30_000.0, "30.00s"),
            (123_456.0, "123.5s"),
            (1_234_567.0, "1235s"),
        ];
        for (v, text) in cases {
            assert_eq!(ms(Some(v)), text, "{v}");
        }
        assert_eq!(ms(None), "-");
    }

    #[test]
    fn words_are_added_while_the_line_fits() {
        let mut r = SecondReport::from_bucket(
            7,
            std::time::Duration::from_secs(1),
            2,
            &crate::stats::bucket::Bucket::new(false),
        );
        r.requests = 50;
        let standing = Standing {
            rate: Some((100.0, 50.0)),
            rest: vec!["45% of 300 requests".to_string(), "59s left".to_string()],
        };
        let line = format_second(&r, &standing);
        assert!(line.contains("| qps    50 (100%) | p50"), "{line}");
        assert!(line.ends_with("fail   0 | 45% of 300 requests"), "{line}");
        assert!(line.chars().count() <= LINE_WIDTH, "{line}");
        // A word that does not fit is left to the bar; a later, shorter one still comes.
        let standing = Standing {
            rate: None,
            rest: vec!["x".repeat(40), "3s left".to_string()],
        };
        let line = format_second(&r, &standing);
        assert!(line.ends_with("fail   0 | 3s left"), "{line}");
    }
}
