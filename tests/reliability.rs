//! Hostile input, slow clients and the developer's own browser, against a spawned `specmock
//! serve` process, so connections are real sockets and memory figures are that process's own.

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

const TRANSFER: &str =
    "/brm/prepayBalanceManagement/v4/transferBalance/0.0.0.1+-event-audit-transfer_balance+332070103776495457";
const BALANCES: &str = "/api/network/v1/enterprises/7a72d96a-03b1-4f1f-a16f-5d13f5c04757/partners/balances";

/// A running `specmock serve`, killed when dropped.
struct Served {
    child: Child,
    port: u16,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Served {
    fn start(args: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_specmock"))
            .args(["serve", "--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("specmock runs");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let kept = stderr.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while err.read_line(&mut line).is_ok_and(|n| n > 0) {
                kept.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}; stderr: {}", stderr.lock().unwrap()));
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Served { child, port, stderr }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        stream
    }

    /// Sends `head` (request line and headers, without the blank line) on a new connection
    /// and reads the whole answer.
    fn send(&self, head: &str) -> Answer {
        let mut stream = self.connect();
        // A server refusing an oversized head may close before it is all written.
        let _ = stream.write_all(format!("{head}\r\nConnection: close\r\n\r\n").as_bytes());
        read_answer(&mut stream)
    }

    fn get(&self, path: &str, headers: &str) -> Answer {
        self.send(&format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}{headers}", self.port))
    }

    fn health(&self) -> Value {
        self.get("/__admin/health", "").json()
    }

    /// A line of /proc/PID/status, in kB.
    fn memory_kb(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with(field)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            let shown = String::from_utf8_lossy(&self.body[..self.body.len().min(300)]).to_string();
            panic!("{e}: {shown}")
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// The answer on `stream`; status 0 when the connection was reset before one arrived.
fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Answer { status: 0, head: String::new(), body: raw };
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut answer = Answer { status, head, body: raw[split + 4..].to_vec() };
    if answer.header("transfer-encoding") == Some("chunked") {
        answer.body = unchunk(&answer.body);
    }
    answer
}

/// A chunked body's bytes.
fn unchunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        body.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
        raw = &raw[line_end + 2 + size + 2..];
    }
    body
}

/// Whether the server closes `stream` (end of file, or reset) within its read timeout.
fn closed(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => true,
        Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
    }
}

#[test]
fn the_admin_api_answers_only_its_own_origin_and_hosts() {
    let server = Served::start(&["--no-cache"]);
    let evil = server.get("/__admin/requests", "\r\nOrigin: http://evil.example");
    assert_eq!(evil.status, 403);
    assert_eq!(evil.header("access-control-allow-origin"), None);
    assert!(evil.json()["error"].as_str().unwrap().contains("other origins"));
    let rebound = server.send("GET /__admin/requests HTTP/1.1\r\nHost: evil.example:4010");
    assert_eq!(rebound.status, 403);
    let wiped = server.send(&format!("DELETE /__admin/requests HTTP/1.1\r\nHost: attacker.test:{}", server.port));
    assert_eq!(wiped.status, 403);
    let form =
        server.send("POST /__admin/reset HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 0");
    assert_eq!(form.status, 415);
    let own = server.get("/__admin/requests", "");
    assert_eq!(own.status, 200);
    assert_eq!(own.header("access-control-allow-origin"), None);
    // The APIs themselves stay readable cross-origin, for browser frontends.
    let api = server.get(TRANSFER, "\r\nOrigin: http://localhost:3000\r\nAuthorization: Bearer demo-token");
    assert_eq!(api.status, 200);
    assert_eq!(api.header("access-control-allow-origin"), Some("http://localhost:3000"));
}

