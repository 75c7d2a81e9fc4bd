//! The reference's token vectors (docs/protocol.md, "Authentication"): every vector byte for byte, and the behavioural
//! cases of the reference's auth tests.

use base64::Engine as _;
use relay_core::UnixTime;
use relay_core::auth::{
    DeliveryError, TokenError, mint_token, peek_payload, sign_delivery, verify_delivery,
    verify_token,
};

fn b64(raw: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw.as_bytes())
}

fn decoded(token: &str) -> String {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .expect("test token is base64url");
    String::from_utf8(bytes).expect("test token is UTF-8")
}

struct Vector {
    payload: &'static str,
    secret: &'static str,
    ttl: u64,
    now: u64,
    signed: &'static str,
    sig: &'static str,
    token: &'static str,
}

const VECTORS: &[Vector] = &[
    Vector {
        payload: "gw-1",
        secret: "secret",
        ttl: 0,
        now: 1_700_000_000,
        signed: "gw-1:0",
        sig: "513c6cc39b9abf2fa7587e190f5851db200c73400d140e56b10411deeb021b85",
        token: "Z3ctMTowOjUxM2M2Y2MzOWI5YWJmMmZhNzU4N2UxOTBmNTg1MWRiMjAwYzczNDAwZDE0MGU1NmIxMDQxMWRlZWIwMjFiODU",
    },
    Vector {
        payload: "gateway-123",
        secret: "s3cr3t-secret",
        ttl: 0,
        now: 42,
        signed: "gateway-123:0",
        sig: "d9b5d344e632b3142b39d1a5db66068794b6ddf413647766f73016e45c810c47",
        token: "Z2F0ZXdheS0xMjM6MDpkOWI1ZDM0NGU2MzJiMzE0MmIzOWQxYTVkYjY2MDY4Nzk0YjZkZGY0MTM2NDc3NjZmNzMwMTZlNDVjODEwYzQ3",
    },
    Vector {
        payload: "gw-1",
        secret: "secret",
        ttl: 300,
        now: 1_700_000_000,
        signed: "gw-1:1700000300",
        sig: "383d024c9f9a8c684b6baa451373c34c148084fee95320c6d4c8e3340e715718",
        token: "Z3ctMToxNzAwMDAwMzAwOjM4M2QwMjRjOWY5YThjNjg0YjZiYWE0NTEzNzNjMzRjMTQ4MDg0ZmVlOTUzMjBjNmQ0YzhlMzM0MGU3MTU3MTg",
    },
    Vector {
        payload: "gw:with:colons",
        secret: "secret",
        ttl: 60,
        now: 1_700_000_000,
        signed: "gw:with:colons:1700000060",
        sig: "8833ab15bac17cb3d258f702477a346be915cdf87a1fe653e5e96ef00ae78246",
        token: "Z3c6d2l0aDpjb2xvbnM6MTcwMDAwMDA2MDo4ODMzYWIxNWJhYzE3Y2IzZDI1OGY3MDI0NzdhMzQ2YmU5MTVjZGY4N2ExZmU2NTNlNWU5NmVmMDBhZTc4MjQ2",
    },
    Vector {
        payload: "gw-hermes",
        secret: "ssssssssssssssssssssssssssssssssssssssssssssssss",
        ttl: 300,
        now: 1_750_000_000,
        signed: "gw-hermes:1750000300",
        sig: "4fcf7215b781efb84fb9381ef601c05d5bcc7231f5540eda0b1267722aad8875",
        token: "Z3ctaGVybWVzOjE3NTAwMDAzMDA6NGZjZjcyMTViNzgxZWZiODRmYjkzODFlZjYwMWMwNWQ1YmNjNzIzMWY1NTQwZWRhMGIxMjY3NzIyYWFkODg3NQ",
    },
];

#[test]
fn every_token_vector_mints_byte_for_byte() {
    for v in VECTORS {
        let token = mint_token(v.payload, v.secret, v.ttl, UnixTime::from_secs(v.now));
        assert_eq!(token, v.token, "token for {:?}", v.signed);
        assert_eq!(decoded(&token), format!("{}:{}", v.signed, v.sig));
        assert_eq!(b64(&format!("{}:{}", v.signed, v.sig)), v.token);
    }
}

#[test]
fn the_long_secret_vector_uses_48_s() {
    assert_eq!(VECTORS[4].secret.len(), 48);
    assert!(VECTORS[4].secret.bytes().all(|b| b == b's'));
}

#[test]
fn every_token_vector_verifies_to_its_payload() {
    for v in VECTORS {
        let now = UnixTime::from_secs(v.now);
        assert_eq!(
            verify_token(v.token, &[v.secret], now).as_deref(),
            Ok(v.payload)
        );
        assert_eq!(peek_payload(v.token).as_deref(), Ok(v.payload));
    }
}

