//! A line per request on the terminal, as Prism prints: time, method, path and query, status,
//! duration, operation, and each validation finding or refusal reason.
//!
//! Off the request path: a request hands its journal entry (already built and shared) to a
//! bounded queue, and a logger thread drains it every 50 ms, formats and writes. The queue never
//! wakes the logger, so a request pays no system call; when the terminal cannot keep up, lines
//! are dropped and the count is printed, never queued without bound.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

use crate::app::journal::ReceivedRequest;

/// How often the logger thread writes what was queued: queued entries (shared with the journal)
/// stay alive until then, so a short wait keeps memory flat under load (at 50 ms and 30,000
/// requests a second, the backlog held 60 MB of bodies).
const DRAIN: Duration = Duration::from_millis(10);

/// How many lines may wait for the logger thread.
const QUEUE: usize = 16 * 1024;

/// Where request lines go.
#[derive(Debug)]
pub(crate) struct RequestLog {
    queue: SyncSender<Arc<ReceivedRequest>>,
    dropped: Arc<AtomicU64>,
}

impl RequestLog {
    /// Starts the logger thread, writing to `out`.
    pub(crate) fn start(out: impl Write + Send + 'static) -> std::io::Result<RequestLog> {
        let (queue, lines) = sync_channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let counted = dropped.clone();
        std::thread::Builder::new().name("specmock-log".into()).spawn(move || write_lines(lines, counted, out))?;
        Ok(RequestLog { queue, dropped })
    }

    /// Queues the line for `entry`; drops it when the queue is full.
    pub(crate) fn note(&self, entry: &Arc<ReceivedRequest>) {
        if self.queue.try_send(entry.clone()).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn write_lines(lines: Receiver<Arc<ReceivedRequest>>, dropped: Arc<AtomicU64>, mut out: impl Write) {
    let mut text = String::new();
    loop {
        std::thread::sleep(DRAIN);
        loop {
            match lines.try_recv() {
                Ok(entry) => line(&entry, &mut text),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    let _ = out.write_all(text.as_bytes());
                    return;
                }
            }
        }
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            text.push_str(&format!("… {lost} request lines dropped: the terminal did not keep up\n"));
        }
        if !text.is_empty() {
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
            text.clear();
        }
    }
}

/// Appends the line (and a line per finding) for `entry`. Written piece by piece: chrono's
/// `format` and `write!` cost 4,000 instructions a line by callgrind, more than serving a
/// record; this costs a few hundred.
fn line(entry: &ReceivedRequest, text: &mut String) {
    line_at(entry.millis_of_day(), entry, text);
}

fn line_at(millis_of_day: u64, entry: &ReceivedRequest, text: &mut String) {
    let mut number = itoa::Buffer::new();
    let two = |text: &mut String, n: u64| {
        text.push(char::from(b'0' + (n / 10 % 10) as u8));
        text.push(char::from(b'0' + (n % 10) as u8));
    };
    let seconds = millis_of_day / 1000;
    two(text, seconds / 3600);
    text.push(':');
    two(text, seconds / 60 % 60);
    text.push(':');
    two(text, seconds % 60);
    text.push('.');
    let millis = millis_of_day % 1000;
    text.push(char::from(b'0' + (millis / 100) as u8));
    two(text, millis);
    text.push(' ');
    text.push_str(entry.method.as_str());
    for _ in entry.method.as_str().len()..6 {
        text.push(' ');
    }
    text.push(' ');
    text.push_str(&entry.url());
    text.push(' ');
    text.push_str(number.format(entry.status));
    text.push(' ');
    let tenths = (entry.duration_ms * 10.0).round() as u64;
    text.push_str(number.format(tenths / 10));
    text.push('.');
    text.push(char::from(b'0' + (tenths % 10) as u8));
    text.push_str(" ms ");
    text.push_str(entry.operation.as_deref().unwrap_or("-"));
    text.push('\n');
    for finding in &entry.findings {
        text.push_str("    ! ");
        if !finding.pointer.is_empty() {
            text.push_str(&finding.pointer);
            text.push(' ');
        }
        text.push_str(&finding.message);
        text.push_str(" (");
        text.push_str(&finding.rule);
        text.push_str(")\n");
    }
    if let Some(error) = &entry.error {
        text.push_str("    ! ");
        text.push_str(error);
        text.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(url: &str, status: u16) -> ReceivedRequest {
        let mut entry = ReceivedRequest::refused(http::Method::GET, url);
        entry.status = status;
        entry
    }

    #[test]
    fn lines_say_what_came_and_what_went() {
        let mut entry = entry("/brm/x?limit=1", 200);
        entry.duration_ms = 0.25;
        entry.operation = Some("listX".into());
        entry.findings = vec![crate::contract::Finding::new("/0/id", "required".into(), "missing".into())];
        let mut text = String::new();
        line_at(((7 * 60 + 41) * 60 + 2) * 1000 + 123, &entry, &mut text);
        assert_eq!(text, "07:41:02.123 GET    /brm/x?limit=1 200 0.3 ms listX\n    ! /0/id missing (required)\n");
    }

    #[test]
    fn the_logger_writes_what_requests_queued() {
        #[derive(Clone, Default)]
        struct Shared(Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let out = Shared::default();
        let log = RequestLog::start(out.clone()).unwrap();
        let entry = Arc::new(entry("/a", 404));
        log.note(&entry);
        drop(log);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while out.0.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let written = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(written.contains("GET    /a 404"), "{written}");
    }
}
