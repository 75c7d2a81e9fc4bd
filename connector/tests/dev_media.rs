//! The dev server's media routes over real HTTP: authentication, tenant
//! scoping, the 25 MiB cap (declared and streamed), the download's headers
//! and the `media` stats.

use std::collections::BTreeMap;
use std::time::Duration;

use relay_connector::ConnectorConfig;
use relay_connector::server::{ConnectorServer, DevServerConfig};
use relay_core::UnixTime;
use relay_core::auth::mint_token;
use relay_core::calls::MEDIA_MAX_BYTES;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMIT: Duration = Duration::from_secs(30);

fn now() -> UnixTime {
    UnixTime::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

fn bearer(gateway: &str, secret: &str) -> String {
    format!("Bearer {}", mint_token(gateway, secret, 300, now()))
}

async fn server(media_max_objects: usize, media_max_bytes: u64) -> ConnectorServer {
    let mut gateways = BTreeMap::new();
    gateways.insert("gw-a".to_owned(), vec!["sa".to_owned()]);
    gateways.insert("gw-b".to_owned(), vec!["sb".to_owned()]);
    ConnectorServer::start(DevServerConfig {
        connector: ConnectorConfig {
            gateways,
            media_max_objects,
            media_max_bytes,
            ..ConnectorConfig::default()
        },
        ..DevServerConfig::default()
    })
    .await
    .unwrap()
}

/// A response: status, headers (lowercase names), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Sends `head` (request line and headers, without the blank line), then
/// the body: `body` at once, or `chunks` of `chunk` bytes as a chunked
/// body; reads the whole answer.
async fn exchange(addr: &str, head: &str, body: &[u8], chunks: Option<(usize, usize)>) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = head.to_owned();
    match chunks {
        Some(_) => request.push_str("Transfer-Encoding: chunked\r\n"),
        None if !body.is_empty() => {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()))
        }
        None => {}
    }
    request.push_str("Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    if let Some((count, size)) = chunks {
        let chunk = vec![b'z'; size];
        for _ in 0..count {
            let head = format!("{size:x}\r\n");
            if stream.write_all(head.as_bytes()).await.is_err()
                || stream.write_all(&chunk).await.is_err()
                || stream.write_all(b"\r\n").await.is_err()
            {
                break;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
    } else {
        stream.write_all(body).await.unwrap();
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn upload_head(addr: &str, auth: Option<&str>, extra: &str) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!("POST /relay/media HTTP/1.1\r\nHost: {addr}\r\n{auth}{extra}")
}

fn get_head(addr: &str, path: &str, auth: Option<&str>) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}")
}

async fn stats(addr: &str) -> serde_json::Value {
    exchange(addr, &get_head(addr, "/dev/stats", None), b"", None)
        .await
        .json()["media"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_served_back_to_the_tenant_only() {
    tokio::time::timeout(LIMIT, async {
        let server = server(1024, 128 * 1024 * 1024).await;
        let addr = server.http_url()["http://".len()..].to_owned();
        let a = bearer("gw-a", "sa");
        let payload: Vec<u8> = (0..=255).cycle().take(3000).collect();
        let up = exchange(
            &addr,
            &upload_head(
                &addr,
                Some(&a),
                "Content-Type: application/pdf\r\nX-Media-Filename: ../r\"e.pdf\r\n",
            ),
            &payload,
            None,
        )
        .await;
        assert_eq!(up.status, 200, "{}", String::from_utf8_lossy(&up.body));
        let id = up.json()["id"].as_str().unwrap().to_owned();
        assert!(!id.is_empty() && !id.contains('/'));
        let path = format!("/relay/media/{id}");

        let got = exchange(&addr, &get_head(&addr, &path, Some(&a)), b"", None).await;
        assert_eq!(got.status, 200);
        assert_eq!(got.body, payload);
        assert_eq!(got.header("content-type"), Some("application/pdf"));
        assert_eq!(got.header("content-length"), Some("3000"));
        assert_eq!(
            got.header("content-disposition"),
            Some("attachment; filename=\"r_e.pdf\"")
        );
        let none = exchange(&addr, &get_head(&addr, &path, None), b"", None).await;
        assert_eq!(none.status, 401);
        let b = bearer("gw-b", "sb");
        let other = exchange(&addr, &get_head(&addr, &path, Some(&b)), b"", None).await;
        assert_eq!(other.status, 404, "another tenant's object is not found");
        let forged = bearer("gw-a", "wrong");
        let forged = exchange(&addr, &get_head(&addr, &path, Some(&forged)), b"", None).await;
        assert_eq!(forged.status, 401);
        let unknown = exchange(
            &addr,
            &get_head(&addr, "/relay/media/m-nope", Some(&a)),
            b"",
            None,
        )
        .await;
        assert_eq!(unknown.status, 404);

        // Refusals: no bearer, empty, declared over the cap (no body sent:
        // answered from the headers), streamed over the cap.
        let no_auth = exchange(&addr, &upload_head(&addr, None, ""), b"x", None).await;
        assert_eq!(no_auth.status, 401);
        let empty = exchange(
            &addr,
            &upload_head(&addr, Some(&a), "Content-Length: 0\r\n"),
            b"",
            None,
        )
        .await;
        assert_eq!(empty.status, 400);
        let declared = exchange(
            &addr,
            &upload_head(
                &addr,
                Some(&a),
                &format!("Content-Length: {}\r\n", 1u64 << 40),
            ),
            b"",
            None,
        )
        .await;
        assert_eq!(declared.status, 413);
        let streamed = exchange(
            &addr,
            &upload_head(&addr, Some(&a), ""),
            b"",
            Some((27, 1024 * 1024)),
        )
        .await;
        assert_eq!(streamed.status, 413, "a chunked body past 25 MiB");
        let media = stats(&addr).await;
        assert_eq!(media["stored"], 1);
        assert_eq!(media["bytes"], 3000);
        assert_eq!(media["uploads"], 1);
        assert_eq!(media["uploads_refused"], 4);
        assert_eq!(media["downloads"], 1);
        assert_eq!(MEDIA_MAX_BYTES, 26_214_400);
        server.shutdown().await;
    })
    .await
    .expect("within the limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_is_bounded_in_count_and_bytes() {
    tokio::time::timeout(LIMIT, async {
        let server = server(4, 10_000).await;
        let addr = server.http_url()["http://".len()..].to_owned();
        let a = bearer("gw-a", "sa");
        let mut ids = Vec::new();
        for _ in 0..12 {
            let up = exchange(&addr, &upload_head(&addr, Some(&a), ""), &[1u8; 3000], None).await;
            assert_eq!(up.status, 200);
            ids.push(up.json()["id"].as_str().unwrap().to_owned());
            let media = stats(&addr).await;
            assert!(media["stored"].as_u64().unwrap() <= 3, "{media}");
            assert!(media["bytes"].as_u64().unwrap() <= 10_000, "{media}");
        }
        let first = format!("/relay/media/{}", ids[0]);
        let gone = exchange(&addr, &get_head(&addr, &first, Some(&a)), b"", None).await;
        assert_eq!(gone.status, 404, "the oldest made room");
        let last = format!("/relay/media/{}", ids[11]);
        let kept = exchange(&addr, &get_head(&addr, &last, Some(&a)), b"", None).await;
        assert_eq!(kept.status, 200);
        assert_eq!(stats(&addr).await["evicted"], 9);
        server.shutdown().await;
    })
    .await
    .expect("within the limit");
}
