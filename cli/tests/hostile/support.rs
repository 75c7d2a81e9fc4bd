//! What the hostile scenarios share: processes killed on drop, memory and
//! CPU read from `/proc`, a scripted WebSocket connector and raw frames.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use tungstenite::Message;

/// The `relay` binary under test: `RELAY_BIN` when set, else the one
/// cargo built for this test.
pub fn bin() -> String {
    std::env::var("RELAY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_relay").to_owned())
}

/// The memory bound every scenario holds a process to.
pub const RSS_LIMIT_KIB: u64 = 64 * 1024;

/// A child process killed when the test ends, however it ends.
pub struct Proc(pub Child);

impl Proc {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Waits for the exit, at most `within`; `None` if still running.
    pub fn wait_for(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.0.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.pid()).expect("pid fits i32");
        // SAFETY: `kill` has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `relay` command with no relay configuration from the test's
/// environment, logs off.
pub fn relay(args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    // HOSTILE_RUST_LOG turns the processes' logs on when a scenario needs
    // looking into.
    let log = std::env::var("HOSTILE_RUST_LOG").unwrap_or_else(|_| "off".to_owned());
    cmd.args(args).env("RUST_LOG", log).env("NO_COLOR", "1");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GATEWAY_RELAY_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// `relay connect` dialing `url` as `dev-gateway`, fronting `telegram`,
/// re-dialing quickly; stdin, stdout and stderr piped.
pub fn connect_cmd(url: &str) -> Command {
    let mut cmd = relay(&["connect"]);
    cmd.env("GATEWAY_RELAY_URL", url)
        .env("GATEWAY_RELAY_ID", "dev-gateway")
        .env("GATEWAY_RELAY_SECRET", "dev-secret")
        .env("GATEWAY_RELAY_PLATFORMS", "telegram")
        .env("GATEWAY_RELAY_RS_BACKOFF_INITIAL_SECS", "0.05")
        .env("GATEWAY_RELAY_RS_BACKOFF_MAX_SECS", "0.2")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("HOSTILE_RUST_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::piped()
        });
    cmd
}

/// Spawns `cmd`.
pub fn spawn(mut cmd: Command) -> Proc {
    Proc(cmd.spawn().expect("spawn relay"))
}

/// Lines of `reader`, forwarded on a channel by a thread.
pub fn lines(reader: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Everything `reader` produces, as text, once it ends.
pub fn collect(mut reader: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = reader.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    rx
}

/// The next line containing `needle`, within `within`.
pub fn wait_line(rx: &mpsc::Receiver<String>, needle: &str, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return Some(line),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

/// VmRSS and VmHWM of `pid`, in KiB (`None` once it has gone).
pub fn memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU time (user + system) of `pid` so far.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: `sysconf` has no memory-safety preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = u64::try_from(ticks).ok().filter(|t| *t > 0)?;
    Some(Duration::from_millis((utime + stime) * 1000 / ticks))
}

/// Samples the peak RSS of `pid` every 20 ms on a thread; kills the process
/// (SIGKILL) as soon as it crosses `limit_kib`, so that a failing scenario
/// never takes the machine's memory with it.
pub struct RssWatch {
    peak: Arc<AtomicU64>,
    crossed: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl RssWatch {
    /// Starts watching `pid`.
    pub fn start(pid: u32, limit_kib: u64) -> Self {
        let peak = Arc::new(AtomicU64::new(0));
        let crossed = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, c, s) = (peak.clone(), crossed.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let Some((rss, hwm)) = memory(pid) else {
                    return;
                };
                p.fetch_max(rss.max(hwm), Ordering::Relaxed);
                if rss.max(hwm) > limit_kib {
                    c.store(true, Ordering::Relaxed);
                    // SAFETY: `kill` has no memory-safety preconditions.
                    unsafe {
                        libc::kill(i32::try_from(pid).unwrap_or(0), libc::SIGKILL);
                    }
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        RssWatch {
            peak,
            crossed,
            stop,
        }
    }

    /// The highest RSS seen so far, in KiB.
    pub fn peak_kib(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// Whether the process crossed the limit (and was killed).
    pub fn crossed(&self) -> bool {
        self.crossed.load(Ordering::Relaxed)
    }
}

impl Drop for RssWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A listener on 127.0.0.1, a free port.
pub fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    (listener, addr)
}

/// Accepts one connection within `within` (`None` if none came).
pub fn accept_within(listener: &TcpListener, within: Duration) -> Option<TcpStream> {
    listener.set_nonblocking(true).ok()?;
    let deadline = Instant::now() + within;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).ok()?;
                return Some(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return None,
        }
    }
}

/// A server-side WebSocket over a raw stream.
pub type ServerWs = tungstenite::WebSocket<TcpStream>;

/// Completes the upgrade of `stream` (any credentials accepted).
pub fn upgrade(stream: TcpStream) -> ServerWs {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    tungstenite::accept(stream).expect("upgrade")
}

/// Reads frames from a gateway until its hellos are in, answering each with
/// a descriptor, so that the gateway reaches `serving`.
pub fn answer_hellos(ws: &mut ServerWs) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let Ok(Message::Text(text)) = ws.read() else {
            continue;
        };
        for line in text.lines() {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if value["type"] == "hello" {
                let platform = value["platform"].as_str().unwrap_or("telegram").to_owned();
                let frame = descriptor_frame(&platform);
                ws.send(Message::text(frame)).expect("send descriptor");
                return;
            }
        }
    }
    panic!("no hello from the gateway within 10 s");
}

