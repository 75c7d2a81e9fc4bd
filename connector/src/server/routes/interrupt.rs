//! `POST /dev/bind` and `POST /dev/interrupt`: who owns a session key, and
//! a user's stop pushed to that owner.

use hyper::Request;
use hyper::body::Incoming;
use serde_json::json;

use super::ctx::Ctx;
use super::json::{Answer, opt_string, read_object, run, string};

/// `POST /dev/interrupt {"session_key", "chat_id"}`.
pub(super) async fn interrupt(req: Request<Incoming>, ctx: &Ctx) -> Answer {
    let body = read_object(req, ctx).await?;
    let key = string(&body, "session_key")?;
    let chat = opt_string(&body, "chat_id")?;
    let k = key.clone();
    let session = run(ctx, move |st| {
        let now = st.now();
        st.connector.push_interrupt(&k, &chat, now)
    })
    .await??;
    tracing::info!(session_key = %key, %session, "admin: interrupt pushed");
    Ok(json!({ "ok": true, "session": session.to_string() }))
}

/// `POST /dev/bind {"session_key", "instance"}`.
pub(super) async fn bind(req: Request<Incoming>, ctx: &Ctx) -> Answer {
    let body = read_object(req, ctx).await?;
    let key = string(&body, "session_key")?;
    let instance = string(&body, "instance")?;
    let (k, i) = (key.clone(), instance.clone());
    run(ctx, move |st| st.connector.bind_instance(&k, &i)).await??;
    tracing::info!(session_key = %key, %instance, "admin: session bound");
    Ok(json!({ "ok": true, "session_key": key, "instance": instance }))
}
