//! Safety rules: TLS verification is on by default (a self-signed target fails with the TLS
//! failure kind, `--insecure` passes), proxy environment variables are ignored while `--proxy`
//! is used and named, and `--users` beyond the open-file limit is caught before the start.
//! Everything on 127.0.0.1.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Run the binary (optionally with open-file limits set in the child before exec); returns
/// (code, stdout, stderr).
fn qps_with(
    args: &[&str],
    env: &[(&str, &str)],
    nofile: Option<(u64, u64)>,
) -> (i32, String, String) {
    let mut cmd = bin();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some((soft, hard)) = nofile {
        // SAFETY: setrlimit is async-signal-safe; the closure touches nothing else.
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: soft,
                    rlim_max: hard,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    finish(cmd.spawn().unwrap())
}

// ---------------------------------------------------------------------------------------------
// TLS

/// A tiny HTTPS server on std threads and rustls (ring), with a certificate made for this test.
struct TlsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    acceptor: Option<JoinHandle<()>>,
}

impl TlsServer {
    fn start() -> Self {
        TlsServer::answering(OK_ANSWER, false)
    }

    /// Every request answered with `answer`; with `early`, as soon as its head is read (its
    /// body left unread) and the connection then closed.
    fn answering(answer: &'static [u8], early: bool) -> Self {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .unwrap();
        let cert = CertificateDer::from(certified.cert.der().to_vec());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let acceptor = {
            let (stop, answered) = (stop.clone(), answered.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((tcp, _)) => {
                            let config = config.clone();
                            let answered = answered.clone();
                            std::thread::spawn(move || {
                                serve_tls(tcp, config, &answered, answer, early)
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        TlsServer {
            addr,
            stop,
            answered,
            acceptor: Some(acceptor),
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }
}

const OK_ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

fn serve_tls(
    tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
    answered: &AtomicU64,
    answer: &[u8],
    early: bool,
) {
    let _ = tcp.set_nonblocking(false);
    // Bounded: an idle connection ends after a while.
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match tls.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        answered.fetch_add(1, Ordering::SeqCst);
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        buf.drain(..end);
        if tls.write_all(answer).and_then(|()| tls.flush()).is_err() {
            return;
        }
        if early {
            // Close with the body unread: the kernel resets the connection.
            std::thread::sleep(Duration::from_millis(50));
            return;
        }
    }
}

#[test]
fn a_self_signed_target_is_a_tls_failure_unless_insecure() {
    let srv = TlsServer::start();
    let url = format!("https://127.0.0.1:{}/", srv.addr.port());
    let r = run(&["--url", &url, "-n", "6", "-c", "2", "--timeout", "10s"]);
    assert_eq!(r.total.requests, 6);
    assert_eq!(
        r.total.failure_kinds.get("tls"),
        Some(&6),
        "{:?}",
        r.total.failure_kinds
    );
    assert_eq!(
        srv.answered.load(Ordering::SeqCst),
        0,
        "a request got through"
    );

    let r = run(&[
        "--url",
        &url,
        "-n",
        "6",
        "-c",
        "2",
        "--timeout",
        "10s",
        "--insecure",
    ]);
    assert_eq!(r.total.ok, 6, "{:?}", r.total.failure_kinds);
    assert!(r.config.insecure);
    assert_eq!(srv.answered.load(Ordering::SeqCst), 6);
}

/// Issue 13, item 3 on the https path (ureq's agent): a server that answers 413 to an 8 MB
/// upload before reading it, and closes, is recorded as the 413 it sent, not as a reset.
#[test]
fn an_early_answer_to_a_large_https_upload_is_recorded() {
    let srv = TlsServer::answering(
        b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbig!",
        true,
    );
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("upload.bin");
    std::fs::write(&body, vec![b'u'; 8 << 20]).unwrap();
    let url = format!("https://127.0.0.1:{}/up", srv.addr.port());
    let body = format!("@{}", body.display());
    let r = run(&[
        "--url",
        &url,
        "-X",
        "POST",
        "-d",
        &body,
        "-n",
        "3",
        "-c",
        "1",
        "--timeout",
        "10s",
        "--insecure",
    ]);
    assert_eq!(r.total.requests, 3);
    assert_eq!(
        r.total.status_counts.get("413"),
        Some(&3),
        "{:?} {:?}",
        r.total.status_counts,
        r.total.failure_kinds
    );
    assert_eq!(
        srv.answered.load(Ordering::SeqCst),
        3,
        "the server's own count"
    );
}

/// A TLS handshake that never completes (the server accepts and says nothing) is a timeout
/// whose evidence says the connection took longer than --timeout (ureq says `timeout: connect`).
#[test]
fn a_stalled_tls_handshake_says_which_limit_ran_out() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let hold = std::thread::spawn(move || {
        let held: Vec<TcpStream> = l.incoming().take(2).filter_map(Result::ok).collect();
        std::thread::sleep(Duration::from_millis(1500));
        drop(held);
    });
    let url = format!("https://127.0.0.1:{port}/");
    let r = run(&[
        "--url",
        &url,
        "-n",
        "2",
        "-c",
        "2",
        "--timeout",
        "300ms",
        "--insecure",
    ]);
    assert_eq!(
        r.total.failure_kinds.get("timeout"),
        Some(&2),
        "{:?}",
        r.total.failure_kinds
    );
    let why = r.evidence[0].error.as_deref().unwrap_or_default();
    assert!(
        why.contains("timed out connecting") && why.contains("--timeout 300ms"),
        "{why}"
    );
    hold.join().unwrap();
}

// ---------------------------------------------------------------------------------------------
// Proxies

/// A tiny HTTP CONNECT proxy that tunnels to 127.0.0.1 only, and counts what it was asked.
struct Proxy {
    addr: SocketAddr,
    connects: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let connects = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (connects, stop) = (connects.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((c, _)) => {
                            let connects = connects.clone();
                            std::thread::spawn(move || tunnel(c, &connects));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            });
        }
        Proxy {
            addr,
            connects,
            stop,
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn tunnel(mut client: TcpStream, connects: &Mutex<Vec<String>>) {
    let _ = client.set_nonblocking(false);
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte) {
            Ok(1) if head.len() < 8192 => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let first = text.lines().next().unwrap_or("").to_string();
    connects.lock().unwrap().push(first.clone());
    let mut words = first.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (words.next(), words.next()) else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    if !target.starts_with("127.0.0.1:") {
        let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        return;
    }
    let Ok(upstream) = TcpStream::connect(target) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let _ = upstream.set_read_timeout(Some(Duration::from_secs(10)));
    let (mut c2, mut u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut u2);
        let _ = u2.shutdown(std::net::Shutdown::Write);
    });
    let (mut u, mut c) = (upstream, client);
    let _ = std::io::copy(&mut u, &mut c);
    let _ = c.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
}

/// The proxy environment variables, all pointing at a closed port.
fn poisoned_env(port: u16) -> Vec<(&'static str, String)> {
    let dead = format!("http://127.0.0.1:{port}");
    [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .into_iter()
    .map(|k| (k, dead.clone()))
    .collect()
}

#[test]
fn proxy_environment_variables_are_ignored() {
    let srv = server();
    let env = poisoned_env(closed_port());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, out, err) = qps_with(
        &[
            "--url",
            &srv.url(),
            "-n",
            "20",
            "-c",
            "2",
            "-q",
            "--json",
            "-",
        ],
        &env,
        None,
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["total"]["ok"], 20, "{}", v["total"]);
    assert_eq!(v["config"]["proxy"], Value::Null);
    assert!(err.lines().next().unwrap().ends_with("| no proxy"), "{err}");
    assert_eq!(srv.stats.snapshot().requests, 20);
}

#[test]
fn the_proxy_flag_is_used_and_named() {
    let srv = server();
    let proxy = Proxy::start();
    let proxy_url = format!("http://{}", proxy.addr);
    // The environment points elsewhere (a closed port): the flag wins.
    let env = poisoned_env(closed_port());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, out, err) = qps_with(
        &[
            "--url",
            &srv.url(),
            "-n",
            "20",
            "-c",
            "2",
            "-q",
            "--json",
            "-",
            "--proxy",
            &proxy_url,
        ],
        &env,
        None,
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["total"]["ok"], 20, "{}", v["total"]);
    assert_eq!(v["config"]["proxy"], proxy_url.as_str());
    let header = err.lines().next().unwrap();
    assert!(
        header.ends_with(&format!("| proxy {proxy_url}")),
        "{header}"
    );
    assert_eq!(srv.stats.snapshot().requests, 20);
    // Every connection went through the proxy's tunnel (keep-alive: one per user, or a few).
    let connects = proxy.connects.lock().unwrap().clone();
    assert!(!connects.is_empty() && connects.len() <= 20, "{connects:?}");
    let want = format!("CONNECT {} ", srv.addr);
    assert!(
        connects.iter().all(|c| c.starts_with(&want)),
        "{connects:?}"
    );
}

#[test]
fn a_dead_proxy_is_a_connect_failure() {
    let srv = server();
    let proxy_url = format!("http://127.0.0.1:{}", closed_port());
    let (code, out, err) = qps_with(
        &[
            "--url",
            &srv.url(),
            "-n",
            "10",
            "-c",
            "2",
            "-q",
            "--json",
            "-",
            "--proxy",
            &proxy_url,
        ],
        &[],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["total"]["failures"], 10, "{}", v["total"]);
    assert_eq!(
        v["total"]["failure_kinds"]["connect"], 10,
        "{}",
        v["total"]["failure_kinds"]
    );
    assert!(err.lines().next().unwrap().contains(&proxy_url), "{err}");
    assert_eq!(srv.stats.snapshot().requests, 0);
}

// ---------------------------------------------------------------------------------------------
// Open files

#[test]
fn users_beyond_the_map_count_are_refused_before_the_start() {
    // Issue 13, item 10: 16,500 users aborted the process (exit 134, "failed to set up
    // alternative stack guard page") on a machine whose vm.max_map_count is 65,530: every
    // thread takes 4 maps. The run is refused first, naming the limit.
    let Some(max) = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok())
    else {
        skip_outside_ci("no /proc/sys/vm/max_map_count");
        return;
    };
    let users = max / 4 + 100;
    if users > 100_000 {
        skip_outside_ci("vm.max_map_count is too large to exceed with --users");
        return;
    }
    let srv = server();
    let users = users.to_string();
    let (code, out, err) = qps_with(&["--url", &srv.url(), "-c", &users, "-z", "1"], &[], None);
    if err.contains("open files") {
        skip_outside_ci("the open-file limit is lower than the map count here");
        return;
    }
    assert_eq!(code, 2, "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with(&format!("error: {users} users need about"))
            && lines[0].contains("vm.max_map_count")
            && lines[0].contains("sysctl -w"),
        "{err}"
    );
    assert!(out.is_empty());
    assert_eq!(srv.stats.snapshot().requests, 0);
}

#[test]
fn users_beyond_the_open_file_limit_are_refused_before_the_start() {
    let srv = server();
    let t0 = Instant::now();
    let (code, out, err) = qps_with(
        &["--url", &srv.url(), "-c", "1000", "-n", "1"],
        &[],
        Some((256, 256)),
    );
    assert_eq!(code, 2, "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("error: 1000 users need about 1064 open files")
            && lines[0].contains("only 256")
            && lines[0].contains("ulimit -n"),
        "{err}"
    );
    assert!(out.is_empty());
    assert_eq!(srv.stats.snapshot().requests, 0);
    assert!(t0.elapsed() < Duration::from_secs(10));
}

#[test]
fn the_soft_open_file_limit_is_raised_to_the_hard_one() {
    // The server side of 500 connections lives in this process.
    let limit = qpsbench::cmd::limits::raise_open_file_limit();
    if limit < 1200
        && skip_outside_ci(&format!(
            "the open-file limit here is {limit}, 1200 are needed"
        ))
    {
        return;
    }
    let srv = server();
    // Soft 64 is far too low for 500 users; hard 2048 is enough once raised.
    let (code, out, err) = qps_with(
        &[
            "--url",
            &srv.url(),
            "-c",
            "500",
            "-n",
            "500",
            "-q",
            "--json",
            "-",
        ],
        &[],
        Some((64, 2048)),
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["total"]["ok"], 500, "{}", v["total"]);
}

#[test]
fn proxy_environment_variables_are_ignored_for_https_targets_too() {
    // HTTPS_PROXY and ALL_PROXY point at a closed port: were they used, every request would
    // fail to connect; the TLS server's own count says they reached it directly.
    let srv = TlsServer::start();
    let url = format!("https://127.0.0.1:{}/", srv.addr.port());
    let env = poisoned_env(closed_port());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, out, err) = qps_with(
        &[
            "--url", &url, "-k", "-n", "6", "-c", "2", "-q", "--json", "-",
        ],
        &env,
        None,
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["total"]["ok"], 6, "{}", v["total"]);
    assert_eq!(v["config"]["proxy"], Value::Null);
    assert_eq!(srv.answered.load(Ordering::SeqCst), 6);
}
