//! Scenarios that held before and must keep holding: each one is played on
//! a fresh dial of one `relay connect` process by a scripted connector; the
//! gateway must stay within its memory bound and dial again.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tungstenite::Message;

use super::support::*;

/// What a scenario does with the raw socket of an upgraded, serving link.
type Play = fn(&mut TcpStream);

fn big_message(s: &mut TcpStream) {
    // Announce 200 MB, send up to 200 MB of it (the gateway cuts it off).
    let mut head = vec![0x81, 127];
    head.extend_from_slice(&(200u64 << 20).to_be_bytes());
    let _ = s.write_all(&head);
    let chunk = vec![b'a'; 1 << 20];
    let until = Instant::now() + Duration::from_secs(3);
    for _ in 0..200 {
        if Instant::now() > until || s.write_all(&chunk).is_err() {
            break;
        }
    }
}

fn huge_length_header(s: &mut TcpStream) {
    let mut head = vec![0x82, 127];
    head.extend_from_slice(&(1u64 << 63).to_be_bytes());
    let _ = s.write_all(&head);
}

fn no_newline_stream(s: &mut TcpStream) {
    let chunk = server_frame(0x1, &vec![b'{'; 64 * 1024]);
    let until = Instant::now() + Duration::from_secs(2);
    for _ in 0..1000 {
        if Instant::now() > until || s.write_all(&chunk).is_err() {
            break;
        }
    }
}

fn tiny_frames(s: &mut TcpStream) {
    let batch = server_frame(0x1, b"\n").repeat(100_000);
    for _ in 0..10 {
        if s.write_all(&batch).is_err() {
            break;
        }
    }
}

fn deep_nesting(s: &mut TcpStream) {
    let mut line = b"{\"type\":\"inbound\",\"event\":".to_vec();
    line.extend(std::iter::repeat_n(b'[', 100_000));
    line.extend(std::iter::repeat_n(b']', 100_000));
    line.extend_from_slice(b"}\n");
    let _ = s.write_all(&server_frame(0x1, &line));
}

fn invalid_utf8(s: &mut TcpStream) {
    let _ = s.write_all(&server_frame(0x1, b"{\"type\":\"\xff\xfe\"}\n"));
}

fn protocol_violations(s: &mut TcpStream) {
    // Reserved bits, then an unknown opcode, a fragmented ping, a masked
    // frame from the server: the first ends the link.
    let _ = s.write_all(&[0xF1, 0x00]);
    let _ = s.write_all(&[0x83, 0x00]);
    let _ = s.write_all(&[0x09, 0x00]);
    let _ = s.write_all(&[0x81, 0x80, 0, 0, 0, 0]);
}

fn unknown_results(s: &mut TcpStream) {
    let mut text = String::new();
    for i in 0..100_000u64 {
        text.push_str(&format!(
            "{{\"type\":\"outbound_result\",\"requestId\":\"{i:032x}\",\"result\":{{\"success\":true}}}}\n"
        ));
    }
    for part in text.as_bytes().chunks(512 * 1024) {
        if s.write_all(&server_frame(0x2, part)).is_err() {
            break;
        }
    }
    // Then cut the link so that the next scenario gets a fresh dial.
    let _ = s.shutdown(std::net::Shutdown::Both);
}

