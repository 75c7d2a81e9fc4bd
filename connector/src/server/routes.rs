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
use relay_core::message::{MessageEvent, SessionSource};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::model::{Clock, Cmd, Counters, socket_channel};
use super::{call, socket};

/// The response type of every route.
pub(crate) type Resp = Response<Full<Bytes>>;

/// What every request handler shares.
pub(crate) struct Ctx {
    /// Upgraded into a sender held by each socket task, so that shutdown
    /// can wait for the sockets' close.
    pub(crate) live: mpsc::WeakSender<()>,
    pub(crate) cmds: mpsc::Sender<Cmd>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) ws_config: WebSocketConfig,
    pub(crate) socket_limits: socket::SocketLimits,
    pub(crate) max_body_bytes: usize,
    /// Capacity of each socket's queue.
    pub(crate) socket_queue: usize,
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
        "/dev/passthrough" if method == Method::POST => admin::passthrough(req, ctx).await,
        "/dev/interrupt" if method == Method::POST => admin::interrupt(req, ctx).await,
        "/dev/bind" if method == Method::POST => admin::bind(req, ctx).await,
        "/dev/capability" if method == Method::POST => admin::capability(req, ctx).await,
        "/dev/descriptor" if method == Method::POST => admin::descriptor(req, ctx).await,
        "/dev/log" if method == Method::GET => admin::log(ctx).await,
        "/dev/inbound" | "/dev/revoke" | "/dev/stats" | "/dev/passthrough" | "/dev/interrupt"
        | "/dev/bind" | "/dev/capability" | "/dev/descriptor" | "/dev/log" => {
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

/// The admin routes that exercise the rest of the protocol: passthrough,
/// interrupts, bindings, capabilities, descriptors and the frame log.
mod admin {
    use std::time::Duration;

    use base64::Engine as _;
    use hyper::Request;
    use hyper::StatusCode;
    use hyper::body::Incoming;
    use relay_core::descriptor::CapabilityDescriptor;
    use relay_core::wire::PassthroughForward;
    use serde_json::{Map, Value, json};

    use super::{Ctx, Resp, call, delivery_json, error, json_response, read_json, stopping};
    use crate::AdminError;
    use crate::observe::Direction;

    /// A 400 answer with `message`.
    fn bad(message: String) -> Resp {
        error(StatusCode::BAD_REQUEST, &message)
    }

    /// A required string field.
    fn string(body: &Map<String, Value>, name: &str) -> Result<String, String> {
        match body.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(format!("missing \"{name}\" (a non-empty string)")),
        }
    }

    /// An optional string field (absent or null: empty).
    fn opt_string(body: &Map<String, Value>, name: &str) -> Result<String, String> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("\"{name}\" is not a string")),
        }
    }

    async fn object(req: Request<Incoming>, ctx: &Ctx) -> Result<Map<String, Value>, Resp> {
        match read_json(req, ctx.max_body_bytes).await? {
            Value::Object(map) => Ok(map),
            _ => Err(error(StatusCode::BAD_REQUEST, "body is not a JSON object")),
        }
    }

    fn admin_error(e: &AdminError) -> Resp {
        let status = match e {
            AdminError::UnknownInstance(_) | AdminError::NoOwner(_) => StatusCode::NOT_FOUND,
            AdminError::OwnerOffline(_) => StatusCode::CONFLICT,
            AdminError::Full => StatusCode::INSUFFICIENT_STORAGE,
        };
        error(status, &e.to_string())
    }

    /// The ordered `[[name, value], ...]` headers of a passthrough body.
    fn headers(body: &Map<String, Value>) -> Result<Vec<(String, String)>, String> {
        let bad = || "\"headers\" must be an array of [name, value] string pairs".to_owned();
        match body.get("headers") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(pairs)) => pairs
                .iter()
                .map(|pair| match pair.as_array().map(Vec::as_slice) {
                    Some([Value::String(k), Value::String(v)]) => Ok((k.clone(), v.clone())),
                    _ => Err(bad()),
                })
                .collect(),
            Some(_) => Err(bad()),
        }
    }

    /// `POST /dev/passthrough {"instance", "platform", "bot_id"?, "method",
    /// "path", "headers": [[name, value], ...], "body_b64"}`.
    pub(super) async fn passthrough(req: Request<Incoming>, ctx: &Ctx) -> Resp {
        let parsed = async {
            let body = object(req, ctx).await?;
            let instance = string(&body, "instance").map_err(bad)?;
            let b64 = opt_string(&body, "body_b64").map_err(bad)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|e| {
                    error(
                        StatusCode::BAD_REQUEST,
                        &format!("\"body_b64\" is not standard base64: {e}"),
                    )
                })?;
            let forward = PassthroughForward {
                platform: string(&body, "platform").map_err(bad)?,
                bot_id: opt_string(&body, "bot_id").map_err(bad)?,
                method: string(&body, "method").map_err(bad)?,
                path: string(&body, "path").map_err(bad)?,
                headers: headers(&body).map_err(bad)?,
                body: bytes,
                ..PassthroughForward::default()
            };
            Ok::<_, Resp>((instance, forward))
        };
        let (instance, forward) = match parsed.await {
            Ok(p) => p,
            Err(resp) => return resp,
        };
        let inst = instance.clone();
        let Some(delivery) = call(&ctx.cmds, move |st| {
            let now = st.now();
            st.connector.deliver_passthrough(&inst, forward, now)
        })
        .await
        else {
            return stopping();
        };
        tracing::info!(%instance, ?delivery, "admin: passthrough delivered");
        json_response(StatusCode::OK, delivery_json(&delivery).to_string())
    }

    /// `POST /dev/interrupt {"session_key", "chat_id"}`.
    pub(super) async fn interrupt(req: Request<Incoming>, ctx: &Ctx) -> Resp {
        let parsed = async {
            let body = object(req, ctx).await?;
            Ok::<_, Resp>((
                string(&body, "session_key").map_err(bad)?,
                opt_string(&body, "chat_id").map_err(bad)?,
            ))
        };
        let (key, chat) = match parsed.await {
            Ok(p) => p,
            Err(resp) => return resp,
        };
        let k = key.clone();
        let Some(outcome) = call(&ctx.cmds, move |st| {
            let now = st.now();
            st.connector.push_interrupt(&k, &chat, now)
        })
        .await
        else {
            return stopping();
        };
        match outcome {
            Ok(session) => {
                tracing::info!(session_key = %key, %session, "admin: interrupt pushed");
                json_response(
                    StatusCode::OK,
                    json!({ "ok": true, "session": session.to_string() }).to_string(),
                )
            }
            Err(e) => admin_error(&e),
        }
    }

    /// `POST /dev/bind {"session_key", "instance"}`.
    pub(super) async fn bind(req: Request<Incoming>, ctx: &Ctx) -> Resp {
        let parsed = async {
            let body = object(req, ctx).await?;
            Ok::<_, Resp>((
                string(&body, "session_key").map_err(bad)?,
                string(&body, "instance").map_err(bad)?,
            ))
        };
        let (key, instance) = match parsed.await {
            Ok(p) => p,
            Err(resp) => return resp,
        };
        let (k, i) = (key.clone(), instance.clone());
        let Some(outcome) = call(&ctx.cmds, move |st| st.connector.bind_instance(&k, &i)).await
        else {
            return stopping();
        };
        match outcome {
            Ok(()) => {
                tracing::info!(session_key = %key, %instance, "admin: session bound");
                json_response(
                    StatusCode::OK,
                    json!({ "ok": true, "session_key": key, "instance": instance }).to_string(),
                )
            }
            Err(e) => admin_error(&e),
        }
    }

    /// `POST /dev/capability {"session_key", "instance", "kind",
    /// "expires_in_secs"?}` grants; `{"session_key", "instance", "revoke":
    /// true}` revokes every capability of the key in the instance's tenant.
    pub(super) async fn capability(req: Request<Incoming>, ctx: &Ctx) -> Resp {
        enum Op {
            Grant(String, Option<Duration>),
            Revoke,
        }
        let parsed = async {
            let body = object(req, ctx).await?;
            let key = string(&body, "session_key").map_err(bad)?;
            let instance = string(&body, "instance").map_err(bad)?;
            let op = match body.get("revoke") {
                Some(Value::Bool(true)) => Op::Revoke,
                None | Some(Value::Null) | Some(Value::Bool(false)) => {
                    let kind = string(&body, "kind").map_err(bad)?;
                    let expires = match body.get("expires_in_secs") {
                        None | Some(Value::Null) => None,
                        Some(v) => match v.as_f64() {
                            Some(secs) if secs.is_finite() && (0.0..=1e9).contains(&secs) => {
                                Some(Duration::from_secs_f64(secs))
                            }
                            _ => {
                                return Err(error(
                                    StatusCode::BAD_REQUEST,
                                    "\"expires_in_secs\" must be a non-negative number",
                                ));
                            }
                        },
                    };
                    Op::Grant(kind, expires)
                }
                Some(_) => {
                    return Err(error(
                        StatusCode::BAD_REQUEST,
                        "\"revoke\" must be a boolean",
                    ));
                }
            };
            Ok::<_, Resp>((key, instance, op))
        };
        let (key, instance, op) = match parsed.await {
            Ok(p) => p,
            Err(resp) => return resp,
        };
        let (k, i) = (key.clone(), instance.clone());
        let Some(outcome) = call(&ctx.cmds, move |st| {
            let now = st.now();
            match op {
                Op::Grant(kind, expires) => {
                    let at = expires.map(|d| now.saturating_add(d));
                    st.connector
                        .grant_instance_capability(&k, &i, &kind, at)
                        .map(|()| json!({ "ok": true, "granted": kind }))
                }
                Op::Revoke => st
                    .connector
                    .revoke_capabilities(&k, &i)
                    .map(|n| json!({ "ok": true, "revoked": n })),
            }
        })
        .await
        else {
            return stopping();
        };
        match outcome {
            Ok(answer) => {
                tracing::info!(session_key = %key, %instance, %answer, "admin: capability");
                json_response(StatusCode::OK, answer.to_string())
            }
            Err(e) => admin_error(&e),
        }
    }

    /// `POST /dev/descriptor {"platform", "descriptor": {...}}`.
    pub(super) async fn descriptor(req: Request<Incoming>, ctx: &Ctx) -> Resp {
        let parsed = async {
            let body = object(req, ctx).await?;
            let platform = string(&body, "platform").map_err(bad)?;
            let Some(raw @ Value::Object(_)) = body.get("descriptor") else {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "missing \"descriptor\" (an object)",
                ));
            };
            let d = CapabilityDescriptor::from_json(raw.to_string().as_bytes())
                .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("invalid descriptor: {e}")))?;
            Ok::<_, Resp>((platform, d))
        };
        let (platform, d) = match parsed.await {
            Ok(p) => p,
            Err(resp) => return resp,
        };
        let p = platform.clone();
        if call(&ctx.cmds, move |st| st.connector.set_descriptor(&p, d))
            .await
            .is_none()
        {
            return stopping();
        }
        tracing::info!(%platform, "admin: descriptor set");
        json_response(
            StatusCode::OK,
            json!({ "ok": true, "platform": platform }).to_string(),
        )
    }

    /// `GET /dev/log`: the model's frame log, oldest first.
    pub(super) async fn log(ctx: &Ctx) -> Resp {
        let Some(entries) = call(&ctx.cmds, |st| {
            st.connector
                .log()
                .entries()
                .map(|e| {
                    json!({
                        "at_ms": e.at.as_millis(),
                        "session": e.session.to_string(),
                        "direction": match e.direction { Direction::In => "in", Direction::Out => "out" },
                        "type": e.frame_type,
                        "text": e.text,
                        "error": e.error,
                    })
                })
                .collect::<Vec<_>>()
        })
        .await
        else {
            return stopping();
        };
        json_response(StatusCode::OK, json!({ "entries": entries }).to_string())
    }
}
