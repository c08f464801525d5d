//! Parsers for the small value languages of the command line: durations, counts, ramp specs,
//! wall-clock times.
//!
//! They are pure functions returning a message a user can act on; clap shows it after the flag.

use std::time::{Duration, SystemTime};

/// Parse a duration: a bare number is seconds (`10`, `2.5`), otherwise a number with a unit
/// (`250ms`, `30s`, `5m`, `1h`, `1m30s`).
///
/// # Errors
///
/// When the text is empty, is neither a number of seconds nor a number with units, is negative,
/// or is longer than a year (365 days); the message shows how to write one.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    duration_inner(text).map_err(one_line)
}

fn duration_inner(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration: write e.g. 10 (seconds), 30s, 500ms, 5m or 1h".into());
    }
    if t.starts_with('-') && t.len() > 1 {
        return Err(format!(
            "'{text}' is not a duration: a duration cannot be negative (write e.g. 30s)"
        ));
    }
    if let Ok(secs) = t.parse::<f64>() {
        if secs < 0.0 {
            return Err(format!(
                "'{text}' is not a duration: a duration cannot be negative (write e.g. 30s)"
            ));
        }
        if !secs.is_finite() {
            return Err(format!(
                "'{text}' is not a duration: write e.g. 10 (seconds), 30s, 500ms, 5m or 1h"
            ));
        }
        if secs > 365.0 * 86_400.0 {
            return Err(format!(
                "'{text}' is longer than a year: write a shorter duration"
            ));
        }
        return Ok(Duration::from_secs_f64(secs));
    }
    match humantime::parse_duration(t) {
        Ok(d) if d > Duration::from_secs(365 * 86_400) => Err(format!(
            "'{text}' is longer than a year: write a shorter duration"
        )),
        Ok(d) => Ok(d),
        Err(_) => Err(format!(
            "'{text}' is not a duration: write e.g. 10 (seconds), 30s, 500ms, 5m or 1h"
        )),
    }
}

/// Parse a positive count with an optional SI suffix: `1000`, `10k`, `1M`, `1_000_000`.
///
/// # Errors
///
/// When the text, without its `_` and an optional `k`, `M` or `G` suffix (either case), is not a
/// whole number, or the count does not fit in a `u64`.
pub fn parse_count(text: &str) -> Result<u64, String> {
    count_inner(text).map_err(one_line)
}

fn count_inner(text: &str) -> Result<u64, String> {
    let t: String = text.trim().chars().filter(|c| *c != '_').collect();
    let (digits, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1_000u64),
        Some('m' | 'M') => (&t[..t.len() - 1], 1_000_000),
        Some('g' | 'G') => (&t[..t.len() - 1], 1_000_000_000),
        _ => (&t[..], 1),
    };
    let bad = || format!("'{text}' is not a count: write a whole number such as 1000, 10k or 1M");
    let n: u64 = digits.parse().map_err(|_| bad())?;
    n.checked_mul(mult).ok_or_else(bad)
}

/// Parse a ramp: a comma list of users per stage (`0,4,8,16`), or a range with a step
/// (`50..200:50` = 50,100,150,200). Ranges and lists can be mixed: `0,10..40:10`.
///
/// # Errors
///
/// When a stage is empty or not a whole number of users, a range is not `START..END:STEP` or has
/// step 0, the ramp has more than [`MAX_RAMP_STAGES`] stages, or every stage is 0 users.
pub fn parse_ramp(text: &str) -> Result<Vec<usize>, String> {
    ramp_inner(text).map_err(one_line)
}

