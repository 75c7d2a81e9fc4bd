//! The keyword arguments of the application's event classes, built from the
//! core's decoded types. Which keywords are passed depends on the installed
//! classes: a field the class does not define is left out (a Hermes version
//! that predates it), every field it defines is filled the way the reference
//! fills it.

use std::cell::OnceCell;
use std::collections::HashSet;

use pyo3::prelude::*;
use pyo3::types::{PyAnyMethods, PyBytes, PyDict, PyList, PyString};
use relay_core::message::{ContextItem, MessageEvent, MessageType, SessionSource};
use relay_core::wire::PassthroughForward;

use crate::json::to_py;

/// Declares the keywords of one application class: an enum naming each
/// (its discriminant is its place in `NAMES`) and the names themselves.
macro_rules! keywords {
    ($(#[$doc:meta])* $ty:ident { $($var:ident = $name:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        #[repr(usize)]
        pub enum $ty {
            $(#[doc = concat!("`", $name, "`.")] $var),*
        }

        impl $ty {
            /// Every keyword's name, in the enum's order.
            pub const NAMES: &'static [&'static str] = &[$($name),*];
        }

        impl Keyword for $ty {
            fn index(self) -> usize {
                self as usize
            }

            fn name(self) -> &'static str {
                match self {
                    $($ty::$var => $name),*
                }
            }
        }
    };
}

/// One keyword of an application class.
pub trait Keyword: Copy {
    /// Its place in its class's `NAMES`.
    fn index(self) -> usize;
    /// Its name.
    fn name(self) -> &'static str;
}

keywords!(
    /// `SessionSource` keywords.
    Src {
        Platform = "platform",
        ChatId = "chat_id",
        ChatType = "chat_type",
        ChatName = "chat_name",
        UserId = "user_id",
        UserName = "user_name",
        ThreadId = "thread_id",
        ChatTopic = "chat_topic",
        UserIdAlt = "user_id_alt",
        ChatIdAlt = "chat_id_alt",
        ScopeId = "scope_id",
        ParentChatId = "parent_chat_id",
        MessageId = "message_id",
        Profile = "profile",
        AutoThreadCreated = "auto_thread_created",
        AutoThreadInitialName = "auto_thread_initial_name",
        ProspectiveThreadId = "prospective_thread_id",
        DeliveredViaUpstreamRelay = "delivered_via_upstream_relay",
    }
);

keywords!(
    /// `MessageEvent` keywords.
    Ev {
        Text = "text",
        MessageType = "message_type",
        MessageId = "message_id",
        ReplyToMessageId = "reply_to_message_id",
        ReplyToText = "reply_to_text",
        ReplyToAuthorName = "reply_to_author_name",
        ReplyToIsOwnMessage = "reply_to_is_own_message",
        MediaUrls = "media_urls",
        MediaTypes = "media_types",
        ChannelContext = "channel_context",
        PromptResponse = "prompt_response",
    }
);

/// The keywords of one class, each interned once, with whether the class
/// accepts it: looked up when the link is made, not per event.
#[derive(Debug)]
pub struct Fields {
    keys: Vec<(Py<PyString>, bool)>,
    accepted: Option<HashSet<String>>,
    /// Every keyword passed, in order, with the value most events give it
    /// (see [`Fields::fresh`]).
    template: OnceCell<Py<PyDict>>,
}

impl Fields {
    /// From a Python set of names (`None`: any keyword), for the keywords
    /// in `names`.
    pub fn from_py(
        py: Python<'_>,
        accepted: Option<&Bound<'_, PyAny>>,
        names: &[&str],
    ) -> PyResult<Self> {
        let accepted = match accepted {
            None => None,
            Some(set) => {
                let mut out = HashSet::new();
                for n in set.try_iter()? {
                    out.insert(n?.extract::<String>()?);
                }
                Some(out)
            }
        };
        let keys = names
            .iter()
            .map(|n| {
                let wanted = accepted.as_ref().is_none_or(|s| s.contains(*n));
                (PyString::intern(py, n).unbind(), wanted)
            })
            .collect();
        Ok(Fields {
            keys,
            accepted,
            template: OnceCell::new(),
        })
    }

    /// A new keyword dict: a copy of the template that `init` fills the
    /// first time (with every keyword passed, in the order they are passed,
    /// each with its most common value), so that an event sets only what
    /// differs from it. A copy costs one block copy instead of a dict
    /// growing through one insertion per keyword.
    fn fresh<'py>(
        &self,
        py: Python<'py>,
        init: impl FnOnce(&Bound<'py, PyDict>) -> PyResult<()>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let template = match self.template.get() {
            Some(t) => t.bind(py).clone(),
            None => {
                let t = PyDict::new(py);
                init(&t)?;
                let _ = self.template.set(t.clone().unbind());
                t
            }
        };
        template.copy()
    }

    /// Whether the class takes a keyword outside the declared ones.
    fn has(&self, name: &str) -> bool {
        self.accepted.as_ref().is_none_or(|s| s.contains(name))
    }

    /// The interned name of `k` when the class accepts it.
    fn want(&self, k: impl Keyword) -> Option<&Py<PyString>> {
        self.keys
            .get(k.index())
            .and_then(|(key, w)| w.then_some(key))
    }

    /// The interned name of `k`, accepted or not (made afresh for fields
    /// built without the keyword's class).
    fn key<'py>(&self, py: Python<'py>, k: impl Keyword) -> Bound<'py, PyString> {
        match self.keys.get(k.index()) {
            Some((key, _)) => key.bind(py).clone(),
            None => PyString::intern(py, k.name()),
        }
    }
}

