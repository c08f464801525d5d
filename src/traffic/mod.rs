//! The traffic family: what each request is made of and what happens around it (targets, data
//! templates, auth rotation, LLM bodies and keys, think time, success statuses, checks on the
//! response, retry policy, evidence). A leaf: it imports no stage of the flow, and no clap type
//! (docs/ARCHITECTURE.md). `config::traffic` and `config::llm` build it from the flags; the engine's user threads ask
//! [`run::TrafficRun`] for each next request.

pub mod auth;
pub mod check;
pub mod cookies;
pub mod data;
pub mod dataset;
pub mod evidence;
pub mod llm;
pub mod plan;
pub mod policy;
pub mod retry;
pub mod run;
pub mod targets;
pub mod template;
