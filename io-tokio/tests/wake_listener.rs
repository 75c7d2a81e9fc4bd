//! The wake listener, with a client that is only dialing.

use std::net::SocketAddr;
use std::time::Duration;

use relay_core::config::RelayConfig;
use relay_tokio::RelayClient;
use relay_tokio::wake::WakeListener;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMIT: Duration = Duration::from_secs(20);

/// Sends one raw HTTP/1.1 request; returns the status and the body.
async fn call(addr: SocketAddr, method: &str, path: &str) -> (u16, serde_json::Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

/// A relay URL where nothing listens.
fn nowhere() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("ws://127.0.0.1:{port}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wake_endpoint_answers() {
    tokio::time::timeout(LIMIT, async {
        let config = RelayConfig::builder(nowhere())
            .allow_unauthenticated()
            .build()
            .unwrap();
        let (handle, _events) = RelayClient::start(config);
        let listener = WakeListener::bind("127.0.0.1:0", handle.clone())
            .await
            .unwrap();
        let addr = listener.local_addr();
        assert_eq!(listener.url(), format!("http://{addr}/wake"));

        // Not buffered: the wake is a no-op, and succeeds.
        let (status, body) = call(addr, "GET", "/wake").await;
        assert_eq!(status, 200);
        assert_eq!(body, serde_json::json!({"ok": true}));
        let (status, _) = call(addr, "POST", "/wake?x=1").await;
        assert_eq!(status, 200);

        let (status, body) = call(addr, "GET", "/nope").await;
        assert_eq!(status, 404);
        assert_eq!(body["ok"], false);
        let (status, _) = call(addr, "PUT", "/wake").await;
        assert_eq!(status, 405);

        // A stopped client: the wake fails, with a JSON reason.
        handle.shutdown().await;
        // The driver closes its command channel just after it answers the
        // shutdown; a command sent in between waits for the listener's
        // 10 s wake timeout (still a 503). Let it close first.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (status, body) = call(addr, "GET", "/wake").await;
        assert!(status == 503 || status == 409, "{status}");
        assert_eq!(body["ok"], false);
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));

        listener.shutdown().await;
        // Nothing accepts any more.
        let refused = TcpStream::connect(addr).await;
        assert!(refused.is_err());
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_requests_do_not_stop_the_listener() {
    tokio::time::timeout(LIMIT, async {
        let config = RelayConfig::builder(nowhere())
            .allow_unauthenticated()
            .build()
            .unwrap();
        let (handle, _events) = RelayClient::start(config);
        let listener = WakeListener::bind("127.0.0.1:0", handle).await.unwrap();
        let addr = listener.local_addr();
        for garbage in [&b"\x00\xff garbage\r\n\r\n"[..], b"GET", b""] {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(garbage).await.unwrap();
            stream.shutdown().await.unwrap();
            let mut sink = Vec::new();
            let _ = stream.read_to_end(&mut sink).await;
        }
        let (status, _) = call(addr, "GET", "/wake").await;
        assert_eq!(status, 200);
    })
    .await
    .expect("test timed out");
}
