//! The accept loop: every connection is served by hyper on its own task,
//! within the connection cap and the header-read timeout.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::limits;
use super::routes::{self, Ctx};

/// The accept loop's bounds.
#[derive(Clone, Copy, Debug)]
pub(super) struct AcceptLimits {
    pub(super) max_connections: usize,
    pub(super) header_read_timeout: Duration,
}

/// Accepts connections until told to stop; each is served by hyper (with
/// upgrades) on its own task, within the connection cap and the header-read
/// timeout.
pub(super) async fn accept_loop(
    listener: TcpListener,
    ctx: Arc<Ctx>,
    limits: AcceptLimits,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = limits::Connections::new(limits.max_connections);
    let mut accept_errors = limits::Throttled::new(Duration::from_secs(10));
    let mut refusals = limits::Throttled::new(Duration::from_secs(10));
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.changed() => break,
        };
        let (stream, _peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors and the like: back off briefly, and say
                // so at most once per interval.
                accept_errors.warn("accept failed", &e);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some((slot, open)) = connections.admit() else {
            refusals.warn(
                "connection cap reached and every connection is busy; closing new ones",
                &limits.max_connections,
            );
            drop(stream);
            continue;
        };
        // Frames are small and latency matters more than packet count
        // (without this, Nagle and delayed ACKs hold back a second frame).
        let _ = stream.set_nodelay(true);
        let ctx = Arc::clone(&ctx);
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let _open = open;
            let seen = Arc::clone(&slot);
            let service = service_fn(move |req| {
                seen.started();
                routes::handle(req, Arc::clone(&ctx))
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::select! {
                r = conn => if let Err(e) = r {
                    tracing::debug!(error = %e, "http connection ended with an error");
                },
                () = slot.evicted() => {
                    tracing::debug!("closing an idle connection to make room");
                }
                _ = stop.changed() => {}
            }
        });
    }
}
