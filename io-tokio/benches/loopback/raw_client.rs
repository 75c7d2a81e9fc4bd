//! The raw async-tungstenite client rows: JSON encode and decode with
//! serde_json only, decoding into owned strings or, for the zero-copy
//! floor, borrowed ones.

use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use futures_util::StreamExt;

use crate::loopback_frame::{RawInbound, RawInboundRef, chat_id};
use crate::measure::{Frames, Rtt};
use crate::workload::{RTT_WARMUP, RawOutbound, RawResult, RawResultRef, RawSend, send_content};

pub type RawWs = async_tungstenite::WebSocketStream<
    async_tungstenite::tokio::TokioAdapter<tokio::net::TcpStream>,
>;

pub async fn raw_connect(port: u16, config: WebSocketConfig) -> RawWs {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let url = format!("ws://127.0.0.1:{port}/relay");
    async_tungstenite::tokio::client_async_with_config(url, tcp, Some(config))
        .await
        .unwrap()
        .0
}

pub type SmolWs = async_tungstenite::WebSocketStream<smol::net::TcpStream>;

pub async fn raw_connect_smol(port: u16, config: WebSocketConfig) -> SmolWs {
    let tcp = smol::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let url = format!("ws://127.0.0.1:{port}/relay");
    async_tungstenite::client_async_with_config(url, tcp, Some(config))
        .await
        .unwrap()
        .0
}

/// The engine's WebSocket settings (`ClientOptions::default()`): 4 KiB read
/// buffer, no write buffering.
pub fn small_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// The raw client's round trips on any transport; `borrowed`: the result
/// is decoded without copying its strings (the zero-copy floor).
pub async fn raw_rtt<S>(
    ws: &mut async_tungstenite::WebSocketStream<S>,
    iters: usize,
    rtt: &mut Rtt,
    borrowed: bool,
) where
    S: futures_util::AsyncRead + futures_util::AsyncWrite + Unpin,
{
    let content = send_content();
    for i in 0..RTT_WARMUP + iters {
        rtt.mark(i);
        let start = Instant::now();
        let frame = RawOutbound {
            ty: "outbound",
            request_id: format!("{:032x}", i + 1),
            action: RawSend {
                op: "send",
                chat_id: chat_id(),
                content: &content,
                reply_to: None,
                metadata: serde_json::Map::new(),
            },
        };
        let mut text = serde_json::to_string(&frame).unwrap();
        text.push('\n');
        ws.send(Message::text(text)).await.unwrap();
        loop {
            let Some(Ok(Message::Text(reply))) = ws.next().await else {
                continue;
            };
            let json = reply.as_str().trim_end();
            if borrowed {
                let result: RawResultRef<'_> = serde_json::from_str(json).unwrap();
                assert!(result.result.success);
            } else {
                let result: RawResult = serde_json::from_str(json).unwrap();
                assert!(result.result.success);
            }
            break;
        }
        rtt.samples.push(start.elapsed());
    }
    rtt.done();
}

/// The raw client's stream on any transport; `borrowed`: each frame is
/// decoded without copying its strings (the zero-copy floor).
pub async fn raw_stream<S>(
    ws: &mut async_tungstenite::WebSocketStream<S>,
    n: usize,
    borrowed: bool,
) -> (Duration, u64, u64)
where
    S: futures_util::AsyncRead + futures_util::AsyncWrite + Unpin,
{
    // A round trip first, so the server has registered us.
    let probe = r#"{"type":"hello","platform":"telegram","botId":"telegram-bot"}"#;
    ws.send(Message::text(format!("{probe}\n"))).await.unwrap();
    let _descriptor = ws.next().await;
    println!("READY");
    let mut frames = Frames::new(n);
    while frames.more() {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            continue;
        };
        let json = text.as_str().trim_end();
        if borrowed {
            let frame: RawInboundRef<'_> = serde_json::from_str(json).unwrap();
            assert!(!frame.event.text.is_empty());
        } else {
            let frame: RawInbound = serde_json::from_str(json).unwrap();
            assert!(!frame.event.text.is_empty());
        }
        frames.got(true);
    }
    frames.finish()
}

/// One reader task per raw connection, as an idle client holds.
pub async fn raw_idle(mut ws: RawWs) {
    while let Some(Ok(_)) = ws.next().await {}
}
