//! Goodput (`--goodput 'ttft<200ms,tpot<50ms,e2el<2s'`): the requests per second that met every
//! service-level objective, as vLLM's `bench serve --goodput` defines it (DistServe, OSDI '24):
//! a request counts when each of its named metrics is within its limit; goodput is their
//! number over the window's length.
//!
//! Metrics (per request, milliseconds; `200ms`, `1.5s`, `250us`, a bare number is ms):
//! `ttft` (send start -> first content event), `tpot` ((last token - first token) /
//! (tokens - 1); an answer of one token has none and meets it, as vLLM counts 0), `e2el`
//! (send start -> end of the response, the request's latency). `<=` is "at most" (vLLM's
//! rule), `<` "below".
//!
//! A request that failed, got an error status, failed a check or streamed an incomplete
//! answer is never good; a `ttft` objective is missed by a response without content.

use std::time::Duration;

use crate::sample::Sample;
use crate::stats::bucket::counts_as_ok;
use crate::stats::thresholds::{Unit, parse_limit};

/// Are two `--goodput` objective lists (as written; `None`: no `--goodput`) the same, compared
/// as parsed (`ttft<200ms` and `ttft < 200ms` are the same)? Goodput counts only add up, and
/// goodput changes only compare, under the same objectives.
pub fn same_objectives(a: Option<&str>, b: Option<&str>) -> bool {
    let slos = |g: Option<&str>| g.map(|g| Goodput::parse(g).map(|g| g.slos).ok());
    slos(a) == slos(b)
}

/// `--goodput 'ttft<200ms'`, or `no --goodput`: a run's objectives in a message.
pub fn objectives_words(g: Option<&str>) -> String {
    g.map_or_else(
        || "no --goodput".to_string(),
        |g| format!("--goodput '{}'", crate::parse::one_line(g.to_string())),
    )
}

/// A goodput change in `thresholds` (`goodput>-5%`, `goodput-ratio>-1pp`) is measured against
/// a baseline counted under the same objectives: `baseline` and `run` are their `--goodput`
/// lists as written, `baseline_what` and `run_what` name them in the message. Absolute goodput
/// limits, and other metrics, do not care.
///
/// # Errors
///
/// One line naming the threshold and both objective lists.
pub fn check_baseline_objectives(
    thresholds: &[crate::stats::thresholds::Threshold],
    baseline: Option<&str>,
    baseline_what: &str,
    run: Option<&str>,
    run_what: &str,
) -> Result<(), String> {
    let Some(t) = thresholds
        .iter()
        .find(|t| t.absolute().is_none() && t.metric_name.starts_with("goodput"))
    else {
        return Ok(());
    };
    if same_objectives(baseline, run) {
        return Ok(());
    }
    Err(format!(
        "--fail-on '{}': {baseline_what} has {} and {run_what} has {}: a goodput change \
         compares runs judged by the same objectives (give a baseline run with the same \
         --goodput, or an absolute limit)",
        t.text,
        objectives_words(baseline),
        objectives_words(run)
    ))
}

/// What an objective limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SloMetric {
    Ttft,
    Tpot,
    E2el,
}

/// One objective: `metric < limit` or `metric <= limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slo {
    pub metric: SloMetric,
    /// `<=` (at most) rather than `<`.
    pub inclusive: bool,
    pub limit: Duration,
}

/// The `--goodput` objectives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goodput {
    pub slos: Vec<Slo>,
    /// As written (trimmed), for reports.
    pub text: String,
}

impl Goodput {
    /// Parse `ttft<200ms,tpot<=50ms,e2el<2s`.
    ///
    /// # Errors
    ///
    /// When a part is empty, names another metric, has no `<` / `<=`, or a limit that is not a
    /// duration above 0; the message quotes the part and shows the form.
    pub fn parse(spec: &str) -> Result<Goodput, String> {
        let mut slos: Vec<Slo> = Vec::new();
        for part in spec.split(',') {
            let text = part.trim();
            let why = |w: &str| {
                format!("--goodput '{text}': {w}: write e.g. 'ttft<200ms,tpot<50ms,e2el<2s'")
            };
            if text.is_empty() {
                return Err(why("an empty objective"));
            }
            let at = text.find(['<', '>', '=']).ok_or_else(|| why("no limit"))?;
            let name = text[..at].trim().to_ascii_lowercase();
            let rest = &text[at..];
            let (inclusive, value) = if let Some(v) = rest.strip_prefix("<=") {
                (true, v)
            } else if let Some(v) = rest.strip_prefix('<') {
                (false, v)
            } else {
                return Err(why("an objective is an upper limit, METRIC<VALUE"));
            };
            let metric = match name.as_str() {
                "ttft" => SloMetric::Ttft,
                "tpot" => SloMetric::Tpot,
                "e2el" | "latency" => SloMetric::E2el,
                other => {
                    return Err(why(&format!(
                        "unknown metric '{other}' (goodput knows ttft, tpot and e2el)"
                    )));
                }
            };
            if slos.iter().any(|s| s.metric == metric) {
                return Err(why(&format!("'{name}' is limited twice")));
            }
            let value = value.trim();
            if value.ends_with(|c: char| c.is_ascii_digit() || c == '.') {
                return Err(why(
                    "the limit needs a unit (a bare number reads as seconds in some flags and \
                     milliseconds in others): 200ms, 1.5s or 250us",
                ));
            }
            let limit = parse_limit(Unit::Ms, value)
                .map(|ms| Duration::from_secs_f64(ms / 1e3))
                .ok_or_else(|| why("the limit is not a duration (300ms, 1.5s, 250us)"))?;
            if limit.is_zero() {
                return Err(why("the limit must be above 0"));
            }
            slos.push(Slo {
                metric,
                inclusive,
                limit,
            });
        }
        Ok(Goodput {
            slos,
            text: spec.trim().to_string(),
        })
    }

