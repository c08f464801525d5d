//! How each user's agent talks to the network: ureq's default connector chain (TCP, proxy, TLS),
//! with one change to its connection pool's liveness probe and one to a failed send (an answer
//! that arrived while the request was still being sent is read, see [`SharedConnector`]).
//!
//! ureq probes a pooled connection every time it is returned to the pool and again when it is
//! taken out (a non-blocking read between two `ioctl`s): 6 of the 8 system calls of a keep-alive
//! request, and 7-22% of the client's CPU (see docs/ARCHITECTURE.md). A user sends its next request
//! microseconds after the last one, when the probe can only find what the next read would find
//! anyway; it earns its cost only on a connection that sat idle long enough for the server to
//! close it (keep-alive timeouts are seconds). So the probe runs only on a connection idle for at
//! least [`PROBE_AFTER_IDLE`]. This uses ureq's `unversioned` transport API, which is why
//! Cargo.toml pins ureq's minor version.
//!
//! ureq also resolves the host name before every request, pooled connection or not: with
//! `http://localhost:8080/` that is a `getaddrinfo` per request (2.3x the client's CPU per
//! request at 50 users, see docs/BENCHMARKS.md). [`CachedResolver`] resolves each host once per
//! [`RESOLVE_TTL`] for all users, as wrk and oha resolve once per connection or run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use ureq::Agent;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::http::uri::{Authority, Scheme};
use ureq::tls::TlsConfig;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, NextTimeout, RustlsConnector,
    TcpConnector, Transport,
};

use crate::config::Config as RunSettings;
use crate::traffic::run::DEFAULT_USER_AGENT;

/// A connection idle at least this long is probed before reuse, as ureq always does.
pub const PROBE_AFTER_IDLE: Duration = Duration::from_millis(100);

/// How long a resolved host's addresses are reused before it is looked up again.
pub const RESOLVE_TTL: Duration = Duration::from_secs(30);

/// An agent (with its own connection pool) whose pool probes only idle connections, resolving
/// through the resolver all users share.
pub fn agent(config: &Config, connector: &SharedConnector, resolver: &CachedResolver) -> Agent {
    Agent::with_parts(
        config.clone(),
        connector.clone().chain(ProbeWhenIdle),
        resolver.clone(),
    )
}

/// ureq's default resolver behind a cache all users share: one lookup per host and port every
/// [`RESOLVE_TTL`] instead of one per request. Failures are not cached: each request that meets
/// one is a `dns` failure of its own, as before.
#[derive(Debug, Clone)]
pub struct CachedResolver(Arc<ResolverCache>);

#[derive(Debug)]
struct ResolverCache {
    inner: Box<dyn Resolver>,
    ttl: Duration,
    entries: RwLock<Vec<CacheEntry>>,
}

#[derive(Debug)]
struct CacheEntry {
    scheme: Scheme,
    authority: Authority,
    resolved_at: Instant,
    addrs: ResolvedSocketAddrs,
}

impl CacheEntry {
    fn matches(&self, uri: &Uri) -> bool {
        uri.scheme() == Some(&self.scheme) && uri.authority() == Some(&self.authority)
    }
}

impl Default for CachedResolver {
    fn default() -> Self {
        CachedResolver::new(DefaultResolver::default(), RESOLVE_TTL)
    }
}

impl CachedResolver {
    /// `inner` answers what the cache does not, and its answers are kept for `ttl`.
    pub fn new(inner: impl Resolver, ttl: Duration) -> Self {
        CachedResolver(Arc::new(ResolverCache {
            inner: Box::new(inner),
            ttl,
            entries: RwLock::new(Vec::new()),
        }))
    }
}

impl Resolver for CachedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let cache = &*self.0;
        if let Some(e) = cache.entries.read().iter().find(|e| e.matches(uri))
            && e.resolved_at.elapsed() < cache.ttl
        {
            return Ok(e.addrs.clone());
        }
        let addrs = cache.inner.resolve(uri, config, timeout)?;
        if let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) {
            let entry = CacheEntry {
                scheme: scheme.clone(),
                authority: authority.clone(),
                resolved_at: Instant::now(),
                addrs: addrs.clone(),
            };
            let mut entries = cache.entries.write();
            match entries.iter_mut().find(|e| e.matches(uri)) {
                Some(e) => *e = entry,
                None => entries.push(entry),
            }
        }
        Ok(addrs)
    }
}

