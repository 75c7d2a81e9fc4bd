//! A connector that floods descriptors: linear time, and a table bounded by
//! what the gateway fronts.

use std::time::{Duration, Instant as Clock};

use relay_core::config::{PlatformIdentity, RelayConfig};
use relay_core::connection::{Event, Input, Output, State};
use relay_core::{Connection, Instant, UnixTime};

fn desc(platform: &str) -> String {
    format!(
        "{{\"type\":\"descriptor\",\"descriptor\":{{\"contract_version\":1,\"platform\":\"{platform}\",\"label\":\"L\",\"max_message_length\":2000,\"supports_draft_streaming\":false,\"supports_edit\":true,\"supports_threads\":false,\"markdown_dialect\":\"discord\",\"len_unit\":\"chars\"}}}}\n"
    )
}

fn serving(identities: Vec<PlatformIdentity>) -> Connection {
    let config = RelayConfig {
        relay_url: "https://connector.example".into(),
        identities,
        gateway_id: Some("gw-1".into()),
        secret: Some("s3cret".into()),
        ..RelayConfig::default()
    };
    let now = Instant::from_millis(0);
    let mut conn = Connection::new(config, 3, now, UnixTime::from_secs(1_700_000_000));
    conn.handle_input(Input::Opened, now);
    conn.handle_input(Input::Message(desc("discord").as_bytes()), now);
    assert_eq!(conn.state(), State::Serving);
    while !matches!(conn.poll_output(), Output::Wait(_)) {}
    conn
}

/// Feeds `n` descriptors (platforms `p0`, `p1`, …) within `budget`;
/// returns how many descriptor events the application saw.
fn flood(conn: &mut Connection, n: usize, budget: Duration) -> usize {
    let started = Clock::now();
    let now = Instant::from_millis(1);
    let mut events = 0;
    let mut chunk = String::new();
    for i in 0..n {
        chunk.push_str(&desc(&format!("p{i}")));
        if chunk.len() > 32 * 1024 || i + 1 == n {
            conn.handle_input(Input::Message(chunk.as_bytes()), now);
            chunk.clear();
            loop {
                match conn.poll_output() {
                    Output::Wait(_) => break,
                    Output::Event(Event::Descriptor(_)) => events += 1,
                    _ => {}
                }
            }
            assert!(
                started.elapsed() < budget,
                "{} descriptors took over {budget:?}",
                i + 1
            );
        }
    }
    events
}

#[test]
fn a_flood_of_unfronted_descriptors_is_linear_and_ignored() {
    let budget = if cfg!(debug_assertions) {
        Duration::from_secs(20)
    } else {
        Duration::from_secs(2)
    };
    let mut conn = serving(vec![PlatformIdentity::new("discord", "app-1")]);
    flood(&mut conn, 100_000, budget);
    assert_eq!(conn.state(), State::Serving);
    assert!(
        conn.descriptor(Some("p7")).is_none(),
        "never said hello for p7"
    );
    assert!(conn.descriptor(Some("p99999")).is_none());
    assert_eq!(
        conn.descriptor(None).map(|d| d.platform.as_str()),
        Some("discord")
    );
}

#[test]
fn ignored_descriptors_are_counted_and_raise_no_event() {
    let mut conn = serving(vec![
        PlatformIdentity::new("discord", "app-1"),
        PlatformIdentity::new("telegram", "bot-9"),
    ]);
    let events = flood(&mut conn, 1_000, Duration::from_secs(20));
    assert_eq!(events, 0);
    assert_eq!(conn.stats().descriptors_ignored, 1_000);
    // The fronted platform's descriptor is still kept, once.
    let now = Instant::from_millis(2);
    let two = format!("{}{}", desc("telegram"), desc("telegram"));
    conn.handle_input(Input::Message(two.as_bytes()), now);
    while !matches!(conn.poll_output(), Output::Wait(_)) {}
    assert!(conn.descriptor(Some("telegram")).is_some());
    assert_eq!(conn.stats().descriptors_ignored, 1_001);
}

#[test]
fn with_only_the_relay_hello_one_descriptor_is_kept() {
    let mut conn = serving(Vec::new());
    flood(&mut conn, 1_000, Duration::from_secs(20));
    assert_eq!(
        conn.descriptor(None).map(|d| d.platform.as_str()),
        Some("discord")
    );
    assert!(conn.descriptor(Some("p1")).is_none());
    assert_eq!(conn.stats().descriptors_ignored, 1_000);
}

/// A gateway that fronts many platforms: storing and looking up their
/// descriptors is keyed (no scan of the table per descriptor), so a
/// connector repeating every platform's descriptor stays linear too.
#[test]
fn many_fronted_platforms_stay_keyed() {
    const PLATFORMS: usize = 30_000;
    let budget = if cfg!(debug_assertions) {
        Duration::from_secs(20)
    } else {
        Duration::from_secs(2)
    };
    let identities = (0..PLATFORMS)
        .map(|i| PlatformIdentity::new(format!("p{i}"), "app"))
        .collect();
    let mut conn = serving(identities);
    // Every platform's descriptor, twice: the second round is all repeats.
    let events = flood(&mut conn, PLATFORMS, budget) + flood(&mut conn, PLATFORMS, budget);
    // Every fronted platform but the first is described once (the first
    // descriptor of the connection, `discord`, took one hello's room).
    assert_eq!(events, PLATFORMS - 1);
    assert_eq!(
        conn.descriptor(Some("p12345")).map(|d| d.platform.as_str()),
        Some("p12345")
    );
    assert_eq!(
        conn.descriptor(Some("discord"))
            .map(|d| d.platform.as_str()),
        Some("discord")
    );
    assert!(conn.descriptor(Some("p30000")).is_none());
}
