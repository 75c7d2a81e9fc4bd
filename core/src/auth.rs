//! Upgrade tokens and delivery signatures (docs/protocol.md, "Authentication").
//!
//! An upgrade token is `base64url_nopad("<payload>:<exp>:<hex hmac>")` where
//! the HMAC-SHA256 is keyed with the gateway's secret and computed over
//! `"<payload>:<exp>"`. For the WebSocket upgrade (and `POST /relay/policy`)
//! the payload is the gateway id. `exp` is a decimal Unix time in seconds, or
//! `0` for a token that never expires.
//!
//! Verification accepts a rotation list of secrets (primary first), skips
//! empty secrets, and compares signatures in constant time. It is stricter
//! than the reference in one respect: the token must be canonical (no stray
//! base64 bits, a canonical decimal `exp`, a lowercase hex signature), so
//! that no altered spelling of a valid token verifies.
//!
//! A delivery signature (legacy signed HTTP inbound) is the lowercase hex
//! HMAC-SHA256, keyed with the delivery key, over `"<ts>.<raw body>"`, and is
//! accepted within [`DELIVERY_WINDOW_SECS`] of `now` (inclusive).
//!
//! Nothing here reads a clock: `now` is always an argument.

use data_encoding::{BASE64URL, BASE64URL_NOPAD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::time::UnixTime;

type HmacSha256 = Hmac<Sha256>;

/// Lifetime of an upgrade token minted for a dial or a policy call (300 s).
pub const DEFAULT_UPGRADE_TTL_SECS: u64 = 300;

/// Replay window of a delivery signature: `|now - ts|` may be at most this
/// many seconds (the bound itself is accepted).
pub const DELIVERY_WINDOW_SECS: u64 = 300;

/// Header carrying the delivery timestamp (decimal Unix seconds).
pub const DELIVERY_TIMESTAMP_HEADER: &str = "x-relay-timestamp";

/// Header carrying the delivery signature (hex HMAC-SHA256).
pub const DELIVERY_SIGNATURE_HEADER: &str = "x-relay-signature";

/// Length in bytes of an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

/// base64url for verifying: padding optional (the reference restores it
/// before decoding) but canonical when present, non-zero trailing bits
/// rejected (both encodings check them).
fn b64url_decode(token: &str) -> Result<Vec<u8>, String> {
    let body = token.trim_end_matches('=');
    if body.contains('=') {
        // data-encoding would read it as the end of a block and go on.
        return Err("padding before the end".to_owned());
    }
    let decoded = if body.len() == token.len() {
        BASE64URL_NOPAD.decode(token.as_bytes())
    } else {
        BASE64URL.decode(token.as_bytes())
    };
    decoded.map_err(|e| e.to_string())
}

/// Why an upgrade token was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is not `base64url("<payload>:<exp>:<hex signature>")`.
    #[error(
        "malformed upgrade token: {detail}; mint a new token (payload:exp:hex-hmac, base64url)"
    )]
    Malformed {
        /// What exactly is wrong with it.
        detail: String,
    },
    /// The token's `exp` is in the past (`now > exp`; `now == exp` is valid).
    #[error(
        "upgrade token expired at {exp} (now {now}); mint a fresh token for every dial and check the clocks"
    )]
    Expired {
        /// The token's expiry (Unix seconds).
        exp: UnixTime,
        /// The verifier's clock.
        now: UnixTime,
    },
    /// The signature matches none of the secrets.
    #[error(
        "upgrade token signature matches none of the configured secrets; check that the gateway and the connector share the same secret"
    )]
    BadSignature,
    /// Every secret in the list was empty, so nothing can be verified.
    #[error(
        "no non-empty secret to verify the upgrade token against; configure the gateway's secret"
    )]
    NoSecrets,
}

impl TokenError {
    fn malformed(detail: impl Into<String>) -> Self {
        TokenError::Malformed {
            detail: detail.into(),
        }
    }
}

