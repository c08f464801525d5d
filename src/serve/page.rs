//! A small HTTP server for one text page: the live `/metrics` of `--metrics-addr`. hyper on a
//! current-thread tokio runtime in one thread of its own, which sleeps between scrapes: the load
//! loses no user thread and no core to it. The page is rendered afresh for each request.
//!
//! `GET` or `HEAD` of the page's path (any query) answers 200 with the page; another method
//! there 405; any other path 404.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

/// Renders the page, on the server's thread.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// How long stopping waits for a scrape in progress.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(1);

/// A page being served; dropping it (or `stop`) shuts the server down.
#[derive(Debug)]
pub struct PageServer {
    /// Where it listens (the port chosen, when 0 was asked).
    pub addr: SocketAddr,
    running: super::Running,
}

impl PageServer {
    /// Stop accepting, close every connection and wait for the server's thread.
    pub fn stop(mut self) {
        self.running.stop();
    }
}

/// Listen on `addr` and serve `render()` at `path` with `content_type`; returns once it
/// listens.
///
/// # Errors
///
/// The address cannot be bound (the OS error, its kind kept: `AddrInUse`,
/// `AddrNotAvailable`, `PermissionDenied`), or the runtime or thread cannot be created.
pub fn spawn(
    addr: SocketAddr,
    path: &'static str,
    content_type: &'static str,
    render: Render,
) -> io::Result<PageServer> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    let bound = {
        let _guard = rt.enter();
        super::bind(addr).and_then(|l| Ok((l.local_addr()?, l)))
    };
    let (addr, listener) = match bound {
        Ok(bound) => bound,
        Err(e) => {
            rt.shutdown_background();
            return Err(e);
        }
    };
    let (tx, rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("qpsbench-metrics".into())
        .spawn(move || {
            rt.block_on(async move {
                tokio::spawn(accept_loop(listener, path, content_type, render));
                // A send or a dropped sender both mean "stop".
                let _ = rx.await;
            });
            rt.shutdown_timeout(SHUTDOWN_WAIT);
        })?;
    Ok(PageServer {
        addr,
        running: super::Running::new(tx, thread),
    })
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    path: &'static str,
    content_type: &'static str,
    render: Render,
) {
    let mut builder = http1::Builder::new();
    // No timer: a scraper's kept-alive connection idles between scrapes.
    builder.keep_alive(true).header_read_timeout(None);
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            // Out of file descriptors or a connection gone before it was accepted: try again
            // a little later rather than spin.
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let render = Arc::clone(&render);
        let conn = builder.serve_connection(
            TokioIo::new(stream),
            service_fn(move |req: Request<Incoming>| {
                let resp = answer(&req, path, content_type, &render);
                async move { Ok::<_, Infallible>(resp) }
            }),
        );
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}

fn answer(
    req: &Request<Incoming>,
    path: &str,
    content_type: &'static str,
    render: &Render,
) -> Response<Full<Bytes>> {
    let text = |status: StatusCode, body: String| {
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() = status;
        resp.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        resp
    };
    if req.uri().path() != path {
        return text(
            StatusCode::NOT_FOUND,
            format!("not found: this server serves {path} only\n"),
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut resp = text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{path} answers GET and HEAD\n"),
        );
        resp.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    let mut resp = text(StatusCode::OK, render());
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}
