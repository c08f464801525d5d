//! Reading saved JSON reports back and combining several into one: counts add, percentiles come
//! from the added histograms (never averaged), and per-second series line up on wall-clock
//! seconds.

use std::path::Path;
use std::time::Duration;

use crate::error::{UsageError, bad};
use crate::report::{REPORT_FORMAT, Report, RunConfig};
use crate::stats::bucket::Bucket;
use crate::stats::hdr::{decode_histogram, latency_bins};
use crate::stats::rows::SecondReport;

/// Bins in the text latency histogram of a merged report (as in a run's).
const HISTOGRAM_BINS: usize = 10;

/// Read a JSON report written by `qpsbench run --json` or `qpsbench merge --json`.
///
/// # Errors
///
/// When the file cannot be read, is not JSON, is not a qpsbench report of this report format,
/// or holds a histogram that cannot be decoded; the message names the file.
pub fn load(path: &Path) -> Result<Report, UsageError> {
    let shown = path.display();
    let bytes = std::fs::read(path)
        .map_err(|e| UsageError(format!("{shown}: cannot read the report: {e}")))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| UsageError(format!("{shown}: not JSON: {e}")))?;
    if value.get("tool").and_then(|t| t.as_str()) != Some("qpsbench") {
        // Another qpsbench file (`find --json`, `compare --json`): say what it is.
        let kind = value.get("kind").and_then(|k| k.as_str());
        if let Some(what) = kind.and_then(|k| k.strip_prefix("qpsbench-")) {
            let what = match what {
                "find" => "a qpsbench find result".to_string(),
                "compare" => "a qpsbench comparison".to_string(),
                other => format!(
                    "a qpsbench {} file",
                    crate::parse::one_line(other.to_string())
                ),
            };
            return bad(format!(
                "{shown}: {what}, not a run report: give the --json of qpsbench run (or merge)"
            ));
        }
        return bad(format!(
            "{shown}: not a qpsbench report (it has no \"tool\": \"qpsbench\")"
        ));
    }
    let version = value
        .get("version")
        .and_then(|v| v.as_str())
        .unwrap_or("unknown");
    match value.get("report_format").and_then(|f| f.as_u64()) {
        Some(f) if f == u64::from(REPORT_FORMAT) => {}
        Some(f) => {
            return bad(format!(
                "{shown}: report format {f} (qpsbench {version}) is not format {REPORT_FORMAT} \
                 that qpsbench {} reads; use the qpsbench that wrote it",
                env!("CARGO_PKG_VERSION")
            ));
        }
        None => {
            return bad(format!(
                "{shown}: written by qpsbench {version} without mergeable histograms; \
                 run it again with qpsbench {}",
                env!("CARGO_PKG_VERSION")
            ));
        }
    }
    let report: Report = serde_json::from_value(value)
        .map_err(|e| UsageError(format!("{shown}: not a complete qpsbench report: {e}")))?;
    // Decode every histogram now, so that a damaged report fails here with its name.
    for s in std::iter::once(&report.total).chain(&report.stages) {
        Bucket::from_report(s).map_err(|e| UsageError(format!("{shown}: {}: {e}", s.name)))?;
    }
    for s in &report.seconds {
        decode_histogram(&s.hdr_latency_us)
            .map_err(|e| UsageError(format!("{shown}: second {}: {e}", s.second)))?;
        if !s.hdr_ttfb_us.is_empty() {
            decode_histogram(&s.hdr_ttfb_us)
                .map_err(|e| UsageError(format!("{shown}: second {}: {e}", s.second)))?;
        }
        if let Some(st) = &s.stream {
            crate::stats::stream::StreamBucket::new()
                .add_second(st)
                .map_err(|e| UsageError(format!("{shown}: second {}: {e}", s.second)))?;
        }
    }
    Ok(report)
}

