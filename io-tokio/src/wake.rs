//! The wake listener: a tiny HTTP endpoint the connector pokes to wake a
//! buffered gateway.
//!
//! While a gateway is buffered (idle, socket closed) the connector keeps its
//! inbound and, when the gateway advertised a wake URL
//! (`GATEWAY_RELAY_WAKE_URL`), sends a payload-free `GET` to it on the first
//! buffered event. [`WakeListener`] serves that URL: `GET /wake` (or
//! `POST /wake`) calls [`RelayHandle::wake`], which re-dials at once when
//! buffered and does nothing otherwise.
//!
//! | request | answer |
//! | --- | --- |
//! | `GET` / `POST /wake` | `200 {"ok":true}` |
//! | the same while the client refuses the command | `409 {"ok":false,"error":"..."}` |
//! | the same once the client stopped (or is too busy to answer) | `503 {"ok":false,"error":"..."}` |
//! | another method on `/wake` | `405` |
//! | any other path | `404` |
//!
//! The endpoint takes no input and reveals nothing but whether the client
//! runs, so it needs no authentication: the worst a stranger can do is make
//! a buffered gateway reconnect early.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;

use relay_engine::{ClientError, RelayHandle};

/// The path the listener serves.
pub const WAKE_PATH: &str = "/wake";

/// Most connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 64;

/// How long a client may take to send its request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one connection may last in all.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a wake may wait for the client's driver to answer.
const WAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A running wake endpoint. Dropping it stops accepting connections, as
/// [`WakeListener::shutdown`] does without waiting.
#[derive(Debug)]
pub struct WakeListener {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl WakeListener {
    /// Binds `addr` (port 0 picks a free port) and serves the wake endpoint
    /// for `handle` on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime (as `tokio::spawn` does).
    pub async fn bind(addr: impl ToSocketAddrs, handle: RelayHandle) -> io::Result<WakeListener> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(serve(listener, handle, stopped));
        log::debug!("wake listener bound on {local_addr}");
        Ok(WakeListener {
            local_addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://<local address>/wake`: the URL to advertise as
    /// `GATEWAY_RELAY_WAKE_URL` when the connector reaches this address
    /// directly. Behind a proxy or NAT, or when bound to `0.0.0.0` / `[::]`,
    /// advertise the externally reachable URL instead.
    pub fn url(&self) -> String {
        format!("http://{}{WAKE_PATH}", self.local_addr)
    }

    /// Stops accepting connections and waits until the accept loop has
    /// ended. Connections being served finish on their own (bounded by a
    /// 30 s deadline).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for WakeListener {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The accept loop.
async fn serve(listener: TcpListener, handle: RelayHandle, mut stopped: oneshot::Receiver<()>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            _ = &mut stopped => return,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off briefly.
                log::warn!("wake listener could not accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |request| {
                let handle = handle.clone();
                async move { Ok::<_, Infallible>(answer(&handle, &request).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(CONNECTION_TIMEOUT, connection).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => log::debug!("wake connection from {peer} failed: {e}"),
                Err(_) => log::debug!("wake connection from {peer} timed out"),
            }
        });
    }
}

/// The answer to one request.
async fn answer(handle: &RelayHandle, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.uri().path() != WAKE_PATH {
        return json(
            StatusCode::NOT_FOUND,
            Some("not found; the wake endpoint is /wake"),
        );
    }
    if request.method() != Method::GET && request.method() != Method::POST {
        let mut response = json(
            StatusCode::METHOD_NOT_ALLOWED,
            Some("use GET or POST on /wake"),
        );
        response.headers_mut().insert(
            hyper::header::ALLOW,
            hyper::header::HeaderValue::from_static("GET, POST"),
        );
        return response;
    }
    match tokio::time::timeout(WAKE_TIMEOUT, handle.wake()).await {
        Ok(Ok(())) => {
            log::debug!("woken over HTTP");
            json(StatusCode::OK, None)
        }
        Ok(Err(e @ ClientError::Stopped)) => {
            json(StatusCode::SERVICE_UNAVAILABLE, Some(&e.to_string()))
        }
        Ok(Err(e)) => json(StatusCode::CONFLICT, Some(&e.to_string())),
        Err(_) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            Some("the relay client did not answer in time; retry later"),
        ),
    }
}

/// `{"ok":true}` or `{"ok":false,"error":...}`.
fn json(status: StatusCode, error: Option<&str>) -> Response<Full<Bytes>> {
    let body = match error {
        None => serde_json::json!({ "ok": true }),
        Some(e) => serde_json::json!({ "ok": false, "error": e }),
    };
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
