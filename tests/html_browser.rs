//! The HTML report in a real browser: headless Chromium renders it offline, the screenshot is
//! not blank, every chart is drawn (uPlot's canvas in the DOM after the page's scripts ran) and
//! nothing is logged to the console (a script the Content-Security-Policy refused, or a script
//! error, would be). tests/html_interactive.rs drives the charts.
//!
//! Needs /usr/bin/chromium (`scripts/install-test-deps.sh`) or QPSBENCH_CHROMIUM. Without a
//! browser the test is skipped, except where the CI variable is set: there it fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use qpsbench::export::Exporter;
use qpsbench::export::html::Html;

fn find_browser() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("QPSBENCH_CHROMIUM") {
        return Some(p.into());
    }
    let names = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ];
    let dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    std::iter::once(PathBuf::from("/usr/bin/chromium"))
        .chain(
            names
                .iter()
                .flat_map(|n| dirs.iter().map(move |d| d.join(n))),
        )
        .find(|p| p.is_file())
}

/// Run Chromium headless on `page` with `extra` flags; returns (stdout, stderr).
fn chromium(browser: &Path, page: &Path, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1200,2600",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).unwrap();
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).unwrap();
        s
    });
    let status = wait_with_deadline(&mut child, Duration::from_secs(90))
        .expect("chromium finishes within 90 s");
    let (out, err) = (out_t.join().unwrap(), err_t.join().unwrap());
    assert!(status.success(), "chromium failed: {status:?}\n{err}");
    (out, err)
}

/// The browser, or `None` (the test is skipped) when there is none outside CI.
fn browser_or_skip() -> Option<PathBuf> {
    let found = find_browser();
    if found.is_none() {
        skip_outside_ci(
            "no Chromium was found: run scripts/install-test-deps.sh (or set QPSBENCH_CHROMIUM)",
        );
    }
    found
}

/// Console messages, script errors and blocked loads Chromium logged to stderr.
fn console_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.contains("CONSOLE")
                || l.contains("Uncaught")
                || l.contains("Refused to")
                || l.contains("net::ERR")
        })
        .collect()
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(browser) = browser_or_skip() else {
        return;
    };

    // A report with every part filled: a ramp, pacing, errors, a header with markup.
    let srv = server();
    let url = format!("{}/mix/200,200,200,200,503", srv.url());
    let report = run(&[
        "--url",
        &url,
        "--ramp",
        "2,4",
        "--step",
        "1.2s",
        "--rps",
        "300",
        "-H",
        "X-Note: <img src=http://127.0.0.1:9/x onerror=alert(1)>",
    ]);
    assert!(report.total.requests > 100);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, Html.serialize(&report).unwrap()).unwrap();

    // The DOM after the scripts ran: five charts, each drawn on its canvas; the tables.
    let (dom, _) = chromium(&browser, &page, &["--dump-dom"]);
    for id in [
        "chart-qps",
        "chart-latency",
        "chart-ttfb",
        "chart-errors",
        "chart-percentiles",
    ] {
        assert_drawn(&dom, id);
    }
    assert!(
        dom.contains("data-charts-drawn=\"5\""),
        "not every chart was drawn"
    );
    assert!(dom.contains("Status codes") && dom.contains("503"));
    assert!(!dom.contains("<img"), "the header value became markup");

    // The screenshot, with the console logged to stderr.
    let shot = dir.path().join("shot.png");
    let (_, log) = chromium(
        &browser,
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--enable-logging=stderr",
            "--v=0",
        ],
    );
    let console = console_lines(&log);
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );
    let (width, height, pixels) = decode_png(&shot);
    assert!(width >= 1000 && height >= 2000, "{width}x{height}");
    // Not blank: many colours, and a good share of the page drawn on.
    let mut colours = std::collections::HashSet::new();
    let mut inked = 0usize;
    for px in pixels.chunks(4) {
        colours.insert([px[0], px[1], px[2]]);
        if px[0] < 200 || px[1] < 200 || px[2] < 200 {
            inked += 1;
        }
    }
    let share = inked as f64 / (width * height) as f64;
    assert!(colours.len() > 50, "only {} colours: blank?", colours.len());
    assert!(
        share > 0.01,
        "only {:.2}% of the page is drawn",
        share * 100.0
    );
    // The chart colours are there (the lines of the QPS chart and the p99 line).
    for rgb in [[0x1f, 0x77, 0xb4], [0xd6, 0x27, 0x28]] {
        assert!(
            colours.contains(&rgb),
            "chart colour {rgb:02x?} not on screen"
        );
    }
    if let Some(keep) = std::env::var_os("QPSBENCH_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

#[test]
fn streamed_html_report_renders_its_llm_charts() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    // A streamed run against the embedded OpenAI route, written by `--html` as a user would:
    // 30 ms to the first token, 10 tokens 10 ms apart, over about 2.5 s (several seconds of
    // series for the per-second charts).
    let srv = llm_target(Duration::from_millis(30), 10, Duration::from_millis(10));
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("llm.html");
    let mut child = bin()
        .args([
            "--url",
            &format!("{}/v1/chat/completions", srv.url()),
            "--openai",
            "test-model",
            "-c",
            "2",
            "--duration",
            "2.5s",
            "-q",
            "--html",
        ])
        .arg(&page)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = wait_with_deadline(&mut child, Duration::from_secs(60)).expect("the run ends");
    assert!(status.success(), "{status:?}");

    let (dom, _) = chromium(&browser, &page, &["--dump-dom"]);
    assert!(
        dom.contains("id=\"llm-streaming\""),
        "no LLM streaming section"
    );
    // Every chart drawn, the streaming ones among them.
    for id in [
        "chart-qps",
        "chart-latency",
        "chart-ttft",
        "chart-itl",
        "chart-tpot",
        "chart-answer-speed",
        "chart-tokens",
    ] {
        assert_drawn(&dom, id);
    }
    for text in ["TTFT", "ITL", "TPOT", "tokens"] {
        assert!(dom.contains(text), "{text} not in the page");
    }

    let shot = dir.path().join("llm.png");
    let (_, log) = chromium(
        &browser,
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--enable-logging=stderr",
            "--v=0",
        ],
    );
    let console = console_lines(&log);
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );
    let (width, height, pixels) = decode_png(&shot);
    assert!(width >= 1000 && height >= 2000, "{width}x{height}");
    let colours: std::collections::HashSet<[u8; 3]> =
        pixels.chunks(4).map(|p| [p[0], p[1], p[2]]).collect();
    assert!(colours.len() > 50, "only {} colours: blank?", colours.len());
}

/// Chart `id` is in the DOM with uPlot's canvas inside it.
fn assert_drawn(dom: &str, id: &str) {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("{id} not in the DOM"));
    let chart = &dom[at..];
    let end = chart.find("class=\"chart\"").unwrap_or(chart.len());
    assert!(
        chart[..end].contains("<canvas"),
        "{id} was not drawn: {}",
        &chart[..end.min(600)]
    );
}

/// RGBA pixels of a PNG.
fn decode_png(path: &Path) -> (usize, usize, Vec<u8>) {
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("a screenshot"));
    let mut decoder = png::Decoder::new(file);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let rgba = match channels {
        4 => buf,
        3 => buf
            .chunks(3)
            .flat_map(|c| [c[0], c[1], c[2], 255])
            .collect(),
        other => panic!("unexpected PNG with {other} channels"),
    };
    (w, h, rgba)
}
