//! The per-second line on stderr.

use std::io::Write;

use crate::config::Config;
use crate::parse::format_duration;
use crate::stats::rows::SecondReport;

/// Format one second: elapsed, active users, QPS, p50/p99 latency, errors, failures.
pub fn format_second(r: &SecondReport) -> String {
    let line = format!(
        "[{:>5}s] users {:>5} | qps {:>8} | p50 {:>9} | p99 {:>9} | errors {:>6} | failures {:>6}",
        r.second,
        r.users,
        r.requests,
        ms(r.p50_ms),
        ms(r.p99_ms),
        r.errors,
        r.failures
    );
    match &r.stream {
        None => line,
        // Streaming runs: time to first token, inter-token latency, output tokens/s.
        Some(st) => format!(
            "{line} | ttft p50 {:>9} | itl p50 {:>9} | tok/s {:>8.1}",
            ms(st.ttft_p50_ms),
            ms(st.itl_p50_ms),
            st.output_tokens_per_s
        ),
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2} ms"))
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
        let line = format_second(&r);
        for part in [
            "3s]",
            "users     8",
            "qps     1234",
            "p50   0.50 ms",
            "p99   2.25 ms",
            "errors     30",
            "failures      4",
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
        let line = format_second(&streamed);
        for part in ["ttft p50  51.50 ms", "itl p50  10.25 ms", "tok/s     80.0"] {
            assert!(line.contains(part), "'{line}' lacks '{part}'");
        }
    }
}
