//! Upgrade tokens and delivery signatures (PROTOCOL.md part 2 §7).

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::time::UnixTime;

type HmacSha256 = Hmac<Sha256>;

/// Lowercase hex of HMAC-SHA256(`key`, `msg`).
fn hmac_hex(key: &[u8], msg: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(msg);
    let bytes = mac.finalize().into_bytes();
    let mut out = String::with_capacity(64);
    for b in bytes {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
    }
    out
}

/// Mints `base64url(payload:exp:hex(hmac))`, with `exp = now + ttl` (or 0,
/// "never expires", when `ttl_secs == 0`).
pub fn mint_token(payload: &str, secret: &str, ttl_secs: u64, now: UnixTime) -> String {
    let exp = if ttl_secs > 0 {
        now.as_secs().saturating_add(ttl_secs)
    } else {
        0
    };
    let signed = format!("{payload}:{exp}");
    let sig = hmac_hex(secret.as_bytes(), signed.as_bytes());
    let raw = format!("{signed}:{sig}");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_gw1_ttl0() {
        assert_eq!(
            mint_token("gw-1", "secret", 0, UnixTime::from_secs(123)),
            "Z3ctMTowOjUxM2M2Y2MzOWI5YWJmMmZhNzU4N2UxOTBmNTg1MWRiMjAwYzczNDAwZDE0MGU1NmIxMDQxMWRlZWIwMjFiODU"
        );
    }
}
