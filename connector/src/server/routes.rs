//! The HTTP side: the `/relay` upgrade, the management routes of the model
//! and the `/dev/*` admin API.

use std::convert::Infallible;
use std::sync::Arc;

use crate::{Accept, Delivery};
use async_tungstenite::tungstenite::handshake::derive_accept_key;
use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use relay_core::source::{MessageEvent, SessionSource};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::model::{Clock, Cmd, Counters};
use super::{call, socket};

/// The response type of every route.
pub(crate) type Resp = Response<Full<Bytes>>;

/// What every request handler shares.
pub(crate) struct Ctx {
    pub(crate) cmds: mpsc::Sender<Cmd>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) ws_config: WebSocketConfig,
    pub(crate) max_body_bytes: usize,
}

/// The hyper service function.
pub(crate) async fn handle(req: Request<Incoming>, ctx: Arc<Ctx>) -> Result<Resp, Infallible> {
    Ok(route(req, &ctx).await)
}

async fn route(req: Request<Incoming>, ctx: &Ctx) -> Resp {
    let path = req.uri().path();
    let path = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    }
    .to_owned();
    if wants_websocket(req.headers()) {
        if path != "/relay" {
            tracing::info!(%path, "websocket upgrade refused: not /relay");
            return error(
                StatusCode::BAD_REQUEST,
                "websocket upgrades are served at /relay only",
            );
        }
        return upgrade(req, ctx).await;
    }
    let method = req.method().clone();
    match path.as_str() {
        "/relay" => error(StatusCode::BAD_REQUEST, "expected a websocket upgrade"),
        "/relay/provision" | "/relay/enroll" | "/relay/policy" => management(req, ctx).await,
        "/dev/inbound" if method == Method::POST => inbound(req, ctx).await,
        "/dev/revoke" if method == Method::POST => revoke(req, ctx).await,
        "/dev/stats" if method == Method::GET => stats(ctx).await,
        "/dev/inbound" | "/dev/revoke" | "/dev/stats" => {
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        }
        _ => error(StatusCode::NOT_FOUND, "not found"),
    }
}

/// A JSON response.
fn json_response(status: StatusCode, body: String) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// `{"error": message}` with `status`.
fn error(status: StatusCode, message: &str) -> Resp {
    json_response(status, json!({ "error": message }).to_string())
}

/// The model task is gone (the server is stopping).
fn stopping() -> Resp {
    error(StatusCode::SERVICE_UNAVAILABLE, "server is stopping")
}

/// Whether a header holds `token` in its comma-separated list
/// (case-insensitive).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

fn wants_websocket(headers: &HeaderMap) -> bool {
    has_token(headers, header::UPGRADE, "websocket")
}

