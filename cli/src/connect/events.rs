//! The stable JSON line of each event the agent sees on stdout.

use relay_core::Event;
use relay_core::connection::{DeliveryHandle, IdleRefusal};
use serde_json::{Value, json};

/// The stable JSON shape of an event, and its delivery handle.
pub(super) fn event_json(event: &Event) -> (Option<Value>, Option<DeliveryHandle>) {
    let line = match event {
        Event::StateChanged { from, to } => {
            json!({ "event": "state", "from": from.as_str(), "to": to.as_str() })
        }
        Event::DialScheduled { attempt, .. } => {
            json!({ "event": "dial_scheduled", "attempt": attempt })
        }
        Event::Disconnected { code, reason } => {
            json!({ "event": "disconnected", "code": code, "reason": reason })
        }
        Event::Descriptor(d) => json!({
            "event": "descriptor",
            "platform": d.platform,
            "descriptor": serde_json::to_value(d.as_ref()).unwrap_or(Value::Null),
        }),
        Event::Inbound { event, delivery } => {
            return delivered(
                "inbound",
                "message",
                serde_json::to_value(event.as_ref()),
                delivery,
            );
        }
        Event::Passthrough { forward, delivery } => {
            return delivered(
                "passthrough",
                "forward",
                serde_json::to_value(forward.as_ref()),
                delivery,
            );
        }
        Event::Interrupt {
            session_key,
            chat_id,
        } => json!({ "event": "interrupt", "session_key": session_key, "chat_id": chat_id }),
        Event::FrameRejected { error } => {
            json!({ "event": "frame_rejected", "error": error.to_string() })
        }
        Event::IdleRefused { reason } => {
            let reason = match reason {
                IdleRefusal::AckTimeout => "ack_timeout",
                IdleRefusal::ConnectionLost => "connection_lost",
            };
            json!({ "event": "idle_refused", "reason": reason })
        }
        Event::Revoked => json!({ "event": "revoked" }),
        Event::RedialHeld { .. } => json!({ "event": "redial_held" }),
        // Request results answer their action line instead.
        Event::Response { .. } | Event::RequestFailed { .. } => return (None, None),
        other => {
            tracing::debug!(?other, "event without a JSON shape");
            return (None, None);
        }
    };
    (Some(line), None)
}

/// The line of a delivered message or forward (its `bufferId` when
/// buffered, the payload under `key`), and its delivery handle.
fn delivered(
    event: &str,
    key: &str,
    payload: serde_json::Result<Value>,
    delivery: &Option<DeliveryHandle>,
) -> (Option<Value>, Option<DeliveryHandle>) {
    let buffer_id = delivery.as_ref().map(|d| d.buffer_id().as_str());
    let mut line = json!({ "event": event, "delivery": buffer_id });
    if let Some(line) = line.as_object_mut() {
        line.insert(key.to_owned(), payload.unwrap_or(Value::Null));
    }
    (Some(line), delivery.clone())
}