/// ureq's default connector chain, one for all users. Each agent would otherwise build its own
/// TLS connector, and with it its own rustls configuration and parsed root store on its first
/// https connection: CPU at start-up and memory for every user. Connection pools stay per agent.
///
/// ureq's default chain as this build has it (CONNECT proxy, TCP, rustls; no SOCKS, no other
/// TLS provider), with [`KeepAnswer`] between TCP and TLS. A plain `http://` connection without
/// a proxy goes straight to TCP (and [`KeepAnswer`]): every link nests a frame, and each frame's
/// stack pages are touched once by the stack probes and stay resident in every user thread.
#[derive(Debug, Clone, Default)]
pub struct SharedConnector(Arc<Connectors>);

#[derive(Debug, Default)]
struct Connectors {
    proxy: ConnectProxyConnector,
    tcp: TcpConnector,
    tls: RustlsConnector,
}

impl Connector<()> for SharedConnector {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let c = &*self.0;
        let plain = details.uri.scheme() == Some(&Scheme::HTTP) && details.config.proxy().is_none();
        let tunnel = if plain {
            None
        } else {
            c.proxy.connect(details, chained)?
        };
        let tcp = c.tcp.connect(details, tunnel)?;
        let guarded = KeepAnswer.connect(details, tcp)?;
        if plain {
            return Ok(guarded.map(|t| Box::new(t) as Box<dyn Transport>));
        }
        Ok(c.tls
            .connect(details, guarded)?
            .map(|t| Box::new(t) as Box<dyn Transport>))
    }
}

/// Reads an answer that arrives while the request is still being sent. A server may answer
/// before it has taken the whole request (a 413 to a large upload) and close; the send then
/// fails with a broken pipe or a reset, and the answer waits in the socket. Below TLS, the rest
/// of the request is dropped, so that the TLS layer's pending records do not fail its next
/// read, and the answer is read, as curl does (and as the plain-http client does, see
/// `engine/http1`). When no answer comes, the send's failure is the result, as before (and a
/// dead kept-alive connection is sent again by the user).
#[derive(Debug)]
struct KeepAnswer;

impl<In: Transport> Connector<In> for KeepAnswer {
    type Out = AnswerKept<In>;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| AnswerKept {
            inner,
            send_failed: None,
            broken: false,
        }))
    }
}

#[derive(Debug)]
struct AnswerKept<T> {
    inner: T,
    /// Why the send failed, until an answer is read (then forgotten) or none comes.
    send_failed: Option<ureq::Error>,
    /// The send failed: the rest of the request goes nowhere, the connection is not reused.
    broken: bool,
}

/// A send that failed because the server closed or reset the connection.
fn closed_while_sending(e: &ureq::Error) -> bool {
    matches!(e, ureq::Error::Io(io) if matches!(
        io.kind(),
        std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
    ))
}

