//! What people read in the terminal.

pub mod live;
pub mod stream_summary;
pub mod summary;
pub mod traffic_summary;
