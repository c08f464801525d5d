//! How each user's agent talks to the network: ureq's default connector chain (TCP, proxy, TLS),
//! with one change to its connection pool's liveness probe.
//!
//! ureq probes a pooled connection every time it is returned to the pool and again when it is
//! taken out (a non-blocking read between two `ioctl`s): 6 of the 8 system calls of a keep-alive
//! request, and 7-22% of the client's CPU (see shared/DESIGN.md). A user sends its next request
//! microseconds after the last one, when the probe can only find what the next read would find
//! anyway; it earns its cost only on a connection that sat idle long enough for the server to
//! close it (keep-alive timeouts are seconds). So the probe runs only on a connection idle for at
//! least [`PROBE_AFTER_IDLE`]. This uses ureq's `unversioned` transport API, which is why
//! Cargo.toml pins ureq's minor version.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ureq::Agent;
use ureq::config::Config;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport,
};

/// A connection idle at least this long is probed before reuse, as ureq always does.
pub const PROBE_AFTER_IDLE: Duration = Duration::from_millis(100);

/// An agent (with its own connection pool) whose pool probes only idle connections.
pub fn agent(config: &Config, connector: &SharedConnector) -> Agent {
    Agent::with_parts(
        config.clone(),
        connector.clone().chain(ProbeWhenIdle),
        DefaultResolver::default(),
    )
}

/// ureq's default connector chain, one for all users. Each agent would otherwise build its own
/// TLS connector, and with it its own rustls configuration and parsed root store on its first
/// https connection: CPU at start-up and memory for every user. Connection pools stay per agent.
#[derive(Debug, Clone, Default)]
pub struct SharedConnector(Arc<DefaultConnector>);

impl Connector<()> for SharedConnector {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        self.0.connect(details, chained)
    }
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
        Ok(chained.map(|inner| IdleProbed {
            inner,
            last_io: Instant::now(),
        }))
    }
}

/// A transport that remembers when it last moved bytes.
#[derive(Debug)]
pub struct IdleProbed {
    inner: Box<dyn Transport>,
    last_io: Instant,
}

impl Transport for IdleProbed {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let r = self.inner.transmit_output(amount, timeout);
        self.last_io = Instant::now();
        r
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let r = self.inner.await_input(timeout);
        self.last_io = Instant::now();
        r
    }

    fn is_open(&mut self) -> bool {
        self.last_io.elapsed() < PROBE_AFTER_IDLE || self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
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
        agent(&cfg, &SharedConnector::default())
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
