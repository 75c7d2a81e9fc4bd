//! `Connection::recycle`: inbound messages handed back are decoded into
//! again. Nothing observable changes but allocations.

#[path = "connection_harness.rs"]
mod harness;

use counting_alloc::allocations;
use harness::*;
use relay_core::connection::{Event, Input, Output};
use relay_core::message::MessageEvent;
use relay_core::recycle::{EventPool, MAX_HELD_BYTES, MAX_STRING_CAPACITY};
use serde_json::json;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

/// Counts this thread's allocations and live heap while a test asks.
#[global_allocator]
static ALLOC: counting_alloc::PerThread = counting_alloc::PerThread;

/// A chat message as connectors send most of them.
fn chat_line(i: usize) -> String {
    let frame = json!({"type": "inbound", "event": {
        "text": format!("message {i:06}: could you summarise yesterday's thread? 🙏"),
        "message_type": "text",
        "message_id": (81_000 + i).to_string(),
        "source": {
            "platform": "discord", "chat_id": "-1001234567890", "chat_type": "group",
            "chat_name": "Release crew", "user_id": "55501234", "user_name": "Anna Schmidt",
        },
    }});
    format!("{frame}\n")
}

/// Feeds one line; every inbound message it gives is handed back when
/// `recycle` is set. Returns the inbound messages.
fn feed(c: &mut relay_core::Connection, line: &str, recycle: bool) -> Vec<MessageEvent> {
    c.handle_input(Input::Message(line.as_bytes()), ms(1));
    let mut got = Vec::new();
    loop {
        match c.poll_output() {
            Output::Wait(_) => return got,
            Output::Event(Event::Inbound { event, .. }) => {
                got.push((*event).clone());
                if recycle {
                    c.recycle(event);
                }
            }
            _ => {}
        }
    }
}

#[test]
fn a_steady_stream_with_messages_handed_back_allocates_nothing() {
    let lines: Vec<String> = (0..1_000).map(chat_line).collect();
    let count = |recycle: bool| {
        let mut h = H::serving();
        // Warm-up: scope memory, queues, the first boxes.
        for line in &lines[..16] {
            h.conn.handle_input(Input::Message(line.as_bytes()), ms(1));
            drain_recycling(&mut h.conn, recycle);
        }
        allocations(|| {
            for line in &lines[16..] {
                h.conn.handle_input(Input::Message(line.as_bytes()), ms(1));
                drain_recycling(&mut h.conn, recycle);
            }
        })
    };
    let frames = (lines.len() - 16) as u64;
    let dropped = count(false);
    let recycled = count(true);
    // Without recycling: the box and the text of every message; its short
    // ids and names are kept inline.
    assert!(
        (2 * frames..3 * frames).contains(&dropped),
        "{dropped} allocations for {frames} frames"
    );
    assert_eq!(recycled, 0, "{recycled} allocations for {frames} frames");
}

/// Drains outputs, handing inbound messages back (without a copy).
fn drain_recycling(c: &mut relay_core::Connection, recycle: bool) {
    loop {
        match c.poll_output() {
            Output::Wait(_) => return,
            Output::Event(Event::Inbound { event, .. }) => {
                assert!(!event.text.is_empty());
                if recycle {
                    c.recycle(event);
                }
            }
            _ => {}
        }
    }
}

