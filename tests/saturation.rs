//! The saturated-client warning against the kernel's own account of the client process: a run
//! pinned to one core with 500 users against a fast target, whose target runs on the other
//! core, uses all of its core and is warned about; a light run uses a sliver of it and is not.
//! The witness is `getrusage(RUSAGE_CHILDREN)` in this test process once the child has been
//! waited for (what `/usr/bin/time` reads): CPU seconds over the wall time of the run. One
//! test in this file, so the runs are this binary's only load and the only children counted.

mod common;

use std::os::unix::process::CommandExt;
use std::time::Instant;

use common::{bin, run_cmd, server};

/// CPU seconds of every waited-for child so far.
fn children_cpu_s() -> f64 {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a `rusage` owned here.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) }, 0);
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

/// Pin the calling thread (and every thread it starts from now on) to `cpu`.
fn pin_to(cpu: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET writes one bit of it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is below CPU_SETSIZE (checked by the caller: 0 or 1).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: pid 0 is the calling thread; the set is a valid cpu_set_t of the given size.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// What a pinned run printed and wrote, and the kernel's CPU seconds per wall second of it.
struct Pinned {
    stdout: String,
    report: serde_json::Value,
    html: String,
    busy: f64,
}

/// Run qpsbench pinned to CPU 0 with `args`.
fn pinned_run(url: &str, args: &[&str]) -> Pinned {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let html = dir.path().join("r.html");
    let mut cmd = bin();
    cmd.args(["--url", url, "--json", json.to_str().unwrap()])
        .args(["--html", html.to_str().unwrap()])
        .args(args);
    // SAFETY: between fork and exec only sched_setaffinity runs, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| pin_to(0));
    }
    let cpu_before = children_cpu_s();
    let started = Instant::now();
    let (code, stdout, stderr) = run_cmd(&mut cmd);
    let wall = started.elapsed().as_secs_f64();
    let cpu = children_cpu_s() - cpu_before;
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    common::assert_valid(&report, "saturation report");
    Pinned {
        stdout,
        report,
        html: std::fs::read_to_string(&html).unwrap(),
        busy: cpu / wall,
    }
}

#[test]
fn a_client_pinned_to_one_core_with_500_users_is_warned_about_and_a_light_run_is_not() {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("skipped: the target and the client need a core each");
        return;
    }
    // The target's threads start from this thread: they run on CPU 1, the client on CPU 0.
    let srv = std::thread::spawn(|| {
        pin_to(1).unwrap();
        server()
    })
    .join()
    .unwrap();
    let url = format!("{}/", srv.url());

    // Light: one user, 50 requests a second.
    let Pinned {
        stdout,
        report,
        html,
        busy,
    } = pinned_run(&url, &["-c", "1", "--rps", "50", "-z", "3"]);
    assert!(
        busy < 0.3,
        "the witness: a light run uses a sliver of its core ({busy:.2})"
    );
    assert!(!stdout.contains("saturated"), "{stdout}");
    assert_eq!(report["client_saturation"], serde_json::json!([]));
    assert!(!html.contains("saturated"));

    // Heavy: 500 users, as fast as the target answers, on one core.
    let Pinned {
        stdout,
        report,
        html,
        busy,
    } = pinned_run(&url, &["-c", "500", "-z", "3"]);
    // The witness: 500 users keep their one core busy (0.99 of it on a quiet machine). On a
    // machine whose cores other work shares (two busy loops made it 0.75, the target on its
    // core slowed as much), the client is not the limit and the premise does not hold: say so
    // rather than judge the warning.
    if busy < 0.9 {
        eprintln!(
            "inconclusive: the client used {busy:.2} of its core (other work shares the \
             machine); the saturated case needs it kept busy"
        );
        return;
    }
    assert!(
        stdout.contains("WARNING:        the client was saturated in second"),
        "{stdout}"
    );
    assert!(
        stdout.contains("of its 1 core"),
        "the usable cores are the pinned one: {stdout}"
    );
    let spans = report["client_saturation"].as_array().unwrap();
    let seconds = report["seconds"].as_array().unwrap().len() as u64;
    let saturated: u64 = spans
        .iter()
        .map(|s| s["to_s"].as_u64().unwrap() + 1 - s["from_s"].as_u64().unwrap())
        .sum();
    // Every full second of a run that kept its core busy throughout was saturated.
    assert!(saturated >= 2 && saturated <= seconds, "{spans:?}");
    for s in spans {
        assert_eq!(s["cores"], 1.0, "{s}");
        assert!(s["to_s"].as_u64().unwrap() <= seconds, "{s}");
    }
    assert!(
        html.contains("Warning: the client was saturated in second"),
        "the HTML report warns too"
    );
}