impl<T: Transport> Transport for AnswerKept<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if self.broken {
            return Ok(());
        }
        match self.inner.transmit_output(amount, timeout) {
            Err(e) if closed_while_sending(&e) => {
                self.broken = true;
                self.send_failed = Some(e);
                Ok(())
            }
            r => r,
        }
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let r = self.inner.await_input(timeout);
        match (r, self.send_failed.take()) {
            (Ok(true), _) => Ok(true),
            (_, Some(failed)) => Err(failed),
            (r, None) => r,
        }
    }

    fn is_open(&mut self) -> bool {
        !self.broken && self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

thread_local! {
    /// What this thread's connections did so far: (connections opened, reads that brought
    /// input). A user thread compares it before and after a request: the same value means the
    /// request went over a kept-alive connection and not one byte of a response came back.
    static ACTIVITY: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

/// Connections the calling thread has opened and reads that brought it input, so far.
pub fn connection_activity() -> (u64, u64) {
    ACTIVITY.with(std::cell::Cell::get)
}

/// Connector that wraps the transport the default chain made.
#[derive(Debug)]
pub struct ProbeWhenIdle;

impl Connector<Box<dyn Transport>> for ProbeWhenIdle {
    type Out = IdleProbed;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<Box<dyn Transport>>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        if chained.is_some() {
            ACTIVITY.with(|a| a.set((a.get().0 + 1, a.get().1)));
        }
        Ok(chained.map(|inner| IdleProbed {
            inner,
            last_read: coarse_now(),
        }))
    }
}

/// A monotonic clock read cheaply, good to a few milliseconds (the kernel's tick): the pool asks
/// [`IdleProbed::is_open`] twice per request, so the probe's clock is read three times per
/// request, where a millisecond more or less of idle time changes nothing.
#[cfg(target_os = "linux")]
pub(crate) fn coarse_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC_COARSE exists on every Linux
    // since 2.6.32 and cannot fail with a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn coarse_now() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// A transport that remembers when it last read.
#[derive(Debug)]
pub struct IdleProbed {
    inner: Box<dyn Transport>,
    /// [`coarse_now`] at the end of the last read.
    last_read: Duration,
}

impl Transport for IdleProbed {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.inner.transmit_output(amount, timeout)
    }

    // Only reads are stamped: a connection goes back to the pool right after its response was
    // read, so the last read is where its idle time starts (one clock read per request saved).
    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let r = self.inner.await_input(timeout);
        self.last_read = coarse_now();
        if let Ok(true) = r {
            ACTIVITY.with(|a| a.set((a.get().0, a.get().1 + 1)));
        }
        r
    }

    fn is_open(&mut self) -> bool {
        coarse_now().saturating_sub(self.last_read) < PROBE_AFTER_IDLE || self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// ureq's per-connection input buffer (its default is 128 KiB). ureq zero-fills its buffers when
/// a connection opens, so every byte here is resident for each connected user.
pub const IO_BUFFER: usize = 16 * 1024;

/// ureq's per-connection output buffer: it holds the request head and body chunks. 8 KiB is
/// what common servers accept as a request head (nginx's default large header buffer).
pub const OUT_BUFFER: usize = 8 * 1024;

/// The largest response head (status line and headers) read; a bigger one is a protocol failure.
pub const MAX_RESPONSE_HEAD: usize = IO_BUFFER - 1;

/// The output buffer for this run: [`OUT_BUFFER`], or more when the `-H` headers alone need
/// more room (a request head must fit it whole).
pub fn output_buffer(cfg: &RunSettings) -> usize {
    let t = &cfg.target;
    let head: usize = t.url.len()
        + t.headers.iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum::<usize>()
        // Request line, Host, User-Agent, Accept, Content-Length, a rotated key or token.
        + 4096;
    head.next_power_of_two().max(OUT_BUFFER)
}

/// How much longer than `--timeout` a whole request may take; see [`agent_config`].
pub const DEADLINE_SLACK: Duration = Duration::from_millis(10);

/// The ureq agent configuration; each user builds its own agent (and so its own connection
/// pool) from it.
///
/// # Errors
///
/// When `--proxy` is not a proxy URL: not a URI, no host, an unknown scheme (not `http`,
/// `https` or a `socks` one), or a user or password that is not UTF-8 once percent-decoded; the
/// message starts with `--proxy:`.
pub fn agent_config(cfg: &RunSettings) -> Result<ureq::config::Config, String> {
    let t = Some(cfg.timeout);
    let deadline = Some(cfg.timeout + DEADLINE_SLACK);
    let proxy = match &cfg.proxy {
        Some(p) => Some(ureq::Proxy::new(p).map_err(|e| format!("--proxy: {e}"))?),
        None => None,
    };
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(DEFAULT_USER_AGENT)
        .input_buffer_size(IO_BUFFER)
        .output_buffer_size(output_buffer(cfg))
        // A response head must fit the input buffer. ureq's own limit (64 KiB) is above it, so
        // without this a bigger head came back as "peer disconnected" (counted as a reset) or
        // hung until the timeout; now it is a protocol failure, as the limit is.
        .max_response_header_size(MAX_RESPONSE_HEAD)
        .max_idle_connections(2)
        .max_idle_connections_per_host(2)
        // One deadline for the whole request (connect, send, response head, body), and each
        // connect, read or write bounded by the timeout itself. A socket timeout is set with a
        // system call whenever its value changes, and ureq uses the smaller of the per-read
        // limit and what is left of the deadline: left at the bare timeout, what is left
        // changed before every read (2 setsockopt calls per request); a deadline a hair longer
        // lets the per-read value win, unchanged and free, for any request faster than
        // DEADLINE_SLACK. (A global timeout makes ureq's default resolver look up in a thread of
        // its own: that now happens only when the shared cache misses, see transport.rs.)
        .timeout_global(deadline)
        .timeout_connect(t)
        .timeout_per_read(t)
        .timeout_per_write(t)
        // A request with `Expect: 100-continue` sends its body right after its head, as the
        // plain-http path does (engine/http1/head.rs): waiting up to ureq's default second for
        // a 100 that a server need not send would add that second to the measured latency.
        .timeout_await_100(Some(Duration::ZERO))
        .proxy(proxy)
        .tls_config(
            TlsConfig::builder()
                .disable_verification(cfg.insecure)
                .build(),
        )
        .build();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{Shutdown, TcpListener};

    /// A raw server that answers `total` requests, `per_conn` on each connection before it
    /// closes that connection; returns how many connections it accepted.
    fn server(
        per_conn: usize,
        close_header: bool,
        total: usize,
    ) -> (String, std::thread::JoinHandle<usize>) {
        server_notifying(per_conn, close_header, total, None)
    }

    /// As `server`, and says on `closed` each time it has closed a connection.
    fn server_notifying(
        per_conn: usize,
        close_header: bool,
        total: usize,
        closed: Option<std::sync::mpsc::Sender<()>>,
    ) -> (String, std::thread::JoinHandle<usize>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", l.local_addr().unwrap());
        let h = std::thread::spawn(move || {
            let (mut conns, mut answered) = (0, 0);
            while answered < total {
                let Ok((mut s, _)) = l.accept() else { break };
                conns += 1;
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut r = BufReader::new(s.try_clone().unwrap());
                'conn: for _ in 0..per_conn {
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match r.read_line(&mut line) {
                            Ok(0) | Err(_) => break 'conn,
                            Ok(_) if line == "\r\n" => break,
                            Ok(_) => {}
                        }
                    }
                    let extra = if close_header {
                        "Connection: close\r\n"
                    } else {
                        ""
                    };
                    let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n{extra}\r\nok");
                    answered += 1;
                }
                // Close, as a keep-alive timeout or limit would.
                let _ = s.shutdown(Shutdown::Both);
                if let Some(tx) = &closed {
                    let _ = tx.send(());
                }
            }
            conns
        });
        (url, h)
    }

    fn test_agent() -> Agent {
        let cfg = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_recv_response(Some(Duration::from_secs(2)))
            .build();
        agent(
            &cfg,
            &SharedConnector::default(),
            &CachedResolver::default(),
        )
    }

    /// Counts the lookups that reach it; fails while `fail` is set.
    #[derive(Debug, Default, Clone)]
    struct Counting {
        lookups: Arc<std::sync::atomic::AtomicUsize>,
        fail: Arc<std::sync::atomic::AtomicBool>,
    }

    impl Resolver for Counting {
        fn resolve(
            &self,
            uri: &Uri,
            config: &Config,
            timeout: NextTimeout,
        ) -> Result<ResolvedSocketAddrs, ureq::Error> {
            use std::sync::atomic::Ordering::SeqCst;
            self.lookups.fetch_add(1, SeqCst);
            if self.fail.load(SeqCst) {
                return Err(ureq::Error::HostNotFound);
            }
            DefaultResolver::default().resolve(uri, config, timeout)
        }
    }

    fn lookup(r: &CachedResolver, url: &str) -> Result<Vec<std::net::SocketAddr>, ureq::Error> {
        let uri: Uri = url.parse().unwrap();
        r.resolve(&uri, &Config::default(), NextTimeout::default())
            .map(|a| a.to_vec())
    }

    #[test]
    fn resolver_looks_each_host_up_once_per_ttl() {
        use std::sync::atomic::Ordering::SeqCst;
        let inner = Counting::default();
        let r = CachedResolver::new(inner.clone(), Duration::from_secs(60));
        let first = lookup(&r, "http://localhost:8080/a").unwrap();
        assert!(
            first
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 8080)
        );
        for path in ["/b", "/c?x=1", "/"] {
            let again = lookup(&r, &format!("http://localhost:8080{path}")).unwrap();
            assert_eq!(again, first, "the cached addresses, whatever the path");
        }
        assert_eq!(inner.lookups.load(SeqCst), 1);
        // Another port, another scheme: other keys.
        let other = lookup(&r, "http://localhost:8081/").unwrap();
        assert!(other.iter().all(|a| a.port() == 8081));
        lookup(&r, "https://localhost:8080/").unwrap();
        assert_eq!(inner.lookups.load(SeqCst), 3);
        // Expired entries are looked up again.
        let inner = Counting::default();
        let r = CachedResolver::new(inner.clone(), Duration::ZERO);
        lookup(&r, "http://127.0.0.1:9/").unwrap();
        lookup(&r, "http://127.0.0.1:9/").unwrap();
        assert_eq!(inner.lookups.load(SeqCst), 2);
    }

    #[test]
    fn resolver_does_not_cache_failures() {
        use std::sync::atomic::Ordering::SeqCst;
        let inner = Counting::default();
        inner.fail.store(true, SeqCst);
        let r = CachedResolver::new(inner.clone(), Duration::from_secs(60));
        for _ in 0..3 {
            assert!(matches!(
                lookup(&r, "http://localhost:8080/"),
                Err(ureq::Error::HostNotFound)
            ));
        }
        assert_eq!(
            inner.lookups.load(SeqCst),
            3,
            "every failing request looks up"
        );
        inner.fail.store(false, SeqCst);
        lookup(&r, "http://localhost:8080/").unwrap();
        lookup(&r, "http://localhost:8080/").unwrap();
        assert_eq!(inner.lookups.load(SeqCst), 4);
    }

    #[test]
    fn requests_by_host_name_go_through_the_cache() {
        use std::sync::atomic::Ordering::SeqCst;
        let (url, h) = server(10, false, 10);
        let url = url.replace("127.0.0.1", "localhost");
        let inner = Counting::default();
        let cfg = Agent::config_builder()
            .http_status_as_error(false)
            .ip_family(ureq::config::IpFamily::Ipv4Only)
            .build();
        let resolver = CachedResolver::new(inner.clone(), RESOLVE_TTL);
        let agent = agent(&cfg, &SharedConnector::default(), &resolver);
        for _ in 0..10 {
            let mut resp = agent.get(&url).call().expect("request succeeds");
            assert_eq!(resp.body_mut().read_to_string().unwrap(), "ok");
        }
        assert_eq!(inner.lookups.load(SeqCst), 1, "one lookup for 10 requests");
        drop(agent);
        assert_eq!(h.join().unwrap(), 1);
    }

    #[test]
    fn keep_alive_connection_is_reused() {
        let (url, h) = server(10, false, 10);
        let agent = test_agent();
        for _ in 0..10 {
            let mut resp = agent.get(&url).call().expect("request succeeds");
            assert_eq!(resp.body_mut().read_to_string().unwrap(), "ok");
        }
        assert_eq!(h.join().unwrap(), 1, "all 10 requests on one connection");
    }

    #[test]
    fn connection_close_is_honoured_without_the_probe() {
        let (url, h) = server(1, true, 5);
        let agent = test_agent();
        for i in 0..5 {
            let mut resp = agent
                .get(&url)
                .call()
                .unwrap_or_else(|e| panic!("request {i}: {e}"));
            assert_eq!(resp.body_mut().read_to_string().unwrap(), "ok");
        }
        drop(agent);
        assert_eq!(h.join().unwrap(), 5, "a new connection for every request");
    }

    #[test]
    fn an_idle_connection_closed_by_the_server_is_probed_and_replaced() {
        // The server answers one request per connection and closes without saying so.
        let (tx, closed) = std::sync::mpsc::channel();
        let (url, h) = server_notifying(1, false, 3, Some(tx));
        let agent = test_agent();
        for i in 0..3 {
            let mut resp = agent
                .get(&url)
                .call()
                .unwrap_or_else(|e| panic!("request {i}: {e}"));
            assert_eq!(resp.body_mut().read_to_string().unwrap(), "ok");
            // Wait until the server has really closed, then stay idle past the probe threshold.
            closed
                .recv_timeout(Duration::from_secs(10))
                .expect("server closes the connection");
            std::thread::sleep(PROBE_AFTER_IDLE + Duration::from_millis(50));
        }
        drop(agent);
        assert_eq!(h.join().unwrap(), 3);
    }

    #[test]
    fn reads_a_body_to_the_end() {
        let (url, _h) = server(2, false, 1);
        let agent = test_agent();
        let mut resp = agent.get(&url).call().unwrap();
        let mut s = String::new();
        resp.body_mut().as_reader().read_to_string(&mut s).unwrap();
        assert_eq!(s, "ok");
    }
}
