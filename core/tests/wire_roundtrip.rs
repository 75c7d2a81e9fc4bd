//! Property tests: every generated frame survives encode → decode unchanged,
//! and decoding arbitrary bytes never panics.

use proptest::option;
use proptest::prelude::*;
use relay_core::descriptor::{CapabilityDescriptor, LenUnit};
use relay_core::message::*;
use relay_core::wire::*;
use serde_json::{Map, Value};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9:_-]{0,12}",
        "\\PC{0,8}",
        "[\"\\\\\n\t\r\u{0}\u{1F}\u{e9}\u{1F600}/ ]{0,6}",
    ]
}

fn ostr() -> impl Strategy<Value = Option<String>> {
    option::of(text())
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Maps whose keys cannot collide with modelled field names.
fn extra() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec(("x_[a-z0-9]{0,6}", json_value()), 0..3)
        .prop_map(|kv| kv.into_iter().collect())
}

fn metadata() -> impl Strategy<Value = Metadata> {
    prop::collection::vec((text(), json_value()), 0..4).prop_map(|kv| kv.into_iter().collect())
}

fn action() -> BoxedStrategy<Action> {
    prop_oneof![
        (text(), text(), ostr(), metadata()).prop_map(|(chat_id, content, reply_to, metadata)| {
            Action::Send(SendAction {
                chat_id,
                content,
                reply_to,
                metadata,
            })
        }),
        (text(), text(), text(), any::<bool>(), metadata()).prop_map(
            |(chat_id, message_id, content, finalize, metadata)| Action::Edit(EditAction {
                chat_id,
                message_id,
                content,
                finalize,
                metadata
            })
        ),
        (text(), ostr(), metadata()).prop_map(|(chat_id, content, metadata)| Action::Typing(
            TypingAction {
                chat_id,
                content,
                metadata
            }
        )),
        (text(), text(), text(), metadata()).prop_map(|(session_key, kind, content, metadata)| {
            Action::FollowUp(FollowUpAction {
                session_key,
                kind,
                content,
                metadata,
            })
        }),
        text().prop_map(|chat_id| Action::GetChatInfo(GetChatInfoAction { chat_id })),
        (text(), text(), text(), text(), ostr(), metadata(), ostr()).prop_map(
            |(chat_id, media_kind, source_url, content, reply_to, metadata, filename)| {
                Action::SendMedia(SendMediaAction {
                    chat_id,
                    media_kind,
                    source_url,
                    content,
                    reply_to,
                    metadata,
                    filename,
                })
            }
        ),
        (
            (text(), text(), text(), text()),
            prop::collection::vec((text(), text(), ostr()), 0..3),
            ostr(),
            metadata(),
            option::of(any::<i64>())
        )
            .prop_map(
                |(
                    (chat_id, content, prompt_kind, prompt_id),
                    opts,
                    reply_to,
                    metadata,
                    timeout_s,
                )| {
                    Action::Prompt(PromptAction {
                        chat_id,
                        content,
                        prompt_kind,
                        prompt_id,
                        options: opts
                            .into_iter()
                            .map(|(id, label, style)| PromptOption { id, label, style })
                            .collect(),
                        reply_to,
                        metadata,
                        timeout_s,
                    })
                }
            ),
        (text(), text(), text(), any::<bool>(), metadata()).prop_map(
            |(chat_id, message_id, emoji, remove, metadata)| Action::React(ReactAction {
                chat_id,
                message_id,
                emoji,
                remove,
                metadata
            })
        ),
        (text(), text(), metadata()).prop_map(|(chat_id, thread_name, metadata)| {
            Action::ThreadCreate(ThreadCreateAction {
                chat_id,
                thread_name,
                metadata,
            })
        }),
        (text(), text(), text(), metadata(), any::<bool>(), ostr()).prop_map(
            |(
                chat_id,
                message_id,
                thread_name,
                metadata,
                only_if_connector_created,
                only_if_current_name,
            )| {
                Action::ThreadRename(ThreadRenameAction {
                    chat_id,
                    message_id,
                    thread_name,
                    metadata,
                    only_if_connector_created,
                    only_if_current_name,
                })
            }
        ),
        (text(), any::<i64>(), text(), any::<bool>(), metadata()).prop_map(
            |(chat_id, draft_id, content, is_final, metadata)| Action::Draft(DraftAction {
                chat_id,
                draft_id,
                content,
                is_final,
                metadata
            })
        ),
        (
            text(),
            text(),
            prop::collection::vec(metadata(), 0..3),
            metadata()
        )
            .prop_map(|(chat_id, card_id, chunks, metadata)| Action::TaskCard(
                TaskCardAction {
                    chat_id,
                    card_id,
                    chunks,
                    metadata
                }
            )),
        (text(), text(), metadata()).prop_map(|(chat_id, card_id, metadata)| {
            Action::TaskCardStop(TaskCardStopAction {
                chat_id,
                card_id,
                metadata,
            })
        }),
        (text(), text(), metadata()).prop_map(|(chat_id, message_id, metadata)| {
            Action::Delete(DeleteAction {
                chat_id,
                message_id,
                metadata,
            })
        }),
    ]
    .boxed()
}