#[test]
fn half_sent_requests_and_idle_sockets_are_closed_while_others_are_served() {
    let server = Served::start(&["--no-cache", "--header-timeout", "1", "--idle-timeout", "1"]);
    let mut half_sent: Vec<TcpStream> = (0..200)
        .map(|i| {
            let mut s = server.connect();
            s.write_all(format!("GET {BALANCES}?pageSize={i} HTTP/1.1\r\nHost: localhost\r\n").as_bytes()).unwrap();
            s
        })
        .collect();
    // Idle keep-alive sockets: one request answered, then nothing.
    let mut idle: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = server.connect();
            s.write_all(b"GET /__admin/health HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
            let mut buf = [0u8; 512];
            assert!(s.read(&mut buf).unwrap() > 0);
            s
        })
        .collect();
    // Meanwhile a normal client keeps getting answers.
    for _ in 0..20 {
        assert_eq!(server.get(BALANCES, "\r\nAuthorization: Bearer demo-token").status, 200);
        std::thread::sleep(Duration::from_millis(50));
    }
    for s in half_sent.iter_mut().chain(idle.iter_mut()) {
        assert!(closed(s), "the server closed it after --header-timeout or --idle-timeout");
    }
    let connections = &server.health()["connections"];
    assert_eq!(connections["timedOut"], 200, "{connections}");
    assert!(connections["idleClosed"].as_u64().unwrap() >= 20, "{connections}");
    // Each half-sent request's line was read: it is journalled, idle sockets are not.
    let journal = server.get("/__admin/requests?limit=1000", "").json();
    let entries = journal["requests"].as_array().unwrap();
    let timed_out: Vec<_> = entries.iter().filter(|e| e["status"] == 408).collect();
    assert_eq!((entries.len(), timed_out.len()), (220, 200));
    assert!(timed_out[0]["url"].as_str().unwrap().starts_with(&format!("{BALANCES}?pageSize=")));
    assert!(timed_out[0]["error"].as_str().unwrap().contains("--header-timeout"), "{}", timed_out[0]);
}

