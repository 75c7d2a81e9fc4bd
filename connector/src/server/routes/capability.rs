//! `POST /dev/capability`: granting and revoking the capabilities a
//! gateway's `follow_up` needs.

use std::time::Duration;

use hyper::Request;
use hyper::body::Incoming;
use serde_json::{Map, Value, json};

use super::ctx::Ctx;
use super::json::{Answer, Failure, bad, read_object, run, string};

/// What a capability call asks for.
enum Op {
    /// A capability of this kind, expiring after this long (`None`: never).
    Grant(String, Option<Duration>),
    /// Revoke every capability of the key in the instance's tenant.
    Revoke,
}

/// `POST /dev/capability {"session_key", "instance", "kind",
/// "expires_in_secs"?}` grants; `{"session_key", "instance", "revoke":
/// true}` revokes every capability of the key in the instance's tenant.
pub(super) async fn capability(req: Request<Incoming>, ctx: &Ctx) -> Answer {
    let body = read_object(req, ctx).await?;
    let key = string(&body, "session_key")?;
    let instance = string(&body, "instance")?;
    let op = op(&body)?;
    let (k, i) = (key.clone(), instance.clone());
    let answer = run(ctx, move |st| {
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
    .await??;
    tracing::info!(session_key = %key, %instance, %answer, "admin: capability");
    Ok(answer)
}

/// The grant or revocation a body asks for.
fn op(body: &Map<String, Value>) -> Result<Op, Failure> {
    match body.get("revoke") {
        Some(Value::Bool(true)) => Ok(Op::Revoke),
        None | Some(Value::Null) | Some(Value::Bool(false)) => {
            let kind = string(body, "kind")?;
            let expires = match body.get("expires_in_secs") {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_f64() {
                    Some(secs) if secs.is_finite() && (0.0..=1e9).contains(&secs) => {
                        Some(Duration::from_secs_f64(secs))
                    }
                    _ => return Err(bad("\"expires_in_secs\" must be a non-negative number")),
                },
            };
            Ok(Op::Grant(kind, expires))
        }
        Some(_) => Err(bad("\"revoke\" must be a boolean")),
    }
}
