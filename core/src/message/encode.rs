//! Encoding of inbound messages, with the reference's keys and order.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::types::{
    ChatType, CompactString, ContextItem, MediaItem, MessageEvent, PromptResponse, ReplyTo,
    SessionSource,
};

impl Serialize for ChatType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Serialize for SessionSource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("platform", &self.platform)?;
        m.serialize_entry("chat_id", &self.chat_id)?;
        m.serialize_entry("chat_name", &self.chat_name)?;
        m.serialize_entry("chat_type", &self.chat_type)?;
        m.serialize_entry("user_id", &self.user_id)?;
        m.serialize_entry("user_name", &self.user_name)?;
        m.serialize_entry("thread_id", &self.thread_id)?;
        m.serialize_entry("chat_topic", &self.chat_topic)?;
        let opt = |m: &mut S::SerializeMap, k: &str, v: &Option<CompactString>| match v {
            Some(v) => m.serialize_entry(k, v),
            None => Ok(()),
        };
        let flag = |m: &mut S::SerializeMap, k: &str, v: bool| {
            if v {
                m.serialize_entry(k, &true)
            } else {
                Ok(())
            }
        };
        opt(&mut m, "user_id_alt", &self.user_id_alt)?;
        opt(&mut m, "chat_id_alt", &self.chat_id_alt)?;
        opt(&mut m, "scope_id", &self.scope_id)?;
        opt(&mut m, "guild_id", &self.scope_id)?;
        opt(&mut m, "parent_chat_id", &self.parent_chat_id)?;
        opt(&mut m, "message_id", &self.message_id)?;
        opt(&mut m, "profile", &self.profile)?;
        flag(&mut m, "auto_thread_created", self.auto_thread_created)?;
        opt(
            &mut m,
            "auto_thread_initial_name",
            &self.auto_thread_initial_name,
        )?;
        opt(&mut m, "prospective_thread_id", &self.prospective_thread_id)?;
        opt(&mut m, "user_display_name", &self.user_display_name)?;
        opt(&mut m, "user_handle", &self.user_handle)?;
        flag(&mut m, "is_bot", self.is_bot)?;
        flag(&mut m, "message_is_edit", self.message_is_edit)?;
        flag(&mut m, "one_to_one_verified", self.one_to_one_verified)?;
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

struct Ser<'a, T>(&'a T);

impl Serialize for Ser<'_, ReplyTo> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(t) = &self.0.text {
            m.serialize_entry("text", t)?;
        }
        if let Some(a) = &self.0.author {
            m.serialize_entry("author", a)?;
        }
        m.serialize_entry("is_own", &self.0.is_own)?;
        m.end()
    }
}

impl Serialize for Ser<'_, MediaItem> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("url", &i.url)?;
        if let Some(v) = &i.mime {
            m.serialize_entry("mime", v)?;
        }
        if let Some(v) = &i.kind {
            m.serialize_entry("kind", v)?;
        }
        if let Some(v) = &i.size {
            m.serialize_entry("size", v)?;
        }
        if let Some(v) = &i.filename {
            m.serialize_entry("filename", v)?;
        }
        if let Some(v) = &i.caption {
            m.serialize_entry("caption", v)?;
        }
        m.end()
    }
}

struct CtxSource<'a>(&'a ContextItem);

impl Serialize for CtxSource<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(v) = &self.0.user_name {
            m.serialize_entry("user_name", v)?;
        }
        if let Some(v) = &self.0.user_id {
            m.serialize_entry("user_id", v)?;
        }
        m.end()
    }
}

impl Serialize for Ser<'_, ContextItem> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("text", &self.0.text)?;
        m.serialize_entry("source", &CtxSource(self.0))?;
        m.end()
    }
}

impl Serialize for Ser<'_, PromptResponse> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("prompt_id", &p.prompt_id)?;
        m.serialize_entry("option_id", &p.option_id)?;
        if let Some(v) = &p.label {
            m.serialize_entry("label", v)?;
        }
        if let Some(v) = &p.prompt_message_id {
            m.serialize_entry("prompt_message_id", v)?;
        }
        for (k, v) in &p.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

struct SerList<'a, T>(&'a [T]);

impl<'a, T> Serialize for SerList<'a, T>
where
    Ser<'a, T>: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(Ser))
    }
}

impl Serialize for MessageEvent {
    /// Keys: `text, message_type, source`, the optional ids, `media_urls`,
    /// then the later keys only when set, then `extra`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("text", &self.text)?;
        m.serialize_entry("message_type", &self.message_type)?;
        m.serialize_entry("source", &self.source)?;
        if let Some(v) = &self.message_id {
            m.serialize_entry("message_id", v)?;
        }
        if let Some(v) = &self.reply_to_message_id {
            m.serialize_entry("reply_to_message_id", v)?;
        }
        m.serialize_entry("media_urls", &self.media_urls)?;
        if let Some(r) = &self.reply_to {
            m.serialize_entry("reply_to", &Ser(r))?;
        }
        if !self.media.is_empty() {
            m.serialize_entry("media", &SerList(&self.media))?;
        }
        if !self.context.is_empty() {
            m.serialize_entry("context", &SerList(&self.context))?;
        }
        if let Some(v) = &self.context_error {
            m.serialize_entry("context_error", v)?;
        }
        if let Some(p) = &self.prompt_response {
            m.serialize_entry("prompt_response", &Ser(p))?;
        }
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}
