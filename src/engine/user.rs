//! One simulated user: an OS thread with its own keep-alive ureq agent, sending requests one
//! after another while the ramp gate lets it, paced by the shared limiter when there is one.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crossbeam_channel::Sender;
use ureq::Agent;
use ureq::http::Request;

use crate::collector::Event;
use crate::config::Target;
use crate::engine::Shared;
use crate::sample::{Outcome, Sample, classify, classify_io};

/// Body bytes are read into this reused buffer and dropped: only their count matters.
const READ_BUF: usize = 16 * 1024;

/// Everything one user thread needs.
pub struct User {
    pub index: usize,
    pub shared: Arc<Shared>,
    pub tx: Sender<Event>,
    pub agent: Agent,
    pub target: Arc<Target>,
}

impl User {
    /// The thread body: runs until the run stops or the request budget is spent.
    pub fn run(self) {
        let mut buf = vec![0u8; READ_BUF];
        let shared = &*self.shared;
        loop {
            if !shared.wait_turn(self.index) {
                return;
            }
            if !shared.take_budget() {
                return;
            }
            let scheduled = shared.limiter.as_ref().map(|l| l.acquire());
            if let Some(slot) = scheduled {
                let now = Instant::now();
                if slot > now {
                    std::thread::sleep(slot - now);
                }
                if shared.stop.load(Ordering::Relaxed) {
                    return;
                }
            }
            let stage = shared.stage.load(Ordering::Relaxed);
            shared.started.fetch_add(1, Ordering::Relaxed);
            let sent = Instant::now();
            let (outcome, first_byte, bytes) = self.send(&mut buf);
            let sample = Sample {
                stage,
                scheduled,
                sent,
                first_byte,
                end: Instant::now(),
                outcome,
                bytes,
            };
            if self.tx.send(Event::Sample(sample)).is_err() {
                return;
            }
        }
    }

    /// One request, start to last body byte.
    fn send(&self, buf: &mut [u8]) -> (Outcome, Option<Instant>, u64) {
        let t = &*self.target;
        let mut builder = Request::builder()
            .method(t.method.clone())
            .uri(t.uri.clone());
        for (name, value) in &t.headers {
            builder = builder.header(name, value);
        }
        let result = match &t.body {
            Some(body) => builder.body(&body[..]).map(|req| self.agent.run(req)),
            None => builder.body(()).map(|req| self.agent.run(req)),
        };
        let mut response = match result {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return (Outcome::Failure(classify(&e)), None, 0),
            Err(_) => {
                return (
                    Outcome::Failure(crate::sample::FailureKind::Protocol),
                    None,
                    0,
                );
            }
        };
        let first_byte = Some(Instant::now());
        let status = response.status().as_u16();
        let mut reader = response.body_mut().as_reader();
        let mut bytes = 0u64;
        loop {
            match reader.read(buf) {
                Ok(0) => break,
                Ok(n) => bytes += n as u64,
                Err(e) => return (Outcome::Failure(classify_io(&e)), first_byte, bytes),
            }
        }
        (Outcome::Status(status), first_byte, bytes)
    }
}
