//! `POST /dev/revoke`: the connector revokes a gateway.

use hyper::Request;
use hyper::body::Incoming;
use serde_json::json;

use super::ctx::Ctx;
use super::json::{Answer, read_object, run, string};

/// `POST /dev/revoke {"gateway_id": "..."}`.
pub(super) async fn revoke(req: Request<Incoming>, ctx: &Ctx) -> Answer {
    let body = read_object(req, ctx).await?;
    let id = string(&body, "gateway_id")?;
    let gw = id.clone();
    run(ctx, move |st| {
        let now = st.now();
        st.connector.revoke(&gw, now);
    })
    .await?;
    tracing::info!(gateway_id = %id, "admin: gateway revoked");
    Ok(json!({ "ok": true, "gateway_id": id }))
}
