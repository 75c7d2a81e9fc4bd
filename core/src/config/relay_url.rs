//! The relay URL parsed once into a [`DialTarget`], and the connector's
//! HTTP URLs derived from it.

use core::fmt;

use super::error::ConfigError;
use super::settings::{Names, Var};
use super::types::RelayConfig;

impl RelayConfig {
    /// The WebSocket URL to dial (docs/protocol.md, "Roles and transport"): the
    /// [`DialTarget`]'s URL, or (for a relay URL that does not parse, which
    /// only a config assembled by hand can hold) the textual derivation
    /// [`dial_url`].
    pub fn dial_url(&self) -> String {
        match self.dial_target() {
            Ok(target) => target.url().to_owned(),
            Err(_) => dial_url(&self.relay_url),
        }
    }

    /// The relay URL parsed into what a driver dials. Always `Ok` for a
    /// config from [`RelayConfig::from_env`] (and friends) or
    /// [`RelayConfigBuilder::build`](super::RelayConfigBuilder::build); a config assembled field by field may
    /// hold a URL that does not parse.
    pub fn dial_target(&self) -> Result<DialTarget, ConfigError> {
        DialTarget::parse(&self.relay_url)
            .map_err(|e| Names::Builder.invalid(Var::Url, &self.relay_url, e.to_string()))
    }

    /// `POST /relay/provision` URL (docs/protocol.md, "HTTP calls to the connector"), derived from
    /// the parsed relay URL.
    pub fn provision_url(&self) -> String {
        provision_url(&self.relay_url)
    }

    /// `POST /relay/policy` URL, derived from the parsed relay URL.
    pub fn policy_url(&self) -> String {
        policy_url(&self.relay_url)
    }

    /// `POST /relay/enroll` URL, derived from the parsed relay URL.
    pub fn enroll_url(&self) -> String {
        enroll_url(&self.relay_url)
    }
}

/// Normalizes a base relay URL to the WebSocket dial URL: `https://` →
/// `wss://`, `http://` → `ws://`, trailing `/` stripped, `/relay` appended
/// unless present. Idempotent. A URL that [`DialTarget::parse`] accepts
/// gives that target's URL (ASCII host, explicit non-default port); any
/// other text is transformed as text.
pub fn dial_url(base: &str) -> String {
    if let Ok(target) = DialTarget::parse(base) {
        return target.url().to_owned();
    }
    let s = base.trim();
    let s = if let Some(rest) = s.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = s.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        s.to_owned()
    };
    let s = s.trim_end_matches('/');
    if s.ends_with("/relay") {
        s.to_owned()
    } else {
        format!("{s}/relay")
    }
}

/// The HTTP(S) base of the connector: `ws://` → `http://`, `wss://` →
/// `https://`, surrounding whitespace and trailing `/` removed, then one
/// trailing `/relay` removed (docs/protocol.md, "HTTP calls to the connector"). A URL that
/// [`DialTarget::parse`] accepts gives that target's
/// [`DialTarget::http_base`]; any other text is transformed as text.
pub fn http_base_url(base: &str) -> String {
    if let Ok(target) = DialTarget::parse(base) {
        return target.http_base().to_owned();
    }
    let s = base.trim();
    let s = if let Some(rest) = s.strip_prefix("wss://") {
        format!("https://{rest}")
    } else if let Some(rest) = s.strip_prefix("ws://") {
        format!("http://{rest}")
    } else {
        s.to_owned()
    };
    let s = s.trim_end_matches('/');
    s.strip_suffix("/relay").unwrap_or(s).to_owned()
}

/// `POST` target of self-provisioning: `<http base>/relay/provision`.
pub fn provision_url(base: &str) -> String {
    format!("{}/relay/provision", http_base_url(base))
}

/// `POST` target of the relevance policy: `<http base>/relay/policy`.
pub fn policy_url(base: &str) -> String {
    format!("{}/relay/policy", http_base_url(base))
}

/// The media plane: `<http base>/relay/media` (upload target, and the
/// prefix of every object's URL).
pub fn media_url(base: &str) -> String {
    format!("{}/relay/media", http_base_url(base))
}

/// `POST` target of enrollment: `<http base>/relay/enroll`.
pub fn enroll_url(base: &str) -> String {
    format!("{}/relay/enroll", http_base_url(base))
}