/// Read `--baseline FILE` (a report, as [`load`] reads it) and check that it has a value for
/// every change in `thresholds` (`p99<+10%`) to be measured against, and that a goodput change
/// compares runs of the same objectives: `run_goodput` is the judged run's `--goodput` as
/// written, `run_what` names that run in the message (`this run`, `new.json`).
///
/// # Errors
///
/// As [`load`], or when the baseline lacks a stage or a measured value a change needs, or was
/// judged by other goodput objectives than a goodput change needs.
pub fn load_baseline(
    path: &Path,
    thresholds: &[crate::stats::thresholds::Threshold],
    run_goodput: Option<&str>,
    run_what: &str,
) -> Result<crate::stats::thresholds::Baseline, UsageError> {
    let shown = path.display().to_string();
    let report = load(path).map_err(|e| UsageError(format!("--baseline {e}")))?;
    let baseline = report.as_baseline(&shown);
    crate::stats::goodput::check_baseline_objectives(
        thresholds,
        baseline.goodput.as_deref(),
        &format!("--baseline {shown}"),
        run_goodput,
        run_what,
    )
    .map_err(UsageError)?;
    baseline
        .check(thresholds, &format!("--baseline {shown}"))
        .map_err(UsageError)?;
    Ok(baseline)
}

/// Check that the reports can be combined: same version, same target, same schedule shape, all
/// paced or none.
fn check_compatible(inputs: &[(String, Report)]) -> Result<(), UsageError> {
    let Some((first_name, first)) = inputs.first() else {
        return bad("nothing to merge: give at least one report");
    };
    for (name, r) in &inputs[1..] {
        if r.version != first.version {
            return bad(format!(
                "{first_name} was written by qpsbench {} and {name} by qpsbench {}: merge \
                 reports of one version",
                first.version, r.version
            ));
        }
        let (a, b) = (&first.config, &r.config);
        if a.method != b.method || a.url != b.url {
            return bad(format!(
                "{first_name} measured {} {} and {name} {} {}: merge runs of one target",
                a.method, a.url, b.method, b.url
            ));
        }
        if first.stages.len() != r.stages.len() {
            return bad(format!(
                "{first_name} has {} and {name} has {}: merge runs of the same schedule \
                 (--ramp / --ramp-up)",
                crate::parse::count_of(first.stages.len() as u64, "stage", "stages"),
                crate::parse::count_of(r.stages.len() as u64, "stage", "stages")
            ));
        }
        if a.rps.is_some() != b.rps.is_some() {
            let (paced, open) = if a.rps.is_some() {
                (first_name, name)
            } else {
                (name, first_name)
            };
            return bad(format!(
                "{paced} was paced by --rps and {open} was not: their response times cannot be \
                 combined"
            ));
        }
        let model = |r: &Report| r.config.llm.as_ref().and_then(|l| l.model.clone());
        if model(r) != model(first) {
            let says = |m: Option<String>| {
                m.map_or_else(|| "no --openai model".into(), |m| format!("model {m}"))
            };
            return bad(format!(
                "{first_name} asked {} and {name} {}: merge runs of one model",
                says(model(first)),
                says(model(r))
            ));
        }
        // The objectives as parsed: `ttft<200ms` and `ttft < 200ms` are the same.
        let (mine, theirs) = (first.config.goodput.as_deref(), r.config.goodput.as_deref());
        if !crate::stats::goodput::same_objectives(mine, theirs) {
            return bad(format!(
                "{first_name} has {} and {name} has {}: goodput counts only add up under the \
                 same objectives",
                crate::stats::goodput::objectives_words(mine),
                crate::stats::goodput::objectives_words(theirs)
            ));
        }
    }
    for (i, (name, r)) in inputs.iter().enumerate() {
        // One run given twice (the same file, or a copy) would count every request twice.
        if let Some((other, _)) = inputs[..i].iter().find(|(_, o)| same_run(o, r)) {
            return bad(format!(
                "{other} and {name} are the same run: merging it twice would count each of its \
                 requests twice"
            ));
        }
    }
    Ok(())
}

/// Are two reports of one run (the same file, or a copy): the same start, requests and
/// latency histogram?
pub fn same_run(a: &Report, b: &Report) -> bool {
    a.started_at_unix_ms == b.started_at_unix_ms
        && a.total.requests == b.total.requests
        && a.total.hdr.latency_us == b.total.hdr.latency_us
}

