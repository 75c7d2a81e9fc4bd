//! `GET /relay` with WebSocket upgrade headers: the handshake is checked
//! here, the model accepts or refuses, and an accepted socket is handed to
//! its own task.

use std::sync::Arc;

use async_tungstenite::tungstenite::handshake::derive_accept_key;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use relay_engine::Clock;

use super::ctx::Ctx;
use super::json::{Resp, error, stopping};
use crate::Accept;
use crate::server::driver::call;
use crate::server::queue::socket_channel;
use crate::server::socket;
use crate::server::stats::Counters;

/// Whether a header holds `token` in its comma-separated list
/// (case-insensitive).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// Whether the request asks for a WebSocket upgrade.
pub(super) fn wants_websocket(headers: &HeaderMap) -> bool {
    has_token(headers, header::UPGRADE, "websocket")
}

/// Checks the handshake, lets the model accept or refuse, and hands an
/// accepted socket to its task.
pub(super) async fn upgrade(mut req: Request<Incoming>, ctx: &Ctx) -> Resp {
    Counters::bump(&ctx.counters.upgrades_attempted);
    let headers = req.headers();
    let version_ok = headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v.as_bytes() == b"13");
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .map(HeaderValue::as_bytes);
    let valid = req.method() == Method::GET
        && has_token(headers, header::CONNECTION, "upgrade")
        && version_ok;
    let Some(key) = key.filter(|_| valid) else {
        Counters::bump(&ctx.counters.upgrades_rejected);
        tracing::info!("websocket upgrade refused: malformed handshake");
        return error(StatusCode::BAD_REQUEST, "malformed websocket handshake");
    };
    let accept_key = derive_accept_key(key);
    // Header values that are not text cannot carry a token; skip them.
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let capacity = ctx.socket_queue;
    let answer = call(&ctx.cmds, move |st| {
        let now = st.now();
        match st.connector.accept(&pairs, now, Clock::wall()) {
            Accept::Accepted(session) => {
                let (tx, rx) = socket_channel(capacity);
                st.sockets.insert(session, tx);
                Ok((session, rx))
            }
            Accept::RejectHttp { status } => Err(status),
        }
    })
    .await;
    let (session, rx) = match answer {
        None => return stopping(),
        Some(Err(status)) => {
            Counters::bump(&ctx.counters.upgrades_rejected);
            tracing::info!(status, "websocket upgrade refused");
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED);
            return error(status, status.canonical_reason().unwrap_or("refused"));
        }
        Some(Ok(accepted)) => accepted,
    };
    Counters::bump(&ctx.counters.upgrades_accepted);
    tracing::info!(%session, "websocket upgrade accepted");
    let on_upgrade = hyper::upgrade::on(&mut req);
    let live = ctx.live.upgrade();
    let serve = socket::serve(
        session,
        on_upgrade,
        ctx.ws_config,
        ctx.socket_limits,
        rx,
        ctx.cmds.clone(),
        Arc::clone(&ctx.counters),
    );
    tokio::spawn(async move {
        let _live = live;
        serve.await;
    });
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept_key) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    resp
}
