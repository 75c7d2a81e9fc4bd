//! Lenient decoding of an outbound action: missing optional fields take
//! defaults, ids sent as numbers become strings, unknown keys are ignored.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::action::{
    Action, DeleteAction, DraftAction, EditAction, FollowUpAction, GetChatInfoAction, Metadata,
    PromptAction, PromptOption, ReactAction, SendAction, SendMediaAction, TaskCardAction,
    TaskCardStopAction, ThreadCreateAction, ThreadRenameAction, TypingAction,
};
use crate::lax::{self, DecodeError, Finish, Lax, Shape, wire_object};

impl Action {
    /// Decodes an action from a JSON value (as found under `action`).
    pub fn from_value(v: &Value) -> Result<Self, DecodeError> {
        match Shape::<ActionWire<'_>>::deserialize(v) {
            Ok(Shape::Obj(w)) => w.finish(),
            Ok(Shape::Null) | Ok(Shape::Other(_)) => Err(invalid("action", "expected an object")),
            Err(e) => Err(invalid("action", e.to_string())),
        }
    }
}

fn invalid(field: &'static str, detail: impl Into<String>) -> DecodeError {
    DecodeError::InvalidField {
        frame: "outbound",
        field,
        detail: detail.into(),
    }
}

/// Every key any op may carry, read leniently; [`ActionWire::finish`] picks
/// what the op needs. The keys of the streamed ops (`send`, `edit`) are held
/// inline; the others only once one of them is read, so the value moved
/// between the decoder's layers stays small.
#[derive(Default)]
pub(crate) struct ActionWire<'de> {
    op: Option<Lax<'de>>,
    chat_id: Option<Lax<'de>>,
    content: Option<Lax<'de>>,
    reply_to: Option<Lax<'de>>,
    metadata: Option<Value>,
    message_id: Option<Lax<'de>>,
    finalize: bool,
    rare: Option<Box<RareKeys<'de>>>,
}

/// The keys of the ops other than `send` and `edit`.
#[derive(Default)]
struct RareKeys<'de> {
    session_key: Option<Lax<'de>>,
    kind: Option<Lax<'de>>,
    media_kind: Option<Lax<'de>>,
    source_url: Option<Lax<'de>>,
    filename: Option<Lax<'de>>,
    prompt_kind: Option<Lax<'de>>,
    prompt_id: Option<Lax<'de>>,
    options: Vec<PromptOption>,
    timeout_s: Option<Lax<'de>>,
    emoji: Option<Lax<'de>>,
    remove: bool,
    thread_name: Option<Lax<'de>>,
    only_if_connector_created: bool,
    only_if_current_name: Option<Lax<'de>>,
    draft_id: Option<Lax<'de>>,
    is_final: bool,
    card_id: Option<Lax<'de>>,
    chunks: Option<Value>,
}

impl<'de> ActionWire<'de> {
    /// The rare keys, made when the first one is read.
    fn rare(&mut self) -> &mut RareKeys<'de> {
        self.rare.get_or_insert_with(Box::default)
    }
}

#[derive(Default)]
struct OptionWire<'de> {
    id: Option<Lax<'de>>,
    label: Option<Lax<'de>>,
    style: Option<Lax<'de>>,
}

wire_object! {
    impl<'de> for OptionWire<'de> |w, map| {
        "id" => w.id = Some(lax::lax(map)?),
        "label" => w.label = Some(lax::lax(map)?),
        "style" => w.style = Some(lax::lax(map)?),
    }
}

