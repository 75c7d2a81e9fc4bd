//! Relevance-policy projection (§8.3) and the redirect rule for the bearer.

use relay_core::calls::{PolicyBody, may_forward_authorization, project_relevance_policy};
use serde_json::json;

fn policy(platform: &str, require: bool, scopes: &[&str], bots: bool) -> PolicyBody {
    PolicyBody {
        platform: platform.to_owned(),
        require_address: require,
        free_response_scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        allow_other_bots: bots,
    }
}

#[test]
fn discord_projection() {
    let block = json!({"require_mention": true, "free_response_channels": ["c-support", "c-help"]});
    assert_eq!(
        project_relevance_policy("discord", Some(&block), None, None),
        Some(policy("discord", true, &["c-support", "c-help"], false))
    );
}

#[test]
fn comma_string_scopes_are_split() {
    let block = json!({"free_response_channels": " c-support, c-help ,, "});
    assert_eq!(
        project_relevance_policy("telegram", Some(&block), None, None),
        Some(policy("telegram", false, &["c-support", "c-help"], false))
    );
    let numeric = json!({"free_response_channels": [123, "c-2", null]});
    assert_eq!(
        project_relevance_policy("telegram", Some(&numeric), None, None),
        Some(policy("telegram", false, &["123", "c-2"], false))
    );
}

#[test]
fn top_level_require_mention_fallback() {
    let top = json!({"require_mention": true});
    assert_eq!(
        project_relevance_policy("telegram", Some(&json!({})), Some(&top), None),
        Some(policy("telegram", true, &[], false))
    );
    assert_eq!(
        project_relevance_policy("telegram", None, Some(&top), None),
        Some(policy("telegram", true, &[], false))
    );
    // The platform's own value wins over the top level, and an explicit
    // false is declared (the connector's default would gate on mentions).
    let block = json!({"require_mention": false});
    assert_eq!(
        project_relevance_policy("telegram", Some(&block), Some(&top), None),
        Some(policy("telegram", false, &[], false))
    );
    // Strings are read as booleans.
    let block = json!({"require_mention": "true"});
    assert_eq!(
        project_relevance_policy("slack", Some(&block), None, None),
        Some(policy("slack", true, &[], false))
    );
}

#[test]
fn unresolved_platform_and_all_default_give_none() {
    let block = json!({"require_mention": true});
    assert_eq!(
        project_relevance_policy("relay", Some(&block), None, Some("all")),
        None
    );
    assert_eq!(project_relevance_policy("", Some(&block), None, None), None);
    assert_eq!(project_relevance_policy("telegram", None, None, None), None);
    // A null require_mention is unset.
    assert_eq!(
        project_relevance_policy(
            "telegram",
            Some(&json!({"require_mention": null})),
            None,
            Some("none")
        ),
        None
    );
}

#[test]
fn allow_bots_values() {
    for (v, want) in [
        ("mentions", true),
        ("ALL", true),
        (" all ", true),
        ("none", false),
        ("", false),
    ] {
        let got = project_relevance_policy("slack", None, None, Some(v));
        assert_eq!(
            got.map(|p| p.allow_other_bots),
            want.then_some(true),
            "{v:?}"
        );
    }
}

#[test]
fn discord_is_projected_like_every_platform() {
    // Today's reference has no Discord rule: nothing configured declares
    // nothing, and DISCORD_ALLOW_BOTS is read like any platform's.
    assert_eq!(project_relevance_policy("discord", None, None, None), None);
    assert_eq!(
        project_relevance_policy("discord", None, None, Some("all")),
        Some(policy("discord", false, &[], true))
    );
}

#[test]
fn free_response_channels_fall_back_to_the_top_level() {
    let top = json!({"free_response_channels": "c-1,c-2"});
    assert_eq!(
        project_relevance_policy("slack", Some(&json!({})), Some(&top), None),
        Some(policy("slack", false, &["c-1", "c-2"], false))
    );
}

// ---- redirects ----

#[test]
fn same_origin_redirects_keep_the_bearer() {
    let from = "https://connector.example/relay/provision";
    for to in [
        "https://connector.example/relay/provision/v2",
        "https://CONNECTOR.example:443/x",
        "HTTPS://connector.example/x",
        "/relay/provision2",
        "provision2",
        "?retry=1",
        "//connector.example/y",
        "https://user@connector.example/z",
    ] {
        assert!(may_forward_authorization(from, to), "{to}");
    }
    assert!(may_forward_authorization(
        "http://h:8080/a",
        "http://h:8080/b"
    ));
    assert!(may_forward_authorization(
        "http://[::1]:9/a",
        "http://[::1]:9/b"
    ));
}

#[test]
fn cross_origin_redirects_drop_the_bearer() {
    let from = "https://connector.example/relay/provision";
    for to in [
        "https://evil.example/relay/provision",
        "http://connector.example/relay/provision",
        "https://connector.example:8443/relay/provision",
        "//evil.example/x",
        "https://connector.example.evil.example/",
        "https://connector.example@evil.example/",
        "https://evil.example#@connector.example",
        "https:/evil.example/x",
        "https:evil.example",
        "/\\evil.example/x",
        "\\\\evil.example",
        " https://evil.example",
        "https://evil.example\t",
        "wss://connector.example/relay/provision",
        "ftp://connector.example/",
        "javascript:alert(1)",
        "https://connector.example:x/",
        "",
    ] {
        assert!(!may_forward_authorization(from, to), "{to:?}");
    }
    assert!(!may_forward_authorization("not a url", "/x"));
}
