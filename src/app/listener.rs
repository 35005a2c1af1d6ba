//! Accepting connections: each is served by hyper's HTTP/1 connection beside a watchdog, so a
//! request head that has not fully arrived in time closes the connection; oversized heads get
//! 431, and connections beyond the cap get 503. What happens to connections is counted for
//! `/__admin/health`.
//!
//! `axum::serve` bounds nothing, so a half-sent request or an idle keep-alive socket was held
//! forever; hyper-util's connection builder is what axum itself serves through, with the knobs.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};
use tower::ServiceExt;

use crate::app::journal::{cut, FIELD_LIMIT};
use crate::app::App;

/// Bounds on connections, so one client cannot hold the sockets every other client needs.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionLimits {
    /// How long a request head may take to arrive complete once its first byte came: it closes
    /// half-sent requests.
    pub(crate) header_timeout: Duration,
    /// How long a connection may wait for the first byte of a request, from its opening or its
    /// last answer: it closes idle keep-alive sockets.
    pub(crate) idle_timeout: Duration,
    /// How many connections are served at once; more are answered 503 and closed.
    pub(crate) max_connections: usize,
    /// The largest request head (request line and headers), in bytes; larger ones get 431.
    pub(crate) max_header_bytes: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_connections: 512,
            max_header_bytes: 64 * 1024,
        }
    }
}

