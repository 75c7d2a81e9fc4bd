//! `POST /relay/provision`, `/relay/enroll` and `/relay/policy`: the
//! request is handed to the model's management calls as it came.

use hyper::body::Incoming;
use hyper::header;
use hyper::{Request, StatusCode};
use relay_engine::Clock;

use super::ctx::Ctx;
use super::json::{Resp, json_response, read_body, stopping};
use crate::server::driver::call;

/// `/relay/provision`, `/relay/enroll`, `/relay/policy`, answered by the
/// model.
pub(super) async fn management(req: Request<Incoming>, ctx: &Ctx) -> Resp {
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
