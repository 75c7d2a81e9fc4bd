//! Connector model: what the dev connector's admin API exposes — session
//! bindings, follow_up capabilities with an expiry, interrupts pushed on
//! demand, and realistic per-platform descriptors.

#[path = "connector_harness.rs"]
mod harness;

use harness::*;
use relay_connector::{AdminError, Connector, ConnectorConfig, platform_descriptor};
use relay_core::descriptor::{CapabilityDescriptor, LenUnit};

const KEY: &str = "agent:main:telegram:group:chat-7:user-3";

fn request(op_json: &str, id: &str) -> String {
    format!(r#"{{"type": "outbound", "requestId": "{id}", "action": {op_json}}}"#)
}

fn follow_up(id: &str, key: &str) -> String {
    request(
        &format!(
            r#"{{"op": "follow_up", "session_key": "{key}", "kind": "telegram.callback", "content": "done", "metadata": {{}}}}"#
        ),
        id,
    )
}

fn tenants() -> Connector {
    let mut c = Connector::new(ConnectorConfig::default(), 1);
    c.add_gateway_in_tenant("gw-a", &["sa"], "t1");
    c.add_gateway_in_tenant("gw-x", &["sx"], "t2");
    c
}

#[test]
fn known_platforms_get_realistic_descriptors() {
    let c = connector();
    let tg = c.descriptor_for("telegram");
    assert_eq!(tg.label, "Telegram");
    assert_eq!(tg.max_message_length, 4096);
    assert_eq!(tg.len_unit, LenUnit::Utf16);
    assert_eq!(tg.markdown_dialect, "markdown_v2");
    assert_eq!(tg.emoji, "\u{2708}\u{fe0f}");
    let ops = tg.supported_ops.clone().expect("ops advertised");
    for op in ["send", "edit", "typing", "follow_up", "get_chat_info"] {
        assert!(ops.iter().any(|o| o == op), "{op}");
    }
    let dc = c.descriptor_for("discord");
    assert_eq!(
        (dc.label.as_str(), dc.max_message_length, dc.len_unit),
        ("Discord", 2000, LenUnit::Chars)
    );
    assert_eq!(dc.markdown_dialect, "discord");
    assert!(dc.supports_threads);
    let sl = c.descriptor_for("slack");
    assert_eq!((sl.label.as_str(), sl.max_message_length), ("Slack", 39000));
    assert_eq!(sl.markdown_dialect, "slack");
    assert_eq!(
        platform_descriptor("whatsapp").map(|d| d.max_message_length),
        Some(4096)
    );
    assert_eq!(
        platform_descriptor("signal").map(|d| d.supports_edit),
        Some(false)
    );
    // Unknown platforms keep the minimal descriptor.
    assert_eq!(platform_descriptor("irc-x"), None);
    assert_eq!(
        c.descriptor_for("irc-x"),
        CapabilityDescriptor::minimal("irc-x")
    );
}

#[test]
fn a_descriptor_set_at_runtime_wins_over_the_default() {
    let mut c = connector();
    let mut d = CapabilityDescriptor::minimal("telegram");
    d.max_message_length = 1234;
    c.set_descriptor("telegram", d);
    assert_eq!(c.descriptor_for("telegram").max_message_length, 1234);
}

#[test]
fn bind_instance_routes_gateway_interrupts_to_the_owner() {
    let mut c = tenants();
    let (a, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    assert_eq!(
        c.bind_instance(KEY, "nobody"),
        Err(AdminError::UnknownInstance("nobody".into()))
    );
    c.bind_instance(KEY, "gw-a").expect("known instance");
    assert_eq!(c.session_owner(KEY), Some("gw-a"));
    send(
        &mut c,
        a,
        &format!(r#"{{"type": "interrupt", "session_key": "{KEY}", "reason": null}}"#),
        ms(1),
    );
    let out = drain(&mut c);
    assert_eq!(out.types(), ["interrupt_inbound"]);
    assert_eq!(out.frames[0].1["chat_id"], "chat-7");
    assert_eq!(c.stats().interrupts_routed, 1);
}

#[test]
fn push_interrupt_reaches_the_owner_or_says_why_not() {
    let mut c = tenants();
    assert_eq!(
        c.push_interrupt(KEY, "chat-7", ms(0)),
        Err(AdminError::NoOwner(KEY.into()))
    );
    c.bind_instance(KEY, "gw-a").expect("known instance");
    assert_eq!(
        c.push_interrupt(KEY, "chat-7", ms(0)),
        Err(AdminError::OwnerOffline("gw-a".into()))
    );
    let (a, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    assert_eq!(c.push_interrupt(KEY, "chat-7", ms(1)), Ok(a));
    let out = drain(&mut c);
    assert_eq!(out.types(), ["interrupt_inbound"]);
    assert_eq!(out.frames[0].0, a);
    assert_eq!(out.frames[0].1["session_key"], KEY);
    assert_eq!(out.frames[0].1["chat_id"], "chat-7");
}

#[test]
fn capabilities_expire_are_revoked_and_stay_with_their_tenant() {
    let mut c = tenants();
    let (a, _) = handshake(&mut c, "gw-a", "sa", ms(0));
    c.grant_instance_capability(KEY, "gw-a", "telegram.callback", Some(secs(60)))
        .expect("known instance");
    send(&mut c, a, &follow_up("r1", KEY), secs(59));
    // Valid up to its expiry, refused after it.
    send(&mut c, a, &follow_up("r2", KEY), secs(60));
    send(&mut c, a, &follow_up("r3", KEY), ms(60_001));
    let out = drain(&mut c);
    let results: Vec<_> = out.frames.iter().map(|(_, f)| &f["result"]).collect();
    assert_eq!(results[0]["success"], true);
    assert_eq!(results[1]["success"], true);
    assert_eq!(results[2]["success"], false);
    assert_eq!(results[2]["error"], "capability expired");

    c.grant_instance_capability(KEY, "gw-a", "telegram.callback", None)
        .expect("known instance");
    assert_eq!(c.revoke_capabilities(KEY, "gw-a"), Ok(1));
    send(&mut c, a, &follow_up("r4", KEY), secs(61));
    let other = "agent:main:telegram:group:chat-8:user-4";
    c.grant_instance_capability(other, "gw-x", "telegram.callback", None)
        .expect("known instance");
    send(&mut c, a, &follow_up("r5", other), secs(61));
    // Revoking with another tenant's instance leaves it alone.
    assert_eq!(c.revoke_capabilities(other, "gw-a"), Ok(0));
    let out = drain(&mut c);
    let results: Vec<_> = out.frames.iter().map(|(_, f)| &f["result"]).collect();
    assert_eq!(results[0]["error"], "no capability for this session");
    assert_eq!(results[1]["error"], "capability belongs to another tenant");
    assert_eq!(c.stats().follow_ups_refused, 3);
    assert_eq!(
        c.grant_instance_capability(KEY, "nobody", "k", None),
        Err(AdminError::UnknownInstance("nobody".into()))
    );
}
