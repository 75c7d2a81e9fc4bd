//! Frame decoding and encoding against the protocol's example lines, a
//! table of malformed inputs, and line reassembly.

use relay_core::descriptor::LenUnit;
use relay_core::message::{ChatType, MessageType};
use relay_core::wire::*;
use serde_json::{Value, json};

fn parse(s: &str) -> Value {
    serde_json::from_str(s.trim_end()).unwrap_or(Value::Null)
}

#[test]
fn gateway_examples_match_reference_content_and_decode() {
    // (reference line as the Python gateway writes it, our frame)
    let mut meta = Metadata::new();
    meta.insert("guild_id".into(), json!("g-1"));
    let cases: Vec<(&str, GatewayFrame)> = vec![
        (
            r#"{"type": "hello", "platform": "discord", "botId": "app-1"}"#,
            GatewayFrame::Hello(Hello {
                platform: "discord".into(),
                bot_id: "app-1".into(),
                command_manifest: None,
            }),
        ),
        (
            r#"{"type": "outbound", "requestId": "9f1c2e00000000000000000000000000", "action": {"op": "send", "chat_id": "chan-1", "content": "hi", "reply_to": null, "metadata": {"guild_id": "g-1"}}, "platform": "discord", "botId": "app-1"}"#,
            GatewayFrame::Outbound(Box::new(Outbound {
                request_id: "9f1c2e00000000000000000000000000".into(),
                action: Action::Send(SendAction {
                    chat_id: "chan-1".into(),
                    content: "hi".into(),
                    reply_to: None,
                    metadata: meta,
                }),
                platform: Some("discord".into()),
                bot_id: Some("app-1".into()),
            })),
        ),
        (
            r#"{"type": "outbound", "requestId": "r", "action": {"op": "follow_up", "session_key": "agent:main:discord:group:chan-9:user-3", "kind": "discord.interaction_token", "content": "done", "metadata": {}}, "platform": "discord", "botId": "app-1"}"#,
            GatewayFrame::Outbound(Box::new(Outbound {
                request_id: "r".into(),
                action: Action::FollowUp(FollowUpAction {
                    session_key: "agent:main:discord:group:chan-9:user-3".into(),
                    kind: "discord.interaction_token".into(),
                    content: "done".into(),
                    metadata: Metadata::new(),
                }),
                platform: Some("discord".into()),
                bot_id: Some("app-1".into()),
            })),
        ),
        (
            r#"{"type": "outbound", "requestId": "r", "action": {"op": "get_chat_info", "chat_id": "c1"}}"#,
            GatewayFrame::Outbound(Box::new(Outbound {
                request_id: "r".into(),
                action: Action::GetChatInfo(GetChatInfoAction {
                    chat_id: "c1".into(),
                }),
                platform: None,
                bot_id: None,
            })),
        ),
        (
            r#"{"type": "interrupt", "session_key": "agent:main:discord:group:chanA:userX", "reason": null}"#,
            GatewayFrame::Interrupt {
                session_key: "agent:main:discord:group:chanA:userX".into(),
                reason: None,
            },
        ),
        (r#"{"type": "going_idle"}"#, GatewayFrame::GoingIdle),
        (
            r#"{"type": "inbound_ack", "bufferId": "buf-42"}"#,
            GatewayFrame::InboundAck {
                buffer_id: BufferId("buf-42".into()),
            },
        ),
    ];
    for (reference, frame) in cases {
        let line = frame.to_line();
        assert!(line.ends_with('\n') && !line.trim_end().contains('\n'));
        // Same content, same key order as the reference line.
        assert_eq!(parse(&line), parse(reference), "{reference}");
        let ours: Vec<String> = parse(&line)
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let theirs: Vec<String> = parse(reference)
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        assert_eq!(ours, theirs);
        // Compact: the reference with its separators tightened.
        let compact = reference.replace("\": ", "\":").replace(", \"", ",\"");
        assert_eq!(line.trim_end(), compact);
        // Both spellings decode to the frame.
        assert_eq!(
            decode_gateway_frame(reference.as_bytes()),
            Ok(frame.clone())
        );
        assert_eq!(decode_gateway_frame(line.trim_end().as_bytes()), Ok(frame));
    }
}

#[test]
fn connector_examples_decode() {
    let d = decode_connector_frame(br#"{"type":"descriptor","descriptor":{"contract_version":1,"platform":"discord","label":"Discord","max_message_length":2000,"supports_draft_streaming":false,"supports_edit":true,"supports_threads":true,"markdown_dialect":"discord","len_unit":"chars"}}"#);
    let Ok(ConnectorFrame::Descriptor(d)) = d else {
        panic!("descriptor: {d:?}")
    };
    assert_eq!(d.platform, "discord");
    assert_eq!(d.max_message_length, 2000);
    assert!(d.supports_edit && d.supports_threads && !d.supports_draft_streaming);
    assert_eq!(d.len_unit, LenUnit::Chars);
    assert_eq!(d.emoji, "\u{1F50C}");

    let i = decode_connector_frame(br#"{"type":"inbound","event":{"text":"hello from connector","message_type":"text","source":{"platform":"discord","chat_id":"chan1","chat_type":"group","guild_id":"guildA"}},"bufferId":"buf-1"}"#);
    let Ok(ConnectorFrame::Inbound { event, buffer_id }) = i else {
        panic!("inbound: {i:?}")
    };
    assert_eq!(event.text, "hello from connector");
    assert_eq!(event.message_type, MessageType::Text);
    assert_eq!(event.source.platform, "discord");
    assert_eq!(event.source.chat_id, "chan1");
    assert_eq!(event.source.chat_type, ChatType::Group);
    assert_eq!(event.source.scope_id.as_deref(), Some("guildA"));
    assert_eq!(buffer_id, Some(BufferId("buf-1".into())));

    assert_eq!(
        decode_connector_frame(br#"{"type":"outbound_result","requestId":"abc","result":{"success":true,"message_id":"srv-send"}}"#),
        Ok(ConnectorFrame::OutboundResult {
            request_id: "abc".into(),
            result: Some(Box::new(ActionResult::ok(Some("srv-send".into())))),
        })
    );
    assert_eq!(
        decode_connector_frame(br#"{"type":"interrupt_inbound","session_key":"agent:main:discord:group:chanA:userX","chat_id":"chanA"}"#),
        Ok(ConnectorFrame::InterruptInbound {
            session_key: "agent:main:discord:group:chanA:userX".into(),
            chat_id: "chanA".into(),
        })
    );
    assert_eq!(
        decode_connector_frame(br#"{"type":"going_idle_ack"}"#),
        Ok(ConnectorFrame::GoingIdleAck)
    );
    assert_eq!(
        decode_connector_frame(br#"{"type":"passthrough_forward","forward":{"platform":"discord","botId":"appShared","method":"POST","path":"/interactions/discord/appShared","headers":[["content-type","application/json"]],"bodyB64":"eyJ0eXBlIjogMn0="},"bufferId":"pbuf-7"}"#),
        Ok(ConnectorFrame::PassthroughForward {
            forward: Box::new(PassthroughForward {
                platform: "discord".into(),
                bot_id: "appShared".into(),
                method: "POST".into(),
                path: "/interactions/discord/appShared".into(),
                headers: vec![("content-type".into(), "application/json".into())],
                body: b"{\"type\": 2}".to_vec(),
                body_undecodable: false,
                profile: None,
            }),
            buffer_id: Some(BufferId("pbuf-7".into())),
        })
    );
}

#[test]
fn python_default_spelling_is_accepted() {
    // ensure_ascii escapes, ", " / ": " separators
    let line = "{\"type\": \"inbound\", \"event\": {\"text\": \"\\u00e9\\ud83d\\ude00\", \"source\": {\"chat_id\": \"c\"}}}";
    let Ok(ConnectorFrame::Inbound { event, buffer_id }) = decode_connector_frame(line.as_bytes())
    else {
        panic!("decode failed")
    };
    assert_eq!(event.text, "\u{e9}\u{1F600}");
    assert_eq!(event.source.platform, "relay");
    assert_eq!(buffer_id, None);
}

/// A key written with escapes names the same field as the plain key, at
/// every level and however many such keys an object holds in a row; an
/// unknown one is kept under its unescaped name.
#[test]
fn escaped_keys_name_the_same_fields() {
    let plain = r#"{"type":"inbound","bufferId":"b-1","event":{"text":"hi","message_id":"m-1","source":{"platform":"slack","chat_id":"c-1","user_name":"ann","chat_type":"group","zeta":1,"user_id":"u-1"},"odd_key":true}}"#;
    // Each key escaped in turn, then every key escaped at once.
    let keys = [
        "type",
        "bufferId",
        "event",
        "text",
        "message_id",
        "source",
        "platform",
        "chat_id",
        "user_name",
        "chat_type",
        "zeta",
        "user_id",
        "odd_key",
    ];
    let escape = |k: &str| {
        let mut chars = k.chars();
        let first = chars.next().unwrap();
        format!("\"\\u{:04x}{}\":", first as u32, chars.as_str())
    };
    let mut lines: Vec<String> = keys
        .iter()
        .map(|k| plain.replacen(&format!("\"{k}\":"), &escape(k), 1))
        .collect();
    let mut all = plain.to_owned();
    for k in keys {
        all = all.replacen(&format!("\"{k}\":"), &escape(k), 1);
    }
    lines.push(all);
    let want = decode_connector_frame(plain.as_bytes()).unwrap();
    let ConnectorFrame::Inbound { event, buffer_id } = &want else {
        panic!("{want:?}")
    };
    assert_eq!(buffer_id.as_ref().map(|b| b.0.as_str()), Some("b-1"));
    assert_eq!(event.source.user_id.as_deref(), Some("u-1"));
    assert_eq!(event.source.extra["zeta"], json!(1));
    assert_eq!(event.extra["odd_key"], json!(true));
    for line in &lines {
        assert_ne!(line, plain);
        assert_eq!(
            decode_connector_frame(line.as_bytes()).as_ref(),
            Ok(&want),
            "{line}"
        );
        assert_eq!(decode_connector_text(line).as_ref(), Ok(&want), "{line}");
    }
}

#[test]
fn lenient_connector_fields() {
    // numeric bufferId → string; falsy bufferId → live
    let f = decode_connector_frame(br#"{"type":"inbound","event":{},"bufferId":42}"#);
    assert!(
        matches!(f, Ok(ConnectorFrame::Inbound { buffer_id: Some(BufferId(ref b)), .. }) if b == "42")
    );
    for falsy in ["\"\"", "0", "null", "false"] {
        let line = format!(r#"{{"type":"inbound","event":{{}},"bufferId":{falsy}}}"#);
        assert!(
            matches!(
                decode_connector_frame(line.as_bytes()),
                Ok(ConnectorFrame::Inbound {
                    buffer_id: None,
                    ..
                })
            ),
            "{falsy}"
        );
    }
    // result missing → default; null / non-object → None
    assert_eq!(
        decode_connector_frame(br#"{"type":"outbound_result","requestId":"r"}"#),
        Ok(ConnectorFrame::OutboundResult {
            request_id: "r".into(),
            result: Some(Box::default())
        })
    );
    for odd in ["null", "[]", "\"ok\"", "1"] {
        let line = format!(r#"{{"type":"outbound_result","requestId":"r","result":{odd}}}"#);
        assert_eq!(
            decode_connector_frame(line.as_bytes()),
            Ok(ConnectorFrame::OutboundResult {
                request_id: "r".into(),
                result: None
            }),
            "{odd}"
        );
    }
    // interrupt_inbound missing keys → ""
    assert_eq!(
        decode_connector_frame(br#"{"type":"interrupt_inbound"}"#),
        Ok(ConnectorFrame::InterruptInbound {
            session_key: String::new(),
            chat_id: String::new()
        })
    );
    // another frame type's keys are read but do not change the frame
    let f = decode_connector_frame(
        br#"{"requestId":"r","result":{"success":true},"type":"inbound","session_key":"s",
            "chat_id":"c","descriptor":{},"forward":{},"event":{"text":"t"},"bufferId":"b"}"#,
    );
    assert!(
        matches!(f, Ok(ConnectorFrame::Inbound { ref event, buffer_id: Some(BufferId(ref b)) })
            if event.text == "t" && b == "b"),
        "{f:?}"
    );
    assert_eq!(
        decode_connector_frame(
            br#"{"event":{"text":"t"},"bufferId":"b","session_key":"s","chat_id":"c1",
                "chat_id":"c2","type":"interrupt_inbound","requestId":"r"}"#
        ),
        Ok(ConnectorFrame::InterruptInbound {
            session_key: "s".into(),
            chat_id: "c2".into()
        })
    );
    // unknown keys ignored, duplicate keys: last wins
    assert_eq!(
        decode_connector_frame(
            br#"{"x":{"deep":[1,2,{"y":null}]},"type":"nope","type":"going_idle_ack"}"#
        ),
        Ok(ConnectorFrame::GoingIdleAck)
    );
}

fn forward(fields: &str) -> PassthroughForward {
    let line = format!(r#"{{"type":"passthrough_forward","forward":{{{fields}}}}}"#);
    match decode_connector_frame(line.as_bytes()) {
        Ok(ConnectorFrame::PassthroughForward { forward, .. }) => *forward,
        other => panic!("{fields}: {other:?}"),
    }
}

#[test]
fn passthrough_body_and_headers() {
    let f = forward(r#""bodyB64":"eyJ0\neXBl\r\nIjog Mn0=""#);
    assert_eq!(f.body, b"{\"type\": 2}");
    assert!(!f.body_undecodable);
    let f = forward(r#""bodyB64":"not base64!""#);
    assert_eq!(f.body, b"");
    assert!(f.body_undecodable);
    let f = forward(r#""bodyB64":"YQ""#);
    assert!(f.body_undecodable);
    let f = forward(r#""bodyB64":null"#);
    assert!(!f.body_undecodable && f.body.is_empty());
    let f = forward(r#""platform":"p""#);
    assert!(!f.body_undecodable && f.body.is_empty());
    let f = forward(
        r#""headers":[["a","1"],["b"],"c",["d",2],["e","5","x"],null,["f","6"]],"profile":"coder""#,
    );
    assert_eq!(
        f.headers,
        vec![("a".into(), "1".into()), ("f".into(), "6".into())]
    );
    assert_eq!(f.profile.as_deref(), Some("coder"));
    let f = forward(r#""headers":{"a":"b"}"#);
    assert!(f.headers.is_empty());
}

#[test]
fn inbound_event_leniency() {
    let line = br#"{"type":"inbound","event":{"text":"t","message_type":"image","media_urls":null,
      "source":{"platform":"telegram","chat_id":12345,"chat_type":"supergroup","scope_id":"S","guild_id":"G","user_id":7,"is_bot":1,"weird":[1]},
      "reply_to":{"text":"q","author":"a","is_own":true},
      "media":[{"url":"u1","mime":"image/png","size":10},"junk"],
      "context":[{"text":"hi","source":{"user_name":"bob"}}],
      "prompt_response":{"prompt_id":"p","option_id":"o"},
      "later_key":{"k":1}}}"#;
    let Ok(ConnectorFrame::Inbound { event, .. }) = decode_connector_frame(line) else {
        panic!("decode failed")
    };
    assert_eq!(event.message_type, MessageType::Text);
    assert!(event.media_urls.is_empty());
    assert_eq!(event.source.chat_id, "12345");
    assert_eq!(event.source.chat_type, ChatType::Other("supergroup".into()));
    assert_eq!(event.source.scope_id.as_deref(), Some("S"));
    assert_eq!(event.source.user_id.as_deref(), Some("7"));
    assert!(event.source.is_bot);
    assert_eq!(event.source.extra.get("weird"), Some(&json!([1])));
    assert_eq!(event.reply_to.as_ref().map(|r| r.is_own), Some(true));
    assert_eq!(event.media.len(), 1);
    assert_eq!(event.media[0].size, Some(10));
    assert_eq!(event.context[0].user_name.as_deref(), Some("bob"));
    assert_eq!(
        event.prompt_response.as_ref().map(|p| p.option_id.as_str()),
        Some("o")
    );
    assert_eq!(event.extra.get("later_key"), Some(&json!({"k": 1})));
}

fn not_json(r: Result<ConnectorFrame, DecodeError>) -> bool {
    matches!(r, Err(DecodeError::NotJson { .. }))
}

type Check = fn(&Result<ConnectorFrame, DecodeError>) -> bool;

#[test]
fn malformed_inputs_give_exact_errors() {
    use DecodeError::*;
    let deep = format!(
        r#"{{"type":"going_idle_ack","x":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let deep_kept = format!(
        r#"{{"type":"inbound","event":{{"later":{}{}}}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let deep_obj = format!(
        r#"{{"type":"inbound","event":{}1{}}}"#,
        r#"{"a":"#.repeat(10_000),
        "}".repeat(10_000)
    );
    let table: Vec<(&str, Vec<u8>, Check)> = vec![
        (
            "truncated",
            br#"{"type":"inbound","event":{"te"#.to_vec(),
            |r| not_json(r.clone()),
        ),
        (
            "trailing garbage",
            br#"{"type":"going_idle_ack"} x"#.to_vec(),
            |r| not_json(r.clone()),
        ),
        ("empty line", b"".to_vec(), |r| not_json(r.clone())),
        (
            "invalid utf-8",
            b"{\"type\":\"going_idle_ack\",\"x\":\"\xff\"}".to_vec(),
            |r| *r == Err(NotUtf8),
        ),
        (
            "invalid escape",
            br#"{"type":"inbound","event":{"text":"\uZZZZ"}}"#.to_vec(),
            |r| not_json(r.clone()),
        ),
        (
            "lone surrogate",
            br#"{"type":"inbound","event":{"text":"\ud800"}}"#.to_vec(),
            |r| not_json(r.clone()),
        ),
        // Skipped keys are scanned iteratively: deep nesting there is just skipped.
        ("deep nesting in an ignored key", deep.into_bytes(), |r| {
            *r == Ok(ConnectorFrame::GoingIdleAck)
        }),
        ("deep nesting in a kept key", deep_kept.into_bytes(), |r| {
            not_json(r.clone())
        }),
        ("deep object nesting", deep_obj.into_bytes(), |r| {
            not_json(r.clone())
        }),
        (
            "huge number",
            br#"{"type":"going_idle_ack","n":1e400}"#.to_vec(),
            |r| *r == Ok(ConnectorFrame::GoingIdleAck),
        ),
        (
            "huge number in a read field",
            br#"{"type":"outbound_result","requestId":1e400}"#.to_vec(),
            |r| not_json(r.clone()),
        ),
        (
            "huge integer id",
            br#"{"type":"outbound_result","requestId":123456789012345678901234567890}"#.to_vec(),
            |r| matches!(r, Ok(ConnectorFrame::OutboundResult { .. })),
        ),
        ("array", b"[1,2]".to_vec(), |r| *r == Err(NotAnObject)),
        ("string", b"\"going_idle_ack\"".to_vec(), |r| {
            *r == Err(NotAnObject)
        }),
        ("null", b"null".to_vec(), |r| *r == Err(NotAnObject)),
        ("empty object", b"{}".to_vec(), |r| *r == Err(MissingType)),
        ("type number", br#"{"type":3}"#.to_vec(), |r| {
            *r == Err(MissingType)
        }),
        ("type null", br#"{"type":null}"#.to_vec(), |r| {
            *r == Err(MissingType)
        }),
        ("unknown type", br#"{"type":"nope"}"#.to_vec(), |r| {
            *r == Err(UnknownType {
                type_name: "nope".into(),
            })
        }),
        (
            "echoed hello",
            br#"{"type":"hello","platform":"x","botId":""}"#.to_vec(),
            |r| {
                *r == Err(UnknownType {
                    type_name: "hello".into(),
                })
            },
        ),
        (
            "echoed outbound",
            br#"{"type":"outbound","requestId":"r","action":{}}"#.to_vec(),
            |r| {
                *r == Err(UnknownType {
                    type_name: "outbound".into(),
                })
            },
        ),
        (
            "echoed inbound_ack",
            br#"{"type":"inbound_ack","bufferId":"b"}"#.to_vec(),
            |r| {
                *r == Err(UnknownType {
                    type_name: "inbound_ack".into(),
                })
            },
        ),
        (
            "inbound without event",
            br#"{"type":"inbound"}"#.to_vec(),
            |r| {
                *r == Err(MissingField {
                    frame: "inbound",
                    field: "event",
                })
            },
        ),
        (
            "inbound event null",
            br#"{"type":"inbound","event":null,"bufferId":"b"}"#.to_vec(),
            |r| {
                *r == Err(MissingField {
                    frame: "inbound",
                    field: "event",
                })
            },
        ),
        (
            "inbound event string",
            br#"{"type":"inbound","event":"x"}"#.to_vec(),
            |r| {
                matches!(
                    r,
                    Err(InvalidField {
                        frame: "inbound",
                        field: "event",
                        ..
                    })
                )
            },
        ),
        (
            "inbound source string",
            br#"{"type":"inbound","event":{"source":"x"}}"#.to_vec(),
            |r| {
                matches!(
                    r,
                    Err(InvalidField {
                        frame: "inbound",
                        field: "event.source",
                        ..
                    })
                )
            },
        ),
        (
            "inbound bufferId object",
            br#"{"type":"inbound","event":{},"bufferId":{"a":1}}"#.to_vec(),
            |r| {
                matches!(
                    r,
                    Err(InvalidField {
                        field: "bufferId",
                        ..
                    })
                )
            },
        ),
        (
            "result without requestId",
            br#"{"type":"outbound_result","result":{}}"#.to_vec(),
            |r| {
                *r == Err(MissingField {
                    frame: "outbound_result",
                    field: "requestId",
                })
            },
        ),
        (
            "requestId array",
            br#"{"type":"outbound_result","requestId":[]}"#.to_vec(),
            |r| {
                matches!(
                    r,
                    Err(InvalidField {
                        frame: "outbound_result",
                        field: "requestId",
                        ..
                    })
                )
            },
        ),
        (
            "descriptor missing",
            br#"{"type":"descriptor"}"#.to_vec(),
            |r| {
                *r == Err(MissingField {
                    frame: "descriptor",
                    field: "contract_version",
                })
            },
        ),
        (
            "descriptor not object",
            br#"{"type":"descriptor","descriptor":[]}"#.to_vec(),
            |r| {
                matches!(
                    r,
                    Err(InvalidField {
                        frame: "descriptor",
                        field: "descriptor",
                        ..
                    })
                )
            },
        ),
        (
            "forward missing",
            br#"{"type":"passthrough_forward"}"#.to_vec(),
            |r| {
                *r == Err(MissingField {
                    frame: "passthrough_forward",
                    field: "forward",
                })
            },
        ),
        (
            "forward string",
            br#"{"type":"passthrough_forward","forward":"x"}"#.to_vec(),
            |r| {
                matches!(
                    r,
                    Err(InvalidField {
                        field: "forward",
                        ..
                    })
                )
            },
        ),
    ];
    for (name, line, check) in table {
        let r = decode_connector_frame(&line);
        assert!(check(&r), "{name}: {r:?}");
    }
}

#[test]
fn gateway_direction_is_robust_too() {
    use DecodeError::*;
    let deep = format!(
        r#"{{"type":"going_idle","x":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert_eq!(
        decode_gateway_frame(deep.as_bytes()),
        Ok(GatewayFrame::GoingIdle)
    );
    let deep = format!(
        r#"{{"type":"outbound","requestId":"r","action":{{"op":"send","chat_id":"c","metadata":{{"k":{}{}}}}}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(matches!(
        decode_gateway_frame(deep.as_bytes()),
        Err(NotJson { .. })
    ));
    assert_eq!(decode_gateway_frame(b"\xfe"), Err(NotUtf8));
    assert_eq!(decode_gateway_frame(b"[]"), Err(NotAnObject));
    assert_eq!(decode_gateway_frame(b"{}"), Err(MissingType));
    assert_eq!(
        decode_gateway_frame(br#"{"type":"descriptor","descriptor":{}}"#),
        Err(UnknownType {
            type_name: "descriptor".into()
        })
    );
    assert_eq!(
        decode_gateway_frame(br#"{"type":"hello"}"#),
        Err(MissingField {
            frame: "hello",
            field: "platform"
        })
    );
    assert_eq!(
        decode_gateway_frame(br#"{"type":"outbound","requestId":"r"}"#),
        Err(MissingField {
            frame: "outbound",
            field: "action"
        })
    );
    assert!(matches!(
        decode_gateway_frame(br#"{"type":"outbound","requestId":"r","action":{"op":"nope"}}"#),
        Err(InvalidField {
            field: "action.op",
            ..
        })
    ));
    assert_eq!(
        decode_gateway_frame(br#"{"type":"inbound_ack"}"#),
        Err(MissingField {
            frame: "inbound_ack",
            field: "bufferId"
        })
    );
    assert_eq!(
        decode_gateway_frame(br#"{"type":"inbound_ack","bufferId":7}"#),
        Ok(GatewayFrame::InboundAck {
            buffer_id: BufferId("7".into())
        })
    );
    assert_eq!(
        decode_gateway_frame(br#"{"type":"interrupt","session_key":"s"}"#),
        Ok(GatewayFrame::Interrupt {
            session_key: "s".into(),
            reason: None
        })
    );
    assert_eq!(
        decode_gateway_frame(br#"{"type":"hello","platform":"discord","botId":"a","command_manifest":[{"name":"ask","description":"Ask","options":[{"type":3}]},5]}"#),
        Ok(GatewayFrame::Hello(Hello {
            platform: "discord".into(),
            bot_id: "a".into(),
            command_manifest: Some(vec![ManifestCommand {
                name: "ask".into(),
                description: "Ask".into(),
                options: Some(json!([{"type": 3}])),
            }]),
        }))
    );
}

#[test]
fn encode_appends_to_reused_buffer() {
    let mut out = Vec::new();
    encode_gateway_frame(&GatewayFrame::GoingIdle, &mut out);
    encode_gateway_frame(
        &GatewayFrame::InboundAck {
            buffer_id: BufferId("b".into()),
        },
        &mut out,
    );
    assert_eq!(
        out,
        b"{\"type\":\"going_idle\"}\n{\"type\":\"inbound_ack\",\"bufferId\":\"b\"}\n"
    );
    out.clear();
    encode_connector_frame(&ConnectorFrame::GoingIdleAck, &mut out);
    assert_eq!(out, b"{\"type\":\"going_idle_ack\"}\n");
    let interrupt = GatewayFrame::Interrupt {
        session_key: "k".into(),
        reason: None,
    };
    assert_eq!(
        interrupt.to_line(),
        "{\"type\":\"interrupt\",\"session_key\":\"k\",\"reason\":null}\n"
    );
    assert_eq!(interrupt.type_name(), "interrupt");
}

// ---------------------------------------------------------------------------
// LineBuffer

fn drain(lb: &mut LineBuffer) -> Vec<Result<Vec<u8>, DecodeError>> {
    let mut v = Vec::new();
    while let Some(r) = lb.next_line() {
        v.push(r.map(<[u8]>::to_vec));
    }
    v
}

#[test]
fn line_buffer_several_frames_per_message_and_split_frames() {
    let mut lb = LineBuffer::new(DEFAULT_MAX_FRAME_BYTES);
    lb.extend(b"{\"a\":1}\n{\"b\":2}\n{\"c\"");
    assert_eq!(
        drain(&mut lb),
        vec![Ok(b"{\"a\":1}".to_vec()), Ok(b"{\"b\":2}".to_vec())]
    );
    assert_eq!(lb.pending_len(), 4);
    lb.extend(b":3");
    assert!(drain(&mut lb).is_empty());
    lb.extend(b"}\n");
    assert_eq!(drain(&mut lb), vec![Ok(b"{\"c\":3}".to_vec())]);
    assert_eq!(lb.pending_len(), 0);
}

#[test]
fn line_buffer_skips_blank_lines_and_tolerates_crlf() {
    let mut lb = LineBuffer::new(64);
    lb.extend(b"\n  \n\t\r\n{\"a\":1}\r\n\r\n{\"b\":2}\n");
    assert_eq!(
        drain(&mut lb),
        vec![Ok(b"{\"a\":1}".to_vec()), Ok(b"{\"b\":2}".to_vec())]
    );
}

#[test]
fn line_buffer_byte_by_byte() {
    let mut lb = LineBuffer::new(64);
    let mut got = Vec::new();
    for b in b"{\"a\":1}\n\n{\"b\":2}\n" {
        lb.extend(&[*b]);
        got.extend(drain(&mut lb));
    }
    assert_eq!(
        got,
        vec![Ok(b"{\"a\":1}".to_vec()), Ok(b"{\"b\":2}".to_vec())]
    );
}

#[test]
fn line_buffer_oversized_complete_line() {
    let mut lb = LineBuffer::new(DEFAULT_MAX_FRAME_BYTES);
    let mut big = vec![b'x'; DEFAULT_MAX_FRAME_BYTES + 1];
    big.extend_from_slice(b"\n{\"ok\":1}\n");
    lb.extend(&big);
    assert_eq!(
        drain(&mut lb),
        vec![
            Err(DecodeError::TooLarge {
                len: DEFAULT_MAX_FRAME_BYTES + 1,
                max: DEFAULT_MAX_FRAME_BYTES
            }),
            Ok(b"{\"ok\":1}".to_vec())
        ]
    );
    // exactly the limit is fine
    let mut lb = LineBuffer::new(4);
    lb.extend(b"abcd\n");
    assert_eq!(drain(&mut lb), vec![Ok(b"abcd".to_vec())]);
}

#[test]
fn line_buffer_oversized_partial_line_releases_memory_and_discards_its_tail() {
    let mut lb = LineBuffer::new(DEFAULT_MAX_FRAME_BYTES);
    let half = vec![b'x'; DEFAULT_MAX_FRAME_BYTES / 2 + 1];
    lb.extend(&half);
    assert!(drain(&mut lb).is_empty());
    lb.extend(&half);
    let r = drain(&mut lb);
    assert_eq!(
        r,
        vec![Err(DecodeError::TooLarge {
            len: DEFAULT_MAX_FRAME_BYTES + 2,
            max: DEFAULT_MAX_FRAME_BYTES
        })]
    );
    assert_eq!(lb.pending_len(), 0);
    assert_eq!(lb.capacity(), 0, "memory released");
    // the rest of the over-long line is dropped, the next line survives
    lb.extend(b"more of the same line");
    lb.extend(b" end\n{\"next\":1}\n");
    assert_eq!(drain(&mut lb), vec![Ok(b"{\"next\":1}".to_vec())]);
}

#[test]
fn line_buffer_clear() {
    let mut lb = LineBuffer::new(8);
    lb.extend(b"partial");
    lb.clear();
    lb.extend(b"{}\n");
    assert_eq!(drain(&mut lb), vec![Ok(b"{}".to_vec())]);
    assert_eq!(lb.max_frame_bytes(), 8);
}

#[test]
fn line_buffer_feeds_decoder_with_bad_frame_in_the_middle() {
    let mut lb = LineBuffer::new(DEFAULT_MAX_FRAME_BYTES);
    lb.extend(b"{\"type\":\"going_idle_ack\"}\nnot json\n{\"type\":\"going_idle_ack\"}\n");
    let mut ok = 0;
    let mut bad = 0;
    while let Some(line) = lb.next_line() {
        match line.map(decode_connector_frame) {
            Ok(Ok(_)) => ok += 1,
            _ => bad += 1,
        }
    }
    assert_eq!((ok, bad), (2, 1));
}

/// Reads one message as the connection does: complete lines in place while
/// nothing is pending, then the buffer (a trailing partial line, or the
/// whole message behind a pending one).
fn read_message(lb: &mut LineBuffer, msg: &[u8]) -> Vec<Result<Vec<u8>, DecodeError>> {
    let mut v = Vec::new();
    let mut rest = msg;
    while !rest.is_empty() && lb.is_idle() {
        match lb.split_line(&mut rest) {
            Some(r) => v.push(r.map(<[u8]>::to_vec)),
            None => break,
        }
    }
    lb.extend(rest);
    v.extend(drain(lb));
    v
}

#[test]
fn line_buffer_in_place_reads_several_lines_of_one_message_without_copying() {
    let mut lb = LineBuffer::new(64);
    let got = read_message(&mut lb, b"{\"a\":1}\n\r\n{\"b\":2}\r\n  \n{\"c\":3}\n");
    assert_eq!(
        got,
        vec![
            Ok(b"{\"a\":1}".to_vec()),
            Ok(b"{\"b\":2}".to_vec()),
            Ok(b"{\"c\":3}".to_vec())
        ]
    );
    assert_eq!(lb.capacity(), 0, "nothing was copied");
    assert!(lb.is_idle());
}

#[test]
fn line_buffer_in_place_copies_only_a_partial_tail_then_reads_its_rest() {
    let mut lb = LineBuffer::new(64);
    let got = read_message(&mut lb, b"{\"a\":1}\n{\"b\"");
    assert_eq!(got, vec![Ok(b"{\"a\":1}".to_vec())]);
    assert_eq!(lb.pending_len(), 4, "only the partial tail is kept");
    assert!(!lb.is_idle());
    let got = read_message(&mut lb, b":2}\r\n{\"c\":3}\n");
    assert_eq!(
        got,
        vec![Ok(b"{\"b\":2}".to_vec()), Ok(b"{\"c\":3}".to_vec())]
    );
    assert!(lb.is_idle());
    // idle again: the next message is read in place
    let got = read_message(&mut lb, b"{\"d\":4}\n");
    assert_eq!(got, vec![Ok(b"{\"d\":4}".to_vec())]);
}

#[test]
fn line_buffer_in_place_reports_an_over_long_line_once() {
    let mut lb = LineBuffer::new(8);
    let got = read_message(&mut lb, b"{\"a\":1}\n0123456789\r\n{\"b\":2}\n");
    assert_eq!(
        got,
        vec![
            Ok(b"{\"a\":1}".to_vec()),
            Err(DecodeError::TooLarge { len: 11, max: 8 }),
            Ok(b"{\"b\":2}".to_vec())
        ]
    );
    // an over-long partial tail: reported once, its rest discarded
    let got = read_message(&mut lb, b"{\"c\":3}\n0123456789");
    assert_eq!(
        got,
        vec![
            Ok(b"{\"c\":3}".to_vec()),
            Err(DecodeError::TooLarge { len: 10, max: 8 })
        ]
    );
    assert!(!lb.is_idle(), "discarding to the newline");
    assert!(read_message(&mut lb, b"still the same line").is_empty());
    let got = read_message(&mut lb, b" end\n{\"d\":4}\n");
    assert_eq!(got, vec![Ok(b"{\"d\":4}".to_vec())]);
    assert!(lb.is_idle());
}

#[test]
fn line_buffer_in_place_and_copied_reads_agree_on_any_split() {
    let stream: &[u8] = b"{\"a\":1}\n\n  \r\n{\"b\":22}\r\n0123456789abcdef\n{\"c\":3}\n\
        xxxxxxxxxxxxxxxxxxxxxxxx\r\n\t\n{\"d\":4}\r\n{\"e\":5}\n";
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2000 {
        // random cut points
        let mut cuts = vec![0, stream.len()];
        for _ in 0..(seed % 7) {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            cuts.push((seed >> 33) as usize % (stream.len() + 1));
        }
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        cuts.sort_unstable();
        let (mut in_place, mut copied) = (LineBuffer::new(12), LineBuffer::new(12));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for w in cuts.windows(2) {
            let msg = &stream[w[0]..w[1]];
            a.extend(read_message(&mut in_place, msg));
            copied.extend(msg);
            b.extend(drain(&mut copied));
        }
        assert_eq!(a, b, "cuts {cuts:?}");
        assert_eq!(in_place.pending_len(), copied.pending_len());
    }
}

#[test]
fn a_connector_frames_type_is_its_last_text() {
    use DecodeError::*;
    let inbound = |line: &str| {
        matches!(
            decode_connector_frame(line.as_bytes()),
            Ok(ConnectorFrame::Inbound { .. })
        ) && matches!(
            decode_connector_text(line),
            Ok(ConnectorFrame::Inbound { .. })
        )
    };
    assert!(inbound(r#"{"type":"inbound","event":{}}"#));
    assert!(inbound(r#"{"type":"in\u0062ound","event":{}}"#));
    assert!(inbound(r#"{"type":"nope","type":"inbound","event":{}}"#));
    assert_eq!(
        decode_connector_text(r#"{"type":"inbound","type":3,"event":{}}"#),
        Err(MissingType)
    );
    assert_eq!(
        decode_connector_text(r#"{"type":"inbound","type":"going_idle_ack"}"#),
        Ok(ConnectorFrame::GoingIdleAck)
    );
    assert_eq!(
        decode_connector_text(r#"{"type":"going_idle_ack ","event":{}}"#),
        Err(UnknownType {
            type_name: "going_idle_ack ".into()
        })
    );
}
