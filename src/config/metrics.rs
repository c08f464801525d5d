//! `--metrics-addr` and `--metrics-linger`: where the live `/metrics` page listens, and how long
//! it stays up after the run. The address is only checked here; the command binds it before
//! the first request (a port in use is bad input too).

use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::error::{UsageError, bad};

/// The live `/metrics` page of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsSpec {
    /// Where to listen: `127.0.0.1` unless a host was given.
    pub addr: SocketAddr,
    /// How long to keep serving after the run (after the summary and reports are written).
    pub linger: Duration,
}

/// `--metrics-addr`: `HOST:PORT` (a name is resolved, its first address taken), `[V6]:PORT`, or
/// a bare `PORT` on 127.0.0.1 (loopback: nothing outside this machine can read the page).
/// Port 0 takes any free port (the command says which).
///
/// # Errors
///
/// One line naming the flag, the value and how to write it.
pub fn parse_addr(text: &str) -> Result<SocketAddr, UsageError> {
    let fix = "write a port (9464, on 127.0.0.1) or HOST:PORT (127.0.0.1:9464, [::1]:9464)";
    if text.is_empty() {
        return bad(format!("--metrics-addr needs an address: {fix}"));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u16>() {
            Ok(port) => Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
            Err(_) => bad(format!(
                "--metrics-addr {text}: port {text} is not a TCP port: it must be 0 to 65535 \
                 (0: any free port), e.g. --metrics-addr 9464"
            )),
        };
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return bad(format!("--metrics-addr {text} has no port: {fix}"));
    };
    let Ok(port) = port.parse::<u16>() else {
        return bad(format!(
            "--metrics-addr {text}: '{port}' is not a TCP port (0 to 65535): {fix}"
        ));
    };
    if host.is_empty() || host.contains(['/', ' ', '[', ']']) || host.contains(':') {
        return bad(format!("--metrics-addr {text} is not HOST:PORT: {fix}"));
    }
    match (host, port).to_socket_addrs() {
        Ok(mut found) => match found.next() {
            Some(addr) => Ok(addr),
            None => bad(format!(
                "--metrics-addr {text}: the name {host} has no address: {fix}"
            )),
        },
        Err(_) => bad(format!(
            "--metrics-addr {text}: cannot resolve the host name {host}: {fix}"
        )),
    }
}

/// The spec of `--metrics-addr` and `--metrics-linger` (clap requires the address for the
/// linger).
///
/// # Errors
///
/// A bad address (see [`parse_addr`]).
pub fn spec(
    addr: Option<&str>,
    linger: Option<Duration>,
) -> Result<Option<MetricsSpec>, UsageError> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    Ok(Some(MetricsSpec {
        addr: parse_addr(addr)?,
        linger: linger.unwrap_or_default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_port_is_loopback_and_an_address_is_taken_as_given() {
        assert_eq!(
            parse_addr("9464").unwrap(),
            "127.0.0.1:9464".parse().unwrap()
        );
        assert_eq!(parse_addr("0").unwrap(), "127.0.0.1:0".parse().unwrap());
        assert_eq!(
            parse_addr("0.0.0.0:9464").unwrap(),
            "0.0.0.0:9464".parse().unwrap()
        );
        assert_eq!(parse_addr("[::1]:80").unwrap(), "[::1]:80".parse().unwrap());
        let local = parse_addr("localhost:9464").unwrap();
        assert!(local.ip().is_loopback() && local.port() == 9464, "{local}");
    }

    #[test]
    fn a_bad_address_names_the_flag_and_the_fix() {
        for (text, says) in [
            ("", "needs an address"),
            ("70000", "port 70000 is not a TCP port"),
            ("nowhere", "has no port"),
            ("127.0.0.1:", "is not a TCP port"),
            ("127.0.0.1:99999", "'99999' is not a TCP port"),
            (":9464", "is not HOST:PORT"),
            ("http://127.0.0.1:9464", "is not HOST:PORT"),
        ] {
            let e = parse_addr(text).unwrap_err().0;
            assert!(e.starts_with("--metrics-addr"), "{text}: {e}");
            assert!(e.contains(says), "{text}: '{e}' does not say '{says}'");
            assert!(e.contains("9464") && !e.contains('\n'), "{text}: {e}");
        }
    }
}
