//! What an agent's stdin line asks for, read without acting on it.

use relay_core::config::IdleMode;
use serde_json::{Map, Value};

/// One request of the agent.
#[derive(Debug, PartialEq)]
pub(super) enum Request {
    /// An action (the line has an `"op"`), sent as is.
    Action(Map<String, Value>),
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
        Err(message) => Err((id, message.to_owned())),
    }
}

/// The request of a line's object (its `"id"` removed).
fn request(obj: Map<String, Value>) -> Result<Request, &'static str> {
    if obj.contains_key("op") {
        return Ok(Request::Action(obj));
    }
    if let Some(buffer_id) = obj.get("ack") {
        let buffer_id = buffer_id
            .as_str()
            .ok_or("\"ack\" must be the delivery's bufferId string")?;
        return Ok(Request::Ack(buffer_id.to_owned()));
    }
    if let Some(key) = obj.get("interrupt") {
        let key = key
            .as_str()
            .ok_or("\"interrupt\" must be a session key string")?;
        let reason = match obj.get("reason") {
            None | Some(Value::Null) => None,
            Some(Value::String(r)) => Some(r.clone()),
            Some(_) => return Err("\"reason\" must be a string"),
        };
        return Ok(Request::Interrupt {
            key: key.to_owned(),
            reason,
        });
    }
    if let Some(name) = obj.get("command") {
        let mode = match obj.get("mode") {
            None | Some(Value::Null) => None,
            Some(mode) => Some(
                mode.as_str()
                    .and_then(IdleMode::parse)
                    .ok_or("\"mode\" must be keep, close or dormant")?,
            ),
        };
        return match name.as_str() {
            Some("go_idle") => Ok(Request::GoIdle(mode)),
            Some("go_dormant") => Ok(Request::GoDormant),
            Some("wake") => Ok(Request::Wake),
            Some("shutdown") => Ok(Request::Shutdown),
            _ => Err("unknown command; use go_idle, go_dormant, wake or shutdown"),
        };
    }
    Err("unrecognised line: expected an action (\"op\"), \"ack\", \"interrupt\" or \"command\"")
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
        let Ok(Some((_, Request::Action(obj)))) = parse(r#"{"id":"a","op":"typing"}"#) else {
            panic!("an action");
        };
        assert!(!obj.contains_key("id"));
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
    }
}