wire_object! {
    impl<'de> for ActionWire<'de> |w, map| {
        "op" => w.op = Some(lax::lax(map)?),
        "chat_id" => w.chat_id = Some(lax::lax(map)?),
        "content" => w.content = Some(lax::lax(map)?),
        "reply_to" => w.reply_to = Some(lax::lax(map)?),
        "metadata" => w.metadata = Some(lax::value(map)?),
        "message_id" => w.message_id = Some(lax::lax(map)?),
        "finalize" => w.finalize = lax::lax(map)?.truthy(),
        "session_key" => w.rare().session_key = Some(lax::lax(map)?),
        "kind" => w.rare().kind = Some(lax::lax(map)?),
        "media_kind" => w.rare().media_kind = Some(lax::lax(map)?),
        "source_url" => w.rare().source_url = Some(lax::lax(map)?),
        "filename" => w.rare().filename = Some(lax::lax(map)?),
        "prompt_kind" => w.rare().prompt_kind = Some(lax::lax(map)?),
        "prompt_id" => w.rare().prompt_id = Some(lax::lax(map)?),
        "options" => {
            w.rare().options = lax::objects::<_, OptionWire<'de>>(map)?
                .into_iter()
                .map(|o| PromptOption {
                    id: o.id.and_then(Lax::into_text).unwrap_or_default(),
                    label: o.label.and_then(Lax::into_text).unwrap_or_default(),
                    style: o.style.and_then(Lax::into_text),
                })
                .collect();
        },
        "timeout_s" => w.rare().timeout_s = Some(lax::lax(map)?),
        "emoji" => w.rare().emoji = Some(lax::lax(map)?),
        "remove" => w.rare().remove = lax::lax(map)?.truthy(),
        "thread_name" => w.rare().thread_name = Some(lax::lax(map)?),
        "only_if_connector_created" => w.rare().only_if_connector_created = lax::lax(map)?.truthy(),
        "only_if_current_name" => w.rare().only_if_current_name = Some(lax::lax(map)?),
        "draft_id" => w.rare().draft_id = Some(lax::lax(map)?),
        "final" => w.rare().is_final = lax::lax(map)?.truthy(),
        "card_id" => w.rare().card_id = Some(lax::lax(map)?),
        "chunks" => w.rare().chunks = Some(lax::value(map)?),
    }
}

fn text(v: Option<Lax<'_>>) -> String {
    v.and_then(Lax::into_text).unwrap_or_default()
}

fn opt_text(v: Option<Lax<'_>>) -> Option<String> {
    v.and_then(Lax::into_text)
}

impl<'de> ActionWire<'de> {
    fn required(v: Option<Lax<'de>>, field: &'static str) -> Result<String, DecodeError> {
        match v {
            None | Some(Lax::Null) => Err(DecodeError::MissingField {
                frame: "outbound",
                field,
            }),
            Some(l) => {
                let kind = l.kind();
                l.into_text()
                    .ok_or_else(|| invalid(field, format!("expected a string, got {kind}")))
            }
        }
    }

    /// A required integer (a float with no fraction counts).
    fn integer(v: Option<Lax<'de>>, field: &'static str) -> Result<i64, DecodeError> {
        match v {
            None | Some(Lax::Null) => Err(DecodeError::MissingField {
                frame: "outbound",
                field,
            }),
            Some(Lax::Int(i)) => Ok(i),
            Some(Lax::UInt(u)) => {
                i64::try_from(u).map_err(|_| invalid(field, "integer out of range"))
            }
            Some(Lax::Float(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
            Some(other) => Err(invalid(
                field,
                format!("expected an integer, got {}", other.kind()),
            )),
        }
    }

    /// An array of objects (absent or null: empty).
    fn objects(v: Option<Value>, field: &'static str) -> Result<Vec<Metadata>, DecodeError> {
        match v {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::Object(m) => Ok(m),
                    _ => Err(invalid(field, "expected an array of objects")),
                })
                .collect(),
            Some(_) => Err(invalid(field, "expected an array of objects")),
        }
    }

    fn metadata(v: Option<Value>) -> Metadata {
        match v {
            Some(Value::Object(m)) => m,
            _ => Metadata::new(),
        }
    }
}

impl<'de> Finish<'de> for ActionWire<'de> {
    type Output = Action;
    const WHAT: &'static str = "action";

    /// Builds the typed action for `op`.
    fn finish(mut self) -> Result<Action, DecodeError> {
        let op = match self.op.take() {
            Some(Lax::Str(s)) => s,
            None | Some(Lax::Null) => {
                return Err(DecodeError::MissingField {
                    frame: "outbound",
                    field: "action.op",
                });
            }
            Some(other) => {
                return Err(invalid(
                    "action.op",
                    format!("expected a string, got {}", other.kind()),
                ));
            }
        };
        let w = self;
        Ok(match op.as_ref() {
            "send" => Action::Send(SendAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                content: text(w.content),
                reply_to: opt_text(w.reply_to),
                metadata: Self::metadata(w.metadata),
            }),
            "edit" => Action::Edit(EditAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                message_id: Self::required(w.message_id, "action.message_id")?,
                content: text(w.content),
                finalize: w.finalize,
                metadata: Self::metadata(w.metadata),
            }),
            "typing" => Action::Typing(TypingAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                content: opt_text(w.content),
                metadata: Self::metadata(w.metadata),
            }),
            "get_chat_info" => Action::GetChatInfo(GetChatInfoAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
            }),
            other => return w.finish_rare(other),
        })
    }
}

