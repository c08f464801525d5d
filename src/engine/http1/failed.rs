//! How an exchange fails: the failure kind and message a request that got no response is
//! counted and kept as evidence with.

use std::io;

use crate::sample::{FailureKind, classify_io};

/// A request that got no response: why, as a failure kind and a message for the evidence.
#[derive(Debug)]
pub struct Failed {
    pub kind: FailureKind,
    pub why: String,
    /// It was sent again on a new connection: the kept-alive one was dead.
    pub reconnected: bool,
}

impl Failed {
    pub(super) fn io(e: &io::Error, reconnected: bool) -> Self {
        Failed {
            kind: classify_io(e),
            why: e.to_string(),
            reconnected,
        }
    }

    pub(super) fn protocol(why: String, reconnected: bool) -> Self {
        Failed {
            kind: FailureKind::Protocol,
            why,
            reconnected,
        }
    }
}

/// A failure of one exchange, and whether the connection was found dead before any byte of a
/// response arrived (then the request is sent again on a new connection).
pub(super) type Broken = (Failed, bool);

pub(super) fn broken(why: String) -> Broken {
    (Failed::protocol(why, false), false)
}

pub(super) fn proto(e: ureq_proto::Error) -> Broken {
    broken(e.to_string())
}
