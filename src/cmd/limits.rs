//! The process's open-file limit: one socket per user must fit under it.

use crate::error::{UsageError, bad};

/// Raise the soft open-file limit to the hard one and check that `users` connections fit.
///
/// # Errors
///
/// When `users` connections (and 64 more files) do not fit under the hard limit.
pub fn check_open_files(users: usize) -> Result<(), UsageError> {
    let needed = users as u64 + 64;
    let limit = raise_open_file_limit();
    if limit < needed {
        return bad(format!(
            "{users} users need about {needed} open files but this process may open only {limit} \
             (ulimit -n); lower --users or raise the hard limit"
        ));
    }
    Ok(())
}

/// Raise RLIMIT_NOFILE's soft limit to its hard limit; returns the limit now in force.
pub fn raise_open_file_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return u64::MAX;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
        lim.rlim_cur
    }
}

/// Memory maps one user thread takes: its stack and the stack's guard page, and Rust's signal
/// stack and its guard page (measured: 16,089 maps with 4,000 users, 59 with 1).
pub const MAPS_PER_THREAD: u64 = 4;

/// Check the per-process limits a thread per user runs into besides open files: the kernel's
/// map count (`vm.max_map_count`: past it a new thread aborts the process while setting up its
/// signal stack) and thread count (`kernel.threads-max`), and the user's process limit
/// (`ulimit -u`, not enforced for root).
///
/// # Errors
///
/// When `users` threads do not fit one of them; the message names the limit and how to raise it.
pub fn check_thread_limits(users: usize) -> Result<(), UsageError> {
    let users = users as u64;
    // The collector, the controller, the signal thread and slack for allocations' own maps.
    let threads = users + 16;
    if let (Some(max), Some(now)) = (read_number("/proc/sys/vm/max_map_count"), maps_now()) {
        let needed = now + threads * MAPS_PER_THREAD + 256;
        if needed > max {
            return bad(format!(
                "{users} users need about {needed} memory maps ({MAPS_PER_THREAD} per thread) but \
                 vm.max_map_count is {max}; lower --users or raise it (sysctl -w \
                 vm.max_map_count={})",
                needed.next_power_of_two()
            ));
        }
    }
    if let Some(max) = read_number("/proc/sys/kernel/threads-max")
        && threads > max
    {
        return bad(format!(
            "{users} users need {threads} threads but kernel.threads-max is {max}; lower --users \
             or raise it (sysctl -w kernel.threads-max={})",
            threads.next_power_of_two()
        ));
    }
    // SAFETY: getrlimit and geteuid only read; the struct outlives the call.
    let (soft, root) = unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        let got = libc::getrlimit(libc::RLIMIT_NPROC, &mut lim) == 0;
        (got.then_some(lim.rlim_cur), libc::geteuid() == 0)
    };
    if let Some(soft) = soft
        && !root
        && soft != libc::RLIM_INFINITY
        && threads > soft
    {
        return bad(format!(
            "{users} users need {threads} threads but this user may run only {soft} (ulimit -u); \
             lower --users or raise the limit"
        ));
    }
    Ok(())
}

/// A number from a one-line /proc file; `None` where there is none (not Linux).
fn read_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Memory maps of this process now.
fn maps_now() -> Option<u64> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    Some(maps.lines().count() as u64)
}