impl<'de> ActionWire<'de> {
    /// [`Finish::finish`] of the ops that read rare keys (out of line).
    #[inline(never)]
    fn finish_rare(self, op: &str) -> Result<Action, DecodeError> {
        let w = self;
        let r = w.rare.map_or_else(RareKeys::default, |r| *r);
        Ok(match op {
            "follow_up" => Action::FollowUp(FollowUpAction {
                session_key: Self::required(r.session_key, "action.session_key")?,
                kind: text(r.kind),
                content: text(w.content),
                metadata: Self::metadata(w.metadata),
            }),
            "send_media" => Action::SendMedia(SendMediaAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                media_kind: text(r.media_kind),
                source_url: Self::required(r.source_url, "action.source_url")?,
                content: text(w.content),
                reply_to: opt_text(w.reply_to),
                metadata: Self::metadata(w.metadata),
                filename: opt_text(r.filename),
            }),
            "prompt" => Action::Prompt(PromptAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                content: text(w.content),
                prompt_kind: text(r.prompt_kind),
                prompt_id: Self::required(r.prompt_id, "action.prompt_id")?,
                options: r.options,
                reply_to: opt_text(w.reply_to),
                metadata: Self::metadata(w.metadata),
                timeout_s: match r.timeout_s {
                    Some(Lax::Int(i)) => Some(i),
                    Some(Lax::UInt(u)) => Some(i64::try_from(u).unwrap_or(i64::MAX)),
                    Some(Lax::Float(f)) if f.is_finite() => Some(f as i64),
                    _ => None,
                },
            }),
            "react" => Action::React(ReactAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                message_id: Self::required(w.message_id, "action.message_id")?,
                emoji: text(r.emoji),
                remove: r.remove,
                metadata: Self::metadata(w.metadata),
            }),
            "thread_create" => Action::ThreadCreate(ThreadCreateAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                thread_name: text(r.thread_name),
                metadata: Self::metadata(w.metadata),
            }),
            "thread_rename" => Action::ThreadRename(ThreadRenameAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                message_id: Self::required(w.message_id, "action.message_id")?,
                thread_name: text(r.thread_name),
                metadata: Self::metadata(w.metadata),
                only_if_connector_created: r.only_if_connector_created,
                only_if_current_name: opt_text(r.only_if_current_name),
            }),
            "draft" => Action::Draft(DraftAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                draft_id: Self::integer(r.draft_id, "action.draft_id")?,
                content: text(w.content),
                is_final: r.is_final,
                metadata: Self::metadata(w.metadata),
            }),
            "task_card" => Action::TaskCard(TaskCardAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                card_id: Self::required(r.card_id, "action.card_id")?,
                chunks: Self::objects(r.chunks, "action.chunks")?,
                metadata: Self::metadata(w.metadata),
            }),
            "task_card_stop" => Action::TaskCardStop(TaskCardStopAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                card_id: Self::required(r.card_id, "action.card_id")?,
                metadata: Self::metadata(w.metadata),
            }),
            "delete" => Action::Delete(DeleteAction {
                chat_id: Self::required(w.chat_id, "action.chat_id")?,
                message_id: Self::required(w.message_id, "action.message_id")?,
                metadata: Self::metadata(w.metadata),
            }),
            other => return Err(invalid("action.op", format!("unknown op {other:?}"))),
        })
    }
}

impl<'de> Deserialize<'de> for Action {
    /// Lenient decode of an `action` object (see [`Action::from_value`]).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lax::deserialize_finished::<ActionWire<'de>, D>(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ACTION_OPS;
    use serde_json::json;

    #[test]
    fn decode_lenient_action() {
        let a = Action::from_value(&json!({"op":"send","chat_id":42,"content":"x","extra":1}));
        assert_eq!(
            a,
            Ok(Action::Send(SendAction {
                chat_id: "42".into(),
                content: "x".into(),
                reply_to: None,
                metadata: Metadata::new(),
            }))
        );
        assert_eq!(
            Action::from_value(&json!({"op":"send"})),
            Err(DecodeError::MissingField {
                frame: "outbound",
                field: "action.chat_id"
            })
        );
        assert!(matches!(
            Action::from_value(&json!({"op":"drafts","chat_id":"c"})),
            Err(DecodeError::InvalidField {
                field: "action.op",
                ..
            })
        ));
        assert!(matches!(
            Action::from_value(&json!({"op":"send","chat_id":[1]})),
            Err(DecodeError::InvalidField {
                field: "action.chat_id",
                ..
            })
        ));
        assert_eq!(
            Action::from_value(&json!({"chat_id":"c"})),
            Err(DecodeError::MissingField {
                frame: "outbound",
                field: "action.op"
            })
        );
    }

