//! `POST /dev/descriptor`: the descriptor answered to later hellos for a
//! platform.

use hyper::Request;
use hyper::body::Incoming;
use relay_core::descriptor::CapabilityDescriptor;
use serde_json::{Value, json};

use super::ctx::Ctx;
use super::json::{Answer, bad, read_object, run, string};

/// `POST /dev/descriptor {"platform", "descriptor": {...}}`.
pub(super) async fn descriptor(req: Request<Incoming>, ctx: &Ctx) -> Answer {
    let body = read_object(req, ctx).await?;
    let platform = string(&body, "platform")?;
    let Some(raw @ Value::Object(_)) = body.get("descriptor") else {
        return Err(bad("missing \"descriptor\" (an object)"));
    };
    let d = CapabilityDescriptor::from_json(raw.to_string().as_bytes())
        .map_err(|e| bad(&format!("invalid descriptor: {e}")))?;
    let p = platform.clone();
    run(ctx, move |st| st.connector.set_descriptor(&p, d)).await?;
    tracing::info!(%platform, "admin: descriptor set");
    Ok(json!({ "ok": true, "platform": platform }))
}