/// What happened to connections since start.
#[derive(Debug, Default)]
pub(crate) struct ConnectionCounts {
    open: AtomicU64,
    accepted: AtomicU64,
    timed_out: AtomicU64,
    idle_closed: AtomicU64,
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
            "idleClosed": n(&self.idle_closed),
            "refusedOverCap": n(&self.refused),
            "headTooLarge": n(&self.too_large),
            "malformed": n(&self.malformed),
        })
    }

    /// Counts how a connection ended; for a request hyper refused or gave up on, the status that
    /// stands for it and why.
    fn count(&self, ended: Result<(), Ended>, limits: &ConnectionLimits) -> Option<(u16, String)> {
        let e = match ended {
            Ok(()) => return None,
            Err(Ended::Idle) => {
                self.idle_closed.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            Err(Ended::TimedOut) => None,
            Err(Ended::Hyper(e)) => Some(e),
        };
        // hyper's own header timeout is off (the watchdog's is used), so only the watchdog times out.
        let (counter, status, why) = if e.is_none() {
            let secs = limits.header_timeout.as_secs_f64();
            let why = format!(
                "the request head did not arrive complete within {secs} s of its first byte (--header-timeout); \
                 closed without an answer"
            );
            (&self.timed_out, 408, why)
        } else if e.as_ref().is_some_and(|e| e.is_parse_too_large()) {
            let kib = limits.max_header_bytes / 1024;
            (&self.too_large, 431, format!("the request head is over {kib} KiB (--max-header-kib)"))
        } else if let Some(e) = e.filter(|e| e.is_parse()) {
            (&self.malformed, 400, format!("the request head does not parse: {e}"))
        } else {
            return None;
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Some((status, why))
    }
}

/// Why a connection ended early.
enum Ended {
    /// No request began in time.
    Idle,
    /// A request head did not arrive complete in time.
    TimedOut,
    /// hyper refused what it read.
    Hyper(hyper::Error),
}

/// What a connection's socket, its service and its watchdog share.
struct ConnectionState {
    line: Mutex<RequestLine>,
    waiting: Waiting,
}

/// Since when a connection has waited for its next request head, so a watchdog can close it.
///
/// hyper's own header-read timeout boxes and registers a timer for every request (1,800
/// instructions a request by callgrind, 5% of the transfer route); this costs a clock read per
/// request and one timer per connection per timeout period.
struct Waiting {
    epoch: std::time::Instant,
    /// Nanoseconds from `epoch` to when waiting began, or [`IN_REQUEST`].
    since: AtomicU64,
    /// Nanoseconds from `epoch` to the next head's first byte, or [`IN_REQUEST`] before it.
    first_byte: AtomicU64,
}

/// [`Waiting::since`] while a request is being read or answered.
const IN_REQUEST: u64 = u64::MAX;

impl Waiting {
    fn new() -> Waiting {
        Waiting { epoch: std::time::Instant::now(), since: AtomicU64::new(0), first_byte: AtomicU64::new(IN_REQUEST) }
    }

    fn is_waiting(&self) -> bool {
        self.since.load(Ordering::Relaxed) != IN_REQUEST
    }

    fn begin(&self) {
        self.first_byte.store(IN_REQUEST, Ordering::Relaxed);
        self.since.store(self.now(), Ordering::Relaxed);
    }

    fn first_byte_came(&self) {
        self.first_byte.store(self.now(), Ordering::Relaxed);
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn end(&self) {
        self.since.store(IN_REQUEST, Ordering::Relaxed);
    }

    /// Resolves once the connection has waited too long: `idle` for a request to begin, or
    /// `header` for a begun head to arrive complete.
    async fn expired(&self, idle: Duration, header: Duration) -> Ended {
        loop {
            let (since, first_byte) = (self.since.load(Ordering::Relaxed), self.first_byte.load(Ordering::Relaxed));
            let (deadline, ended) = match (since, first_byte) {
                (IN_REQUEST, _) => {
                    tokio::time::sleep(idle.min(header)).await;
                    continue;
                }
                (since, IN_REQUEST) => (self.epoch + Duration::from_nanos(since) + idle, Ended::Idle),
                (_, first) => (self.epoch + Duration::from_nanos(first) + header, Ended::TimedOut),
            };
            if std::time::Instant::now() >= deadline {
                return ended;
            }
            tokio::time::sleep_until(deadline.into()).await;
        }
    }
}

/// The request line of the request a connection is reading, kept until its head parses, so a
/// request hyper refuses (431, 400) or gives up on (header timeout) is journalled too.
#[derive(Debug, Default)]
struct RequestLine {
    bytes: Vec<u8>,
    /// A whole line was read.
    complete: bool,
}

impl RequestLine {
    fn take(&mut self, read: &[u8]) {
        if self.complete {
            return;
        }
        let read = if self.bytes.is_empty() { trim_blank_lines(read) } else { read };
        let (part, complete) = match memchr::memchr(b'\n', read) {
            Some(end) => (&read[..end], true),
            None => (read, false),
        };
        let room = (FIELD_LIMIT + 32).saturating_sub(self.bytes.len());
        self.bytes.extend_from_slice(&part[..part.len().min(room)]);
        self.complete = complete;
    }

    /// The method and target, when a request line (or the start of an overlong one) was read.
    fn parts(&self) -> Option<(String, String)> {
        let text = String::from_utf8_lossy(&self.bytes);
        let mut words = text.trim_end_matches('\r').split(' ');
        let method = words.next().filter(|m| !m.is_empty())?;
        Some((cut(method), cut(words.next().unwrap_or_default())))
    }
}

fn trim_blank_lines(mut read: &[u8]) -> &[u8] {
    while let Some(rest) = read.strip_prefix(b"\r\n").or_else(|| read.strip_prefix(b"\n")) {
        read = rest;
    }
    read
}

/// A connection's socket, noting each request line as it is read.
struct Recorded {
    io: TcpStream,
    state: Arc<ConnectionState>,
}

impl AsyncRead for Recorded {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        // Only bytes read between an answer and the next head are a request line, not a body.
        if buf.filled().len() > before && self.state.waiting.is_waiting() {
            let mut line = self.state.line.lock().unwrap_or_else(|e| e.into_inner());
            if line.bytes.is_empty() && !line.complete {
                self.state.waiting.first_byte_came();
            }
            line.take(&buf.filled()[before..]);
        }
        polled
    }
}

impl AsyncWrite for Recorded {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
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
    // The header timeout is the connection's watchdog's (see `Waiting`), not hyper's.
    http.header_read_timeout(None).max_buf_size(limits.max_header_bytes.max(8192));
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
        let state = Arc::new(ConnectionState { line: Mutex::default(), waiting: Waiting::new() });
        let (parsed, answered) = (state.clone(), state.clone());
        let service = service
            .clone()
            .map_request(move |req: http::Request<Incoming>| {
                // The head parsed: what is read next is its body, until the answer.
                parsed.waiting.end();
                let mut line = parsed.line.lock().unwrap_or_else(|e| e.into_inner());
                line.bytes.clear();
                line.complete = false;
                req.map(Body::new)
            })
            .map_response(move |response: axum::response::Response| {
                // A body of known size is written at once; a stream (the live journal) may run
                // for minutes, and the connection waits for a request only once it ends.
                if http_body::Body::size_hint(response.body()).exact().is_some() {
                    answered.waiting.begin();
                    return response;
                }
                let state = answered.clone();
                response.map(|body| Body::new(BeginWaitingAtEnd { body, state }))
            });
        let recorded = Recorded { io: stream, state: state.clone() };
        let connection = http.serve_connection(TokioIo::new(recorded), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        let (journal, limits) = (app.journal.clone(), limits.clone());
        tokio::spawn(async move {
            counts.open.fetch_add(1, Ordering::Relaxed);
            // A watchdog that fires drops the connection, which closes the socket.
            let ended = tokio::select! {
                ended = connection => ended.map_err(Ended::Hyper),
                why = state.waiting.expired(limits.idle_timeout, limits.header_timeout) => Err(why),
            };
            if let Some((status, why)) = counts.count(ended, &limits) {
                let line = state.line.lock().unwrap_or_else(|e| e.into_inner());
                let journalled = line.complete || status == 431;
                if let Some((method, url)) = line.parts().filter(|_| journalled) {
                    journal.refused(&method, &url, status, why);
                }
            }
            counts.open.fetch_sub(1, Ordering::Relaxed);
            drop(slot);
        });
    }
    drop(listener);
    // In-flight requests finish; idle connections close now.
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}

/// A streamed body that, once it ends, starts the connection's wait for its next request.
struct BeginWaitingAtEnd {
    body: Body,
    state: Arc<ConnectionState>,
}

impl http_body::Body for BeginWaitingAtEnd {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            self.state.waiting.begin();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
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
