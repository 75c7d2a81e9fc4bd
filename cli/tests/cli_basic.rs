//! The `relay` binary: tokens and frame inspection.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn relay(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(args)
        .env_remove("GATEWAY_RELAY_SECRET")
        .env("RUST_LOG", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn parse_reports(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn mint_then_verify() {
    let minted = relay(
        &[
            "token",
            "mint",
            "--gateway-id",
            "gw-7",
            "--secret",
            "s3cr3t",
            "--now",
            "1000",
        ],
        b"",
    );
    assert!(minted.status.success(), "{}", stderr(&minted));
    let token = stdout(&minted).trim().to_owned();
    // Identical to the core (and so to the reference) for the same inputs.
    assert_eq!(
        token,
        relay_core::auth::mint_token("gw-7", "s3cr3t", 300, relay_core::UnixTime::from_secs(1000))
    );

    let verified = relay(
        &[
            "token", "verify", "--token", &token, "--secret", "old", "--secret", "s3cr3t", "--now",
            "1300",
        ],
        b"",
    );
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert_eq!(stdout(&verified), "gw-7\n");

    let never = relay(
        &[
            "token",
            "mint",
            "--gateway-id",
            "gw-7",
            "--secret",
            "s",
            "--ttl",
            "0",
        ],
        b"",
    );
    let token = stdout(&never).trim().to_owned();
    let verified = relay(
        &[
            "token",
            "verify",
            "--token",
            &token,
            "--secret",
            "s",
            "--now",
            "99999999999",
        ],
        b"",
    );
    assert!(verified.status.success());
}

#[test]
fn verify_failures_exit_non_zero_with_a_reason() {
    let minted = relay(
        &[
            "token",
            "mint",
            "--gateway-id",
            "gw-7",
            "--secret",
            "right",
            "--now",
            "1000",
        ],
        b"",
    );
    let token = stdout(&minted).trim().to_owned();

    let wrong = relay(
        &[
            "token", "verify", "--token", &token, "--secret", "wrong", "--now", "1000",
        ],
        b"",
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(stdout(&wrong).is_empty());
    assert!(
        stderr(&wrong).contains("bad-signature"),
        "{}",
        stderr(&wrong)
    );
    assert!(!stderr(&wrong).contains("right"));

    let expired = relay(
        &[
            "token", "verify", "--token", &token, "--secret", "right", "--now", "1301",
        ],
        b"",
    );
    assert_eq!(expired.status.code(), Some(1));
    assert!(stderr(&expired).contains("expired"));

    let garbage = relay(
        &["token", "verify", "--token", "!!!", "--secret", "right"],
        b"",
    );
    assert_eq!(garbage.status.code(), Some(1));
    assert!(stderr(&garbage).contains("malformed"));

    // Usage errors exit 2.
    let missing = relay(&["token", "verify", "--token", &token], b"");
    assert_eq!(missing.status.code(), Some(2));
    let bad_now = relay(
        &[
            "token",
            "mint",
            "--gateway-id",
            "g",
            "--secret",
            "s",
            "--now",
            "soon",
        ],
        b"",
    );
    assert_eq!(bad_now.status.code(), Some(2));
}

#[test]
fn inspect_good_input() {
    let input = b"{\"type\":\"hello\",\"platform\":\"telegram\",\"botId\":\"b1\",\"extra\":1}\n\
        \n   \n\
        {\"type\":\"going_idle_ack\"}\r\n\
        {\"type\":\"inbound_ack\",\"bufferId\":\"b-1\"}";
    let out = relay(&["inspect"], input);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let reports = parse_reports(&out);
    assert_eq!(reports.len(), 3);
    assert_eq!(reports[0]["line"], 1);
    assert_eq!(reports[0]["ok"], true);
    assert_eq!(reports[0]["direction"], "g2c");
    assert_eq!(reports[0]["type"], "hello");
    // Re-encoded: the unknown key is gone.
    assert_eq!(
        reports[0]["frame"],
        serde_json::json!({"type": "hello", "platform": "telegram", "botId": "b1"})
    );
    assert_eq!(reports[1]["line"], 4);
    assert_eq!(reports[1]["direction"], "c2g");
    assert_eq!(reports[2]["line"], 5);
    assert_eq!(reports[2]["type"], "inbound_ack");

    // An empty input decodes (nothing) fine.
    let empty = relay(&["inspect"], b"");
    assert_eq!(empty.status.code(), Some(0));
    assert!(stdout(&empty).is_empty());
}

#[test]
fn inspect_with_a_direction() {
    let input = b"{\"type\":\"going_idle_ack\"}\n{\"type\":\"going_idle\"}\n";
    let out = relay(&["inspect", "--direction", "c2g"], input);
    assert_eq!(out.status.code(), Some(1));
    let reports = parse_reports(&out);
    assert_eq!(reports[0]["ok"], true);
    assert_eq!(reports[0]["direction"], "c2g");
    assert_eq!(reports[1]["ok"], false);
    assert!(
        reports[1]["error"]
            .as_str()
            .unwrap()
            .contains("unknown frame type")
    );

    let out = relay(&["inspect", "--direction", "g2c"], input);
    let g2c = parse_reports(&out);
    assert_eq!(g2c[0]["ok"], false);
    assert_eq!(g2c[1]["ok"], true);

    let usage = relay(&["inspect", "--direction", "sideways"], b"");
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn inspect_bad_and_garbage_input() {
    let mut input = Vec::new();
    input.extend_from_slice(b"{\"type\":\"teleport\"}\n");
    input.extend_from_slice(b"not json at all\n");
    input.extend_from_slice(b"[1,2,3]\n");
    input.extend_from_slice(b"{\"no\":\"type\"}\n");
    input.extend_from_slice(b"{\"type\":\"hello\"}\n");
    input.extend_from_slice(b"\xff\xfe\x00\x80 invalid utf-8\n");
    input.extend_from_slice(&[b'['; 5000]);
    input.push(b'\n');
    input.extend_from_slice(b"{\"type\":\"going_idle\"}\n");
    let out = relay(&["inspect"], &input);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let reports = parse_reports(&out);
    assert_eq!(reports.len(), 8);
    for (i, report) in reports.iter().enumerate() {
        assert_eq!(report["line"], i + 1);
    }
    let error = |i: usize| reports[i]["error"].as_str().unwrap().to_owned();
    assert!(error(0).contains("unknown frame type"), "{}", error(0));
    assert!(error(1).contains("not JSON"));
    assert!(error(2).contains("not a JSON object"));
    assert!(error(3).contains("type"));
    assert!(error(4).contains("platform"), "{}", error(4));
    assert!(error(5).contains("UTF-8"));
    assert_eq!(reports[6]["ok"], false);
    assert_eq!(reports[7]["ok"], true);
}

#[test]
fn inspect_bounds_line_length() {
    let mut input = vec![b'x'; 300];
    input.push(b'\n');
    input.extend_from_slice(b"{\"type\":\"going_idle\"}\n");
    let out = relay(&["inspect", "--max-line-bytes", "100"], &input);
    assert_eq!(out.status.code(), Some(1));
    let reports = parse_reports(&out);
    assert_eq!(reports.len(), 2);
    assert!(
        reports[0]["error"]
            .as_str()
            .unwrap()
            .contains("exceeds the 100-byte limit")
    );
    assert_eq!(reports[1]["ok"], true);

    // Random bytes never crash it.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..20_000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect();
    let out = relay(&["inspect", "--max-line-bytes", "512"], &noise);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{:?}", out.status);
    for line in stdout(&out).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["line"].is_u64());
    }
}
