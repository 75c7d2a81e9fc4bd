//! The two idle modes of the reference (keep the socket while buffered; close
//! and re-dial on a cadence), relay-rs's wake-only mode, and the defaults.

#[path = "connection_harness.rs"]
mod harness;

use core::time::Duration;

use harness::*;
use relay_core::config::{IdleMode, RelayConfig};
use relay_core::connection::{Event, Output, State};

fn with_mode(mode: IdleMode) -> RelayConfig {
    RelayConfig {
        idle_mode: Some(mode),
        ..cfg()
    }
}

fn idle_acked(config: RelayConfig) -> (H, Vec<Output>) {
    let mut h = H::serving_with(config);
    h.set_time(2_000);
    h.go_idle();
    let out = h.msg(IDLE_ACK);
    assert_eq!(h.state(), State::Buffered);
    (h, out)
}

#[test]
fn default_without_a_wake_url_redials_on_the_reference_cadence() {
    let config = cfg();
    assert_eq!(config.wake_url, None);
    assert_eq!(config.effective_idle_mode(), IdleMode::Dormant);
    let (mut h, out) = idle_acked(config);
    assert_eq!(closes(&out), vec![(1000, "going idle".to_owned())]);
    assert_eq!(h.deadline, Some(ms(3_000)));
    assert!(h.timeout_at(2_999).is_empty());
    let out = h.timeout_at(3_000);
    assert_eq!(dials(&out).len(), 1);
    assert_eq!(h.state(), State::Dialing);
}

#[test]
fn default_with_a_wake_url_waits_for_the_wake() {
    let config = RelayConfig {
        wake_url: Some("https://gw.example/wake".into()),
        ..cfg()
    };
    assert_eq!(config.effective_idle_mode(), IdleMode::Close);
    let (mut h, out) = idle_acked(config);
    assert_eq!(closes(&out), vec![(1000, "going idle".to_owned())]);
    assert_eq!(h.deadline, None);
    assert!(h.timeout_at(3_600_000).is_empty());
    let out = h.wake();
    assert_eq!(dials(&out).len(), 1);
}

#[test]
fn a_set_dormant_cadence_means_dormant_even_with_a_wake_url() {
    let mut config = RelayConfig {
        wake_url: Some("https://gw.example/wake".into()),
        ..cfg()
    };
    config.timeouts.dormant_redial = Some(Duration::from_secs(5));
    assert_eq!(config.effective_idle_mode(), IdleMode::Dormant);
    let (h, _) = idle_acked(config);
    assert_eq!(h.deadline, Some(ms(7_000)));
}

#[test]
fn close_mode_never_dials_by_itself() {
    let (mut h, out) = idle_acked(with_mode(IdleMode::Close));
    assert_eq!(closes(&out), vec![(1000, "going idle".to_owned())]);
    assert_eq!(h.deadline, None);
    assert!(h.timeout_at(3_600_000).is_empty());
}

#[test]
fn keep_mode_keeps_the_socket_and_serves_what_still_arrives() {
    let (mut h, out) = idle_acked(with_mode(IdleMode::Keep));
    assert!(closes(&out).is_empty(), "the socket stays open");
    assert!(dials(&out).is_empty());
    assert_eq!(
        state_changes(&out),
        vec![(State::GoingIdle, State::Buffered)]
    );
    assert!(h.conn.socket_open());
    // A live frame racing the flip is still handed over.
    let out = h.msg(&group_inbound("c1", None));
    assert_eq!(deliveries(&out).len(), 1);
    // Requests still work on the kept socket.
    assert!(h.send(send_action("c1")).is_ok());
}

#[test]
fn keep_mode_keeps_pinging() {
    let (mut h, _) = idle_acked(with_mode(IdleMode::Keep));
    let deadline = h.deadline.expect("the keepalive timer runs");
    let out = h.timeout_at(deadline.as_millis());
    assert!(out.iter().any(|o| matches!(o, Output::Ping)));
}

#[test]
fn keep_mode_wake_closes_and_redials_at_once() {
    let (mut h, _) = idle_acked(with_mode(IdleMode::Keep));
    h.set_time(10_000);
    let out = h.wake();
    assert_eq!(closes(&out), vec![(1000, "wake".to_owned())]);
    assert_eq!(dials(&out).len(), 1);
    assert_eq!(h.state(), State::Dialing);
    assert!(!h.conn.socket_open());
}

#[test]
fn keep_mode_peer_close_reconnects_so_the_buffer_drains() {
    let (mut h, _) = idle_acked(with_mode(IdleMode::Keep));
    let out = h.closed(Some(1006), "");
    assert_eq!(h.state(), State::Dialing);
    assert!(
        events(&out)
            .iter()
            .any(|e| matches!(e, Event::Disconnected { .. }))
    );
    let delay = h.deadline.expect("a re-dial is scheduled");
    let out = h.timeout_at(delay.as_millis());
    assert_eq!(dials(&out).len(), 1);
}

#[test]
fn keep_mode_4401_follows_the_revocation_rules() {
    let (mut h, _) = idle_acked(with_mode(IdleMode::Keep));
    let out = h.closed(Some(4401), "unauthorized");
    // Confirm-once: one immediate fresh-token re-dial.
    assert_eq!(dials(&out).len(), 1);
    assert!(h.conn.is_confirming_revocation());
}

#[test]
fn go_idle_with_overrides_the_configured_mode() {
    let mut h = H::serving_with(with_mode(IdleMode::Close));
    h.set_time(2_000);
    let now = h.at();
    h.conn
        .go_idle_with(IdleMode::Dormant, now)
        .expect("serving");
    h.drain();
    h.msg(IDLE_ACK);
    assert_eq!(h.deadline, Some(ms(3_000)));
}

#[test]
fn keep_mode_shutdown_closes_the_kept_socket() {
    let (mut h, _) = idle_acked(with_mode(IdleMode::Keep));
    let out = h.shutdown();
    assert_eq!(closes(&out), vec![(1000, "shutdown".to_owned())]);
    assert_eq!(h.state(), State::Closed);
}