/// Why a delivery signature was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The `x-relay-timestamp` header is missing or empty.
    #[error(
        "missing or empty {DELIVERY_TIMESTAMP_HEADER} header; the sender must send the signing time"
    )]
    MissingTimestamp,
    /// The `x-relay-signature` header is missing or empty.
    #[error("missing or empty {DELIVERY_SIGNATURE_HEADER} header; the sender must sign the body")]
    MissingSignature,
    /// The timestamp header is not a decimal integer.
    #[error(
        "{DELIVERY_TIMESTAMP_HEADER} header {value:?} is not an integer number of Unix seconds"
    )]
    BadTimestamp {
        /// The header value as received.
        value: String,
    },
    /// The timestamp is more than [`DELIVERY_WINDOW_SECS`] away from `now`.
    #[error(
        "delivery timestamp {ts} is more than {DELIVERY_WINDOW_SECS} s away from now ({now}); the request is stale or a clock is wrong"
    )]
    OutsideWindow {
        /// The timestamp that was sent.
        ts: i64,
        /// The verifier's clock.
        now: UnixTime,
    },
    /// The signature header is not hex.
    #[error("{DELIVERY_SIGNATURE_HEADER} header is not a hex string")]
    MalformedSignature,
    /// The signature matches none of the delivery keys.
    #[error(
        "delivery signature matches none of the configured delivery keys; check GATEWAY_RELAY_DELIVERY_KEY"
    )]
    BadSignature,
    /// Every key in the list was empty, so nothing can be verified.
    #[error(
        "no non-empty delivery key to verify the signature against; configure the delivery key"
    )]
    NoKeys,
}

/// Compares two byte strings in time that depends only on their lengths.
///
/// Returns `false` at once when the lengths differ (lengths are not secret
/// here: every tag is 32 bytes).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    core::hint::black_box(diff) == 0
}

/// HMAC-SHA256(`key`, `parts` concatenated).
fn hmac_tag(key: &[u8], parts: &[&[u8]]) -> [u8; TAG_LEN] {
    let mut out = [0u8; TAG_LEN];
    // HMAC accepts keys of any length, so this branch is never taken.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return out;
    };
    for p in parts {
        mac.update(p);
    }
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex.
fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// Decodes hex; `lowercase_only` refuses `A`–`F`. `None` on odd length or a
/// non-hex character.
fn from_hex(s: &str, lowercase_only: bool) -> Option<Vec<u8>> {
    fn nibble(c: u8, lowercase_only: bool) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' if !lowercase_only => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some(nibble(*hi, lowercase_only)? << 4 | nibble(*lo, lowercase_only)?),
            _ => None,
        })
        .collect()
}

/// Mints `base64url(payload:exp:hex(hmac))`, with `exp = now + ttl` (or 0,
/// "never expires", when `ttl_secs == 0`).
///
/// Byte-identical to the reference for the same inputs and clock. The
/// payload of an upgrade token is the gateway id; use
/// [`DEFAULT_UPGRADE_TTL_SECS`] for dials and policy calls.
pub fn mint_token(payload: &str, secret: &str, ttl_secs: u64, now: UnixTime) -> String {
    let exp = if ttl_secs > 0 {
        now.as_secs().saturating_add(ttl_secs)
    } else {
        0
    };
    let signed = format!("{payload}:{exp}");
    let sig = to_hex(&hmac_tag(secret.as_bytes(), &[signed.as_bytes()]));
    let raw = format!("{signed}:{sig}");
    BASE64URL_NOPAD.encode(raw.as_bytes())
}

/// The parts of a structurally valid token.
struct ParsedToken {
    payload: String,
    exp: u64,
    exp_text: String,
    sig: Vec<u8>,
}

fn parse_token(token: &str) -> Result<ParsedToken, TokenError> {
    if token.is_empty() {
        return Err(TokenError::malformed("the token is empty"));
    }
    let raw = b64url_decode(token)
        .map_err(|e| TokenError::malformed(format!("not canonical base64url ({e})")))?;
    let raw = String::from_utf8(raw)
        .map_err(|_| TokenError::malformed("the decoded token is not UTF-8"))?;
    let mut parts = raw.rsplitn(3, ':');
    let (Some(sig), Some(exp_text), Some(payload)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::malformed(
            "expected three ':'-separated parts (payload:exp:signature)",
        ));
    };
    let exp = parse_canonical_u64(exp_text).ok_or_else(|| {
        TokenError::malformed(format!(
            "exp {exp_text:?} is not a canonical decimal number of Unix seconds"
        ))
    })?;
    if sig.is_empty() {
        return Err(TokenError::malformed("the signature is empty"));
    }
    let sig = from_hex(sig, true)
        .ok_or_else(|| TokenError::malformed("the signature is not lowercase hex"))?;
    Ok(ParsedToken {
        payload: payload.to_owned(),
        exp,
        exp_text: exp_text.to_owned(),
        sig,
    })
}

/// `s` as a u64 when it is written canonically: ASCII digits only, no sign,
/// no leading zero (except `0` itself), no overflow.
fn parse_canonical_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

/// Reads a token's payload (the gateway id, for an upgrade token) without
/// checking its expiry or signature.
///
/// The connector uses this to pick the gateway's secret list before calling
/// [`verify_token`]. Never trust the result for anything else.
pub fn peek_payload(token: &str) -> Result<String, TokenError> {
    parse_token(token).map(|t| t.payload)
}