async fn upgrade(mut req: Request<Incoming>, ctx: &Ctx) -> Resp {
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
    let answer = call(&ctx.cmds, move |st| {
        let now = st.now();
        match st.connector.accept(&pairs, now, Clock::wall()) {
            Accept::Accepted(session) => {
                let (tx, rx) = mpsc::unbounded_channel();
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
    tokio::spawn(socket::serve(
        session,
        on_upgrade,
        ctx.ws_config,
        rx,
        ctx.cmds.clone(),
        Arc::clone(&ctx.counters),
    ));
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

/// Reads the whole body, bounded by `max` bytes (413 beyond).
async fn read_body(req: Request<Incoming>, max: usize) -> Result<Bytes, Resp> {
    let too_large = || error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    match Limited::new(req.into_body(), max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(_) => Err(error(
            StatusCode::BAD_REQUEST,
            "could not read the request body",
        )),
    }
}

/// Reads a JSON object body.
async fn read_json(req: Request<Incoming>, max: usize) -> Result<Value, Resp> {
    let body = read_body(req, max).await?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(error(StatusCode::BAD_REQUEST, "body is not a JSON object")),
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            &format!("invalid JSON body: {e}"),
        )),
    }
}

/// `/relay/provision`, `/relay/enroll`, `/relay/policy`, answered by the
/// model.
async fn management(req: Request<Incoming>, ctx: &Ctx) -> Resp {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match read_body(req, ctx.max_body_bytes).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let (m, p) = (method.clone(), path.clone());
    let answer = call(&ctx.cmds, move |st| {
        st.connector
            .handle_http(&m, &p, authorization.as_deref(), &body, Clock::wall())
    })
    .await;
    let Some(answer) = answer else {
        return stopping();
    };
    tracing::info!(%method, %path, status = answer.status, "management request");
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, answer.body)
}

/// The event of a `/dev/inbound` body: a full `MessageEvent`, or the
/// minimal `{chat_id, text, platform}` form (used when there is no
/// `source`).
pub(crate) fn parse_event(value: &Value) -> Result<MessageEvent, String> {
    let Value::Object(map) = value else {
        return Err("\"event\" is not an object".to_owned());
    };
    if map.contains_key("source") {
        return serde_json::from_value::<MessageEvent>(value.clone())
            .map_err(|e| format!("invalid event: {e}"));
    }
    let field = |name: &str| -> Result<Option<String>, String> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("\"event.{name}\" is not a string")),
        }
    };
    let chat_id =
        field("chat_id")?.ok_or_else(|| "event needs \"source\" or \"chat_id\"".to_owned())?;
    let mut source = SessionSource {
        chat_id,
        ..SessionSource::default()
    };
    if let Some(platform) = field("platform")? {
        source.platform = platform;
    }
    Ok(MessageEvent {
        text: field("text")?.unwrap_or_default(),
        source,
        ..MessageEvent::default()
    })
}

/// The JSON description of a delivery outcome.
pub(crate) fn delivery_json(delivery: &Delivery) -> Value {
    match delivery {
        Delivery::Live(session) => json!({ "delivery": "live", "session": session.to_string() }),
        Delivery::Buffered(id) => json!({ "delivery": "buffered", "buffer_id": id.as_str() }),
        Delivery::Dropped => json!({ "delivery": "dropped" }),
    }
}

/// `POST /dev/inbound {"instance": "...", "event": {...}}`.
async fn inbound(req: Request<Incoming>, ctx: &Ctx) -> Resp {
    let body = match read_json(req, ctx.max_body_bytes).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let Some(instance) = body
        .get("instance")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return error(StatusCode::BAD_REQUEST, "missing \"instance\" (a string)");
    };
    let Some(event) = body.get("event") else {
        return error(StatusCode::BAD_REQUEST, "missing \"event\"");
    };
    let event = match parse_event(event) {
        Ok(e) => e,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let inst = instance.clone();
    let Some(delivery) = call(&ctx.cmds, move |st| {
        let now = st.now();
        st.connector.deliver(&inst, event, now)
    })
    .await
    else {
        return stopping();
    };
    tracing::info!(%instance, ?delivery, "admin: inbound delivered");
    json_response(StatusCode::OK, delivery_json(&delivery).to_string())
}

/// `POST /dev/revoke {"gateway_id": "..."}`.
async fn revoke(req: Request<Incoming>, ctx: &Ctx) -> Resp {
    let body = match read_json(req, ctx.max_body_bytes).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let Some(id) = body
        .get("gateway_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "missing \"gateway_id\" (a non-empty string)",
        );
    };
    let gw = id.clone();
    let done = call(&ctx.cmds, move |st| {
        let now = st.now();
        st.connector.revoke(&gw, now);
    })
    .await;
    if done.is_none() {
        return stopping();
    }
    tracing::info!(gateway_id = %id, "admin: gateway revoked");
    json_response(
        StatusCode::OK,
        json!({ "ok": true, "gateway_id": id }).to_string(),
    )
}

/// `GET /dev/stats`.
async fn stats(ctx: &Ctx) -> Resp {
    let counters = Arc::clone(&ctx.counters);
    match call(&ctx.cmds, move |st| {
        super::DevServerStats::collect(st, &counters)
    })
    .await
    {
        Some(stats) => json_response(StatusCode::OK, stats.to_json().to_string()),
        None => stopping(),
    }
}
