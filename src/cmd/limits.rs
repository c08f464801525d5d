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
