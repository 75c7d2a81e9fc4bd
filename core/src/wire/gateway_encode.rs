//! The frames the gateway sends, written straight as JSON lines: each
//! frame's fixed text is one literal, its strings are escaped where a byte
//! needs it. The `Serialize` impls of [`GatewayFrame`] and [`Action`] stay
//! the reference for the bytes: the tests compare the two on every kind of
//! frame and string.

use super::action::Action;
use super::frames::GatewayFrame;
use super::json_out::{JsonOut, map_hint};

/// Bytes of an action's fixed text, with room for `reply_to` and the like.
const ACTION_FIXED: usize = 128;

/// Appends an `outbound` frame as one compact JSON line (with `\n`) to
/// `out`: the same bytes as [`encode_gateway_frame`] of
/// [`GatewayFrame::Outbound`], from borrowed fields.
pub fn encode_outbound(
    request_id: &str,
    action: &Action,
    platform: Option<&str>,
    bot_id: Option<&str>,
    out: &mut Vec<u8>,
) {
    write_outbound(out, request_id, action, platform, bot_id);
}

/// Appends `frame` as one compact JSON line (with `\n`) to `out`.
pub fn encode_gateway_frame(frame: &GatewayFrame, out: &mut Vec<u8>) {
    write_gateway_frame(out, frame);
}