/// Verifies an upgrade token against a rotation list of secrets (primary
/// first) at `now`, and returns its payload.
///
/// - `exp == 0` never expires; otherwise the token is valid while
///   `now <= exp` (no clock-skew leeway).
/// - Empty secrets are skipped; a list with no non-empty secret is
///   [`TokenError::NoSecrets`].
/// - Signatures are compared in constant time.
pub fn verify_token(token: &str, secrets: &[&str], now: UnixTime) -> Result<String, TokenError> {
    let parsed = parse_token(token)?;
    if parsed.exp != 0 && now.as_secs() > parsed.exp {
        return Err(TokenError::Expired {
            exp: UnixTime::from_secs(parsed.exp),
            now,
        });
    }
    let mut any_secret = false;
    let mut matched = false;
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        any_secret = true;
        let tag = hmac_tag(
            secret.as_bytes(),
            &[parsed.payload.as_bytes(), b":", parsed.exp_text.as_bytes()],
        );
        // No early exit: every configured secret costs the same.
        matched |= ct_eq(&tag, &parsed.sig);
    }
    if !any_secret {
        return Err(TokenError::NoSecrets);
    }
    if matched {
        Ok(parsed.payload)
    } else {
        Err(TokenError::BadSignature)
    }
}

/// Signs a delivery body: lowercase hex HMAC-SHA256 keyed with `key` over
/// `"<ts>.<body>"` (the raw body bytes, exactly as sent).
///
/// Send it as [`DELIVERY_SIGNATURE_HEADER`], with `ts` as
/// [`DELIVERY_TIMESTAMP_HEADER`].
pub fn sign_delivery(body: &[u8], key: &str, ts: UnixTime) -> String {
    let ts = ts.as_secs().to_string();
    to_hex(&hmac_tag(key.as_bytes(), &[ts.as_bytes(), b".", body]))
}

/// Verifies a delivery signature from its two headers.
///
/// The signed string is the timestamp header (surrounding whitespace
/// removed), a `.`, and the raw body. The timestamp must be within
/// [`DELIVERY_WINDOW_SECS`] of `now` (the bound itself is accepted); empty
/// keys are skipped; comparison is constant-time. There is no replay cache,
/// only the window.
pub fn verify_delivery(
    body: &[u8],
    timestamp_header: Option<&str>,
    signature_header: Option<&str>,
    keys: &[&str],
    now: UnixTime,
) -> Result<(), DeliveryError> {
    let ts_text = timestamp_header
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(DeliveryError::MissingTimestamp)?;
    let sig_text = signature_header
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(DeliveryError::MissingSignature)?;
    let ts: i64 = ts_text.parse().map_err(|_| DeliveryError::BadTimestamp {
        value: ts_text.to_owned(),
    })?;
    let skew = i128::from(now.as_secs()) - i128::from(ts);
    if skew.unsigned_abs() > u128::from(DELIVERY_WINDOW_SECS) {
        return Err(DeliveryError::OutsideWindow { ts, now });
    }
    let sig = from_hex(sig_text, false).ok_or(DeliveryError::MalformedSignature)?;
    let mut any_key = false;
    let mut matched = false;
    for key in keys.iter().filter(|k| !k.is_empty()) {
        any_key = true;
        let tag = hmac_tag(key.as_bytes(), &[ts_text.as_bytes(), b".", body]);
        matched |= ct_eq(&tag, &sig);
    }
    if !any_key {
        return Err(DeliveryError::NoKeys);
    }
    if matched {
        Ok(())
    } else {
        Err(DeliveryError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_case_rules() {
        assert_eq!(to_hex(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(from_hex("00abff", true), Some(vec![0x00, 0xab, 0xff]));
        assert_eq!(from_hex("00ABff", true), None);
        assert_eq!(from_hex("00ABff", false), Some(vec![0x00, 0xab, 0xff]));
        assert_eq!(from_hex("abc", false), None);
        assert_eq!(from_hex("zz", false), None);
    }

    #[test]
    fn canonical_u64() {
        assert_eq!(parse_canonical_u64("0"), Some(0));
        assert_eq!(parse_canonical_u64("300"), Some(300));
        assert_eq!(parse_canonical_u64("0300"), None);
        assert_eq!(parse_canonical_u64("+300"), None);
        assert_eq!(parse_canonical_u64("-1"), None);
        assert_eq!(parse_canonical_u64(""), None);
        assert_eq!(parse_canonical_u64("18446744073709551616"), None);
    }

    #[test]
    fn ct_eq_basics() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(ct_eq(b"", b""));
    }
}
