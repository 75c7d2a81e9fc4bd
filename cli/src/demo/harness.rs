//! The tour's harness: a dev connector and a gateway client in one
//! process, and bounded waits on what the client reports, with every frame
//! and event printed on the way.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use relay_connector::server::{ConnectorServer, DevServerStats};
use relay_core::config::{RelayConfig, Timeouts};
use relay_core::connection::Stats;
use relay_core::{Event, State};
use relay_engine::{ClientOptions, Events, RelayHandle};
use relay_tokio::RelayClient;
use relay_tokio::wake::WakeListener;

use super::render::Timeline;

/// The demo gateway's id.
pub(super) const GATEWAY: &str = "demo-gateway";
/// The demo gateway's secret (never printed).
const SECRET: &str = "demo-secret";
/// Longest any single expectation may take.
pub(super) const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the connector's frame log is read while waiting.
pub(super) const LOG_POLL: Duration = Duration::from_millis(20);

/// A step's failure: what went wrong, for the `FAIL` line.
pub(super) type StepResult<T = ()> = Result<T, String>;

/// The failure of a call to a dev connector that stopped under the tour.
pub(super) fn stopped<E: Display>(e: E) -> String {
    format!("{e}; this is a bug in the demo, please report it")
}

/// Waits (within [`STEP_TIMEOUT`]) for the client to take `command`;
/// `what` names it in the failure.
pub(super) async fn taken<E: Display>(
    what: &str,
    command: impl Future<Output = Result<(), E>>,
) -> StepResult {
    match tokio::time::timeout(STEP_TIMEOUT, command).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("{what} was refused: {e}")),
        Err(_) => Err(format!(
            "the client did not take {what} within {} s",
            STEP_TIMEOUT.as_secs()
        )),
    }
}

/// Waits (within [`STEP_TIMEOUT`]) for the result of `send`; `what` names
/// it in the failure.
pub(super) async fn answered<T, E: Display>(
    what: &str,
    send: impl Future<Output = Result<T, E>>,
) -> StepResult<T> {
    match tokio::time::timeout(STEP_TIMEOUT, send).await {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(e)) => Err(format!("{what} failed: {e}")),
        Err(_) => Err(format!(
            "no result for {what} within {} s",
            STEP_TIMEOUT.as_secs()
        )),
    }
}

/// The running tour: the server, the client and the timeline.
pub(super) struct Tour {
    pub(super) out: Timeline,
    pub(super) server: ConnectorServer,
    pub(super) handle: RelayHandle,
    events: Events,
    /// The wake listener, once the idle step has bound it.
    pub(super) wake: Option<WakeListener>,
    /// Times the client came back to serving after the handshake.
    pub(super) reconnects: u64,
    /// The client's counters, read just before the revocation.
    pub(super) client_stats: Option<Stats>,
}

/// The gateway's configuration: two platforms and short timers so the tour
/// takes seconds.
fn gateway_config(
    server: &ConnectorServer,
) -> Result<RelayConfig, relay_core::config::ConfigError> {
    RelayConfig::builder(server.url())
        .gateway_id(GATEWAY)
        .secret(SECRET)
        .identity("telegram", "telegram-bot")
        .identity("discord", "discord-bot")
        .timeouts(Timeouts {
            handshake: Duration::from_secs(3),
            request: Duration::from_secs(3),
            idle_ack: Duration::from_secs(2),
            backoff_initial: Duration::from_millis(150),
            backoff_max: Duration::from_millis(600),
            ..Timeouts::default()
        })
        .build()
}

impl Tour {
    /// Starts the dev connector and the gateway client; when either cannot
    /// start, says why on the timeline and hands it back.
    pub(super) async fn start(mut out: Timeline) -> Result<Tour, Timeline> {
        let server = match ConnectorServer::builder()
            .gateway(GATEWAY, &[SECRET])
            .start()
            .await
        {
            Ok(server) => server,
            Err(e) => {
                out.fail(&format!(
                    "could not start the dev connector on 127.0.0.1: {e}; check that loopback networking is available"
                ));
                return Err(out);
            }
        };
        out.note(&format!("dev connector listening on {}", server.url()));
        let config = match gateway_config(&server) {
            Ok(config) => config,
            Err(e) => {
                out.fail(&format!("the demo configuration is invalid: {e}"));
                return Err(out);
            }
        };
        let options = ClientOptions {
            dial_timeout: Duration::from_secs(3),
            ..ClientOptions::default()
        };
        let (handle, events) = RelayClient::start_with(config, options);
        Ok(Tour {
            out,
            server,
            handle,
            events,
            wake: None,
            reconnects: 0,
            client_stats: None,
        })
    }