#[test]
fn delivery_vector() {
    let body = br#"{"event":"inbound"}"#;
    let ts = UnixTime::from_secs(1_700_000_000);
    let sig = sign_delivery(body, "delivery-key", ts);
    assert_eq!(
        sig,
        "6381f2e167a74e5cc059cfe80d23e1233749fa0d12b8d1691674a1945e5c36fa"
    );
    assert_eq!(
        verify_delivery(body, Some("1700000000"), Some(&sig), &["delivery-key"], ts),
        Ok(())
    );
}

// ---- behavioural cases (§7.4) ----

const BASE: u64 = 1_700_000_000;

#[test]
fn ttl_60_token_verifies_against_its_secret() {
    let now = UnixTime::from_secs(BASE);
    let token = mint_token("gw-1", "secret", 60, now);
    assert_eq!(
        verify_token(&token, &["secret"], now).as_deref(),
        Ok("gw-1")
    );
}

#[test]
fn wrong_secret_is_a_bad_signature() {
    let now = UnixTime::from_secs(BASE);
    let token = mint_token("gw-1", "secret", 60, now);
    assert_eq!(
        verify_token(&token, &["wrong"], now),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn rotation_list_accepts_the_old_secret() {
    let now = UnixTime::from_secs(BASE);
    let token = mint_token("gw-1", "old-secret", 60, now);
    assert_eq!(
        verify_token(&token, &["new-secret", "old-secret"], now).as_deref(),
        Ok("gw-1")
    );
    assert_eq!(
        verify_token(&token, &["new-secret"], now),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn payload_with_colons_round_trips() {
    let now = UnixTime::from_secs(BASE);
    let token = mint_token("gw:with:colons", "secret", 60, now);
    assert_eq!(
        verify_token(&token, &["secret"], now).as_deref(),
        Ok("gw:with:colons")
    );
    assert_eq!(peek_payload(&token).as_deref(), Ok("gw:with:colons"));
}

#[test]
fn ttl_1_token_is_expired_60_s_later() {
    let base = UnixTime::from_secs(BASE);
    let token = mint_token("gw-1", "secret", 1, base);
    assert_eq!(
        verify_token(&token, &["secret"], base.saturating_add_secs(60)),
        Err(TokenError::Expired {
            exp: UnixTime::from_secs(BASE + 1),
            now: UnixTime::from_secs(BASE + 60),
        })
    );
}

#[test]
fn ttl_0_never_expires() {
    let token = mint_token("gw-1", "secret", 0, UnixTime::from_secs(BASE));
    for now in [0, BASE, BASE + 10_000_000, u64::MAX] {
        assert_eq!(
            verify_token(&token, &["secret"], UnixTime::from_secs(now)).as_deref(),
            Ok("gw-1"),
            "at {now}"
        );
    }
}

#[test]
fn token_is_valid_at_exactly_exp_and_not_one_second_later() {
    let base = UnixTime::from_secs(BASE);
    let token = mint_token("gw-1", "secret", 300, base);
    let exp = base.saturating_add_secs(300);
    assert_eq!(
        verify_token(&token, &["secret"], exp).as_deref(),
        Ok("gw-1")
    );
    assert!(matches!(
        verify_token(&token, &["secret"], exp.saturating_add_secs(1)),
        Err(TokenError::Expired { .. })
    ));
}

#[test]
fn delivery_signature_behaviour() {
    let now = UnixTime::from_secs(BASE);
    let body = br#"{"event":"inbound","n":1}"#;
    let ts = BASE.to_string();
    let sig = sign_delivery(body, "delivery-key", now);
    assert_eq!(
        verify_delivery(body, Some(&ts), Some(&sig), &["delivery-key"], now),
        Ok(())
    );
    assert_eq!(
        verify_delivery(body, Some(&ts), Some(&sig), &["wrong"], now),
        Err(DeliveryError::BadSignature)
    );
    let stale = UnixTime::from_secs(BASE - 9999);
    let stale_sig = sign_delivery(body, "delivery-key", stale);
    assert_eq!(
        verify_delivery(
            body,
            Some(&(BASE - 9999).to_string()),
            Some(&stale_sig),
            &["delivery-key"],
            now
        ),
        Err(DeliveryError::OutsideWindow {
            ts: i64::try_from(BASE - 9999).expect("fits"),
            now
        })
    );
    assert_eq!(
        verify_delivery(body, None, None, &["delivery-key"], now),
        Err(DeliveryError::MissingTimestamp)
    );
}
