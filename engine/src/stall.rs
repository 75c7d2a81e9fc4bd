//! A transport that gives up on a peer that stops reading: a write (or
//! flush) that makes no progress for the stall limit fails with
//! `TimedOut`, and the socket over it ends like any failed socket.
//!
//! Runtime-neutral: the alarm comes from a function the owner passes (the
//! engine's [`Runtime::sleep_until`](super::Runtime::sleep_until), or a
//! runtime's own timer), and the guard reads no clock, so the development
//! connector server guards its sockets with this same type and a simulated
//! runtime can run it on virtual time.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};

use super::runtime::BoxFuture;

/// Wraps a transport; writes (or flushes) that stay blocked for `limit`
/// fail with [`io::ErrorKind::TimedOut`], so that a peer that stops reading
/// is treated as gone. Reads pass through untouched.
///
/// `alarm(limit)` must return a future that completes `limit` from now; it
/// is called once per run of blocked writes (progress clears the run).
pub struct StallGuard<S, A> {
    inner: S,
    alarm: A,
    limit: Duration,
    /// The alarm of the current run of blocked writes.
    stalled: Option<BoxFuture<()>>,
}

impl<S, A> StallGuard<S, A>
where
    A: Fn(Duration) -> BoxFuture<()>,
{
    /// Guards `inner`; a zero `limit` turns the guard off.
    pub fn new(inner: S, limit: Duration, alarm: A) -> Self {
        StallGuard {
            inner,
            alarm,
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
        let alarm = self.stalled.get_or_insert_with(|| (self.alarm)(self.limit));
        if alarm.as_mut().poll(cx).is_ready() {
            self.stalled = None;
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the peer read nothing for {:.1} s while writes were waiting; treating it as gone",
                    self.limit.as_secs_f64()
                ),
            )));
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin, A: Unpin> AsyncRead for StallGuard<S, A> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S, A> AsyncWrite for StallGuard<S, A>
where
    S: AsyncWrite + Unpin,
    A: Fn(Duration) -> BoxFuture<()> + Unpin,
{
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;

    /// A transport whose writes block until `open` is set.
    struct Gate {
        open: Arc<AtomicBool>,
    }

    impl AsyncWrite for Gate {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            if self.open.load(Ordering::Relaxed) {
                Poll::Ready(Ok(buf.len()))
            } else {
                Poll::Pending
            }
        }

        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// An alarm that rings once `ring` is set, counting the alarms made.
    fn alarm(
        ring: &Arc<AtomicBool>,
        made: &Arc<AtomicUsize>,
    ) -> impl Fn(Duration) -> BoxFuture<()> + Unpin + use<> {
        let (ring, made) = (ring.clone(), made.clone());
        move |_| {
            made.fetch_add(1, Ordering::Relaxed);
            let ring = ring.clone();
            Box::pin(std::future::poll_fn(move |_| {
                if ring.load(Ordering::Relaxed) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }))
        }
    }

    fn write<S: AsyncWrite + Unpin>(s: &mut S) -> Poll<io::Result<usize>> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        Pin::new(s).poll_write(&mut cx, b"x")
    }

    #[test]
    fn a_write_blocked_until_the_alarm_fails_with_timed_out() {
        let (open, ring) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let made = Arc::new(AtomicUsize::new(0));
        let gate = Gate { open: open.clone() };
        let mut guard = StallGuard::new(gate, Duration::from_secs(10), alarm(&ring, &made));
        assert!(write(&mut guard).is_pending());
        assert!(write(&mut guard).is_pending());
        assert_eq!(made.load(Ordering::Relaxed), 1, "one alarm per stall");
        ring.store(true, Ordering::Relaxed);
        match write(&mut guard) {
            Poll::Ready(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::TimedOut),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn progress_clears_the_stall_and_a_zero_limit_never_fails() {
        let (open, ring) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let made = Arc::new(AtomicUsize::new(0));
        let gate = Gate { open: open.clone() };
        let mut guard = StallGuard::new(gate, Duration::from_secs(10), alarm(&ring, &made));
        assert!(write(&mut guard).is_pending());
        open.store(true, Ordering::Relaxed);
        assert!(matches!(write(&mut guard), Poll::Ready(Ok(1))));
        open.store(false, Ordering::Relaxed);
        assert!(write(&mut guard).is_pending());
        assert_eq!(made.load(Ordering::Relaxed), 2, "a new stall, a new alarm");

        let gate = Gate { open: open.clone() };
        ring.store(true, Ordering::Relaxed);
        let mut off = StallGuard::new(gate, Duration::ZERO, alarm(&ring, &made));
        assert!(write(&mut off).is_pending());
        assert!(write(&mut off).is_pending());
    }
}
