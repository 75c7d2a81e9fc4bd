//! `relay media upload` and `relay media download` against a `relay
//! connector` process: a round trip, tenant scoping, and files over the cap
//! refused before they are read.

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn relay(args: &[&str], env: &[(&str, &str)], dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
    command
        .args(args)
        .env_clear()
        .env("HOME", dir)
        .env("RUST_LOG", "off")
        .current_dir(dir)
        .stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

fn output(mut command: Command) -> Output {
    let (tx, rx) = mpsc::channel();
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(WAIT).expect("relay ended in time").unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `relay connector` with two gateways in two tenants: its relay URL.
fn connector(dir: &Path) -> (Proc, String) {
    let mut child = relay(
        &[
            "connector",
            "--listen",
            "127.0.0.1:0",
            "--gateway",
            "gw-a:secret-a",
            "--gateway",
            "gw-b:secret-b",
        ],
        &[],
        dir,
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if let Some(rest) = line.trim().strip_prefix("relay URL:") {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
            }
        }
    });
    let url = rx.recv_timeout(WAIT).expect("the connector's URL");
    (Proc(child), url)
}

fn as_gateway<'a>(url: &'a str, id: &'a str, secret: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("GATEWAY_RELAY_URL", url),
        ("GATEWAY_RELAY_ID", id),
        ("GATEWAY_RELAY_SECRET", secret),
    ]
}

#[test]
fn upload_then_download_round_trips_within_the_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let (_connector, url) = connector(dir.path());
    let payload: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/photo.png"), &payload).unwrap();
    let a = as_gateway(&url, "gw-a", "secret-a");

    let up = output(relay(&["media", "upload", "src/photo.png"], &a, dir.path()));
    assert!(up.status.success(), "{}", text(&up.stderr));
    let reference = text(&up.stdout).trim().to_owned();
    let http = url.replacen("ws://", "http://", 1);
    let http = http.trim_end_matches("/relay");
    assert!(
        reference.starts_with(&format!("{http}/relay/media/")),
        "{reference}"
    );
    assert!(
        text(&up.stderr).contains("image/png"),
        "the type was guessed"
    );

    let down = output(relay(&["media", "download", &reference], &a, dir.path()));
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert_eq!(
        text(&down.stdout).trim(),
        "photo.png",
        "named by the server"
    );
    assert_eq!(
        std::fs::read(dir.path().join("photo.png")).unwrap(),
        payload
    );
    // The default name is never written over: the same download again fails.
    let again = output(relay(&["media", "download", &reference], &a, dir.path()));
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("already exists"));
    let out = dir.path().join("copy.bin");
    let copy = output(relay(
        &[
            "media",
            "download",
            &reference,
            "--out",
            out.to_str().unwrap(),
        ],
        &a,
        dir.path(),
    ));
    assert!(copy.status.success());
    assert_eq!(std::fs::read(&out).unwrap(), payload);

    let b = as_gateway(&url, "gw-b", "secret-b");
    let other = output(relay(
        &["media", "download", &reference, "--out", "-"],
        &b,
        dir.path(),
    ));
    assert_eq!(other.status.code(), Some(1));
    assert!(
        text(&other.stderr).contains("404"),
        "{}",
        text(&other.stderr)
    );
    assert!(other.stdout.is_empty());

    let unauthenticated = [("GATEWAY_RELAY_URL", url.as_str())];
    let refused = output(relay(
        &["media", "upload", "src/photo.png"],
        &unauthenticated,
        dir.path(),
    ));
    assert_eq!(
        refused.status.code(),
        Some(2),
        "no credentials: a usage error"
    );
    assert!(text(&refused.stderr).contains("GATEWAY_RELAY_SECRET"));
}

/// The largest resident set of this process's children so far, in KiB.
fn children_peak_kib() -> u64 {
    // SAFETY: getrusage writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a rusage struct.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    u64::try_from(usage.ru_maxrss).unwrap_or(u64::MAX)
}

#[test]
fn files_over_the_cap_are_refused_before_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    // A connector that counts connections: nothing may reach it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    let env = as_gateway(&url, "gw-a", "secret-a");

    // A sparse 4 GiB file: reading it whole would take 4 GiB of memory.
    let big = dir.path().join("big.bin");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    let out = output(relay(&["media", "upload", "big.bin"], &env, dir.path()));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("4294967296 bytes, the limit is 26214400 bytes"),
        "{}",
        text(&out.stderr)
    );
    // One byte over the cap, too.
    let over = dir.path().join("over.bin");
    std::fs::File::create(&over)
        .unwrap()
        .set_len(26_214_401)
        .unwrap();
    let out = output(relay(&["media", "upload", "over.bin"], &env, dir.path()));
    assert_eq!(out.status.code(), Some(2));
    // A device with no size is read through the cap, never further.
    let out = output(relay(&["media", "upload", "/dev/zero"], &env, dir.path()));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("too large"),
        "{}",
        text(&out.stderr)
    );
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let out = output(relay(&["media", "upload", "empty.txt"], &env, dir.path()));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("empty"));

    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing was sent");
    let peak = children_peak_kib();
    assert!(
        peak < 96 * 1024,
        "peak memory of a refused upload: {peak} KiB (the cap plus the process)"
    );
}