/// Inbound lines of many shapes: fields missing, repeated, escaped, ids as
/// numbers, texts longer than a kept buffer, sources given twice or not at
/// all, the `guild_id` alias, unknown keys.
fn varied_lines() -> Vec<String> {
    let long = "x".repeat(MAX_STRING_CAPACITY + 10);
    let events = [
        json!({"text": "plain", "source": {"platform": "discord", "chat_id": "c1"}}),
        json!({"text": "", "message_id": 12, "source": {"chat_id": 99, "user_id": 7}}),
        json!({"text": "esc\"aped\\n", "source": {"platform": "tele\u{1F600}gram", "chat_id": "c\"2", "user_name": "A\u{e9}"}}),
        json!({"text": long, "source": {"platform": "slack", "chat_id": long, "chat_name": long}}),
        json!({"text": "no source"}),
        json!({"text": "twice", "source": {"chat_id": "first", "user_id": "u1"}, "source": {"chat_id": "second"}}),
        json!({"text": "alias", "source": {"platform": "discord", "chat_id": "g", "guild_id": "G1", "scope_id": "S1"}}),
        json!({"text": "alias only", "source": {"chat_id": "g", "guild_id": "G2"}}),
        json!({"text": "alias as the last scope", "source": {"chat_id": "g", "guild_id": "S1"}}),
        json!({"text": "all", "message_type": "photo", "reply_to_message_id": "r1",
               "media_urls": ["u1", 3, "u2"], "media": [{"url": "u1", "mime": "image/png", "size": 10}],
               "reply_to": {"text": "earlier", "author": "B", "is_own": true},
               "context": [{"text": "c", "source": {"user_name": "n", "user_id": "i"}}],
               "context_error": "none", "prompt_response": {"prompt_id": "p", "option_id": "o"},
               "unknown": {"k": [1, 2]},
               "source": {"platform": "discord", "chat_id": "c", "chat_type": "thread", "thread_id": "t",
                          "chat_topic": "topic", "user_id_alt": "ua", "chat_id_alt": "ca", "parent_chat_id": "pc",
                          "message_id": "m", "profile": "p", "user_display_name": "D", "user_handle": "h",
                          "auto_thread_created": 1, "auto_thread_initial_name": "n", "prospective_thread_id": "pt",
                          "is_bot": true, "message_is_edit": "yes", "one_to_one_verified": 0, "x-extra": null}}),
        json!({"text": "empty platform", "source": {"platform": "", "chat_id": "c"}}),
        json!({"text": "null source", "source": null, "message_id": null}),
        json!({"text": 5, "source": {"platform": 3, "chat_id": true, "chat_name": 1.5}}),
    ];
    let mut lines: Vec<String> = events
        .iter()
        .map(|e| format!("{}\n", json!({"type": "inbound", "event": e})))
        .collect();
    // A source that is not an object (an error), and an event that is not
    // one: the frames are refused, and what they took from the pool is lost
    // without harm.
    lines.push("{\"type\":\"inbound\",\"event\":{\"text\":\"bad\",\"source\":3}}\n".into());
    lines.push("{\"type\":\"inbound\",\"event\":\"not an object\"}\n".into());
    lines.push("{\"type\":\"inbound\",\"event\":{\"text\":\"cut".into());
    lines.push("\"}}\n".into());
    lines.push(chat_line(1));
    lines
}

#[test]
fn messages_decoded_into_handed_back_storage_equal_fresh_ones() {
    let lines = varied_lines();
    // Every ordered pair, then every line after every other in a long run,
    // with the same lines fed to a connection that never recycles.
    let mut sequences: Vec<Vec<&String>> = Vec::new();
    for a in &lines {
        for b in &lines {
            sequences.push(vec![a, b, a, b]);
        }
    }
    let mut long = Vec::new();
    for i in 0..lines.len() * 7 {
        long.push(&lines[(i * 5 + i / 3) % lines.len()]);
    }
    sequences.push(long);
    for seq in sequences {
        let mut fresh = H::serving();
        let mut reused = H::serving();
        for line in seq {
            let want = feed(&mut fresh.conn, line, false);
            let got = feed(&mut reused.conn, line, true);
            assert_eq!(got, want, "line {line:?}");
        }
    }
}

#[test]
fn handing_back_more_than_the_bound_keeps_the_bound() {
    let mut h = H::serving();
    let mut events = Vec::new();
    for i in 0..200 {
        events.extend(feed(&mut h.conn, &chat_line(i), false));
    }
    // What one of these messages holds once handed back.
    let mut probe = EventPool::default();
    probe.recycle(Box::new(events[0].clone()));
    let each = probe.held();
    let fit = MAX_HELD_BYTES / each;
    assert!(fit < 200, "the test hands back more than fits");
    for e in events {
        h.conn.recycle(Box::new(e));
    }
    // Exactly as many as fit under the bound were kept: decoding that many
    // messages reuses them, one more allocates its box again.
    let mut reused = 0;
    for i in 0..=fit + 1 {
        let line = chat_line(1_000 + i);
        let n = allocations(|| {
            h.conn.handle_input(Input::Message(line.as_bytes()), ms(1));
            drain_recycling(&mut h.conn, false);
        });
        // A new message allocates its box and its text.
        if n < 2 {
            reused += 1;
        }
    }
    assert_eq!(
        reused, fit,
        "{each} bytes a message, {MAX_HELD_BYTES} kept at most"
    );
}

#[test]
fn releasing_idle_memory_drops_what_was_handed_back() {
    let mut h = H::serving();
    let got = feed(&mut h.conn, &chat_line(1), false);
    for e in got {
        h.conn.recycle(Box::new(e));
    }
    h.conn.release_idle_memory();
    let line = chat_line(2);
    let n = allocations(|| {
        h.conn.handle_input(Input::Message(line.as_bytes()), ms(1));
        drain_recycling(&mut h.conn, false);
    });
    assert!(n >= 2, "{n} allocations: the pool was not emptied");
}

