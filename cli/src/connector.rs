//! `relay connector`: the dev connector server (the connector model behind a
//! real WebSocket/HTTP server with an admin API) until Ctrl-C or SIGTERM.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use relay_connector::ConnectorConfig;
use relay_connector::server::{
    ConnectorServer, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_SOCKET_QUEUE, DEFAULT_WRITE_STALL_TIMEOUT, DevServerConfig,
};
use relay_core::descriptor::CapabilityDescriptor;
use relay_engine::http::read_capped;
use serde_json::Value;

use crate::exit::{Exit, fail};
use crate::signals;

/// The gateway known when neither `--gateway` nor `--config` names one.
pub const DEFAULT_GATEWAY: &str = "dev-gateway";
/// Its secret (a development default, not a credential).
pub const DEFAULT_SECRET: &str = "dev-secret";
/// Largest accepted `--config` file.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Options of `relay connector`.
#[derive(Debug, Args)]
#[command(after_help = "\
With no --gateway and no gateways in --config, the gateway `dev-gateway` with
secret `dev-secret` is registered, so `relay connect` with
GATEWAY_RELAY_URL=ws://127.0.0.1:8080 GATEWAY_RELAY_ID=dev-gateway
GATEWAY_RELAY_SECRET=dev-secret (and core/examples/blocking_loop.rs) work as is.

--config FILE is JSON, every key optional:
  {
    \"gateways\":    {\"gw-1\": [\"primary-secret\", \"older-secret\"]},
    \"descriptors\": {\"telegram\": {<capability descriptor JSON>}},
    \"wake_urls\":   {\"gw-1\": \"http://127.0.0.1:9000/wake\"},
    \"ack_passthrough\": false,
    \"media_max_objects\": 1024,
    \"media_max_bytes\": 134217728
  }
Known platforms (discord, telegram, slack, whatsapp, signal, matrix) get
realistic descriptors unless \"descriptors\" sets one. \"ack_passthrough\"
(default true) makes buffered passthrough_forwards wait for an inbound_ack;
set it to false for gateways that never ack them (the 2026-06-26 era).
\"media_max_objects\" and \"media_max_bytes\" bound the media store (uploads to
/relay/media, kept in memory; the oldest objects make room).

The admin API has no authentication: keep the server on loopback.

Ctrl-C or SIGTERM stops the server gracefully (live sockets get a 1001 close
frame and up to 15 s to finish closing, exit status 0); a second one exits at
once with 130 (Ctrl-C) or 143 (SIGTERM). Bounds on connections,
headers, idle sockets and write buffers: docs/limits.md.")]
pub struct ConnectorArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Register a gateway, `ID:SECRET` (repeatable; a second `--gateway` with
    /// the same id adds an older secret to its rotation list).
    #[arg(long = "gateway", value_name = "ID:SECRET")]
    pub gateways: Vec<String>,
    /// JSON file with gateways, descriptors per platform and wake URLs
    /// (at most 1 MiB, read through that cap: devices and pipes included).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Most HTTP connections served at once; at the cap the oldest one that
    /// has sent no request yet is closed to make room (keep it under
    /// `ulimit -n`).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Seconds a client may take to send a request's headers (also the
    /// keep-alive idle limit).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_HEADER_READ_TIMEOUT.as_secs())]
    pub header_read_timeout: u64,
    /// Seconds without anything read from a gateway's WebSocket before it is
    /// cut (0: never).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs())]
    pub idle_timeout: u64,
    /// Frames queued for one gateway's socket and not yet sent (never fewer
    /// than the drain window + 64); at the bound the socket is closed with
    /// 1013 and what was buffered is redelivered to the next connection.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SOCKET_QUEUE)]
    pub socket_queue: usize,
    /// Seconds a write to a gateway may make no progress before its socket
    /// is cut (0: never); also how long a full socket queue is waited on
    /// (10 s when 0) before the socket is treated as gone.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_WRITE_STALL_TIMEOUT.as_secs())]
    pub write_stall_timeout: u64,
}

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
enum ConfigFileError {
    #[error("could not read {path}: {source}; check the path and its permissions")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path} holds more than {MAX_CONFIG_BYTES} bytes (the cap on --config); is it the right file?"
    )]
    TooLarge { path: String },
    #[error("{path} is not valid JSON: {detail}; see `relay connector --help` for the format")]
    NotJson { path: String, detail: String },
    #[error("{path}: {detail}; see `relay connector --help` for the format")]
    Shape { path: String, detail: String },
    #[error("--gateway {0:?} is not ID:SECRET; give e.g. --gateway gw-1:s3cret")]
    GatewayFlag(String),
}

