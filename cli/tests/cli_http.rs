//! The `relay` binary's HTTP subcommands against a canned connector.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request: path, `Authorization`, JSON body.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    authorization: Option<String>,
    body: serde_json::Value,
}

/// A thread answering each request with `handler(&seen) -> (status, body)`.
fn server(
    handler: impl Fn(&Seen) -> (u16, serde_json::Value) + Send + 'static,
) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            let mut authorization = None;
            let mut len = 0;
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                let (n, v) = h.split_once(':').unwrap();
                if n.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap();
                }
                if n.eq_ignore_ascii_case("authorization") {
                    authorization = Some(v.trim().to_owned());
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let request = Seen {
                path,
                authorization,
                body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
            };
            let (status, answer) = handler(&request);
            record.lock().unwrap().push(request);
            let answer = answer.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (base, seen)
}

/// Runs `relay` with a clean environment (plus `env`) and HOME in `home`.
fn relay(args: &[&str], env: &[(&str, &str)], home: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
    command
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("RUST_LOG", "off")
        .stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn enroll_writes_the_default_env_file() {
    let (base, seen) = server(|seen| match seen.body["enrollmentToken"].as_str() {
        Some("one-time") => (
            200,
            serde_json::json!({"secret": "very-secret", "deliveryKey": "dk", "tenant": "acme"}),
        ),
        _ => (
            403,
            serde_json::json!({"error": "enrollment token already used"}),
        ),
    });
    let home = tempfile::tempdir().unwrap();
    let out = relay(
        &[
            "enroll",
            "--connector-url",
            &format!("{base}/relay"),
            "--token",
            "one-time",
            "--gateway-id",
            "gw-cli",
            "--wake-url",
            "http://gw.example/wake/",
        ],
        &[("GATEWAY_RELAY_IDENTITY_TOKEN", "id-tok")],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("enrolled gateway gw-cli (tenant acme)"),
        "{stdout}"
    );
    assert!(!stdout.contains("very-secret"));

    let path = home.path().join(".hermes").join(".env");
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        written,
        format!(
            "GATEWAY_RELAY_ID=gw-cli\nGATEWAY_RELAY_SECRET=very-secret\nGATEWAY_RELAY_DELIVERY_KEY=dk\n\
             GATEWAY_RELAY_URL={base}/relay\nGATEWAY_RELAY_WAKE_URL=http://gw.example/wake\n"
        )
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0].path, "/relay/enroll");
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer id-tok"));
    assert_eq!(seen[0].body["gatewayId"], "gw-cli");

    // The token is used: 403 with the connector's reason, exit 1, the
    // file untouched.
    let out = relay(
        &[
            "enroll",
            "--token",
            "one-time-again",
            "--identity-token",
            "id-tok",
        ],
        &[("GATEWAY_RELAY_URL", &base), ("GATEWAY_RELAY_ID", "gw-cli")],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("HTTP 403"), "{stderr}");
    assert!(stderr.contains("enrollment token already used"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
}

#[test]
fn configuration_errors_exit_2() {
    let home = tempfile::tempdir().unwrap();
    // No connector URL.
    let out = relay(
        &["enroll", "--token", "t", "--identity-token", "i"],
        &[],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("GATEWAY_RELAY_URL"));
    // No identity token and no identity provider.
    let out = relay(
        &["provision"],
        &[("GATEWAY_RELAY_URL", "http://127.0.0.1:9")],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    // No credentials for the policy.
    let out = relay(
        &["policy", "--platform", "telegram", "--require-address"],
        &[("GATEWAY_RELAY_URL", "http://127.0.0.1:9")],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    // No enrollment token.
    let out = relay(
        &["enroll", "--identity-token", "i"],
        &[("GATEWAY_RELAY_URL", "http://127.0.0.1:9")],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn provision_reports_each_platform() {
    let (base, _seen) = server(|seen| match seen.body["platform"].as_str() {
        Some("discord") => (500, serde_json::json!({"error": "database down"})),
        _ => (200, serde_json::json!({"secret": "s1", "tenant": "acme"})),
    });
    let home = tempfile::tempdir().unwrap();
    let env_file = home.path().join("creds.env");
    let out = relay(
        &[
            "provision",
            "--platforms",
            "telegram,discord",
            "--gateway-id",
            "gw-p",
            "--env-file",
            env_file.to_str().unwrap(),
        ],
        &[
            ("GATEWAY_RELAY_URL", &base),
            ("GATEWAY_RELAY_IDENTITY_TOKEN", "id"),
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("discord: failed: connector returned HTTP 500: database down"),
        "{stdout}"
    );
    assert!(
        stdout.contains("telegram: credentials issued for gateway gw-p (tenant acme)"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(&env_file).unwrap(),
        "GATEWAY_RELAY_ID=gw-p\nGATEWAY_RELAY_SECRET=s1\n"
    );
}

#[test]
fn policy_succeeds_only_on_200() {
    let (base, seen) = server(|seen| match seen.body["platform"].as_str() {
        Some("telegram") => (200, serde_json::json!({})),
        _ => (202, serde_json::json!({})),
    });
    let home = tempfile::tempdir().unwrap();
    let env = [
        ("GATEWAY_RELAY_URL", base.as_str()),
        ("GATEWAY_RELAY_ID", "gw-pol"),
        ("GATEWAY_RELAY_SECRET", "sek"),
    ];
    let out = relay(
        &[
            "policy",
            "--platform",
            "telegram",
            "--require-address",
            "--free-response-scope",
            "c1",
            "--free-response-scope",
            "c2",
        ],
        &env,
        home.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = relay(&["policy", "--platform", "slack"], &env, home.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("HTTP 202"));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen[0].body,
        serde_json::json!({"platform": "telegram", "requireAddress": true, "freeResponseScopes": ["c1", "c2"], "allowOtherBots": false})
    );
}