impl GatewayFrame {
    /// The frame as one line of text, `\n` included.
    pub fn to_line(&self) -> String {
        let mut out = Vec::new();
        write_gateway_frame(&mut out, self);
        // The writer writes only UTF-8 (it copies valid text and ASCII).
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Appends an `outbound` frame line (with `\n`) to `out`.
fn write_outbound(
    out: &mut Vec<u8>,
    request_id: &str,
    action: &Action,
    platform: Option<&str>,
    bot_id: Option<&str>,
) {
    let tags = platform.map_or(0, |p| p.len() + 14) + bot_id.map_or(0, |b| b.len() + 11);
    let hint = 40 + request_id.len() + action_hint(action) + tags;
    let mut w = JsonOut::new(out, hint);
    w.raw(br#"{"type":"outbound","requestId":"#);
    w.str(request_id);
    w.raw(br#","action":"#);
    write_action(&mut w, action);
    if let Some(p) = platform {
        w.raw(br#","platform":"#);
        w.str(p);
    }
    if let Some(b) = bot_id {
        w.raw(br#","botId":"#);
        w.str(b);
    }
    w.raw(b"}\n");
}

/// Appends `frame` as a line (with `\n`) to `out`.
fn write_gateway_frame(out: &mut Vec<u8>, frame: &GatewayFrame) {
    match frame {
        GatewayFrame::Outbound(o) => write_outbound(
            out,
            &o.request_id,
            &o.action,
            o.platform.as_deref(),
            o.bot_id.as_deref(),
        ),
        GatewayFrame::Hello(h) => {
            let mut w = JsonOut::new(out, 48 + h.platform.len() + h.bot_id.len());
            w.raw(br#"{"type":"hello","platform":"#);
            w.str(&h.platform);
            w.raw(br#","botId":"#);
            w.str(&h.bot_id);
            if let Some(manifest) = &h.command_manifest {
                w.raw(br#","command_manifest":"#);
                w.serde(manifest);
            }
            w.raw(b"}\n");
        }
        GatewayFrame::Interrupt {
            session_key,
            reason,
        } => {
            let hint = 64 + session_key.len() + reason.as_ref().map_or(0, String::len);
            let mut w = JsonOut::new(out, hint);
            w.raw(br#"{"type":"interrupt","session_key":"#);
            w.str(session_key);
            w.raw(br#","reason":"#);
            w.opt_str(reason.as_deref());
            w.raw(b"}\n");
        }
        GatewayFrame::GoingIdle => out.extend_from_slice(b"{\"type\":\"going_idle\"}\n"),
        GatewayFrame::InboundAck { buffer_id } => {
            let mut w = JsonOut::new(out, 40 + buffer_id.0.len());
            w.raw(br#"{"type":"inbound_ack","bufferId":"#);
            w.str(buffer_id.as_str());
            w.raw(b"}\n");
        }
    }
}

/// About how many bytes `action` takes written (sizes the buffer once).
fn action_hint(action: &Action) -> usize {
    let strings = match action {
        Action::Send(a) => a.chat_id.len() + a.content.len() + opt_len(&a.reply_to),
        Action::Edit(a) => a.chat_id.len() + a.message_id.len() + a.content.len(),
        Action::Typing(a) => a.chat_id.len() + opt_len(&a.content),
        Action::FollowUp(a) => a.session_key.len() + a.kind.len() + a.content.len(),
        Action::React(a) => a.chat_id.len() + a.message_id.len() + a.emoji.len(),
        Action::SendMedia(a) => {
            a.chat_id.len() + a.media_kind.len() + a.source_url.len() + a.content.len()
        }
        _ => 0,
    };
    // Strings grow when escaped; the buffer then grows once more.
    ACTION_FIXED + strings + action.metadata().map_or(0, map_hint)
}

fn opt_len(s: &Option<String>) -> usize {
    s.as_ref().map_or(0, String::len)
}

/// Writes the `action` object, keys in the order of [`Action`]'s
/// `Serialize` impl. Rare ops go through that impl.
fn write_action(w: &mut JsonOut<'_>, action: &Action) {
    match action {
        Action::Send(a) => {
            w.raw(br#"{"op":"send","chat_id":"#);
            w.str(&a.chat_id);
            w.raw(br#","content":"#);
            w.str(&a.content);
            w.raw(br#","reply_to":"#);
            w.opt_str(a.reply_to.as_deref());
            w.raw(br#","metadata":"#);
            w.map(&a.metadata);
        }
        Action::Edit(a) => {
            w.raw(br#"{"op":"edit","chat_id":"#);
            w.str(&a.chat_id);
            w.raw(br#","message_id":"#);
            w.str(&a.message_id);
            w.raw(br#","content":"#);
            w.str(&a.content);
            w.raw(br#","finalize":"#);
            w.bool(a.finalize);
            w.raw(br#","metadata":"#);
            w.map(&a.metadata);
        }
        Action::Typing(a) => {
            w.raw(br#"{"op":"typing","chat_id":"#);
            w.str(&a.chat_id);
            w.raw(br#","metadata":"#);
            w.map(&a.metadata);
            if let Some(c) = &a.content {
                w.raw(br#","content":"#);
                w.str(c);
            }
        }
        Action::FollowUp(a) => {
            w.raw(br#"{"op":"follow_up","session_key":"#);
            w.str(&a.session_key);
            w.raw(br#","kind":"#);
            w.str(&a.kind);
            w.raw(br#","content":"#);
            w.str(&a.content);
            w.raw(br#","metadata":"#);
            w.map(&a.metadata);
        }
        Action::GetChatInfo(a) => {
            w.raw(br#"{"op":"get_chat_info","chat_id":"#);
            w.str(&a.chat_id);
        }
        Action::React(a) => {
            w.raw(br#"{"op":"react","chat_id":"#);
            w.str(&a.chat_id);
            w.raw(br#","message_id":"#);
            w.str(&a.message_id);
            w.raw(br#","emoji":"#);
            w.str(&a.emoji);
            w.raw(br#","remove":"#);
            w.bool(a.remove);
            w.raw(br#","metadata":"#);
            w.map(&a.metadata);
        }
        Action::SendMedia(a) => {
            w.raw(br#"{"op":"send_media","chat_id":"#);
            w.str(&a.chat_id);
            w.raw(br#","media_kind":"#);
            w.str(&a.media_kind);
            w.raw(br#","source_url":"#);
            w.str(&a.source_url);
            w.raw(br#","content":"#);
            w.str(&a.content);
            w.raw(br#","reply_to":"#);
            w.opt_str(a.reply_to.as_deref());
            w.raw(br#","metadata":"#);
            w.map(&a.metadata);
            if let Some(f) = &a.filename {
                w.raw(br#","filename":"#);
                w.str(f);
            }
        }
        other => return w.serde(other),
    }
    w.raw(b"}");
}