    /// Stops the client, the wake listener and the connector.
    pub(super) async fn stop(mut self) {
        self.handle.shutdown().await;
        if let Some(wake) = self.wake.take() {
            wake.shutdown().await;
        }
        self.server.shutdown().await;
    }

    /// Prints the connector's frames logged since the last call.
    pub(super) async fn flush_log(&mut self) {
        // The ring keeps 4096 entries; the tour logs far fewer between two
        // reads, so nothing falls off unseen.
        let fresh = self.server.with_model(|c, _| c.log_mut().take()).await;
        let Ok(entries) = fresh else {
            return;
        };
        for entry in entries {
            self.out.frame(&entry);
        }
    }

    fn print_event(&mut self, event: &Event) {
        if let Event::StateChanged { to, .. } = event
            && *to == State::Serving
            && self.out.step != "handshake"
        {
            self.reconnects += 1;
        }
        self.out.event(event);
    }

    /// The next client event within `timeout` (frames logged meanwhile are
    /// printed first). `Ok(None)` when the stream ended.
    pub(super) async fn next_event(
        &mut self,
        deadline: tokio::time::Instant,
    ) -> StepResult<Option<Event>> {
        loop {
            let poll = tokio::time::sleep(LOG_POLL);
            tokio::select! {
                event = self.events.next_event() => {
                    self.flush_log().await;
                    if let Some(event) = &event {
                        self.print_event(event);
                    }
                    return Ok(event);
                }
                _ = poll => {
                    self.flush_log().await;
                    if tokio::time::Instant::now() >= deadline {
                        return Err("timed out".to_owned());
                    }
                }
            }
        }
    }

    /// Waits for the first event matching `pred`, printing everything seen.
    pub(super) async fn expect(
        &mut self,
        what: &str,
        mut pred: impl FnMut(&Event) -> bool,
    ) -> StepResult<Event> {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            match self.next_event(deadline).await {
                Ok(Some(event)) if pred(&event) => return Ok(event),
                Ok(Some(_)) => {}
                Ok(None) => return Err(format!("the client stopped while waiting for {what}")),
                Err(_) => {
                    return Err(format!("no {what} within {} s", STEP_TIMEOUT.as_secs()));
                }
            }
        }
    }

    /// Waits for the next event of `expected`'s kind, which must be
    /// `expected`.
    pub(super) async fn expect_exactly(&mut self, what: &str, expected: &Event) -> StepResult {
        let kind = std::mem::discriminant(expected);
        let got = self
            .expect(what, |e| std::mem::discriminant(e) == kind)
            .await?;
        if got != *expected {
            return Err(format!("got {got:?}, expected {expected:?}"));
        }
        Ok(())
    }

    pub(super) async fn expect_state(&mut self, state: State) -> StepResult {
        self.expect(
            &format!("state {state}"),
            |e| matches!(e, Event::StateChanged { to, .. } if *to == state),
        )
        .await?;
        Ok(())
    }

    /// Prints events and frames for `millis` while nothing is expected.
    pub(super) async fn settle(&mut self, millis: u64) -> StepResult<Vec<Event>> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(millis);
        let mut seen = Vec::new();
        loop {
            match self.next_event(deadline).await {
                Ok(Some(event)) => seen.push(event),
                Ok(None) | Err(_) => return Ok(seen),
            }
        }
    }

    pub(super) async fn stats(&self) -> StepResult<DevServerStats> {
        self.server.stats().await.map_err(stopped)
    }

    /// The closing table.
    pub(super) async fn summary(&mut self) {
        let Ok(stats) = self.server.stats().await else {
            return;
        };
        let client = self.client_stats.unwrap_or_default();
        let m = &stats.model;
        let reconnects = m.upgrades_accepted.saturating_sub(1);
        let n = Some;
        let rows: Vec<(&str, Option<u64>, Option<u64>)> = vec![
            (
                "frames gateway → connector",
                n(m.frames_in),
                n(client.frames_out),
            ),
            (
                "frames connector → gateway",
                n(m.frames_out),
                n(client.frames_in),
            ),
            (
                "requests (outbound)",
                n(m.outbound_requests),
                n(client.requests_sent),
            ),
            ("results", n(m.outbound_results), None),
            ("buffered acks", n(m.acked), n(client.acks_sent)),
            (
                "duplicate deliveries",
                n(m.redelivered),
                n(client.duplicate_deliveries),
            ),
            ("dials", n(stats.upgrades_attempted), n(client.dials)),
            ("sessions (upgrades accepted)", n(m.upgrades_accepted), None),
            ("wake pokes", n(stats.wake_pokes_sent), None),
            ("4401 closes", n(m.closes_4401), None),
            ("reconnects", n(reconnects), n(self.reconnects)),
        ];
        self.out.summary(&rows, reconnects);
    }
}
