//! `Buffered`: the connector buffers our inbound; no socket is open. `wake()`
//! or the dormant cadence dials again, and the connector drains after the
//! new handshake.

use super::{Dialing, Ordinary, RelayConnection};

/// Idle: the connector buffers for us.
#[derive(Debug)]
pub struct Buffered {
    _private: (),
}

impl Buffered {
    pub(crate) fn new() -> Self {
        Buffered { _private: () }
    }
}

impl RelayConnection<Buffered> {
    /// Dial now.
    pub fn wake(self) -> RelayConnection<Dialing<Ordinary>> {
        let d: RelayConnection<Dialing<Ordinary>> = self.into_state(Dialing::new());
        d.dial_now()
    }

    /// Whether the dormant re-dial is due.
    pub fn dormant_due(&mut self) -> bool {
        self.link.dial_due()
    }
}