/// Combine named reports (the names are for error messages) into one.
///
/// # Errors
///
/// When the reports cannot be combined: different qpsbench versions, targets or schedules, some
/// paced and some not, or a histogram that cannot be added; the message names the report.
pub fn merge(inputs: &[(String, Report)]) -> Result<Report, UsageError> {
    check_compatible(inputs)?;
    let reports: Vec<&Report> = inputs.iter().map(|(_, r)| r).collect();
    let first = reports[0];
    let fail = |what: &str, e: String| UsageError(format!("merging {what}: {e}"));

    let rps = reports
        .iter()
        .map(|r| r.config.rps)
        .sum::<Option<f64>>()
        .map(|v| (v * 1e6).round() / 1e6);

    // Whole run: from the earliest start to the latest end.
    let start_ms = reports
        .iter()
        .map(|r| r.started_at_unix_ms)
        .min()
        .unwrap_or(0);
    let end_ms = reports
        .iter()
        .map(|r| r.started_at_unix_ms + (r.elapsed_s * 1e3).round() as u64)
        .max()
        .unwrap_or(start_ms);
    let elapsed = Duration::from_millis(end_ms - start_ms);

    let mut total = Bucket::from_report(&first.total).map_err(|e| fail("totals", e))?;
    for r in &reports[1..] {
        let b = Bucket::from_report(&r.total).map_err(|e| fail("totals", e))?;
        total.add(&b).map_err(|e| fail("totals", e))?;
    }
    let users: usize = reports.iter().map(|r| r.total.users).sum();
    let mut total_report = total.report("total", users, elapsed, rps);
    total_report.unsent_slots = reports.iter().map(|r| r.total.unsent_slots).sum();

    let mut stages = Vec::with_capacity(first.stages.len());
    for (i, stage) in first.stages.iter().enumerate() {
        let mut b = Bucket::from_report(stage).map_err(|e| fail(&stage.name, e))?;
        let mut duration_s = stage.duration_s;
        let mut users = stage.users;
        for r in &reports[1..] {
            let s = &r.stages[i];
            b.add(&Bucket::from_report(s).map_err(|e| fail(&stage.name, e))?)
                .map_err(|e| fail(&stage.name, e))?;
            duration_s = duration_s.max(s.duration_s);
            users += s.users;
        }
        // Each run's target for this stage (rate stages differ by stage); together, their sum.
        let target = reports
            .iter()
            .map(|r| r.stages[i].target_rps)
            .sum::<Option<f64>>()
            .map(|v| (v * 1e6).round() / 1e6);
        let name = merged_stage_name(&stage.name, users, target);
        let mut row = b.report(&name, users, Duration::from_secs_f64(duration_s), target);
        row.unsent_slots = reports.iter().map(|r| r.stages[i].unsent_slots).sum();
        row.targets = merge_targets(
            &reports
                .iter()
                .map(|r| &r.stages[i].targets[..])
                .collect::<Vec<_>>(),
        )?;
        stages.push(row);
    }

    let (series_start_ms, seconds) = merge_seconds(&reports)?;

    // Warm-up rows add up when every run warmed up.
    let warmup = match reports
        .iter()
        .map(|r| r.warmup.as_ref())
        .collect::<Option<Vec<_>>>()
    {
        Some(rows) => {
            let mut b = Bucket::from_report(rows[0]).map_err(|e| fail("warmup", e))?;
            for w in &rows[1..] {
                b.add(&Bucket::from_report(w).map_err(|e| fail("warmup", e))?)
                    .map_err(|e| fail("warmup", e))?;
            }
            let users = rows.iter().map(|w| w.users).sum();
            let len = rows.iter().map(|w| w.duration_s).fold(0.0, f64::max);
            let target = rows.iter().map(|w| w.target_rps).sum::<Option<f64>>();
            Some(b.report("warmup", users, Duration::from_secs_f64(len), target))
        }
        None => None,
    };
    // A name they all share names the merged run.
    let name = first
        .name
        .clone()
        .filter(|n| reports.iter().all(|r| r.name.as_deref() == Some(n)));
    Ok(Report {
        name,
        warmup,
        tool: "qpsbench".into(),
        version: first.version.clone(),
        report_format: REPORT_FORMAT,
        started_at: humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + Duration::from_millis(series_start_ms),
        )
        .to_string(),
        started_at_unix_ms: series_start_ms,
        runs: reports.iter().map(|r| r.runs).sum(),
        config: merged_config(&reports, rps),
        interrupted: reports.iter().any(|r| r.interrupted),
        aborted: reports.iter().find_map(|r| r.aborted.clone()),
        elapsed_s: (elapsed.as_secs_f64() * 1e3).round() / 1e3,
        in_flight_at_end: reports.iter().map(|r| r.in_flight_at_end).sum(),
        latency_histogram: latency_bins(&total.latency, HISTOGRAM_BINS),
        total: total_report,
        stages,
        seconds,
        targets: merge_targets(&reports.iter().map(|r| &r.targets[..]).collect::<Vec<_>>())?,
        // Logical-request counts and thresholds belong to one run; evidence is kept from all.
        retries: None,
        thresholds: Vec::new(),
        evidence: reports.iter().flat_map(|r| r.evidence.clone()).collect(),
        client: merged_client(&reports, total.requests),
        client_saturation: merged_saturation(&reports),
    })
}

