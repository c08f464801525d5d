//! The floor of the thread-per-user model, for `scripts/compare.py`: N OS threads, each with one
//! keep-alive `std::net::TcpStream`, sending a fixed `GET` and reading a `Content-Length` response,
//! for D seconds. No HTTP library, no collector, no rate limiter: what is left is the cost of
//! the threads and the system calls themselves, so the gap between this row and qpsbench's is
//! the cost of everything qpsbench does per request on top (ureq above all). Not a client to
//! use: it understands only `Content-Length` bodies and stops at the first error.
//!
//! Usage: `cargo run --release --example std_threads -- URL USERS SECONDS`
//! (loopback URLs only; bounded by SECONDS). Prints one JSON line: requests, rps, p50_ms, p99_ms.

#[path = "shared/http1.rs"]
mod http1;

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, users, seconds] = &args[..] else {
        eprintln!("usage: std_threads URL USERS SECONDS");
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
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: std-threads\r\nAccept: */*\r\n\r\n"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..users)
        .map(|_| {
            let (stop, request) = (stop.clone(), request.clone());
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || user(addr, request.as_bytes(), &stop))
                .expect("spawn a user thread")
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut all = Histogram::<u64>::new(3).expect("a histogram");
    for h in handles {
        all.add(h.join().expect("a user thread"))
            .expect("same range");
    }
    let wall = start.elapsed().as_secs_f64();
    let ms = |q: f64| all.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{{\"requests\": {}, \"rps\": {:.1}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}}}",
        all.len(),
        all.len() as f64 / wall,
        ms(0.5),
        ms(0.99)
    );
}

/// One user: requests back to back on one connection until `stop`; latencies in microseconds.
fn user(addr: std::net::SocketAddr, request: &[u8], stop: &AtomicBool) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new(3).expect("a histogram");
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return h;
    };
    let _ = s.set_nodelay(true);
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = vec![0u8; 16 * 1024];
    while !stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        if s.write_all(request).is_err() || http1::read_response(&mut s, &mut buf).is_none() {
            break;
        }
        let _ = h.record(t0.elapsed().as_micros().max(1) as u64);
    }
    h
}
