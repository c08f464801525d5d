//! The report's own-cost figures against the kernel's account of the same process, read from
//! outside it: `getrusage(RUSAGE_CHILDREN)` in this test process once the qpsbench child has
//! been waited for (what `/usr/bin/time` reads). One test in this file, so the only child
//! counted is that run.

mod common;

use common::{bin, server};

fn children() -> (f64, u64) {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a `rusage` owned here.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) }, 0);
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(u.ru_utime) + secs(u.ru_stime), u.ru_maxrss as u64)
}

#[test]
fn the_reported_cpu_and_memory_agree_with_the_kernel_account_of_the_process() {
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let (cpu_before, _) = children();
    let out = bin()
        .args([
            "--url",
            &format!("{}/", srv.url()),
            "-c",
            "8",
            "-z",
            "2",
            "--warmup",
            "1",
            "-q",
            "--json",
            json.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (cpu_after, rss_kib) = children();
    let witness = cpu_after - cpu_before;
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let c = &v["client"];
    let reported = c["cpu_user_s"].as_f64().unwrap() + c["cpu_system_s"].as_f64().unwrap();
    // The report is read when the run ends; the process then writes its reports and exits.
    assert!(witness > 0.2, "the run used the CPU: {witness} s");
    assert!(
        (reported - witness).abs() <= witness * 0.1 + 0.02,
        "reported {reported} s, kernel {witness} s"
    );
    let per_1k = c["cpu_s_per_1k_requests"].as_f64().unwrap();
    // The CPU is the whole process's: the warm-up's requests are counted in.
    let requests =
        v["total"]["requests"].as_f64().unwrap() + v["warmup"]["requests"].as_f64().unwrap();
    assert!((per_1k - reported * 1000.0 / requests).abs() < 1e-4);
    let rss = c["peak_rss_kib"].as_u64().unwrap();
    assert!(
        rss as f64 >= rss_kib as f64 * 0.9 && rss <= rss_kib,
        "reported {rss} KiB, kernel {rss_kib} KiB"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Client:         qpsbench's own CPU "),
        "{text}"
    );
}
