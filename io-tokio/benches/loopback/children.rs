//! The child processes: servers and clients are this binary run with a
//! mode argument, talking to the parent over stdin and stdout.

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};

pub struct Server {
    pub child: Child,
    pub stdin: ChildStdin,
    pub port: u16,
}

pub fn exe() -> std::path::PathBuf {
    std::env::current_exe().unwrap()
}

/// A child of this binary, pinned to CPU 0 or not, with its client runtime
/// (`multi_thread`, `current_thread` or `smol`).
pub fn command(pin: bool, client_rt: &str) -> Command {
    let mut c = if pin {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(exe());
        c
    } else {
        Command::new(exe())
    };
    c.env("LOOPBACK_CLIENT_RT", client_rt);
    c
}

pub fn spawn_server(kind: &str, pin: bool) -> Server {
    let mut child = command(pin, "multi_thread")
        .args(["serve", kind])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port = line.trim().strip_prefix("PORT ").unwrap().parse().unwrap();
    Server { child, stdin, port }
}

/// Runs a client child and returns the numbers of its RESULT line. For a
/// stream, tells `server` to stream once the client is ready.
pub fn run_client(
    args: &[String],
    (pin, client_rt): (bool, &str),
    server: Option<&mut Server>,
    stream: usize,
) -> Vec<f64> {
    run_child(command(pin, client_rt), args, server, stream)
}

/// Runs `command` with `args` as a client child (see [`run_client`]).
pub fn run_child(
    mut command: Command,
    args: &[String],
    server: Option<&mut Server>,
    stream: usize,
) -> Vec<f64> {
    let mut child = command.args(args).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut server = server;
    let mut line = String::new();
    let mut result = None;
    while result.is_none() && out.read_line(&mut line).unwrap() > 0 {
        if line.starts_with("READY") {
            let s = server.as_mut().unwrap();
            writeln!(s.stdin, "stream {stream}").unwrap();
            s.stdin.flush().unwrap();
        } else if let Some(rest) = line.strip_prefix("RESULT ") {
            let nums: Vec<f64> = rest
                .split_whitespace()
                .map(|w| w.parse().unwrap())
                .collect();
            result = Some(nums);
        }
        line.clear();
    }
    let status = child.wait().unwrap();
    result.unwrap_or_else(|| panic!("client {args:?} ended without a result: {status}"))
}

/// The arguments of a `client` child: `kind` against the server on `port`,
/// `mode` (`rtt` or `stream`) with `n` round trips or frames.
pub fn client_args(kind: &str, port: u16, mode: &str, n: usize) -> [String; 5] {
    ["client", kind, &port.to_string(), mode, &n.to_string()].map(str::to_owned)
}
