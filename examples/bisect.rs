//! The CPU gap between the bare thread-per-user floor (`examples/std_threads.rs`) and qpsbench,
//! bisected: one client whose per-request work is built up step by step from the floor towards
//! qpsbench's, so that `perf stat` per step says where the time goes (docs/BENCHMARKS.md,
//! issue 12). Not a client to use.
//!
//! Steps (each includes the ones before, except where said):
//! - `floor`: one `std::net::TcpStream` per user, a fixed request, `Content-Length` framing.
//! - `timestamps`: the four `Instant::now()` a qpsbench sample takes (sent, head, end, stage).
//! - `collector`: a qpsbench `Sample` per request over a crossbeam channel to one collector
//!   thread that records it in three `stats::bucket::Bucket`s (the second, the stage, the run),
//!   as qpsbench's collector does.
//! - `proto`: the raw stream still, but each request formatted and its response parsed by
//!   ureq's own sans-IO core, `ureq-proto` (a `Call` per request: the candidate hot path of
//!   issue 12, without the Agent).
//! - `ureq` (instead of `proto`): the request sent with a default `ureq::Agent` (keep-alive pool) instead of the raw
//!   stream, the body read through its reader; timestamps and collector as above.
//! - `agent`: qpsbench's own agent instead (its configuration: buffers, one deadline and socket
//!   timeouts, no redirects; its connector, idle-only pool probe and resolver cache).
//! - `traffic`: the request built from qpsbench's traffic plan (`TrafficRun::prepare` and
//!   `Prepared::builder`: the headers made once per target), as a user thread does.
//!
//! Usage: `cargo run --release --example bisect -- STEP URL USERS SECONDS [RPS]` (loopback
//! only; bounded by SECONDS). With RPS (steps `floor` to `collector`), the users are paced as
//! qpsbench's `--rps` paces them: slot n at start + n/RPS from one shared counter, each user
//! sleeping until its slot — the floor of a paced run. Prints one JSON line: step, requests, rps.

use std::cell::Cell;
#[path = "shared/http1.rs"]
mod http1;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use qpsbench::sample::{Outcome, Sample, Tag};
use qpsbench::stats::bucket::Bucket;

