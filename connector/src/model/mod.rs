//! The sans-IO connector model: [`Connector`] and everything it is
//! configured, observed and answered with. Nothing here touches a socket or
//! a clock.
//!
//! The files stack in one direction: `interface` (what a driver and the
//! model hand each other) and `config`, `observe`, `responder`, `records`,
//! `platforms`, `egress` at the bottom; `connector` (the state) on them; then one
//! file per concern, each an `impl Connector` block: `output` (the output
//! queue), `wake`, `buffer` (buffering and the drain), `outbound`,
//! `sessions` (sessions and credentials), `admin`, `declines`
//! (declined targets and one-shot scripts), `input` (socket bytes and
//! timers), `management` (the provision, enroll and policy calls) and
//! `media` (the media plane's calls; its store is in `media_store`, beside
//! `records`).

mod admin;
mod buffer;
mod config;
mod connector;
mod declines;
mod egress;
mod input;
mod interface;
mod management;
mod media;
mod media_store;
mod observe;
mod outbound;
mod output;
mod platforms;
mod records;
mod responder;
mod sessions;
mod wake;

pub use admin::{AdminError, MAX_ADMIN_ENTRIES, chat_id_of_session_key};
pub use config::{ConnectorConfig, DEFAULT_MEDIA_MAX_BYTES, DEFAULT_MEDIA_MAX_OBJECTS, RejectMode};
pub use connector::Connector;
pub use declines::MAX_SCRIPTS;
pub use egress::{DeclineRule, EGRESS_DECLINED, decline_result};
pub use interface::{
    Accept, CLOSE_NORMAL, CLOSE_UNAUTHORIZED, ConnectorOutput, Delivery, SessionId,
};
pub use management::HttpResponse;
pub use media_store::{MediaRefusal, MediaStats, StoredMedia};
pub use observe::{ConnectorStats, Direction, FrameLog, LogEntry};
pub use platforms::{KNOWN_PLATFORMS, platform_descriptor};
pub use records::{DEFAULT_TENANT, PolicyRecord, ProvisionRecord};
pub use responder::{
    DefaultResponder, MAX_DRAFT_STREAMS, Request, Responder, Response, Script, ScriptStep,
    ScriptedResponder,
};
pub use sessions::ANONYMOUS_INSTANCE;