/// The runs' own costs added (CPU) and the largest peak RSS, when every run has one.
fn merged_client(reports: &[&Report], requests: u64) -> Option<crate::stats::rows::ClientCost> {
    let all: Vec<_> = reports
        .iter()
        .map(|r| r.client)
        .collect::<Option<Vec<_>>>()?;
    Some(crate::stats::rows::ClientCost::new(
        all.iter().map(|c| c.cpu_user_s).sum(),
        all.iter().map(|c| c.cpu_system_s).sum(),
        all.iter().map(|c| c.peak_rss_kib).max().unwrap_or(0),
        requests,
    ))
}

/// The runs' saturated spans joined (by the runs' own second numbers: `merge` joins runs of
/// one schedule), when every run measured them.
fn merged_saturation(reports: &[&Report]) -> Option<Vec<crate::stats::saturation::SaturatedSpan>> {
    let lists: Vec<&[crate::stats::saturation::SaturatedSpan]> = reports
        .iter()
        .map(|r| r.client_saturation.as_deref())
        .collect::<Option<Vec<_>>>()?;
    Some(crate::stats::saturation::merge_spans(&lists))
}

/// Per-target rows add up when every report has the same targets: `lists` holds each
/// report's rows (of the whole run, or of one stage).
fn merge_targets(
    lists: &[&[crate::stats::rows::StageReport]],
) -> Result<Vec<crate::stats::rows::StageReport>, UsageError> {
    let first = lists[0];
    let same = lists
        .iter()
        .all(|r| r.len() == first.len() && r.iter().zip(first).all(|(a, b)| a.name == b.name));
    if !same || first.is_empty() {
        return Ok(Vec::new());
    }
    let fail = |name: &str, e: String| UsageError(format!("merging target {name}: {e}"));
    let mut rows = Vec::with_capacity(first.len());
    for (i, t) in first.iter().enumerate() {
        let mut b = Bucket::from_report(t).map_err(|e| fail(&t.name, e))?;
        let mut users = t.users;
        let mut duration_s = t.duration_s;
        for r in &lists[1..] {
            let other = &r[i];
            b.add(&Bucket::from_report(other).map_err(|e| fail(&t.name, e))?)
                .map_err(|e| fail(&t.name, e))?;
            users += other.users;
            duration_s = duration_s.max(other.duration_s);
        }
        rows.push(b.report(&t.name, users, Duration::from_secs_f64(duration_s), None));
    }
    Ok(rows)
}

/// Stage names carry their user count and, for rate stages, their target ("2: 4 users" or
/// "2: 4 users, 100 req/s"); the merged stage has the sums.
fn merged_stage_name(name: &str, users: usize, target: Option<f64>) -> String {
    let Some((index, rest)) = name.split_once(": ") else {
        return name.to_string();
    };
    let (who, rate) = match rest.split_once(", ") {
        Some((who, rate)) if rate.ends_with(" req/s") => (who, Some(rate)),
        _ => (rest, None),
    };
    if !(who.ends_with(" users") || who.ends_with(" user")) {
        return name.to_string();
    }
    let who = crate::parse::count_of(users as u64, "user", "users");
    match (rate, target) {
        (Some(_), Some(t)) => format!("{index}: {who}, {} req/s", crate::parse::format_rate(t)),
        _ => format!("{index}: {who}"),
    }
}

