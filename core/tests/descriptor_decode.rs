//! Descriptor decoding: required fields, defaults, normalization, units.

use relay_core::descriptor::*;
use relay_core::wire::DecodeError;

const BASE: &str = r#""contract_version":1,"platform":"telegram","label":"Telegram","supports_draft_streaming":false,"supports_edit":true,"supports_threads":false,"markdown_dialect":"markdown_v2","len_unit":"utf16""#;

fn with(extra: &str) -> Result<CapabilityDescriptor, DecodeError> {
    CapabilityDescriptor::from_json(format!("{{{BASE},{extra}}}").as_bytes())
}

#[test]
fn max_message_length_is_normalized() {
    for (raw, want) in [
        ("4000", 4000),
        ("0", 4096),
        ("-5", 4096),
        ("\"garbage\"", 4096),
        ("\"2000\"", 2000),
        ("null", 4096),
        ("[]", 4096),
        ("1e400", 0),
        ("2000.7", 2000),
    ] {
        let d = with(&format!(r#""max_message_length":{raw}"#));
        if raw == "1e400" {
            assert!(matches!(d, Err(DecodeError::NotJson { .. })));
            continue;
        }
        let d = d.unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!(d.max_message_length, want, "{raw}");
        assert!(d.max_message_length > 0);
        assert_eq!(d.effective_max_message_length(), want);
    }
    assert_eq!(effective_max_message_length(0), 4096);
    assert_eq!(effective_max_message_length(12), 12);
}

#[test]
fn defaults_and_unknown_keys() {
    let d = with(r#""max_message_length":4096,"future_field":{"x":[1]}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.emoji, "\u{1F50C}");
    assert_eq!(d.platform_hint, "");
    assert!(!d.pii_safe);
    assert!(d.media_capabilities.is_empty());
    assert_eq!(d.supported_ops, None);
    assert_eq!(d.len_unit, LenUnit::Utf16);
    assert!(d.supports_code_blocks());
}

#[test]
fn missing_required_fields_are_named() {
    let fields = [
        ("contract_version", "1"),
        ("platform", "\"p\""),
        ("label", "\"l\""),
        ("max_message_length", "10"),
        ("supports_draft_streaming", "false"),
        ("supports_edit", "true"),
        ("supports_threads", "false"),
        ("markdown_dialect", "\"plain\""),
        ("len_unit", "\"chars\""),
    ];
    for skip in 0..fields.len() {
        let body: Vec<String> = fields
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, (k, v))| format!("\"{k}\":{v}"))
            .collect();
        let r = CapabilityDescriptor::from_json(format!("{{{}}}", body.join(",")).as_bytes());
        assert_eq!(
            r,
            Err(DecodeError::MissingField {
                frame: "descriptor",
                field: fields[skip].0
            })
        );
    }
    let r = CapabilityDescriptor::from_json(br#"{"contract_version":"1"}"#);
    assert!(matches!(
        r,
        Err(DecodeError::InvalidField {
            field: "contract_version",
            ..
        })
    ));
    let r = with(r#""max_message_length":1,"platform":5"#);
    assert!(matches!(
        r,
        Err(DecodeError::InvalidField {
            field: "platform",
            ..
        })
    ));
    assert!(matches!(
        CapabilityDescriptor::from_json(b"[]"),
        Err(DecodeError::InvalidField {
            field: "descriptor",
            ..
        })
    ));
}

#[test]
fn supports_op_legacy_and_advertised() {
    let mut d = minimal("discord");
    for op in LEGACY_OPS {
        assert!(supports_op(&d, op));
    }
    assert!(d.supports_op("get_chat_info"));
    assert!(!d.supports_op("react"));
    d.supported_ops = Some(vec![]);
    assert!(d.supports_op("send") && !d.supports_op("prompt"));
    d.supported_ops = Some(vec!["send".into(), "react".into()]);
    assert!(d.supports_op("react"));
    assert!(!d.supports_op("edit"));
    assert!(d.supports_op("get_chat_info"));
    let d = with(r#""max_message_length":1,"supported_ops":["send_media",3,"prompt"]"#)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        d.supported_ops,
        Some(vec!["send_media".into(), "prompt".into()])
    );
}

#[test]
fn len_unit_examples() {
    for (text, chars, utf16) in [
        ("hello", 5, 5),
        ("\u{1F600}", 1, 2),
        ("h\u{e9}llo", 5, 5),
        ("\u{65e5}\u{672c}\u{8a9e}", 3, 3),
        ("\u{1F44D}\u{1F3FD}", 2, 4),
        ("a\u{1F600}b", 3, 4),
    ] {
        assert_eq!(LenUnit::Chars.len_of(text), chars, "{text}");
        assert_eq!(LenUnit::Utf16.len_of(text), utf16, "{text}");
        assert_eq!(message_len(LenUnit::Utf16, text), utf16);
    }
    let mut d = minimal("telegram");
    d.len_unit = LenUnit::Utf16;
    assert_eq!(d.message_len("\u{1F600}"), 2);
    d.len_unit = LenUnit::Chars;
    assert_eq!(d.message_len("\u{1F600}"), 1);
    // unknown units measure in chars
    let d = with(r#""max_message_length":1,"len_unit":"bytes""#).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.len_unit, LenUnit::Chars);
}

#[test]
fn truthy_flags() {
    let d =
        with(r#""max_message_length":1,"supports_edit":0,"pii_safe":"yes","supports_context":1"#)
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(!d.supports_edit && d.pii_safe && d.supports_context);
}

#[test]
fn encode_round_trip() {
    let mut d = minimal("slack");
    d.supported_ops = Some(vec!["send".into()]);
    let s = serde_json::to_string(&d).unwrap_or_default();
    assert!(s.starts_with(r#"{"contract_version":1,"platform":"slack""#));
    assert_eq!(CapabilityDescriptor::from_json(s.as_bytes()), Ok(d.clone()));
    let back: Result<CapabilityDescriptor, _> = serde_json::from_str(&s);
    assert_eq!(back.ok(), Some(d));
}
