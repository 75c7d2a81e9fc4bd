//! The log output: stderr, filtered by `RUST_LOG` (or `-v`/`-q`), and
//! never a credential.
//!
//! Two layers keep secrets out. Structurally, crates other than relay-rs's
//! own log at most at `info`, whatever `RUST_LOG` asks: below that,
//! dependencies log what they send (tungstenite writes its upgrade request,
//! bearer token included, at `trace`). Then every line goes through
//! [`scrub`] on its way to stderr: `Bearer` values, strings shaped like an
//! upgrade token or a JWT, and the secrets this process was configured with
//! or obtained ([`register_secret`]) are replaced by `<redacted>`.

use std::io::{self, Write};
use std::sync::{Mutex, PoisonError};

use tracing::Level;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::stderr;

/// What a redacted value is replaced with.
const REDACTED: &str = "<redacted>";

/// The crates whose logs are relay-rs's own: they may log at any level
/// (none of them logs a secret). `relay` is this binary.
const OWN_TARGETS: [&str; 6] = [
    "relay",
    "relay_core",
    "relay_engine",
    "relay_tokio",
    "relay_smol",
    "relay_connector",
];

/// The most verbose level a dependency logs at.
const DEPENDENCY_MAX_LEVEL: Level = Level::INFO;

/// Shortest registered secret: shorter strings would redact ordinary words.
const MIN_SECRET_LEN: usize = 6;

/// Most secrets remembered (a process registers a handful).
const MAX_SECRETS: usize = 64;

/// Secrets this process knows, redacted from every log line.
static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Redacts `secret` from every later log line (values shorter than 6
/// characters are not registered).
pub fn register_secret(secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    let mut secrets = SECRETS.lock().unwrap_or_else(PoisonError::into_inner);
    if !secrets.iter().any(|s| s == secret) && secrets.len() < MAX_SECRETS {
        secrets.push(secret.to_owned());
    }
}

/// The default log filter for `-v` and `-q` counts.
pub fn level(verbose: u8, quiet: u8) -> &'static str {
    match (verbose, quiet) {
        (0, 0) => "warn",
        (1, _) => "info",
        (2, _) => "debug",
        (v, _) if v >= 3 => "trace",
        (_, 1) => "error",
        _ => "off",
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `default_filter`), in
/// colour only on a terminal, dependencies capped at `info`, every line
/// scrubbed; every line first clears a status line drawn by `relay
/// connect` (see [`stderr::status_line`]).
pub fn init(default_filter: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(ScrubbingWriter::new)
        .finish()
        .with(filter_fn(|meta| {
            is_own(meta.target()) || *meta.level() <= DEPENDENCY_MAX_LEVEL
        }))
        .try_init();
}

/// Whether a log target is one of relay-rs's crates.
fn is_own(target: &str) -> bool {
    OWN_TARGETS.iter().any(|own| {
        target
            .strip_prefix(own)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// Stderr, each write scrubbed (the formatter writes one whole event per
/// write).
struct ScrubbingWriter {
    inner: io::StderrLock<'static>,
}

impl ScrubbingWriter {
    fn new() -> Self {
        let mut inner = io::stderr().lock();
        stderr::clear_status_line(&mut inner);
        ScrubbingWriter { inner }
    }
}

impl Write for ScrubbingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.inner.write_all(scrub(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `text` with credentials replaced by `<redacted>`: every registered
/// secret, the value after `Bearer` (any case), and any word that is an
/// upgrade token (base64url of `payload:exp:signature`) or a JWT.
pub fn scrub(text: &str) -> String {
    let mut out = text.to_owned();
    {
        let secrets = SECRETS.lock().unwrap_or_else(PoisonError::into_inner);
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
    }
    let out = redact_bearer_values(&out);
    redact_token_words(&out)
}

/// Characters a bearer value runs over (stops at whitespace, quotes,
/// backslashes, commas and brackets).
fn in_value(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ',' | ')' | ']' | '}' | '>'))
}

/// Replaces what follows each `bearer` + whitespace with `<redacted>`.
fn redact_bearer_values(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find("bearer") {
        let start = from + found + "bearer".len();
        let after = &text[start..];
        let gap = after.len() - after.trim_start_matches([' ', '\t']).len();
        let value_start = start + gap;
        let value_len: usize = text[value_start..]
            .chars()
            .take_while(|c| in_value(*c))
            .map(char::len_utf8)
            .sum();
        if gap > 0 && value_len > 0 && !text[value_start..].starts_with(REDACTED) {
            out.push_str(&text[rest..value_start]);
            out.push_str(REDACTED);
            rest = value_start + value_len;
        }
        from = value_start.max(start);
    }
    out.push_str(&text[rest..]);
    out
}

/// Whether a base64url word (with dots, for JWTs) is a credential.
fn is_token_word(word: &str) -> bool {
    if word.len() < 24 {
        return false;
    }
    if relay_core::auth::peek_payload(word).is_ok() {
        return true;
    }
    // A JWT: three or more base64url segments, the first a JSON object.
    let segments: Vec<&str> = word.split('.').collect();
    segments.len() >= 3 && word.starts_with("eyJ") && segments.iter().all(|s| !s.is_empty())
}

/// Replaces every base64url word (letters, digits, `-`, `_`, `.`) that
/// [`is_token_word`] recognises.
fn redact_token_words(text: &str) -> String {
    let is_word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let trimmed = word.trim_end_matches('.');
        if is_token_word(trimmed) {
            out.push_str(REDACTED);
            out.push_str(&word[trimmed.len()..]);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if is_word(c) {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use relay_core::UnixTime;
    use relay_core::auth::mint_token;

    #[test]
    fn bearer_values_are_redacted_in_any_case() {
        assert_eq!(
            scrub("authorization: Bearer abc.def\\r\\nHost: x"),
            "authorization: Bearer <redacted>\\r\\nHost: x"
        );
        assert_eq!(scrub("BEARER   xyz, ok"), "BEARER   <redacted>, ok");
        assert_eq!(scrub("a bearer of news"), "a bearer <redacted> news");
        assert_eq!(scrub("no bearer"), "no bearer");
    }

    #[test]
    fn upgrade_tokens_and_jwts_are_redacted_wherever_they_are() {
        let token = mint_token("gw-1", "s3cret", 300, UnixTime::from_secs(1_700_000_000));
        let line = format!("sent {token}. done");
        assert_eq!(scrub(&line), "sent <redacted>. done");
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
        assert_eq!(scrub(&format!("id={jwt}")), "id=<redacted>");
        // Ordinary words and ids stay.
        let plain = "relay state changed: dialing -> handshaking msg-910a2dec89025cc1";
        assert_eq!(scrub(plain), plain);
    }

    #[test]
    fn registered_secrets_are_redacted() {
        register_secret("registered-secret-value");
        register_secret("abc");
        assert_eq!(
            scrub("x=registered-secret-value y=abc"),
            "x=<redacted> y=abc"
        );
    }

    #[test]
    fn only_relay_rs_crates_are_own() {
        assert!(is_own("relay"));
        assert!(is_own("relay::connect"));
        assert!(is_own("relay_engine::engine"));
        assert!(!is_own("tungstenite::handshake::client"));
        assert!(!is_own("relay_enginex"));
        assert!(!is_own("ureq"));
    }
}
