//! `Serving`: the descriptor arrived; frames flow both ways.

use super::link::CLOSE_ABNORMAL;
use super::revocation::{self, Verdict};
use super::{
    CommandError, Confirming, Dialing, GoingIdle, Ordinary, RelayConnection, Revoked, SendError,
    State,
};
use crate::config::IdleMode;
use crate::request_id::RequestId;
use crate::wire::Action;

/// Serving: requests, interrupts and deliveries flow.
#[derive(Debug)]
pub struct Serving {
    /// This connection is the confirming re-dial after a 4401: a 4401 on it
    /// revokes (see `revocation`).
    pub(crate) confirming: bool,
}

impl Serving {
    pub(crate) fn new() -> Self {
        Serving { confirming: false }
    }

    pub(crate) fn confirming() -> Self {
        Serving { confirming: true }
    }
}

/// Where a close of a serving connection leads (shared with `GoingIdle`).
#[derive(Debug)]
pub enum AfterServingClose {
    /// Retry on the backoff ladder.
    Dialing(RelayConnection<Dialing<Ordinary>>),
    /// A 4401: confirm at once with a fresh token.
    Confirming(RelayConnection<Dialing<Confirming>>),
    /// A 4401 under `RevocationPolicy::Immediate`.
    Revoked(RelayConnection<Revoked>),
}

impl RelayConnection<Serving> {
    /// Sends an action; its result arrives as an event.
    pub fn send(&mut self, action: Action) -> Result<RequestId, SendError> {
        self.link.send_request(action)
    }

    /// Sends a fire-and-forget interrupt.
    pub fn interrupt(&mut self, session_key: String, reason: Option<String>) {
        self.link.send_interrupt(session_key, reason);
    }

    /// Asks the connector to buffer for us; keeps serving until the ack,
    /// then does what `mode` says.
    pub fn go_idle(mut self, mode: IdleMode) -> RelayConnection<GoingIdle> {
        self.link.send_going_idle();
        let confirming = self.state.confirming;
        self.into_state(GoingIdle::new(confirming, mode))
    }

    /// The socket closed.
    pub fn on_closed(self, code: Option<u16>, reason: &str) -> AfterServingClose {
        let confirming = self.state.confirming;
        after_serving_close(self, code, reason, confirming)
    }

    /// Gives up on this socket (keepalive timeout, oversized frame).
    pub fn abandon(mut self, code: u16, reason: &str) -> RelayConnection<Dialing<Ordinary>> {
        self.link.lose_socket(Some(code), reason, true);
        self.link.schedule_backoff();
        self.into_state(Dialing::new())
    }

    /// A `going_idle_ack` arrived after its deadline (we already reported
    /// `IdleRefused` and kept serving). The connector has flipped us to
    /// buffered and will push nothing more on this socket, so close it and
    /// re-dial at once: the new handshake drains the buffer and clears the
    /// flip. Not a failure, so no backoff.
    pub fn on_late_idle_ack(mut self) -> RelayConnection<Dialing<Ordinary>> {
        self.link
            .lose_socket(Some(super::CLOSE_NORMAL), "late idle ack", true);
        let d: RelayConnection<Dialing<Ordinary>> = self.into_state(Dialing::new());
        d.dial_now()
    }

    /// The pong deadline passed: abort the transport.
    pub fn on_keepalive_timeout(self) -> RelayConnection<Dialing<Ordinary>> {
        self.abandon(CLOSE_ABNORMAL, "keepalive timeout")
    }
}

/// The close rules of a connection that reached its descriptor.
pub(crate) fn after_serving_close<S: super::TypedState>(
    mut conn: RelayConnection<S>,
    code: Option<u16>,
    reason: &str,
    confirming: bool,
) -> AfterServingClose {
    conn.link.lose_socket(code, reason, false);
    let policy = conn.link.config().revocation_policy;
    match revocation::judge_close_after_descriptor(code, reason, policy, confirming) {
        Verdict::Revoke => AfterServingClose::Revoked(conn.into_revoked()),
        Verdict::Confirm => {
            let d: RelayConnection<Dialing<Ordinary>> = conn.into_state(Dialing::new());
            AfterServingClose::Confirming(d.into_confirming().dial_now())
        }
        Verdict::Retry => {
            conn.link.schedule_backoff();
            AfterServingClose::Dialing(conn.into_state(Dialing::new()))
        }
    }
}

/// `go_idle` is only possible from `Serving`.
pub(crate) fn go_idle_refused(state: State) -> CommandError {
    CommandError::InvalidState {
        command: "go_idle",
        state,
    }
}
