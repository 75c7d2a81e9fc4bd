//! Sans-IO provision / policy / enroll / identity-provider calls.

use relay_core::UnixTime;
use relay_core::auth::{mint_token, verify_token};
use relay_core::calls::{
    EnrollRequestBody, HttpCallError, HttpMethod, HttpRequest, IssuedCredentials, PolicyBody,
    ProvisionOutcome, ProvisionRequestBody, ProvisionResponseBody, ResolvedCredentials,
    enroll_env_vars, enroll_request, idp_token_request, merge_provision_outcomes,
    parse_enroll_response, parse_idp_token_response, parse_policy_response,
    parse_provision_response, policy_request, policy_request_for, provision_requests,
    render_env_file,
};
use relay_core::config::{IdpConfig, PlatformIdentity, RelayConfig};

fn body_str(req: &HttpRequest) -> &str {
    std::str::from_utf8(&req.body).expect("utf-8 body")
}

fn multi_config() -> RelayConfig {
    RelayConfig::builder("wss://c.example/relay")
        .identity("discord", "app-1")
        .identity("telegram", "bot-9")
        .endpoint("https://gw.example/in")
        .route_keys(["guild-1", "guild-2"])
        .allow_unauthenticated()
        .build()
        .expect("valid")
}

// ---- provision ----

#[test]
fn one_provision_request_per_platform_under_one_gateway_id() {
    let reqs = provision_requests(&multi_config(), "gw-host", "idp-token");
    assert_eq!(reqs.len(), 2);
    let (p0, r0) = &reqs[0];
    assert_eq!(p0, "discord");
    assert_eq!(r0.method, HttpMethod::Post);
    assert_eq!(r0.url, "https://c.example/relay/provision");
    assert_eq!(
        r0.headers,
        vec![
            ("Authorization".to_owned(), "Bearer idp-token".to_owned()),
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("Accept".to_owned(), "application/json".to_owned()),
        ]
    );
    assert_eq!(
        body_str(r0),
        r#"{"gatewayId":"gw-host","platform":"discord","botId":"app-1","gatewayEndpoint":"https://gw.example/in","routeKeys":["guild-1","guild-2"]}"#
    );
    assert_eq!(
        body_str(&reqs[1].1),
        r#"{"gatewayId":"gw-host","platform":"telegram","botId":"bot-9","gatewayEndpoint":"https://gw.example/in","routeKeys":["guild-1","guild-2"]}"#
    );
}

#[test]
fn instance_id_and_wake_url_only_when_set() {
    let c = RelayConfig::builder("https://c.example")
        .instance_id("inst-1")
        .wake_url("https://gw.example/wake")
        .allow_unauthenticated()
        .build()
        .expect("valid");
    let reqs = provision_requests(&c, "gw-1", "t");
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].0, "relay");
    assert_eq!(
        body_str(&reqs[0].1),
        r#"{"gatewayId":"gw-1","platform":"relay","botId":"","gatewayEndpoint":"","routeKeys":[],"instanceId":"inst-1","wakeUrl":"https://gw.example/wake"}"#
    );
    // Outbound-only, nothing optional: the keys are absent, not "".
    let c = RelayConfig::new("https://c.example");
    let body = body_str(&provision_requests(&c, "gw-1", "t")[0].1).to_owned();
    assert_eq!(
        body,
        r#"{"gatewayId":"gw-1","platform":"relay","botId":"","gatewayEndpoint":"","routeKeys":[]}"#
    );
    assert!(!body.contains("instanceId") && !body.contains("wakeUrl"));
}

