//! The servers of the `serve` mode: the dev `ConnectorServer` and a plain
//! async-tungstenite server that serves the raw client and `RelayClient`
//! alike, both told on their stdin when to stream.

use std::io::BufRead;
use std::sync::Arc;

use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use async_tungstenite::tungstenite::{Message, Utf8Bytes};
use futures_util::StreamExt;
use relay_connector::server::ConnectorServer;
use tokio::sync::mpsc;

use crate::runtime::runtime;
use crate::workload::{
    GATEWAYS, SECRET, STREAM_IDS, descriptor_line, inbound_event_numbered, inbound_line_numbered,
};

pub fn serve(kind: &str) {
    let rt = runtime();
    rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        match kind {
            "dev" => serve_dev(&mut rx).await,
            _ => serve_raw(&mut rx).await,
        }
    });
}

pub async fn serve_dev(commands: &mut mpsc::UnboundedReceiver<String>) {
    let mut builder =
        ConnectorServer::builder().connector_config(relay_connector::ConnectorConfig {
            log_capacity: 0,
            ..Default::default()
        });
    for i in 0..GATEWAYS {
        builder = builder.gateway(&format!("gw-{i}"), &[SECRET]);
    }
    let server = builder.start().await.unwrap();
    println!("PORT {}", server.local_addr().port());
    let events: Arc<Vec<_>> = Arc::new((0..STREAM_IDS).map(inbound_event_numbered).collect());
    let mut sent = 0usize;
    while let Some(line) = commands.recv().await {
        let mut words = line.split_whitespace();
        if words.next() == Some("stream") {
            let n: usize = words.next().unwrap().parse().unwrap();
            let instance = server
                .with_model(|c, _| {
                    let s = c.sessions().last().copied();
                    s.and_then(|s| c.instance_of(s).map(str::to_owned))
                })
                .await
                .unwrap()
                .unwrap();
            let mut left = n;
            while left > 0 {
                let chunk = left.min(256);
                left -= chunk;
                let (events, instance) = (events.clone(), instance.clone());
                let first = sent;
                sent += chunk;
                server
                    .with_model(move |c, now| {
                        for i in first..first + chunk {
                            c.deliver(&instance, events[i % STREAM_IDS].clone(), now);
                        }
                    })
                    .await
                    .unwrap();
            }
        }
    }
}

pub async fn serve_raw(commands: &mut mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("PORT {}", listener.local_addr().unwrap().port());
    // The stream order of the latest connection.
    let latest: Arc<std::sync::Mutex<Option<mpsc::UnboundedSender<usize>>>> = Arc::default();
    let accept_latest = latest.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (tx, rx) = mpsc::unbounded_channel();
            *accept_latest.lock().unwrap() = Some(tx);
            tokio::spawn(raw_connection(tcp, rx));
        }
    });
    while let Some(line) = commands.recv().await {
        let mut words = line.split_whitespace();
        if words.next() == Some("stream") {
            let n: usize = words.next().unwrap().parse().unwrap();
            if let Some(tx) = latest.lock().unwrap().as_ref() {
                let _ = tx.send(n);
            }
        }
    }
}

pub async fn raw_connection(
    tcp: tokio::net::TcpStream,
    mut stream_orders: mpsc::UnboundedReceiver<usize>,
) {
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let Ok(mut ws) = async_tungstenite::tokio::accept_async_with_config(tcp, Some(config)).await
    else {
        return;
    };
    let inbound: Vec<Utf8Bytes> = (0..STREAM_IDS)
        .map(|n| Utf8Bytes::from(inbound_line_numbered(n)))
        .collect();
    let descriptor = Utf8Bytes::from(descriptor_line());
    let mut serial: u64 = 0;
    // A newer connection takes over the stream orders; this one stays open.
    let mut orders_open = true;
    loop {
        tokio::select! {
            msg = ws.next() => {
                let Some(Ok(msg)) = msg else { return };
                let Message::Text(text) = msg else { continue };
                for line in text.as_str().lines() {
                    if std::env::var_os("LOOPBACK_DEBUG").is_some() {
                        eprintln!("server got: {line}");
                    }
                    let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else { continue };
                    let reply = match value.get("type").and_then(|t| t.as_str()) {
                        Some("hello") => descriptor.clone(),
                        Some("outbound") => {
                            serial += 1;
                            let reply = serde_json::json!({
                                "type": "outbound_result",
                                "requestId": value.get("requestId"),
                                "result": {"success": true, "message_id": format!("msg-{serial:016x}")},
                            });
                            let mut text = serde_json::to_string(&reply).unwrap();
                            text.push('\n');
                            Utf8Bytes::from(text)
                        }
                        _ => continue,
                    };
                    if ws.send(Message::Text(reply)).await.is_err() {
                        return;
                    }
                }
            }
            order = stream_orders.recv(), if orders_open => {
                let Some(n) = order else {
                    orders_open = false;
                    continue;
                };
                for i in 0..n {
                    let frame = inbound[i % STREAM_IDS].clone();
                    if ws.send(Message::Text(frame)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