fn buffer_id() -> impl Strategy<Value = BufferId> {
    "[a-z0-9-]{1,10}".prop_map(BufferId)
}

fn gateway_frame() -> BoxedStrategy<GatewayFrame> {
    let manifest = option::of(prop::collection::vec(
        (
            text(),
            text(),
            option::of(json_value().prop_filter("non-null", |v| !v.is_null())),
        )
            .prop_map(|(name, description, options)| ManifestCommand {
                name,
                description,
                options,
            }),
        0..3,
    ));
    prop_oneof![
        (text(), text(), manifest).prop_map(|(platform, bot_id, command_manifest)| {
            GatewayFrame::Hello(Hello {
                platform,
                bot_id,
                command_manifest,
            })
        }),
        ("[0-9a-f]{32}", action(), ostr(), ostr()).prop_map(
            |(request_id, action, platform, bot_id)| {
                GatewayFrame::Outbound(Box::new(Outbound {
                    request_id,
                    action,
                    platform,
                    bot_id,
                }))
            }
        ),
        (text(), ostr()).prop_map(|(session_key, reason)| GatewayFrame::Interrupt {
            session_key,
            reason
        }),
        Just(GatewayFrame::GoingIdle),
        buffer_id().prop_map(|buffer_id| GatewayFrame::InboundAck { buffer_id }),
    ]
    .boxed()
}

fn descriptor() -> BoxedStrategy<CapabilityDescriptor> {
    (
        (
            any::<i64>(),
            text(),
            text(),
            1i64..1_000_000,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            text(),
        ),
        (
            prop_oneof![Just(LenUnit::Chars), Just(LenUnit::Utf16)],
            text(),
            text(),
            any::<bool>(),
            prop::collection::vec(text(), 0..3),
            any::<[bool; 3]>(),
            option::of(prop::collection::vec(text(), 0..4)),
        ),
    )
        .prop_map(
            |(
                (cv, platform, label, max, draft, edit, threads, md),
                (len_unit, emoji, hint, pii, media, flags, ops),
            )| {
                CapabilityDescriptor {
                    contract_version: cv,
                    platform,
                    label,
                    max_message_length: max,
                    supports_draft_streaming: draft,
                    supports_edit: edit,
                    supports_threads: threads,
                    markdown_dialect: md,
                    len_unit,
                    emoji,
                    platform_hint: hint,
                    pii_safe: pii,
                    media_capabilities: media,
                    supports_context: flags[0],
                    supports_inchannel_continuable: flags[1],
                    supports_block_formatting: flags[2],
                    supported_ops: ops,
                }
            },
        )
        .boxed()
}

fn chat_type() -> impl Strategy<Value = ChatType> {
    prop_oneof![
        Just(ChatType::Dm),
        Just(ChatType::Group),
        Just(ChatType::Channel),
        Just(ChatType::Thread),
        "[x-z]{0,5}".prop_map(ChatType::Other),
    ]
}

fn source() -> BoxedStrategy<SessionSource> {
    (
        (
            "[a-z]{1,10}",
            text(),
            chat_type(),
            ostr(),
            ostr(),
            ostr(),
            ostr(),
            ostr(),
        ),
        (
            ostr(),
            ostr(),
            ostr(),
            ostr(),
            ostr(),
            ostr(),
            ostr(),
            ostr(),
        ),
        (any::<[bool; 4]>(), ostr(), ostr(), extra()),
    )
        .prop_map(
            |(
                (
                    platform,
                    chat_id,
                    chat_type,
                    chat_name,
                    user_id,
                    user_name,
                    thread_id,
                    chat_topic,
                ),
                (
                    user_id_alt,
                    chat_id_alt,
                    scope_id,
                    parent_chat_id,
                    message_id,
                    profile,
                    user_display_name,
                    user_handle,
                ),
                (flags, auto_thread_initial_name, prospective_thread_id, extra),
            )| SessionSource {
                platform: platform.into(),
                chat_id: chat_id.into(),
                chat_type,
                chat_name: chat_name.map(Into::into),
                user_id: user_id.map(Into::into),
                user_name: user_name.map(Into::into),
                thread_id: thread_id.map(Into::into),
                chat_topic: chat_topic.map(Into::into),
                user_id_alt: user_id_alt.map(Into::into),
                chat_id_alt: chat_id_alt.map(Into::into),
                scope_id: scope_id.map(Into::into),
                parent_chat_id: parent_chat_id.map(Into::into),
                message_id: message_id.map(Into::into),
                profile: profile.map(Into::into),
                user_display_name: user_display_name.map(Into::into),
                user_handle: user_handle.map(Into::into),
                auto_thread_created: flags[0],
                auto_thread_initial_name: auto_thread_initial_name.map(Into::into),
                prospective_thread_id: prospective_thread_id.map(Into::into),
                is_bot: flags[1],
                message_is_edit: flags[2],
                one_to_one_verified: flags[3],
                extra,
            },
        )
        .boxed()
}

