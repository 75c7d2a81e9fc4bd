//! A transport that gives up on a peer that stops reading: a write (or
//! flush) that makes no progress for the stall limit fails with
//! `TimedOut`, and the socket over it ends like any failed socket.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};

use super::{BoxFuture, Runtime};

/// Wraps a transport; writes that stay blocked for `limit` fail.
pub(crate) struct StallGuard<S> {
    inner: S,
    rt: Arc<dyn Runtime>,
    limit: Duration,
    /// When the current run of blocked writes began, and its alarm.
    stalled: Option<(Instant, BoxFuture<()>)>,
}

impl<S> StallGuard<S> {
    /// Guards `inner`; a zero `limit` turns the guard off.
    pub(crate) fn new(inner: S, rt: Arc<dyn Runtime>, limit: Duration) -> Self {
        StallGuard {
            inner,
            rt,
            limit,
            stalled: None,
        }
    }

    /// Bookkeeping after a write-side poll: progress clears the stall; a
    /// blocked poll starts (or checks) the alarm.
    fn check<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() || self.limit.is_zero() {
            self.stalled = None;
            return poll;
        }
        let (since, alarm) = self.stalled.get_or_insert_with(|| {
            let now = Instant::now();
            (now, self.rt.sleep_until(now + self.limit))
        });
        if alarm.as_mut().poll(cx).is_ready() {
            let waited = since.elapsed();
            self.stalled = None;
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the peer read nothing for {:.1} s while writes were waiting; treating it as gone",
                    waited.as_secs_f64()
                ),
            )));
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for StallGuard<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for StallGuard<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.check(cx, poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.check(cx, poll)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_close(cx);
        self.check(cx, poll)
    }
}
