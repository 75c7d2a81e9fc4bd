//! The session key of an inbound message (docs/protocol.md, "Session keys").

use super::types::{CompactString, SessionSource};

/// Flags that shape a session key (docs/protocol.md, "Session keys").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionKeyOptions {
    /// One session per participant in group chats (default true).
    pub group_sessions_per_user: bool,
    /// One session per participant in threads (default false).
    pub thread_sessions_per_user: bool,
    /// Profile name for multiplexed gateways (`None`, `""` or `default` →
    /// `main`; a profile literally named `main` → `main~`).
    pub profile: Option<String>,
}

impl Default for SessionKeyOptions {
    fn default() -> Self {
        SessionKeyOptions {
            group_sessions_per_user: true,
            thread_sessions_per_user: false,
            profile: None,
        }
    }
}

/// The `agent:<ns>` prefix for a profile.
pub fn session_key_namespace(profile: Option<&str>) -> String {
    match profile {
        None | Some("") | Some("default") => "agent:main".to_owned(),
        Some("main") => "agent:main~".to_owned(),
        Some(p) => format!("agent:{p}"),
    }
}

/// WhatsApp JID/LID canonicalization. The reference folds aliases of one
/// account to one identifier; its table is not part of the wire contract, so
/// this version keeps identifiers as they are.
fn canonical_whatsapp_identifier(id: &str) -> &str {
    id
}