    /// Did `s` meet every objective?
    pub fn judge(&self, s: &Sample) -> bool {
        if !counts_as_ok(s) {
            return false;
        }
        if let Some(st) = &s.stream
            && !st.end.is_complete()
        {
            return false;
        }
        self.slos.iter().all(|slo| {
            let value = match slo.metric {
                SloMetric::E2el => Some(s.end.saturating_duration_since(s.sent)),
                SloMetric::Ttft => s.stream.as_ref().and_then(|st| st.ttft),
                // One token (or none after a first): no gap, TPOT 0 (vLLM).
                SloMetric::Tpot => match &s.stream {
                    Some(st) if st.ttft.is_some() => Some(st.tpot().unwrap_or(Duration::ZERO)),
                    _ => None,
                },
            };
            value.is_some_and(|v| {
                if slo.inclusive {
                    v <= slo.limit
                } else {
                    v < slo.limit
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Outcome;
    use crate::stats::rows::GoodputRow;
    use crate::stream::{EndReason, StreamStats};
    use std::time::Instant;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn sample(ttft: Option<u64>, tokens: u32, gen_ms: u64, e2e: u64, status: u16) -> Sample {
        let t0 = Instant::now();
        Sample {
            stage: 1,
            scheduled: None,
            sent: t0,
            first_byte: Some(t0),
            end: t0 + ms(e2e),
            outcome: Outcome::Status(status),
            bytes: 1,
            stream: Some(StreamStats {
                ttft: ttft.map(ms),
                generation: ms(gen_ms),
                content_events: tokens,
                counted_tokens: tokens,
                end: EndReason::Done,
                ..StreamStats::default()
            }),
            tag: Default::default(),
        }
    }

    #[test]
    fn parses_objectives() {
        let g = Goodput::parse(" ttft<200ms, tpot<=50ms, e2el<2s ").unwrap();
        assert_eq!(g.text, "ttft<200ms, tpot<=50ms, e2el<2s");
        assert_eq!(
            g.slos,
            vec![
                Slo {
                    metric: SloMetric::Ttft,
                    inclusive: false,
                    limit: ms(200)
                },
                Slo {
                    metric: SloMetric::Tpot,
                    inclusive: true,
                    limit: ms(50)
                },
                Slo {
                    metric: SloMetric::E2el,
                    inclusive: false,
                    limit: ms(2000)
                },
            ]
        );
        for (bad, says) in [
            ("", "empty"),
            ("ttft<200ms,", "empty"),
            ("ttft", "no limit"),
            ("ttft>200ms", "upper limit"),
            ("itl<5ms", "unknown metric 'itl'"),
            ("ttft<1s,ttft<2s", "limited twice"),
            ("ttft<fast", "not a duration"),
            ("ttft<0ms", "above 0"),
            ("e2el<0.3", "needs a unit"),
        ] {
            let e = Goodput::parse(bad).unwrap_err();
            assert!(e.contains(says) && e.starts_with("--goodput"), "{bad}: {e}");
        }
    }

    #[test]
    fn judges_each_request() {
        let g = Goodput::parse("ttft<100ms,tpot<=10ms,e2el<1s").unwrap();
        // 11 tokens over 100 ms: TPOT exactly 10 ms (at most 10: good).
        assert!(g.judge(&sample(Some(50), 11, 100, 200, 200)));
        assert!(
            !g.judge(&sample(Some(100), 11, 100, 200, 200)),
            "ttft not below"
        );
        assert!(!g.judge(&sample(Some(50), 11, 110, 200, 200)), "tpot 11 ms");
        assert!(!g.judge(&sample(Some(50), 11, 100, 1000, 200)), "e2el");
        assert!(
            !g.judge(&sample(None, 0, 0, 200, 200)),
            "no content: no ttft"
        );
        assert!(!g.judge(&sample(Some(50), 11, 100, 200, 500)), "an error");
        // One token: TPOT 0.
        assert!(g.judge(&sample(Some(50), 1, 0, 60, 200)));
        let mut cut = sample(Some(50), 11, 100, 200, 200);
        cut.stream.as_mut().unwrap().end = EndReason::Cut;
        assert!(!g.judge(&cut));
        // e2el alone applies to plain responses too.
        let e2el = Goodput::parse("e2el<=200ms").unwrap();
        let mut plain = sample(None, 0, 0, 200, 200);
        plain.stream = None;
        assert!(e2el.judge(&plain));
        plain.outcome = Outcome::Failure(crate::sample::FailureKind::Timeout);
        assert!(!e2el.judge(&plain));
    }

    #[test]
    fn rows() {
        let r = GoodputRow::new(30, 40, Duration::from_secs(4));
        assert_eq!(r.goodput_per_s, 7.5);
        assert_eq!(r.goodput_ratio, Some(0.75));
        assert_eq!(
            GoodputRow::new(0, 0, Duration::from_secs(1)).goodput_ratio,
            None
        );
    }
}