fn ramp_inner(text: &str) -> Result<Vec<usize>, String> {
    let mut stages = Vec::new();
    for part in text.split(',') {
        let p = part.trim();
        if p.is_empty() {
            return Err(format!(
                "ramp '{text}' has an empty stage: write users per stage, e.g. 0,4,8,16 or 50..200:50"
            ));
        }
        if let Some((range, step)) = p.split_once(':') {
            let (a, b) = range.split_once("..").ok_or_else(|| {
                format!("ramp stage '{p}' is not a range: write START..END:STEP, e.g. 50..200:50")
            })?;
            let (a, b, step) = (users_number(a)?, users_number(b)?, users_number(step)?);
            if step == 0 {
                return Err(format!(
                    "ramp stage '{p}' has step 0: the step must be at least 1"
                ));
            }
            // Count first: a range like 0..10000000:1 must not be built to be refused.
            if stages.len() + a.abs_diff(b) / step >= MAX_RAMP_STAGES {
                return Err(too_many_stages(text));
            }
            if a <= b {
                stages.extend((a..=b).step_by(step));
            } else {
                let mut u = a;
                loop {
                    stages.push(u);
                    match u.checked_sub(step) {
                        Some(next) if next >= b => u = next,
                        _ => break,
                    }
                }
            }
        } else {
            stages.push(users_number(p)?);
        }
    }
    if stages.len() > MAX_RAMP_STAGES {
        return Err(too_many_stages(text));
    }
    if stages.iter().all(|&u| u == 0) {
        return Err(format!(
            "ramp '{text}' never has any users: give at least one stage above 0"
        ));
    }
    Ok(stages)
}

