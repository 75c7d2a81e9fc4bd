//! The HTTP calls against tiny HTTP/1.1 servers on 127.0.0.1.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use relay_core::calls::{HttpCallError, PolicyBody, enroll_env_vars};
use relay_core::config::{IdpConfig, RelayConfig};
use relay_tokio::http::{self, CallError};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const LIMIT: Duration = Duration::from_secs(20);

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A canned answer: status, extra headers, body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn json(status: u16, body: serde_json::Value) -> Answer {
    Answer {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

fn redirect(status: u16, location: &str) -> Answer {
    Answer {
        status,
        headers: vec![("Location".into(), location.into())],
        body: Vec::new(),
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Answer + Send + Sync>;

/// A test server: answers every connection with `handler`, records what it
/// saw.
struct Server {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    async fn start(handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let record = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                let record = record.clone();
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap_or_default().to_owned();
                    let path = parts.next().unwrap_or_default().to_owned();
                    let mut headers = Vec::new();
                    loop {
                        let mut h = String::new();
                        reader.read_line(&mut h).await.unwrap();
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((n, v)) = h.split_once(':') {
                            headers.push((n.trim().to_owned(), v.trim().to_owned()));
                        }
                    }
                    let len = headers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, v)| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    let mut body = vec![0; len];
                    reader.read_exact(&mut body).await.unwrap();
                    let request = Seen {
                        method,
                        path,
                        headers,
                        body,
                    };
                    let answer = handler(&request);
                    record.lock().unwrap().push(request);
                    let mut out = format!(
                        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                        answer.status,
                        answer.body.len()
                    );
                    for (n, v) in &answer.headers {
                        out.push_str(&format!("{n}: {v}\r\n"));
                    }
                    out.push_str("\r\n");
                    let mut stream = reader.into_inner();
                    let _ = stream.write_all(out.as_bytes()).await;
                    let _ = stream.write_all(&answer.body).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Server { base, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn two_platforms(base: &str) -> RelayConfig {
    RelayConfig::builder(base)
        .identity("telegram", "tg-bot")
        .identity("discord", "dc-bot")
        .wake_url("http://gw.example/wake")
        .allow_unauthenticated()
        .build()
        .unwrap()
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test timed out")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_happy_path() {
    bounded(async {
        let server = Server::start(|seen| {
            let platform = seen.json()["platform"].as_str().unwrap().to_owned();
            json(
                200,
                serde_json::json!({
                    "secret": format!("s-{platform}"),
                    "deliveryKey": "dk",
                    "tenant": "t1",
                    "routeKeys": ["k"],
                }),
            )
        })
        .await;
        let config = two_platforms(&server.base);
        let summary = http::provision_with(&config, "gw-test", Some("id-token"))
            .await
            .unwrap();
        assert!(summary.is_complete(), "{summary:?}");
        let creds = summary.credentials.unwrap();
        assert_eq!(creds.gateway_id, "gw-test");
        assert_eq!(creds.secret, "s-telegram");
        assert_eq!(creds.delivery_key.as_deref(), Some("dk"));
        assert_eq!(summary.credentials_from.as_deref(), Some("telegram"));

        let seen = server.seen();
        assert_eq!(seen.len(), 2);
        for (request, platform) in seen.iter().zip(["telegram", "discord"]) {
            assert_eq!(request.method, "POST");
            assert_eq!(request.path, "/relay/provision");
            assert_eq!(request.header("authorization"), Some("Bearer id-token"));
            let body = request.json();
            assert_eq!(body["platform"], platform);
            assert_eq!(body["gatewayId"], "gw-test");
            assert_eq!(body["wakeUrl"], "http://gw.example/wake");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_tolerates_a_failing_platform() {
    bounded(async {
        let server = Server::start(|seen| match seen.json()["platform"].as_str() {
            Some("telegram") => json(503, serde_json::json!({"error": "try later"})),
            _ => json(
                200,
                serde_json::json!({"secret": "s2", "gatewayId": "gw-conn"}),
            ),
        })
        .await;
        let config = two_platforms(&server.base);
        let summary = http::provision_with(&config, "gw-test", Some("id-token"))
            .await
            .unwrap();
        assert!(!summary.is_complete());
        assert_eq!(
            summary.failures,
            vec![(
                "telegram".to_owned(),
                HttpCallError::Status {
                    status: 503,
                    error: Some("try later".into())
                }
            )]
        );
        let creds = summary.credentials.unwrap();
        assert_eq!(creds.gateway_id, "gw-conn");
        assert_eq!(creds.secret, "s2");
        assert_eq!(summary.credentials_from.as_deref(), Some("discord"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_with_an_unreachable_connector_reports_every_platform() {
    bounded(async {
        // Bind and drop: nothing listens on this port any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = two_platforms(&format!("http://127.0.0.1:{port}"));
        let summary = http::provision_with(&config, "gw", Some("t"))
            .await
            .unwrap();
        assert!(summary.credentials.is_none());
        assert_eq!(summary.failures.len(), 2);
        assert!(matches!(
            summary.failures[0].1,
            HttpCallError::Transport { .. }
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_gets_the_identity_token_from_the_idp() {
    bounded(async {
        let server = Server::start(|seen| match seen.path.as_str() {
            "/token" => json(200, serde_json::json!({"access_token": "from-idp"})),
            _ => json(200, serde_json::json!({"secretIssued": false})),
        })
        .await;
        let config = RelayConfig::builder(&server.base)
            .idp(IdpConfig {
                token_url: format!("{}/token", server.base),
                client_id: "cid".into(),
                client_secret: "csecret".into(),
                scope: None,
            })
            .allow_unauthenticated()
            .build()
            .unwrap();
        let summary = http::provision_with(&config, "gw", None).await.unwrap();
        assert!(summary.is_complete());
        assert_eq!(summary.not_issued, vec!["relay".to_owned()]);
        let seen = server.seen();
        assert_eq!(seen[0].path, "/token");
        assert!(String::from_utf8_lossy(&seen[0].body).contains("grant_type=client_credentials"));
        assert_eq!(seen[1].header("authorization"), Some("Bearer from-idp"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_without_any_identity_is_a_config_error() {
    let config = RelayConfig::builder("http://127.0.0.1:9")
        .allow_unauthenticated()
        .build()
        .unwrap();
    let err = http::provision(&config).await.unwrap_err();
    assert!(matches!(err, CallError::NotConfigured { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_counts_only_200() {
    bounded(async {
        let server = Server::start(|seen| match seen.json()["platform"].as_str() {
            Some("telegram") => json(200, serde_json::json!({"ok": true})),
            Some("discord") => json(201, serde_json::json!({})),
            _ => json(500, serde_json::json!({"error": "nope"})),
        })
        .await;
        let config = RelayConfig::builder(&server.base)
            .gateway_id("gw-1")
            .secret("sekrit")
            .build()
            .unwrap();
        let body = |platform: &str| PolicyBody {
            platform: platform.into(),
            require_address: true,
            free_response_scopes: vec![],
            allow_other_bots: false,
        };
        let bodies = [body("telegram"), body("discord"), body("slack")];
        let results = http::send_policies(&config, &bodies).await.unwrap();
        assert_eq!(results.len(), 3);
        assert!(results[0].1.is_ok());
        assert!(matches!(
            results[1].1,
            Err(CallError::Http(HttpCallError::Status { status: 201, .. }))
        ));
        assert!(matches!(
            &results[2].1,
            Err(CallError::Http(HttpCallError::Status { status: 500, error: Some(e) })) if e == "nope"
        ));
        // The bearer is an upgrade token of the gateway id.
        let seen = server.seen();
        let bearer = seen[0]
            .header("authorization")
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap();
        let now = relay_core::UnixTime::from_secs(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        );
        assert_eq!(
            relay_core::auth::verify_token(bearer, &["sekrit"], now).unwrap(),
            "gw-1"
        );
        assert_eq!(seen[0].path, "/relay/policy");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_without_credentials_is_a_config_error() {
    let config = RelayConfig::builder("http://127.0.0.1:9")
        .allow_unauthenticated()
        .build()
        .unwrap();
    let body = PolicyBody {
        platform: "telegram".into(),
        require_address: true,
        free_response_scopes: vec![],
        allow_other_bots: false,
    };
    let err = http::policy(&config, &body).await.unwrap_err();
    assert!(matches!(err, CallError::NotConfigured { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enroll_and_write_the_env_file() {
    bounded(async {
        let server = Server::start(|seen| {
            assert_eq!(seen.path, "/relay/enroll");
            if seen.json()["enrollmentToken"] == "good" {
                json(
                    200,
                    serde_json::json!({"secret": "new secret", "deliveryKey": "dk2", "tenant": "t"}),
                )
            } else {
                json(403, serde_json::json!({"error": "token already used"}))
            }
        })
        .await;
        let config = RelayConfig::builder(&server.base)
            .gateway_id("gw-enr")
            .allow_unauthenticated()
            .build()
            .unwrap();

        let refused = http::enroll(&config, Some("bad"), Some("id")).await.unwrap_err();
        assert!(
            matches!(
                &refused,
                CallError::Http(HttpCallError::EnrollmentTokenRejected { error: Some(e) }) if e == "token already used"
            ),
            "{refused:?}"
        );

        let issued = http::enroll(&config, Some("good"), Some("id")).await.unwrap();
        let resolved = issued.resolve("gw-enr");
        let vars = enroll_env_vars(&resolved, Some(&server.base), None);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "# my settings\nFOO=bar\nGATEWAY_RELAY_SECRET=old\nexport OTHER='x y'\n",
        )
        .unwrap();
        http::write_env_file(&path, &vars).await.unwrap();

        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            written,
            format!(
                "# my settings\nFOO=bar\nGATEWAY_RELAY_SECRET='new secret'\nexport OTHER='x y'\n\
                 GATEWAY_RELAY_ID=gw-enr\nGATEWAY_RELAY_DELIVERY_KEY=dk2\nGATEWAY_RELAY_URL={}\n",
                server.base
            )
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Nothing but the env file is left in the directory.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(".env")]);

        // A missing file (and directory) is created.
        let fresh = dir.path().join("sub").join(".env");
        http::write_env_file(&fresh, &vars).await.unwrap();
        assert!(
            std::fs::read_to_string(&fresh)
                .unwrap()
                .starts_with("GATEWAY_RELAY_ID=gw-enr\n")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_origin_redirect_drops_the_bearer_same_origin_keeps_it() {
    bounded(async {
        let other = Server::start(|_| json(200, serde_json::json!({"secret": "s-other"}))).await;
        let other_base = other.base.clone();
        let origin = Server::start(move |seen| match seen.path.as_str() {
            "/relay/provision" => redirect(307, "/moved/provision"),
            "/moved/provision" => redirect(308, &format!("{other_base}/relay/provision")),
            _ => json(404, serde_json::json!({})),
        })
        .await;
        let config = RelayConfig::builder(&origin.base)
            .allow_unauthenticated()
            .build()
            .unwrap();
        let summary = http::provision_with(&config, "gw", Some("bearer-x"))
            .await
            .unwrap();
        assert!(summary.is_complete(), "{summary:?}");
        assert_eq!(summary.credentials.unwrap().secret, "s-other");

        let at_origin = origin.seen();
        assert_eq!(at_origin.len(), 2);
        // Same-origin hop: bearer, method and body kept.
        assert_eq!(at_origin[1].path, "/moved/provision");
        assert_eq!(at_origin[1].method, "POST");
        assert_eq!(
            at_origin[1].header("authorization"),
            Some("Bearer bearer-x")
        );
        assert_eq!(at_origin[1].json()["gatewayId"], "gw");
        // Another port is another origin: no bearer, body still sent (308).
        let at_other = other.seen();
        assert_eq!(at_other.len(), 1);
        assert_eq!(at_other[0].method, "POST");
        assert_eq!(at_other[0].header("authorization"), None);
        assert_eq!(at_other[0].json()["gatewayId"], "gw");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_to_localhost_drops_the_bearer() {
    bounded(async {
        let server = Server::start(|seen| match seen.path.as_str() {
            "/relay/provision" => {
                // Same port, other host name: another origin.
                let port = seen
                    .header("host")
                    .and_then(|h| h.rsplit_once(':'))
                    .map(|(_, p)| p.to_owned())
                    .unwrap();
                redirect(302, &format!("http://localhost:{port}/landing"))
            }
            _ => json(404, serde_json::json!({"error": "gone"})),
        })
        .await;
        let config = RelayConfig::builder(&server.base)
            .allow_unauthenticated()
            .build()
            .unwrap();
        let summary = http::provision_with(&config, "gw", Some("bearer-y"))
            .await
            .unwrap();
        let seen = server.seen();
        // localhost may resolve to ::1 first, where nothing listens; when
        // it reached us the hop must be a bare GET.
        if let Some(hop) = seen.get(1) {
            assert_eq!(hop.path, "/landing");
            assert_eq!(hop.method, "GET");
            assert_eq!(hop.header("authorization"), None);
            assert!(hop.body.is_empty());
            assert_eq!(
                summary.failures[0].1,
                HttpCallError::Status {
                    status: 404,
                    error: Some("gone".into())
                }
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_loops_and_huge_bodies_are_refused() {
    bounded(async {
        let server = Server::start(|seen| match seen.path.as_str() {
            "/relay/provision" => redirect(307, "/relay/provision"),
            _ => Answer {
                status: 200,
                headers: vec![],
                body: vec![b'x'; 2 * 1024 * 1024],
            },
        })
        .await;
        let config = RelayConfig::builder(&server.base)
            .allow_unauthenticated()
            .build()
            .unwrap();
        let summary = http::provision_with(&config, "gw", Some("t"))
            .await
            .unwrap();
        let HttpCallError::Transport { detail } = &summary.failures[0].1 else {
            panic!("{summary:?}");
        };
        assert!(detail.contains("redirects"), "{detail}");
        assert_eq!(server.seen().len(), 6);

        let request = relay_core::calls::HttpRequest {
            method: relay_core::calls::HttpMethod::Get,
            url: format!("{}/big", server.base),
            headers: vec![],
            body: vec![],
        };
        let err = http::execute(request).await.unwrap_err();
        // Refused from its Content-Length, with a typed error.
        assert!(
            matches!(
                &err,
                CallError::Http(HttpCallError::TooLarge {
                    size: Some(2_097_152),
                    max: 1_048_576
                })
            ),
            "{err}"
        );
    })
    .await;
}
