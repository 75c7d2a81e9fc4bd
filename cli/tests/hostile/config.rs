//! Files the CLI reads: never past a cap, whatever their metadata says.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use super::support::*;

/// Runs `cmd` with its RSS watched; the exit code, stderr and peak RSS.
fn run_bounded(
    mut cmd: std::process::Command,
    stdin: Option<Vec<u8>>,
) -> (Option<i32>, String, u64, bool) {
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut proc = spawn(cmd);
    let watch = RssWatch::start(proc.pid(), RSS_LIMIT_KIB);
    let err = collect(proc.0.stderr.take().expect("stderr"));
    if let (Some(bytes), Some(mut input)) = (stdin, proc.0.stdin.take()) {
        std::thread::spawn(move || {
            let _ = input.write_all(&bytes);
        });
    }
    let status = proc.wait_for(Duration::from_secs(10));
    let stderr = err.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
    (
        status.and_then(|s| s.code()),
        stderr,
        watch.peak_kib(),
        watch.crossed(),
    )
}

/// Issue item 7: `relay connector --config /dev/zero` is refused past the
/// cap with a clear error, in bounded memory.
#[test]
fn connector_config_from_dev_zero_is_refused() {
    let (l, addr) = listener();
    drop(l);
    let listen = addr.to_string();
    let cmd = relay(&["connector", "--listen", &listen, "--config", "/dev/zero"]);
    let (code, stderr, peak, crossed) = run_bounded(cmd, None);
    eprintln!("--config /dev/zero: exit {code:?}, peak {peak} KiB, stderr {stderr:?}");
    assert!(!crossed, "crossed {RSS_LIMIT_KIB} KiB");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("/dev/zero"), "{stderr}");
}

/// Issue item 7: a 3 MB config through a pipe is refused (its metadata
/// size is 0, the cap is 1 MiB).
#[test]
fn connector_config_through_a_pipe_is_capped() {
    let (l, addr) = listener();
    drop(l);
    let listen = addr.to_string();
    let mut body = b"{\"gateways\":{\"gw\":\"s\"},\"wake_urls\":{},\"descriptors\":{}}".to_vec();
    body.extend(std::iter::repeat_n(b' ', 3 << 20));
    let cmd = relay(&["connector", "--listen", &listen, "--config", "/dev/stdin"]);
    let (code, stderr, peak, crossed) = run_bounded(cmd, Some(body));
    eprintln!("3 MB piped config: exit {code:?}, peak {peak} KiB, stderr {stderr:?}");
    assert!(!crossed, "crossed {RSS_LIMIT_KIB} KiB");
    assert_eq!(code, Some(2), "a 3 MB piped config was accepted: {stderr}");
}

/// Issue item 7: `relay provision --env-file /dev/zero` is refused past the
/// cap, in bounded memory.
#[test]
fn provision_env_file_from_dev_zero_is_refused() {
    let server = Connector::start(&[]);
    let http_url = format!("http://{}", server.addr);
    let mut cmd = relay(&[
        "provision",
        "--connector-url",
        &http_url,
        "--gateway-id",
        "gw-fresh",
        "--platforms",
        "telegram",
        "--identity-token",
        "id-token",
        "--env-file",
        "/dev/zero",
    ]);
    cmd.env("HOME", "/nonexistent");
    let (code, stderr, peak, crossed) = run_bounded(cmd, None);
    eprintln!("--env-file /dev/zero: exit {code:?}, peak {peak} KiB, stderr {stderr:?}");
    assert!(!crossed, "crossed {RSS_LIMIT_KIB} KiB");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("/dev/zero"), "{stderr}");
}
