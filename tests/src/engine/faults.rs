//! The engine world's faults, injected by tasks of their own during the
//! fault window: resets, half-open links, partitions, sockets that stop
//! reading, closes with codes, restarts, skew and revocations.

use std::sync::Arc;

use relay_core::rng::Rng;

use super::connector::ConnectorSide;
use super::executor::Exec;
use super::monitor::Monitor;
use super::net::Net;
use super::runtime::Skews;

pub(crate) struct FaultCtx {
    pub rng: Rng,
    pub exec: Arc<Exec>,
    pub net: Arc<Net>,
    pub side: Arc<ConnectorSide>,
    pub monitor: Arc<Monitor>,
    pub skews: Skews,
    pub clients: usize,
    pub window: u64,
}

#[derive(Clone, Copy)]
pub(crate) enum FaultKind {
    Reset,
    HalfOpen,
    Partition,
    StopReading,
    Close,
    Restart,
    Skew(u64),
}

/// Injects `kind` about every `mean` ms during the fault window.
pub(crate) async fn faults(mut f: FaultCtx, mean: u64, kind: FaultKind) {
    loop {
        let at = f.exec.now() + f.rng.range_inclusive(1, 2 * mean);
        f.exec.sleep_until(at).await;
        let now = f.exec.now();
        if f.monitor.healing() || now >= f.window {
            return;
        }
        let pick = |rng: &mut Rng, n: usize| rng.range_inclusive(0, n as u64 - 1) as usize;
        let line = match kind {
            FaultKind::Reset => {
                let open = f.net.open_conns();
                if open.is_empty() {
                    continue;
                }
                let (conn, client) = open[pick(&mut f.rng, open.len())];
                f.net.reset(conn);
                format!("reset c{client} conn{conn}")
            }
            FaultKind::HalfOpen => {
                let sessions = f.side.sessions();
                if sessions.is_empty() {
                    continue;
                }
                let (_, client, conn) = sessions[pick(&mut f.rng, sessions.len())];
                if !f.side.vanish(conn) {
                    continue;
                }
                format!("half-open c{client} conn{conn}")
            }
            FaultKind::Partition => {
                let client = pick(&mut f.rng, f.clients);
                let until = (now + f.rng.range_inclusive(1_000, 20_000)).min(f.window);
                f.net.partition(client, until);
                format!("partition c{client} until {until}")
            }
            FaultKind::StopReading => {
                let sessions = f.side.sessions();
                if sessions.is_empty() {
                    continue;
                }
                let (_, client, conn) = sessions[pick(&mut f.rng, sessions.len())];
                let until = now + f.rng.range_inclusive(1_000, 30_000);
                f.side.pause(conn, until);
                format!("connector stops reading c{client} conn{conn} until {until}")
            }
            FaultKind::Close => {
                let sessions = f.side.sessions();
                if sessions.is_empty() {
                    continue;
                }
                let (sid, client, conn) = sessions[pick(&mut f.rng, sessions.len())];
                let (code, reason) = match f.rng.range_inclusive(0, 9) {
                    0..=1 => (1000, "fault"),
                    2 => (1001, "going away"),
                    3..=4 => (1006, ""),
                    5 => (1011, "internal error"),
                    6 => (1014, "bad gateway"),
                    7 => (4401, "unauthorized"),
                    _ => (4401, "expired"),
                };
                f.side.close_session(sid, code, reason);
                format!("connector closes c{client} conn{conn} {sid} with {code} {reason}")
            }
            FaultKind::Restart => {
                f.side.with_model(|m, now| m.restart(now));
                "connector restart".to_owned()
            }
            FaultKind::Skew(max) => {
                let client = pick(&mut f.rng, f.clients);
                let skew = f.rng.range_inclusive(0, 2 * max) as i64 - max as i64;
                *f.skews[client].lock().unwrap_or_else(|e| e.into_inner()) = skew;
                format!("c{client} skew {skew}s")
            }
        };
        let mut m = f.monitor.lock();
        m.stats.faults += 1;
        m.trace(&format!("FAULT {line}"));
    }
}

/// Revokes a random gateway at `at`.
pub(crate) async fn revoke(mut f: FaultCtx, at: u64) {
    f.exec.sleep_until(at).await;
    if f.monitor.healing() {
        return;
    }
    let client = f.rng.range_inclusive(0, f.clients as u64 - 1) as usize;
    let id = format!("gw-{client}");
    f.side.with_model(|m, now| m.revoke(&id, now));
    let mut m = f.monitor.lock();
    m.stats.faults += 1;
    m.trace(&format!("FAULT revoke {id}"));
}
