//! `POST /relay/media` and `GET /relay/media/{id}`: the media plane, kept
//! by the model ([`Connector::media_store`](crate::Connector::media_store)).
//!
//! An upload is authenticated from its headers before any of its body is
//! read; a declared `Content-Length` over 25 MiB is answered 413 from the
//! headers alone, a streamed body is read through the cap, and at most
//! [`MAX_UPLOADS_AT_ONCE`] bodies are read at a time.

use std::sync::Arc;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use relay_core::calls::MEDIA_MAX_BYTES;
use relay_engine::Clock;
use serde_json::json;

use super::ctx::Ctx;
use super::json::{Resp, error, json_response, run};
use crate::MediaRefusal;

/// Upload bodies read at once; more are answered 503 (the memory of the
/// uploads in flight stays under this many times 25 MiB).
pub(crate) const MAX_UPLOADS_AT_ONCE: usize = 4;

/// `/relay/media` (upload) and `/relay/media/{id}` (download).
pub(super) async fn media(req: Request<Incoming>, ctx: &Ctx, path: &str) -> Resp {
    let rest = path.strip_prefix("/relay/media").unwrap_or(path);
    let id = rest
        .strip_prefix('/')
        .filter(|id| !id.is_empty() && !id.contains('/'));
    match (req.method(), rest, id) {
        (&Method::POST, "", _) => upload(req, ctx).await,
        (&Method::GET, _, Some(id)) => {
            let id = id.to_owned();
            download(req, ctx, id).await
        }
        (_, "", _) | (_, _, Some(_)) => error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
        _ => error(StatusCode::NOT_FOUND, "not found"),
    }
}

fn refused(refusal: MediaRefusal) -> Resp {
    let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
    error(status, refusal.message())
}

fn header_text(req: &Request<Incoming>, name: header::HeaderName) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Counts a refused upload and answers it.
async fn refuse_upload(ctx: &Ctx, refusal: MediaRefusal) -> Resp {
    let _ = run(ctx, |st| st.connector.media_upload_refused()).await;
    tracing::info!(status = refusal.status(), "media upload refused");
    refused(refusal)
}

async fn upload(req: Request<Incoming>, ctx: &Ctx) -> Resp {
    let authorization = header_text(&req, header::AUTHORIZATION);
    let tenant = match run(ctx, move |st| {
        st.connector
            .media_tenant(authorization.as_deref(), Clock::wall())
    })
    .await
    {
        Ok(Ok(tenant)) => tenant,
        Ok(Err(refusal)) => return refuse_upload(ctx, refusal).await,
        Err(_) => return error(StatusCode::SERVICE_UNAVAILABLE, "server is stopping"),
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MEDIA_MAX_BYTES) {
        return refuse_upload(ctx, MediaRefusal::TooLarge).await;
    }
    let Ok(_permit) = Arc::clone(&ctx.media_uploads).try_acquire_owned() else {
        return refuse_upload(ctx, MediaRefusal::Busy).await;
    };
    let content_type = header_text(&req, header::CONTENT_TYPE);
    let filename = req
        .headers()
        .get("x-media-filename")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // usize::MAX on 32-bit targets is above the cap anyway.
    let cap = usize::try_from(MEDIA_MAX_BYTES).unwrap_or(usize::MAX);
    let body = match Limited::new(req.into_body(), cap).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return refuse_upload(ctx, MediaRefusal::TooLarge).await;
        }
        Err(_) => {
            let _ = run(ctx, |st| st.connector.media_upload_refused()).await;
            return error(StatusCode::BAD_REQUEST, "could not read the request body");
        }
    };
    let bytes: Arc<[u8]> = Arc::from(&body[..]);
    drop(body);
    let size = bytes.len();
    let stored = run(ctx, move |st| {
        st.connector
            .media_store(&tenant, content_type.as_deref(), filename.as_deref(), bytes)
    })
    .await;
    match stored {
        Ok(Ok(id)) => {
            tracing::info!(%id, size, "media uploaded");
            json_response(StatusCode::OK, json!({ "id": id }).to_string())
        }
        Ok(Err(refusal)) => refused(refusal),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "server is stopping"),
    }
}

async fn download(req: Request<Incoming>, ctx: &Ctx, id: String) -> Resp {
    let authorization = header_text(&req, header::AUTHORIZATION);
    let found = run(ctx, move |st| {
        let tenant = st
            .connector
            .media_tenant(authorization.as_deref(), Clock::wall())?;
        st.connector.media_fetch(&tenant, &id)
    })
    .await;
    let object = match found {
        Ok(Ok(object)) => object,
        Ok(Err(refusal)) => return refused(refusal),
        Err(_) => return error(StatusCode::SERVICE_UNAVAILABLE, "server is stopping"),
    };
    let len = object.bytes.len();
    let mut resp = Response::new(Full::new(Bytes::from_owner(object.bytes)));
    let headers = resp.headers_mut();
    let content_type = HeaderValue::from_str(&object.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    // `filename` stays the last parameter: clients split on `filename=`.
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", object.filename)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}
