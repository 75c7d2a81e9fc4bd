//! `POST /dev/decline` and `POST /dev/script`: a target the connector
//! declines, and a one-shot answer (delayed, verbatim or none) for the next
//! matching request.

use std::time::Duration;

use hyper::Request;
use hyper::body::Incoming;
use relay_core::wire::ActionResult;
use serde_json::{Map, Value, json};

use super::ctx::Ctx;
use super::json::{Answer, Failure, bad, read_object, run, string};
use crate::{DeclineRule, Response, Script, ScriptStep};

/// The longest `delay_ms` a script may ask for (one hour).
const MAX_DELAY_MS: u64 = 3_600_000;

/// `POST /dev/decline {"chat_id", "platform"?, "instance"?}`.
pub(super) async fn decline(req: Request<Incoming>, ctx: &Ctx) -> Answer {
    let body = read_object(req, ctx).await?;
    let chat_id = string(&body, "chat_id")?;
    let rule = DeclineRule {
        chat_id: chat_id.clone(),
        platform: optional(&body, "platform")?,
        instance: optional(&body, "instance")?,
    };
    let r = rule.clone();
    run(ctx, move |st| st.connector.decline(r)).await??;
    tracing::info!(?rule, "admin: target declined");
    Ok(json!({ "ok": true, "chat_id": chat_id, "declined": true }))
}

/// `POST /dev/script {"op"?, "delay_ms": N}`, `{"op"?, "result": {...}}` or
/// `{"op"?, "silence": true}`.
pub(super) async fn script(req: Request<Incoming>, ctx: &Ctx) -> Answer {
    let body = read_object(req, ctx).await?;
    let script = Script {
        op: optional(&body, "op")?,
        step: step(&body)?,
    };
    tracing::info!(?script, "admin: script queued");
    let queued = run(ctx, move |st| st.connector.push_script(script)).await??;
    Ok(json!({ "ok": true, "queued": queued }))
}

/// What a script body asks for: exactly one of `delay_ms`, `result` and
/// `silence: true`.
fn step(body: &Map<String, Value>) -> Result<ScriptStep, Failure> {
    let given = |k: &str| body.get(k).is_some_and(|v| !v.is_null());
    let asked = ["delay_ms", "result", "silence"]
        .iter()
        .filter(|k| given(k))
        .count();
    if asked != 1 {
        return Err(bad(
            "give exactly one of \"delay_ms\" (a number), \"result\" (an object) or \"silence\": true",
        ));
    }
    if let Some(v) = body.get("delay_ms").filter(|v| !v.is_null()) {
        let ms = v.as_u64().filter(|ms| *ms <= MAX_DELAY_MS).ok_or_else(|| {
            bad("\"delay_ms\" must be a whole number of milliseconds, at most 3600000")
        })?;
        return Ok(ScriptStep::DelayDefault(Duration::from_millis(ms)));
    }
    if let Some(v) = body.get("result").filter(|v| !v.is_null()) {
        if !v.is_object() {
            return Err(bad("\"result\" must be an object"));
        }
        let result: ActionResult = serde_json::from_value(v.clone())
            .map_err(|e| bad(&format!("invalid \"result\": {e}")))?;
        return Ok(ScriptStep::Respond(Box::new(Response::Reply(result))));
    }
    match body.get("silence") {
        Some(Value::Bool(true)) => Ok(ScriptStep::Respond(Box::new(Response::Silence))),
        _ => Err(bad("\"silence\" must be true")),
    }
}

/// An optional non-empty string field (absent or null: `None`).
fn optional(body: &Map<String, Value>, name: &str) -> Result<Option<String>, Failure> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(bad(&format!("\"{name}\" must be a non-empty string"))),
    }
}