#[test]
fn messages_changed_before_they_are_handed_back_decode_like_fresh_ones() {
    let lines = varied_lines();
    for line in &lines {
        let mut fresh = H::serving();
        let want = feed(&mut fresh.conn, line, false);
        let mut reused = H::serving();
        // The application changed every field of the message it handed back.
        let mut e = MessageEvent {
            text: "t".repeat(2 * MAX_STRING_CAPACITY),
            message_type: relay_core::message::MessageType::Photo,
            message_id: Some("".into()),
            reply_to_message_id: Some("r".into()),
            media_urls: vec!["u".into()],
            reply_to: Some(Default::default()),
            media: vec![Default::default()],
            context: vec![Default::default()],
            context_error: Some("e".into()),
            prompt_response: Some(Default::default()),
            ..Default::default()
        };
        e.extra.insert("k".into(), json!(1));
        let s = &mut e.source;
        s.platform = "".into();
        s.chat_id = "c".repeat(3 * MAX_STRING_CAPACITY).into();
        s.chat_type = relay_core::message::ChatType::Other("x".into());
        s.scope_id = Some("S1".into());
        s.user_name = Some("stale".into());
        s.prospective_thread_id = Some("stale".into());
        s.auto_thread_created = true;
        s.is_bot = true;
        s.message_is_edit = true;
        s.one_to_one_verified = true;
        s.extra.insert("k".into(), json!(2));
        reused.conn.recycle(Box::new(e));
        let got = feed(&mut reused.conn, line, true);
        assert_eq!(got, want, "line {line:?}");
    }
}

/// The next inbound message `c` gives.
fn next_inbound(c: &mut relay_core::Connection) -> Box<MessageEvent> {
    loop {
        match c.poll_output() {
            Output::Event(Event::Inbound { event, .. }) => return event,
            Output::Wait(_) => panic!("no inbound message"),
            _ => {}
        }
    }
}

/// A handed-back message's heap text buffers (texts longer than the 24
/// bytes kept inline) are decoded into again: same buffers, no allocation.
#[test]
fn long_texts_are_decoded_into_the_handed_back_heap_buffers() {
    let long = |key: &str, i: usize| format!("{key} {i:04}: longer than twenty-four bytes");
    let line = |i: usize| {
        let frame = json!({"type": "inbound", "event": {
            "text": long("text", i),
            "message_id": long("message_id", i),
            "source": {
                // The same chat and author: the chat's memory learns
                // nothing new (it would allocate).
                "platform": long("platform", 0), "chat_id": long("chat_id", 0),
                "chat_name": long("chat_name", i), "user_id": long("user_id", 0),
                "user_name": long("user_name", i), "thread_id": long("thread_id", i),
                "message_id": long("source.message_id", i),
            },
        }});
        format!("{frame}\n")
    };
    let buffers = |e: &MessageEvent| {
        let s = &e.source;
        [
            Some(&e.message_id),
            None,
            Some(&s.chat_name),
            Some(&s.user_id),
            Some(&s.user_name),
            Some(&s.thread_id),
            Some(&s.message_id),
        ]
        .into_iter()
        .flatten()
        .map(|t| t.as_deref().unwrap().as_ptr())
        .chain([s.platform.as_ptr(), s.chat_id.as_ptr(), e.text.as_ptr()])
        .collect::<Vec<_>>()
    };
    let mut h = H::serving();
    // Warm-up: scope memory, queues.
    for i in 0..4 {
        h.conn
            .handle_input(Input::Message(line(i).as_bytes()), ms(1));
        let e = next_inbound(&mut h.conn);
        h.conn.recycle(e);
    }
    h.conn
        .handle_input(Input::Message(line(4).as_bytes()), ms(1));
    let first = next_inbound(&mut h.conn);
    let before = buffers(&first);
    assert!(first.source.user_name.as_ref().unwrap().is_heap_allocated());
    h.conn.recycle(first);
    let next = line(5);
    let mut second = None;
    let n = allocations(|| {
        h.conn.handle_input(Input::Message(next.as_bytes()), ms(1));
        second = Some(next_inbound(&mut h.conn));
    });
    let second = second.unwrap();
    assert_eq!(n, 0, "{n} allocations");
    assert_eq!(buffers(&second), before, "the heap buffers were reused");
    assert_eq!(
        second.source.user_name.as_deref(),
        Some(&*long("user_name", 5))
    );
    assert_eq!(second.message_id.as_deref(), Some(&*long("message_id", 5)));
}