fn non_empty(s: &Option<CompactString>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// Builds the session key for `source` (docs/protocol.md, "Session keys").
///
/// Layout `<ns>:<platform>:<chat_type>[:<slack scope>][:<chat_id>]` then, for
/// DMs, the participant (only when there is no chat id) and the thread; for
/// other chats the thread and then the participant (when isolated). A
/// non-DM message with a `prospective_thread_id` and no `thread_id` is keyed
/// under that thread with the `thread` chat type, so it and its in-thread
/// follow-ups share one session. Empty values count as absent.
pub fn build_session_key(source: &SessionSource, options: &SessionKeyOptions) -> String {
    let is_dm = source.is_dm();
    let whatsapp = source.platform == "whatsapp";
    let chat_id = if is_dm && whatsapp {
        canonical_whatsapp_identifier(&source.chat_id)
    } else {
        source.chat_id.as_str()
    };
    let real_thread = non_empty(&source.thread_id);
    let thread_id = match real_thread {
        Some(t) => Some(t),
        None if !is_dm => non_empty(&source.prospective_thread_id),
        None => None,
    };
    let chat_type_slot = if thread_id.is_some() && real_thread.is_none() {
        "thread"
    } else {
        source.chat_type.as_str()
    };
    let isolate_user = if is_dm {
        chat_id.is_empty()
    } else {
        // Threads are shared unless thread_sessions_per_user.
        options.group_sessions_per_user && (thread_id.is_none() || options.thread_sessions_per_user)
    };
    let participant = non_empty(&source.user_id_alt)
        .or(non_empty(&source.user_id))
        .map(|p| {
            if whatsapp {
                canonical_whatsapp_identifier(p)
            } else {
                p
            }
        });

    let ns = session_key_namespace(options.profile.as_deref());
    let mut parts: Vec<&str> = Vec::with_capacity(7);
    parts.push(&ns);
    parts.push(&source.platform);
    parts.push(chat_type_slot);
    if let Some(scope) = non_empty(&source.scope_id).filter(|_| source.platform == "slack") {
        parts.push(scope);
    }
    if !chat_id.is_empty() {
        parts.push(chat_id);
    }
    let user_part = participant.filter(|_| isolate_user);
    if is_dm {
        parts.extend(user_part);
        parts.extend(thread_id);
    } else {
        parts.extend(thread_id);
        parts.extend(user_part);
    }
    parts.join(":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::types::ChatType;

    fn src(platform: &str, chat_type: ChatType, chat_id: &str) -> SessionSource {
        SessionSource {
            platform: platform.into(),
            chat_type,
            chat_id: chat_id.into(),
            ..Default::default()
        }
    }

    fn key(s: &SessionSource) -> String {
        build_session_key(s, &SessionKeyOptions::default())
    }

    #[test]
    fn protocol_examples() {
        let mut dm = src("discord", ChatType::Dm, "D1");
        assert_eq!(key(&dm), "agent:main:discord:dm:D1");
        dm.thread_id = Some("T9".into());
        assert_eq!(key(&dm), "agent:main:discord:dm:D1:T9");

        let mut tg = src("telegram", ChatType::Dm, "");
        tg.user_id = Some("42".into());
        assert_eq!(key(&tg), "agent:main:telegram:dm:42");
        tg.user_id = None;
        assert_eq!(key(&tg), "agent:main:telegram:dm");

        let mut g = src("discord", ChatType::Group, "chanA");
        g.user_id = Some("userX".into());
        assert_eq!(key(&g), "agent:main:discord:group:chanA:userX");

        let mut ch = src("discord", ChatType::Channel, "C1");
        ch.thread_id = Some("T1".into());
        ch.user_id = Some("U1".into());
        assert_eq!(key(&ch), "agent:main:discord:channel:C1:T1");
        let per_thread_user = SessionKeyOptions {
            thread_sessions_per_user: true,
            ..Default::default()
        };
        assert_eq!(
            build_session_key(&ch, &per_thread_user),
            "agent:main:discord:channel:C1:T1:U1"
        );

        let shared = SessionKeyOptions {
            group_sessions_per_user: false,
            ..Default::default()
        };
        assert_eq!(
            build_session_key(&g, &shared),
            "agent:main:discord:group:chanA"
        );

        let coder = SessionKeyOptions {
            profile: Some("coder".into()),
            ..Default::default()
        };
        assert_eq!(
            build_session_key(&g, &coder),
            "agent:coder:discord:group:chanA:userX"
        );
    }

    #[test]
    fn namespaces() {
        let g = src("discord", ChatType::Group, "c");
        for (p, ns) in [
            (None, "agent:main"),
            (Some(""), "agent:main"),
            (Some("default"), "agent:main"),
            (Some("main"), "agent:main~"),
            (Some("ops"), "agent:ops"),
        ] {
            let o = SessionKeyOptions {
                profile: p.map(str::to_owned),
                ..Default::default()
            };
            assert_eq!(
                build_session_key(&g, &o),
                format!("{ns}:discord:group:c"),
                "{p:?}"
            );
        }
    }

    #[test]
    fn dm_fallbacks() {
        let mut dm = src("signal", ChatType::Dm, "");
        dm.user_id = Some("u".into());
        dm.user_id_alt = Some("alt".into());
        assert_eq!(key(&dm), "agent:main:signal:dm:alt");
        dm.thread_id = Some("t".into());
        assert_eq!(key(&dm), "agent:main:signal:dm:alt:t");
        dm.user_id = None;
        dm.user_id_alt = None;
        assert_eq!(key(&dm), "agent:main:signal:dm:t");
        // a DM with a chat id never gets the participant
        let mut dm2 = src("signal", ChatType::Dm, "c");
        dm2.user_id = Some("u".into());
        assert_eq!(key(&dm2), "agent:main:signal:dm:c");
        // prospective threads do not apply to DMs
        dm2.prospective_thread_id = Some("p".into());
        assert_eq!(key(&dm2), "agent:main:signal:dm:c");
    }

    #[test]
    fn later_rules_slack_scope_and_prospective_thread() {
        let mut s = src("slack", ChatType::Group, "C1");
        s.scope_id = Some("T0".into());
        s.user_id = Some("U".into());
        assert_eq!(key(&s), "agent:main:slack:group:T0:C1:U");
        let mut d = src("discord", ChatType::Group, "C1");
        d.scope_id = Some("G".into());
        assert_eq!(key(&d), "agent:main:discord:group:C1");
        d.prospective_thread_id = Some("P".into());
        d.user_id = Some("U".into());
        assert_eq!(key(&d), "agent:main:discord:thread:C1:P");
        d.thread_id = Some("T".into());
        assert_eq!(key(&d), "agent:main:discord:group:C1:T");
    }

    #[test]
    fn other_chat_type_kept() {
        let mut s = src("matrix", ChatType::from_wire("room"), "r");
        s.user_id = Some("u".into());
        assert_eq!(key(&s), "agent:main:matrix:room:r:u");
    }
}