const STEPS: [&str; 7] = [
    "floor",
    "timestamps",
    "collector",
    "proto",
    "ureq",
    "agent",
    "traffic",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (step, url, users, seconds, rps) = match &args[..] {
        [step, url, users, seconds] => (step, url, users, seconds, None),
        [step, url, users, seconds, rps] => (step, url, users, seconds, Some(rps)),
        _ => {
            eprintln!(
                "usage: bisect STEP URL USERS SECONDS [RPS] (STEP: {})",
                STEPS.join(", ")
            );
            std::process::exit(2);
        }
    };
    let rps: Option<f64> = match rps.map(|r| r.parse::<f64>()) {
        None => None,
        Some(Ok(r)) if r > 0.0 => Some(r),
        Some(_) => {
            eprintln!("RPS must be a positive number");
            std::process::exit(2);
        }
    };
    let Some(level) = STEPS.iter().position(|s| s == step) else {
        eprintln!("STEP is one of {}", STEPS.join(", "));
        std::process::exit(2);
    };
    let (Ok(users), Ok(seconds)) = (users.parse::<usize>(), seconds.parse::<u64>()) else {
        eprintln!("USERS and SECONDS must be whole numbers");
        std::process::exit(2);
    };
    let (addr, authority, path) = match http1::loopback_target(url) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: bisect\r\nAccept: */*\r\n\r\n"
    );
    // qpsbench's own configuration of this run, parsed as the command line is.
    let argv: Vec<String> = ["qpsbench", "run", "--url", url.as_str(), "-q"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let cfg = qpsbench::Config::try_from(qpsbench::cli::parse_run_args(&argv).expect("argv"))
        .expect("a valid configuration");
    let agent_config = qpsbench::engine::transport::agent_config(&cfg).expect("agent config");
    let connector = qpsbench::engine::transport::SharedConnector::default();
    let resolver = qpsbench::engine::transport::CachedResolver::default();
    let traffic = Arc::new(qpsbench::traffic::run::TrafficRun::new(&cfg.traffic, None));

    let (tx, rx) = crossbeam_channel::unbounded::<Sample>();
    let collector = std::thread::spawn(move || collect(rx));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let slots = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..users)
        .map(|index| {
            let (stop, tx, slots) = (stop.clone(), tx.clone(), slots.clone());
            let request = request.clone();
            let traffic = traffic.clone();
            let agent = match level {
                0..=3 => None,
                4 => Some(ureq::Agent::new_with_defaults()),
                _ => Some(qpsbench::engine::transport::agent(
                    &agent_config,
                    &connector,
                    &resolver,
                )),
            };
            let url = url.clone();
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let ctx = User {
                        level,
                        stop: &stop,
                        count: Cell::new(0),
                        tx: &tx,
                        pace: rps.map(|r| (start, r, &*slots)),
                    };
                    match agent {
                        None if level == 3 => ctx.proto(addr, &url),
                        None => ctx.raw(addr, request.as_bytes()),
                        Some(agent) => ctx.with_agent(&agent, &url, &traffic, index),
                    }
                    ctx.count.get()
                })
                .expect("spawn a user thread")
        })
        .collect();
    drop(tx);
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let requests: u64 = handles
        .into_iter()
        .map(|h| h.join().expect("a user thread"))
        .sum();
    let recorded = collector.join().expect("the collector");
    let wall = start.elapsed().as_secs_f64();
    println!(
        "{{\"step\": \"{step}\", \"requests\": {requests}, \"rps\": {:.1}, \"collected\": {recorded}}}",
        requests as f64 / wall
    );
}

/// What a user thread needs.
struct User<'a> {
    level: usize,
    stop: &'a AtomicBool,
    /// Requests this user completed (its own counter: no shared cache line).
    count: Cell<u64>,
    tx: &'a Sender<Sample>,
    /// With RPS: the run's start, the rate and the shared slot counter.
    pace: Option<(Instant, f64, &'a AtomicU64)>,
}

impl User<'_> {
    /// The timestamps and the sample of one request, from step `timestamps` on.
    fn finish(&self, sent: Instant, status: u16, bytes: u64) {
        self.count.set(self.count.get() + 1);
        if self.level < 1 {
            return;
        }
        let first_byte = Some(Instant::now());
        let end = Instant::now();
        if self.level < 2 {
            std::hint::black_box((sent, first_byte, end));
            return;
        }
        let sample = Sample {
            stage: 0,
            scheduled: None,
            sent,
            first_byte,
            end,
            outcome: Outcome::Status(status),
            bytes,
            stream: None,
            tag: Tag::default(),
        };
        let _ = self.tx.send(sample);
    }

    /// Steps floor..collector: the raw stream.
    fn raw(&self, addr: std::net::SocketAddr, request: &[u8]) {
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
            return;
        };
        let _ = s.set_nodelay(true);
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let mut buf = vec![0u8; 16 * 1024];
        while !self.stop.load(Ordering::Relaxed) {
            if let Some((start, rate, slots)) = self.pace {
                let n = slots.fetch_add(1, Ordering::Relaxed);
                let slot = start + Duration::from_secs_f64(n as f64 / rate);
                let now = Instant::now();
                if slot > now {
                    std::thread::sleep(slot - now);
                }
            }
            // The floor too reads the clock once per request (as std_threads does, for latency).
            let sent = Instant::now();
            if s.write_all(request).is_err() {
                return;
            }
            let Some(bytes) = http1::read_response(&mut s, &mut buf) else {
                return;
            };
            self.finish(sent, 200, bytes);
        }
    }

    /// Step proto: ureq-proto's `Call` per request over the user's own stream.
    fn proto(&self, addr: std::net::SocketAddr, url: &str) {
        use ureq_proto::client::{Call, RecvBodyResult, RecvResponseResult, SendRequestResult};
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
            return;
        };
        let _ = s.set_nodelay(true);
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let uri: ureq_proto::http::Uri = url.parse().expect("a URI");
        let mut out = vec![0u8; 8 * 1024];
        let mut input = vec![0u8; 16 * 1024];
        let mut body = [0u8; 4 * 1024];
        while !self.stop.load(Ordering::Relaxed) {
            let sent = Instant::now();
            let request = ureq_proto::http::Request::get(&uri)
                .header("user-agent", "bisect")
                .header("accept", "*/*")
                .body(())
                .expect("a request");
            let Ok(call) = Call::new(request) else { return };
            let mut call = call.proceed();
            let Ok(n) = call.write(&mut out) else { return };
            if s.write_all(&out[..n]).is_err() {
                return;
            }
            let Ok(Some(SendRequestResult::RecvResponse(mut call))) = call.proceed() else {
                return;
            };
            // Read until the head parses; what follows it is body.
            let mut have = 0usize;
            let (status, mut used) = loop {
                match s.read(&mut input[have..]) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => have += n,
                }
                match call.try_response(&input[..have], false) {
                    Ok((n, Some(response))) => break (response.status().as_u16(), n),
                    Ok((_, None)) if have < input.len() => {}
                    _ => return,
                }
            };
            let mut call = match call.proceed() {
                Some(RecvResponseResult::RecvBody(c)) => c,
                _ => return,
            };
            let mut bytes = 0u64;
            loop {
                if used == have {
                    if call.can_proceed() {
                        break;
                    }
                    match s.read(&mut input) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => (have, used) = (n, 0),
                    }
                }
                let Ok((i, o)) = call.read(&input[used..have], &mut body) else {
                    return;
                };
                used += i;
                bytes += o as u64;
                if call.can_proceed() && used == have {
                    break;
                }
            }
            match call.proceed() {
                Some(RecvBodyResult::Cleanup(c)) if !c.must_close_connection() => {}
                _ => return,
            }
            self.finish(sent, status, bytes);
        }
    }

    /// Steps ureq..traffic: an agent.
    fn with_agent(
        &self,
        agent: &ureq::Agent,
        url: &str,
        traffic: &qpsbench::traffic::run::TrafficRun,
        index: usize,
    ) {
        let mut buf = [0u8; 4 * 1024];
        let mut rng = traffic.rng(index);
        let uri: ureq::http::Uri = url.parse().expect("a URI");
        while !self.stop.load(Ordering::Relaxed) {
            let sent = Instant::now();
            let result = if self.level >= 6 {
                let p = traffic.prepare(index, &mut rng);
                p.builder(&uri).body(()).map(|req| agent.run(req))
            } else {
                ureq::http::Request::get(&uri)
                    .body(())
                    .map(|req| agent.run(req))
            };
            let Ok(Ok(mut response)) = result else {
                return;
            };
            let status = response.status().as_u16();
            let mut reader = response.body_mut().as_reader();
            let mut bytes = 0u64;
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => bytes += n as u64,
                    Err(_) => return,
                }
            }
            self.finish(sent, status, bytes);
        }
    }
}

/// The collector: every sample into the second's, the stage's and the run's buckets. It polls
/// with 1 ms naps, as qpsbench's collector does (a receiver parked in `recv` makes every sender
/// pay a futex wake-up).
fn collect(rx: Receiver<Sample>) -> u64 {
    let (mut second, mut stage, mut total) =
        (Bucket::new(false), Bucket::new(false), Bucket::new(false));
    let mut n = 0u64;
    let mut second_end = Instant::now() + Duration::from_secs(1);
    loop {
        let s = match rx.try_recv() {
            Ok(s) => s,
            Err(crossbeam_channel::TryRecvError::Empty) => {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            Err(crossbeam_channel::TryRecvError::Disconnected) => break,
        };
        if s.end >= second_end {
            second.clear();
            second_end += Duration::from_secs(1);
        }
        second.record(&s);
        stage.record(&s);
        total.record(&s);
        n += 1;
    }
    std::hint::black_box((&second, &stage));
    total.requests.max(n)
}
