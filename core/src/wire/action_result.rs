//! The result of an outbound action (`outbound_result.result`), or a
//! failure produced locally.

use serde::de::MapAccess;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::lax::{self, DecodeError, Finish, WireObject};

/// `chat_info` of a `get_chat_info` result.
///
/// Wire: `name`, `type` (each only when set), then the other keys.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ChatInfo {
    /// Chat name.
    pub name: Option<String>,
    /// Chat type (`dm`, `group`, …).
    pub chat_type: Option<String>,
    /// Other keys, kept in order.
    pub extra: Map<String, Value>,
}

impl ChatInfo {
    fn from_map(mut m: Map<String, Value>) -> Self {
        let mut take = |k: &str| match m.get(k).and_then(lax::value_text) {
            Some(t) => {
                m.shift_remove(k);
                Some(t)
            }
            None => None,
        };
        let name = take("name");
        let chat_type = take("type");
        ChatInfo {
            name,
            chat_type,
            extra: m,
        }
    }
}

impl Serialize for ChatInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(n) = &self.name {
            m.serialize_entry("name", n)?;
        }
        if let Some(t) = &self.chat_type {
            m.serialize_entry("type", t)?;
        }
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The `result` of an `outbound_result` frame, or a locally produced failure.
///
/// Wire: `success`, then `message_id`, `thread_id`, `chat_info`, `error`
/// (each only when set), `ambiguous` (only when true), then the other keys.
/// Decoding reads `success` and `ambiguous` by truthiness and accepts numeric
/// ids; a known key with an unusable type is kept in `extra`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ActionResult {
    /// Whether the action succeeded.
    pub success: bool,
    /// Id of the created/edited message.
    pub message_id: Option<String>,
    /// Id of a created thread.
    pub thread_id: Option<String>,
    /// Chat info for `get_chat_info`.
    pub chat_info: Option<ChatInfo>,
    /// Error text on failure.
    pub error: Option<String>,
    /// The action may or may not have taken effect (failure after the frame was written).
    pub ambiguous: bool,
    /// Unknown keys, kept in order.
    pub extra: Map<String, Value>,
}

/// The `code` of a connector's egress decline.
pub const EGRESS_DECLINED_CODE: &str = "egress_declined";

/// What a decline's `error` text contains (compared case-insensitively).
const EGRESS_DECLINED_MARKER: &str = "egress declined:";

/// The text a decline reads with when the connector gave none.
pub const DEFAULT_DECLINE_TEXT: &str = "relay egress declined";

/// The connector refused the destination of an action: a definite answer
/// (the action did not happen and will not), distinct from a transport
/// failure and from any other `success: false`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text}")]
pub struct EgressDecline {
    /// The connector's text, verbatim ([`DEFAULT_DECLINE_TEXT`] when it gave
    /// none).
    pub text: String,
    /// The result as the connector sent it.
    pub result: Box<ActionResult>,
}

impl ActionResult {
    /// Whether this result is an egress decline: not a success, not
    /// ambiguous, and either `code: "egress_declined"` or an `error` that
    /// contains `egress declined:` (in any case).
    pub fn is_egress_decline(&self) -> bool {
        if self.success || self.ambiguous {
            return false;
        }
        let coded = self
            .extra
            .get("code")
            .and_then(Value::as_str)
            .is_some_and(|c| c == EGRESS_DECLINED_CODE);
        coded
            || self
                .error
                .as_deref()
                .is_some_and(|e| e.to_ascii_lowercase().contains(EGRESS_DECLINED_MARKER))
    }

    /// The result as an [`EgressDecline`] when it is one, else as it was.
    pub fn into_decline(self: Box<Self>) -> Result<EgressDecline, Box<ActionResult>> {
        if !self.is_egress_decline() {
            return Err(self);
        }
        let text = self
            .error
            .clone()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| DEFAULT_DECLINE_TEXT.to_owned());
        Ok(EgressDecline { text, result: self })
    }

    /// A successful result with an optional message id.
    pub fn ok(message_id: Option<String>) -> Self {
        ActionResult {
            success: true,
            message_id,
            ..Default::default()
        }
    }

    /// A failed result.
    pub fn failure(error: impl Into<String>, ambiguous: bool) -> Self {
        ActionResult {
            success: false,
            error: Some(error.into()),
            ambiguous,
            ..Default::default()
        }
    }

    /// The chat info a `get_chat_info` caller reads: `chat_info` if present,
    /// else the result's own `name` / `type` keys (as the reference does).
    pub fn chat_info_or_self(&self) -> ChatInfo {
        match &self.chat_info {
            Some(ci) => ci.clone(),
            None => ChatInfo::from_map(self.extra.clone()),
        }
    }
}

