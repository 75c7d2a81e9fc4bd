//! No credential in any output: every `relay` subcommand runs at
//! `RUST_LOG=trace` and at `-vvv` with known secrets (gateway secret,
//! delivery key, enrollment token, identity provider client secret, identity
//! tokens, and the credentials a connector issues), against a `relay
//! connector` process and a canned connector and identity provider; none of
//! those strings, no `Bearer` value and no upgrade token (a word that decodes
//! as `payload:exp:signature`, whatever secret minted it) may appear on
//! stdout or stderr. The one deliberate exception is `relay token mint`'s
//! stdout, which is the token it was asked for.
//!
//! `RELAY_BIN=/path/to/relay` runs it against another build.

#![cfg(unix)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

const GATEWAY: &str = "gw-logs";
const SECRET: &str = "gateway-secret-9f8e7d6c";
const DELIVERY_KEY: &str = "delivery-key-5a4b3c2d";
const ENROLL_TOKEN: &str = "enroll-token-1a2b3c4d";
const CLIENT_SECRET: &str = "idp-client-secret-77aa88bb";
/// The identity token the canned identity provider issues (a JWT).
const IDP_TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJpZHAtdXNlciJ9.aWRwLXNpZ25hdHVyZS1vbmU";
/// An identity token given on the command line (a JWT).
const ARG_TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhcmctdXNlciJ9.YXJnLXNpZ25hdHVyZS10d28";
/// What the canned connector issues.
const ISSUED_SECRET: &str = "issued-secret-0c0ffee1";
const ISSUED_DELIVERY_KEY: &str = "issued-delivery-key-0ddba11";

fn bin() -> String {
    std::env::var("RELAY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_relay").to_owned())
}

/// Every string that must never be printed.
const FORBIDDEN: [&str; 9] = [
    SECRET,
    DELIVERY_KEY,
    ENROLL_TOKEN,
    CLIENT_SECRET,
    IDP_TOKEN,
    ARG_TOKEN,
    ISSUED_SECRET,
    ISSUED_DELIVERY_KEY,
    "dev-secret",
];

/// Every credential-looking thing in `text`: a forbidden string, a value
/// after `Bearer`, a word that is an upgrade token.
fn leaks(text: &str) -> Vec<String> {
    let mut found: Vec<String> = FORBIDDEN
        .iter()
        .filter(|s| text.contains(**s))
        .map(|s| format!("the string {s:?}"))
        .collect();
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("bearer ") {
        let at = from + i + "bearer ".len();
        let value: String = text[at..]
            .trim_start()
            .chars()
            .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '\\' | ','))
            .collect();
        // `<redacted>`, and placeholders such as `<token>` in help text.
        if !value.is_empty() && !value.starts_with('<') {
            found.push(format!("a bearer value {value:?}"));
        }
        from = at;
    }
    let words = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    for word in words.filter(|w| w.len() >= 24) {
        if relay_core::auth::peek_payload(word).is_ok() {
            found.push(format!("an upgrade token {word:?}"));
        }
    }
    found
}

