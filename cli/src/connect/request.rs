//! What an agent's stdin line asks for, read without acting on it. A key
//! the line's shape does not know is refused by name: a misspelt or
//! unsupported key must never be silently ignored.

use relay_core::config::IdleMode;
use relay_core::wire::action_fields;
use serde_json::{Map, Value};

/// One request of the agent.
#[derive(Debug, PartialEq)]
pub(super) enum Request {
    /// An action (the line has an `"op"`), sent as is, for an explicit
    /// platform when the line names one.
    Action {
        /// The action object (its `"platform"` removed).
        action: Map<String, Value>,
        /// The platform (identity) to send it for.
        platform: Option<String>,
    },
    /// Ack the buffered delivery with this `bufferId`.
    Ack(String),
    /// Interrupt the session with this key.
    Interrupt {
        /// The session key.
        key: String,
        /// Why, when given.
        reason: Option<String>,
    },
    /// Go idle, in this mode or the configured one.
    GoIdle(Option<IdleMode>),
    /// Go idle in dormant mode.
    GoDormant,
    /// Wake from idle.
    Wake,
    /// Hold the next due re-dial.
    HoldRedial,
    /// End a hold.
    ReleaseRedial,
    /// Stop the bridge.
    Shutdown,
}

/// Why a line was refused: its `"id"` (null when unknown) and a message
/// saying what to send instead.
pub(super) type Refused = (Value, String);

/// The request of a non-blank stdin line and its `"id"` (null when
/// absent); `Ok(None)` for a blank line.
pub(super) fn parse(text: &str) -> Result<Option<(Value, Request)>, Refused> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let refuse = |message: &str| Err((Value::Null, message.to_owned()));
    let mut obj = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(obj)) => obj,
        Ok(_) => return refuse("expected a JSON object per line; see `relay connect --help`"),
        Err(e) => {
            return refuse(&format!(
                "line is not JSON ({e}); send one JSON object per line"
            ));
        }
    };
    let id = obj.remove("id").unwrap_or(Value::Null);
    match request(obj) {
        Ok(request) => Ok(Some((id, request))),
        Err(message) => Err((id, message)),
    }
}

