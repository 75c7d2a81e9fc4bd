//! The media plane's requests and parsers, and the identity token from an
//! ambient endpoint (sans-IO).

use relay_core::UnixTime;
use relay_core::auth::verify_token;
use relay_core::calls::{
    HttpCallError, HttpMethod, MEDIA_MAX_BYTES, check_download_length, check_upload_size,
    idp_token_request, is_connector_media_url, media_download_request, media_upload_request,
    parse_ambient_token_response, parse_identity_token_response, parse_media_download,
    parse_media_upload_response,
};
use relay_core::config::{ConfigError, IdpConfig, RelayConfig};

const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

fn config() -> RelayConfig {
    RelayConfig::builder("wss://c.example/relay")
        .gateway_id("gw-1")
        .secret("s3cret")
        .build()
        .unwrap()
}

#[test]
fn upload_request_carries_a_fresh_token_type_and_safe_name() {
    let req = media_upload_request(
        &config(),
        b"abc".to_vec(),
        "image/png",
        Some("dir/\u{e9}t\u{e9}\r\n.png"),
        NOW,
    )
    .unwrap();
    assert_eq!(req.method, HttpMethod::Post);
    assert_eq!(req.url, "https://c.example/relay/media");
    assert_eq!(req.body, b"abc");
    assert_eq!(req.header("content-type"), Some("image/png"));
    assert_eq!(req.header("x-media-filename"), Some("_t___.png"));
    let token = req
        .header("authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    assert_eq!(verify_token(token, &["s3cret"], NOW).as_deref(), Ok("gw-1"));
    assert!(
        !format!("{req:?}").contains(token),
        "Debug redacts the bearer"
    );
    let long = "n".repeat(300);
    let req = media_upload_request(&config(), b"a".to_vec(), "x/y", Some(&long), NOW).unwrap();
    assert_eq!(req.header("x-media-filename").map(str::len), Some(255));
}

#[test]
fn uploads_outside_one_byte_to_25_mib_are_refused() {
    assert_eq!(MEDIA_MAX_BYTES, 26_214_400);
    assert!(check_upload_size(MEDIA_MAX_BYTES).is_ok());
    assert_eq!(
        check_upload_size(MEDIA_MAX_BYTES + 1),
        Err(HttpCallError::TooLarge {
            size: Some(26_214_401),
            max: 26_214_400
        })
    );
    assert_eq!(check_upload_size(0), Err(HttpCallError::MediaEmpty));
    let err = media_upload_request(&config(), Vec::new(), "x/y", None, NOW).unwrap_err();
    assert_eq!(err, HttpCallError::MediaEmpty);
    let unauthenticated = RelayConfig::builder("ws://h:1")
        .allow_unauthenticated()
        .build()
        .unwrap();
    let err = media_upload_request(&unauthenticated, b"a".to_vec(), "x/y", None, NOW).unwrap_err();
    assert_eq!(err, HttpCallError::NoCredentials);
}

#[test]
fn upload_responses_name_the_object_or_are_refused() {
    let base = "ws://h:8080/relay";
    let media = parse_media_upload_response(base, 200, br#"{"id":"m-1_a.b~c"}"#).unwrap();
    assert_eq!(media.id, "m-1_a.b~c");
    assert_eq!(media.url, "http://h:8080/relay/media/m-1_a.b~c");
    for bad in [
        &br#"{"id":"a/b"}"#[..],
        br#"{"id":""}"#,
        br#"{"id":7}"#,
        br#"{"id":"..","x":1}"#,
        br#"["m-1"]"#,
        br#"{}"#,
        b"not json",
    ] {
        let err = parse_media_upload_response(base, 200, bad).unwrap_err();
        assert!(matches!(err, HttpCallError::InvalidBody { .. }), "{err}");
    }
    assert!(matches!(
        parse_media_upload_response(base, 413, b"{}"),
        Err(HttpCallError::TooLarge { size: None, .. })
    ));
    assert_eq!(
        parse_media_upload_response(base, 401, br#"{"error":"unauthorized"}"#),
        Err(HttpCallError::Status {
            status: 401,
            error: Some("unauthorized".into())
        })
    );
}

#[test]
fn only_the_connectors_media_urls_get_the_bearer() {
    let c = config();
    assert!(is_connector_media_url(
        &c.relay_url,
        "https://c.example/relay/media/m-1"
    ));
    for url in [
        "https://evil.example/relay/media/m-1",
        "http://c.example/relay/media/m-1",
        "https://c.example:444/relay/media/m-1",
        "https://c.example.evil/relay/media/m-1",
        "https://c.example@evil/relay/media/m-1",
        "https://c.example/other/relay/media/m-1",
        "https://c.example/relay/media/",
    ] {
        assert!(!is_connector_media_url(&c.relay_url, url), "{url}");
        let req = media_download_request(&c, url, NOW).unwrap();
        assert!(req.header("authorization").is_none(), "{url}");
    }
    let req = media_download_request(&c, "https://c.example/relay/media/m-1", NOW).unwrap();
    assert_eq!(req.method, HttpMethod::Get);
    assert!(req.header("authorization").unwrap().starts_with("Bearer "));
    assert!(matches!(
        media_download_request(&c, "file:///etc/passwd", NOW),
        Err(HttpCallError::Transport { .. })
    ));
}

#[test]
fn downloads_are_bounded_and_named_safely() {
    assert!(check_download_length(Some(MEDIA_MAX_BYTES)).is_ok());
    assert!(check_download_length(None).is_ok());
    assert!(matches!(
        check_download_length(Some(MEDIA_MAX_BYTES + 1)),
        Err(HttpCallError::TooLarge { .. })
    ));
    let headers = vec![
        ("Content-Type".to_owned(), "application/pdf".to_owned()),
        (
            "content-disposition".to_owned(),
            "attachment; filename=\"../../r\u{e9}port.pdf\"".to_owned(),
        ),
    ];
    let object = parse_media_download(200, &headers, b"%PDF".to_vec()).unwrap();
    assert_eq!(object.content_type.as_deref(), Some("application/pdf"));
    assert_eq!(object.filename.as_deref(), Some("r_port.pdf"));
    assert!(
        !format!("{object:?}").contains("PDF"),
        "Debug shows the length only"
    );
    assert_eq!(
        parse_media_download(200, &[], Vec::new()),
        Err(HttpCallError::MediaEmpty)
    );
    assert!(matches!(
        parse_media_download(200, &[], vec![0; MEDIA_MAX_BYTES as usize + 1]),
        Err(HttpCallError::TooLarge { .. })
    ));
    assert!(matches!(
        parse_media_download(404, &[], b"{}".to_vec()),
        Err(HttpCallError::Status { status: 404, .. })
    ));
}

#[test]
fn an_ambient_endpoint_is_a_plain_get() {
    let idp = IdpConfig::ambient("http://169.254.169.254/token");
    assert!(idp.is_ambient());
    let req = idp_token_request(&idp);
    assert_eq!(req.method, HttpMethod::Get);
    assert_eq!(req.url, "http://169.254.169.254/token");
    assert_eq!(req.header("accept"), Some("application/json, text/plain"));
    assert!(req.header("authorization").is_none() && req.body.is_empty());
    let client = IdpConfig::client_credentials("http://i/token", "cid", "cs");
    assert_eq!(idp_token_request(&client).method, HttpMethod::Post);
    assert!(!format!("{client:?}").contains("\"cs\""));
}

#[test]
fn ambient_answers_are_tokens_or_fail_closed() {
    let jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln";
    let opaque = "A".repeat(32);
    assert_eq!(
        parse_ambient_token_response(200, format!(" {jwt}\n").as_bytes()).unwrap(),
        jwt
    );
    assert_eq!(
        parse_ambient_token_response(200, opaque.as_bytes()).unwrap(),
        opaque
    );
    assert_eq!(
        parse_ambient_token_response(200, br#" {"access_token": " t+/= ", "x": 1}"#).unwrap(),
        "t+/=",
        "an envelope has no shape gate"
    );
    for bad in [
        &b"unauthorized"[..],
        b"null",
        b"",
        b"a.b",
        b"<html>error</html>",
        br#"{"access_token": 5}"#,
        br#"{"error": "nope"}"#,
        br#"{"access_token": "  "}"#,
        br#"{not json"#,
        &[0xff, 0xfe, 0x41],
        "A".repeat(31).as_bytes(),
    ] {
        let err = parse_ambient_token_response(200, bad).unwrap_err();
        assert!(
            matches!(err, HttpCallError::IdentityProvider { .. }),
            "{err}"
        );
        let text = String::from_utf8_lossy(bad);
        if text.len() > 3 {
            assert!(
                !err.to_string().contains(text.as_ref()),
                "never quotes the body: {err}"
            );
        }
    }
    let err = parse_ambient_token_response(503, jwt.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("HTTP 503"), "{err}");
    // The dispatcher picks the reading by the configuration.
    let ambient = IdpConfig::ambient("http://i/t");
    assert_eq!(
        parse_identity_token_response(&ambient, 200, jwt.as_bytes()).unwrap(),
        jwt
    );
    let client = IdpConfig::client_credentials("http://i/t", "c", "s");
    assert!(parse_identity_token_response(&client, 200, jwt.as_bytes()).is_err());
}

#[test]
fn token_url_alone_is_ambient_and_one_credential_is_an_error() {
    let load = |vars: &[(&str, &str)]| {
        let mut all = vec![
            ("GATEWAY_RELAY_URL", "wss://c.example"),
            ("GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED", "1"),
            (
                "GATEWAY_RELAY_IDP_TOKEN_URL",
                "http://169.254.169.254/token",
            ),
        ];
        all.extend_from_slice(vars);
        RelayConfig::from_vars(all.iter().map(|(k, v)| (*k, *v))).map(|(c, _)| c)
    };
    let config = load(&[]).unwrap();
    assert_eq!(
        config.idp.as_deref(),
        Some(&IdpConfig::ambient("http://169.254.169.254/token"))
    );
    let both = load(&[
        ("GATEWAY_RELAY_IDP_CLIENT_ID", "cid"),
        ("GATEWAY_RELAY_IDP_CLIENT_SECRET", "cs"),
    ])
    .unwrap();
    assert!(!both.idp.unwrap().is_ambient());
    let only_id = load(&[("GATEWAY_RELAY_IDP_CLIENT_ID", "cid")]).unwrap_err();
    assert!(
        matches!(&only_id, ConfigError::Missing { setting, .. } if setting == "GATEWAY_RELAY_IDP_CLIENT_SECRET"),
        "{only_id}"
    );
    assert!(only_id.to_string().contains("ambient"), "{only_id}");
    let only_secret = load(&[("GATEWAY_RELAY_IDP_CLIENT_SECRET", "cs")]).unwrap_err();
    assert!(
        matches!(&only_secret, ConfigError::Missing { setting, .. } if setting == "GATEWAY_RELAY_IDP_CLIENT_ID"),
        "{only_secret}"
    );
    // The builder holds the same rule.
    let built = RelayConfig::builder("ws://h:1")
        .allow_unauthenticated()
        .idp(IdpConfig {
            client_secret: String::new(),
            ..IdpConfig::client_credentials("http://i/t", "cid", "x")
        })
        .build()
        .unwrap_err();
    assert!(matches!(built, ConfigError::Missing { .. }), "{built}");
    assert!(
        RelayConfig::builder("ws://h:1")
            .allow_unauthenticated()
            .idp(IdpConfig::ambient("http://i/t"))
            .build()
            .is_ok()
    );
}
