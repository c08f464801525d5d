//! Progress as a person watching a run sees it: each live line ends with the rate against its
//! target and the time left (or the share of `--requests` done), worked out here by hand from
//! the command line; on a terminal (a pseudo-terminal from util-linux's `script`) a progress
//! bar redraws in place under the lines; piped or `--quiet`, no bar and no escape codes.

mod common;

use std::sync::atomic::Ordering;

use common::{qps, run_cmd, server};

/// The live lines of a run's stderr.
fn live_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with('[')).collect()
}

/// The number after `qps` on a live line.
fn qps_of(line: &str) -> u64 {
    let rest = line.split("| qps").nth(1).unwrap();
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn a_paced_timed_run_says_its_rate_against_the_target_and_the_time_left() {
    let srv = server();
    let (code, _, err) = qps(&["--url", &srv.url(), "-c", "2", "--rps", "50", "-z", "3"]);
    assert_eq!(code, 0, "{err}");
    let lines = live_lines(&err);
    assert_eq!(lines.len(), 3, "{err}");
    let left = ["| 2s left", "| 1s left", "| ending"];
    for (line, left) in lines.iter().zip(left) {
        assert!(line.ends_with(left), "{line}");
        // The second's rate as a share of the 50 req/s asked for, beside it.
        let pct = (qps_of(line) as f64 / 50.0 * 100.0).round();
        assert!(line.contains(&format!(" ({pct:>3.0}%) | p50")), "{line}");
    }
    assert!(!err.contains('\x1b'), "no escape codes when piped: {err:?}");
}

#[test]
fn a_counted_run_says_its_share_of_the_requests_done() {
    let srv = server();
    let (code, _, err) = qps(&["--url", &srv.url(), "-c", "2", "-n", "300", "--rps", "100"]);
    assert_eq!(code, 0, "{err}");
    let lines = live_lines(&err);
    // 300 at 100 a second: lines at 1 s and 2 s (the run's last sliver is in the summary).
    assert!(lines.len() >= 2, "{err}");
    let mut done = 0;
    for line in lines {
        done += qps_of(line);
        let pct = (done as f64 / 300.0 * 100.0).round();
        assert!(
            line.contains(&format!("| {pct:.0}% of 300 requests")),
            "{line}"
        );
    }
    assert!((150..=300).contains(&done), "{err}");
    // The witness: the server answered the 300 requests the run was asked for.
    assert_eq!(srv.stats.requests.load(Ordering::SeqCst), 300);
}

/// Run qpsbench under a pseudo-terminal (`script -qfec CMD /dev/null`): what the terminal
/// showed, stdout and stderr together.
fn on_a_terminal(args: &str) -> String {
    let exe = env!("CARGO_BIN_EXE_qpsbench");
    let (code, out, err) = run_cmd(
        std::process::Command::new("script")
            .args(["-qfec", &format!("{exe} {args}"), "/dev/null"])
            .env("TERM", "xterm")
            .env_remove("NO_COLOR"),
    );
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn on_a_terminal_a_bar_redraws_under_the_lines_and_quiet_has_none() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            !common::skip_outside_ci("util-linux's script is not installed"),
            "CI has util-linux"
        );
        return;
    }
    let srv = server();
    let seen = on_a_terminal(&format!("--url {} -c 2 --rps 100 -z 3", srv.url()));
    // The lines, each on its own.
    for s in 1..=3 {
        assert!(seen.contains(&format!("[  {s}s] users   2")), "{seen:?}");
    }
    // The bar: erased and drawn again in place (ESC [2K: erase the line), filled by the end.
    assert!(seen.contains("\x1b[2K"), "{seen:?}");
    assert!(
        seen.contains("100%") && seen.contains("=========="),
        "{seen:?}"
    );
    // ... and taken off before the summary.
    let summary = seen.find("Summary:").expect("the summary");
    assert!(!seen[summary..].contains("\x1b[2K"), "{seen:?}");

    let seen = on_a_terminal(&format!("--url {} -c 2 --rps 100 -z 2 --quiet", srv.url()));
    assert!(!seen.contains('\x1b'), "--quiet draws nothing: {seen:?}");
    assert!(!seen.contains("[    1s]"), "{seen:?}");
}

#[test]
fn ctrl_c_on_a_terminal_is_said_above_the_bar_and_leaves_no_bar_behind() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(!common::skip_outside_ci(
            "util-linux's script is not installed"
        ));
        return;
    }
    let srv = server();
    let exe = env!("CARGO_BIN_EXE_qpsbench");
    let child = std::process::Command::new("script")
        // `exec`: qpsbench is the shell's process, the child of script.
        .args([
            "-qfec",
            &format!("exec {exe} --url {} -c 2 --rps 100 -z 20", srv.url()),
            "/dev/null",
        ])
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Past the first second (a bar with a position), then Ctrl-C to qpsbench itself.
    common::wait_for_server(&srv, 150);
    let children =
        std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id())).unwrap();
    let pid: i32 = children.split_whitespace().next().unwrap().parse().unwrap();
    // SAFETY: kill sends a signal to a process id; nothing is read or written here.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let (code, seen, err) = common::finish(child);
    assert_eq!(code, 130, "interrupted, through script -e: {err}");
    let said = seen
        .find("interrupted: stopping")
        .unwrap_or_else(|| panic!("{seen:?}"));
    // The bar's line was erased before the message took it (written behind the bar's back,
    // the message went below a bar that then stayed on the screen).
    assert!(
        seen[..said].ends_with("\x1b[2K"),
        "{:?}",
        &seen[said.saturating_sub(80)..]
    );
    let summary = seen.find("Summary:").expect("the summary");
    assert!(seen[summary..].starts_with("Summary:"));
    assert!(!seen[summary..].contains("\x1b[2K"), "{seen:?}");
}
