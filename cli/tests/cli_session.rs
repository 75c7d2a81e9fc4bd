//! The `relay` binary end to end: `relay demo`, and `relay connect` driven
//! through stdin against a `relay connector` process. Every wait is bounded.

#[path = "session_support.rs"]
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;

#[test]
fn demo_json_runs_every_step_and_exits_zero() {
    let mut child = relay(&["demo", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn relay demo");
    let stdout = lines(child.stdout.take().expect("stdout"));
    let mut child = Proc(child);
    let started = Instant::now();
    let status = wait_exit(&mut child.0, Duration::from_secs(30));
    let elapsed = started.elapsed();
    let mut out = Vec::new();
    while let Ok(line) = stdout.recv_timeout(Duration::from_secs(2)) {
        out.push(line);
    }
    let text = out.join("\n");
    assert!(status.success(), "relay demo failed ({status}):\n{text}");
    assert!(elapsed < Duration::from_secs(20), "demo took {elapsed:?}");
    let values: Vec<Value> = out
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for step in [
        "handshake",
        "message",
        "interrupt",
        "passthrough",
        "idle-wake-drain",
        "abrupt-drop",
        "revocation",
    ] {
        assert!(
            values
                .iter()
                .any(|v| v["kind"] == "step" && v["step"] == step),
            "no step line for {step}:\n{text}"
        );
        assert!(
            values
                .iter()
                .any(|v| v["kind"] == "check" && v["step"] == step && v["ok"] == true),
            "no passed check for {step}:\n{text}"
        );
    }
    assert!(!values.iter().any(|v| v["kind"] == "fail"), "{text}");
    // Frames that crossed the wire are on the timeline.
    for frame in [
        "hello",
        "descriptor",
        "outbound",
        "outbound_result",
        "inbound_ack",
        "going_idle",
    ] {
        assert!(
            values
                .iter()
                .any(|v| v["kind"] == "wire" && v["frame_type"] == frame),
            "no {frame} frame on the timeline:\n{text}"
        );
    }
    let summary = values.last().expect("a summary line");
    assert_eq!(summary["step"], "summary", "{text}");
    assert_eq!(summary["ok"], true, "{text}");
    assert_eq!(summary["reconnects"], 2, "{text}");
}

#[test]
fn connect_session_against_connector_binary() {
    let (_connector, addr) = start_connector(&[]);
    let (mut connect, mut stdin, stdout) = start_connect(&addr, &[]);
    let mut seen = Vec::new();
    expect_json(&stdout, &mut seen, "state serving", serving);

    send_line(
        &mut stdin,
        r#"{"id":"req-1","op":"send","chat_id":"42","content":"hello from the agent"}"#,
    );
    let result = expect_json(&stdout, &mut seen, "result of req-1", |v| {
        v["id"] == "req-1"
    });
    assert_eq!(result["result"]["success"], true, "{result}");
    assert!(result["result"]["message_id"].is_string(), "{result}");

    send_line(&mut stdin, "this is not json {");
    let error = expect_json(&stdout, &mut seen, "error line", |v| {
        v.get("error").is_some()
    });
    assert_eq!(error["id"], Value::Null, "{error}");

    send_line(
        &mut stdin,
        r#"{"id":"bad-op","op":"no_such_op","chat_id":"1"}"#,
    );
    let error = expect_json(&stdout, &mut seen, "error for bad-op", |v| {
        v["id"] == "bad-op"
    });
    assert!(error["error"].is_string(), "{error}");

    let status = post(
        &addr,
        "/dev/inbound",
        r#"{"instance":"dev-gateway","event":{"chat_id":"chat-7","text":"ping from a user","platform":"telegram"}}"#,
    );
    assert_eq!(status, 200);
    let inbound = expect_json(&stdout, &mut seen, "inbound", |v| v["event"] == "inbound");
    assert_eq!(inbound["delivery"], Value::Null, "{inbound}");
    assert_eq!(inbound["message"]["text"], "ping from a user", "{inbound}");
    assert_eq!(
        inbound["message"]["source"]["chat_id"], "chat-7",
        "{inbound}"
    );

    send_line(&mut stdin, r#"{"id":"c1","command":"go_idle"}"#);
    expect_json(&stdout, &mut seen, "ok for c1", |v| {
        v["id"] == "c1" && v["ok"] == true
    });
    expect_json(&stdout, &mut seen, "buffered", |v| {
        v["event"] == "state" && v["to"] == "buffered"
    });
    let status = post(
        &addr,
        "/dev/inbound",
        r#"{"instance":"dev-gateway","event":{"chat_id":"chat-7","text":"while idle","platform":"telegram"}}"#,
    );
    assert_eq!(status, 200);
    send_line(&mut stdin, r#"{"command":"wake"}"#);
    let buffered = expect_json(&stdout, &mut seen, "buffered inbound", |v| {
        v["event"] == "inbound" && v["delivery"].is_string()
    });
    assert_eq!(buffered["message"]["text"], "while idle", "{buffered}");
    let ack = format!(r#"{{"id":"ack-1","ack":{}}}"#, buffered["delivery"]);
    send_line(&mut stdin, &ack);
    expect_json(&stdout, &mut seen, "ok for ack-1", |v| {
        v["id"] == "ack-1" && v["ok"] == true
    });

    drop(stdin);
    let status = wait_exit(&mut connect.0, WAIT);
    assert_eq!(status.code(), Some(0), "stdout:\n{}", seen.join("\n"));
}

#[test]
fn connect_exits_3_when_revoked() {
    let (_connector, addr) = start_connector(&[]);
    let (mut connect, _stdin, stdout) = start_connect(&addr, &["--auto-ack"]);
    let mut seen = Vec::new();
    expect_json(&stdout, &mut seen, "state serving", serving);
    assert_eq!(
        post(&addr, "/dev/revoke", r#"{"gateway_id":"dev-gateway"}"#),
        200
    );
    expect_json(&stdout, &mut seen, "revoked", |v| v["event"] == "revoked");
    let status = wait_exit(&mut connect.0, WAIT);
    assert_eq!(status.code(), Some(3), "stdout:\n{}", seen.join("\n"));
}

#[test]
fn connect_without_configuration_exits_2() {
    let output = relay(&["connect"])
        .stdin(Stdio::null())
        .output()
        .expect("run relay connect");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error:"), "{stderr}");
}

#[test]
fn connector_rejects_a_malformed_gateway_flag_without_echoing_the_secret() {
    let output = relay(&[
        "connector",
        "--listen",
        "127.0.0.1:0",
        "--gateway",
        ":hunter2",
    ])
    .stdin(Stdio::null())
    .output()
    .expect("run relay connector");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn connect_auto_ack_woken_over_http_by_a_configured_connector() {
    // A free port for the wake endpoint.
    let wake_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("connector.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"gateways":{{"gw-cfg":["cfg-secret"]}},"wake_urls":{{"gw-cfg":"http://127.0.0.1:{wake_port}/wake"}}}}"#
        ),
    )
    .expect("write config");
    let config = config.to_string_lossy().into_owned();
    let (_connector, addr) = start_connector(&["--config", &config]);
    let wake_addr = format!("127.0.0.1:{wake_port}");
    let (mut connect, mut stdin, stdout) = start_connect_as(
        &addr,
        ("gw-cfg", "cfg-secret"),
        &["--auto-ack", "--wake-listen", &wake_addr],
    );
    let mut seen = Vec::new();
    expect_json(&stdout, &mut seen, "state serving", serving);
    send_line(&mut stdin, r#"{"command":"go_idle"}"#);
    expect_json(&stdout, &mut seen, "buffered", |v| {
        v["event"] == "state" && v["to"] == "buffered"
    });
    let status = post(
        &addr,
        "/dev/inbound",
        r#"{"instance":"gw-cfg","event":{"chat_id":"c","text":"wake up","platform":"telegram"}}"#,
    );
    assert_eq!(status, 200);
    // No wake command: the connector's poke reaches --wake-listen.
    let inbound = expect_json(&stdout, &mut seen, "buffered inbound", |v| {
        v["event"] == "inbound"
    });
    assert!(inbound["delivery"].is_string(), "{inbound}");
    assert_eq!(inbound["message"]["text"], "wake up", "{inbound}");
    // --auto-ack: the buffer empties without an ack line.
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, body) = request(&addr, "GET", "/dev/stats", "");
        assert_eq!(status, 200, "{body}");
        let stats: Value = serde_json::from_str(&body).expect("stats JSON");
        if stats["buffered"] == 0 && stats["model"]["acked"] == 1 {
            assert_eq!(stats["wake_pokes_sent"], 1, "{stats}");
            break;
        }
        assert!(Instant::now() < deadline, "not acked: {stats}");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    assert_eq!(wait_exit(&mut connect.0, WAIT).code(), Some(0));
}

#[test]
fn connect_idle_modes_keep_and_dormant() {
    let (_connector, addr) = start_connector(&[]);
    let (mut connect, mut stdin, stdout) = start_connect(&addr, &[]);
    let mut seen = Vec::new();
    expect_json(&stdout, &mut seen, "state serving", serving);

    send_line(
        &mut stdin,
        r#"{"id":"m0","command":"go_idle","mode":"sleepy"}"#,
    );
    let error = expect_json(&stdout, &mut seen, "error for m0", |v| v["id"] == "m0");
    assert!(
        error["error"].as_str().is_some_and(|e| e.contains("keep")),
        "{error}"
    );

    // keep: buffered with the socket open (no disconnect), drained on wake.
    send_line(
        &mut stdin,
        r#"{"id":"m1","command":"go_idle","mode":"keep"}"#,
    );
    expect_json(&stdout, &mut seen, "ok for m1", |v| {
        v["id"] == "m1" && v["ok"] == true
    });
    expect_json(&stdout, &mut seen, "buffered", |v| {
        v["event"] == "state" && v["to"] == "buffered"
    });
    let (_, stats) = request(&addr, "GET", "/dev/stats", "");
    let stats: Value = serde_json::from_str(&stats).expect("stats JSON");
    assert_eq!(stats["sockets_open"], 1, "{stats}");
    let status = post(
        &addr,
        "/dev/inbound",
        r#"{"instance":"dev-gateway","event":{"chat_id":"c","text":"kept","platform":"telegram"}}"#,
    );
    assert_eq!(status, 200);
    send_line(&mut stdin, r#"{"command":"wake"}"#);
    let got = expect_json(&stdout, &mut seen, "buffered inbound", |v| {
        v["event"] == "inbound" && v["delivery"].is_string()
    });
    assert_eq!(got["message"]["text"], "kept", "{got}");
    send_line(
        &mut stdin,
        &format!(r#"{{"id":"a1","ack":{}}}"#, got["delivery"]),
    );
    expect_json(&stdout, &mut seen, "ok for a1", |v| {
        v["id"] == "a1" && v["ok"] == true
    });

    // go_dormant: closes, then re-dials by itself on the cadence (no wake).
    send_line(&mut stdin, r#"{"id":"m2","command":"go_dormant"}"#);
    expect_json(&stdout, &mut seen, "ok for m2", |v| {
        v["id"] == "m2" && v["ok"] == true
    });
    expect_json(&stdout, &mut seen, "buffered", |v| {
        v["event"] == "state" && v["to"] == "buffered"
    });
    let status = post(
        &addr,
        "/dev/inbound",
        r#"{"instance":"dev-gateway","event":{"chat_id":"c","text":"dormant","platform":"telegram"}}"#,
    );
    assert_eq!(status, 200);
    let got = expect_json(
        &stdout,
        &mut seen,
        "inbound after the dormant re-dial",
        |v| v["event"] == "inbound" && v["delivery"].is_string(),
    );
    assert_eq!(got["message"]["text"], "dormant", "{got}");

    drop(stdin);
    let status = wait_exit(&mut connect.0, WAIT);
    assert_eq!(status.code(), Some(0), "stdout:\n{}", seen.join("\n"));
}
