//! A hostile gateway and hostile HTTP clients against a real `relay
//! connector` process.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::support::*;

/// Issue item 1: a gateway floods pings and never reads. The connector's
/// memory stays bounded and it drops the gateway.
#[test]
fn ping_flood_from_a_gateway_that_never_reads() {
    let server = Connector::start(&[]);
    let watch = RssWatch::start(server.proc.pid(), RSS_LIMIT_KIB);
    let mut raw = raw_gateway(server.addr);
    let pings: Vec<u8> = client_frame(0x9, &[b'p'; 125]).repeat(512);
    let started = Instant::now();
    let dropped = flood(&mut raw, &pings, started + Duration::from_secs(15), || {
        watch.crossed()
    });
    let peak = watch.peak_kib();
    eprintln!(
        "gateway ping flood: peak RSS {peak} KiB, dropped={dropped} after {:?}",
        started.elapsed()
    );
    assert!(
        !watch.crossed(),
        "relay connector crossed {RSS_LIMIT_KIB} KiB under a ping flood (peak {peak} KiB)"
    );
    assert!(
        dropped,
        "a gateway that never reads was not dropped in 15 s"
    );
    let stats = http(
        server.addr,
        "GET",
        "/dev/stats",
        b"",
        Duration::from_secs(2),
    );
    assert!(matches!(stats, Some((200, _))), "stats: {stats:?}");
}

/// Issue item 8: half-open requests (headers never finished) are not held:
/// the connector closes them within its header-read timeout, and the admin
/// API answers meanwhile.
#[test]
fn half_open_requests_are_released() {
    const N: usize = 1000;
    let server = Connector::start(&[]);
    let mut conns = Vec::with_capacity(N);
    for _ in 0..N {
        let Ok(mut s) = TcpStream::connect(server.addr) else {
            break;
        };
        let _ = s.write_all(b"GET /dev/stats HTTP/1.1\r\nHost: x\r\n");
        conns.push(s);
    }
    assert_eq!(conns.len(), N, "could not open {N} connections");
    let started = Instant::now();
    let stats = http(
        server.addr,
        "GET",
        "/dev/stats",
        b"",
        Duration::from_secs(2),
    );
    assert!(
        matches!(stats, Some((200, _))),
        "stats with {N} half-open requests: {stats:?}"
    );
    // Every one must be closed by the server within 15 s.
    let deadline = started + Duration::from_secs(15);
    let mut open = 0;
    for s in &mut conns {
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = s.set_read_timeout(Some(left.max(Duration::from_millis(1))));
        let mut buf = [0u8; 512];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    open += 1;
                    break;
                }
                Err(_) => break,
            }
        }
    }
    eprintln!(
        "half-open: {open} of {N} still open after {:?}",
        started.elapsed()
    );
    assert_eq!(open, 0, "{open} half-open requests held for 15 s");
}