impl<'de> WireObject<'de> for ActionResult {
    fn empty() -> Self {
        Self::default()
    }
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "success" => self.success = lax::lax(map)?.truthy(),
            "ambiguous" => self.ambiguous = lax::lax(map)?.truthy(),
            "message_id" | "thread_id" | "error" => {
                let v = lax::value(map)?;
                let slot = match key {
                    "message_id" => &mut self.message_id,
                    "thread_id" => &mut self.thread_id,
                    _ => &mut self.error,
                };
                *slot = None;
                self.extra.shift_remove(key);
                // Moves the string out of the value (no second copy).
                match v {
                    Value::String(t) => *slot = Some(t),
                    Value::Number(n) => *slot = Some(n.to_string()),
                    Value::Null => {}
                    other => {
                        self.extra.insert(key.to_owned(), other);
                    }
                }
            }
            "chat_info" => {
                self.chat_info = None;
                self.extra.shift_remove(key);
                match lax::value(map)? {
                    Value::Object(m) => self.chat_info = Some(ChatInfo::from_map(m)),
                    Value::Null => {}
                    other => {
                        self.extra.insert(key.to_owned(), other);
                    }
                }
            }
            _ => {
                let v = lax::value(map)?;
                self.extra.insert(key.to_owned(), v);
            }
        }
        Ok(())
    }
}

impl Serialize for ActionResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("success", &self.success)?;
        if let Some(v) = &self.message_id {
            m.serialize_entry("message_id", v)?;
        }
        if let Some(v) = &self.thread_id {
            m.serialize_entry("thread_id", v)?;
        }
        if let Some(v) = &self.chat_info {
            m.serialize_entry("chat_info", v)?;
        }
        if let Some(v) = &self.error {
            m.serialize_entry("error", v)?;
        }
        if self.ambiguous {
            m.serialize_entry("ambiguous", &true)?;
        }
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for ActionResult {
    /// Lenient decode of a result object (a non-object is an error here;
    /// inside a frame it becomes `result: None`).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lax::deserialize_finished::<ActionResult, D>(d)
    }
}

impl<'de> Finish<'de> for ActionResult {
    type Output = ActionResult;
    const WHAT: &'static str = "result";

    fn finish(self) -> Result<ActionResult, DecodeError> {
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn result_leniency() {
        let r: ActionResult = serde_json::from_value(json!({
            "success": 1, "message_id": 123, "error": null, "thread_id": {"x": 1},
            "auto_thread_name": "t", "ambiguous": "yes"
        }))
        .unwrap_or_default();
        assert!(r.success);
        assert!(r.ambiguous);
        assert_eq!(r.message_id.as_deref(), Some("123"));
        assert_eq!(r.error, None);
        assert_eq!(r.thread_id, None);
        assert_eq!(r.extra.get("thread_id"), Some(&json!({"x": 1})));
        assert_eq!(r.extra.get("auto_thread_name"), Some(&json!("t")));
        let ci: ActionResult =
            serde_json::from_value(json!({"success": true, "name": "General", "type": "group"}))
                .unwrap_or_default();
        assert_eq!(ci.chat_info_or_self().name.as_deref(), Some("General"));
        assert_eq!(ci.chat_info_or_self().chat_type.as_deref(), Some("group"));
    }

    #[test]
    fn declines_are_told_apart() {
        let r = |v: serde_json::Value| -> ActionResult {
            serde_json::from_value(v).unwrap_or_default()
        };
        let coded = r(json!({"success": false, "code": "egress_declined"}));
        assert!(coded.is_egress_decline());
        let d = Box::new(coded).into_decline().expect("a decline");
        assert_eq!(d.text, DEFAULT_DECLINE_TEXT);
        let texted = r(json!({"success": false, "error": "Slack EGRESS Declined: not approved"}));
        assert_eq!(
            Box::new(texted).into_decline().map(|d| d.text),
            Ok("Slack EGRESS Declined: not approved".to_owned()),
            "the text is kept verbatim"
        );
        for not in [
            json!({"success": false, "error": "rate limited"}),
            json!({"success": false, "code": "egress_declined", "ambiguous": true}),
            json!({"success": true, "code": "egress_declined"}),
            json!({"success": false, "code": 7, "error": "egress declined"}),
            json!({"success": false, "error": "relay egress declined: ack lost", "ambiguous": 1}),
        ] {
            assert!(!r(not.clone()).is_egress_decline(), "{not}");
        }
    }
}