    #[test]
    fn metadata_accessors_cover_every_op() {
        for op in ACTION_OPS {
            let v = json!({"op": op, "chat_id": "c", "session_key": "s", "message_id": "m",
                           "source_url": "u", "prompt_id": "p", "draft_id": 3, "card_id": "k",
                           "metadata": {"k": 1}});
            let mut a = Action::from_value(&v).unwrap_or_else(|e| panic!("{op}: {e}"));
            assert_eq!(a.op(), op);
            if op == "get_chat_info" {
                assert!(a.metadata_mut().is_none());
            } else {
                assert_eq!(a.metadata_mut().and_then(|m| m.get("k")), Some(&json!(1)));
            }
            assert_eq!(a.chat_id().is_some(), op != "follow_up");
        }
    }

    #[test]
    fn keys_of_other_ops_are_ignored_and_absent_ones_default() {
        // An edit carrying keys only other ops read decodes as a plain edit.
        let edit = Action::from_value(&json!({"op":"edit","chat_id":"c","message_id":"m",
            "content":"x","finalize":true,"emoji":"👍","kind":"k","draft_id":"not a number"}));
        assert_eq!(
            edit,
            Ok(Action::Edit(EditAction {
                chat_id: "c".into(),
                message_id: "m".into(),
                content: "x".into(),
                finalize: true,
                metadata: Metadata::new(),
            }))
        );
        // An op that reads such keys takes their defaults when none came.
        assert_eq!(
            Action::from_value(&json!({"op":"react","chat_id":"c","message_id":"m"})),
            Ok(Action::React(ReactAction {
                chat_id: "c".into(),
                message_id: "m".into(),
                emoji: String::new(),
                remove: false,
                metadata: Metadata::new(),
            }))
        );
        // The last of a repeated key wins, whichever group it is kept in.
        let Ok(Action::React(r)) = serde_json::from_str::<Action>(
            r#"{"op":"react","chat_id":"c","message_id":"m","emoji":"a","remove":1,"emoji":"b"}"#,
        ) else {
            panic!("a react");
        };
        assert_eq!((r.emoji.as_str(), r.remove), ("b", true));
    }

    #[test]
    fn decode_new_ops() {
        let d = Action::from_value(&json!({"op":"draft","chat_id":"C","draft_id":2.0,
                                           "content":"x","final":1,"metadata":{"a":1}}));
        assert_eq!(
            d.as_ref().map(Action::op),
            Ok("draft"),
            "a float with no fraction is an integer"
        );
        let Ok(Action::Draft(d)) = d else {
            panic!("a draft");
        };
        assert_eq!((d.draft_id, d.is_final), (2, true));
        assert!(matches!(
            Action::from_value(&json!({"op":"draft","chat_id":"C","draft_id":"2"})),
            Err(DecodeError::InvalidField {
                field: "action.draft_id",
                ..
            })
        ));
        assert_eq!(
            Action::from_value(&json!({"op":"draft","chat_id":"C"})),
            Err(DecodeError::MissingField {
                frame: "outbound",
                field: "action.draft_id"
            })
        );
        let Ok(Action::TaskCard(c)) = Action::from_value(
            &json!({"op":"task_card","chat_id":"c","card_id":9,"chunks":[{"id":"t1"}]}),
        ) else {
            panic!("a task card");
        };
        assert_eq!((c.card_id.as_str(), c.chunks.len()), ("9", 1));
        assert!(matches!(
            Action::from_value(&json!({"op":"task_card","chat_id":"c","card_id":"k","chunks":[1]})),
            Err(DecodeError::InvalidField {
                field: "action.chunks",
                ..
            })
        ));
        assert_eq!(
            Action::from_value(&json!({"op":"delete","chat_id":"c"})),
            Err(DecodeError::MissingField {
                frame: "outbound",
                field: "action.message_id"
            })
        );
    }
}
