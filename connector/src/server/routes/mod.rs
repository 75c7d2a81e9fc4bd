//! The HTTP side: the `/relay` upgrade, the model's management and media
//! routes and
//! the `/dev/*` admin API, one file per route family. A new admin route is
//! a row in [`ADMIN`], an arm in [`admin`] and, for a new family, a file.

mod capability;
mod ctx;
mod delivery;
mod descriptor;
mod interrupt;
mod json;
mod management;
mod media;
mod observe;
mod revoke;
mod script;
mod upgrade;

use std::convert::Infallible;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

pub(crate) use ctx::Ctx;
pub(crate) use json::Resp;
use json::{Answer, error, reply};
pub(crate) use media::MAX_UPLOADS_AT_ONCE as MAX_MEDIA_UPLOADS_AT_ONCE;

/// The admin routes.
#[derive(Clone, Copy, Debug)]
enum Admin {
    Inbound,
    Passthrough,
    Interrupt,
    Bind,
    Capability,
    Descriptor,
    Revoke,
    Stats,
    Log,
    Decline,
    Script,
}

/// Every admin route: path, method, route.
const ADMIN: [(&str, Method, Admin); 11] = [
    ("/dev/inbound", Method::POST, Admin::Inbound),
    ("/dev/revoke", Method::POST, Admin::Revoke),
    ("/dev/stats", Method::GET, Admin::Stats),
    ("/dev/passthrough", Method::POST, Admin::Passthrough),
    ("/dev/interrupt", Method::POST, Admin::Interrupt),
    ("/dev/bind", Method::POST, Admin::Bind),
    ("/dev/capability", Method::POST, Admin::Capability),
    ("/dev/descriptor", Method::POST, Admin::Descriptor),
    ("/dev/log", Method::GET, Admin::Log),
    ("/dev/decline", Method::POST, Admin::Decline),
    ("/dev/script", Method::POST, Admin::Script),
];

/// The hyper service function.
pub(crate) async fn handle(req: Request<Incoming>, ctx: Arc<Ctx>) -> Result<Resp, Infallible> {
    Ok(route(req, &ctx).await)
}

/// Answers one request by path and method.
async fn route(req: Request<Incoming>, ctx: &Ctx) -> Resp {
    let path = req.uri().path();
    let path = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    }
    .to_owned();
    if upgrade::wants_websocket(req.headers()) {
        if path != "/relay" {
            tracing::info!(%path, "websocket upgrade refused: not /relay");
            return error(
                StatusCode::BAD_REQUEST,
                "websocket upgrades are served at /relay only",
            );
        }
        return upgrade::upgrade(req, ctx).await;
    }
    match path.as_str() {
        "/relay" => return error(StatusCode::BAD_REQUEST, "expected a websocket upgrade"),
        "/relay/provision" | "/relay/enroll" | "/relay/policy" => {
            return management::management(req, ctx).await;
        }
        p if p == "/relay/media" || p.starts_with("/relay/media/") => {
            return media::media(req, ctx, &path).await;
        }
        _ => {}
    }
    match ADMIN.iter().find(|(p, ..)| *p == path) {
        Some((_, method, route)) if req.method() == method => reply(admin(*route, req, ctx).await),
        Some(_) => error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
        None => error(StatusCode::NOT_FOUND, "not found"),
    }
}

/// Runs an admin route.
async fn admin(route: Admin, req: Request<Incoming>, ctx: &Ctx) -> Answer {
    match route {
        Admin::Inbound => delivery::inbound(req, ctx).await,
        Admin::Passthrough => delivery::passthrough(req, ctx).await,
        Admin::Interrupt => interrupt::interrupt(req, ctx).await,
        Admin::Bind => interrupt::bind(req, ctx).await,
        Admin::Capability => capability::capability(req, ctx).await,
        Admin::Descriptor => descriptor::descriptor(req, ctx).await,
        Admin::Revoke => revoke::revoke(req, ctx).await,
        Admin::Stats => observe::stats(ctx).await,
        Admin::Log => observe::log(ctx).await,
        Admin::Decline => script::decline(req, ctx).await,
        Admin::Script => script::script(req, ctx).await,
    }
}
