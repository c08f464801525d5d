//! What happens around a request: `--think-time` (the pause after each of a user's requests)
//! and `--ok-status` (which statuses count as success).

use std::time::Duration;

use crate::parse::{format_duration, parse_duration};

/// `--think-time D` or `D1..D2`: the pause after each of a user's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThinkTime {
    pub min: Duration,
    pub max: Duration,
}

impl ThinkTime {
    /// A pause: `min`, or uniformly random in `[min, max]`.
    pub fn sample(&self, rng: &mut fastrand::Rng) -> Duration {
        if self.max <= self.min {
            return self.min;
        }
        let span = (self.max - self.min).as_micros() as u64;
        self.min + Duration::from_micros(rng.u64(0..=span))
    }

    /// As written: `1s` or `100ms..2s`.
    pub fn display(&self) -> String {
        if self.max <= self.min {
            format_duration(self.min)
        } else {
            format!(
                "{}..{}",
                format_duration(self.min),
                format_duration(self.max)
            )
        }
    }
}

/// Parse `--think-time`.
///
/// # Errors
///
/// When the text, or either side of `..`, is not a duration (see [`parse_duration`]), or the
/// range goes down; the message says how to write it.
pub fn parse_think_time(text: &str) -> Result<ThinkTime, String> {
    let (min, max) = match text.split_once("..") {
        Some((a, b)) => (parse_duration(a.trim())?, parse_duration(b.trim())?),
        None => {
            let d = parse_duration(text.trim())?;
            (d, d)
        }
    };
    if max < min {
        return Err(format!(
            "'{text}': the range goes down; write the shorter pause first, e.g. 100ms..2s"
        ));
    }
    Ok(ThinkTime { min, max })
}

/// `--ok-status`: which statuses are successes (every other status is an HTTP error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OkStatus {
    bits: [u64; 10],
    /// As written, for the report.
    pub text: String,
}

impl Default for OkStatus {
    /// 2xx and 3xx.
    fn default() -> Self {
        parse_ok_status("200-399").expect("a valid default")
    }
}

impl OkStatus {
    /// Is `code` a success?
    pub fn is_ok(&self, code: u16) -> bool {
        let c = usize::from(code);
        c < 640 && self.bits[c / 64] & (1 << (c % 64)) != 0
    }
}

/// Parse `--ok-status 200-299,304`.
///
/// # Errors
///
/// When a code is not a whole number from 100 to 599 (an empty part included), or a range `A-B`
/// goes down.
pub fn parse_ok_status(text: &str) -> Result<OkStatus, String> {
    let mut bits = [0u64; 10];
    for part in text.split(',') {
        let part = part.trim();
        let code = |s: &str| match s.trim().parse::<u16>() {
            Ok(c @ 100..=599) => Ok(c),
            _ => Err(format!(
                "'{s}' is not a status code (100-599): write e.g. 200-299,304"
            )),
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (code(a)?, code(b)?),
            None => {
                let c = code(part)?;
                (c, c)
            }
        };
        if hi < lo {
            return Err(format!("'{part}': the range goes down"));
        }
        for c in lo..=hi {
            bits[usize::from(c) / 64] |= 1 << (c % 64);
        }
    }
    Ok(OkStatus {
        bits,
        text: text.trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn think_time_and_ok_status_parse() {
        let t = parse_think_time("100ms..300ms").unwrap();
        let mut rng = fastrand::Rng::with_seed(1);
        for _ in 0..100 {
            let d = t.sample(&mut rng);
            assert!(d >= Duration::from_millis(100) && d <= Duration::from_millis(300));
        }
        assert_eq!(
            parse_think_time("1s").unwrap().sample(&mut rng),
            Duration::from_secs(1)
        );
        assert!(
            parse_think_time("2s..1s")
                .unwrap_err()
                .contains("goes down")
        );
        let ok = parse_ok_status("200-299, 304").unwrap();
        assert!(ok.is_ok(200) && ok.is_ok(299) && ok.is_ok(304));
        assert!(!ok.is_ok(302) && !ok.is_ok(404) && !ok.is_ok(700));
        let default = OkStatus::default();
        assert!(default.is_ok(302) && !default.is_ok(400));
        assert!(parse_ok_status("2xx").is_err());
        assert!(parse_ok_status("300-200").is_err());
    }
}