fn message_type() -> impl Strategy<Value = MessageType> {
    prop_oneof![
        Just(MessageType::Text),
        Just(MessageType::Location),
        Just(MessageType::Photo),
        Just(MessageType::Video),
        Just(MessageType::Audio),
        Just(MessageType::Voice),
        Just(MessageType::Document),
        Just(MessageType::Sticker),
        Just(MessageType::Command),
    ]
}

fn event() -> BoxedStrategy<MessageEvent> {
    let media = (
        text(),
        ostr(),
        ostr(),
        option::of(any::<u64>()),
        ostr(),
        ostr(),
    )
        .prop_map(|(url, mime, kind, size, filename, caption)| MediaItem {
            url,
            mime,
            kind,
            size,
            filename,
            caption,
        });
    let ctx = (text(), ostr(), ostr()).prop_map(|(text, user_name, user_id)| ContextItem {
        text,
        user_name,
        user_id,
    });
    let reply = (ostr(), ostr(), any::<bool>()).prop_map(|(text, author, is_own)| ReplyTo {
        text,
        author,
        is_own,
    });
    let pr = (text(), text(), ostr(), ostr()).prop_map(
        |(prompt_id, option_id, label, prompt_message_id)| PromptResponse {
            prompt_id,
            option_id,
            label,
            prompt_message_id,
            extra: Default::default(),
        },
    );
    (
        (
            text(),
            message_type(),
            source(),
            ostr(),
            ostr(),
            prop::collection::vec(text(), 0..3),
        ),
        (
            option::of(reply),
            prop::collection::vec(media, 0..2),
            prop::collection::vec(ctx, 0..2),
            ostr(),
            option::of(pr),
            extra(),
        ),
    )
        .prop_map(
            |(
                (text, message_type, source, message_id, reply_to_message_id, media_urls),
                (reply_to, media, context, context_error, prompt_response, extra),
            )| {
                MessageEvent {
                    text,
                    message_type,
                    source,
                    message_id: message_id.map(Into::into),
                    reply_to_message_id: reply_to_message_id.map(Into::into),
                    media_urls,
                    reply_to,
                    media,
                    context,
                    context_error,
                    prompt_response,
                    extra,
                }
            },
        )
        .boxed()
}

fn result() -> BoxedStrategy<ActionResult> {
    let chat_info = (ostr(), ostr(), extra()).prop_map(|(name, chat_type, extra)| ChatInfo {
        name,
        chat_type,
        extra,
    });
    (
        any::<bool>(),
        ostr(),
        ostr(),
        option::of(chat_info),
        ostr(),
        any::<bool>(),
        extra(),
    )
        .prop_map(
            |(success, message_id, thread_id, chat_info, error, ambiguous, extra)| ActionResult {
                success,
                message_id,
                thread_id,
                chat_info,
                error,
                ambiguous,
                extra,
            },
        )
        .boxed()
}

fn forward() -> BoxedStrategy<PassthroughForward> {
    (
        (text(), text(), text(), text()),
        prop::collection::vec((text(), text()), 0..3),
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| (b, false)),
            Just((Vec::new(), true)),
        ],
        ostr(),
    )
        .prop_map(
            |((platform, bot_id, method, path), headers, (body, body_undecodable), profile)| {
                PassthroughForward {
                    platform,
                    bot_id,
                    method,
                    path,
                    headers,
                    body,
                    body_undecodable,
                    profile,
                }
            },
        )
        .boxed()
}

