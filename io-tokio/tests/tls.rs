//! `wss://` end to end: a TLS-terminating proxy (rustls, a self-signed
//! certificate for `localhost`) in front of the dev connector, and a client
//! that trusts that certificate through `ClientOptions::tls`. A client with
//! the default webpki roots must refuse the same server.

use std::sync::Arc;
use std::time::Duration;

use async_tungstenite::tokio::TokioAdapter;
use futures_util::io::AsyncReadExt;
use relay_connector::server::ConnectorServer;
use relay_core::config::{RelayConfig, Timeouts};
use relay_core::{Event, State};
use relay_tokio::relay_engine::rustls;
use relay_tokio::{ClientOptions, Events, RelayClient};

const GATEWAY: &str = "gw-tls";
const SECRET: &str = "tls-secret";

/// Accepts TLS on a loopback port and pipes each connection to `upstream`.
async fn tls_proxy(upstream: std::net::SocketAddr, server: Arc<rustls::ServerConfig>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = futures_rustls::TlsAcceptor::from(server);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(TokioAdapter::new(tcp)).await else {
                    return;
                };
                let Ok(up) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (tls_read, mut tls_write) = tls.split();
                let (up_read, mut up_write) = TokioAdapter::new(up).split();
                let _ = futures_util::future::select(
                    futures_util::io::copy(tls_read, &mut up_write),
                    futures_util::io::copy(up_read, &mut tls_write),
                )
                .await;
            });
        }
    });
    port
}

async fn until(events: &mut Events, pred: impl Fn(&Event) -> bool) -> Option<Event> {
    let wait = async {
        while let Some(event) = events.next_event().await {
            if pred(&event) {
                return Some(event);
            }
        }
        None
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .ok()
        .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_with_a_trusted_certificate_serves_and_an_untrusted_one_is_refused() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = ConnectorServer::builder()
        .gateway(GATEWAY, &[SECRET])
        .start()
        .await
        .unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_der = cert.cert.der().clone();
    let key_der =
        rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    let server_tls = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key_der)
        .unwrap();
    let port = tls_proxy(server.local_addr(), Arc::new(server_tls)).await;

    let config = RelayConfig::builder(format!("wss://localhost:{port}"))
        .identity("telegram", "bot")
        .gateway_id(GATEWAY)
        .secret(SECRET)
        .timeouts(Timeouts {
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_millis(100),
            ..Timeouts::default()
        })
        .build()
        .unwrap();

    // Trusting the self-signed certificate: a full handshake and a request.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der).unwrap();
    let client_tls = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let options = ClientOptions {
        tls: Some(Arc::new(client_tls)),
        ..ClientOptions::default()
    };
    let (handle, mut events) = RelayClient::start_with(config.clone(), options);
    until(&mut events, |e| {
        matches!(
            e,
            Event::StateChanged {
                to: State::Serving,
                ..
            }
        )
    })
    .await
    .expect("serving over wss");
    let result = handle.send_text("chat", "over TLS").await.expect("result");
    assert!(result.success);
    handle.shutdown().await;

    // The default roots do not know this certificate: every dial fails, none
    // is ever upgraded.
    let upgrades = server.upgrade_count();
    let (handle, mut events) = RelayClient::start(config);
    let scheduled = until(
        &mut events,
        |e| matches!(e, Event::DialScheduled { attempt, .. } if *attempt >= 2),
    )
    .await;
    assert!(scheduled.is_some(), "the dial is retried, not accepted");
    assert_eq!(handle.state().await, Ok(State::Dialing));
    assert_eq!(
        server.upgrade_count(),
        upgrades,
        "no upgrade behind a refused certificate"
    );
    handle.shutdown().await;
}
