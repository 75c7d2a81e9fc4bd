//! The media calls, the ambient identity token and the boot sequence
//! against raw HTTP/1.1 servers on 127.0.0.1, including servers that lie
//! about or omit `Content-Length`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use relay_core::UnixTime;
use relay_core::auth::verify_token;
use relay_core::calls::{HttpCallError, MEDIA_MAX_BYTES};
use relay_core::config::{IdpConfig, RelayConfig};
use relay_tokio::http::{self, CallError};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const LIMIT: Duration = Duration::from_secs(30);

/// One request as the server read it.
#[derive(Clone, Debug, Default)]
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
}

/// What the server answers: a head (status line and headers, written as
/// is), then `body_len` bytes of `b'x'` in 64 KiB chunks (or `body`).
#[derive(Clone)]
struct Reply {
    head: String,
    body: Vec<u8>,
    body_len: usize,
}

/// A server answering every connection with `reply(&seen)`; records what it
/// read and how many body bytes it managed to write.
struct Server {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    written: Arc<Mutex<usize>>,
}

impl Server {
    async fn start(reply: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let written = Arc::new(Mutex::new(0));
        let reply = Arc::new(reply);
        let (record, count) = (seen.clone(), written.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (reply, record, count) = (reply.clone(), record.clone(), count.clone());
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let mut seen = Seen {
                        method: parts.next().unwrap_or_default().to_owned(),
                        path: parts.next().unwrap_or_default().to_owned(),
                        ..Seen::default()
                    };
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).await.unwrap_or(0) == 0 {
                            break;
                        }
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((n, v)) = h.split_once(':') {
                            seen.headers
                                .push((n.trim().to_owned(), v.trim().to_owned()));
                        }
                    }
                    let len = seen
                        .header("content-length")
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    seen.body = vec![0; len];
                    if reader.read_exact(&mut seen.body).await.is_err() {
                        return;
                    }
                    let answer = reply(&seen);
                    record.lock().unwrap().push(seen);
                    let mut stream = reader.into_inner();
                    if stream.write_all(answer.head.as_bytes()).await.is_err() {
                        return;
                    }
                    if !answer.body.is_empty() {
                        let _ = stream.write_all(&answer.body).await;
                    }
                    let chunk = vec![b'x'; 64 * 1024];
                    let mut left = answer.body_len;
                    while left > 0 {
                        let n = left.min(chunk.len());
                        if stream.write_all(&chunk[..n]).await.is_err() {
                            break;
                        }
                        *count.lock().unwrap() += n;
                        left -= n;
                    }
                    let _ = stream.shutdown().await;
                });
            }
        });
        Server {
            base,
            seen,
            written,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn written(&self) -> usize {
        *self.written.lock().unwrap()
    }
}

fn json_reply(status: u16, body: &str) -> Reply {
    Reply {
        head: format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ),
        body: body.as_bytes().to_vec(),
        body_len: 0,
    }
}

fn config(base: &str) -> RelayConfig {
    RelayConfig::builder(format!("{base}/relay"))
        .gateway_id("gw-media")
        .secret("media-secret")
        .build()
        .unwrap()
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test timed out")
}