/// What each application class accepts.
#[derive(Debug)]
pub struct Models {
    /// `SessionSource`.
    pub source: Fields,
    /// `MessageEvent`.
    pub event: Fields,
    /// `PassthroughForward`.
    pub forward: Fields,
}

/// Sets keyword `k` of `f` to `v` when the class accepts it.
fn put<'py, V: IntoPyObject<'py>>(
    d: &Bound<'py, PyDict>,
    f: &Fields,
    k: impl Keyword,
    v: impl FnOnce() -> V,
) -> PyResult<()> {
    if let Some(k) = f.want(k) {
        d.set_item(k.bind(d.py()), v())?;
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
    let d = f.fresh(py, |t| {
        let none = || None::<&str>;
        t.set_item(f.key(py, Src::Platform), py.None())?;
        t.set_item(f.key(py, Src::ChatId), py.None())?;
        for k in [
            Src::ChatType,
            Src::ChatName,
            Src::UserId,
            Src::UserName,
            Src::ThreadId,
            Src::ChatTopic,
            Src::UserIdAlt,
            Src::ChatIdAlt,
            Src::ScopeId,
            Src::ParentChatId,
            Src::MessageId,
            Src::Profile,
        ] {
            put(t, f, k, none)?;
        }
        put(t, f, Src::AutoThreadCreated, || false)?;
        put(t, f, Src::AutoThreadInitialName, none)?;
        put(t, f, Src::ProspectiveThreadId, none)?;
        // Stamped by the transport, never read off the wire: the event
        // came over the authenticated relay socket.
        put(t, f, Src::DeliveredViaUpstreamRelay, || true)
    })?;
    d.set_item(f.key(py, Src::Platform), s.platform.as_str())?;
    d.set_item(f.key(py, Src::ChatId), s.chat_id.as_str())?;
    put(&d, f, Src::ChatType, || s.chat_type.as_str())?;
    // What the template holds (None, False) is not set again.
    let opt = |k: Src, v: Option<&str>| match v {
        Some(v) => put(&d, f, k, || v),
        None => Ok(()),
    };
    opt(Src::ChatName, s.chat_name.as_deref())?;
    opt(Src::UserId, s.user_id.as_deref())?;
    // The display name is what native adapters show; session keys use ids.
    opt(Src::UserName, s.display_name())?;
    opt(Src::ThreadId, s.thread_id.as_deref())?;
    opt(Src::ChatTopic, s.chat_topic.as_deref())?;
    opt(Src::UserIdAlt, s.user_id_alt.as_deref())?;
    opt(Src::ChatIdAlt, s.chat_id_alt.as_deref())?;
    opt(Src::ScopeId, s.scope_id.as_deref())?;
    opt(Src::ParentChatId, s.parent_chat_id.as_deref())?;
    opt(Src::MessageId, s.message_id.as_deref())?;
    opt(Src::Profile, s.profile.as_deref())?;
    if s.auto_thread_created {
        put(&d, f, Src::AutoThreadCreated, || true)?;
    }
    opt(
        Src::AutoThreadInitialName,
        s.auto_thread_initial_name.as_deref(),
    )?;
    opt(Src::ProspectiveThreadId, s.prospective_thread_id.as_deref())?;
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
    let d = f.fresh(py, |t| {
        let none = || None::<&str>;
        t.set_item(f.key(py, Ev::Text), py.None())?;
        t.set_item(f.key(py, Ev::MessageType), py.None())?;
        put(t, f, Ev::MessageId, none)?;
        put(t, f, Ev::ReplyToMessageId, none)?;
        put(t, f, Ev::ReplyToText, none)?;
        put(t, f, Ev::ReplyToAuthorName, none)?;
        put(t, f, Ev::ReplyToIsOwnMessage, || false)?;
        // Placeholders: every event gets lists of its own.
        put(t, f, Ev::MediaUrls, none)?;
        put(t, f, Ev::MediaTypes, none)?;
        put(t, f, Ev::ChannelContext, none)?;
        put(t, f, Ev::PromptResponse, none)
    })?;
    d.set_item(f.key(py, Ev::Text), &e.text)?;
    d.set_item(f.key(py, Ev::MessageType), message_type(e.message_type))?;
    // What the template holds (None, False) is not set again.
    if let Some(v) = e.message_id.as_deref() {
        put(&d, f, Ev::MessageId, || v)?;
    }
    if let Some(v) = e.reply_to_message_id.as_deref() {
        put(&d, f, Ev::ReplyToMessageId, || v)?;
    }
    if let Some(reply) = e.reply_to.as_ref() {
        if let Some(v) = reply.text.as_deref() {
            put(&d, f, Ev::ReplyToText, || v)?;
        }
        if let Some(v) = reply.author.as_deref() {
            put(&d, f, Ev::ReplyToAuthorName, || v)?;
        }
        if reply.is_own {
            put(&d, f, Ev::ReplyToIsOwnMessage, || true)?;
        }
    }
    if let Some(k) = f.want(Ev::MediaUrls) {
        d.set_item(k.bind(py), PyList::new(py, &e.media_urls)?)?;
    }
    if let Some(k) = f.want(Ev::MediaTypes) {
        d.set_item(k.bind(py), PyList::new(py, e.media_types())?)?;
    }
    if let Some(v) = context_text(&e.context) {
        put(&d, f, Ev::ChannelContext, || v)?;
    }
    if let Some(k) = f.want(Ev::PromptResponse)
        && let Some(p) = &e.prompt_response
    {
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
        d.set_item(k.bind(py), pd)?;
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
    if m.forward.has("profile") {
        d.set_item("profile", p.profile.as_deref())?;
    }
    Ok(d)
}
