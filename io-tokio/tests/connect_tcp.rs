//! The tokio runtime's TCP connect: a name is resolved and its addresses
//! raced (happy eyeballs), so a family that refuses costs nothing.

use std::time::Duration;

use relay_engine::Runtime;
use relay_tokio::TokioRuntime;

#[tokio::test]
async fn a_name_with_a_refusing_family_still_connects() {
    // Listening on IPv4 only: "localhost" may resolve to ::1 first.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accept = tokio::spawn(async move { listener.accept().await.map(|_| ()) });
    let rt = TokioRuntime::from_handle(tokio::runtime::Handle::current());
    let started = std::time::Instant::now();
    let stream = tokio::time::timeout(
        Duration::from_secs(5),
        rt.connect_tcp("localhost".into(), port),
    )
    .await
    .expect("within the bound");
    assert!(stream.is_ok(), "{:?}", stream.err());
    accept.await.expect("task").expect("accepted");
    assert!(started.elapsed() < Duration::from_secs(2));
    let refused = rt.connect_tcp("127.0.0.1".into(), 1).await;
    assert!(refused.is_err(), "nothing listens on port 1");
}
