//! A development connector: the sans-IO [`Connector`](crate::Connector) model behind a real
//! tokio server, for local development, demos, the command line and driver
//! tests.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use relay_connector::server::ConnectorServer;
//!
//! let server = ConnectorServer::builder()
//!     .gateway("gw-1", &["secret-1"])
//!     .start()
//!     .await?;
//! // A gateway configured with `relay_url = server.url()` dials `<url>/relay`.
//! println!("connector at {}", server.url());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # What it serves
//!
//! - `GET /relay` with WebSocket upgrade headers: handed to
//!   [`Connector::accept`](crate::Connector::accept); accepted upgrades get `101`, refused ones the
//!   model's HTTP status (`RejectMode::Http*`), or a `101` followed by a
//!   4401 close frame (`RejectMode::Close4401`, the default). A WebSocket
//!   upgrade on any other path is answered `400`.
//! - `POST /relay/provision`, `/relay/enroll`, `/relay/policy`: the model's
//!   [`Connector::handle_http`](crate::Connector::handle_http).
//! - The admin API (JSON), one route per thing a connector can do to a
//!   gateway, each with a handle method doing the same:
//!
//! | route | body | handle method |
//! | --- | --- | --- |
//! | `POST /dev/inbound` | `{"instance", "event": <MessageEvent, or {"chat_id", "text", "platform"}>}` | [`ConnectorServer::deliver`] |
//! | `POST /dev/passthrough` | `{"instance", "platform", "bot_id"?, "method", "path", "headers": [[name, value], ...], "body_b64"}` | [`ConnectorServer::deliver_passthrough`] |
//! | `POST /dev/interrupt` | `{"session_key", "chat_id"}` | [`ConnectorServer::push_interrupt`] |
//! | `POST /dev/bind` | `{"session_key", "instance"}` | [`ConnectorServer::bind`] |
//! | `POST /dev/capability` | `{"session_key", "instance", "kind", "expires_in_secs"?}`, or `{"session_key", "instance", "revoke": true}` | [`ConnectorServer::grant_capability`], [`ConnectorServer::revoke_capabilities`] |
//! | `POST /dev/descriptor` | `{"platform", "descriptor": {...}}` | [`ConnectorServer::set_descriptor`] |
//! | `POST /dev/revoke` | `{"gateway_id"}` | [`ConnectorServer::revoke`] |
//! | `POST /dev/decline` | `{"chat_id", "platform"?, "instance"?}`: later requests to the chat are answered with an egress decline | [`ConnectorServer::decline`] |
//! | `POST /dev/script` | `{"op"?, "delay_ms": N}`, `{"op"?, "result": {...}}` or `{"op"?, "silence": true}`: the next request with that op (any op without one) is answered late, with this result, or never | [`ConnectorServer::push_script`] |
//! | `GET /dev/stats` | | [`ConnectorServer::stats`] |
//! | `GET /dev/log` | | [`ConnectorServer::frame_log`] |
//!
//! `/dev/inbound` and `/dev/passthrough` answer `{"delivery": "live",
//! "session": "s1"}` or `{"delivery": "buffered", "buffer_id": "buf-1"}`
//! (or `{"delivery": "dropped"}`). An unknown instance or a session key
//! nobody owns answers `404`, an owner without a serving session `409`.
//! `/dev/decline` answers `{"ok": true, "chat_id", "declined": true}`;
//! `/dev/script` answers `{"ok": true, "queued": <scripts not used yet>}`.
//! With a server on port 8080:
//!
//! ```sh
//! curl -X POST localhost:8080/dev/passthrough -d '{"instance":"gw-1","platform":"discord",
//!   "method":"POST","path":"/hook","headers":[["X-A","1"]],"body_b64":"eyJ0eXBlIjogMn0="}'
//! curl -X POST localhost:8080/dev/bind -d '{"session_key":"agent:main:discord:dm:D1","instance":"gw-1"}'
//! curl -X POST localhost:8080/dev/interrupt -d '{"session_key":"agent:main:discord:dm:D1","chat_id":"D1"}'
//! curl -X POST localhost:8080/dev/capability -d '{"session_key":"agent:main:discord:dm:D1",
//!   "instance":"gw-1","kind":"discord.interaction_token","expires_in_secs":60}'
//! curl -X POST localhost:8080/dev/capability -d '{"session_key":"agent:main:discord:dm:D1",
//!   "instance":"gw-1","revoke":true}'
//! curl localhost:8080/dev/log
//! ```
//!
//! # How it runs
//!
//! One task owns the model. Socket tasks and admin calls feed it through a
//! channel; after every input it drains [`Connector::poll_output`](crate::Connector::poll_output) and
//! routes each output: frames and close frames to the session's socket, a
//! cut link (no close frame) for `Dropped`, an HTTP GET for wake pokes, and
//! a timer for the `Wait` deadline. The model runs on the engine's
//! monotonic clock (`relay_engine::Clock`); tokens are checked against the
//! system clock.
//!
//! The server binds `127.0.0.1` by default and has no authentication of its
//! own on the admin routes: it is meant for local use only.

mod builder;
mod config;
mod driver;
mod handle;
mod limits;
mod listener;
mod poke;
mod queue;
mod routes;
mod socket;
mod stats;

pub use builder::DevServerBuilder;
pub use config::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_SOCKET_QUEUE, DEFAULT_WRITE_STALL_TIMEOUT, DevServerConfig,
};
pub use handle::{ConnectorServer, RawTarget, SHUTDOWN_SOCKET_GRACE, ServerStopped};
pub use stats::DevServerStats;