/// A message for one line: control characters (a newline inside a quoted value, say) are
/// shown escaped, so that an error is always one line and cannot forge output lines.
pub fn one_line(msg: String) -> String {
    if !msg.contains(char::is_control) {
        return msg;
    }
    msg.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Text for a terminal: every control character but the newline shown escaped, as
/// [`one_line`] shows them (ESC as `\u{1b}`), so that a string read from a report file (a name,
/// a URL, a header) or sent by a server cannot move the cursor, retitle the window or clear
/// the screen.
pub fn terminal_text(text: &str) -> String {
    if !text.contains(|c: char| c.is_control() && c != '\n') {
        return text.to_string();
    }
    text.split('\n')
        .map(|line| one_line(line.to_string()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The most stages a ramp may have.
pub const MAX_RAMP_STAGES: usize = 10_000;

fn too_many_stages(text: &str) -> String {
    format!("ramp '{text}' has more than {MAX_RAMP_STAGES} stages")
}

fn users_number(text: &str) -> Result<usize, String> {
    text.trim().parse::<usize>().map_err(|_| {
        format!(
            "'{}' is not a number of users in the ramp: write e.g. 0,4,8,16",
            text.trim()
        )
    })
}

/// Parse a rate in requests per second: `200`, `0.5`, `10k`.
///
/// # Errors
///
/// When the text (with an optional `k` suffix) is not a number, or the rate is not above 0 and at
/// most 10M requests per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    rate_inner(text).map_err(one_line)
}

/// The lowest `--rps`: one request every 1,000 s. The slot clock counts picoseconds in a `u64`
/// (engine/limiter.rs): at this rate 18,000 slots fit, 208 days of them; a lower rate overflowed
/// it and was not paced at all (`--rps 1e-8` sent 87,193 requests in 2 s).
pub const MIN_RATE: f64 = 0.001;

fn rate_inner(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (digits, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1_000.0),
        Some('M') => (&t[..t.len() - 1], 1_000_000.0),
        _ => (t, 1.0),
    };
    match digits.parse::<f64>() {
        Ok(r) if r.is_finite() && r * mult >= MIN_RATE && r * mult <= 10_000_000.0 => Ok(r * mult),
        Ok(_) => Err(format!(
            "'{text}' is not a usable rate: it must be at least 0.001 (one request every 1,000 s) \
             and at most 10M requests per second"
        )),
        Err(_) => Err(format!(
            "'{text}' is not a rate: write requests per second, e.g. 200"
        )),
    }
}

/// Parse `--rps`: one rate (`200`, `1.5k`), or a target rate per stage: a list (`100,200,400`)
/// and ranges (`100..1000:100`, rising or falling), each rate as for one.
///
/// # Errors
///
/// When a rate is not a usable rate (see [`parse_rate`]), a part is empty, a range is malformed
/// or has step 0, or there are more than [`MAX_RAMP_STAGES`] rates.
pub fn parse_rates(text: &str) -> Result<Vec<f64>, String> {
    rates_inner(text).map_err(one_line)
}

fn rates_inner(text: &str) -> Result<Vec<f64>, String> {
    let mut rates = Vec::new();
    for part in text.split(',') {
        let p = part.trim();
        if p.is_empty() {
            return Err(format!(
                "'{text}' has an empty rate: write one rate per stage, e.g. 100,200,400 or \
                 100..1000:100"
            ));
        }
        let Some((range, step)) = p.split_once(':') else {
            rates.push(rate_inner(p)?);
            continue;
        };
        let (a, b) = range.split_once("..").ok_or_else(|| {
            format!("'{p}' is not a range of rates: write START..END:STEP, e.g. 100..1000:100")
        })?;
        let (a, b, step) = (rate_inner(a)?, rate_inner(b)?, rate_inner(step)?);
        // Count first: 1..10M:0.001 must not be built to be refused.
        let n = ((b - a).abs() / step + 1e-9).floor() as usize + 1;
        if rates.len() + n > MAX_RAMP_STAGES {
            return Err(format!(
                "'{text}' has more than {MAX_RAMP_STAGES} rates: use a larger step or --step"
            ));
        }
        let dir = if b >= a { 1.0 } else { -1.0 };
        rates.extend((0..n).map(|k| a + dir * step * k as f64));
    }
    if rates.len() > MAX_RAMP_STAGES {
        return Err(format!(
            "'{text}' has more than {MAX_RAMP_STAGES} rates: use a larger step or --step"
        ));
    }
    Ok(rates)
}

/// A rate for headers and row names: `400`, `2.5`, `0.001`.
pub fn format_rate(r: f64) -> String {
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        let s = format!("{r:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Render a duration compactly for tables and headers: `250ms`, `2.5s`, `5m`, `1h30m`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        let s = format!("{secs:.1}");
        return format!("{}s", s.trim_end_matches(".0"));
    }
    let total = d.as_secs();
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// An RFC 3339 wall-clock time: `2026-05-01T12:00:00Z`, `2026-05-01T14:00:00.5+02:00`.
///
/// # Errors
///
/// When there is no time zone (`Z` or `+HH:MM` / `-HH:MM`), the offset is out of range, there is
/// no `T` between date and time, or the date or time is malformed or does not exist (month 13).
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, String> {
    rfc3339_inner(text).map_err(one_line)
}

fn rfc3339_inner(text: &str) -> Result<SystemTime, String> {
    let t = text.trim();
    let hint = "write e.g. 2026-05-01T12:00:00Z";
    // humantime reads UTC only; apply a numeric offset ourselves.
    let (local, offset_s) = match t.strip_suffix(['Z', 'z']) {
        Some(local) => (local, 0i64),
        None => {
            let cut = t.len().saturating_sub(6);
            let (local, off) = t.split_at(t.floor_char_boundary(cut));
            let sign = match off.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => {
                    return Err(format!("'{t}' has no time zone (Z or +HH:MM): {hint}"));
                }
            };
            let (h, m) = off[1..]
                .split_once(':')
                .and_then(|(h, m)| Some((h.parse::<i64>().ok()?, m.parse::<i64>().ok()?)))
                .filter(|&(h, m)| h < 24 && m < 60)
                .ok_or_else(|| format!("'{t}' has a bad time zone offset: {hint}"))?;
            (local, sign * (h * 3600 + m * 60))
        }
    };
    if !local.contains(['T', 't']) {
        return Err(format!("'{t}' is not an RFC 3339 time: {hint}"));
    }
    let utc = humantime::parse_rfc3339(&format!("{local}Z"))
        .map_err(|e| format!("'{t}' is not an RFC 3339 time ({e}): {hint}"))?;
    let shift = Duration::from_secs(offset_s.unsigned_abs());
    Ok(if offset_s >= 0 {
        utc - shift
    } else {
        utc + shift
    })
}

/// `n` and its noun, singular for one: `1 user`, `3 users`, `0 users`.
pub fn count_of(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_escapes_every_control_but_the_newline() {
        assert_eq!(terminal_text("a\nb\n"), "a\nb\n");
        assert_eq!(
            terminal_text("x\u{1b}]0;t\u{7}\ny\rz\u{9b}\n"),
            "x\\u{1b}]0;t\\u{7}\ny\\rz\\u{9b}\n"
        );
    }

    #[test]
    fn rfc3339_times_with_offsets() {
        let z = parse_rfc3339("2026-05-01T12:00:00Z").unwrap();
        assert_eq!(parse_rfc3339("2026-05-01T14:00:00+02:00").unwrap(), z);
        assert_eq!(parse_rfc3339("2026-05-01T07:30:00-04:30").unwrap(), z);
        let frac = parse_rfc3339("2026-05-01T12:00:00.250Z").unwrap();
        assert_eq!(frac.duration_since(z).unwrap(), Duration::from_millis(250));
        for bad in [
            "2026-05-01 12:00:00",
            "2026-05-01T12:00:00",
            "tomorrow",
            "2026-05-01T12:00:00+2:00x",
            "2026-13-01T12:00:00Z",
            "",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        for bad in ["", "abc", "-1", "10x", "nan", "inf", "2y"] {
            assert!(parse_duration(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("1000"), Ok(1000));
        assert_eq!(parse_count("10k"), Ok(10_000));
        assert_eq!(parse_count("1M"), Ok(1_000_000));
        assert_eq!(parse_count("1_000_000"), Ok(1_000_000));
        for bad in ["", "-5", "1.5", "k", "99999999999999999999", "20000000000G"] {
            assert!(parse_count(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn ramps() {
        assert_eq!(parse_ramp("0,4,8,16"), Ok(vec![0, 4, 8, 16]));
        assert_eq!(parse_ramp("50..200:50"), Ok(vec![50, 100, 150, 200]));
        assert_eq!(parse_ramp("0, 10..30:10"), Ok(vec![0, 10, 20, 30]));
        assert_eq!(parse_ramp("200..50:50"), Ok(vec![200, 150, 100, 50]));
        assert_eq!(parse_ramp("1..10:4"), Ok(vec![1, 5, 9]));
        assert_eq!(parse_ramp("8,4"), Ok(vec![8, 4]));
        for bad in ["", "0,0", "a,b", "1,,2", "1..5", "1..5:0", "5:1", "-1,2"] {
            assert!(parse_ramp(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn huge_or_edge_ranges_are_refused_without_building_them() {
        // Found by reasoning and kept as fuzz regressions: the range used to be built (gigabytes)
        // before the stage count was checked, and a descending range next to usize::MAX
        // overflowed `b + step` (a panic in debug builds).
        let max = usize::MAX;
        for text in [
            format!("0..{max}:1"),
            "1..10000000000:1".to_string(),
            format!("1,2,3,0..{}:1", MAX_RAMP_STAGES - 3),
        ] {
            let err = parse_ramp(&text).unwrap_err();
            assert!(err.contains("more than 10000 stages"), "{text}: {err}");
        }
        assert_eq!(parse_ramp(&format!("{max}..{}:5", max - 1)), Ok(vec![max]));
        assert_eq!(parse_ramp(&format!("{max}..0:{max}")), Ok(vec![max, 0]));
        assert_eq!(parse_ramp("10..0:3"), Ok(vec![10, 7, 4, 1]));
        assert_eq!(
            parse_ramp(&format!("1,0..{}:1", MAX_RAMP_STAGES - 2)).map(|v| v.len()),
            Ok(MAX_RAMP_STAGES)
        );
    }

    #[test]
    fn errors_are_one_line_whatever_the_input() {
        // Found by the `units` fuzz target: the input was echoed with its newline.
        let err = parse_count("\0\0\n\0\0\0\0\u{1}\u{7}").unwrap_err();
        assert!(!err.contains('\n') && err.contains("\\n"), "{err}");
        for err in [
            parse_duration("1\n2").unwrap_err(),
            parse_ramp("1,\n").unwrap_err(),
            parse_rate("5\rx").unwrap_err(),
            parse_rfc3339("2026-05-01\nT12:00:00Z").unwrap_err(),
        ] {
            assert!(!err.contains(['\n', '\r']), "{err}");
        }
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("200"), Ok(200.0));
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        assert_eq!(parse_rate("10k"), Ok(10_000.0));
        assert_eq!(
            parse_rate("10M"),
            Ok(10_000_000.0),
            "the largest rate, as its message writes it"
        );
        assert_eq!(parse_rate("0.001"), Ok(MIN_RATE));
        for bad in ["0", "-1", "x", "nan", "inf", "1e300", "1e-8", "0.0009"] {
            assert!(parse_rate(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn counts_take_the_singular_for_one() {
        assert_eq!(count_of(1, "user", "users"), "1 user");
        assert_eq!(count_of(0, "user", "users"), "0 users");
        assert_eq!(count_of(3, "late slot", "late slots"), "3 late slots");
    }

    #[test]
    fn formatting() {
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(2500)), "2.5s");
        assert_eq!(format_duration(Duration::from_secs(10)), "10s");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    }
}