#[test]
fn provision_body_round_trips_for_the_connector() {
    let body = ProvisionRequestBody {
        gateway_id: "gw".to_owned(),
        platform: "discord".to_owned(),
        bot_id: "a".to_owned(),
        gateway_endpoint: String::new(),
        route_keys: vec![],
        instance_id: Some("i".to_owned()),
        wake_url: None,
        display_name: None,
    };
    let text = serde_json::to_string(&body).expect("serializes");
    let back: ProvisionRequestBody = serde_json::from_str(&text).expect("parses");
    assert_eq!(back, body);
    // A minimal body from an older gateway parses too.
    let old: ProvisionRequestBody =
        serde_json::from_str(r#"{"gatewayId":"g","platform":"p","botId":""}"#).expect("parses");
    assert_eq!(old.gateway_endpoint, "");
    assert!(old.route_keys.is_empty());
}

#[test]
fn provision_issued() {
    let body = br#"{"secret":"s1","deliveryKey":"dk","tenant":"t1","gatewayId":"gw-x","routeKeys":["r"],"extra":1}"#;
    assert_eq!(
        parse_provision_response(200, body),
        Ok(ProvisionOutcome::Issued(IssuedCredentials {
            secret: "s1".to_owned(),
            delivery_key: Some("dk".to_owned()),
            tenant: Some("t1".to_owned()),
            gateway_id: Some("gw-x".to_owned()),
            route_keys: vec!["r".to_owned()],
        }))
    );
}

#[test]
fn provision_secret_not_issued() {
    let body = br#"{"secretIssued":false,"tenant":"t1","gatewayId":"gw-x","routeKeys":[]}"#;
    assert_eq!(
        parse_provision_response(200, body),
        Ok(ProvisionOutcome::NotIssued {
            tenant: Some("t1".to_owned()),
            gateway_id: Some("gw-x".to_owned()),
            route_keys: vec![],
        })
    );
}

#[test]
fn provision_without_secret_is_an_error() {
    for body in [
        &br#"{"tenant":"t"}"#[..],
        br#"{"secret":""}"#,
        br#"{"secretIssued":true}"#,
    ] {
        let err = parse_provision_response(200, body).expect_err("no secret");
        assert_eq!(err, HttpCallError::NoSecret);
        assert_eq!(
            err.to_string(),
            "connector returned an unexpected response (no secret)"
        );
    }
    assert!(matches!(
        parse_provision_response(200, b"not json"),
        Err(HttpCallError::InvalidBody { .. })
    ));
    assert!(matches!(
        parse_provision_response(200, br#"{"secret": 5}"#),
        Err(HttpCallError::InvalidBody { .. })
    ));
}

#[test]
fn provision_http_errors() {
    let err = parse_provision_response(500, br#"{"error":"boom"}"#).expect_err("500");
    assert_eq!(
        err,
        HttpCallError::Status {
            status: 500,
            error: Some("boom".to_owned())
        }
    );
    assert_eq!(err.to_string(), "connector returned HTTP 500: boom");
    let err = parse_provision_response(404, b"<html>").expect_err("404");
    assert_eq!(err.to_string(), "connector returned HTTP 404");
    let err = parse_provision_response(302, b"").expect_err("redirect not followed");
    assert_eq!(
        err,
        HttpCallError::Status {
            status: 302,
            error: None
        }
    );
}

#[test]
fn response_body_serializes_for_the_connector() {
    let not_issued = ProvisionResponseBody {
        secret_issued: Some(false),
        tenant: Some("t".to_owned()),
        gateway_id: Some("g".to_owned()),
        route_keys: Some(vec![]),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&not_issued).expect("serializes"),
        r#"{"secretIssued":false,"tenant":"t","gatewayId":"g","routeKeys":[]}"#
    );
    let dbg = format!(
        "{:?}",
        ProvisionResponseBody {
            secret: Some("TOPSECRET".to_owned()),
            ..Default::default()
        }
    );
    assert!(!dbg.contains("TOPSECRET"));
}

fn issued(secret: &str, gateway_id: Option<&str>) -> Result<ProvisionOutcome, HttpCallError> {
    Ok(ProvisionOutcome::Issued(IssuedCredentials {
        secret: secret.to_owned(),
        delivery_key: Some(format!("dk-{secret}")),
        tenant: None,
        gateway_id: gateway_id.map(str::to_owned),
        route_keys: vec![],
    }))
}

#[test]
fn merge_first_success_sets_credentials_partial_failure_tolerated() {
    let summary = merge_provision_outcomes(
        "gw-own",
        vec![
            (
                "discord".to_owned(),
                Err(HttpCallError::Status {
                    status: 502,
                    error: None,
                }),
            ),
            ("telegram".to_owned(), issued("s-tg", None)),
            ("slack".to_owned(), issued("s-slack", Some("gw-other"))),
            (
                "matrix".to_owned(),
                Ok(ProvisionOutcome::NotIssued {
                    tenant: None,
                    gateway_id: None,
                    route_keys: vec![],
                }),
            ),
        ],
    );
    let creds = summary.credentials.clone().expect("credentials");
    assert_eq!(
        creds.gateway_id, "gw-own",
        "no gatewayId in the response: our own"
    );
    assert_eq!(creds.secret, "s-tg");
    assert_eq!(creds.delivery_key.as_deref(), Some("dk-s-tg"));
    assert_eq!(summary.credentials_from.as_deref(), Some("telegram"));
    assert_eq!(summary.not_issued, ["matrix"]);
    assert_eq!(summary.failures.len(), 1);
    assert_eq!(summary.failures[0].0, "discord");
    assert!(!summary.is_complete());

    let mut config = RelayConfig::new("https://c.example");
    creds.apply_to(&mut config);
    assert_eq!(config.credentials(), Some(("gw-own", "s-tg")));
    assert_eq!(config.delivery_key.as_deref(), Some("dk-s-tg"));
    assert_eq!(
        creds.env_vars(),
        vec![
            ("GATEWAY_RELAY_ID", "gw-own".to_owned()),
            ("GATEWAY_RELAY_SECRET", "s-tg".to_owned()),
            ("GATEWAY_RELAY_DELIVERY_KEY", "dk-s-tg".to_owned()),
        ]
    );
}

#[test]
fn merge_prefers_the_connectors_gateway_id_and_survives_total_failure() {
    let summary = merge_provision_outcomes(
        "gw-own",
        vec![("discord".to_owned(), issued("s", Some("gw-c")))],
    );
    assert_eq!(summary.credentials.expect("creds").gateway_id, "gw-c");
    assert!(summary.failures.is_empty());

    let summary = merge_provision_outcomes(
        "gw-own",
        vec![(
            "discord".to_owned(),
            Err(HttpCallError::transport("connection refused")),
        )],
    );
    assert_eq!(summary.credentials, None);
    assert_eq!(
        summary.failures[0].1.to_string(),
        "request to the connector failed: connection refused"
    );
}

// ---- policy ----

#[test]
fn policy_request_carries_a_fresh_upgrade_token() {
    let now = UnixTime::from_secs(1_700_000_000);
    let body = PolicyBody {
        platform: "discord".to_owned(),
        require_address: true,
        free_response_scopes: vec!["c-support".to_owned(), "c-help".to_owned()],
        allow_other_bots: false,
    };
    let req = policy_request("https://connector.example", "gw-1", "secret", &body, now);
    assert_eq!(req.url, "https://connector.example/relay/policy");
    assert_eq!(req.method, HttpMethod::Post);
    let expected = format!("Bearer {}", mint_token("gw-1", "secret", 300, now));
    assert_eq!(req.header("authorization"), Some(expected.as_str()));
    let token = expected.strip_prefix("Bearer ").expect("bearer");
    assert_eq!(
        verify_token(token, &["secret"], now.saturating_add_secs(300)).as_deref(),
        Ok("gw-1")
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(
        body_str(&req),
        r#"{"platform":"discord","requireAddress":true,"freeResponseScopes":["c-support","c-help"],"allowOtherBots":false}"#
    );
    assert!(
        !format!("{req:?}").contains(token),
        "Debug redacts the bearer"
    );
}

#[test]
fn policy_is_skipped_without_credentials() {
    let body = PolicyBody {
        platform: "telegram".to_owned(),
        require_address: true,
        free_response_scopes: vec![],
        allow_other_bots: false,
    };
    let now = UnixTime::from_secs(1);
    let mut config = RelayConfig::new("https://c.example");
    assert_eq!(policy_request_for(&config, &body, now), None);
    config.gateway_id = Some("gw".to_owned());
    assert_eq!(policy_request_for(&config, &body, now), None);
    config.secret = Some("s".to_owned());
    let req = policy_request_for(&config, &body, now).expect("authenticated");
    assert_eq!(req.url, "https://c.example/relay/policy");
}

#[test]
fn policy_success_is_http_200_only() {
    assert_eq!(parse_policy_response(200, b""), Ok(()));
    for status in [201, 204, 401, 500] {
        assert!(
            matches!(parse_policy_response(status, b"{}"), Err(HttpCallError::Status { status: s, .. }) if s == status),
            "{status}"
        );
    }
    assert_eq!(
        parse_policy_response(401, br#"{"error":"bad token"}"#)
            .expect_err("401")
            .to_string(),
        "connector returned HTTP 401: bad token"
    );
}

// ---- enroll ----

#[test]
fn enroll_request_shape() {
    let body = EnrollRequestBody {
        enrollment_token: "enr-1".to_owned(),
        gateway_id: "gw-1".to_owned(),
    };
    let req = enroll_request("wss://c.example/relay", "id-token", &body);
    assert_eq!(req.url, "https://c.example/relay/enroll");
    assert_eq!(req.header("Authorization"), Some("Bearer id-token"));
    assert_eq!(
        body_str(&req),
        r#"{"enrollmentToken":"enr-1","gatewayId":"gw-1"}"#
    );
    assert!(!format!("{body:?}").contains("enr-1"));
}

#[test]
fn enroll_responses() {
    let creds = parse_enroll_response(
        200,
        br#"{"secret":"s","deliveryKey":"dk","tenant":"t","gatewayId":"gw-1"}"#,
    )
    .expect("issued");
    assert_eq!(creds.secret, "s");
    assert_eq!(creds.resolve("ignored").gateway_id, "gw-1");
    assert_eq!(
        parse_enroll_response(401, br#"{"error":"who are you"}"#),
        Err(HttpCallError::IdentityRejected {
            error: Some("who are you".to_owned())
        })
    );
    let forbidden = parse_enroll_response(403, b"").expect_err("403");
    assert_eq!(
        forbidden,
        HttpCallError::EnrollmentTokenRejected { error: None }
    );
    assert!(
        forbidden
            .to_string()
            .contains("enrollment token is invalid, expired, already used")
    );
    assert_eq!(
        parse_enroll_response(500, b""),
        Err(HttpCallError::Status {
            status: 500,
            error: None
        })
    );
    assert_eq!(
        parse_enroll_response(200, br#"{"tenant":"t"}"#),
        Err(HttpCallError::NoSecret)
    );
}

#[test]
fn enroll_env_file() {
    let creds = ResolvedCredentials {
        gateway_id: "gw-1".to_owned(),
        secret: "s3cr3t".to_owned(),
        delivery_key: Some("dk".to_owned()),
        tenant: None,
    };
    let vars = enroll_env_vars(&creds, Some("https://c.example"), None);
    assert_eq!(
        render_env_file("", &vars),
        "GATEWAY_RELAY_ID=gw-1\nGATEWAY_RELAY_SECRET=s3cr3t\nGATEWAY_RELAY_DELIVERY_KEY=dk\nGATEWAY_RELAY_URL=https://c.example\n"
    );
    let existing = "# hermes\nOPENAI_API_KEY=x\nGATEWAY_RELAY_SECRET=old\nexport GATEWAY_RELAY_ID=old-id\nGATEWAY_RELAY_SECRET=older\n";
    let vars = enroll_env_vars(&creds, None, Some("https://gw.example/wake"));
    assert_eq!(
        render_env_file(existing, &vars),
        "# hermes\nOPENAI_API_KEY=x\nGATEWAY_RELAY_SECRET=s3cr3t\nGATEWAY_RELAY_ID=gw-1\nGATEWAY_RELAY_DELIVERY_KEY=dk\nGATEWAY_RELAY_WAKE_URL=https://gw.example/wake\n"
    );
}

#[test]
fn env_file_values_cannot_inject_lines() {
    let vars = vec![("GATEWAY_RELAY_SECRET", "a'b\nEVIL=1".to_owned())];
    let out = render_env_file("", &vars);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(!out.contains("\nEVIL"));
}

// ---- identity provider ----

#[test]
fn idp_token_request_is_form_encoded() {
    let idp = IdpConfig {
        token_url: "https://idp.example/token".to_owned(),
        client_id: "cid".to_owned(),
        client_secret: "s e&c".to_owned(),
        scope: Some("relay provision".to_owned()),
    };
    let req = idp_token_request(&idp);
    assert_eq!(req.url, "https://idp.example/token");
    assert_eq!(
        req.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(req.header("authorization"), None);
    assert_eq!(
        body_str(&req),
        "grant_type=client_credentials&client_id=cid&client_secret=s+e%26c&scope=relay+provision"
    );
    let no_scope = IdpConfig { scope: None, ..idp };
    assert!(!body_str(&idp_token_request(&no_scope)).contains("scope"));
}

#[test]
fn idp_token_responses() {
    assert_eq!(
        parse_idp_token_response(200, br#"{"access_token":"at","token_type":"Bearer"}"#).as_deref(),
        Ok("at")
    );
    assert!(matches!(
        parse_idp_token_response(200, br#"{"token_type":"Bearer"}"#),
        Err(HttpCallError::IdentityProvider { .. })
    ));
    let err = parse_idp_token_response(
        401,
        br#"{"error":"invalid_client","error_description":"nope"}"#,
    )
    .expect_err("401");
    assert_eq!(
        err.to_string(),
        "identity provider did not issue an access token: HTTP 401: invalid_client: nope; check GATEWAY_RELAY_IDP_*"
    );
}

#[test]
fn identities_used_for_provision_follow_hello_order() {
    let c = multi_config();
    assert_eq!(
        c.hello_identities(),
        vec![
            PlatformIdentity::new("discord", "app-1"),
            PlatformIdentity::new("telegram", "bot-9")
        ]
    );
}
