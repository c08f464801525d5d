//! The HTML report's charts used as a person uses them, in headless Chromium driven by
//! ChromeDriver over the W3C WebDriver protocol: the page loads offline, a drag across one time
//! chart zooms every time chart to the same seconds, a double-click zooms them all back out, the
//! tooltip and the other charts' legends show the values of the second under the pointer, and
//! those values are the report's own JSON (read by this test, not by the page). The layout is
//! checked at a 1000-pixel window: charts use the column, tables stay inside it, names stay on
//! one line; on `compare --html`, long names wrap inside their cells.
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver (`scripts/install-test-deps.sh`), or
//! QPSBENCH_CHROMIUM / QPSBENCH_CHROMEDRIVER. Without them the test is skipped, except where
//! the CI variable is set: there it fails.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

fn find(var: &str, path: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from(path)).filter(|p| p.is_file()))
}

/// A ChromeDriver process and one browser session; both end when dropped.
struct Driver {
    child: Child,
    base: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

impl Driver {
    /// Start ChromeDriver on a free loopback port and open a headless session, `width` x
    /// `height` pixels.
    fn start(browser: &Path, driver: &Path, width: u32, height: u32) -> Driver {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let profile = tempfile::tempdir().unwrap();
        let mut d = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            agent,
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while d
            .agent
            .get(format!("{}/status", d.base))
            .call()
            .map(|r| r.status() != 200)
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": browser,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", d._profile.path().display()),
                ]
            }
        }}});
        let v = d.call("POST", "/session", caps);
        let id = v["sessionId"].as_str().expect("a session").to_string();
        d.base = format!("{}/session/{id}", d.base);
        d
    }

    /// One WebDriver command; its `value`. Panics with the driver's message on an error.
    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let mut resp = match method {
            "POST" => self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .send(body.to_string()),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self.agent.get(&url).call(),
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_eq!(status, 200, "{method} {path}: {text}");
        v.get("value").cloned().unwrap_or(Value::Null)
    }

    fn open(&self, page: &Path) {
        self.call(
            "POST",
            "/url",
            json!({"url": format!("file://{}", page.display())}),
        );
    }

    /// Run `script` (a function body; `arguments` as given) in the page; its return value.
    fn js(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
    }

    /// Wait until the page's charts are drawn; how many.
    fn wait_for_charts(&self) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self.js(
                "return document.documentElement.getAttribute('data-charts-drawn');",
                json!([]),
            );
            if let Some(n) = v.as_str().and_then(|s| s.parse().ok()) {
                return n;
            }
            assert!(Instant::now() < deadline, "the charts were never drawn");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The plot area (uPlot's `.u-over`) of chart `id`, scrolled into view: its viewport
    /// rectangle (left, top, width, height) in CSS pixels.
    fn plot_area(&self, id: &str) -> (f64, f64, f64, f64) {
        let v = self.js(
            "const o = document.getElementById(arguments[0]).querySelector('.u-over');\
             o.scrollIntoView({block: 'center'});\
             const r = o.getBoundingClientRect();\
             return [r.left, r.top, r.width, r.height];",
            json!([id]),
        );
        let n = |i: usize| v[i].as_f64().unwrap();
        (n(0), n(1), n(2), n(3))
    }

    /// Mouse actions, in viewport pixels.
    fn pointer(&self, actions: Vec<Value>) {
        self.call(
            "POST",
            "/actions",
            json!({"actions": [{"type": "pointer", "id": "mouse",
                "parameters": {"pointerType": "mouse"}, "actions": actions}]}),
        );
        self.call("DELETE", "/actions", Value::Null);
    }

    /// Drag across chart `id` at half its height, from `from` to `to` (fractions of its plot
    /// width).
    fn drag(&self, id: &str, from: f64, to: f64) {
        let (left, top, width, height) = self.plot_area(id);
        let y = (top + height / 2.0).round() as i64;
        let x = |f: f64| (left + f * width).round() as i64;
        self.pointer(vec![
            json!({"type": "pointerMove", "duration": 0, "x": x(from), "y": y,
                   "origin": "viewport"}),
            json!({"type": "pointerDown", "button": 0}),
            json!({"type": "pointerMove", "duration": 150, "x": x(to), "y": y,
                   "origin": "viewport"}),
            json!({"type": "pointerUp", "button": 0}),
        ]);
    }

    fn move_to(&self, x: f64, y: f64) {
        self.pointer(vec![json!({"type": "pointerMove", "duration": 0,
            "x": x.round() as i64, "y": y.round() as i64, "origin": "viewport"})]);
    }

    /// The x range shown by every chart: id -> (min, max).
    fn x_ranges(&self) -> Vec<(String, f64, f64)> {
        let v = self.js(
            "return [...document.querySelectorAll('.chart')].filter(e => e._uplot)\
             .map(e => [e.id, e._uplot.scales.x.min, e._uplot.scales.x.max]);",
            json!([]),
        );
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap().to_string(),
                    r[1].as_f64().unwrap(),
                    r[2].as_f64().unwrap(),
                )
            })
            .collect()
    }

    /// The text of chart `id`'s tooltip (empty when hidden).
    fn tooltip(&self, id: &str) -> String {
        self.js(
            "const t = document.getElementById(arguments[0]).querySelector('.tip');\
             return t && t.style.display !== 'none' ? t.innerText : '';",
            json!([id]),
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Chart `id`'s legend: (label, value) per series, the x first.
    fn legend(&self, id: &str) -> Vec<(String, String)> {
        let v = self.js(
            "return [...document.getElementById(arguments[0]).querySelectorAll('.u-legend .u-series')]\
             .map(s => [s.querySelector('.u-label').innerText, s.querySelector('.u-value').innerText]);",
            json!([id]),
        );
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap().to_string(),
                    r[1].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if self.base.contains("/session/") {
            let _ = self.agent.delete(&self.base).call();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Chromium and ChromeDriver, or `None` (the test is skipped) outside CI when either is missing.
fn tools_or_skip() -> Option<(PathBuf, PathBuf)> {
    let browser = find("QPSBENCH_CHROMIUM", "/usr/bin/chromium");
    let driver = find("QPSBENCH_CHROMEDRIVER", "/usr/bin/chromedriver");
    match (browser, driver) {
        (Some(b), Some(d)) => Some((b, d)),
        _ => {
            skip_outside_ci(
                "Chromium or ChromeDriver is missing: run scripts/install-test-deps.sh (or set \
                 QPSBENCH_CHROMIUM and QPSBENCH_CHROMEDRIVER)",
            );
            None
        }
    }
}

/// Run qpsbench with `args`, writing `--json` and `--html` into `dir`; the parsed JSON.
fn run_with_reports(args: &[&str], dir: &Path) -> (PathBuf, Value) {
    let (json_path, html_path) = (dir.join("r.json"), dir.join("r.html"));
    let mut child = bin()
        .args(args)
        .args(["-q", "--json"])
        .arg(&json_path)
        .arg("--html")
        .arg(&html_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = wait_with_deadline(&mut child, Duration::from_secs(60)).expect("the run ends");
    assert!(status.success(), "{status:?}");
    let v = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    (html_path, v)
}

/// A number out of text such as "12.345 ms".
fn number(text: &str) -> f64 {
    text.split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no number in {text:?}"))
}

/// The JSON row of the window whose end is `end_s` seconds after the start.
fn row_ending_at(v: &Value, end_s: f64) -> &Value {
    v["seconds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            let end = s["second"].as_f64().unwrap() - 1.0 + s["interval_s"].as_f64().unwrap();
            (end - end_s).abs() < 1e-6
        })
        .unwrap_or_else(|| panic!("no window ends at {end_s} s"))
}

/// "window ends at 2.301 s" (a tooltip's first line) -> 2.301, seconds since the start.
fn window_end_of(tooltip: &str) -> f64 {
    let first = tooltip.lines().next().unwrap_or_default();
    number(
        first
            .strip_prefix("window ends at ")
            .unwrap_or_else(|| panic!("{tooltip:?}")),
    )
}

/// The value after "name: " in a tooltip.
fn tooltip_value(tooltip: &str, name: &str) -> String {
    tooltip
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("{name} not in {tooltip:?}"))
        .to_string()
}

#[test]
fn time_charts_zoom_together_and_show_the_reports_values() {
    let Some((browser, driver)) = tools_or_skip() else {
        return;
    };
    // Six seconds, one more user each second, a fifth of the answers 503.
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/mix/200,200,200,200,503", srv.url());
    let (page, v) = run_with_reports(
        &[
            "--url",
            &url,
            "--ramp",
            "1,2,3,4,5,6",
            "--step",
            "1s",
            "--rps",
            "120",
        ],
        dir.path(),
    );
    let rows = v["seconds"].as_array().unwrap();
    assert!(rows.len() >= 5, "{} windows", rows.len());
    let first_end = rows[0]["interval_s"].as_f64().unwrap();
    let last = rows.last().unwrap();
    let last_end = last["second"].as_f64().unwrap() - 1.0 + last["interval_s"].as_f64().unwrap();

    let d = Driver::start(&browser, &driver, 1280, 1000);
    d.open(&page);
    let drawn = d.wait_for_charts();
    let time_charts = ["chart-qps", "chart-latency", "chart-ttfb", "chart-errors"];
    assert_eq!(drawn, 5, "four time charts and the percentile chart");
    let full = d.x_ranges();
    for (id, min, max) in &full {
        if time_charts.contains(&id.as_str()) {
            assert!(
                (min - first_end).abs() < 1e-6 && (max - last_end).abs() < 1e-6,
                "{id} shows {min}..{max}, the run is {first_end}..{last_end}"
            );
        }
    }
    // Whole numbers of users on the users axis (uPlot's computed tick values).
    let ticks = d.js(
        "const u = document.getElementById('chart-qps')._uplot;\
         return u.axes.find(a => a.scale === 'users')._splits;",
        json!([]),
    );
    let ticks: Vec<f64> = ticks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .collect();
    assert!(ticks.len() >= 2, "{ticks:?}");
    assert!(
        ticks.iter().all(|t| t.fract() == 0.0),
        "users ticks {ticks:?}"
    );

    // The users line never lies on the QPS line: at every window the two are drawn more than
    // 10 px apart (uPlot's own value-to-pixel mapping of each series on its axis).
    let gaps = d.js(
        "const u = document.getElementById('chart-qps')._uplot;\
         const q = u.series.findIndex(s => s.label === 'QPS');\
         const n = u.series.findIndex(s => s.label === 'active users');\
         return u.data[0].map((x, i) => Math.abs(u.valToPos(u.data[q][i], 'rate') -\
                                                 u.valToPos(u.data[n][i], 'users')));",
        json!([]),
    );
    for gap in gaps.as_array().unwrap() {
        assert!(
            gap.as_f64().unwrap() > 10.0,
            "users on the QPS line: {gaps}"
        );
    }

    // Drag across the latency chart from 25% to 75% of its width.
    d.drag("chart-latency", 0.25, 0.75);
    let span = last_end - first_end;
    let (want_min, want_max) = (first_end + 0.25 * span, first_end + 0.75 * span);
    let zoomed = d.x_ranges();
    for (id, min, max) in &zoomed {
        if time_charts.contains(&id.as_str()) {
            assert!(
                (min - want_min).abs() < 0.03 * span && (max - want_max).abs() < 0.03 * span,
                "{id} shows {min}..{max} after the drag, want about {want_min}..{want_max}"
            );
        }
    }
    // The percentile chart is not a time chart: its range stays.
    let nines = |r: &[(String, f64, f64)]| {
        r.iter()
            .find(|(id, ..)| id == "chart-percentiles")
            .map(|(_, a, b)| (*a, *b))
            .unwrap()
    };
    assert_eq!(nines(&zoomed), nines(&full));

    // The percentile chart zooms into its tail on its own.
    d.drag("chart-percentiles", 0.5, 0.9);
    let (full_min, full_max) = nines(&full);
    let (min, max) = nines(&d.x_ranges());
    let want = |f: f64| full_min + f * (full_max - full_min);
    assert!(
        (min - want(0.5)).abs() < 0.03 * full_max && (max - want(0.9)).abs() < 0.03 * full_max,
        "the percentile chart shows {min}..{max} after a drag, want about {}..{}",
        want(0.5),
        want(0.9)
    );
    for (id, min, max) in d.x_ranges() {
        if time_charts.contains(&id.as_str()) {
            assert!(
                (min - want_min).abs() < 0.03 * span && (max - want_max).abs() < 0.03 * span,
                "{id} followed the percentile chart: {min}..{max}"
            );
        }
    }

    // A double-click zooms every time chart back out.
    let (left, top, width, height) = d.plot_area("chart-errors");
    let (x, y) = (
        (left + width / 2.0).round() as i64,
        (top + height / 2.0).round() as i64,
    );
    d.pointer(vec![
        json!({"type": "pointerMove", "duration": 0, "x": x, "y": y, "origin": "viewport"}),
        json!({"type": "pointerDown", "button": 0}),
        json!({"type": "pointerUp", "button": 0}),
        json!({"type": "pointerDown", "button": 0}),
        json!({"type": "pointerUp", "button": 0}),
    ]);
    for (id, min, max) in d.x_ranges() {
        if time_charts.contains(&id.as_str()) {
            assert!(
                (min - first_end).abs() < 1e-6 && (max - last_end).abs() < 1e-6,
                "{id} shows {min}..{max} after the double-click"
            );
        }
    }

    // Point at the fourth window of the latency chart: its tooltip shows that second's p99 and
    // max as the JSON has them, and the QPS chart's legend (the shared cursor) shows the QPS of
    // the same second, which this test computes from the JSON's counts.
    let (left, top, width, height) = d.plot_area("chart-latency");
    let target_end =
        rows[3]["second"].as_f64().unwrap() - 1.0 + rows[3]["interval_s"].as_f64().unwrap();
    let x = left + (target_end - first_end) / span * width;
    d.move_to(x, top + height / 2.0);
    let tip = d.tooltip("chart-latency");
    assert!(!tip.is_empty(), "no tooltip");
    let second = window_end_of(&tip);
    assert!((second - target_end).abs() < 1e-6, "{tip}");
    let row = row_ending_at(&v, second);
    for (name, key) in [("p99", "p99_ms"), ("max", "max_ms"), ("p50", "p50_ms")] {
        let shown = tooltip_value(&tip, name);
        assert!(shown.ends_with(" ms"), "{name} without its unit: {shown}");
        let want = row[key].as_f64().unwrap();
        assert!(
            (number(&shown) - want).abs() <= 0.0005 + 1e-9,
            "{name} shows {shown}, the JSON has {want}"
        );
    }
    let legend = d.legend("chart-qps");
    let qps = &legend
        .iter()
        .find(|(l, _)| l == "QPS")
        .expect("QPS in the legend")
        .1;
    assert!(qps.ends_with(" req/s"), "{qps}");
    let want = row["requests"].as_f64().unwrap() / row["interval_s"].as_f64().unwrap();
    assert!(
        (number(qps) - want).abs() <= 0.05 + 1e-9,
        "QPS legend {qps}, the JSON's counts give {want}"
    );
    let users = &legend.iter().find(|(l, _)| l == "active users").unwrap().1;
    assert_eq!(number(users), row["users"].as_f64().unwrap(), "{users}");
    // The target rate of the command line (--rps 120) is drawn with its unit.
    let target = &legend
        .iter()
        .find(|(l, _)| l == "target RPS")
        .expect("the target rate in the legend")
        .1;
    assert_eq!(target, "120.0 req/s");
    // Only the chart under the pointer shows a tooltip.
    assert_eq!(d.tooltip("chart-qps"), "");
}

#[test]
fn streaming_charts_and_the_layout_at_1000_pixels() {
    let Some((browser, driver)) = tools_or_skip() else {
        return;
    };
    // 20 ms to the first token, 8 tokens 5 ms apart, over 3 s.
    let srv = llm_target(Duration::from_millis(20), 8, Duration::from_millis(5));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/v1/chat/completions", srv.url());
    let (page, v) = run_with_reports(
        &[
            "--url",
            &url,
            "--openai",
            "test-model",
            "--ramp",
            "1,2",
            "--step",
            "1.5s",
        ],
        dir.path(),
    );
    let d = Driver::start(&browser, &driver, 1000, 900);
    d.open(&page);
    let drawn = d.wait_for_charts();
    assert_eq!(drawn, 10, "5 charts of every run and 5 streaming charts");
    for id in [
        "chart-ttft",
        "chart-itl",
        "chart-tpot",
        "chart-answer-speed",
        "chart-tokens",
    ] {
        let points = d.js(
            "const u = document.getElementById(arguments[0])._uplot;\
             return u.data.slice(1).flat().filter(v => v != null).length;",
            json!([id]),
        );
        assert!(points.as_u64().unwrap() >= 2, "{id} has no data");
    }
    // The TPOT chart's tooltip at the second window: the JSON's TPOT of that second, and the
    // speed chart's legend the JSON's per-answer speed.
    let rows = v["seconds"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| !r["stream"]["tpot_p50_ms"].is_null() && r["second"].as_u64() == Some(2))
        .expect("second 2 has TPOT");
    let end = 1.0 + row["interval_s"].as_f64().unwrap();
    let first_end = rows[0]["interval_s"].as_f64().unwrap();
    let last = rows.last().unwrap();
    let last_end = last["second"].as_f64().unwrap() - 1.0 + last["interval_s"].as_f64().unwrap();
    let (left, top, width, height) = d.plot_area("chart-tpot");
    d.move_to(
        left + (end - first_end) / (last_end - first_end) * width,
        top + height / 2.0,
    );
    let tip = d.tooltip("chart-tpot");
    assert!((window_end_of(&tip) - end).abs() < 1e-6, "{tip}");
    let tpot = tooltip_value(&tip, "TPOT p50");
    let want = row["stream"]["tpot_p50_ms"].as_f64().unwrap();
    assert!(
        (number(&tpot) - want).abs() <= 0.0005 + 1e-9,
        "{tpot} vs {want}"
    );
    // 8 tokens 5 ms apart: TPOT is 5 ms by the target's schedule (an independent witness).
    assert!((want - 5.0).abs() < 1.0, "TPOT p50 {want} ms");
    let speed = d.legend("chart-answer-speed");
    let p50 = &speed.iter().find(|(l, _)| l == "tokens/s p50").unwrap().1;
    assert!(p50.ends_with(" tokens/s"), "{p50}");
    let want = row["stream"]["tokens_per_s_p50"].as_f64().unwrap();
    assert!((number(p50) - want).abs() <= 0.05 + 1e-9, "{p50} vs {want}");

    // Layout at 1000 px: charts fill the column; no table sticks out of it; the first column of
    // every table keeps its words on one line.
    let layout = d.js(
        "const body = document.body.getBoundingClientRect();\
         const charts = [...document.querySelectorAll('.chart')].map(c => c.getBoundingClientRect().width);\
         const tables = [...document.querySelectorAll('table:not(.u-legend)')].map(t => t.getBoundingClientRect().right);\
         const cells = [...document.querySelectorAll('td.l:first-child')]\
           .filter(td => !td.classList.contains('v'))\
           .map(td => [td.innerText, td.getBoundingClientRect().height,\
                       parseFloat(getComputedStyle(td).lineHeight) || 18]);\
         return {body: [body.left, body.right], charts, tables, cells};",
        json!([]),
    );
    let (body_left, body_right) = (
        layout["body"][0].as_f64().unwrap(),
        layout["body"][1].as_f64().unwrap(),
    );
    for w in layout["charts"].as_array().unwrap() {
        assert!(
            w.as_f64().unwrap() >= 0.95 * (body_right - body_left),
            "a chart {w} px wide in a {} px column",
            body_right - body_left
        );
    }
    for right in layout["tables"].as_array().unwrap() {
        assert!(
            right.as_f64().unwrap() <= body_right + 1.0,
            "a table ends at {right}, the column at {body_right}"
        );
    }
    // Every table is a rectangle: each row's last cell ends where the header's does (a stage's
    // cells spanning fewer rows than it has metrics would push a row out of its columns).
    let ragged = d.js(
        "return [...document.querySelectorAll('table:not(.u-legend)')].flatMap(t => {\
           const rows = [...t.rows];\
           const end = r => r.cells[r.cells.length - 1].getBoundingClientRect().right;\
           const want = end(rows[0]);\
           return rows.filter(r => Math.abs(end(r) - want) > 1).map(r => r.innerText);\
         });",
        json!([]),
    );
    assert_eq!(ragged, json!([]), "rows out of their table's columns");
    let cells = layout["cells"].as_array().unwrap();
    assert!(cells.iter().any(|c| c[0] == "total"), "{cells:?}");
    for c in cells {
        let (text, height) = (c[0].as_str().unwrap(), c[1].as_f64().unwrap());
        // A stage row spans several metric rows in the streaming table: judge the text's own
        // lines by its width instead.
        let lines = d
            .js(
                "const r = document.createRange();\
                 const td = [...document.querySelectorAll('td.l:first-child')]\
                   .find(td => td.innerText === arguments[0]);\
                 r.selectNodeContents(td); return r.getClientRects().length;",
                json!([text]),
            )
            .as_u64()
            .unwrap();
        assert_eq!(
            lines, 1,
            "{text:?} is broken over {lines} lines ({height} px)"
        );
    }
}

/// `compare --html` at a 1000-pixel window, with run names and file names too long for a
/// line: the page does not scroll sideways, the table stays in the column, and each long name
/// wraps inside its cell (its text is taller than a line) instead of being cut.
#[test]
fn compare_page_fits_1000_pixels_with_long_names() {
    let Some((browser, driver)) = tools_or_skip() else {
        return;
    };
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let long = "a".repeat(70);
    let file = |stem: &str| {
        dir.path()
            .join(format!("{stem}-{}.json", "b".repeat(60)))
            .to_str()
            .unwrap()
            .to_string()
    };
    let (base, new) = (file("base"), file("new"));
    save_run(&srv.url(), &["-n", "50", "--name", &long], &base);
    save_run(
        &srv.url(),
        &["-n", "60", "--name", &format!("new-{long}")],
        &new,
    );
    let page = dir.path().join("compare.html");
    let (code, _, err) = qps(&["compare", &base, &new, "--html", page.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let d = Driver::start(&browser, &driver, 1000, 900);
    d.open(&page);
    let layout = d.js(
        "const body = document.body.getBoundingClientRect();\
         const root = document.documentElement;\
         const table = document.getElementById('compare').getBoundingClientRect();\
         const names = [...document.querySelectorAll('#compare tr')].slice(1)\
           .flatMap(tr => [tr.cells[0], tr.cells[1]]).map(td => {\
           const r = document.createRange(); r.selectNodeContents(td);\
           const text = [...r.getClientRects()];\
           return [td.innerText, td.getBoundingClientRect().right,\
                   Math.max(...text.map(t => t.right)), text.length];\
         });\
         return {body_right: body.right, scroll: [root.scrollWidth, root.clientWidth],\
                 table_right: table.right, names};",
        json!([]),
    );
    let body_right = layout["body_right"].as_f64().unwrap();
    let scroll = &layout["scroll"];
    assert!(
        scroll[0].as_f64() <= scroll[1].as_f64(),
        "the page scrolls sideways: {layout}"
    );
    assert!(
        layout["table_right"].as_f64().unwrap() <= body_right + 1.0,
        "{layout}"
    );
    let names = layout["names"].as_array().unwrap();
    // Two runs, each with a name cell and a file cell.
    assert_eq!(names.len(), 4, "{layout}");
    for n in names {
        let (cell_right, text_right, lines) = (
            n[1].as_f64().unwrap(),
            n[2].as_f64().unwrap(),
            n[3].as_u64().unwrap(),
        );
        assert!(text_right <= cell_right + 1.0, "cut: {n}");
        assert!(lines >= 2, "a long name on one line: {n}");
    }
}
