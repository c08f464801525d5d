//! What the measurement examples share: the loopback target of a URL, and reading one
//! `Content-Length` response off a raw stream (the floor's whole HTTP: not a client to use).

use std::io::Read;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};

/// The loopback address, authority and path of an `http://` URL.
///
/// # Errors
///
/// When the URL is not `http://`, or its host does not resolve to a loopback address.
pub fn loopback_target(url: &str) -> Result<(SocketAddr, &str, &str), String> {
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    match authority.to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(a)) if a.ip().is_loopback() => Ok((a, authority, path)),
        _ => Err(format!("{authority}: loopback addresses only")),
    }
}

/// Reads one response with a `Content-Length` body; its body length, `None` on any error or
/// other framing.
pub fn read_response(s: &mut TcpStream, buf: &mut [u8]) -> Option<u64> {
    let mut have = 0;
    loop {
        match s.read(&mut buf[have..]) {
            Ok(0) | Err(_) => return None,
            Ok(n) => have += n,
        }
        let Some(end) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") else {
            if have == buf.len() {
                return None;
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]);
        let len = head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })?;
        let mut left = (end + 4 + len).saturating_sub(have);
        let room = buf.len();
        while left > 0 {
            match s.read(&mut buf[..left.min(room)]) {
                Ok(0) | Err(_) => return None,
                Ok(n) => left -= n,
            }
        }
        return Some(len as u64);
    }
}