/// Issue item 8: at a file-descriptor limit the connector keeps its admin
/// API answering and does not fill its log with accept errors.
#[test]
fn the_admin_api_answers_at_the_connection_cap() {
    let (l, addr) = listener();
    drop(l);
    let listen = addr.to_string();
    let mut cmd = relay(&["connector", "--listen", &listen]);
    cmd.env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: `setrlimit` is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1100,
                rlim_max: 1100,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut proc = spawn(cmd);
    let stderr = collect(proc.0.stderr.take().expect("stderr"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "relay connector did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut conns = Vec::new();
    for _ in 0..1500 {
        match TcpStream::connect(addr) {
            Ok(s) => conns.push(s),
            Err(_) => break,
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let stats = http(addr, "GET", "/dev/stats", b"", Duration::from_secs(3));
    let took = started.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    drop(conns);
    drop(proc);
    let log = stderr
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_default();
    let storm = log.matches("Too many open files").count();
    eprintln!(
        "at the cap: stats {:?} in {took:?}; {storm} \"Too many open files\" log lines",
        stats.as_ref().map(|s| s.0)
    );
    assert!(
        matches!(stats, Some((200, _))),
        "stats at the cap: {stats:?}"
    );
    assert!(storm <= 1, "{storm} accept-error log lines");
}

/// Issue item 9: SIGTERM stops the connector gracefully: live sockets get a
/// close frame, the exit status is 0.
#[test]
fn sigterm_stops_the_connector_gracefully() {
    let mut server = Connector::start(&[]);
    let mut raw = raw_gateway(server.addr);
    std::thread::sleep(Duration::from_millis(200));
    server.proc.signal(libc::SIGTERM);
    let mut got = Vec::new();
    let _ = raw.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = [0u8; 4096];
    while let Ok(n) = raw.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if got.len() > 1 << 20 {
            break;
        }
    }
    let status = server.proc.wait_for(Duration::from_secs(10));
    // The last frame should be a close (opcode 8).
    let has_close = got.windows(2).any(|w| w[0] == 0x88 && w[1] >= 2);
    eprintln!("connector SIGTERM: exit {status:?}, close frame seen: {has_close}");
    assert_eq!(status.and_then(|s| s.code()), Some(0), "exit status");
    assert!(has_close, "no close frame before the end");
}

/// Scenarios that held: garbage HTTP and 100 MB bodies to every route get
/// an error answer or a closed link; memory stays bounded; the server keeps
/// answering.
#[test]
fn garbage_and_huge_bodies_to_every_route_stay_bounded() {
    let server = Connector::start(&[]);
    let watch = RssWatch::start(server.proc.pid(), RSS_LIMIT_KIB);
    let routes = [
        ("GET", "/relay"),
        ("POST", "/relay/provision"),
        ("POST", "/relay/enroll"),
        ("POST", "/relay/policy"),
        ("POST", "/dev/inbound"),
        ("POST", "/dev/revoke"),
        ("GET", "/dev/stats"),
        ("POST", "/nowhere"),
    ];
    let chunk = vec![b'x'; 1 << 20];
    for (method, path) in routes {
        let mut s = TcpStream::connect(server.addr).expect("connect");
        let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            100u64 << 20
        );
        let _ = s.write_all(head.as_bytes());
        let until = Instant::now() + Duration::from_secs(3);
        for _ in 0..100 {
            if Instant::now() > until || s.write_all(&chunk).is_err() {
                break;
            }
        }
        assert!(!watch.crossed(), "{method} {path}: crossed the bound");
        let mut garbage = TcpStream::connect(server.addr).expect("connect");
        let _ = garbage.write_all(b"\x00\xff\xfe GARBAGE \r\n\x01\r\n\r\n");
        let _ = garbage.set_read_timeout(Some(Duration::from_secs(2)));
        let mut answer = Vec::new();
        let _ = (&mut garbage).take(4096).read_to_end(&mut answer);
    }
    let stats = http(
        server.addr,
        "GET",
        "/dev/stats",
        b"",
        Duration::from_secs(2),
    );
    eprintln!("bodies: peak RSS {} KiB", watch.peak_kib());
    assert!(matches!(stats, Some((200, _))), "stats after: {stats:?}");
    assert!(!watch.crossed(), "crossed {RSS_LIMIT_KIB} KiB");
}

/// Issue item 9: the graceful stop of the connector waits (bounded) for each
/// live socket's close; a second SIGTERM meanwhile exits at once with 143
/// (128 + SIGTERM), as `relay connector --help` says. The socket's close
/// cannot go out: its gateway reads nothing and several MiB are queued for
/// it.
#[test]
fn a_second_sigterm_forces_the_connector_to_exit_at_once() {
    let mut server = Connector::start(&[]);
    let mut raw = raw_gateway(server.addr);
    raw.write_all(&client_frame(
        0x1,
        b"{\"type\":\"hello\",\"platform\":\"telegram\",\"bot_id\":\"b\"}\n",
    ))
    .expect("hello");
    // Never read from here on.
    std::thread::sleep(Duration::from_millis(300));
    let text = "x".repeat(512 * 1024);
    let body = format!(
        "{{\"instance\":\"dev-gateway\",\"event\":{{\"chat_id\":\"c\",\"platform\":\"telegram\",\"text\":\"{text}\"}}}}"
    );
    for i in 0..32 {
        let answer = http(
            server.addr,
            "POST",
            "/dev/inbound",
            body.as_bytes(),
            Duration::from_secs(5),
        );
        let Some((200, answer)) = answer else {
            panic!("inbound {i}: {answer:?}");
        };
        assert!(answer.contains("live"), "inbound {i} not live: {answer}");
    }
    server.proc.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        server.proc.wait_for(Duration::ZERO).is_none(),
        "relay connector exited on the first SIGTERM without waiting for its socket's close"
    );
    let sent = Instant::now();
    server.proc.signal(libc::SIGTERM);
    let status = server.proc.wait_for(Duration::from_secs(2));
    eprintln!(
        "connector second SIGTERM: exit {status:?} after {:?}",
        sent.elapsed()
    );
    let status = status.expect("relay connector still running 2 s after a second SIGTERM");
    assert_eq!(status.code(), Some(143), "exit status");
    drop(raw);
}

/// Reads `s` until the server closes it (EOF or a reset), discarding what
/// comes; how long that took, or `None` if it was still open at `within`.
fn closed_within(s: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = within.saturating_sub(started.elapsed());
        if left.is_zero() {
            return None;
        }
        let _ = s.set_read_timeout(Some(left));
        match s.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(started.elapsed()),
        }
    }
}

