//! What happens on 4401 — every rule in one place.
//!
//! A connector refuses or revokes a gateway's credential by accepting the
//! WebSocket and closing it with code **4401**, or (newer connectors) by
//! answering the upgrade with HTTP **410**. relay-rs reads those signals so:
//!
//! 1. **HTTP 410 at the upgrade** is explicit: the link becomes `Revoked` at
//!    once, whatever happened before.
//! 2. **Close reason `expired`** means our token was stale (clock skew), not
//!    that the credential is gone: ordinary backoff, never revocation.
//! 3. **4401 before this link ever received a descriptor** is a cold-start
//!    race (the gateway may not be provisioned yet): ordinary backoff.
//! 4. **4401 once a descriptor was ever received** is a *revocation signal*.
//!    With [`RevocationPolicy::ConfirmOnce`] (the default) the link re-dials
//!    once at once, with a freshly minted token, in the *confirming* phase
//!    (`Dialing<Confirming>` / `Handshaking<Confirming>`). With
//!    [`RevocationPolicy::Immediate`], a 4401 on a connection that itself
//!    reached `Serving` revokes without confirmation.
//! 5. **In the confirming phase**, a second 4401 (at the upgrade, before its
//!    descriptor, or after it) makes the link `Revoked`. Other failures before
//!    the descriptor (a dropped socket, a 5xx) keep the phase and retry on the
//!    backoff ladder. The confirming connection keeps its mark while it
//!    serves (`Serving::confirming`); it ends the suspicion only by ending
//!    without a 4401. So a connector that sends a descriptor and then 4401
//!    every time is revoked on the second round, never re-dialed hot forever.
//! 6. `Revoked` is terminal: every timer is cancelled, so no dial is ever
//!    emitted again.
//!
//! The typestate enforces the cold-start rule: an ordinary
//! `InState<Handshaking<Ordinary>>` has no transition to `Revoked`.

use crate::config::RevocationPolicy;

/// The close code connectors use for a refused or revoked credential.
pub const CLOSE_UNAUTHORIZED: u16 = 4401;

/// The HTTP status some connectors answer a revoked credential's upgrade with.
pub const HTTP_GONE: u16 = 410;

/// The close reason that marks an expired token rather than a revocation.
pub const REASON_EXPIRED: &str = "expired";

/// What a close or a refused upgrade means for the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Ordinary failure: wait on the backoff ladder and dial again.
    Retry,
    /// Possible revocation: re-dial at once with a fresh token to confirm.
    Confirm,
    /// The credential is revoked: terminal.
    Revoke,
}

/// Whether a close is a 4401 that may mean revocation (not a stale token).
fn is_revocation_close(code: Option<u16>, reason: &str) -> bool {
    code == Some(CLOSE_UNAUTHORIZED) && reason != REASON_EXPIRED
}

/// A close on a connection that had not received its descriptor.
/// `ever_served`: some earlier connection of this link did.
/// `confirming`: this connection is the confirming re-dial.
pub(crate) fn judge_close_before_descriptor(
    code: Option<u16>,
    reason: &str,
    ever_served: bool,
    confirming: bool,
) -> Verdict {
    match (is_revocation_close(code, reason), confirming, ever_served) {
        (false, _, _) => Verdict::Retry,
        (true, true, _) => Verdict::Revoke,
        (true, false, true) => Verdict::Confirm,
        (true, false, false) => Verdict::Retry,
    }
}

/// A close on a connection that reached `Serving`. `confirming`: this
/// connection is the confirming re-dial (its 4401 is the second one).
pub(crate) fn judge_close_after_descriptor(
    code: Option<u16>,
    reason: &str,
    policy: RevocationPolicy,
    confirming: bool,
) -> Verdict {
    if !is_revocation_close(code, reason) {
        return Verdict::Retry;
    }
    if confirming {
        return Verdict::Revoke;
    }
    match policy {
        RevocationPolicy::ConfirmOnce => Verdict::Confirm,
        RevocationPolicy::Immediate => Verdict::Revoke,
    }
}

/// A failed upgrade (no WebSocket was established).
pub(crate) fn judge_refused_upgrade(http_status: Option<u16>) -> Verdict {
    if http_status == Some(HTTP_GONE) {
        Verdict::Revoke
    } else {
        Verdict::Retry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cold_start_4401_is_retryable() {
        assert_eq!(
            judge_close_before_descriptor(Some(4401), "unauthorized", false, false),
            Verdict::Retry
        );
    }

    #[test]
    fn later_4401_before_descriptor_asks_for_confirmation() {
        assert_eq!(
            judge_close_before_descriptor(Some(4401), "unauthorized", true, false),
            Verdict::Confirm
        );
    }

    #[test]
    fn second_4401_revokes_wherever_it_lands() {
        assert_eq!(
            judge_close_before_descriptor(Some(4401), "unauthorized", true, true),
            Verdict::Revoke
        );
        assert_eq!(
            judge_close_before_descriptor(Some(4401), "", false, true),
            Verdict::Revoke
        );
    }

    #[test]
    fn expired_never_revokes() {
        for confirming in [false, true] {
            assert_eq!(
                judge_close_before_descriptor(Some(4401), "expired", true, confirming),
                Verdict::Retry
            );
        }
        assert_eq!(
            judge_close_after_descriptor(Some(4401), "expired", RevocationPolicy::Immediate, true),
            Verdict::Retry
        );
    }

    #[test]
    fn after_descriptor_follows_policy() {
        assert_eq!(
            judge_close_after_descriptor(
                Some(4401),
                "unauthorized",
                RevocationPolicy::ConfirmOnce,
                false
            ),
            Verdict::Confirm
        );
        assert_eq!(
            judge_close_after_descriptor(
                Some(4401),
                "unauthorized",
                RevocationPolicy::ConfirmOnce,
                true
            ),
            Verdict::Revoke
        );
        assert_eq!(
            judge_close_after_descriptor(
                Some(4401),
                "unauthorized",
                RevocationPolicy::Immediate,
                false
            ),
            Verdict::Revoke
        );
        for code in [None, Some(1000), Some(1006), Some(1011), Some(4400)] {
            assert_eq!(
                judge_close_after_descriptor(code, "", RevocationPolicy::Immediate, true),
                Verdict::Retry
            );
        }
    }

    #[test]
    fn only_410_revokes_at_the_upgrade() {
        assert_eq!(judge_refused_upgrade(Some(410)), Verdict::Revoke);
        for s in [None, Some(401), Some(403), Some(500), Some(503)] {
            assert_eq!(judge_refused_upgrade(s), Verdict::Retry);
        }
    }
}
