//! Token and delivery-signature verification edge cases: tampering,
//! non-canonical encodings, empty secrets, window bounds.

use base64::Engine as _;
use relay_core::UnixTime;
use relay_core::auth::{
    DELIVERY_WINDOW_SECS, DeliveryError, TokenError, ct_eq, mint_token, peek_payload,
    sign_delivery, verify_delivery, verify_token,
};

const NOW: u64 = 1_700_000_000;

fn now() -> UnixTime {
    UnixTime::from_secs(NOW)
}

fn b64(raw: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw.as_bytes())
}

fn hmac_hex(secret: &str, msg: &str) -> String {
    // Recover the signature of a freshly minted ttl-0 token for `msg`
    // ("payload:exp" with exp == 0 only).
    let token = mint_token(
        msg.strip_suffix(":0").expect("msg ends with :0"),
        secret,
        0,
        now(),
    );
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .expect("b64");
    let raw = String::from_utf8(raw).expect("utf8");
    raw.rsplit(':').next().expect("sig").to_owned()
}

#[test]
fn every_single_byte_alteration_of_a_valid_token_fails() {
    for (payload, ttl) in [("gw-1", 300), ("gw:with:colons", 60), ("gateway-123", 0)] {
        let token = mint_token(payload, "secret", ttl, now());
        assert_eq!(
            verify_token(&token, &["secret"], now()).as_deref(),
            Ok(payload)
        );
        let bytes = token.as_bytes();
        let mut tried = 0usize;
        for i in 0..bytes.len() {
            for b in 0u8..=255 {
                if b == bytes[i] {
                    continue;
                }
                let mut altered = bytes.to_vec();
                altered[i] = b;
                // Non-UTF-8 alterations cannot even be passed as &str.
                let Ok(altered) = String::from_utf8(altered) else {
                    continue;
                };
                tried += 1;
                assert!(
                    verify_token(&altered, &["secret"], now()).is_err(),
                    "alteration at {i} to {b:#04x} verified: {altered}"
                );
            }
        }
        assert!(tried > bytes.len() * 100, "tried only {tried}");
    }
}

#[test]
fn truncations_and_extensions_fail() {
    let token = mint_token("gw-1", "secret", 300, now());
    for len in 0..token.len() {
        assert!(verify_token(&token[..len], &["secret"], now()).is_err());
    }
    for suffix in ["A", "AA", "==", " ", "\n"] {
        assert!(verify_token(&format!("{token}{suffix}"), &["secret"], now()).is_err());
    }
}

#[test]
fn padded_token_is_accepted_like_the_reference() {
    let token = mint_token("gw-1", "secret", 300, now());
    let padding = (4 - token.len() % 4) % 4;
    assert!(padding > 0, "pick a payload whose token needs padding");
    let padded = format!("{token}{}", "=".repeat(padding));
    assert_eq!(
        verify_token(&padded, &["secret"], now()).as_deref(),
        Ok("gw-1")
    );
}

#[test]
fn non_canonical_exp_is_rejected() {
    // A signature computed over the non-canonical text itself still fails.
    let sig = hmac_hex("secret", "gw-1:0");
    let ok = b64(&format!("gw-1:0:{sig}"));
    assert_eq!(verify_token(&ok, &["secret"], now()).as_deref(), Ok("gw-1"));
    for exp in ["00", "+0", "-0", " 0", "0 ", "0x0", ""] {
        let token = b64(&format!("gw-1:{exp}:{sig}"));
        assert!(
            matches!(
                verify_token(&token, &["secret"], now()),
                Err(TokenError::Malformed { .. })
            ),
            "exp {exp:?} accepted"
        );
    }
}

#[test]
fn exp_0300_is_rejected_even_when_signed_as_written() {
    // Sign "gw-1:0300" literally: the verifier re-formats exp, so no match.
    let token_for_0300 = b64(&format!(
        "gw-1:0300:{}",
        sign_literal("secret", "gw-1:0300")
    ));
    assert!(matches!(
        verify_token(&token_for_0300, &["secret"], UnixTime::from_secs(10)),
        Err(TokenError::Malformed { .. })
    ));
}

