//! Connector model: `/relay/provision`, `/relay/enroll`, `/relay/policy`.

#[path = "connector_harness.rs"]
mod harness;

use harness::*;
use relay_connector::{Accept, Connector, ConnectorConfig, DEFAULT_TENANT};
use relay_core::auth::mint_token;
use serde_json::Value;

fn json(body: &str) -> Value {
    serde_json::from_str(body).expect("JSON body")
}

const PROVISION: &str = r#"{"gatewayId": "gw-p", "platform": "discord", "botId": "app-1", "gatewayEndpoint": "", "routeKeys": ["guild-1"], "instanceId": "inst-1", "wakeUrl": "http://gw-p.test/wake"}"#;

#[test]
fn provision_issues_a_stable_record_usable_for_upgrades() {
    let mut c = Connector::new(ConnectorConfig::default(), 3);
    let r = c.handle_provision(Some("Bearer portal-token"), PROVISION.as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    let keys: Vec<&str> = r
        .body
        .trim_matches(|c| c == '{' || c == '}')
        .split(',')
        .filter_map(|kv| kv.split(':').next())
        .collect();
    assert_eq!(
        keys,
        [
            r#""secret""#,
            r#""deliveryKey""#,
            r#""tenant""#,
            r#""gatewayId""#,
            r#""routeKeys""#
        ]
    );
    let v = json(&r.body);
    let secret = v["secret"].as_str().expect("secret").to_owned();
    assert_eq!(secret.len(), 64);
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(v["deliveryKey"].as_str().map(str::len), Some(64));
    assert_ne!(v["deliveryKey"], v["secret"]);
    assert_eq!(v["tenant"], DEFAULT_TENANT);
    assert_eq!(v["gatewayId"], "gw-p");
    assert_eq!(v["routeKeys"], serde_json::json!(["guild-1"]));
    assert_eq!(c.wake_url("gw-p"), Some("http://gw-p.test/wake"));
    assert_eq!(c.gateway_tenant("gw-p"), Some(DEFAULT_TENANT));

    // A second platform under the same gateway id gets the same record.
    let second = PROVISION.replace("discord", "telegram");
    let r2 = c.handle_provision(Some("Bearer portal-token"), second.as_bytes());
    assert_eq!(json(&r2.body), v);
    let rec = c.provision_record("gw-p").expect("record");
    assert_eq!(rec.platforms.len(), 2);
    assert_eq!(rec.instance_id.as_deref(), Some("inst-1"));

    // The issued secret authenticates upgrades.
    let token = mint_token("gw-p", &secret, 300, WALL);
    let headers = vec![("Authorization".to_owned(), format!("Bearer {token}"))];
    let Accept::Accepted(sid) = c.accept(&headers, ms(0), WALL) else {
        panic!("refused");
    };
    assert!(drain(&mut c).closes.is_empty());
    assert_eq!(c.instance_of(sid), Some("gw-p"));
}

#[test]
fn provision_is_reproducible_from_the_seed() {
    let issue = |seed| {
        let mut c = Connector::new(ConnectorConfig::default(), seed);
        c.handle_provision(Some("Bearer t"), PROVISION.as_bytes())
            .body
    };
    assert_eq!(issue(5), issue(5));
    assert_ne!(issue(5), issue(6));
}

#[test]
fn provision_errors() {
    let mut c = Connector::new(ConnectorConfig::default(), 3);
    let r = c.handle_provision(None, PROVISION.as_bytes());
    assert_eq!(r.status, 401);
    assert!(json(&r.body)["error"].is_string());
    assert_eq!(
        c.handle_provision(Some("Basic x"), PROVISION.as_bytes())
            .status,
        401
    );
    for bad in [
        "",
        "nope",
        "[]",
        r#"{"platform": "discord"}"#,
        r#"{"gatewayId": 5, "platform": "x"}"#,
    ] {
        let r = c.handle_provision(Some("Bearer t"), bad.as_bytes());
        assert_eq!(r.status, 400, "{bad}");
        assert!(json(&r.body)["error"].is_string());
    }
    let empty = r#"{"gatewayId": "", "platform": "discord"}"#;
    assert_eq!(
        c.handle_provision(Some("Bearer t"), empty.as_bytes())
            .status,
        400
    );

    // Registered identities: unknown bearers are refused, tenants are kept apart.
    c.add_identity("alice-token", "t-alice");
    c.add_identity("bob-token", "t-bob");
    assert_eq!(
        c.handle_provision(Some("Bearer t"), PROVISION.as_bytes())
            .status,
        401
    );
    let ok = c.handle_provision(Some("Bearer alice-token"), PROVISION.as_bytes());
    assert_eq!(json(&ok.body)["tenant"], "t-alice");
    let r = c.handle_provision(Some("Bearer bob-token"), PROVISION.as_bytes());
    assert_eq!(r.status, 403);

    // A revoked gateway cannot be provisioned again.
    c.revoke("gw-p", ms(0));
    let r = c.handle_provision(Some("Bearer alice-token"), PROVISION.as_bytes());
    assert_eq!(r.status, 403);
    assert!(c.stats().http_errors >= 10);
    assert_eq!(c.stats().http_ok, 1);
}

#[test]
fn enroll_redeems_a_single_use_token() {
    let mut c = Connector::new(ConnectorConfig::default(), 3);
    c.add_enrollment_token("enr-1", "t-1");
    let body = r#"{"enrollmentToken": "enr-1", "gatewayId": "gw-e"}"#;
    assert_eq!(c.handle_enroll(None, body.as_bytes()).status, 401);
    let wrong = r#"{"enrollmentToken": "enr-x", "gatewayId": "gw-e"}"#;
    assert_eq!(
        c.handle_enroll(Some("Bearer id"), wrong.as_bytes()).status,
        403
    );
    assert_eq!(c.handle_enroll(Some("Bearer id"), b"{}").status, 400);

    let r = c.handle_enroll(Some("Bearer id"), body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    let v = json(&r.body);
    assert_eq!(v["tenant"], "t-1");
    assert_eq!(v["gatewayId"], "gw-e");
    let secret = v["secret"].as_str().expect("secret").to_owned();
    assert_eq!(v["deliveryKey"].as_str().map(str::len), Some(64));
    assert!(v.get("routeKeys").is_none());

    let again = c.handle_enroll(Some("Bearer id"), body.as_bytes());
    assert_eq!(again.status, 403);
    assert_eq!(json(&again.body)["error"], "enrollment token already used");

    let token = mint_token("gw-e", &secret, 300, WALL);
    let headers = vec![("authorization".to_owned(), format!("Bearer {token}"))];
    assert!(matches!(
        c.accept(&headers, ms(0), WALL),
        Accept::Accepted(_)
    ));
    assert!(drain(&mut c).closes.is_empty());
}

#[test]
fn enroll_checks_the_identity_tenant_when_identities_are_registered() {
    let mut c = Connector::new(ConnectorConfig::default(), 3);
    c.add_identity("alice", "t-alice");
    c.add_enrollment_token("enr-bob", "t-bob");
    let body = r#"{"enrollmentToken": "enr-bob", "gatewayId": "gw-e"}"#;
    assert_eq!(
        c.handle_enroll(Some("Bearer mallory"), body.as_bytes())
            .status,
        401
    );
    assert_eq!(
        c.handle_enroll(Some("Bearer alice"), body.as_bytes())
            .status,
        403
    );
    // The refused attempt did not burn the token.
    c.add_identity("bob", "t-bob");
    assert_eq!(
        c.handle_enroll(Some("Bearer bob"), body.as_bytes()).status,
        200
    );
}

const POLICY: &str = r#"{"platform": "discord", "requireAddress": true, "freeResponseScopes": ["c-support", "c-help"], "allowOtherBots": false}"#;

#[test]
fn policy_is_authenticated_with_an_upgrade_token_and_stored() {
    let mut c = connector();
    let token = mint_token("gw-a", "sa", 300, WALL);
    let auth = format!("Bearer {token}");
    let r = c.handle_policy(Some(&auth), POLICY.as_bytes(), WALL);
    assert_eq!(r.status, 200, "{}", r.body);
    let p = c.policy("gw-a", "discord").expect("stored");
    assert!(p.require_address);
    assert!(!p.allow_other_bots);
    assert_eq!(p.free_response_scopes, ["c-support", "c-help"]);
    assert!(c.policy("gw-b", "discord").is_none());

    assert_eq!(c.handle_policy(None, POLICY.as_bytes(), WALL).status, 401);
    let forged = format!("Bearer {}", mint_token("gw-a", "wrong", 300, WALL));
    assert_eq!(
        c.handle_policy(Some(&forged), POLICY.as_bytes(), WALL)
            .status,
        401
    );
    let late = WALL.saturating_add_secs(301);
    let r = c.handle_policy(Some(&auth), POLICY.as_bytes(), late);
    assert_eq!(
        (r.status, json(&r.body)["error"].clone()),
        (401, "expired".into())
    );
    assert_eq!(
        c.handle_policy(Some(&auth), b"{\"requireAddress\": 1}", WALL)
            .status,
        400
    );
    c.revoke("gw-a", ms(0));
    assert_eq!(
        c.handle_policy(Some(&auth), POLICY.as_bytes(), WALL).status,
        410
    );
}

#[test]
fn routing_by_method_and_path() {
    let mut c = connector();
    let token = mint_token("gw-a", "sa", 300, WALL);
    let auth = format!("Bearer {token}");
    let r = c.handle_http(
        "POST",
        "/relay/policy/?x=1",
        Some(&auth),
        POLICY.as_bytes(),
        WALL,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        c.handle_http("GET", "/relay/policy", Some(&auth), b"", WALL)
            .status,
        405
    );
    assert_eq!(
        c.handle_http("POST", "/relay/other", None, b"", WALL)
            .status,
        404
    );
    let r = c.handle_http(
        "post",
        "/relay/provision",
        Some("Bearer t"),
        PROVISION.as_bytes(),
        WALL,
    );
    assert_eq!(r.status, 200);
    let enroll = r#"{"enrollmentToken": "none", "gatewayId": "g"}"#;
    assert_eq!(
        c.handle_http(
            "POST",
            "/relay/enroll",
            Some("Bearer t"),
            enroll.as_bytes(),
            WALL
        )
        .status,
        403
    );
}
