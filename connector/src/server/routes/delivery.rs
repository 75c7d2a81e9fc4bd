//! `POST /dev/inbound` and `POST /dev/passthrough`: what a platform sends a
//! gateway, delivered live or buffered by the model.

use hyper::Request;
use hyper::body::Incoming;
use relay_core::Instant;
use relay_core::message::{MessageEvent, SessionSource};
use relay_core::wire::PassthroughForward;
use serde_json::{Map, Value, json};

use super::ctx::Ctx;
use super::json::{Answer, Failure, bad, opt_string, read_object, run, string};
use crate::{Connector, Delivery};

/// `POST /dev/inbound {"instance": "...", "event": {...}}`.
pub(super) async fn inbound(req: Request<Incoming>, ctx: &Ctx) -> Answer {
    let body = read_object(req, ctx).await?;
    let Some(instance) = body
        .get("instance")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Err(bad("missing \"instance\" (a string)"));
    };
    let Some(event) = body.get("event") else {
        return Err(bad("missing \"event\""));
    };
    let event = parse_event(event).map_err(|message| bad(&message))?;
    deliver(ctx, instance, "inbound", move |c, i, now| {
        c.deliver(i, event, now)
    })
    .await
}

/// `POST /dev/passthrough {"instance", "platform", "bot_id"?, "method",
/// "path", "headers": [[name, value], ...], "body_b64"}`.
pub(super) async fn passthrough(req: Request<Incoming>, ctx: &Ctx) -> Answer {
    let body = read_object(req, ctx).await?;
    let instance = string(&body, "instance")?;
    let b64 = opt_string(&body, "body_b64")?;
    let bytes = data_encoding::BASE64
        .decode(b64.as_bytes())
        .map_err(|e| bad(&format!("\"body_b64\" is not standard base64: {e}")))?;
    let forward = PassthroughForward {
        platform: string(&body, "platform")?,
        bot_id: opt_string(&body, "bot_id")?,
        method: string(&body, "method")?,
        path: string(&body, "path")?,
        headers: headers(&body)?,
        body: bytes,
        ..PassthroughForward::default()
    };
    deliver(ctx, instance, "passthrough", move |c, i, now| {
        c.deliver_passthrough(i, forward, now)
    })
    .await
}

/// Runs the delivery `f` to `instance` on the model and answers how it
/// went; `what` names it in the log.
async fn deliver(
    ctx: &Ctx,
    instance: String,
    what: &'static str,
    f: impl FnOnce(&mut Connector, &str, Instant) -> Delivery + Send + 'static,
) -> Answer {
    let inst = instance.clone();
    let delivery = run(ctx, move |st| {
        let now = st.now();
        f(&mut st.connector, &inst, now)
    })
    .await?;
    tracing::info!(%instance, ?delivery, "admin: {what} delivered");
    Ok(delivery_json(&delivery))
}

/// The event of a `/dev/inbound` body: a full `MessageEvent`, or the
/// minimal `{chat_id, text, platform}` form (used when there is no
/// `source`).
fn parse_event(value: &Value) -> Result<MessageEvent, String> {
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
        chat_id: chat_id.into(),
        ..SessionSource::default()
    };
    if let Some(platform) = field("platform")? {
        source.platform = platform.into();
    }
    Ok(MessageEvent {
        text: field("text")?.unwrap_or_default(),
        source,
        ..MessageEvent::default()
    })
}

/// The ordered `[[name, value], ...]` headers of a passthrough body.
fn headers(body: &Map<String, Value>) -> Result<Vec<(String, String)>, Failure> {
    let malformed = || bad("\"headers\" must be an array of [name, value] string pairs");
    match body.get("headers") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(pairs)) => pairs
            .iter()
            .map(|pair| match pair.as_array().map(Vec::as_slice) {
                Some([Value::String(k), Value::String(v)]) => Ok((k.clone(), v.clone())),
                _ => Err(malformed()),
            })
            .collect(),
        Some(_) => Err(malformed()),
    }
}

/// The JSON description of a delivery outcome.
fn delivery_json(delivery: &Delivery) -> Value {
    match delivery {
        Delivery::Live(session) => json!({ "delivery": "live", "session": session.to_string() }),
        Delivery::Buffered(id) => json!({ "delivery": "buffered", "buffer_id": id.as_str() }),
        Delivery::Dropped => json!({ "delivery": "dropped" }),
    }
}