/// Lowercase hex HMAC-SHA256 of an arbitrary string.
fn sign_literal(secret: &str, msg: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(msg.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn literal_signer_agrees_with_mint() {
    assert_eq!(
        sign_literal("secret", "gw-1:0"),
        hmac_hex("secret", "gw-1:0")
    );
}

#[test]
fn uppercase_signature_is_rejected() {
    let sig = sign_literal("secret", "gw-1:0").to_uppercase();
    let token = b64(&format!("gw-1:0:{sig}"));
    assert!(matches!(
        verify_token(&token, &["secret"], now()),
        Err(TokenError::Malformed { .. })
    ));
}

#[test]
fn malformed_tokens_are_typed() {
    let cases = [
        String::new(),
        "!!!".to_owned(),
        b64("no-colons"),
        b64("one:colon"),
        b64("gw-1:abc:00"),
        b64("gw-1:0:"),
        b64("gw-1:0:zz"),
        b64("gw-1:0:abc"),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xff, 0xfe, b':', b'0', b':']),
    ];
    for token in cases {
        let err = verify_token(&token, &["secret"], now()).expect_err("must reject");
        assert!(
            matches!(err, TokenError::Malformed { .. }),
            "{token:?} gave {err:?}"
        );
        assert!(peek_payload(&token).is_err());
        assert!(err.to_string().starts_with("malformed upgrade token: "));
    }
}

