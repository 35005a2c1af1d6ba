//! Accepting connections: each is served by hyper's HTTP/1 connection with a timer, so a request
//! head that has not fully arrived in time closes the connection, oversized heads get 431, and
//! connections beyond the cap get 503. What happens to connections is counted for
//! `/__admin/health`.
//!
//! `axum::serve` sets no timer, so a half-sent request or an idle keep-alive socket was held
//! forever; hyper-util's connection builder is what axum itself serves through, with the knobs.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};
use tower::ServiceExt;

use crate::app::App;

/// Bounds on connections, so one client cannot hold the sockets every other client needs.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionLimits {
    /// How long a request head may take to arrive complete, counted from the connection opening
    /// or from the previous response: it closes half-sent requests and idle keep-alive sockets.
    pub(crate) header_timeout: Duration,
    /// How many connections are served at once; more are answered 503 and closed.
    pub(crate) max_connections: usize,
    /// The largest request head (request line and headers), in bytes; larger ones get 431.
    pub(crate) max_header_bytes: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits { header_timeout: Duration::from_secs(10), max_connections: 512, max_header_bytes: 64 * 1024 }
    }
}

/// What happened to connections since start.
#[derive(Debug, Default)]
pub(crate) struct ConnectionCounts {
    open: AtomicU64,
    accepted: AtomicU64,
    timed_out: AtomicU64,
    refused: AtomicU64,
    too_large: AtomicU64,
    malformed: AtomicU64,
}

impl ConnectionCounts {
    /// The counts as `/__admin/health` shows them.
    pub(crate) fn to_json(&self) -> Value {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "open": n(&self.open),
            "accepted": n(&self.accepted),
            "timedOut": n(&self.timed_out),
            "refusedOverCap": n(&self.refused),
            "headTooLarge": n(&self.too_large),
            "malformed": n(&self.malformed),
        })
    }

    fn count(&self, ended: Result<(), hyper::Error>) {
        let Err(e) = ended else { return };
        let counter = if e.is_timeout() {
            &self.timed_out
        } else if e.is_parse_too_large() {
            &self.too_large
        } else if e.is_parse() {
            &self.malformed
        } else {
            return;
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Serves `app` on `listener` until `stop` fires; connections in flight then finish their
/// current request.
pub(crate) async fn serve(listener: TcpListener, app: Arc<App>, stop: oneshot::Receiver<()>) {
    let limits = app.limits.clone();
    let service = app.service();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    backoff(&e).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let counts = app.connections.clone();
        counts.accepted.fetch_add(1, Ordering::Relaxed);
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            counts.refused.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(refuse(stream, limits.max_connections));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone().map_request(|req: http::Request<Incoming>| req.map(Body::new));
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            counts.open.fetch_add(1, Ordering::Relaxed);
            counts.count(connection.await);
            counts.open.fetch_sub(1, Ordering::Relaxed);
            drop(slot);
        });
    }
    drop(listener);
    // In-flight requests finish; idle connections close now.
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}

/// Answers a connection over the cap with 503 and closes it, without reading its request.
async fn refuse(mut stream: TcpStream, cap: usize) {
    let body = json!({
        "error": format!("specmock is serving its limit of {cap} connections; retry when one closes, or raise --max-connections")
    })
    .to_string();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// Waits before accepting again after an accept error: out of file descriptors, accepting at
/// once would spin.
async fn backoff(e: &io::Error) {
    tracing::warn!("accept failed: {e}");
    tokio::time::sleep(Duration::from_millis(50)).await;
}