/// Refuses the first key of `obj` that is not in `known`, naming it.
fn only(obj: &Map<String, Value>, known: &[&str], shape: &str) -> Result<(), String> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(format!(
            "unknown key {key:?} in {shape} line; known keys: {}",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

/// The request of a line's object (its `"id"` removed).
fn request(mut obj: Map<String, Value>) -> Result<Request, String> {
    if let Some(op) = obj.get("op").cloned() {
        let platform = match obj.remove("platform") {
            None => None,
            Some(Value::String(p)) if !p.trim().is_empty() => Some(p.trim().to_owned()),
            Some(_) => {
                return Err(
                    "\"platform\" must be a non-empty string naming a platform, such as discord"
                        .to_owned(),
                );
            }
        };
        // An unknown op (or one that is not a string) is refused by the
        // action's own decoder, which names it.
        if let Some(fields) = op.as_str().and_then(action_fields) {
            let mut known = fields.to_vec();
            known.extend(["id", "platform"]);
            only(
                &obj,
                &known,
                &format!("a {:?} action", op.as_str().unwrap_or_default()),
            )?;
        }
        return Ok(Request::Action {
            action: obj,
            platform,
        });
    }
    if let Some(buffer_id) = obj.get("ack") {
        only(&obj, &["ack", "id"], "an ack")?;
        let buffer_id = buffer_id
            .as_str()
            .ok_or("\"ack\" must be the delivery's bufferId string")?;
        return Ok(Request::Ack(buffer_id.to_owned()));
    }
    if let Some(key) = obj.get("interrupt") {
        only(&obj, &["interrupt", "reason", "id"], "an interrupt")?;
        let key = key
            .as_str()
            .ok_or("\"interrupt\" must be a session key string")?;
        let reason = match obj.get("reason") {
            None | Some(Value::Null) => None,
            Some(Value::String(r)) => Some(r.clone()),
            Some(_) => return Err("\"reason\" must be a string".to_owned()),
        };
        return Ok(Request::Interrupt {
            key: key.to_owned(),
            reason,
        });
    }
    if let Some(name) = obj.get("command") {
        only(&obj, &["command", "mode", "id"], "a command")?;
        let mode = match obj.get("mode") {
            None | Some(Value::Null) => None,
            Some(mode) => Some(
                mode.as_str()
                    .and_then(IdleMode::parse)
                    .ok_or("\"mode\" must be keep, close or dormant")?,
            ),
        };
        let request = match name.as_str() {
            Some("go_idle") => return Ok(Request::GoIdle(mode)),
            Some("go_dormant") => Request::GoDormant,
            Some("wake") => Request::Wake,
            Some("hold_redial") => Request::HoldRedial,
            Some("release_redial") => Request::ReleaseRedial,
            Some("shutdown") => Request::Shutdown,
            _ => {
                return Err("unknown command; use go_idle, go_dormant, wake, hold_redial, release_redial or shutdown".to_owned());
            }
        };
        if mode.is_some() {
            return Err("\"mode\" is only for the go_idle command".to_owned());
        }
        return Ok(request);
    }
    Err(
        "unrecognised line: expected an action (\"op\"), \"ack\", \"interrupt\" or \"command\""
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> Refused {
        parse(text).expect_err(text)
    }

    #[test]
    fn lines_become_requests() {
        assert_eq!(parse("  "), Ok(None));
        assert_eq!(
            parse(r#"{"id":7,"ack":"buf-3"}"#),
            Ok(Some((Value::from(7), Request::Ack("buf-3".into()))))
        );
        assert_eq!(
            parse(r#"{"interrupt":"k","reason":"stop"}"#),
            Ok(Some((
                Value::Null,
                Request::Interrupt {
                    key: "k".into(),
                    reason: Some("stop".into())
                }
            )))
        );
        assert_eq!(
            parse(r#"{"command":"go_idle","mode":"dormant"}"#),
            Ok(Some((
                Value::Null,
                Request::GoIdle(Some(IdleMode::Dormant))
            )))
        );
        assert_eq!(
            parse(r#"{"command":"hold_redial"}"#),
            Ok(Some((Value::Null, Request::HoldRedial)))
        );
        assert_eq!(
            parse(r#"{"id":1,"command":"release_redial"}"#),
            Ok(Some((Value::from(1), Request::ReleaseRedial)))
        );
        let Ok(Some((_, Request::Action { action, platform }))) =
            parse(r#"{"id":"a","op":"typing","chat_id":"c","platform":"discord"}"#)
        else {
            panic!("an action");
        };
        assert!(!action.contains_key("id") && !action.contains_key("platform"));
        assert_eq!(platform.as_deref(), Some("discord"));
    }

    #[test]
    fn refusals_name_the_line_and_the_fix() {
        assert_eq!(refused("[1]").0, Value::Null);
        assert!(refused("nope").1.starts_with("line is not JSON"));
        assert_eq!(
            refused(r#"{"id":1,"ack":5}"#),
            (
                Value::from(1),
                "\"ack\" must be the delivery's bufferId string".into()
            )
        );
        // The mode is checked before the command's name.
        assert_eq!(
            refused(r#"{"command":"bogus","mode":7}"#).1,
            "\"mode\" must be keep, close or dormant"
        );
        assert!(
            refused(r#"{"command":"bogus"}"#)
                .1
                .starts_with("unknown command")
        );
        assert!(refused(r#"{"x":1}"#).1.starts_with("unrecognised line"));
        assert_eq!(
            refused(r#"{"command":"wake","mode":"keep"}"#).1,
            "\"mode\" is only for the go_idle command"
        );
        for bad in [r#""""#, "7", "null", r#"" ""#] {
            let line = format!(r#"{{"op":"send","chat_id":"c","platform":{bad}}}"#);
            assert!(
                refused(&line).1.starts_with("\"platform\" must be"),
                "{line}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_refused_by_name_in_every_shape() {
        for (line, key) in [
            (
                r#"{"op":"send","chat_id":"c","content":"x","platfrom":"discord"}"#,
                "platfrom",
            ),
            (r#"{"op":"send","chat_id":"c","finalize":true}"#, "finalize"),
            (
                r#"{"op":"get_chat_info","chat_id":"c","metadata":{}}"#,
                "metadata",
            ),
            (r#"{"ack":"b","reason":"x"}"#, "reason"),
            (r#"{"interrupt":"k","mode":"keep"}"#, "mode"),
            (r#"{"command":"wake","extra":1}"#, "extra"),
        ] {
            let (_, message) = refused(line);
            assert!(
                message.starts_with(&format!("unknown key {key:?}")),
                "{line}: {message}"
            );
        }
        // Every field an op writes is known to it.
        for line in [
            r#"{"op":"draft","chat_id":"c","draft_id":1,"content":"x","final":true,"metadata":{}}"#,
            r#"{"op":"task_card","chat_id":"c","card_id":"k","chunks":[],"metadata":{}}"#,
            r#"{"op":"thread_rename","chat_id":"c","message_id":"m","thread_name":"n","metadata":{},"only_if_connector_created":true,"only_if_current_name":"o"}"#,
        ] {
            assert!(parse(line).is_ok(), "{line}");
        }
    }
}
