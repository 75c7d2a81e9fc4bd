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
    as_text(out, |text| {
        write_outbound(text, request_id, action, platform, bot_id);
    });
}

/// [`encode_outbound`] into a new line of text.
pub(crate) fn outbound_line(
    request_id: &str,
    action: &Action,
    platform: Option<&str>,
    bot_id: Option<&str>,
    capacity: usize,
) -> String {
    let mut out = String::with_capacity(capacity);
    write_outbound(&mut out, request_id, action, platform, bot_id);
    out
}

/// Appends `frame` as one compact JSON line (with `\n`) to `out`.
pub fn encode_gateway_frame(frame: &GatewayFrame, out: &mut Vec<u8>) {
    as_text(out, |text| write_gateway_frame(text, frame));
}

/// Runs `write` on `out` as text: in place when `out` is empty (its room
/// kept), else into text of its own appended to `out` (what `out` already
/// holds is not looked at again).
fn as_text(out: &mut Vec<u8>, write: impl FnOnce(&mut String)) {
    if out.is_empty() {
        let mut text = String::from_utf8(std::mem::take(out)).unwrap_or_default();
        write(&mut text);
        *out = text.into_bytes();
    } else {
        let mut text = String::new();
        write(&mut text);
        out.extend_from_slice(text.as_bytes());
    }
}

impl GatewayFrame {
    /// The frame as one line of text, `\n` included.
    pub fn to_line(&self) -> String {
        let mut out = String::new();
        write_gateway_frame(&mut out, self);
        out
    }
}

/// [`encode_gateway_frame`] into a new line of text.
pub(crate) fn gateway_line(frame: &GatewayFrame, capacity: usize) -> String {
    let mut out = String::with_capacity(capacity);
    write_gateway_frame(&mut out, frame);
    out
}

/// Appends an `outbound` frame line (with `\n`) to `out`.
fn write_outbound(
    out: &mut String,
    request_id: &str,
    action: &Action,
    platform: Option<&str>,
    bot_id: Option<&str>,
) {
    let tags = platform.map_or(0, |p| p.len() + 14) + bot_id.map_or(0, |b| b.len() + 11);
    let hint = 40 + request_id.len() + action_hint(action) + tags;
    let mut w = JsonOut::new(out, hint);
    w.raw(r#"{"type":"outbound","requestId":"#);
    w.str(request_id);
    w.raw(r#","action":"#);
    write_action(&mut w, action);
    if let Some(p) = platform {
        w.raw(r#","platform":"#);
        w.str(p);
    }
    if let Some(b) = bot_id {
        w.raw(r#","botId":"#);
        w.str(b);
    }
    w.raw("}\n");
}

/// Appends `frame` as a line (with `\n`) to `out`.
fn write_gateway_frame(out: &mut String, frame: &GatewayFrame) {
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
            w.raw(r#"{"type":"hello","platform":"#);
            w.str(&h.platform);
            w.raw(r#","botId":"#);
            w.str(&h.bot_id);
            if let Some(manifest) = &h.command_manifest {
                w.raw(r#","command_manifest":"#);
                w.serde(manifest);
            }
            w.raw("}\n");
        }
        GatewayFrame::Interrupt {
            session_key,
            reason,
        } => {
            let hint = 64 + session_key.len() + reason.as_ref().map_or(0, String::len);
            let mut w = JsonOut::new(out, hint);
            w.raw(r#"{"type":"interrupt","session_key":"#);
            w.str(session_key);
            w.raw(r#","reason":"#);
            w.opt_str(reason.as_deref());
            w.raw("}\n");
        }
        GatewayFrame::GoingIdle => out.push_str("{\"type\":\"going_idle\"}\n"),
        GatewayFrame::InboundAck { buffer_id } => {
            let mut w = JsonOut::new(out, 40 + buffer_id.0.len());
            w.raw(r#"{"type":"inbound_ack","bufferId":"#);
            w.str(buffer_id.as_str());
            w.raw("}\n");
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
            w.raw(r#"{"op":"send","chat_id":"#);
            w.str(&a.chat_id);
            w.raw(r#","content":"#);
            w.str(&a.content);
            w.raw(r#","reply_to":"#);
            w.opt_str(a.reply_to.as_deref());
            w.raw(r#","metadata":"#);
            w.map(&a.metadata);
        }
        Action::Edit(a) => {
            w.raw(r#"{"op":"edit","chat_id":"#);
            w.str(&a.chat_id);
            w.raw(r#","message_id":"#);
            w.str(&a.message_id);
            w.raw(r#","content":"#);
            w.str(&a.content);
            w.raw(r#","finalize":"#);
            w.bool(a.finalize);
            w.raw(r#","metadata":"#);
            w.map(&a.metadata);
        }
        Action::Typing(a) => {
            w.raw(r#"{"op":"typing","chat_id":"#);
            w.str(&a.chat_id);
            w.raw(r#","metadata":"#);
            w.map(&a.metadata);
            if let Some(c) = &a.content {
                w.raw(r#","content":"#);
                w.str(c);
            }
        }
        Action::FollowUp(a) => {
            w.raw(r#"{"op":"follow_up","session_key":"#);
            w.str(&a.session_key);
            w.raw(r#","kind":"#);
            w.str(&a.kind);
            w.raw(r#","content":"#);
            w.str(&a.content);
            w.raw(r#","metadata":"#);
            w.map(&a.metadata);
        }
        Action::GetChatInfo(a) => {
            w.raw(r#"{"op":"get_chat_info","chat_id":"#);
            w.str(&a.chat_id);
        }
        Action::React(a) => {
            w.raw(r#"{"op":"react","chat_id":"#);
            w.str(&a.chat_id);
            w.raw(r#","message_id":"#);
            w.str(&a.message_id);
            w.raw(r#","emoji":"#);
            w.str(&a.emoji);
            w.raw(r#","remove":"#);
            w.bool(a.remove);
            w.raw(r#","metadata":"#);
            w.map(&a.metadata);
        }
        Action::SendMedia(a) => {
            w.raw(r#"{"op":"send_media","chat_id":"#);
            w.str(&a.chat_id);
            w.raw(r#","media_kind":"#);
            w.str(&a.media_kind);
            w.raw(r#","source_url":"#);
            w.str(&a.source_url);
            w.raw(r#","content":"#);
            w.str(&a.content);
            w.raw(r#","reply_to":"#);
            w.opt_str(a.reply_to.as_deref());
            w.raw(r#","metadata":"#);
            w.map(&a.metadata);
            if let Some(f) = &a.filename {
                w.raw(r#","filename":"#);
                w.str(f);
            }
        }
        other => return w.serde(other),
    }
    w.raw("}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::BufferId;

    #[test]
    fn frames_append_to_what_the_buffer_holds() {
        let ack = GatewayFrame::InboundAck {
            buffer_id: BufferId("b\u{1}é".into()),
        };
        let mut out = Vec::with_capacity(7);
        encode_gateway_frame(&ack, &mut out);
        assert_eq!(out, ack.to_line().as_bytes());
        // What the buffer held is kept as it was, UTF-8 or not.
        let mut out = vec![0xff, b'\n'];
        encode_gateway_frame(&GatewayFrame::GoingIdle, &mut out);
        encode_gateway_frame(&ack, &mut out);
        let mut want = vec![0xff, b'\n'];
        want.extend_from_slice(GatewayFrame::GoingIdle.to_line().as_bytes());
        want.extend_from_slice(ack.to_line().as_bytes());
        assert_eq!(out, want);
        assert_eq!(gateway_line(&ack, 0), ack.to_line());
    }
}