fn connector_frame() -> BoxedStrategy<ConnectorFrame> {
    prop_oneof![
        descriptor().prop_map(|d| ConnectorFrame::Descriptor(Box::new(d))),
        (event(), option::of(buffer_id())).prop_map(|(e, buffer_id)| ConnectorFrame::Inbound {
            event: Box::new(e),
            buffer_id
        }),
        (text(), option::of(result().prop_map(Box::new)))
            .prop_map(|(request_id, result)| ConnectorFrame::OutboundResult { request_id, result }),
        (text(), text()).prop_map(|(session_key, chat_id)| ConnectorFrame::InterruptInbound {
            session_key,
            chat_id
        }),
        Just(ConnectorFrame::GoingIdleAck),
        (forward(), option::of(buffer_id())).prop_map(|(f, buffer_id)| {
            ConnectorFrame::PassthroughForward {
                forward: Box::new(f),
                buffer_id,
            }
        }),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn gateway_frames_round_trip(f in gateway_frame()) {
        let mut out = Vec::new();
        encode_gateway_frame(&f, &mut out);
        prop_assert_eq!(out.last(), Some(&b'\n'));
        prop_assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        prop_assert_eq!(decode_gateway_frame(&out[..out.len() - 1]), Ok(f.clone()));
        let line = f.to_line();
        prop_assert_eq!(line.as_bytes(), &out[..]);
    }

    /// The frame writer writes what serde_json writes through the frames'
    /// `Serialize` impls, byte for byte.
    #[test]
    fn gateway_frames_encode_as_serde_json_does(f in gateway_frame()) {
        let mut out = Vec::new();
        encode_gateway_frame(&f, &mut out);
        let mut expected = serde_json::to_vec(&f).unwrap_or_default();
        expected.push(b'\n');
        prop_assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&expected));
        if let GatewayFrame::Outbound(o) = &f {
            let mut borrowed = b"kept".to_vec();
            encode_outbound(&o.request_id, &o.action, o.platform.as_deref(), o.bot_id.as_deref(), &mut borrowed);
            prop_assert_eq!(&borrowed[..4], b"kept");
            prop_assert_eq!(&borrowed[4..], &expected[..]);
        }
    }

    /// Long strings of any characters (control characters, quotes,
    /// backslashes, non-ASCII and astral ones among them) are escaped as
    /// serde_json escapes them, wherever they fall.
    #[test]
    fn long_strings_encode_as_serde_json_does(
        content in prop_oneof![
            any::<String>(),
            "[a-z \"\\\n\t\r\u{0}-\u{1f}\u{7f}\u{e9}\u{2028}\u{1F600}]{0,200}",
        ],
        chat_id in any::<String>(),
        key in any::<String>(),
        edit in any::<bool>(),
    ) {
        let mut metadata = Metadata::new();
        metadata.insert(key, Value::String(content.clone()));
        let action = if edit {
            Action::Edit(EditAction {
                chat_id,
                message_id: content.clone(),
                content,
                finalize: true,
                metadata,
            })
        } else {
            Action::Send(SendAction { chat_id, reply_to: Some(content.clone()), content, metadata })
        };
        let frame = GatewayFrame::Outbound(Box::new(Outbound {
            request_id: "0123456789abcdef0123456789abcdef".into(),
            action,
            platform: Some("discord".into()),
            bot_id: None,
        }));
        let mut out = Vec::new();
        encode_gateway_frame(&frame, &mut out);
        let mut expected = serde_json::to_vec(&frame).unwrap_or_default();
        expected.push(b'\n');
        prop_assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&expected));
    }

    #[test]
    fn connector_frames_round_trip(f in connector_frame()) {
        let mut out = Vec::new();
        encode_connector_frame(&f, &mut out);
        prop_assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        prop_assert_eq!(decode_connector_frame(&out[..out.len() - 1]), Ok(f.clone()));
        // and through the line buffer, split at an arbitrary point
        let mut lb = LineBuffer::new(DEFAULT_MAX_FRAME_BYTES);
        let mid = out.len() / 2;
        lb.extend(&out[..mid]);
        prop_assert!(lb.next_line().is_none());
        lb.extend(&out[mid..]);
        let line = lb.next_line().map(|r| r.map(<[u8]>::to_vec));
        prop_assert_eq!(line.map(|r| r.map(|l| decode_connector_frame(&l))), Some(Ok(Ok(f))));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_connector_frame(&bytes);
        let _ = decode_gateway_frame(&bytes);
    }

    #[test]
    fn decoding_mutated_frames_never_panics(f in connector_frame(), cut in any::<prop::sample::Index>(), b in any::<u8>()) {
        let mut out = Vec::new();
        encode_connector_frame(&f, &mut out);
        let i = cut.index(out.len());
        out[i] = b;
        let _ = decode_connector_frame(&out);
        let _ = decode_connector_frame(&out[..i]);
    }
}
