//! `--metrics-addr` for `run` and `find`: the live `/metrics` page, bound before the first
//! request (an address that cannot be listened on is bad input: exit 2, nothing sent), served
//! through the run, and kept for `--metrics-linger` once the summary and reports are written.

use std::io::ErrorKind;
use std::sync::Arc;

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::config::Config;
use crate::config::metrics::MetricsSpec;
use crate::error::UsageError;
use crate::export::metrics::{CONTENT_TYPE, Metrics};
use crate::serve::page::{self, PageServer};

/// The page's path.
const PATH: &str = "/metrics";

/// The live page of a command's runs.
pub(super) struct LiveMetrics {
    pub metrics: Arc<Metrics>,
    server: PageServer,
    spec: MetricsSpec,
}

/// Bind and serve the page when `cfg` asks for it (runs shaped like `cfg`); nothing is printed
/// (see [`LiveMetrics::announce`]), so that a bad address is the only line.
///
/// # Errors
///
/// The address cannot be listened on: one line naming `--metrics-addr` and what to do.
pub(super) fn start(cfg: &Config) -> Result<Option<LiveMetrics>, UsageError> {
    let Some(spec) = cfg.metrics else {
        return Ok(None);
    };
    let metrics = Metrics::new(cfg);
    let render: page::Render = {
        let m = Arc::clone(&metrics);
        Arc::new(move || m.render())
    };
    let server = page::spawn(spec.addr, PATH, CONTENT_TYPE, render)
        .map_err(|e| UsageError(bind_error(spec, &e)))?;
    Ok(Some(LiveMetrics {
        metrics,
        server,
        spec,
    }))
}

/// What to do when `spec.addr` cannot be listened on.
fn bind_error(spec: MetricsSpec, e: &std::io::Error) -> String {
    let addr = spec.addr;
    let port = addr.port();
    let other = if port == u16::MAX { port - 1 } else { port + 1 };
    match e.kind() {
        ErrorKind::AddrInUse => format!(
            "--metrics-addr {addr}: port {port} is in use (another exporter, or another \
             qpsbench?): give a free port, e.g. --metrics-addr {other}, or 0 for any free port"
        ),
        ErrorKind::AddrNotAvailable => format!(
            "--metrics-addr {addr}: {} is not an address of this machine: give a bare port for \
             127.0.0.1, or one of this machine's addresses",
            addr.ip()
        ),
        ErrorKind::PermissionDenied => format!(
            "--metrics-addr {addr}: port {port} needs privileges this process lacks: give a \
             port above 1023, e.g. --metrics-addr 9464"
        ),
        _ => format!("--metrics-addr {addr}: cannot listen there: {e}"),
    }
}

impl LiveMetrics {
    /// Say where the page is, on stderr.
    pub(super) fn announce(&self) {
        let reach = if self.server.addr.ip().is_loopback() {
            ""
        } else {
            " (not loopback: other machines can read it)"
        };
        eprintln!("metrics: http://{}{PATH}{reach}", self.server.addr);
    }

    /// Keep serving for `--metrics-linger` (a Ctrl-C ends it sooner), then stop.
    pub(super) fn linger_and_stop(self, interrupt: &Receiver<()>) {
        if !self.spec.linger.is_zero() {
            eprintln!(
                "metrics: serving http://{}{PATH} for {} more (--metrics-linger; Ctrl-C ends it)",
                self.server.addr,
                crate::parse::format_duration(self.spec.linger)
            );
            // No Ctrl-C handler (its sender gone): the whole linger all the same.
            if let Err(RecvTimeoutError::Disconnected) = interrupt.recv_timeout(self.spec.linger) {
                std::thread::sleep(self.spec.linger);
            }
        }
        self.server.stop();
    }
}