/// The transport of a [`DialTarget`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DialScheme {
    /// Plain WebSocket (`ws://`, from `ws://` or `http://`).
    Ws,
    /// WebSocket over TLS (`wss://`, from `wss://` or `https://`).
    Wss,
}

impl DialScheme {
    /// `ws` or `wss`.
    pub fn as_str(self) -> &'static str {
        match self {
            DialScheme::Ws => "ws",
            DialScheme::Wss => "wss",
        }
    }

    /// Whether the socket runs over TLS.
    pub fn is_secure(self) -> bool {
        self == DialScheme::Wss
    }

    /// The port used when the URL names none: 80 or 443.
    pub fn default_port(self) -> u16 {
        match self {
            DialScheme::Ws => 80,
            DialScheme::Wss => 443,
        }
    }
}

/// Where a link dials: the relay URL parsed once, at configuration time, by
/// the `url` crate (WHATWG rules), and normalised as docs/protocol.md ("Roles and transport") describes
/// says (`https` → `wss`, `http` → `ws`, trailing `/` removed, `/relay`
/// appended unless present).
///
/// Drivers use its parts as they are: [`DialTarget::host`] is ASCII (a
/// non-ASCII domain is in its IDNA form, an IPv6 address has no brackets)
/// and [`DialTarget::port`] is the port the URL names, or the scheme's
/// default only when it names none. A driver never has to parse or guess.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DialTarget {
    scheme: DialScheme,
    host: String,
    port: u16,
    path_and_query: String,
    url: String,
    http_base: String,
}

impl DialTarget {
    /// Parses a relay base URL (`GATEWAY_RELAY_URL`): surrounding whitespace
    /// and trailing `/` are ignored; the scheme must be lowercase `ws`,
    /// `wss`, `http` or `https`.
    pub fn parse(relay_url: &str) -> Result<DialTarget, UrlError> {
        let parsed = parse_url(
            relay_url.trim(),
            &["https://", "http://", "wss://", "ws://"],
        )?;
        let scheme = match parsed.url.scheme() {
            "https" | "wss" => DialScheme::Wss,
            _ => DialScheme::Ws,
        };
        let port = parsed.url.port().unwrap_or(scheme.default_port());
        let authority = match parsed.url.port() {
            Some(p) => format!("{}:{p}", parsed.url_host),
            None => parsed.url_host.clone(),
        };
        let path = parsed.url.path().trim_end_matches('/');
        let dial_path = if path.ends_with("/relay") {
            path.to_owned()
        } else {
            format!("{path}/relay")
        };
        let base_path = path.strip_suffix("/relay").unwrap_or(path);
        let query = parsed
            .url
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        let path_and_query = format!("{dial_path}{query}");
        let http_scheme = if scheme.is_secure() { "https" } else { "http" };
        Ok(DialTarget {
            url: format!("{}://{authority}{path_and_query}", scheme.as_str()),
            http_base: format!("{http_scheme}://{authority}{base_path}"),
            scheme,
            host: parsed.host,
            port,
            path_and_query,
        })
    }

    /// `ws` or `wss`.
    pub fn scheme(&self) -> DialScheme {
        self.scheme
    }

    /// Whether the socket runs over TLS (`wss`).
    pub fn is_secure(&self) -> bool {
        self.scheme.is_secure()
    }

    /// The host to connect to and to name in TLS: an ASCII domain (IDNA form),
    /// an IPv4 address, or an IPv6 address without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port: the one the URL names, or the scheme's default (80 or
    /// 443) when it names none.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request target of the upgrade: the path (ending in `/relay`) and
    /// the query, if any.
    pub fn path_and_query(&self) -> &str {
        &self.path_and_query
    }

    /// The whole WebSocket URL, ASCII (`wss://host[:port]/…/relay[?query]`;
    /// the port is written only when it is not the scheme's default).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The connector's HTTP(S) base (docs/protocol.md, "HTTP calls to the connector"): same host and
    /// port, `http`/`https`, the path without its trailing `/relay`, no
    /// query.
    pub fn http_base(&self) -> &str {
        &self.http_base
    }
}