/// Runs the server until Ctrl-C or SIGTERM (graceful: live sockets get a
/// 1001 close frame; a second signal exits at once).
pub async fn run(args: ConnectorArgs) -> Exit {
    let connector = match build_config(&args) {
        Ok(config) => config,
        Err(e) => return fail(Exit::Usage, e),
    };
    let gateways: Vec<String> = connector
        .gateways
        .iter()
        .map(|(id, secrets)| format!("{id} ({} secret(s))", secrets.len()))
        .collect();
    if args.max_connections == 0 || args.header_read_timeout == 0 {
        return fail(
            Exit::Usage,
            "--max-connections and --header-read-timeout must be at least 1",
        );
    }
    let config = DevServerConfig {
        bind: args.listen,
        connector,
        max_connections: args.max_connections,
        header_read_timeout: Duration::from_secs(args.header_read_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        socket_queue: args.socket_queue,
        write_stall_timeout: Duration::from_secs(args.write_stall_timeout),
        ..DevServerConfig::default()
    };
    let server = match ConnectorServer::start(config).await {
        Ok(server) => server,
        Err(e) => {
            return fail(
                Exit::Failed,
                format_args!(
                    "could not listen on {}: {e}; pick another address with --listen (port 0 picks a free one)",
                    args.listen
                ),
            );
        }
    };
    let http = server.http_url();
    println!("relay dev connector listening");
    println!("  relay URL:  {}   (GATEWAY_RELAY_URL)", server.url());
    println!("  gateways:   {}", gateways.join(", "));
    println!("  routes:");
    println!(
        "    GET  {http}/relay              WebSocket upgrade (Authorization: Bearer <token>)"
    );
    println!("    POST {http}/relay/provision    self-provisioning");
    println!("    POST {http}/relay/enroll       enrollment");
    println!("    POST {http}/relay/policy       relevance policy");
    println!(
        "    POST {http}/relay/media        media upload (bearer: an upgrade token; at most 25 MiB)"
    );
    println!(
        "    GET  {http}/relay/media/ID     media download (bearer: an upgrade token of the same tenant)"
    );
    println!(
        "    POST {http}/dev/inbound        {{\"instance\": \"<gateway id>\", \"event\": {{\"chat_id\", \"text\", \"platform\"}}}}"
    );
    println!(
        "    POST {http}/dev/passthrough    {{\"instance\", \"platform\", \"bot_id\"?, \"method\", \"path\", \"headers\": [[name, value]], \"body_b64\"}}"
    );
    println!("    POST {http}/dev/interrupt      {{\"session_key\", \"chat_id\"}}");
    println!("    POST {http}/dev/bind           {{\"session_key\", \"instance\"}}");
    println!(
        "    POST {http}/dev/capability     {{\"session_key\", \"instance\", \"kind\", \"expires_in_secs\"?}} or {{..., \"revoke\": true}}"
    );
    println!("    POST {http}/dev/descriptor     {{\"platform\", \"descriptor\": {{...}}}}");
    println!("    POST {http}/dev/revoke         {{\"gateway_id\": \"...\"}}");
    println!("    POST {http}/dev/decline        {{\"chat_id\", \"platform\"?, \"instance\"?}}");
    println!(
        "    POST {http}/dev/script         {{\"op\"?, \"delay_ms\": N}} or {{\"op\"?, \"result\": {{...}}}} or {{\"op\"?, \"silence\": true}}"
    );
    println!("    GET  {http}/dev/stats          counters");
    println!("    GET  {http}/dev/log            frames both ways");
    println!("  Ctrl-C or SIGTERM stops the server (a second one exits at once).");
    flush_stdout();
    match signals::stop_signals().await {
        Ok(signal) => eprintln!("{signal}: stopping (send it again to exit at once)"),
        Err(_) => {
            // No signal handling: nothing could ever stop the server.
            eprintln!("stopping");
        }
    }
    server.shutdown().await;
    Exit::Ok
}

fn flush_stdout() {
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

/// The model's configuration from `--config` and `--gateway`.
fn build_config(args: &ConnectorArgs) -> Result<ConnectorConfig, ConfigFileError> {
    let mut config = ConnectorConfig::default();
    if let Some(path) = &args.config {
        read_config_file(path, &mut config)?;
    }
    for flag in &args.gateways {
        let (id, secret) = flag
            .split_once(':')
            .filter(|(id, secret)| !id.is_empty() && !secret.is_empty())
            .ok_or_else(|| ConfigFileError::GatewayFlag(redact_flag(flag)))?;
        config
            .gateways
            .entry(id.to_owned())
            .or_default()
            .push(secret.to_owned());
    }
    if config.gateways.is_empty() {
        config
            .gateways
            .insert(DEFAULT_GATEWAY.to_owned(), vec![DEFAULT_SECRET.to_owned()]);
    }
    Ok(config)
}

/// A malformed `--gateway` value for an error message, with anything after
/// the first `:` hidden (it may be a secret).
fn redact_flag(flag: &str) -> String {
    match flag.split_once(':') {
        Some((id, _)) => format!("{id}:…"),
        None => flag.to_owned(),
    }
}

fn read_config_file(path: &Path, config: &mut ConnectorConfig) -> Result<(), ConfigFileError> {
    let shown = path.display().to_string();
    let read = |source| ConfigFileError::Read {
        path: shown.clone(),
        source,
    };
    // Read through a cap, never by metadata size: devices and pipes report
    // 0 and may never end.
    let bytes = match read_capped(path, MAX_CONFIG_BYTES) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(ConfigFileError::TooLarge { path: shown });
        }
        Err(e) => return Err(read(e)),
    };
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| ConfigFileError::NotJson {
        path: shown.clone(),
        detail: e.to_string(),
    })?;
    let shape = |detail: String| ConfigFileError::Shape {
        path: shown.clone(),
        detail,
    };
    let Value::Object(top) = value else {
        return Err(shape("the top level must be a JSON object".to_owned()));
    };
    for key in top.keys() {
        if !matches!(
            key.as_str(),
            "gateways"
                | "descriptors"
                | "wake_urls"
                | "ack_passthrough"
                | "media_max_objects"
                | "media_max_bytes"
        ) {
            return Err(shape(format!(
                "unknown key {key:?} (expected gateways, descriptors, wake_urls, ack_passthrough, media_max_objects, media_max_bytes)"
            )));
        }
    }
    let count = |key: &str| -> Result<Option<u64>, ConfigFileError> {
        match top.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .filter(|n| *n >= 1)
                .map(Some)
                .ok_or_else(|| shape(format!("{key} must be a whole number, at least 1"))),
        }
    };
    if let Some(n) = count("media_max_objects")? {
        config.media_max_objects = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(n) = count("media_max_bytes")? {
        config.media_max_bytes = n;
    }
    if let Some(ack) = top.get("ack_passthrough") {
        config.ack_passthrough = ack
            .as_bool()
            .ok_or_else(|| shape("ack_passthrough must be true or false".to_owned()))?;
    }
    if let Some(gateways) = top.get("gateways") {
        for (id, secrets) in object(gateways, "gateways").map_err(shape)? {
            let list = match secrets {
                Value::String(s) => vec![s.clone()],
                Value::Array(items) => items
                    .iter()
                    .map(|s| s.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        shape(format!("gateways.{id} must be a list of secret strings"))
                    })?,
                _ => {
                    return Err(shape(format!(
                        "gateways.{id} must be a secret string or a list of them"
                    )));
                }
            };
            if list.is_empty() || list.iter().any(String::is_empty) {
                return Err(shape(format!(
                    "gateways.{id} needs at least one non-empty secret"
                )));
            }
            config.gateways.insert(id.clone(), list);
        }
    }
    if let Some(descriptors) = top.get("descriptors") {
        for (platform, d) in object(descriptors, "descriptors").map_err(shape)? {
            let bytes = serde_json::to_vec(d).map_err(|e| shape(e.to_string()))?;
            let descriptor = CapabilityDescriptor::from_json(&bytes)
                .map_err(|e| shape(format!("descriptors.{platform}: {e}")))?;
            config.descriptors.insert(platform.clone(), descriptor);
        }
    }
    if let Some(urls) = top.get("wake_urls") {
        let mut wake_urls = BTreeMap::new();
        for (instance, url) in object(urls, "wake_urls").map_err(shape)? {
            let url = url
                .as_str()
                .filter(|u| u.starts_with("http://"))
                .ok_or_else(|| {
                    shape(format!(
                        "wake_urls.{instance} must be an http:// URL string"
                    ))
                })?;
            wake_urls.insert(instance.clone(), url.to_owned());
        }
        config.wake_urls.extend(wake_urls);
    }
    Ok(())
}

fn object<'a>(value: &'a Value, name: &str) -> Result<&'a serde_json::Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{name} must be a JSON object"))
}
