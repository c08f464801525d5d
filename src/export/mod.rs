//! Report files: one module per format behind [`Exporter`], which turns a [`Report`] into bytes
//! and does no I/O; [`manager::ExportManager`] owns the files. Every file is created before the
//! run starts, so that a bad path fails in the first second and not after a long soak.

use crate::report::Report;

/// `qpsbench find --html`.
pub mod capacity_html;
/// `qpsbench compare --csv`.
pub mod compare_csv;
/// `qpsbench compare --html`.
pub mod compare_html;
pub mod csv;

mod csv_stream;

pub mod hdr_log;

pub mod html;

mod html_stream;

mod html_traffic;

pub mod json;
/// `--jsonl`.
pub mod jsonl;
/// The per-second files written as the run goes.
pub mod live;
pub mod manager;
/// `--metrics-addr`: the live `/metrics` page (its content; `serve::page` serves it).
pub mod metrics;
pub mod result_json;
/// `--samples`: a line per request, written as the run goes.
pub mod samples;

/// What every HTML page shares: style, escaping, head, interactive charts (uPlot).
pub mod page;

/// Turns a report into the bytes of one file format.
pub trait Exporter {
    /// The whole file for `report`.
    fn serialize(&self, report: &Report) -> anyhow::Result<Vec<u8>>;
}
