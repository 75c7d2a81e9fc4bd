//! The queue from the driver task to one socket task: commands bounded in
//! count, and a cut signal that does not wait for room in the queue.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

/// Close code of a socket cut because its queue is full ("try again later").
pub(crate) const CLOSE_QUEUE_FULL: u16 = 1013;

/// What the driver task tells a socket task.
#[derive(Debug)]
pub(crate) enum SocketCmd {
    /// Send one text message.
    Text(String),
    /// Send a close frame with this code and reason, then end.
    Close(u16, String),
    /// Cut the link without a close frame.
    Drop,
}

/// The driver's end of one socket: a queue bounded in count, and a way to
/// cut the socket that does not wait for room in it.
#[derive(Debug)]
pub(crate) struct SocketTx {
    pub(crate) queue: mpsc::Sender<SocketCmd>,
    /// Notified once: the socket task closes with [`CLOSE_QUEUE_FULL`] and
    /// ends, whatever is still queued.
    pub(crate) cut: Arc<Notify>,
}

/// The socket task's end of [`SocketTx`].
#[derive(Debug)]
pub(crate) struct SocketRx {
    pub(crate) queue: mpsc::Receiver<SocketCmd>,
    pub(crate) cut: Arc<Notify>,
}

/// A socket's queue of `capacity` commands and its cut signal.
pub(crate) fn socket_channel(capacity: usize) -> (SocketTx, SocketRx) {
    let (queue, rx) = mpsc::channel(capacity);
    let cut = Arc::new(Notify::new());
    let tx = SocketTx {
        queue,
        cut: Arc::clone(&cut),
    };
    (tx, SocketRx { queue: rx, cut })
}

impl SocketTx {
    /// Queues `cmd`; when the queue is full, cuts the socket instead.
    /// False if the socket is gone or was cut.
    pub(crate) fn send_or_cut(&self, cmd: SocketCmd) -> bool {
        match self.queue.try_send(cmd) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.cut.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}
