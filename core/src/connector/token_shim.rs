//! Upgrade-token verification used by the connector model.
//!
//! This mirrors the signatures `crate::auth` is meant to expose
//! (`verify_token`, `peek_payload`, `TokenError`) and is used only through the
//! `auth` alias in the parent module, so switching to the crate-wide
//! implementation is a one-line change there. The algorithm is PROTOCOL.md
//! part 2 §7.2.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::time::UnixTime;

/// Why a token was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Not base64url, not UTF-8, or not `payload:exp:sig`.
    Malformed,
    /// `exp` is non-zero and in the past.
    Expired,
    /// No secret in the rotation list produced the signature.
    BadSignature,
}

/// Splits a token into `(payload, exp, sig)`.
fn split(token: &str) -> Result<(String, u64, String), TokenError> {
    let trimmed = token.trim_end_matches('=');
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed.as_bytes())
        .map_err(|_| TokenError::Malformed)?;
    let text = String::from_utf8(raw).map_err(|_| TokenError::Malformed)?;
    let (rest, sig) = text.rsplit_once(':').ok_or(TokenError::Malformed)?;
    let (payload, exp) = rest.rsplit_once(':').ok_or(TokenError::Malformed)?;
    let exp: u64 = exp.parse().map_err(|_| TokenError::Malformed)?;
    Ok((payload.to_owned(), exp, sig.to_owned()))
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| match p {
            [hi, lo] => Some((nibble(*hi)? << 4) | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

/// The payload of a well-formed token, without checking expiry or signature.
pub fn peek_payload(token: &str) -> Result<String, TokenError> {
    split(token).map(|(payload, _, _)| payload)
}

/// Verifies `token` against each secret of the rotation list (empty secrets
/// are skipped) and returns its payload. A token is valid at `now == exp`;
/// `exp == 0` never expires.
pub fn verify_token(token: &str, secrets: &[&str], now: UnixTime) -> Result<String, TokenError> {
    let (payload, exp, sig) = split(token)?;
    if exp != 0 && now.as_secs() > exp {
        return Err(TokenError::Expired);
    }
    let sig = hex_decode(&sig).ok_or(TokenError::Malformed)?;
    let signed = format!("{payload}:{exp}");
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            continue;
        };
        mac.update(signed.as_bytes());
        // `verify_slice` compares in constant time and refuses other lengths.
        if mac.verify_slice(&sig).is_ok() {
            return Ok(payload);
        }
    }
    Err(TokenError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::mint_token;

    #[test]
    fn published_vectors_verify() {
        let t = "Z3ctMTowOjUxM2M2Y2MzOWI5YWJmMmZhNzU4N2UxOTBmNTg1MWRiMjAwYzczNDAwZDE0MGU1NmIxMDQxMWRlZWIwMjFiODU";
        assert_eq!(
            verify_token(t, &["secret"], UnixTime::from_secs(9)).as_deref(),
            Ok("gw-1")
        );
        assert_eq!(
            verify_token(t, &["wrong"], UnixTime::from_secs(9)),
            Err(TokenError::BadSignature)
        );
        let c = "Z3c6d2l0aDpjb2xvbnM6MTcwMDAwMDA2MDo4ODMzYWIxNWJhYzE3Y2IzZDI1OGY3MDI0NzdhMzQ2YmU5MTVjZGY4N2ExZmU2NTNlNWU5NmVmMDBhZTc4MjQ2";
        assert_eq!(peek_payload(c).as_deref(), Ok("gw:with:colons"));
        assert_eq!(
            verify_token(c, &["", "secret"], UnixTime::from_secs(1_700_000_060)).as_deref(),
            Ok("gw:with:colons")
        );
        assert_eq!(
            verify_token(c, &["secret"], UnixTime::from_secs(1_700_000_061)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn rotation_and_garbage() {
        let now = UnixTime::from_secs(1_000);
        let t = mint_token("gw", "old", 60, now);
        assert!(verify_token(&t, &["new", "old"], now).is_ok());
        assert_eq!(peek_payload("%%%"), Err(TokenError::Malformed));
        assert_eq!(peek_payload("Z3c"), Err(TokenError::Malformed));
        assert_eq!(verify_token(&t, &[], now), Err(TokenError::BadSignature));
    }
}