impl fmt::Display for DialTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// Why a URL setting does not parse (the `reason` of a
/// [`ConfigError::Invalid`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The scheme is missing, not lowercase, or not one of the allowed ones.
    #[error(
        "expected a URL starting with one of {expected} (lowercase), e.g. https://connector.example"
    )]
    Scheme {
        /// The allowed schemes, comma-separated.
        expected: String,
    },
    /// Whitespace or a control character inside the URL.
    #[error("a URL cannot contain whitespace or control characters")]
    Whitespace,
    /// Nothing between `://` and the path.
    #[error("the URL has no host; write it as {scheme}://host[:port][/path]")]
    NoHost {
        /// The scheme that was given.
        scheme: String,
    },
    /// The port is not a number in `0..=65535`.
    #[error("the port is not a number from 0 to 65535 (leave it out to use the scheme's default)")]
    Port,
    /// The host is not a valid domain (after IDNA) or IP address.
    #[error("the host is not a valid domain name or IP address: {detail}")]
    Host {
        /// What the parser reported.
        detail: String,
    },
    /// A host name with non-ASCII characters: this build refuses them at load
    /// rather than map them (write the IDNA form).
    #[error("the host {host:?} has non-ASCII characters; write its IDNA form instead: {ascii}")]
    NonAsciiHost {
        /// The host as written.
        host: String,
        /// Each label of the host in punycode (`xn--…`), lowercased.
        ascii: String,
    },
    /// `user:password@` in the URL (credentials belong in their own settings).
    #[error(
        "the URL carries a user name or password; remove it (credentials have their own settings)"
    )]
    UserInfo,
    /// A `#fragment`, which a WebSocket or HTTP request cannot carry.
    #[error("the URL has a #fragment; remove it")]
    Fragment,
    /// Anything else the WHATWG parser refused.
    #[error("not a valid URL: {detail}")]
    Other {
        /// What the parser reported.
        detail: String,
    },
}

/// A URL parsed by the `url` crate, with its host in connectable form.
pub(super) struct ParsedUrl {
    pub(super) url: url::Url,
    /// For connecting: IPv6 without brackets.
    host: String,
    /// For writing into a URL: IPv6 in brackets.
    url_host: String,
}

/// The refusal of a non-ASCII host, with the punycode form to write instead.
fn non_ascii_host(authority: &str) -> UrlError {
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let ascii = host
        .split('.')
        .map(|label| {
            let label = label.to_lowercase();
            if label.is_ascii() {
                label
            } else {
                idna::punycode::encode_str(&label)
                    .map_or_else(|| label.clone(), |p| format!("xn--{p}"))
            }
        })
        .collect::<Vec<_>>()
        .join(".");
    UrlError::NonAsciiHost {
        host: host.to_owned(),
        ascii,
    }
}

/// Parses `text` (already trimmed) with the `url` crate, requiring one of
/// `schemes` (written lowercase, with `://`) and a host.
pub(super) fn parse_url(text: &str, schemes: &[&str]) -> Result<ParsedUrl, UrlError> {
    let Some(scheme) = schemes.iter().find(|s| text.starts_with(**s)) else {
        let expected = schemes
            .iter()
            .map(|s| s.trim_end_matches("://"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(UrlError::Scheme { expected });
    };
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlError::Whitespace);
    }
    let rest = text.get(scheme.len()..).unwrap_or_default();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let no_host = || UrlError::NoHost {
        scheme: scheme.trim_end_matches("://").to_owned(),
    };
    if authority.is_empty() || authority.starts_with(':') || authority.ends_with('@') {
        return Err(no_host());
    }
    if !authority.is_ascii() {
        return Err(non_ascii_host(authority));
    }
    let url = url::Url::parse(text).map_err(|e| match e {
        url::ParseError::EmptyHost => no_host(),
        url::ParseError::InvalidPort => UrlError::Port,
        url::ParseError::IdnaError
        | url::ParseError::InvalidDomainCharacter
        | url::ParseError::InvalidIpv4Address
        | url::ParseError::InvalidIpv6Address => UrlError::Host {
            detail: e.to_string(),
        },
        other => UrlError::Other {
            detail: other.to_string(),
        },
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::UserInfo);
    }
    if url.fragment().is_some() {
        return Err(UrlError::Fragment);
    }
    let (host, url_host) = match url.host() {
        Some(url::Host::Domain(d)) if !d.is_empty() => (d.to_owned(), d.to_owned()),
        Some(url::Host::Ipv4(ip)) => (ip.to_string(), ip.to_string()),
        Some(url::Host::Ipv6(ip)) => (ip.to_string(), format!("[{ip}]")),
        _ => return Err(no_host()),
    };
    Ok(ParsedUrl {
        url,
        host,
        url_host,
    })
}
