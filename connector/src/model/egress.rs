//! What an egress decline is: the rule that declines a target, and the
//! result a declined request is answered with.

use relay_core::wire::ActionResult;

/// The `code` of a decline result.
pub const EGRESS_DECLINED: &str = "egress_declined";

/// A target the connector declines: every later `outbound` whose
/// `action.chat_id` is `chat_id` (narrowed to one platform and/or one
/// instance when set) is answered with a decline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclineRule {
    /// The chat to decline.
    pub chat_id: String,
    /// Only frames for this platform (the frame's tag, else the session's
    /// first hello).
    pub platform: Option<String>,
    /// Only frames from this instance.
    pub instance: Option<String>,
}

/// The decline result for a frame of `platform`.
pub fn decline_result(platform: &str) -> ActionResult {
    let mut result = ActionResult::failure(
        format!(
            "{platform} egress declined: target is not an approved destination for this connection"
        ),
        false,
    );
    result
        .extra
        .insert("code".to_owned(), EGRESS_DECLINED.into());
    result
}