#[test]
fn wrong_length_signature_is_a_bad_signature() {
    let token = b64("gw-1:0:abcd");
    assert_eq!(
        verify_token(&token, &["secret"], now()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn empty_payload_is_allowed() {
    let token = mint_token("", "secret", 60, now());
    assert_eq!(verify_token(&token, &["secret"], now()).as_deref(), Ok(""));
}

#[test]
fn empty_secrets_are_skipped() {
    let token = mint_token("gw-1", "secret", 60, now());
    assert_eq!(
        verify_token(&token, &["", "secret"], now()).as_deref(),
        Ok("gw-1")
    );
    assert_eq!(
        verify_token(&token, &["", ""], now()),
        Err(TokenError::NoSecrets)
    );
    assert_eq!(verify_token(&token, &[], now()), Err(TokenError::NoSecrets));
    // A token minted with the empty secret never verifies.
    let empty = mint_token("gw-1", "", 60, now());
    assert_eq!(
        verify_token(&empty, &[""], now()),
        Err(TokenError::NoSecrets)
    );
    assert_eq!(
        verify_token(&empty, &["secret"], now()),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn expiry_is_checked_before_the_signature() {
    let token = mint_token("gw-1", "secret", 1, UnixTime::from_secs(10));
    assert_eq!(
        verify_token(&token, &["wrong"], UnixTime::from_secs(12)),
        Err(TokenError::Expired {
            exp: UnixTime::from_secs(11),
            now: UnixTime::from_secs(12)
        })
    );
}

#[test]
fn peek_does_not_check_expiry_or_signature() {
    let token = mint_token("gw-7", "secret", 1, UnixTime::from_secs(10));
    assert_eq!(peek_payload(&token).as_deref(), Ok("gw-7"));
}

#[test]
fn mint_saturates_instead_of_overflowing() {
    let token = mint_token("gw-1", "secret", 10, UnixTime::from_secs(u64::MAX - 1));
    assert_eq!(
        verify_token(&token, &["secret"], UnixTime::from_secs(u64::MAX)).as_deref(),
        Ok("gw-1")
    );
}

#[test]
fn error_messages_say_what_to_do() {
    let expired = TokenError::Expired {
        exp: UnixTime::from_secs(5),
        now: UnixTime::from_secs(6),
    };
    assert_eq!(
        expired.to_string(),
        "upgrade token expired at 5 (now 6); mint a fresh token for every dial and check the clocks"
    );
    assert!(TokenError::BadSignature.to_string().contains("secret"));
}

#[test]
fn ct_eq_is_exact() {
    assert!(ct_eq(&[1, 2, 3], &[1, 2, 3]));
    for i in 0..3 {
        let mut b = [1u8, 2, 3];
        b[i] ^= 0x80;
        assert!(!ct_eq(&[1, 2, 3], &b));
    }
    assert!(!ct_eq(&[1, 2, 3], &[1, 2]));
}

// ---- delivery signatures ----

#[test]
fn delivery_window_is_inclusive_on_both_sides() {
    let body = b"{}";
    let key = "delivery-key";
    for offset in [
        -(DELIVERY_WINDOW_SECS as i64),
        0,
        DELIVERY_WINDOW_SECS as i64,
    ] {
        let ts = NOW.checked_add_signed(offset).expect("in range");
        let sig = sign_delivery(body, key, UnixTime::from_secs(ts));
        assert_eq!(
            verify_delivery(body, Some(&ts.to_string()), Some(&sig), &[key], now()),
            Ok(()),
            "offset {offset}"
        );
    }
    for offset in [
        -(DELIVERY_WINDOW_SECS as i64) - 1,
        DELIVERY_WINDOW_SECS as i64 + 1,
    ] {
        let ts = NOW.checked_add_signed(offset).expect("in range");
        let sig = sign_delivery(body, key, UnixTime::from_secs(ts));
        assert!(
            matches!(
                verify_delivery(body, Some(&ts.to_string()), Some(&sig), &[key], now()),
                Err(DeliveryError::OutsideWindow { .. })
            ),
            "offset {offset}"
        );
    }
}

#[test]
fn delivery_headers_missing_empty_or_garbage() {
    let body = b"x";
    let sig = sign_delivery(body, "k", now());
    let ts = NOW.to_string();
    assert_eq!(
        verify_delivery(body, Some(""), Some(&sig), &["k"], now()),
        Err(DeliveryError::MissingTimestamp)
    );
    assert_eq!(
        verify_delivery(body, Some(&ts), None, &["k"], now()),
        Err(DeliveryError::MissingSignature)
    );
    assert_eq!(
        verify_delivery(body, Some(&ts), Some("  "), &["k"], now()),
        Err(DeliveryError::MissingSignature)
    );
    assert_eq!(
        verify_delivery(body, Some("17e8"), Some(&sig), &["k"], now()),
        Err(DeliveryError::BadTimestamp {
            value: "17e8".to_owned()
        })
    );
    assert_eq!(
        verify_delivery(body, Some(&ts), Some("not-hex"), &["k"], now()),
        Err(DeliveryError::MalformedSignature)
    );
    assert_eq!(
        verify_delivery(body, Some(&ts), Some(&sig), &["", ""], now()),
        Err(DeliveryError::NoKeys)
    );
}

#[test]
fn delivery_signature_covers_body_and_timestamp() {
    let body = b"{\"a\":1}";
    let sig = sign_delivery(body, "k", now());
    let ts = NOW.to_string();
    assert_eq!(
        verify_delivery(b"{\"a\":2}", Some(&ts), Some(&sig), &["k"], now()),
        Err(DeliveryError::BadSignature)
    );
    assert_eq!(
        verify_delivery(
            body,
            Some(&(NOW + 1).to_string()),
            Some(&sig),
            &["k"],
            now()
        ),
        Err(DeliveryError::BadSignature)
    );
    // Rotation: second key matches; uppercase hex is accepted.
    assert_eq!(
        verify_delivery(
            body,
            Some(&ts),
            Some(&sig.to_uppercase()),
            &["old", "k"],
            now()
        ),
        Ok(())
    );
}

#[test]
fn padding_inside_a_token_is_malformed() {
    // Two padded blocks that decode, run together, to a validly signed
    // token: padding is only canonical at the end.
    let token = mint_token("gw-1", "secret", 300, now());
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&token)
        .expect("b64");
    let padded = base64::engine::general_purpose::URL_SAFE;
    let spliced = format!("{}{}", padded.encode(&raw[..1]), padded.encode(&raw[1..]));
    assert!(spliced[..4].ends_with("=="), "{spliced}");
    let err = verify_token(&spliced, &["secret"], now()).expect_err("padding inside");
    assert!(matches!(err, TokenError::Malformed { .. }), "{err:?}");
    assert!(peek_payload(&spliced).is_err());
}
