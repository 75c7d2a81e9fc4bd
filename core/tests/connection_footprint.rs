//! What an idle connection holds on the heap: every connected client pays
//! it, so a thousand gateways in one process pay it a thousand times.

#[path = "connection_harness.rs"]
mod harness;

use counting_alloc::live_after;
use harness::*;
use relay_core::message::{MessageType, default_slack_commands};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

/// Counts this thread's allocations and live heap while a test asks.
#[global_allocator]
static ALLOC: counting_alloc::PerThread = counting_alloc::PerThread;

/// Heap bytes of a new connection (configuration included), and of one
/// that went through its handshake and is serving.
#[test]
fn an_idle_connection_holds_little_heap() {
    let config = cfg();
    // Warm-up: anything built once per process.
    drop(H::serving_with(config.clone()));
    let (fresh, fresh_bytes) = live_after(|| H::new(config.clone(), 7).0.conn);
    drop(fresh);
    let (serving, serving_bytes) = live_after(|| H::serving_with(config.clone()).conn);
    drop(serving);
    // 2,110 B and 2,129 B, most of it the connection's own state in one
    // box; the bounds leave 10 B, so a connection that grows by a field
    // fails here (an identity provider's settings held in place of a box
    // are 88 B; timers as six `Option<Instant>`s, 40 B). A copy of the
    // default Slack command map (another 2.7 KB) per connection would not
    // fit: that map is shared.
    // The counting allocator saw the connection (a bound passes on 0 too).
    assert!(
        fresh_bytes >= 1_000 && serving_bytes >= 1_000,
        "counted only {fresh_bytes} B and {serving_bytes} B"
    );
    assert!(
        fresh_bytes <= 2_120,
        "a new connection holds {fresh_bytes} B"
    );
    assert!(
        serving_bytes <= 2_139,
        "a serving connection holds {serving_bytes} B"
    );
}

/// A configured Slack command map is held once, in the configuration the
/// connection keeps, not copied again beside it.
#[test]
fn a_configured_slack_command_map_is_held_once() {
    let plain = cfg();
    let mut slack = cfg();
    slack.slack_commands = Some(default_slack_commands());
    drop(H::serving_with(plain.clone()));
    let (map, map_bytes) = live_after(default_slack_commands);
    drop(map);
    let (a, plain_bytes) = live_after(|| H::new(plain.clone(), 7).0.conn);
    drop(a);
    let (b, slack_bytes) = live_after(|| H::new(slack.clone(), 7).0.conn);
    drop(b);
    let extra = slack_bytes - plain_bytes;
    assert!(map_bytes > 0, "the command map was not counted");
    assert!(
        extra <= map_bytes + map_bytes / 10,
        "a {map_bytes} B command map costs a connection {extra} B"
    );
}

/// A Slack `/hermes` command is still rewritten with the default set, and
/// with a configured one.
#[test]
fn slack_commands_still_apply() {
    let source = serde_json::json!({
        "platform": "slack", "chat_id": "C1", "chat_type": "channel",
        "user_id": "U1", "user_name": "Ann",
    });
    let mut slack = cfg();
    slack.identities = vec![relay_core::config::PlatformIdentity::new("slack", "B1")];
    let rewritten = |config: relay_core::config::RelayConfig| {
        let (mut h, _) = H::new(config, 1);
        h.open();
        h.msg(&desc_line("slack", "S", None));
        let out = h.msg(&inbound_line(" /hermes compact now", source.clone(), None));
        app_events(&out)
            .into_iter()
            .find_map(|e| match e {
                relay_core::connection::Event::Inbound { event, .. } => {
                    Some((event.text.clone(), event.message_type))
                }
                _ => None,
            })
            .expect("the message is handed over")
    };
    assert_eq!(
        rewritten(slack.clone()),
        ("/compress now".to_owned(), MessageType::Command)
    );
    let mut own = default_slack_commands();
    own.insert("compact".into(), "/tidy".into());
    slack.slack_commands = Some(own);
    assert_eq!(
        rewritten(slack),
        ("/tidy now".to_owned(), MessageType::Command)
    );
}
