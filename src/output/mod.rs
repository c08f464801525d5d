//! What people read in the terminal.

pub mod live;
pub mod summary;
