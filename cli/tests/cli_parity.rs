//! `relay connect` with what today's reference gateways do: a platform on an
//! action line, unknown keys refused by name, declines surfaced as such,
//! held re-dials, the command manifest in the hello, and a graceful stop
//! that still answers the actions in flight. Against a `relay connector`
//! process; every wait is bounded.

#[path = "session_support.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;

const TWO: &[(&str, &str)] = &[
    ("GATEWAY_RELAY_PLATFORMS", "telegram,discord"),
    (
        "GATEWAY_RELAY_BOT_IDS",
        r#"{"discord": {"botId": "app-dc-1"}}"#,
    ),
];

fn get(addr: &str, path: &str) -> Value {
    let (status, body) = request(addr, "GET", path, "");
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

/// The frames of `frame_type` the connector received, decoded.
fn received(addr: &str, frame_type: &str) -> Vec<Value> {
    get(addr, "/dev/log")["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["direction"] == "in" && e["type"] == frame_type)
        .map(|e| serde_json::from_str(e["text"].as_str().unwrap_or("")).expect("a frame"))
        .collect()
}

fn stat(addr: &str, key: &str) -> u64 {
    let stats = get(addr, "/dev/stats");
    stats
        .get(key)
        .or_else(|| stats["model"].get(key))
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no stat {key}: {stats}"))
}

fn until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn platform_on_an_action_line_and_unknown_keys() {
    let (_connector, addr) = start_connector(&[]);
    let (_connect, mut stdin, stdout) =
        start_connect_env(&addr, ("dev-gateway", "dev-secret"), &[], TWO);
    let mut seen = Vec::new();
    expect_json(&stdout, &mut seen, "serving", serving);

    send_line(
        &mut stdin,
        r#"{"id":"p1","op":"send","chat_id":"home-1","content":"scheduled","platform":"discord"}"#,
    );
    let r = expect_json(&stdout, &mut seen, "p1", |v| v["id"] == "p1");
    assert_eq!(r["result"]["success"], true, "{r}");
    let frames = received(&addr, "outbound");
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (&frames[0]["platform"], &frames[0]["botId"]),
        (&Value::from("discord"), &Value::from("app-dc-1"))
    );

    // A misspelt key is refused by name, and nothing is sent.
    for (id, line, key) in [
        (
            "u1",
            r#"{"id":"u1","op":"send","chat_id":"c","content":"x","platfrom":"discord"}"#,
            "platfrom",
        ),
        ("u2", r#"{"id":"u2","command":"wake","now":true}"#, "now"),
        (
            "u3",
            r#"{"id":"u3","ack":"b-1","bufferId":"b-1"}"#,
            "bufferId",
        ),
        ("u4", r#"{"id":"u4","interrupt":"k","why":"x"}"#, "why"),
    ] {
        send_line(&mut stdin, line);
        let e = expect_json(&stdout, &mut seen, id, |v| v["id"] == id);
        let error = e["error"]
            .as_str()
            .unwrap_or_else(|| panic!("an error: {e}"));
        assert!(error.contains(&format!("{key:?}")), "{error}");
    }
    send_line(
        &mut stdin,
        r#"{"id":"p2","op":"send","chat_id":"c","content":"x","platform":""}"#,
    );
    let e = expect_json(&stdout, &mut seen, "p2", |v| v["id"] == "p2");
    assert!(e["error"].is_string(), "{e}");
    assert_eq!(
        received(&addr, "outbound").len(),
        1,
        "no refused line was sent"
    );
}

#[test]
fn a_declined_destination_is_reported_as_a_decline() {
    let (_connector, addr) = start_connector(&[]);
    let (_connect, mut stdin, stdout) = start_connect(&addr, &[]);
    let mut seen = Vec::new();
    expect_json(&stdout, &mut seen, "serving", serving);
    assert_eq!(
        post(&addr, "/dev/decline", r#"{"chat_id":"blocked-1"}"#),
        200
    );
    send_line(
        &mut stdin,
        r#"{"id":"d1","op":"send","chat_id":"blocked-1","content":"x"}"#,
    );
    let d = expect_json(&stdout, &mut seen, "d1", |v| v["id"] == "d1");
    let text =
        "telegram egress declined: target is not an approved destination for this connection";
    assert_eq!(d["declined"], true, "{d}");
    assert_eq!(d["decline"], text, "{d}");
    assert_eq!(d["result"]["code"], "egress_declined", "{d}");
    assert_eq!(d["result"]["error"], text, "{d}");
    // A plain failure is not a decline.
    let script = r#"{"op":"send","result":{"success":false,"error":"busy"}}"#;
    assert_eq!(post(&addr, "/dev/script", script), 200);
    send_line(
        &mut stdin,
        r#"{"id":"d2","op":"send","chat_id":"ok","content":"x"}"#,
    );
    let p = expect_json(&stdout, &mut seen, "d2", |v| v["id"] == "d2");
    assert_eq!(p.get("declined"), None, "{p}");
    assert_eq!(p["result"]["error"], "busy", "{p}");
}

#[test]
fn a_held_redial_waits_for_its_release() {
    let (_connector, addr) = start_connector(&[]);
    let (_connect, mut stdin, stdout) = start_connect_env(
        &addr,
        ("dev-gateway", "dev-secret"),
        &[],
        &[("GATEWAY_RELAY_RS_DORMANT_REDIAL_SECS", "0.1")],
    );
    let mut seen = Vec::new();
    expect_json(&stdout, &mut seen, "serving", serving);
    send_line(&mut stdin, r#"{"id":"h","command":"hold_redial"}"#);
    expect_json(&stdout, &mut seen, "ok for h", |v| {
        v["id"] == "h" && v["ok"] == true
    });
    send_line(&mut stdin, r#"{"command":"go_dormant"}"#);
    expect_json(&stdout, &mut seen, "redial_held", |v| {
        v["event"] == "redial_held"
    });
    let dials = stat(&addr, "upgrades_attempted");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        stat(&addr, "upgrades_attempted"),
        dials,
        "no dial while held"
    );
    send_line(&mut stdin, r#"{"id":"r","command":"release_redial"}"#);
    expect_json(&stdout, &mut seen, "serving again", serving);
    assert_eq!(stat(&addr, "upgrades_attempted"), dials + 1);
}

#[test]
fn the_command_manifest_rides_in_the_discord_hello() {
    let dir = std::env::temp_dir().join(format!("relay-cli-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("manifest.json");
    let manifest = r#"{"discord": [{"name": "new", "description": "Start a new conversation"},
                                    {"name": "Bad Name", "description": "dropped"}]}"#;
    std::fs::write(&file, manifest).expect("written");
    let (_connector, addr) = start_connector(&[]);
    let mut env = TWO.to_vec();
    let path = file.to_str().expect("UTF-8 path").to_owned();
    env.push(("GATEWAY_RELAY_RS_COMMAND_MANIFEST_FILE", &path));
    let (_connect, _stdin, stdout) =
        start_connect_env(&addr, ("dev-gateway", "dev-secret"), &[], &env);
    let mut seen = Vec::new();
    expect_json(&stdout, &mut seen, "serving", serving);
    let hellos = received(&addr, "hello");
    assert_eq!(
        hellos[0].get("command_manifest"),
        None,
        "telegram's hello has none"
    );
    assert_eq!(
        hellos[1]["command_manifest"],
        serde_json::json!([{"name": "new", "description": "Start a new conversation"}])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn end_of_input_drains_the_actions_in_flight() {
    let (_connector, addr) = start_connector(&[]);
    let (mut connect, mut stdin, stdout) = start_connect(&addr, &[]);
    let mut seen = Vec::new();
    expect_json(&stdout, &mut seen, "serving", serving);
    assert_eq!(
        post(&addr, "/dev/script", r#"{"op":"edit","delay_ms":600}"#),
        200
    );
    send_line(
        &mut stdin,
        r#"{"id":"e1","op":"edit","chat_id":"c","message_id":"m","content":"final"}"#,
    );
    until("the edit is written", || {
        stat(&addr, "outbound_requests") == 1
    });
    drop(stdin);
    let r = expect_json(&stdout, &mut seen, "e1", |v| v["id"] == "e1");
    assert_eq!(
        r["result"]["success"], true,
        "the late result still arrived: {r}"
    );
    let status = wait_exit(&mut connect.0, WAIT);
    assert_eq!(status.code(), Some(0));
    assert_eq!(stat(&addr, "outbound_results"), 1);
}

#[test]
fn a_result_later_than_the_drain_is_answered_as_failed() {
    let (_connector, addr) = start_connector(&[]);
    let (mut connect, mut stdin, stdout) = start_connect_env(
        &addr,
        ("dev-gateway", "dev-secret"),
        &[],
        &[("GATEWAY_RELAY_RS_SHUTDOWN_DRAIN_SECS", "0.3")],
    );
    let mut seen = Vec::new();
    expect_json(&stdout, &mut seen, "serving", serving);
    assert_eq!(
        post(&addr, "/dev/script", r#"{"op":"edit","delay_ms":5000}"#),
        200
    );
    send_line(
        &mut stdin,
        r#"{"id":"e2","op":"edit","chat_id":"c","message_id":"m","content":"final"}"#,
    );
    until("the edit is written", || {
        stat(&addr, "outbound_requests") == 1
    });
    let started = Instant::now();
    drop(stdin);
    let r = expect_json(&stdout, &mut seen, "e2", |v| v["id"] == "e2");
    assert_eq!(
        r["result"],
        serde_json::json!({"success": false, "error": "relay transport closed", "ambiguous": true})
    );
    assert_eq!(wait_exit(&mut connect.0, WAIT).code(), Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "bounded by the drain"
    );
}
