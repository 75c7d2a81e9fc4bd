//! Request bodies in and JSON answers out, shared by every route.

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_json::{Map, Value, json};

use super::ctx::Ctx;
use crate::AdminError;
use crate::server::driver::{Driver, call};

/// The response type of every route.
pub(crate) type Resp = Response<Full<Bytes>>;

/// A request answered with an error: bad input, a refused admin call, or a
/// server that is stopping.
pub(super) struct Failure(Box<Resp>);

impl From<Resp> for Failure {
    fn from(resp: Resp) -> Self {
        Failure(Box::new(resp))
    }
}

/// What an admin route answers: a JSON body with 200, or a failure.
pub(super) type Answer = Result<Value, Failure>;

impl From<AdminError> for Failure {
    fn from(e: AdminError) -> Self {
        let status = match e {
            AdminError::UnknownInstance(_) | AdminError::NoOwner(_) => StatusCode::NOT_FOUND,
            AdminError::OwnerOffline(_) => StatusCode::CONFLICT,
            AdminError::Full => StatusCode::INSUFFICIENT_STORAGE,
        };
        error(status, &e.to_string()).into()
    }
}

/// A 400 failure with `message`.
pub(super) fn bad(message: &str) -> Failure {
    error(StatusCode::BAD_REQUEST, message).into()
}

/// The response for an admin route's answer.
pub(super) fn reply(answer: Answer) -> Resp {
    match answer {
        Ok(body) => json_response(StatusCode::OK, body.to_string()),
        Err(Failure(resp)) => *resp,
    }
}

/// A JSON response.
pub(super) fn json_response(status: StatusCode, body: String) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// `{"error": message}` with `status`.
pub(super) fn error(status: StatusCode, message: &str) -> Resp {
    json_response(status, json!({ "error": message }).to_string())
}

/// The driver task is gone (the server is stopping).
pub(super) fn stopping() -> Resp {
    error(StatusCode::SERVICE_UNAVAILABLE, "server is stopping")
}

/// Runs `f` on the driver task; a stopping server is a failure.
pub(super) async fn run<R: Send + 'static>(
    ctx: &Ctx,
    f: impl FnOnce(&mut Driver) -> R + Send + 'static,
) -> Result<R, Failure> {
    call(&ctx.cmds, f).await.ok_or_else(|| stopping().into())
}

/// Reads the whole body, bounded by `max` bytes (413 beyond).
pub(super) async fn read_body(req: Request<Incoming>, max: usize) -> Result<Bytes, Resp> {
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
pub(super) async fn read_object(
    req: Request<Incoming>,
    ctx: &Ctx,
) -> Result<Map<String, Value>, Failure> {
    let body = read_body(req, ctx.max_body_bytes).await?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad("body is not a JSON object")),
        Err(e) => Err(bad(&format!("invalid JSON body: {e}"))),
    }
}

/// A required string field.
pub(super) fn string(body: &Map<String, Value>, name: &str) -> Result<String, Failure> {
    match body.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(bad(&format!("missing \"{name}\" (a non-empty string)"))),
    }
}

/// An optional string field (absent or null: empty).
pub(super) fn opt_string(body: &Map<String, Value>, name: &str) -> Result<String, Failure> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(bad(&format!("\"{name}\" is not a string"))),
    }
}
