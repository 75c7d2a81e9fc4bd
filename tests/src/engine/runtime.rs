//! The engine's `Runtime` on the simulated world: one per client, so that
//! its tasks, connects and clocks are told apart.

use std::io;
use std::sync::{Arc, Mutex, Weak};

use relay_core::rng::Rng;
use relay_core::{Instant, UnixTime};
use relay_engine::{BoxFuture, IoStream, Runtime};

use super::executor::{Exec, Owner};
use super::net::Net;
use crate::WALL_BASE;

/// The wall-clock skew of every client (seconds), shared with their
/// runtimes.
pub(crate) type Skews = Arc<Vec<Mutex<i64>>>;

/// The host and port every client dials.
pub(crate) const CONNECTOR_HOST: &str = "connector.test";
pub(crate) const CONNECTOR_PORT: u16 = 80;

pub(crate) struct ClientRt {
    exec: Arc<Exec>,
    net: Arc<Net>,
    client: usize,
    /// `unblock` runs its work at once (else as a task of its own).
    unblock_inline: bool,
    rng: Mutex<Rng>,
    /// Every client's wall-clock skew (seconds).
    skews: Skews,
}

/// A client's runtime: the world's executor, network and clocks.
#[derive(Clone)]
pub(crate) struct SimRuntime(Arc<ClientRt>);

impl SimRuntime {
    pub(crate) fn new(
        exec: Arc<Exec>,
        net: Arc<Net>,
        client: usize,
        seed: u64,
        unblock_inline: bool,
        skews: Skews,
    ) -> Self {
        SimRuntime(Arc::new(ClientRt {
            exec,
            net,
            client,
            unblock_inline,
            rng: Mutex::new(Rng::new(seed)),
            skews,
        }))
    }

    /// A handle that does not keep the runtime alive (the leak check).
    pub(crate) fn watch(&self) -> Weak<ClientRt> {
        Arc::downgrade(&self.0)
    }
}

impl Runtime for SimRuntime {
    #[track_caller]
    fn spawn(&self, task: BoxFuture<()>) {
        self.0.exec.spawn(Owner::Engine(self.0.client), task);
    }

    fn now(&self) -> Instant {
        Instant::from_millis(self.0.exec.now())
    }

    fn wall_clock(&self) -> UnixTime {
        let skew = *self.0.skews[self.0.client]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let secs = (WALL_BASE + self.0.exec.now() / 1000) as i64 + skew;
        UnixTime::from_secs(secs.max(0) as u64)
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        Box::pin(self.0.exec.sleep_until(deadline.as_millis()))
    }

    fn connect_tcp(&self, host: String, port: u16) -> BoxFuture<io::Result<Box<dyn IoStream>>> {
        if host != CONNECTOR_HOST || port != CONNECTOR_PORT {
            return Box::pin(async move {
                Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no such host in the simulation: {host}:{port}"),
                ))
            });
        }
        self.0.net.connect(self.0.client)
    }

    fn unblock(&self, work: Box<dyn FnOnce() + Send + 'static>) -> BoxFuture<()> {
        if self.0.unblock_inline {
            work();
            return Box::pin(async {});
        }
        let (tx, rx) = futures_channel::oneshot::channel();
        self.0.exec.spawn(
            Owner::Engine(self.0.client),
            Box::pin(async move {
                work();
                let _ = tx.send(());
            }),
        );
        Box::pin(async move {
            let _ = rx.await;
        })
    }

    fn seed(&self) -> u64 {
        self.0
            .rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_u64()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::engine::executor::Step;
    use crate::engine::monitor::Monitor;
    use crate::engine::net::NetFaults;

    fn runtime(inline: bool) -> (Arc<Exec>, SimRuntime) {
        let exec = Exec::new(0);
        let monitor = Arc::new(Monitor::new(1, false));
        let link = super::super::net::Link {
            latency: 10,
            jitter: 0,
            partition_until: 0,
        };
        let net = Net::new(exec.clone(), monitor, 0, NetFaults::default(), vec![link]);
        let skews = Arc::new(vec![Mutex::new(0)]);
        (
            exec.clone(),
            SimRuntime::new(exec, net, 0, 0, inline, skews),
        )
    }

    #[test]
    fn unblock_runs_inline_or_as_a_task() {
        for inline in [true, false] {
            let (exec, rt) = runtime(inline);
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            let done = rt.unblock(Box::new(move || r.store(true, Ordering::Relaxed)));
            assert_eq!(ran.load(Ordering::Relaxed), inline);
            exec.spawn(Owner::World, done);
            while !matches!(exec.step(u64::MAX), Step::Idle) {}
            assert!(ran.load(Ordering::Relaxed));
        }
    }

    #[test]
    fn clocks_are_virtual() {
        let (exec, rt) = runtime(true);
        assert_eq!(rt.now(), Instant::ZERO);
        assert_eq!(rt.wall_clock(), UnixTime::from_secs(WALL_BASE));
        exec.spawn(Owner::World, rt.sleep_until(Instant::from_millis(2_500)));
        while !matches!(exec.step(u64::MAX), Step::Idle) {}
        assert_eq!(rt.now(), Instant::from_millis(2_500));
        assert_eq!(rt.wall_clock(), UnixTime::from_secs(WALL_BASE + 2));
        assert_ne!(rt.seed(), rt.seed());
    }
}
