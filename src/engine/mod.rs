//! The load engine: one OS thread per user, each with its own keep-alive connection; a ramp gate
//! that admits users stage by stage; a shared slot clock for `--rps`; samples sent to the
//! collector over a channel.
//!
//! - [`run`]: `execute`, the wiring of one run, and its [`run::RunResult`].
//! - [`gate`]: the state users share and the controller that follows the schedule.
//! - [`user`]: the thread body of one user; [`stream_read`]: reading an event stream in it.
//! - [`limiter`]: the `--rps` slot clock; [`transport`]: the ureq agent and its connector.

pub mod gate;
pub mod http1;
pub mod limiter;
pub mod run;
pub mod stream_read;
pub mod transport;
pub mod user;