fn too_large(e: &CallError) -> bool {
    matches!(e, CallError::Http(HttpCallError::TooLarge { .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_sends_the_bytes_with_a_fresh_bearer_and_names_the_reference() {
    bounded(async {
        let server = Server::start(|_| json_reply(200, r#"{"id":"m-42"}"#)).await;
        let config = config(&server.base);
        let bytes: Vec<u8> = (0..=255).collect();
        let media = http::upload_media(&config, bytes.clone(), None, Some("../dir/report.pdf"))
            .await
            .unwrap();
        assert_eq!(media.id, "m-42");
        assert_eq!(media.url, format!("{}/relay/media/m-42", server.base));
        let seen = server.seen();
        assert_eq!(seen.len(), 1);
        let request = &seen[0];
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("POST", "/relay/media")
        );
        assert_eq!(request.body, bytes, "the body is the file, byte for byte");
        assert_eq!(request.header("content-type"), Some("application/pdf"));
        assert_eq!(request.header("x-media-filename"), Some("report.pdf"));
        let token = request
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .expect("a bearer");
        let now = UnixTime::from_secs(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        );
        assert_eq!(
            verify_token(token, &["media-secret"], now).as_deref(),
            Ok("gw-media"),
            "the bearer is an upgrade token of the gateway"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_the_cap_or_empty_are_refused_before_sending() {
    bounded(async {
        let server = Server::start(|_| json_reply(200, r#"{"id":"m"}"#)).await;
        let config = config(&server.base);
        let over = vec![0u8; MEDIA_MAX_BYTES as usize + 1];
        let err = http::upload_media(&config, over, None, None)
            .await
            .unwrap_err();
        assert!(too_large(&err), "{err}");
        let err = http::upload_media(&config, Vec::new(), None, None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, CallError::Http(HttpCallError::MediaEmpty)),
            "{err}"
        );
        assert!(server.seen().is_empty(), "nothing was sent");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_reads_the_object_with_its_type_and_name() {
    bounded(async {
        let server = Server::start(|_| Reply {
            head: "HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: 5\r\nContent-Disposition: attachment; filename=\"../../x.pdf\"\r\nConnection: close\r\n\r\n".to_owned(),
            body: b"%PDF-".to_vec(),
            body_len: 0,
        })
        .await;
        let config = config(&server.base);
        let url = format!("{}/relay/media/m-1", server.base);
        let object = http::download_media(&config, &url).await.unwrap();
        assert_eq!(object.bytes, b"%PDF-");
        assert_eq!(object.content_type.as_deref(), Some("application/pdf"));
        assert_eq!(object.filename.as_deref(), Some("x.pdf"), "a safe base name");
        let seen = server.seen();
        assert!(
            seen[0].header("authorization").is_some(),
            "the connector's own media URL gets the bearer"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_elsewhere_never_gets_the_bearer() {
    bounded(async {
        let cdn = Server::start(|_| Reply {
            head: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n".to_owned(),
            body: b"ok".to_vec(),
            body_len: 0,
        })
        .await;
        // The connector is elsewhere; the URL merely looks like a media URL.
        let config = config("http://127.0.0.1:9");
        let url = format!("{}/relay/media/m-1", cdn.base);
        let object = http::download_media(&config, &url).await.unwrap();
        assert_eq!(object.bytes, b"ok");
        assert_eq!(cdn.seen()[0].header("authorization"), None);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_length_over_the_cap_is_refused_before_the_body_is_read() {
    bounded(async {
        // Declares 1 GiB and sends 8 MiB: the client must not wait for it.
        let server = Server::start(|_| Reply {
            head: "HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n".to_owned(),
            body: Vec::new(),
            body_len: 8 * 1024 * 1024,
        })
        .await;
        let config = config(&server.base);
        let started = Instant::now();
        let err = http::download_media(&config, &format!("{}/relay/media/m", server.base))
            .await
            .unwrap_err();
        assert!(too_large(&err), "{err}");
        assert!(
            err.to_string().contains("1073741824 bytes"),
            "says what was declared: {err}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_without_length_past_the_cap_is_cut_off() {
    bounded(async {
        // No Content-Length: the body runs until the server closes, 40 MiB.
        let server = Server::start(|_| Reply {
            head: "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n\r\n"
                .to_owned(),
            body: Vec::new(),
            body_len: 40 * 1024 * 1024,
        })
        .await;
        let config = config(&server.base);
        let err = http::download_media(&config, &format!("{}/relay/media/m", server.base))
            .await
            .unwrap_err();
        assert!(too_large(&err), "{err}");
        assert!(
            server.written() < 40 * 1024 * 1024,
            "the client stopped reading: the server could not write it all"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_past_the_cap_is_cut_off() {
    bounded(async {
        // A chunked body that never ends before 30 MiB.
        let server = Server::start(|_| {
            let chunk = "x".repeat(1024 * 1024);
            let mut body = String::new();
            for _ in 0..30 {
                body.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
            }
            body.push_str("0\r\n\r\n");
            Reply {
                head: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    .to_owned(),
                body: body.into_bytes(),
                body_len: 0,
            }
        })
        .await;
        let config = config(&server.base);
        let err = http::download_media(&config, &format!("{}/relay/media/m", server.base))
            .await
            .unwrap_err();
        assert!(too_large(&err), "{err}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_length_understating_the_body_reads_only_what_was_declared() {
    bounded(async {
        // Declares 4 bytes, then sends 30 MiB: only the 4 declared count.
        let server = Server::start(|_| Reply {
            head: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n".to_owned(),
            body: Vec::new(),
            body_len: 30 * 1024 * 1024,
        })
        .await;
        let config = config(&server.base);
        let object = http::download_media(&config, &format!("{}/relay/media/m", server.base))
            .await
            .unwrap();
        assert_eq!(object.bytes, b"xxxx");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_identity_token_comes_from_an_ambient_endpoint() {
    bounded(async {
        let jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln";
        let server = Server::start(move |seen| match seen.path.as_str() {
            "/raw" => json_reply(200, &format!("  {jwt}\n")),
            "/envelope" => json_reply(200, r#"{"access_token":" abc+/= "}"#),
            "/word" => json_reply(200, "unauthorized"),
            "/huge" => Reply {
                head: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_owned(),
                body: Vec::new(),
                body_len: 1024 * 1024,
            },
            _ => json_reply(404, "{}"),
        })
        .await;
        let with = |path: &str| {
            RelayConfig::builder(&server.base)
                .idp(IdpConfig::ambient(format!("{}{path}", server.base)))
                .allow_unauthenticated()
                .build()
                .unwrap()
        };
        assert_eq!(
            http::identity_token(&with("/raw"), None).await.unwrap(),
            jwt
        );
        assert_eq!(
            http::identity_token(&with("/envelope"), None)
                .await
                .unwrap(),
            "abc+/=",
            "no shape gate on a JSON envelope"
        );
        let err = http::identity_token(&with("/word"), None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, CallError::Http(HttpCallError::IdentityProvider { .. })),
            "{err}"
        );
        assert!(
            !err.to_string().contains("unauthorized"),
            "the body is never quoted: {err}"
        );
        let err = http::identity_token(&with("/huge"), None)
            .await
            .unwrap_err();
        assert!(too_large(&err), "a body past 64 KiB is cut off: {err}");
        let err = http::identity_token(&with("/missing"), None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("HTTP 404"), "{err}");
        let seen = server.seen();
        assert!(seen.iter().all(|s| s.method == "GET"), "a plain GET");
        assert_eq!(
            seen[0].header("accept"),
            Some("application/json, text/plain")
        );
        assert_eq!(seen[0].header("authorization"), None);
    })
    .await;
}

fn seen_json(seen: &Seen) -> serde_json::Value {
    serde_json::from_slice(&seen.body).unwrap_or(serde_json::Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_provisions_tolerating_a_failing_platform_then_declares_policies() {
    use relay_core::config::RelevanceSettings;
    use relay_tokio::http::{BootProvision, PolicyStatus};
    bounded(async {
        let jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln";
        let server = Server::start(move |seen| match seen.path.as_str() {
            "/ambient" => json_reply(200, jwt),
            "/relay/provision" => match seen_json(seen)["platform"].as_str() {
                Some("telegram") => json_reply(503, r#"{"error":"later"}"#),
                _ => json_reply(
                    200,
                    r#"{"secret":"issued-s","deliveryKey":"issued-dk","gatewayId":"gw-issued"}"#,
                ),
            },
            "/relay/policy" => json_reply(200, "{}"),
            _ => json_reply(404, "{}"),
        })
        .await;
        let config = RelayConfig::builder(format!("{}/relay", server.base))
            .identity("telegram", "tg")
            .identity("discord", "dc")
            .gateway_id("gw-mine")
            .display_name("  Ops  ")
            .idp(IdpConfig::ambient(format!("{}/ambient", server.base)))
            .relevance(
                "telegram",
                RelevanceSettings {
                    require_mention: Some(false),
                    ..RelevanceSettings::default()
                },
            )
            .allow_unauthenticated()
            .build()
            .unwrap();
        let outcome = http::boot(config, None).await.unwrap();
        let BootProvision::Provisioned(summary) = &outcome.provision else {
            panic!("{:?}", outcome.provision);
        };
        assert_eq!(summary.failures.len(), 1, "telegram failed, tolerated");
        assert_eq!(outcome.config.gateway_id.as_deref(), Some("gw-issued"));
        assert_eq!(outcome.config.secret.as_deref(), Some("issued-s"));
        assert_eq!(outcome.config.delivery_key.as_deref(), Some("issued-dk"));
        assert!(
            matches!(outcome.policies[0], (ref p, PolicyStatus::Accepted(_)) if p == "telegram")
        );
        assert!(
            matches!(outcome.policies[1], (ref p, PolicyStatus::NothingToDeclare) if p == "discord")
        );

        let seen = server.seen();
        let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/ambient",
                "/relay/provision",
                "/relay/provision",
                "/relay/policy"
            ]
        );
        for provision in &seen[1..3] {
            assert_eq!(
                provision.header("authorization"),
                Some(&*format!("Bearer {jwt}"))
            );
            let body = seen_json(provision);
            assert_eq!(body["displayName"], "Ops");
            assert_eq!(body["gatewayId"], "gw-mine");
        }
        let policy = &seen[3];
        assert_eq!(
            seen_json(policy),
            serde_json::json!({"platform": "telegram", "requireAddress": false,
                               "freeResponseScopes": [], "allowOtherBots": false})
        );
        // The policy is authenticated with the credentials just issued.
        let token = policy
            .header("authorization")
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap();
        let now = UnixTime::from_secs(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        );
        assert_eq!(
            verify_token(token, &["issued-s"], now).as_deref(),
            Ok("gw-issued")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_keeps_a_pinned_secret_and_never_blocks_the_start() {
    use relay_core::config::RelevanceSettings;
    use relay_tokio::http::{BootProvision, PolicyStatus};
    bounded(async {
        let server = Server::start(|seen| match seen.path.as_str() {
            "/relay/policy" => json_reply(201, "{}"),
            "/relay/provision" => json_reply(200, r#"{"secretIssued": false}"#),
            _ => json_reply(404, "{}"),
        })
        .await;
        let relevance = RelevanceSettings {
            require_mention: Some(true),
            ..RelevanceSettings::default()
        };
        // A pinned secret: nothing provisioned; the policy's 201 is a failure.
        let pinned = RelayConfig::builder(&server.base)
            .identity("slack", "")
            .gateway_id("gw-p")
            .secret("pinned")
            .relevance("slack", relevance.clone())
            .build()
            .unwrap();
        let outcome = http::boot(pinned.clone(), Some("id-token")).await.unwrap();
        assert!(matches!(outcome.provision, BootProvision::SecretPinned));
        assert_eq!(
            outcome.config, pinned,
            "the pinned configuration is kept as is"
        );
        assert!(matches!(outcome.policies[0].1, PolicyStatus::Failed(..)));
        assert!(server.seen().iter().all(|s| s.path != "/relay/provision"));

        // No identity at all: reported, the start goes on without credentials.
        let bare = RelayConfig::builder(&server.base)
            .identity("slack", "")
            .relevance("slack", relevance)
            .allow_unauthenticated()
            .build()
            .unwrap();
        let outcome = http::boot(bare.clone(), None).await.unwrap();
        assert!(matches!(
            outcome.provision,
            BootProvision::NoIdentityToken(_)
        ));
        assert!(matches!(outcome.policies[0].1, PolicyStatus::NoCredentials));
        assert!(!outcome.has_credentials());

        // secretIssued: false everywhere: recorded, no credentials.
        let outcome = http::boot(bare, Some("id-token")).await.unwrap();
        let BootProvision::Provisioned(summary) = &outcome.provision else {
            panic!("{:?}", outcome.provision);
        };
        assert_eq!(summary.not_issued, vec!["slack".to_owned()]);
        assert!(summary.credentials.is_none() && !outcome.has_credentials());
    })
    .await;
}
