#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "arbitrary")]
#[cfg_attr(docsrs, doc(cfg(feature = "arbitrary")))]
pub mod fuzzing;
mod model;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod server;

pub use model::{
    ANONYMOUS_INSTANCE, Accept, AdminError, CLOSE_NORMAL, CLOSE_UNAUTHORIZED, Connector,
    ConnectorConfig, ConnectorOutput, ConnectorStats, DEFAULT_MEDIA_MAX_BYTES,
    DEFAULT_MEDIA_MAX_OBJECTS, DEFAULT_TENANT, DeclineRule, DefaultResponder, Delivery, Direction,
    EGRESS_DECLINED, FrameLog, HttpResponse, KNOWN_PLATFORMS, LogEntry, MAX_ADMIN_ENTRIES,
    MAX_DRAFT_STREAMS, MAX_SCRIPTS, MediaRefusal, MediaStats, PolicyRecord, ProvisionRecord,
    RejectMode, Request, Responder, Response, Script, ScriptStep, ScriptedResponder, SessionId,
    StoredMedia, chat_id_of_session_key, decline_result, platform_descriptor,
};
