//! The output queue: what the driver is asked to do, in order, with every
//! frame sent logged and counted; once it is empty, the next deadline.

use relay_core::time::Instant;
use relay_core::wire::ConnectorFrame;

use super::connector::{Connector, bump};
use super::interface::{ConnectorOutput, SessionId};
use super::observe::{Direction, LogEntry};

impl Connector {
    /// The next thing to do; [`ConnectorOutput::Wait`] once drained.
    pub fn poll_output(&mut self) -> ConnectorOutput {
        if let Some(o) = self.outputs.pop_front() {
            return o;
        }
        let reply = self.pending_replies.keys().next().map(|k| k.0);
        let poke = self.instances.values().filter_map(|i| i.poke_due).min();
        ConnectorOutput::Wait(match (reply, poke) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Drains every output up to (not including) the `Wait`, and returns them
    /// with the `Wait` deadline (convenient for tests and simple drivers).
    pub fn drain_outputs(&mut self) -> (Vec<ConnectorOutput>, Option<Instant>) {
        let mut out = Vec::new();
        loop {
            match self.poll_output() {
                ConnectorOutput::Wait(deadline) => return (out, deadline),
                o => out.push(o),
            }
        }
    }

    /// Adds a frame to the log.
    pub(super) fn log_frame(
        &mut self,
        at: Instant,
        session: SessionId,
        direction: Direction,
        frame_type: &str,
        text: String,
        error: Option<String>,
    ) {
        self.log.push(LogEntry {
            at,
            session,
            direction,
            frame_type: frame_type.to_owned(),
            text,
            error,
        });
    }

    /// Queues `frame` for `session`, logged and counted.
    pub(super) fn transmit(&mut self, session: SessionId, frame: &ConnectorFrame, now: Instant) {
        let text = frame.to_line();
        bump(&mut self.stats.frames_out);
        self.log_frame(
            now,
            session,
            Direction::Out,
            frame.type_name(),
            text.clone(),
            None,
        );
        self.outputs
            .push_back(ConnectorOutput::Transmit { session, text });
    }
}