#[test]
fn oversized_heads_get_431_and_connections_over_the_cap_503() {
    let server = Served::start(&["--no-cache", "--max-connections", "2", "--max-header-kib", "16"]);
    let big = server.get(TRANSFER, &format!("\r\nUser-Agent: {}", "u".repeat(20_000)));
    assert_eq!(big.status, 431);
    // Fill the two slots with silent connections until one is refused. A slot freed by a closed
    // connection returns a moment after the client sees the close, so one more may be served.
    let mut held: Vec<TcpStream> = Vec::new();
    let refused = loop {
        let mut stream = server.connect();
        stream.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let answer = read_answer(&mut stream);
        if answer.status == 503 {
            break answer;
        }
        assert_eq!(answer.status, 0, "a served connection waits for its request");
        held.push(stream);
        assert!(held.len() <= 3, "the cap of 2 held {} connections", held.len());
    };
    assert!(refused.json()["error"].as_str().unwrap().contains("--max-connections"));
    drop(held);
    let health = loop {
        let answer = server.get("/__admin/health", "");
        if answer.status == 200 {
            break answer.json();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let connections = &health["connections"];
    assert!(connections["refusedOverCap"].as_u64().unwrap() >= 1, "{connections}");
    assert_eq!(connections["headTooLarge"], 1, "{connections}");
    let journal = server.get("/__admin/requests", "").json();
    let refused = &journal["requests"][0];
    assert_eq!((refused["status"].as_u64(), refused["url"].as_str()), (Some(431), Some(TRANSFER)), "{journal}");
    assert!(refused["error"].as_str().unwrap().contains("over 16 KiB"), "{refused}");
}

#[test]
fn memory_stays_bounded_under_oversized_requests_and_journal_reads() {
    let server = Served::start(&["--no-cache"]);
    let port = server.port;
    let long_query = "q".repeat(50_000);
    let ua = "a".repeat(8_000);
    let huge_ua = "u".repeat(300_000);
    std::thread::scope(|scope| {
        for worker in 0..8 {
            let (long_query, ua, huge_ua, server) = (&long_query, &ua, &huge_ua, &server);
            scope.spawn(move || {
                for i in 0..1250 {
                    // Unauthenticated, so each is a journalled 401; every tenth is too big to parse.
                    let agent = if i % 10 == 0 { huge_ua } else { ua };
                    let head = format!(
                        "GET {BALANCES}?x={worker}{i}{long_query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {agent}"
                    );
                    let answer = server.send(&head);
                    // The 431 may be lost to the reset of a connection closed mid-upload.
                    let expected: &[u16] = if i % 10 == 0 { &[431, 0] } else { &[401] };
                    assert!(expected.contains(&answer.status), "{}", answer.status);
                }
            });
        }
        for _ in 0..3 {
            scope.spawn(|| {
                for _ in 0..30 {
                    let page = server.get("/__admin/requests?limit=100000", "");
                    assert_eq!(page.status, 200);
                }
            });
        }
    });
    let journal = server.get("/__admin/requests?limit=1", "").json();
    let url = journal["requests"][0]["url"].as_str().unwrap();
    assert!(url.ends_with(" bytes cut]"), "{}", &url[url.len() - 40..]);
    let health = server.health();
    assert!(health["journal"]["bytes"].as_u64().unwrap() <= 16 << 20, "{health}");
    assert_eq!(health["connections"]["headTooLarge"], 1000, "{health}");
    let (now, peak) = (server.memory_kb("VmRSS:"), server.memory_kb("VmHWM:"));
    eprintln!("10,000 oversized requests and 90 journal reads: peak RSS {peak} kB, now {now} kB");
    assert!(peak < 100_000, "peak RSS {peak} kB, now {now} kB");
}

#[test]
fn sessions_hold_about_the_memory_session_bytes_allows() {
    // 4,000 transfers in 40 sessions would weigh about 80 MB (each counted as it would be parsed,
    // though it is kept as text until read); a 16 MiB budget drops the least recently used
    // sessions, and the server's resident memory grows by no more than the budget.
    let server = Served::start(&["--no-cache", "--quiet", "--session-bytes", "16MiB", "--journal-bytes", "1MiB"]);
    let start = server.memory_kb("VmRSS:");
    let (a, b) = ("0.0.0.1+-balance_group+2083846+1000095+38", "0.0.0.1+-balance_group+2090186+1000095+20");
    std::thread::scope(|scope| {
        for worker in 0..4 {
            let server = &server;
            scope.spawn(move || {
                for i in 0..1000 {
                    let (from, to) = if i % 2 == 0 { (a, b) } else { (b, a) };
                    let body = format!(
                        r#"{{"amount":{{"amount":1,"units":"Free Seconds"}},"bucket":{{"id":"{from}"}},"receiverBucket":{{"id":"{to}"}},"usageType":"other"}}"#
                    );
                    let head = format!(
                        "POST /brm/prepayBalanceManagement/v4/transferBalance HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
                         Authorization: Bearer demo-token\r\nContent-Type: application/json\r\n\
                         X-Specmock-Session: s{worker}-{}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                        server.port,
                        i / 100,
                        body.len()
                    );
                    let mut stream = server.connect();
                    stream.write_all(head.as_bytes()).unwrap();
                    let answer = read_answer(&mut stream);
                    assert_eq!(answer.status, 201, "{}", String::from_utf8_lossy(&answer.body));
                }
            });
        }
    });
    let sessions = server.get("/__admin/sessions", "").json();
    let kept: u64 = sessions["sessions"].as_array().unwrap().iter().map(|s| s["writes"].as_u64().unwrap()).sum();
    let grown = server.memory_kb("VmRSS:").saturating_sub(start);
    eprintln!("4,000 transfers, {kept} kept: resident memory grew {grown} kB");
    assert!((300..2_000).contains(&kept), "a 16 MiB budget kept {kept} transfers");
    assert!(grown < 28 << 10, "resident memory grew {grown} kB for a 16 MiB budget");
    // Reading every kept transfer back parses each one, still within the budget they were
    // counted at.
    let mut read = 0;
    for session in sessions["sessions"].as_array().unwrap() {
        let (name, writes) = (session["name"].as_str().unwrap(), session["writes"].as_u64().unwrap());
        for n in 1..=writes {
            let path = format!(
                "/brm/prepayBalanceManagement/v4/transferBalance/0.0.0.1+-event-audit-transfer_balance+{}",
                900_000_000_000_000_000u64 + n
            );
            let answer =
                server.get(&path, &format!("\r\nAuthorization: Bearer demo-token\r\nX-Specmock-Session: {name}"));
            assert_eq!(answer.status, 200, "{name} {n}: {}", String::from_utf8_lossy(&answer.body));
            read += 1;
        }
    }
    let grown = server.memory_kb("VmRSS:").saturating_sub(start);
    eprintln!("{read} kept transfers read back: resident memory grew {grown} kB in all");
    assert_eq!(read, kept);
    // The budget, the 1 MiB journal, and what the allocator keeps for the parses' short-lived nodes.
    assert!(grown < 32 << 10, "resident memory grew {grown} kB for a 16 MiB budget once every record was read");
}

#[test]
fn concurrent_resets_share_reloads_and_memory() {
    let server = Served::start(&["--no-cache", "--scale", "5"]);
    let reset = || {
        server.send(
            "POST /__admin/reset HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 0",
        )
    };
    let before = server.memory_kb("VmRSS:");
    assert_eq!(reset().status, 200);
    let one = server.memory_kb("VmHWM:").saturating_sub(before);
    assert_eq!(server.health()["reloads"], 1);
    std::thread::scope(|scope| {
        let resets: Vec<_> = (0..64).map(|_| scope.spawn(|| reset().status)).collect();
        for r in resets {
            assert_eq!(r.join().unwrap(), 200);
        }
    });
    let reloads = server.health()["reloads"].as_u64().unwrap();
    assert!((2..=3).contains(&reloads), "64 concurrent resets ran {} reloads", reloads - 1);
    let sixty_four = server.memory_kb("VmHWM:").saturating_sub(before);
    eprintln!(
        "peak RSS over the start: one reset {one} kB, then 64 concurrent {sixty_four} kB in {} reloads",
        reloads - 1
    );
    assert!(sixty_four < 2 * one.max(1), "64 resets peaked {sixty_four} kB over the start, one {one} kB");
}

#[test]
fn a_host_with_a_tab_gets_400_in_the_envelope_and_is_journalled() {
    let server = Served::start(&["--no-cache", "--strict"]);
    for path in [format!("{TRANSFER}?fields=none"), TRANSFER.to_string()] {
        let answer =
            server.send(&format!("GET {path} HTTP/1.1\r\nHost: mock\ttest:4010\r\nAuthorization: Bearer demo-token"));
        assert_eq!(answer.status, 400, "{}", String::from_utf8_lossy(&answer.body));
        let body = answer.json();
        assert_eq!(body["@type"], "Error");
        assert!(body["reason"].as_str().unwrap().contains("expected host[:port]"), "{body}");
    }
    let journal = server.get("/__admin/requests", "").json();
    let statuses: Vec<_> = journal["requests"].as_array().unwrap().iter().map(|e| e["status"].clone()).collect();
    assert_eq!(statuses, [400, 400]);
}

#[test]
fn a_fifo_at_the_cache_path_starts_normally() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().to_str().unwrap();
    drop(Served::start(&["--cache-dir", cache]).health());
    let snapshots: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "snapshot"))
        .collect();
    assert_eq!(snapshots.len(), 2, "{snapshots:?}");
    for path in &snapshots {
        std::fs::remove_file(path).unwrap();
        mkfifo(path);
    }
    let server = Served::start(&["--cache-dir", cache]);
    assert_eq!(server.get(TRANSFER, "\r\nAuthorization: Bearer demo-token").status, 200);
    assert!(server.stderr.lock().unwrap().contains("is not a regular file"), "{}", server.stderr.lock().unwrap());
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}
