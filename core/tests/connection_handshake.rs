//! Dial, hellos, handshake and framing.

#[path = "connection_harness.rs"]
mod harness;

use harness::*;
use relay_core::UnixTime;
use relay_core::auth::verify_token;
use relay_core::config::RelayConfig;
use relay_core::connection::{Event, Output, State};
use relay_core::wire::DecodeError;

#[test]
fn first_output_is_a_dial_with_a_verifiable_bearer() {
    let (_h, out) = H::new(cfg(), 1);
    assert_eq!(out.len(), 1);
    let Output::Dial { target, headers } = &out[0] else {
        panic!("expected a dial, got {out:?}");
    };
    assert_eq!(target.url(), URL);
    assert_eq!((target.host(), target.port()), ("connector.example", 443));
    assert_eq!(headers.len(), 1);
    assert_eq!(headers[0].0, "Authorization");
    let token = bearer(headers).expect("bearer");
    assert_eq!(
        verify_token(&token, &[SECRET], UnixTime::from_secs(WALL_SECS)),
        Ok(GATEWAY.to_owned())
    );
    assert!(verify_token(&token, &["other"], UnixTime::from_secs(WALL_SECS)).is_err());
}

#[test]
fn no_credentials_no_authorization_header() {
    let config = RelayConfig {
        gateway_id: None,
        secret: None,
        ..cfg()
    };
    let (_h, out) = H::new(config, 1);
    assert_eq!(
        out,
        vec![Output::Dial {
            target: relay_core::config::DialTarget::parse(URL).expect("valid"),
            headers: vec![]
        }]
    );
}

#[test]
fn a_relay_url_that_does_not_parse_closes_without_a_dial() {
    let config = RelayConfig {
        relay_url: "ws://127.0.0.1:99999".into(),
        ..cfg()
    };
    let (h, out) = H::new(config, 1);
    assert!(
        !out.iter().any(|o| matches!(o, Output::Dial { .. })),
        "{out:?}"
    );
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Event(Event::ConfigRejected { .. })))
    );
    assert_eq!(h.state(), State::Closed);
    assert_eq!(h.deadline, None);
}

#[test]
fn each_dial_mints_a_fresh_token() {
    let (mut h, out) = H::new(cfg(), 1);
    let t1 = bearer(&dials(&out)[0]).expect("token");
    h.dial_failed(Some(503));
    // The token carries its expiry second: a dial 10 s later mints another.
    let out = h.timeout_at(10_000);
    let d = dials(&out);
    assert_eq!(d.len(), 1);
    let t2 = bearer(&d[0]).expect("token");
    assert_ne!(t1, t2);
    let wall = UnixTime::from_secs(WALL_SECS + 10);
    assert_eq!(verify_token(&t2, &[SECRET], wall), Ok(GATEWAY.to_owned()));
    assert_eq!(t2, relay_core::auth::mint_token(GATEWAY, SECRET, 300, wall));
}

#[test]
fn hellos_one_per_identity_in_order() {
    let (mut h, _) = H::new(cfg_two(), 1);
    let out = h.open();
    assert_eq!(
        transmits(&out),
        vec![
            "{\"type\":\"hello\",\"platform\":\"discord\",\"botId\":\"app-1\"}\n".to_owned(),
            "{\"type\":\"hello\",\"platform\":\"telegram\",\"botId\":\"bot-9\"}\n".to_owned(),
        ]
    );
    assert_eq!(
        state_changes(&out),
        vec![(State::Dialing, State::Handshaking)]
    );
    assert_eq!(h.state(), State::Handshaking);
}

#[test]
fn single_relay_hello_without_identities() {
    let config = RelayConfig {
        identities: vec![],
        ..cfg()
    };
    let (mut h, _) = H::new(config, 1);
    let out = h.open();
    assert_eq!(
        transmits(&out),
        vec!["{\"type\":\"hello\",\"platform\":\"relay\",\"botId\":\"\"}\n".to_owned()]
    );
}

#[test]
fn handshake_timeout_closes_then_backs_off() {
    let (mut h, _) = H::new(cfg(), 1);
    h.open();
    assert_eq!(h.deadline, Some(ms(30_000)));
    let out = h.timeout_at(29_999);
    assert!(closes(&out).is_empty());
    assert_eq!(h.state(), State::Handshaking);
    let out = h.timeout_at(30_000);
    assert_eq!(closes(&out), vec![(1000, "handshake timeout".to_owned())]);
    assert!(dials(&out).is_empty());
    assert_eq!(h.state(), State::Dialing);
    let delay = scheduled_delay(&out, 30_000).expect("scheduled");
    assert!((500..=1000).contains(&delay), "delay {delay}");
    let out = h.fire();
    assert_eq!(dials(&out).len(), 1);
    assert_eq!(h.now, 30_000 + delay);
}

