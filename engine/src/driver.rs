//! The spawned driver task of a [`RelayClient`](super::RelayClient): it
//! polls the shared connection whenever no application task awaits it
//! (keepalive, reconnects, events read ahead), until the connection is
//! terminal.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::shared::{Poller, Shared};

/// The driver task's state.
pub(crate) struct Driver {
    shared: Arc<Shared>,
}

impl Driver {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Driver { shared }
    }

    fn turn(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.shared.router.set_driver(cx.waker());
        let mut core = self.shared.lock();
        self.shared.poll_connection(&mut core, Poller::Other);
        if core.stopped {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Runs until the connection is terminal (shut down or revoked). The task
/// is the driver itself: nothing else is laid out in it.
impl Future for Driver {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let done = this.turn(cx);
        if done.is_ready() {
            log::debug!(
                "relay driver stopped in state {}",
                this.shared.lock().engine.conn.state()
            );
        }
        done
    }
}

impl Drop for Driver {
    /// Run to the end or dropped with its runtime: either way the
    /// connection has stopped, and every call says so.
    fn drop(&mut self) {
        self.shared.lock().stop();
    }
}
