#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod clock;
mod close_tap;
mod command;
mod driver;
mod engine;
mod error;
mod events;
mod eyeballs;
mod handle;
mod inline;
mod io;
mod options;
#[cfg(feature = "planted-bugs")]
mod planted;
mod router;
mod runtime;
mod shared;
mod socket;
mod stall;
mod ws;

#[cfg(feature = "http")]
mod boot;
#[cfg(feature = "http")]
mod call_error;
#[cfg(feature = "http")]
mod calls;
#[cfg(feature = "http")]
mod env_file;
#[cfg(feature = "http")]
mod http_client;
#[cfg(feature = "http")]
mod media_calls;

pub use client::RelayClient;
pub use clock::Clock;
pub use error::ClientError;
pub use events::Events;
pub use eyeballs::{HAPPY_EYEBALLS_STAGGER, MAX_ADDRESSES, attempt_order, connect_racing};
pub use handle::RelayHandle;
pub use inline::InlineClient;
pub use io::IoStream;
pub use options::{ClientOptions, DEFAULT_WRITE_STALL_TIMEOUT};
#[cfg(feature = "planted-bugs")]
#[cfg_attr(docsrs, doc(cfg(feature = "planted-bugs")))]
pub use planted::{PlantedBug, UnknownPlantedBug};
/// The core crate, re-exported so that one dependency is enough.
pub use relay_core;
pub use runtime::{BoxFuture, CurrentRuntime, Runtime};
/// The TLS library of `wss://` dials, for [`ClientOptions::tls`].
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use rustls;
pub use stall::StallGuard;

/// The HTTP calls (provision, policy, enroll, the identity token, the media
/// plane, the boot sequence) and the env file, runtime-neutral.
///
/// The requests and the reading of the responses are the core's
/// ([`relay_core::calls`]); this module only executes them: with a blocking
/// `ureq` agent (rustls with ring, the webpki roots), run off the async
/// threads through [`Runtime::unblock`].
///
/// The agent follows no redirect itself. [`execute`](http::execute)
/// follows up to [`HttpOptions::max_redirects`](http::HttpOptions::max_redirects)
/// of them and drops the `Authorization` header whenever
/// [`may_forward_authorization`](relay_core::calls::may_forward_authorization)
/// says so: a bearer never travels to another origin, and a redirect from
/// `https` to plain `http` is refused. Failure statuses come back as a
/// status and a body (bounded by
/// [`HttpOptions::max_response_bytes`](http::HttpOptions::max_response_bytes))
/// for the core's parsers to read.
///
/// Every call that talks to the connector returns a
/// [`CallError`](http::CallError) that says what went wrong and what to do
/// next; nothing here logs a secret or a token.
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http {
    pub use super::boot::{BootOutcome, BootProvision, PolicyStatus, boot};
    pub use super::call_error::CallError;
    pub use super::calls::{
        default_gateway_id, enroll, identity_token, policy, provision, send_policies,
    };
    pub use super::env_file::{
        EnvFileError, MAX_ENV_FILE_BYTES, default_env_file, read_capped, write_env_file,
    };
    pub use super::http_client::{
        DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_REDIRECTS, DEFAULT_MAX_RESPONSE_BYTES,
        DEFAULT_TIMEOUT, HttpOptions, HttpResponse, execute, execute_blocking,
    };
    pub use super::media_calls::{
        download_media, extension_for, upload_content_type, upload_media,
    };
}