/// One descriptor frame for `platform`.
pub fn descriptor_frame(platform: &str) -> String {
    format!(
        "{{\"type\":\"descriptor\",\"descriptor\":{{\"contract_version\":1,\"platform\":\"{platform}\",\"label\":\"L\",\"max_message_length\":4096,\"supports_draft_streaming\":false,\"supports_edit\":true,\"supports_threads\":false,\"markdown_dialect\":\"plain\",\"len_unit\":\"chars\"}}}}\n"
    )
}

/// One unmasked frame (connector to gateway): FIN set, `opcode`, `payload`.
pub fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    push_len(&mut out, payload.len() as u64, 0);
    out.extend_from_slice(payload);
    out
}

/// One masked frame (gateway to connector), with a zero mask.
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    push_len(&mut out, payload.len() as u64, 0x80);
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(payload);
    out
}

fn push_len(out: &mut Vec<u8>, len: u64, mask: u8) {
    if len < 126 {
        out.push(mask | len as u8);
    } else if len <= u64::from(u16::MAX) {
        out.push(mask | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask | 127);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// Writes `chunk` over and over until `until`, the peer drops the link, or
/// `stop()` says so. True when the peer dropped the link.
pub fn flood(
    stream: &mut TcpStream,
    chunk: &[u8],
    until: Instant,
    stop: impl Fn() -> bool,
) -> bool {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    // A partial write resumes where it stopped: frames stay whole.
    let mut at = 0usize;
    while Instant::now() < until && !stop() {
        match stream.write(&chunk[at..]) {
            Ok(0) => return true,
            Ok(n) => at = (at + n) % chunk.len(),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

/// A `relay connector` process on a free port, its base URL and HTTP URL.
pub struct Connector {
    pub proc: Proc,
    pub addr: SocketAddr,
    pub stderr: Arc<Mutex<String>>,
}

impl Connector {
    /// Starts `relay connector --listen 127.0.0.1:<free> <extra>` and waits
    /// until it accepts connections.
    pub fn start(extra: &[&str]) -> Self {
        let (l, addr) = listener();
        drop(l);
        let listen = addr.to_string();
        let mut args = vec!["connector", "--listen", listen.as_str()];
        args.extend_from_slice(extra);
        let mut cmd = relay(&args);
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut proc = spawn(cmd);
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut err) = proc.0.stderr.take() {
            let sink = stderr.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut s) = sink.lock()
                        && s.len() < 1 << 20
                    {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "relay connector did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Connector { proc, addr, stderr }
    }

    /// `ws://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }
}

/// One HTTP/1.1 request with `Connection: close`; the status code and body,
/// or `None` if no answer came within `within`.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
    within: Duration,
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, within).ok()?;
    s.set_read_timeout(Some(within)).ok()?;
    s.set_write_timeout(Some(within)).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut text = Vec::new();
    let _ = s.take(1 << 20).read_to_end(&mut text);
    let text = String::from_utf8_lossy(&text).into_owned();
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((code, body))
}

/// A fresh upgrade token for `dev-gateway` / `dev-secret`.
pub fn dev_token() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    relay_core::auth::mint_token(
        "dev-gateway",
        "dev-secret",
        300,
        relay_core::UnixTime::from_secs(now),
    )
}

/// A raw WebSocket upgrade to `relay connector` at `addr` as `dev-gateway`;
/// the stream after the `101` response (nothing read past it).
pub fn raw_gateway(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    let head = format!(
        "GET /relay HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer {}\r\n\r\n",
        dev_token()
    );
    s.write_all(head.as_bytes()).expect("upgrade request");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        assert!(got.len() < 8192, "upgrade response too long");
        match s.read(&mut byte) {
            Ok(1) => got.push(byte[0]),
            _ => panic!("no upgrade response"),
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 101"), "upgrade refused: {text}");
    s
}