/// Issue item 8: an upgraded WebSocket that sends nothing (not even a ping)
/// is cut after the idle timeout (`--idle-timeout`, seconds); one that
/// pings is kept.
#[test]
fn an_idle_websocket_is_cut_after_the_idle_timeout() {
    let server = Connector::start(&["--idle-timeout", "1"]);
    // One socket at a time: a second one of the same gateway would replace
    // the first.
    let mut quiet = raw_gateway(server.addr);
    let took = closed_within(&mut quiet, Duration::from_secs(6));
    eprintln!("idle WebSocket cut after {took:?} (idle timeout 1 s)");
    let took = took.expect("an idle WebSocket still open after 6 s");
    assert!(
        took >= Duration::from_millis(800),
        "cut after {took:?}, before the idle timeout"
    );
    let mut pinging = raw_gateway(server.addr);
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        pinging.write_all(&client_frame(0x9, b"p")).expect("ping");
        assert!(
            closed_within(&mut pinging, Duration::from_millis(300)).is_none(),
            "a WebSocket that pings was cut"
        );
    }
}

/// Issue item 8: a keep-alive HTTP connection idle after one request is
/// closed after the header-read timeout (`--header-read-timeout`, seconds),
/// the limit on waiting for the next request's headers.
#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_header_read_timeout() {
    let server = Connector::start(&["--header-read-timeout", "1"]);
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.write_all(b"GET /dev/stats HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("request");
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\"model\"") {
        match s.read(&mut buf) {
            Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => panic!("no answer: {}", String::from_utf8_lossy(&got)),
        }
    }
    assert!(got.starts_with(b"HTTP/1.1 200"), "not a 200 answer");
    let took = closed_within(&mut s, Duration::from_secs(6));
    eprintln!("idle keep-alive connection closed after {took:?} (header-read timeout 1 s)");
    let took = took.expect("an idle keep-alive connection still open after 6 s");
    assert!(
        took >= Duration::from_millis(800),
        "closed after {took:?}, before the timeout"
    );
}

/// One `POST /dev/inbound` for `dev-gateway`; the delivery answer (`None`
/// if the server did not answer 200).
fn inject(addr: std::net::SocketAddr, chat: &str, text: &str) -> Option<String> {
    let body = format!(
        "{{\"instance\":\"dev-gateway\",\"event\":{{\"chat_id\":\"{chat}\",\"platform\":\"telegram\",\"text\":\"{text}\"}}}}"
    );
    match http(
        addr,
        "POST",
        "/dev/inbound",
        body.as_bytes(),
        Duration::from_secs(5),
    ) {
        Some((200, answer)) => Some(answer),
        _ => None,
    }
}

