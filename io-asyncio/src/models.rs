//! The keyword arguments of the application's event classes, built from the
//! core's decoded types. Which keywords are passed depends on the installed
//! classes: a field the class does not define is left out (a Hermes version
//! that predates it), every field it defines is filled the way the reference
//! fills it.

use std::collections::HashSet;

use pyo3::prelude::*;
use pyo3::types::{PyAnyMethods, PyBytes, PyDict, PyList};
use relay_core::message::{ContextItem, MessageEvent, MessageType, SessionSource};
use relay_core::wire::PassthroughForward;

use crate::json::to_py;

/// The fields a class accepts (`None`: any keyword).
#[derive(Debug, Default)]
pub struct Fields(Option<HashSet<String>>);

impl Fields {
    /// From a Python set of names, or `None` for "any".
    pub fn from_py(names: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let Some(names) = names else {
            return Ok(Fields(None));
        };
        let mut set = HashSet::new();
        for n in names.try_iter()? {
            let n = n?;
            set.insert(n.extract::<String>()?);
        }
        Ok(Fields(Some(set)))
    }

    fn has(&self, name: &str) -> bool {
        self.0.as_ref().is_none_or(|s| s.contains(name))
    }
}

/// What each application class accepts.
#[derive(Debug, Default)]
pub struct Models {
    /// `SessionSource`.
    pub source: Fields,
    /// `MessageEvent`.
    pub event: Fields,
    /// `PassthroughForward`.
    pub forward: Fields,
}

fn set_opt(d: &Bound<'_, PyDict>, f: &Fields, key: &str, v: Option<&str>) -> PyResult<()> {
    if f.has(key) {
        d.set_item(key, v)?;
    }
    Ok(())
}

/// The surrounding-context list as one read-only text block (`author: text`
/// per line, oldest first), as the reference renders it; None when empty.
pub fn context_text(items: &[ContextItem]) -> Option<String> {
    let mut out = String::new();
    for item in items {
        if item.text.is_empty() {
            continue;
        }
        out.push('\n');
        if let Some(who) = item
            .user_name
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(item.user_id.as_deref().filter(|s| !s.is_empty()))
        {
            out.push_str(who);
            out.push_str(": ");
        }
        out.push_str(&item.text);
    }
    if out.is_empty() {
        return None;
    }
    Some(format!("[Recent channel messages]{out}"))
}

/// `SessionSource` keywords. `platform` is the wire name (the caller maps
/// it to its enum).
pub fn source_kwargs<'py>(
    py: Python<'py>,
    m: &Models,
    s: &SessionSource,
) -> PyResult<Bound<'py, PyDict>> {
    let f = &m.source;
    let d = PyDict::new(py);
    d.set_item("platform", &s.platform)?;
    d.set_item("chat_id", &s.chat_id)?;
    if f.has("chat_type") {
        d.set_item("chat_type", s.chat_type.as_str())?;
    }
    set_opt(&d, f, "chat_name", s.chat_name.as_deref())?;
    set_opt(&d, f, "user_id", s.user_id.as_deref())?;
    // The display name is what native adapters show; session keys use ids.
    set_opt(&d, f, "user_name", s.display_name())?;
    set_opt(&d, f, "thread_id", s.thread_id.as_deref())?;
    set_opt(&d, f, "chat_topic", s.chat_topic.as_deref())?;
    set_opt(&d, f, "user_id_alt", s.user_id_alt.as_deref())?;
    set_opt(&d, f, "chat_id_alt", s.chat_id_alt.as_deref())?;
    set_opt(&d, f, "scope_id", s.scope_id.as_deref())?;
    set_opt(&d, f, "parent_chat_id", s.parent_chat_id.as_deref())?;
    set_opt(&d, f, "message_id", s.message_id.as_deref())?;
    set_opt(&d, f, "profile", s.profile.as_deref())?;
    if f.has("auto_thread_created") {
        d.set_item("auto_thread_created", s.auto_thread_created)?;
    }
    set_opt(
        &d,
        f,
        "auto_thread_initial_name",
        s.auto_thread_initial_name.as_deref(),
    )?;
    set_opt(
        &d,
        f,
        "prospective_thread_id",
        s.prospective_thread_id.as_deref(),
    )?;
    // Stamped by the transport, never read off the wire: the event came
    // over the authenticated relay socket.
    if f.has("delivered_via_upstream_relay") {
        d.set_item("delivered_via_upstream_relay", true)?;
    }
    Ok(d)
}

