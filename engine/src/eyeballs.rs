//! Happy eyeballs: connecting to a host whose name resolves to several
//! addresses, IPv6 and IPv4 interleaved, each next attempt started a short
//! stagger after the one before (or at once when it fails), the first
//! connection that succeeds winning. A blackholed IPv6 route then costs the
//! stagger, not the whole connect timeout. Runtime-neutral: the runtime
//! supplies the connect and the timer (`relay_tokio`, `relay_smol`).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::{Either, select};
use futures_util::stream::FuturesUnordered;

/// The delay before the next address is tried while the previous attempts
/// are still pending (the reference's 250 ms).
pub const HAPPY_EYEBALLS_STAGGER: Duration = Duration::from_millis(250);

/// Most addresses of one name that are tried.
pub const MAX_ADDRESSES: usize = 16;

/// The addresses in the order they are tried: the families alternate,
/// starting with the family of the first address, each family in its own
/// order; at most [`MAX_ADDRESSES`].
pub fn attempt_order(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let first_v6 = addrs.first().is_some_and(SocketAddr::is_ipv6);
    let (mut same, mut other): (Vec<_>, Vec<_>) = (Vec::new(), Vec::new());
    for a in addrs {
        if a.is_ipv6() == first_v6 {
            same.push(*a);
        } else {
            other.push(*a);
        }
    }
    let mut out = Vec::with_capacity(addrs.len().min(MAX_ADDRESSES));
    let (mut a, mut b) = (same.into_iter(), other.into_iter());
    while out.len() < MAX_ADDRESSES {
        match (a.next(), b.next()) {
            (None, None) => break,
            (x, y) => out.extend(x.into_iter().chain(y).take(MAX_ADDRESSES - out.len())),
        }
    }
    out
}

/// Connects to the first of `addrs` that answers, racing them as described
/// in the [module docs](self): `connect` opens one, `sleep` waits the
/// stagger. Fails with the last attempt's error when every one failed.
pub async fn connect_racing<T, C, CF, S, SF>(
    addrs: &[SocketAddr],
    stagger: Duration,
    connect: C,
    sleep: S,
) -> io::Result<T>
where
    C: Fn(SocketAddr) -> CF,
    CF: Future<Output = io::Result<T>>,
    S: Fn(Duration) -> SF,
    SF: Future<Output = ()>,
{
    let mut pending = attempt_order(addrs).into_iter();
    let mut attempts = FuturesUnordered::new();
    let mut last_error = None;
    loop {
        if let Some(addr) = pending.next() {
            attempts.push(connect(addr));
        } else if attempts.is_empty() {
            return Err(last_error.unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "the name has no address")
            }));
        }
        // Wait for an attempt to end, or (while addresses are left) the
        // stagger, whichever comes first.
        let next = attempts.next();
        let outcome = if pending.len() > 0 {
            match select(pin!(next), pin!(sleep(stagger))).await {
                Either::Left((outcome, _)) => outcome,
                // The stagger passed: the next address is tried too.
                Either::Right(_) => continue,
            }
        } else {
            next.await
        };
        match outcome {
            Some(Ok(stream)) => return Ok(stream),
            // A failure starts the next attempt at once.
            Some(Err(e)) => last_error = Some(e),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::net::{Ipv4Addr, Ipv6Addr};

    use futures_util::FutureExt;
    use futures_util::future::{BoxFuture, pending, ready};

    use super::*;

    fn v4(n: u8) -> SocketAddr {
        SocketAddr::new(Ipv4Addr::new(10, 0, 0, n).into(), 80)
    }

    fn v6(n: u16) -> SocketAddr {
        SocketAddr::new(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, n).into(), 80)
    }

    #[test]
    fn families_alternate_from_the_first() {
        assert_eq!(
            attempt_order(&[v6(1), v6(2), v4(1), v4(2), v4(3)]),
            [v6(1), v4(1), v6(2), v4(2), v4(3)]
        );
        assert_eq!(attempt_order(&[v4(1), v6(1), v6(2)]), [v4(1), v6(1), v6(2)]);
        let many: Vec<SocketAddr> = (0..100).map(|n| v4(n as u8)).collect();
        assert_eq!(attempt_order(&many).len(), MAX_ADDRESSES);
        assert!(attempt_order(&[]).is_empty());
    }

    /// How each address behaves: `None` hangs (a blackholed route),
    /// `Some(true)` connects, `Some(false)` is refused at once.
    fn run(
        addrs: &[SocketAddr],
        behaviour: impl Fn(SocketAddr) -> Option<bool>,
        stagger_fires: bool,
    ) -> (Option<io::Result<SocketAddr>>, Vec<SocketAddr>) {
        let started = RefCell::new(Vec::new());
        let connect = |addr: SocketAddr| -> BoxFuture<'static, io::Result<SocketAddr>> {
            started.borrow_mut().push(addr);
            match behaviour(addr) {
                None => pending().boxed(),
                Some(true) => ready(Ok(addr)).boxed(),
                Some(false) => {
                    ready(Err(io::Error::from(io::ErrorKind::ConnectionRefused))).boxed()
                }
            }
        };
        let sleep = |_| -> BoxFuture<'static, ()> {
            if stagger_fires {
                ready(()).boxed()
            } else {
                pending().boxed()
            }
        };
        let out = connect_racing(addrs, HAPPY_EYEBALLS_STAGGER, connect, sleep).now_or_never();
        let started = started.into_inner();
        (out, started)
    }

    #[test]
    fn a_hanging_ipv6_attempt_costs_one_stagger() {
        let (out, started) = run(&[v6(1), v4(1)], |a| a.is_ipv4().then_some(true), true);
        assert_eq!(out.map(|r| r.ok()), Some(Some(v4(1))));
        assert_eq!(started, [v6(1), v4(1)]);
    }

    #[test]
    fn without_the_stagger_a_hanging_attempt_holds_the_next() {
        let (out, started) = run(&[v6(1), v4(1)], |a| a.is_ipv4().then_some(true), false);
        assert!(out.is_none(), "still waiting on the first attempt");
        assert_eq!(started, [v6(1)]);
    }

    #[test]
    fn a_refused_attempt_starts_the_next_at_once() {
        let (out, started) = run(&[v6(1), v4(1)], |a| Some(a.is_ipv4()), false);
        assert_eq!(out.map(|r| r.ok()), Some(Some(v4(1))));
        assert_eq!(started, [v6(1), v4(1)]);
    }

    #[test]
    fn every_attempt_failing_returns_the_last_error() {
        let (out, started) = run(&[v6(1), v4(1), v6(2)], |_| Some(false), false);
        let err = out.expect("done").expect_err("all refused");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(started, [v6(1), v4(1), v6(2)]);
        let (out, _) = run(&[], |_| Some(true), true);
        assert_eq!(
            out.expect("done").expect_err("no address").kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn the_first_success_wins_among_several_in_flight() {
        // Everything hangs but the third address.
        let (out, started) = run(
            &[v6(1), v4(1), v6(2), v4(2)],
            |a| (a == v6(2)).then_some(true),
            true,
        );
        assert_eq!(out.map(|r| r.ok()), Some(Some(v6(2))));
        assert_eq!(
            started,
            [v6(1), v4(1), v6(2)],
            "no attempt after the winner"
        );
    }
}