#[test]
fn descriptors_per_platform_first_is_default_first_wins() {
    let (mut h, _) = H::new(cfg_two(), 1);
    h.open();
    h.msg(&desc_line("telegram", "T1", None));
    h.msg(&desc_line("discord", "D1", None));
    h.msg(&desc_line("telegram", "T2", None));
    assert_eq!(
        h.conn.descriptor(None).map(|d| d.label.as_str()),
        Some("T1")
    );
    assert_eq!(
        h.conn.descriptor(Some("discord")).map(|d| d.label.as_str()),
        Some("D1")
    );
    assert_eq!(
        h.conn
            .descriptor(Some("telegram"))
            .map(|d| d.label.as_str()),
        Some("T1")
    );
    assert!(h.conn.descriptor(Some("slack")).is_none());
}

#[test]
fn frames_behind_descriptor_are_handled_after_serving() {
    let (mut h, _) = H::new(cfg(), 1);
    h.open();
    let batch = format!("{DISCORD_DESC}{}", group_inbound("c1", None));
    let out = h.msg(&batch);
    let evs = events(&out);
    assert_eq!(evs.len(), 3, "{evs:?}");
    assert!(matches!(evs[0], Event::Descriptor(_)));
    assert_eq!(
        evs[1],
        Event::StateChanged {
            from: State::Handshaking,
            to: State::Serving
        }
    );
    let Event::Inbound { event, delivery } = &evs[2] else {
        panic!("expected inbound, got {:?}", evs[2]);
    };
    assert_eq!(event.source.chat_id, "c1");
    assert_eq!(delivery, &None);
}

#[test]
fn bad_line_between_good_ones_is_rejected_and_the_rest_processed() {
    let mut h = H::serving();
    let batch = format!(
        "{}not json\n{}",
        group_inbound("c1", None),
        group_inbound("c2", None)
    );
    let out = h.msg(&batch);
    let evs = events(&out);
    assert_eq!(evs.len(), 3, "{evs:?}");
    assert!(matches!(&evs[0], Event::Inbound { event, .. } if event.source.chat_id == "c1"));
    assert!(matches!(&evs[1], Event::FrameRejected { .. }));
    assert!(matches!(&evs[2], Event::Inbound { event, .. } if event.source.chat_id == "c2"));
    assert!(closes(&out).is_empty());
    assert_eq!(h.conn.stats().frames_rejected, 1);
    assert_eq!(h.state(), State::Serving);
}

#[test]
fn a_line_split_across_messages_is_reassembled() {
    let (mut h, _) = H::new(cfg(), 1);
    h.open();
    let (a, b) = DISCORD_DESC.split_at(40);
    let out = h.msg(a);
    assert!(out.is_empty());
    assert_eq!(h.state(), State::Handshaking);
    let out = h.msg(b);
    assert!(matches!(events(&out)[0], Event::Descriptor(_)));
    assert_eq!(h.state(), State::Serving);
}

#[test]
fn over_long_line_closes_1009_and_backs_off() {
    let mut config = cfg();
    config.limits.max_frame_bytes = 64;
    let (mut h, _) = H::new(config, 1);
    h.open();
    let line = format!("{{\"type\":\"inbound\",\"x\":\"{}\"}}\n", "a".repeat(200));
    let out = h.msg(&line);
    assert_eq!(closes(&out), vec![(1009, "frame too large".to_owned())]);
    assert!(events(&out).iter().any(|e| matches!(
        e,
        Event::FrameRejected {
            error: DecodeError::TooLarge { .. }
        }
    )));
    assert!(dials(&out).is_empty());
    assert!(scheduled_delay(&out, h.now).is_some());
    assert_eq!(h.state(), State::Dialing);
    assert_eq!(dials(&h.fire()).len(), 1);
}

#[test]
fn over_long_line_while_serving_closes_1009() {
    let mut config = cfg();
    config.limits.max_frame_bytes = 400;
    let mut h = H::serving_with(config);
    let out = h.msg(&"x".repeat(1000));
    assert_eq!(closes(&out), vec![(1009, "frame too large".to_owned())]);
    assert_eq!(h.state(), State::Dialing);
}