fn assert_clean(what: &str, stdout: &str, stderr: &str) {
    let mut found = leaks(stdout);
    found.extend(leaks(stderr));
    assert!(
        found.is_empty(),
        "{what} printed credentials: {found:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
}

/// The two ways of asking for every log line.
const VERBOSITY: [&str; 2] = ["RUST_LOG=trace", "-vvv"];

/// `relay` with a clean environment, `env` on top, at `verbosity`.
fn relay(args: &[&str], env: &[(&str, &str)], verbosity: &str) -> Command {
    let mut command = Command::new(bin());
    let home = std::env::temp_dir();
    command.env_clear().env("HOME", home).env("NO_COLOR", "1");
    if verbosity == "-vvv" {
        command.arg("-vvv");
    } else {
        command.env("RUST_LOG", "trace");
    }
    command.args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs to the end with `stdin` as input, at most `WAIT`.
fn run(mut command: Command, stdin: &str) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn relay");
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_owned();
    std::thread::spawn(move || {
        let _ = input.write_all(stdin.as_bytes());
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(WAIT)
        .expect("relay finished in time")
        .expect("relay output")
}

/// A child killed when the test ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Everything `reader` produces, once it ends.
fn collect(mut reader: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = reader.read_to_end(&mut bytes);
        let _ = tx.send(text(&bytes));
    });
    rx
}

/// A running `relay connector`: the process, its `host:port`, and its
/// stdout and stderr once it ends.
struct Connector {
    proc: Proc,
    addr: String,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

/// `relay connector` at `verbosity` with the gateway `GATEWAY`/`SECRET`.
fn start_connector(verbosity: &str) -> Connector {
    let gateway = format!("{GATEWAY}:{SECRET}");
    let mut child = relay(
        &[
            "connector",
            "--listen",
            "127.0.0.1:0",
            "--gateway",
            &gateway,
        ],
        &[],
        verbosity,
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn relay connector");
    let stderr = collect(child.stderr.take().expect("stderr"));
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let proc = Proc(child);
    let (tx, rx) = mpsc::channel();
    let (all_tx, all_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut all = String::new();
        let mut sent = false;
        for line in stdout.lines() {
            let Ok(line) = line else { break };
            all.push_str(&line);
            all.push('\n');
            if !sent && let Some(rest) = line.trim().strip_prefix("relay URL:") {
                let url = rest.split_whitespace().next().unwrap_or("").to_owned();
                let _ = tx.send(url);
                sent = true;
            }
        }
        let _ = all_tx.send(all);
    });
    let url = rx
        .recv_timeout(WAIT)
        .expect("relay connector printed its URL");
    let addr = url.strip_prefix("ws://").expect("a ws:// URL").to_owned();
    Connector {
        proc,
        addr,
        stdout: all_rx,
        stderr,
    }
}

impl Connector {
    /// Stops the connector with SIGTERM and checks what it printed.
    fn stop_and_check(self, what: &str) {
        let pid = self.proc.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let err = self.stderr.recv_timeout(WAIT).unwrap_or_default();
        let out = self.stdout.recv_timeout(WAIT).unwrap_or_default();
        drop(self.proc);
        assert!(
            out.contains("relay URL:"),
            "the connector's stdout was read"
        );
        assert_clean(what, &out, &err);
    }
}

/// A canned connector and identity provider on 127.0.0.1: answers by path.
fn canned_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            let mut headers = HashMap::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() {
                    break;
                }
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((n, v)) = h.split_once(':') {
                    headers.insert(n.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let issued = format!(
                r#"{{"secret":"{ISSUED_SECRET}","deliveryKey":"{ISSUED_DELIVERY_KEY}","tenant":"t","gatewayId":"{GATEWAY}","routeKeys":[]}}"#
            );
            let (status, content_type, answer) = match path.as_str() {
                "/token" => (
                    200,
                    "application/json",
                    format!(r#"{{"access_token":"{IDP_TOKEN}","token_type":"Bearer"}}"#),
                ),
                "/ambient" => (200, "text/plain", IDP_TOKEN.to_owned()),
                "/relay/provision" | "/relay/enroll" => (200, "application/json", issued),
                "/relay/policy" => (200, "application/json", "{}".to_owned()),
                _ => (404, "application/json", r#"{"error":"no"}"#.to_owned()),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    base
}

#[test]
fn connect_and_connector_print_no_credentials_at_trace() {
    for verbosity in VERBOSITY {
        let connector = start_connector(verbosity);
        let url = format!("ws://{}", connector.addr);
        let mut child = relay(
            &["connect", "--platforms", "telegram"],
            &[
                ("GATEWAY_RELAY_URL", &url),
                ("GATEWAY_RELAY_ID", GATEWAY),
                ("GATEWAY_RELAY_SECRET", SECRET),
                ("GATEWAY_RELAY_DELIVERY_KEY", DELIVERY_KEY),
                ("GATEWAY_RELAY_ENROLL_TOKEN", ENROLL_TOKEN),
            ],
            verbosity,
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn relay connect");
        let mut stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let stderr = collect(child.stderr.take().expect("stderr"));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let proc = Proc(child);
        let mut out = String::new();
        let deadline = Instant::now() + WAIT;
        let mut asked = false;
        while Instant::now() < deadline {
            let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else {
                continue;
            };
            out.push_str(&line);
            out.push('\n');
            if !asked && line.contains(r#""to":"serving""#) {
                writeln!(
                    stdin,
                    r#"{{"id":"1","op":"send","chat_id":"9","content":"hi"}}"#
                )
                .expect("write stdin");
                asked = true;
            }
            if line.contains(r#""id":"1""#) {
                break;
            }
        }
        assert!(asked, "relay connect reached serving; stdout:\n{out}");
        drop(stdin);
        while let Ok(line) = rx.recv_timeout(WAIT) {
            out.push_str(&line);
            out.push('\n');
        }
        let err = stderr.recv_timeout(WAIT).expect("relay connect ended");
        drop(proc);
        assert_clean(&format!("relay connect ({verbosity})"), &out, &err);
        connector.stop_and_check(&format!("relay connector ({verbosity})"));
    }
}

#[test]
fn demo_token_and_inspect_print_no_credentials_at_trace() {
    for verbosity in VERBOSITY {
        let out = run(relay(&["demo"], &[], verbosity), "");
        assert!(out.status.success(), "relay demo succeeded");
        assert_clean(
            &format!("relay demo ({verbosity})"),
            &text(&out.stdout),
            &text(&out.stderr),
        );

        let mint = run(
            relay(
                &["token", "mint", "--gateway-id", GATEWAY],
                &[("GATEWAY_RELAY_SECRET", SECRET)],
                verbosity,
            ),
            "",
        );
        assert!(mint.status.success(), "relay token mint succeeded");
        // Its stdout is the token asked for; its logs are not.
        assert_clean(
            &format!("relay token mint ({verbosity})"),
            "",
            &text(&mint.stderr),
        );
        let token = text(&mint.stdout).trim().to_owned();
        let verify = run(
            relay(
                &["token", "verify", "--token", &token, "--secret", SECRET],
                &[],
                verbosity,
            ),
            "",
        );
        assert!(verify.status.success(), "relay token verify succeeded");
        assert_clean(
            &format!("relay token verify ({verbosity})"),
            &text(&verify.stdout),
            &text(&verify.stderr),
        );

        let frames = concat!(
            r#"{"type":"descriptor","descriptor":{"contract_version":1,"platform":"telegram","label":"T","max_message_length":10,"supports_draft_streaming":false,"supports_edit":true,"supports_threads":false,"markdown_dialect":"plain","len_unit":"chars"}}"#,
            "\n",
            r#"{"type":"inbound","event":{"text":"hi","source":{"platform":"telegram","chat_id":"9"}}}"#,
            "\n"
        );
        let inspect = run(relay(&["inspect"], &[], verbosity), frames);
        assert_clean(
            &format!("relay inspect ({verbosity})"),
            &text(&inspect.stdout),
            &text(&inspect.stderr),
        );
    }
}

#[test]
fn credential_calls_print_no_credentials_at_trace() {
    let canned = canned_server();
    let dir = tempfile::tempdir().expect("tempdir");
    for verbosity in VERBOSITY {
        let env_file = dir.path().join(format!("{}.env", verbosity.len()));
        let env_file = env_file.to_str().expect("utf-8 path");
        let idp = [
            ("GATEWAY_RELAY_URL", canned.as_str()),
            ("GATEWAY_RELAY_PLATFORMS", "telegram,discord"),
            ("GATEWAY_RELAY_IDP_TOKEN_URL", &format!("{canned}/token")),
            ("GATEWAY_RELAY_IDP_CLIENT_ID", "client-1"),
            ("GATEWAY_RELAY_IDP_CLIENT_SECRET", CLIENT_SECRET),
        ];
        let provision = run(
            relay(
                &["provision", "--gateway-id", GATEWAY, "--env-file", env_file],
                &idp,
                verbosity,
            ),
            "",
        );
        assert!(
            provision.status.success(),
            "relay provision succeeded: {}",
            text(&provision.stderr)
        );
        assert_clean(
            &format!("relay provision ({verbosity})"),
            &text(&provision.stdout),
            &text(&provision.stderr),
        );

        let enroll = run(
            relay(
                &[
                    "enroll",
                    "--connector-url",
                    &canned,
                    "--gateway-id",
                    GATEWAY,
                    "--env-file",
                    env_file,
                ],
                &[
                    ("GATEWAY_RELAY_ENROLL_TOKEN", ENROLL_TOKEN),
                    ("GATEWAY_RELAY_IDENTITY_TOKEN", ARG_TOKEN),
                ],
                verbosity,
            ),
            "",
        );
        assert!(
            enroll.status.success(),
            "relay enroll succeeded: {}",
            text(&enroll.stderr)
        );
        assert_clean(
            &format!("relay enroll ({verbosity})"),
            &text(&enroll.stdout),
            &text(&enroll.stderr),
        );

        let policy = run(
            relay(
                &["policy", "--platform", "discord", "--require-address"],
                &[
                    ("GATEWAY_RELAY_URL", canned.as_str()),
                    ("GATEWAY_RELAY_ID", GATEWAY),
                    ("GATEWAY_RELAY_SECRET", SECRET),
                ],
                verbosity,
            ),
            "",
        );
        assert!(policy.status.success(), "relay policy succeeded");
        assert_clean(
            &format!("relay policy ({verbosity})"),
            &text(&policy.stdout),
            &text(&policy.stderr),
        );
    }
}

#[test]
fn media_prints_no_credentials_at_trace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("note.txt");
    std::fs::write(&file, b"a note").expect("write");
    for verbosity in VERBOSITY {
        let connector = start_connector(verbosity);
        let url = format!("ws://{}", connector.addr);
        let env = [
            ("GATEWAY_RELAY_URL", url.as_str()),
            ("GATEWAY_RELAY_ID", GATEWAY),
            ("GATEWAY_RELAY_SECRET", SECRET),
        ];
        let up = run(
            relay(
                &["media", "upload", file.to_str().expect("utf-8")],
                &env,
                verbosity,
            ),
            "",
        );
        assert!(up.status.success(), "upload: {}", text(&up.stderr));
        assert_clean(
            &format!("relay media upload ({verbosity})"),
            &text(&up.stdout),
            &text(&up.stderr),
        );
        let reference = text(&up.stdout).trim().to_owned();
        let out = dir.path().join(format!("copy-{}", verbosity.len()));
        let down = run(
            relay(
                &[
                    "media",
                    "download",
                    &reference,
                    "--out",
                    out.to_str().expect("utf-8"),
                ],
                &env,
                verbosity,
            ),
            "",
        );
        assert!(down.status.success(), "download: {}", text(&down.stderr));
        assert_clean(
            &format!("relay media download ({verbosity})"),
            &text(&down.stdout),
            &text(&down.stderr),
        );
        connector.stop_and_check(&format!("relay connector serving media ({verbosity})"));
    }
}

#[test]
fn connect_self_provisions_and_declares_its_policy_without_printing_credentials() {
    for verbosity in VERBOSITY {
        let connector = start_connector(verbosity);
        let url = format!("ws://{}", connector.addr);
        // No secret: the connector issues one at start, kept in memory.
        let mut child = relay(
            &["connect", "--self-provision", "--platforms", "telegram"],
            &[
                ("GATEWAY_RELAY_URL", &url),
                ("GATEWAY_RELAY_ID", "gw-booted"),
                ("GATEWAY_RELAY_IDENTITY_TOKEN", ARG_TOKEN),
                ("GATEWAY_RELAY_DISPLAY_NAME", "Ops"),
                (
                    "GATEWAY_RELAY_RS_POLICY",
                    r#"{"telegram": {"require_mention": false}}"#,
                ),
            ],
            verbosity,
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn relay connect");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let stderr = collect(child.stderr.take().expect("stderr"));
        let proc = Proc(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut out = String::new();
        let mut serving = false;
        while let Ok(line) = rx.recv_timeout(WAIT) {
            out.push_str(&line);
            out.push('\n');
            if line.contains(r#""to":"serving""#) {
                serving = true;
                break;
            }
        }
        drop(stdin);
        let err = stderr.recv_timeout(WAIT).expect("relay connect ended");
        drop(proc);
        assert!(
            serving,
            "served with the issued credentials; stderr:\n{err}"
        );
        assert!(
            err.contains("credentials issued for gateway gw-booted"),
            "{err}"
        );
        assert!(err.contains("policy: telegram: accepted"), "{err}");
        assert_clean(
            &format!("relay connect --self-provision ({verbosity})"),
            &out,
            &err,
        );
        connector.stop_and_check(&format!("relay connector provisioning ({verbosity})"));
    }
}
