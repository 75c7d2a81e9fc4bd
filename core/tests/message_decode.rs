//! SessionSource / MessageEvent decoding and encoding.

use relay_core::message::*;
use serde_json::json;

fn event(v: serde_json::Value) -> MessageEvent {
    MessageEvent::from_json(v.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn defaults() {
    let e = event(json!({}));
    assert_eq!(e.text, "");
    assert_eq!(e.message_type, MessageType::Text);
    assert_eq!(e.source.platform, "relay");
    assert_eq!(e.source.chat_type, ChatType::Dm);
    assert_eq!(e.source, SessionSource::default());
    let e = event(json!({"source": null, "media_urls": null}));
    assert_eq!(e.source.platform, "relay");
    assert!(e.media_urls.is_empty());
    let e = event(json!({"source": {"platform": null}}));
    assert_eq!(e.source.platform, "relay");
}

#[test]
fn message_types() {
    for (w, t) in [
        ("command", MessageType::Command),
        ("voice", MessageType::Voice),
        ("image", MessageType::Text),
        ("", MessageType::Text),
    ] {
        assert_eq!(event(json!({"message_type": w})).message_type, t);
    }
    assert_eq!(
        event(json!({"message_type": 3})).message_type,
        MessageType::Text
    );
}

#[test]
fn scope_preference() {
    let s = |v| event(json!({"source": v})).source.scope_id;
    assert_eq!(s(json!({"guild_id": "g"})), Some("g".into()));
    assert_eq!(s(json!({"scope_id": "s"})), Some("s".into()));
    assert_eq!(
        s(json!({"guild_id": "g", "scope_id": "s"})),
        Some("s".into())
    );
    assert_eq!(
        s(json!({"scope_id": "s", "guild_id": "g"})),
        Some("s".into())
    );
    assert_eq!(
        s(json!({"scope_id": null, "guild_id": "g"})),
        Some("g".into())
    );
    assert_eq!(
        s(json!({"scope_id": "g", "guild_id": "g"})),
        Some("g".into())
    );
}

#[test]
fn scope_alias_survives_repeated_keys() {
    // Duplicate keys: the last value of each key counts, as in Python.
    let s = |raw: &str| {
        MessageEvent::from_json(format!(r#"{{"source":{raw}}}"#).as_bytes())
            .unwrap_or_else(|e| panic!("{e}"))
            .source
            .scope_id
    };
    let g = Some("g".into());
    assert_eq!(s(r#"{"scope_id":"g","guild_id":"g","scope_id":null}"#), g);
    assert_eq!(
        s(r#"{"scope_id":"g","guild_id":"g","scope_id":"s"}"#),
        Some("s".into())
    );
    assert_eq!(
        s(r#"{"scope_id":"g","guild_id":"g","guild_id":"h","scope_id":null}"#),
        Some("h".into())
    );
    assert_eq!(
        s(r#"{"scope_id":"g","guild_id":"g","scope_id":null,"scope_id":null}"#),
        g
    );
    assert_eq!(
        s(r#"{"scope_id":"g","guild_id":7,"scope_id":null}"#),
        Some("7".into())
    );
    assert_eq!(
        s(r#"{"scope_id":"g","guild_id":null,"scope_id":null}"#),
        None
    );
    assert_eq!(s(r#"{"chat_type":"group","chat_type":"thread"}"#), None);
}

#[test]
fn a_repeated_source_replaces_the_earlier_one_whole() {
    let raw = |text: &str| MessageEvent::from_json(text.as_bytes());
    let e = raw(
        r#"{"source":{"platform":"discord","guild_id":"g","user_id":"u","extra":1},"source":{"chat_id":"c"}}"#,
    )
    .unwrap();
    assert_eq!(
        e.source,
        SessionSource {
            chat_id: "c".into(),
            ..SessionSource::default()
        }
    );
    let e = raw(r#"{"source":{"platform":"discord","scope_id":"s"},"source":null}"#).unwrap();
    assert_eq!(e.source, SessionSource::default());
    let e = raw(r#"{"source":{"platform":""},"source":{"platform":"slack"}}"#).unwrap();
    assert_eq!(e.source.platform, "slack");
    // A bad source is an error even after a good one, and a good one after
    // a bad one clears it.
    assert!(raw(r#"{"source":{"platform":"discord"},"source":5}"#).is_err());
    let e = raw(r#"{"source":[],"source":{"platform":"discord"}}"#).unwrap();
    assert_eq!(e.source.platform, "discord");
}

#[test]
fn later_keys() {
    let e = event(json!({
        "text": "hi", "message_id": 99,
        "source": {"platform": "discord", "chat_id": "c", "chat_type": "channel",
                   "user_display_name": "Ann", "user_handle": "ann", "profile": "coder",
                   "auto_thread_created": true, "auto_thread_initial_name": "t",
                   "prospective_thread_id": "p", "message_is_edit": true, "one_to_one_verified": 1},
        "media_urls": ["u1", "u2", 3],
        "media": [{"url": "u2", "mime": "audio/ogg", "kind": "voice"}],
        "context_error": "forbidden"
    }));
    assert_eq!(e.message_id.as_deref(), Some("99"));
    assert_eq!(e.media_urls, vec!["u1".to_string(), "u2".to_string()]);
    assert_eq!(
        e.media_types(),
        vec![String::new(), "audio/ogg".to_string()]
    );
    assert_eq!(e.context_error.as_deref(), Some("forbidden"));
    let s = &e.source;
    assert_eq!(s.display_name(), Some("Ann"));
    assert!(s.auto_thread_created && s.message_is_edit && s.one_to_one_verified && !s.is_bot);
    assert_eq!(s.prospective_thread_id.as_deref(), Some("p"));
    assert_eq!(s.profile.as_deref(), Some("coder"));
}

#[test]
fn encode_writes_scope_under_both_names_and_round_trips() {
    let e = event(
        json!({"text": "x", "source": {"platform": "discord", "chat_id": "c", "guild_id": "g", "x-extra": [1]}, "unknown": true}),
    );
    let v = serde_json::to_value(&e).unwrap_or_default();
    assert_eq!(v["source"]["scope_id"], json!("g"));
    assert_eq!(v["source"]["guild_id"], json!("g"));
    assert_eq!(v["source"]["chat_name"], json!(null));
    assert_eq!(v["unknown"], json!(true));
    assert_eq!(v["source"]["x-extra"], json!([1]));
    let back = event(v);
    assert_eq!(back, e);
    let via_serde: MessageEvent =
        serde_json::from_value(serde_json::to_value(&e).unwrap_or_default()).unwrap_or_default();
    assert_eq!(via_serde, e);
}

#[test]
fn prompt_response_keeps_every_key_in_order() {
    // The reference hands the whole object to the application: keys this
    // version does not model ride along, in order, and encode again.
    let answer = json!({"prompt_id": "p-1", "option_id": "approve", "choice_index": 2,
                        "label": "Approve", "answered_by": {"user_id": "u-9"},
                        "prompt_message_id": "msg-4", "note": null});
    let e = event(json!({"text": "Approve", "prompt_response": answer}));
    let v = serde_json::to_value(&e).unwrap_or_default();
    let got = v["prompt_response"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (k, want) in answer.as_object().into_iter().flatten() {
        assert_eq!(got.get(k), Some(want), "prompt_response.{k}");
    }
    let unmodelled: Vec<&str> = got
        .keys()
        .map(String::as_str)
        .filter(|k| !["prompt_id", "option_id", "label", "prompt_message_id"].contains(k))
        .collect();
    assert_eq!(unmodelled, ["choice_index", "answered_by", "note"]);
    assert_eq!(event(v), e, "decodes to the same message again");
}

#[test]
fn media_urls_keep_an_arrays_strings_and_nothing_else() {
    for (v, want) in [
        (json!("u1"), vec![]),
        (json!(7), vec![]),
        (json!(true), vec![]),
        (json!({"a": "u1"}), vec![]),
        (json!([]), vec![]),
        (
            json!(["u1", ["u2"], {"u": "u3"}, null, "u4"]),
            vec!["u1", "u4"],
        ),
        (json!(["a \"quoted\" url"]), vec!["a \"quoted\" url"]),
    ] {
        let e = event(json!({ "media_urls": v }));
        assert_eq!(e.media_urls, want, "{v}");
    }
    // A repeated key: the last value counts.
    let e = MessageEvent::from_json(br#"{"media_urls":["a","b"],"media_urls":["c"]}"#).unwrap();
    assert_eq!(e.media_urls, vec!["c"]);
    let e = MessageEvent::from_json(br#"{"media_urls":["a","b"],"media_urls":3}"#).unwrap();
    assert!(e.media_urls.is_empty());
}

/// Every text of a message, short (kept inline) or longer than the 24
/// bytes kept inline, decodes into its field and encodes back to the same
/// JSON.
#[test]
fn short_and_long_texts_round_trip_identically() {
    // The source's keys in the encoder's order (`chat_type` and the
    // `guild_id` alias are no texts of their own).
    const SOURCE_KEYS: [&str; 19] = [
        "platform",
        "chat_id",
        "chat_name",
        "chat_type",
        "user_id",
        "user_name",
        "thread_id",
        "chat_topic",
        "user_id_alt",
        "chat_id_alt",
        "scope_id",
        "guild_id",
        "parent_chat_id",
        "message_id",
        "profile",
        "auto_thread_initial_name",
        "prospective_thread_id",
        "user_display_name",
        "user_handle",
    ];
    const EVENT_KEYS: [&str; 3] = ["text", "event.message_id", "reply_to_message_id"];
    for (len, inline) in [(3, true), (24, true), (25, false), (200, false)] {
        // A text of exactly `len` bytes, its first two naming its key, the
        // rest two-byte characters.
        let text = |key: &str| {
            let key = if key == "guild_id" { "scope_id" } else { key };
            let id = SOURCE_KEYS
                .iter()
                .chain(&EVENT_KEYS)
                .position(|k| *k == key)
                .unwrap();
            let mut t = format!("{id:02}{}", "é".repeat((len - 2) / 2));
            if t.len() < len {
                t.push('x');
            }
            assert_eq!(t.len(), len);
            t
        };
        let mut source = serde_json::Map::new();
        for key in SOURCE_KEYS {
            let value = match key {
                "chat_type" => json!("group"),
                _ => json!(text(key)),
            };
            source.insert(key.into(), value);
        }
        let input = json!({
            "text": text("text"),
            "message_type": "text",
            "source": source,
            "message_id": text("event.message_id"),
            "reply_to_message_id": text("reply_to_message_id"),
            "media_urls": [],
        });
        let e = event(input.clone());
        let s = &e.source;
        let fields = [
            ("platform", Some(&s.platform)),
            ("chat_id", Some(&s.chat_id)),
            ("chat_name", s.chat_name.as_ref()),
            ("user_id", s.user_id.as_ref()),
            ("user_name", s.user_name.as_ref()),
            ("thread_id", s.thread_id.as_ref()),
            ("chat_topic", s.chat_topic.as_ref()),
            ("user_id_alt", s.user_id_alt.as_ref()),
            ("chat_id_alt", s.chat_id_alt.as_ref()),
            ("scope_id", s.scope_id.as_ref()),
            ("parent_chat_id", s.parent_chat_id.as_ref()),
            ("message_id", s.message_id.as_ref()),
            ("profile", s.profile.as_ref()),
            (
                "auto_thread_initial_name",
                s.auto_thread_initial_name.as_ref(),
            ),
            ("prospective_thread_id", s.prospective_thread_id.as_ref()),
            ("user_display_name", s.user_display_name.as_ref()),
            ("user_handle", s.user_handle.as_ref()),
        ];
        for (key, field) in fields {
            let field = field.unwrap_or_else(|| panic!("{key} missing"));
            assert_eq!(field.as_str(), text(key), "{key}");
            assert_eq!(field.is_heap_allocated(), !inline, "{key} of {len} bytes");
        }
        assert_eq!(e.message_id.as_deref(), Some(&*text("event.message_id")));
        assert_eq!(
            e.reply_to_message_id.as_deref(),
            Some(&*text("reply_to_message_id"))
        );
        assert_eq!(e.text, text("text"));
        let out = serde_json::to_string(&e).unwrap();
        assert_eq!(out, input.to_string(), "{len}-byte texts");
        assert_eq!(event(serde_json::from_str(&out).unwrap()), e);
    }
}