/// Issue item 4: the frames queued for one socket are bounded in count. A
/// gateway that never reads while the admin API injects large messages:
/// the connector's memory stays bounded and the socket is treated as gone
/// at the bound (the model stops delivering live and buffers); what is
/// buffered then reaches the next connection, every item of it.
#[test]
fn a_socket_queue_at_its_bound_cuts_the_gateway_and_loses_nothing_buffered() {
    const QUEUE: usize = 64;
    const AFTER: usize = 50;
    let queue = QUEUE.to_string();
    // A full queue is waited on for the write-stall bound (2 s here), then
    // the socket is treated as gone.
    let server = Connector::start(&["--socket-queue", &queue, "--write-stall-timeout", "2"]);
    let watch = RssWatch::start(server.proc.pid(), RSS_LIMIT_KIB);
    let mut raw = raw_gateway(server.addr);
    raw.write_all(&client_frame(
        0x1,
        b"{\"type\":\"hello\",\"platform\":\"telegram\",\"bot_id\":\"b\"}\n",
    ))
    .expect("hello");
    // Never read from here on.
    std::thread::sleep(Duration::from_millis(300));
    // 128 KiB messages: the queue bound holds 8 MiB of them; 800 of them
    // (100 MiB) would cross the memory bound.
    let text = "x".repeat(128 * 1024);
    let started = Instant::now();
    let mut live = 0usize;
    let mut first_buffered = None;
    while live < 800 && !watch.crossed() && started.elapsed() < Duration::from_secs(30) {
        let Some(answer) = inject(server.addr, "big", &text) else {
            break;
        };
        if answer.contains("\"buffered\"") {
            first_buffered = Some(answer);
            break;
        }
        assert!(answer.contains("\"live\""), "{answer}");
        live += 1;
    }
    let took = started.elapsed();
    let peak = watch.peak_kib();
    eprintln!(
        "socket queue {QUEUE}: {live} live deliveries of 128 KiB before the cut, after {took:?}; peak RSS {peak} KiB"
    );
    assert!(
        !watch.crossed(),
        "relay connector crossed {RSS_LIMIT_KIB} KiB with {live} messages queued for a gateway that reads nothing"
    );
    assert!(
        first_buffered.is_some(),
        "{live} live deliveries in {took:?} and the socket still not treated as gone"
    );
    // The socket ends (after what the kernel buffers held).
    let mut buf = vec![0u8; 1 << 16];
    let _ = raw.set_read_timeout(Some(Duration::from_secs(10)));
    let mut read = 0usize;
    let ended = loop {
        match raw.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => read += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break false;
            }
            Err(_) => break true,
        }
    };
    assert!(ended, "the cut socket is still open ({read} bytes read)");
    // Small messages while no gateway is connected: buffered.
    for i in 0..AFTER {
        let answer = inject(server.addr, &format!("after-{i}"), "small").unwrap_or_default();
        assert!(answer.contains("\"buffered\""), "after-{i}: {answer}");
    }
    // A gateway that reads and acks gets every buffered item.
    let mut gateway = spawn({
        let mut cmd = connect_cmd(&server.url());
        cmd.arg("--auto-ack");
        cmd
    });
    let out = lines(gateway.0.stdout.take().expect("stdout"));
    let mut seen = std::collections::BTreeSet::new();
    let mut big = 0usize;
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < AFTER && Instant::now() < deadline {
        let Ok(line) = out.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        if !line.contains("\"inbound\"") {
            continue;
        }
        if line.contains("\"big\"") {
            big += 1;
        }
        if let Some(at) = line.find("\"after-") {
            let chat: String = line[at + 1..].chars().take_while(|c| *c != '"').collect();
            seen.insert(chat);
        }
    }
    eprintln!(
        "after the cut: {} of {AFTER} buffered items and {big} large one(s) reached the next connection",
        seen.len()
    );
    assert_eq!(big, 1, "the large message buffered at the cut");
    assert_eq!(seen.len(), AFTER, "buffered items delivered");
    assert!(!watch.crossed(), "crossed {RSS_LIMIT_KIB} KiB");
}

/// The media plane: an authenticated upload that streams 100 MiB without a
/// `Content-Length` is cut off at 25 MiB (413) and the connector's memory
/// stays bounded; unauthenticated and over-declared uploads are refused
/// without reading their bodies.
#[test]
fn a_streamed_media_upload_past_the_cap_stays_bounded() {
    let server = Connector::start(&["--gateway", "gw-media:media-secret"]);
    let watch = RssWatch::start(server.proc.pid(), RSS_LIMIT_KIB);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let token = relay_core::auth::mint_token(
        "gw-media",
        "media-secret",
        300,
        relay_core::UnixTime::from_secs(now),
    );
    let mut s = TcpStream::connect(server.addr).expect("connect");
    let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let head = format!(
        "POST /relay/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let _ = s.write_all(head.as_bytes());
    let chunk = vec![b'm'; 1 << 20];
    let until = Instant::now() + Duration::from_secs(20);
    let mut sent = 0usize;
    for _ in 0..100 {
        let framed = s
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .and_then(|()| s.write_all(&chunk))
            .and_then(|()| s.write_all(b"\r\n"));
        if Instant::now() > until || framed.is_err() {
            break;
        }
        sent += 1;
    }
    let mut answer = Vec::new();
    let _ = (&mut s).take(4096).read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "after {sent} MiB: {answer}"
    );
    assert!(!watch.crossed(), "crossed {RSS_LIMIT_KIB} KiB");
    for head in [
        "POST /relay/media HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n".to_owned(),
        format!(
            "POST /relay/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: 104857600\r\n\r\n"
        ),
    ] {
        let mut s = TcpStream::connect(server.addr).expect("connect");
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.write_all(head.as_bytes());
        let mut answer = vec![0; 64];
        let n = s.read(&mut answer).unwrap_or(0);
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(
            answer.starts_with("HTTP/1.1 401") || answer.starts_with("HTTP/1.1 413"),
            "answered from the headers alone: {answer}"
        );
    }
    let stats = http(
        server.addr,
        "GET",
        "/dev/stats",
        b"",
        Duration::from_secs(2),
    );
    let Some((200, body)) = stats else {
        panic!("stats: {stats:?}");
    };
    let stats: serde_json::Value = serde_json::from_str(&body).expect("JSON stats");
    assert_eq!(stats["media"]["uploads_refused"], 3, "{stats}");
    assert_eq!(stats["media"]["stored"], 0);
    eprintln!("media: peak RSS {} KiB", watch.peak_kib());
}