/// The scenarios that held, in order, each on a fresh dial.
#[test]
fn scenarios_that_held_keep_holding() {
    let plays: [(&str, Play); 7] = [
        ("200 MB message", big_message),
        ("2^63 length header", huge_length_header),
        ("no-newline stream", no_newline_stream),
        ("100k-deep nesting", deep_nesting),
        ("invalid UTF-8", invalid_utf8),
        ("protocol violations", protocol_violations),
        ("unknown-result flood", unknown_results),
    ];
    let (l, addr) = listener();
    let mut relay = spawn(connect_cmd(&format!("ws://{addr}")));
    let out = lines(relay.0.stdout.take().expect("stdout"));
    let watch = RssWatch::start(relay.pid(), RSS_LIMIT_KIB);
    // HOSTILE_ONLY=<part of a name> plays only the matching scenarios.
    let only = std::env::var("HOSTILE_ONLY").unwrap_or_default();
    for (name, play) in plays.into_iter().filter(|(n, _)| n.contains(&only)) {
        let stream =
            accept_within(&l, Duration::from_secs(10)).unwrap_or_else(|| panic!("{name}: no dial"));
        let mut ws = upgrade(stream);
        answer_hellos(&mut ws);
        let mut raw = ws.into_inner();
        play(&mut raw);
        let _ = raw.flush();
        // Some scenarios end the link, others are shrugged off: close it
        // either way so the gateway dials again.
        drop(raw);
        assert!(!watch.crossed(), "{name}: crossed {RSS_LIMIT_KIB} KiB");
        assert!(
            relay.wait_for(Duration::ZERO).is_none(),
            "{name}: relay died"
        );
        eprintln!("{name}: held, peak RSS so far {} KiB", watch.peak_kib());
    }
    // One more dial: the gateway still works after all of them.
    let stream = accept_within(&l, Duration::from_secs(10));
    if stream.is_none() {
        let seen: Vec<String> = out.try_iter().collect();
        eprintln!(
            "{} stdout lines; last: {:?}",
            seen.len(),
            seen.iter().rev().take(3).collect::<Vec<_>>()
        );
    }
    let stream = stream.expect("last dial");
    let mut ws = upgrade(stream);
    answer_hellos(&mut ws);
    ws.send(Message::text("{\"type\":\"going_idle_ack\"}\n"))
        .expect("send");
    assert!(!watch.crossed());
}

/// A million tiny frames (one `\n` each), then a dropped link: the gateway
/// reads them all, its memory stays bounded, and it dials again. An
/// unoptimised build takes several seconds to chew through a million frames
/// (a release build about one), hence the generous bound on the re-dial.
#[test]
fn a_million_tiny_frames_then_a_re_dial() {
    let (l, addr) = listener();
    let mut relay = spawn(connect_cmd(&format!("ws://{addr}")));
    let _out = collect(relay.0.stdout.take().expect("stdout"));
    let watch = RssWatch::start(relay.pid(), RSS_LIMIT_KIB);
    let stream = accept_within(&l, Duration::from_secs(10)).expect("dial");
    let mut ws = upgrade(stream);
    answer_hellos(&mut ws);
    let mut raw = ws.into_inner();
    tiny_frames(&mut raw);
    drop(raw);
    let again = accept_within(&l, Duration::from_secs(90));
    assert!(!watch.crossed(), "crossed {RSS_LIMIT_KIB} KiB");
    assert!(again.is_some(), "no re-dial after a million tiny frames");
}

/// Upgrades that never complete, or complete wrongly, are bounded by the
/// dial timeout and answered with a re-dial (the library client, with a
/// short dial timeout).
#[test]
fn silent_and_wrong_upgrades_end_in_a_re_dial() {
    use relay_core::config::RelayConfig;
    use relay_tokio::ClientOptions;
    use relay_tokio::RelayClient;

    let (l, addr) = listener();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut config = RelayConfig::builder(format!("ws://{addr}"))
        .gateway_id("dev-gateway")
        .secret("dev-secret")
        .identity("telegram", "")
        .build()
        .expect("config");
    config.timeouts.backoff_initial = Duration::from_millis(50);
    config.timeouts.backoff_max = Duration::from_millis(200);
    let options = ClientOptions {
        dial_timeout: Duration::from_millis(500),
        ..ClientOptions::default()
    };
    let (handle, _events) = rt.block_on(async { RelayClient::start_with(config, options) });
    // Silent: accept and say nothing.
    let silent = accept_within(&l, Duration::from_secs(10)).expect("dial 1");
    // Slowloris: one byte of a response every 100 ms.
    let mut slow = accept_within(&l, Duration::from_secs(5)).expect("dial 2 after the timeout");
    let _ = slow.write_all(b"H");
    // Wrong Accept key.
    let mut wrong = accept_within(&l, Duration::from_secs(5)).expect("dial 3");
    let _ = wrong.write_all(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: d3Jvbmc=\r\n\r\n",
    );
    let fourth = accept_within(&l, Duration::from_secs(5));
    drop((silent, slow, wrong));
    rt.block_on(handle.shutdown());
    assert!(fourth.is_some(), "no re-dial after a wrong Accept key");
}
