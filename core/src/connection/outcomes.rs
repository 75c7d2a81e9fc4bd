//! Where a close or a refused upgrade leads: each outcome lists only the
//! states its transition may reach. The close rules of a connection that
//! reached its descriptor are here too, shared by `Serving`, `GoingIdle` and
//! a `Buffered` connection that kept its socket.

use super::in_state::InState;
use super::revocation::{self, Verdict};
use super::states::{Confirming, Dialing, Ordinary, Revoked, Served, TypedState};

/// Where a refused upgrade leads.
#[derive(Debug)]
pub(crate) enum AfterRefusedUpgrade<P> {
    /// Retry on the backoff ladder.
    Dialing(InState<Dialing<P>>),
    /// HTTP 410: the credential is gone.
    Revoked(InState<Revoked>),
}

/// Where a close during an ordinary handshake leads: never to `Revoked`.
#[derive(Debug)]
pub(crate) enum AfterOrdinaryHandshakeClose {
    /// Retry on the backoff ladder.
    Dialing(InState<Dialing<Ordinary>>),
    /// A 4401 on a link that served before: confirm at once with a fresh token.
    Confirming(InState<Dialing<Confirming>>),
}

/// Where a close during the confirming handshake leads.
#[derive(Debug)]
pub(crate) enum AfterConfirmingHandshakeClose {
    /// Not a 4401: keep confirming, on the backoff ladder.
    Dialing(InState<Dialing<Confirming>>),
    /// A second 4401: revoked.
    Revoked(InState<Revoked>),
}

/// Where a close of a serving connection leads (shared with `GoingIdle`).
#[derive(Debug)]
pub(crate) enum AfterServingClose {
    /// Retry on the backoff ladder.
    Dialing(InState<Dialing<Ordinary>>),
    /// A 4401: confirm at once with a fresh token.
    Confirming(InState<Dialing<Confirming>>),
    /// A 4401 under `RevocationPolicy::Immediate`.
    Revoked(InState<Revoked>),
}

/// The close rules of a connection that reached its descriptor.
pub(super) fn after_serving_close<S: TypedState>(
    mut conn: InState<S>,
    code: Option<u16>,
    reason: &str,
    confirming: bool,
) -> AfterServingClose {
    conn.shared.lose_socket(code, reason, false);
    let policy = conn.shared.config().revocation_policy;
    match revocation::judge_close_after_descriptor(code, reason, policy, confirming) {
        Verdict::Revoke => AfterServingClose::Revoked(conn.into_revoked()),
        Verdict::Confirm => {
            let d: InState<Dialing<Ordinary>> = conn.into_state(Dialing::new());
            AfterServingClose::Confirming(d.into_confirming().dial_now())
        }
        Verdict::Retry => {
            conn.shared.schedule_backoff();
            AfterServingClose::Dialing(conn.into_state(Dialing::new()))
        }
    }
}

impl<S: Served> InState<S> {
    /// The socket closed (for `Buffered`, the kept one: reconnecting on the
    /// ladder drains the buffer).
    pub(super) fn on_closed(self, code: Option<u16>, reason: &str) -> AfterServingClose {
        let confirming = self.state.is_confirming();
        after_serving_close(self, code, reason, confirming)
    }

    /// Gives up on the socket (keepalive timeout, oversized frame) and
    /// retries on the backoff ladder.
    pub(super) fn abandon(mut self, code: u16, reason: &str) -> InState<Dialing<Ordinary>> {
        self.shared.lose_socket(Some(code), reason, true);
        self.shared.schedule_backoff();
        self.into_state(Dialing::new())
    }
}