/// The wire name of a message type.
pub fn message_type(t: MessageType) -> &'static str {
    match t {
        MessageType::Text => "text",
        MessageType::Location => "location",
        MessageType::Photo => "photo",
        MessageType::Video => "video",
        MessageType::Audio => "audio",
        MessageType::Voice => "voice",
        MessageType::Document => "document",
        MessageType::Sticker => "sticker",
        MessageType::Command => "command",
    }
}

/// `MessageEvent` keywords except `source`. `message_type` is the wire
/// name (the caller maps it to its enum).
pub fn event_kwargs<'py>(
    py: Python<'py>,
    m: &Models,
    e: &MessageEvent,
) -> PyResult<Bound<'py, PyDict>> {
    let f = &m.event;
    let d = PyDict::new(py);
    d.set_item("text", &e.text)?;
    d.set_item("message_type", message_type(e.message_type))?;
    set_opt(&d, f, "message_id", e.message_id.as_deref())?;
    set_opt(
        &d,
        f,
        "reply_to_message_id",
        e.reply_to_message_id.as_deref(),
    )?;
    let reply = e.reply_to.as_ref();
    set_opt(
        &d,
        f,
        "reply_to_text",
        reply.and_then(|r| r.text.as_deref()),
    )?;
    set_opt(
        &d,
        f,
        "reply_to_author_name",
        reply.and_then(|r| r.author.as_deref()),
    )?;
    if f.has("reply_to_is_own_message") {
        d.set_item("reply_to_is_own_message", reply.is_some_and(|r| r.is_own))?;
    }
    if f.has("media_urls") {
        d.set_item("media_urls", PyList::new(py, &e.media_urls)?)?;
    }
    if f.has("media_types") {
        d.set_item("media_types", PyList::new(py, e.media_types())?)?;
    }
    if f.has("channel_context") {
        d.set_item("channel_context", context_text(&e.context))?;
    }
    if f.has("prompt_response") {
        match &e.prompt_response {
            Some(p) => {
                let pd = PyDict::new(py);
                pd.set_item("prompt_id", &p.prompt_id)?;
                pd.set_item("option_id", &p.option_id)?;
                if let Some(l) = &p.label {
                    pd.set_item("label", l)?;
                }
                if let Some(m) = &p.prompt_message_id {
                    pd.set_item("prompt_message_id", m)?;
                }
                // The whole object, as the reference hands it over.
                for (k, v) in &p.extra {
                    pd.set_item(k, to_py(py, v)?)?;
                }
                d.set_item("prompt_response", pd)?;
            }
            None => d.set_item("prompt_response", py.None())?,
        }
    }
    Ok(d)
}

/// `PassthroughForward` keywords.
pub fn forward_kwargs<'py>(
    py: Python<'py>,
    m: &Models,
    p: &PassthroughForward,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("platform", &p.platform)?;
    d.set_item("bot_id", &p.bot_id)?;
    d.set_item("method", &p.method)?;
    d.set_item("path", &p.path)?;
    d.set_item(
        "headers",
        PyList::new(py, p.headers.iter().map(|(k, v)| (k, v)))?,
    )?;
    d.set_item("body", PyBytes::new(py, &p.body))?;
    set_opt(&d, &m.forward, "profile", p.profile.as_deref())?;
    Ok(d)
}