/// Add the per-second rows of every report on wall-clock seconds: a window belongs to the
/// Unix second nearest its start, and windows that overlap (a 60 s window of a long run beside
/// another run's one-second rows) become one window spanning them all. Returns the start of the
/// merged series (ms since the epoch) and its rows, gaps filled with empty seconds.
fn merge_seconds(reports: &[&Report]) -> Result<(u64, Vec<SecondReport>), UsageError> {
    struct Group {
        start: u64,
        /// Seconds after the epoch at which the group's last window ends.
        end_s: f64,
        /// The longest window in the group, seconds.
        longest: f64,
        bucket: Bucket,
        /// Per report, the most users of its windows in the group.
        users: Vec<usize>,
    }
    let mut rows: Vec<(u64, usize, &SecondReport)> = reports
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            r.seconds.iter().map(move |s| {
                let start_ms = r.started_at_unix_ms + (s.second - 1) * 1000;
                ((start_ms + 500) / 1000, i, s)
            })
        })
        .collect();
    rows.sort_by_key(|&(key, _, _)| key);
    let mut groups: Vec<Group> = Vec::new();
    for (key, i, s) in rows {
        let joins = groups
            .last()
            .is_some_and(|g| (key as f64) < g.end_s.max(g.start as f64 + 1.0));
        if !joins {
            groups.push(Group {
                start: key,
                end_s: key as f64,
                longest: 0.0,
                bucket: Bucket::new(false),
                users: vec![0; reports.len()],
            });
        }
        let g = groups.last_mut().expect("pushed above");
        // A run's last window (up to 1.5 s) stays on its second; only a coarse window (60 s)
        // spans the seconds after its start.
        let span = if s.interval_s >= 2.0 {
            s.interval_s
        } else {
            1.0
        };
        g.end_s = g.end_s.max(key as f64 + span);
        g.longest = g.longest.max(s.interval_s);
        let b = &mut g.bucket;
        b.requests += s.requests;
        b.ok += s.ok;
        b.errors += s.errors;
        b.failures += s.failures;
        b.check_failures += s.check_failures;
        if let Some(good) = s.good_requests {
            *b.good.get_or_insert(0) += good;
        }
        let h = decode_histogram(&s.hdr_latency_us)
            .map_err(|e| UsageError(format!("second {}: {e}", s.second)))?;
        crate::stats::hdr::add_histogram(&mut b.latency, &h)
            .map_err(|e| UsageError(format!("second {}: {e}", s.second)))?;
        if !s.hdr_ttfb_us.is_empty() {
            let h = decode_histogram(&s.hdr_ttfb_us)
                .map_err(|e| UsageError(format!("second {}: {e}", s.second)))?;
            crate::stats::hdr::add_histogram(&mut b.ttfb, &h)
                .map_err(|e| UsageError(format!("second {}: {e}", s.second)))?;
        }
        if let Some(st) = &s.stream {
            b.stream
                .get_or_insert_with(crate::stats::stream::StreamBucket::new)
                .add_second(st)
                .map_err(|e| UsageError(format!("second {}: {e}", s.second)))?;
        }
        // Runs side by side add their users; one run's windows within a group count once.
        g.users[i] = g.users[i].max(s.users);
    }
    let Some(first_key) = groups.first().map(|g| g.start) else {
        let start = reports
            .iter()
            .map(|r| r.started_at_unix_ms)
            .min()
            .unwrap_or(0);
        return Ok((start, Vec::new()));
    };
    let empty = Bucket::new(false);
    let mut out = Vec::new();
    let mut next = first_key;
    for g in &groups {
        out.extend((next..g.start).map(|key| {
            SecondReport::from_bucket(key - first_key + 1, Duration::from_secs(1), 0, &empty)
        }));
        let span = g.end_s - g.start as f64;
        // One second's windows: as long as the longest of them (a run's last, up to 1.5 s).
        let length = if span <= 1.0 { g.longest } else { span };
        out.push(SecondReport::from_bucket(
            g.start - first_key + 1,
            Duration::from_secs_f64(length.max(0.0)),
            g.users.iter().sum(),
            &g.bucket,
        ));
        next = g.start + (span.round() as u64).max(1);
    }
    Ok((first_key * 1000, out))
}

fn merged_config(reports: &[&Report], rps: Option<f64>) -> RunConfig {
    let first = &reports[0].config;
    let mut c = first.clone();
    c.users = reports.iter().map(|r| r.config.users).sum();
    c.stage_users = (0..first.stage_users.len())
        .map(|i| {
            reports
                .iter()
                .map(|r| r.config.stage_users.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    c.rps = rps;
    c.stage_rps = (0..first.stage_rps.len())
        .map(|i| {
            let sum: f64 = reports
                .iter()
                .map(|r| r.config.stage_rps.get(i).copied().unwrap_or(0.0))
                .sum();
            (sum * 1e6).round() / 1e6
        })
        .collect();
    c.requests = reports.iter().map(|r| r.config.requests).sum();
    c.duration_s = reports
        .iter()
        .filter_map(|r| r.config.duration_s)
        .reduce(f64::max);
    if reports.iter().any(|r| r.config.start_at != first.start_at) {
        c.start_at = None;
    }
    c
}
