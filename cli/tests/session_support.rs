//! Helpers shared by the `relay connect` session tests (included with
//! `#[path]`): processes killed on drop, bounded line reads, the admin API.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_relay");
pub const WAIT: Duration = Duration::from_secs(15);

/// A child process killed when the test ends, however it ends.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A command with no relay configuration from the test's environment.
pub fn relay(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env("RUST_LOG", "off").env("NO_COLOR", "1");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GATEWAY_RELAY_") {
            cmd.env_remove(key);
        }
    }
    cmd
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

/// Waits for the process to exit, at most `within`.
pub fn wait_exit(child: &mut Child, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "process did not exit within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The next stdout line (as JSON) matching `pred`; other lines are kept in
/// `seen` for failure messages.
pub fn expect_json(
    rx: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
                if pred(&value) {
                    return value;
                }
            }
            Err(_) => panic!(
                "no {what} within {WAIT:?}; stdout so far:\n{}",
                seen.join("\n")
            ),
        }
    }
}

pub fn send_line(stdin: &mut ChildStdin, line: &str) {
    stdin.write_all(line.as_bytes()).expect("write stdin");
    stdin.write_all(b"\n").expect("write stdin");
    stdin.flush().expect("flush stdin");
}

/// A minimal HTTP/1.1 request to the connector's admin API: status and
/// body.
pub fn request(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the admin API");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad response: {response}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

pub fn post(addr: &str, path: &str, body: &str) -> u16 {
    request(addr, "POST", path, body).0
}

/// `relay connector` on a free port: the process and its `host:port`.
pub fn start_connector(extra: &[&str]) -> (Proc, String) {
    let mut args = vec!["connector", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut child = relay(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn relay connector");
    let stdout = child.stdout.take().expect("stdout");
    let proc = Proc(child);
    let rx = lines(stdout);
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("relay connector printed its relay URL");
        if let Some(rest) = line.trim().strip_prefix("relay URL:") {
            let url = rest.split_whitespace().next().expect("a URL");
            let addr = url.strip_prefix("ws://").expect("a ws:// URL").to_owned();
            // Keep draining stdout so the server never blocks on it.
            std::thread::spawn(move || while rx.recv().is_ok() {});
            return (proc, addr);
        }
    }
}

/// `relay connect` against `addr` as `dev-gateway`.
pub fn start_connect(addr: &str, extra: &[&str]) -> (Proc, ChildStdin, mpsc::Receiver<String>) {
    start_connect_as(addr, ("dev-gateway", "dev-secret"), extra)
}

/// `relay connect` against `addr` as gateway `id` with `secret`.
pub fn start_connect_as(
    addr: &str,
    (id, secret): (&str, &str),
    extra: &[&str],
) -> (Proc, ChildStdin, mpsc::Receiver<String>) {
    start_connect_env(addr, (id, secret), extra, &[])
}

/// `relay connect` against `addr` as gateway `id` with `secret`, fronting
/// telegram unless `env` says otherwise; `env` is set last.
pub fn start_connect_env(
    addr: &str,
    (id, secret): (&str, &str),
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Proc, ChildStdin, mpsc::Receiver<String>) {
    let mut args = vec!["connect"];
    args.extend_from_slice(extra);
    let mut cmd = relay(&args);
    cmd.env("GATEWAY_RELAY_PLATFORMS", "telegram");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .env("GATEWAY_RELAY_URL", format!("ws://{addr}"))
        .env("GATEWAY_RELAY_ID", id)
        .env("GATEWAY_RELAY_SECRET", secret)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn relay connect");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = lines(child.stdout.take().expect("stdout"));
    (Proc(child), stdin, stdout)
}

pub fn serving(v: &Value) -> bool {
    v["event"] == "state" && v["to"] == "serving"
}
