//! The seeded applications of the engine world: each drives one client
//! through its public API (a spawned `RelayClient` or an `InlineClient`)
//! and reports what the API returned to the monitor.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_channel::mpsc;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, Stream, StreamExt};
use relay_core::config::IdleMode;
use relay_core::connection::DeliveryHandle;
use relay_core::rng::Rng;
use relay_core::wire::{Action, ActionResult};
use relay_core::{Event, State};
use relay_engine::{BoxFuture, ClientError, Events, InlineClient, RelayHandle};

use super::executor::{Exec, Sleep};
use super::monitor::{Monitor, REQUEST_TOLERANCE_MS, SHUTDOWN_BUDGET_MS};
use super::net::Net;

/// What one application does, drawn from the seed.
#[derive(Clone, Debug)]
pub(crate) struct AppPlan {
    /// The longest pause after each event (0: reads at once).
    pub consumer_delay_max: u64,
    /// Hands every message back for reuse.
    pub recycle: bool,
    /// The longest delay before acking a buffered delivery (0: at once).
    pub ack_delay_max: u64,
    /// Percent of deliveries acked twice.
    pub ack_dup_pct: u64,
    /// Calls `go_idle` (every mode) and `wake` at random.
    pub idle_wake: bool,
    /// Time between actions (ms).
    pub tick: (u64, u64),
    /// Most requests in flight at once (a spawned client).
    pub max_in_flight: usize,
    /// Sends bursts of interrupts (fire-and-forget frames).
    pub flood: bool,
    /// Shuts the client down at this instant.
    pub shutdown_at: Option<u64>,
    /// Drops the client at this instant.
    pub drop_at: Option<u64>,
    /// Sends requests as it shuts down.
    pub closing_sends: bool,
    /// Shuts down as a buffered item arrives (often in the middle of a
    /// drain).
    pub shutdown_mid_drain: bool,
    /// The client's request timeout (ms).
    pub request_timeout: u64,
    /// The client's write queue bound.
    pub write_queue: usize,
    pub seed: u64,
}

/// What an application works with.
pub(crate) struct AppCtx {
    pub client: usize,
    pub exec: Arc<Exec>,
    pub monitor: Arc<Monitor>,
    pub net: Arc<Net>,
    pub plan: AppPlan,
    pub pokes: mpsc::UnboundedReceiver<()>,
}

impl AppCtx {
    fn now(&self) -> u64 {
        self.exec.now()
    }

    fn trace(&self, line: String) {
        self.monitor.trace(format!("c{} {line}", self.client));
    }

    fn teardown(&self) -> bool {
        self.monitor.lock().teardown
    }

    fn healing(&self) -> bool {
        self.monitor.healing()
    }

    /// Records an event the application was handed.
    fn saw(&self, event: &Event) {
        let now = self.now();
        let mut m = self.monitor.lock();
        let c = self.client;
        match event {
            Event::Inbound { event, delivery } => {
                let id = delivery.as_ref().map(|d| d.buffer_id().as_str().to_owned());
                m.handed(c, &event.text, id.as_deref());
            }
            Event::Passthrough { forward, delivery } => {
                let id = delivery.as_ref().map(|d| d.buffer_id().as_str().to_owned());
                if forward.body != forward.path.as_bytes() {
                    m.fail(
                        "inbound-item-integrity",
                        format!(
                            "c{c} passthrough {} arrived with another body",
                            forward.path
                        ),
                    );
                }
                m.handed(c, &forward.path, id.as_deref());
            }
            Event::StateChanged { from, to } => {
                m.trace(&format!("c{c} state {from} -> {to}"));
                m.clients[c].state = Some(*to);
                if *to == State::Revoked {
                    let dials = self.net.dials(c).len();
                    m.clients[c].revoked.get_or_insert((now, dials));
                }
            }
            Event::Revoked => {
                let dials = self.net.dials(c).len();
                m.trace(&format!("c{c} revoked"));
                m.clients[c].revoked.get_or_insert((now, dials));
            }
            Event::Disconnected { code, reason } => {
                m.trace(&format!("c{c} disconnected {code:?} {reason}"));
            }
            Event::IdleRefused { reason } => m.trace(&format!("c{c} idle refused {reason:?}")),
            Event::DialScheduled { attempt, at } => {
                m.trace(&format!("c{c} dial {attempt} at {}", at.as_millis()));
            }
            Event::FrameRejected { error } => m.trace(&format!("c{c} frame rejected: {error}")),
            _ => {}
        }
    }

    /// Checks a reading of the client's write queue.
    fn pending_writes(&self, n: usize) {
        let mut m = self.monitor.lock();
        let c = self.client;
        let log = &mut m.clients[c];
        log.max_pending_writes = log.max_pending_writes.max(n);
        if n > self.plan.write_queue {
            m.fail(
                "write-queue-bound",
                format!(
                    "c{c} has {n} messages queued for its socket, over its bound of {} (docs/limits.md: `ClientOptions::write_queue`)",
                    self.plan.write_queue
                ),
            );
        }
    }

    fn start_request(&self, n: &mut u64) -> (String, Action) {
        *n += 1;
        let key = format!("r{}-{}", self.client, n);
        let deadline = self.now() + self.plan.request_timeout + REQUEST_TOLERANCE_MS;
        self.monitor
            .lock()
            .request_started(self.client, &key, deadline);
        let action = Action::send(format!("chan-{}", self.client), key.clone());
        (key, action)
    }

    fn shutdown_started(&self) {
        let now = self.now();
        let mut m = self.monitor.lock();
        m.trace(&format!("c{} shutdown", self.client));
        m.clients[self.client].shutdown_at = Some(now);
        m.stats.shut_down += 1;
    }

    fn shutdown_done(&self, started: u64) {
        let took = self.now() - started;
        self.trace(format!("shutdown returned after {took} ms"));
        let budget = self.monitor.lock().clients[self.client].drain_ms + SHUTDOWN_BUDGET_MS;
        if took > budget {
            self.monitor.fail(
                "shutdown-within-budget",
                format!(
                    "c{} shutdown took {took} ms (budget: its drain and {SHUTDOWN_BUDGET_MS} ms, {budget} ms)",
                    self.client
                ),
            );
        }
    }

    fn dropped(&self) {
        let now = self.now();
        let mut m = self.monitor.lock();
        m.trace(&format!("c{} dropped by its application", self.client));
        m.clients[self.client].dropped_at = Some(now);
        m.stats.dropped += 1;
    }

    /// The idle mode of a random `go_idle` (`None`: as configured).
    fn idle_mode(rng: &mut Rng) -> Option<IdleMode> {
        match rng.range_inclusive(0, 3) {
            0 => None,
            1 => Some(IdleMode::Keep),
            2 => Some(IdleMode::Close),
            _ => Some(IdleMode::Dormant),
        }
    }
}

/// What finished among a spawned application's calls.
enum Done {
    Request(String, Box<Result<ActionResult, ClientError>>),
    Call(&'static str, Result<(), ClientError>),
    Idle(Option<IdleMode>, Result<(), ClientError>),
    PendingWrites(Result<usize, ClientError>),
    Shutdown(u64),
}

/// A spawned client's application: one task that reads events and keeps
/// its calls (requests, acks, commands) in flight concurrently.
pub(crate) struct SpawnedApp {
    ctx: AppCtx,
    rng: Rng,
    handle: Option<RelayHandle>,
    events: Option<Events>,
    calls: FuturesUnordered<BoxFuture<Done>>,
    /// Requests in flight (to mark abandoned if the client is dropped).
    in_flight: BTreeMap<String, ()>,
    tick: Sleep,
    pause: Option<Sleep>,
    requests: u64,
    shutting_down: bool,
}

impl SpawnedApp {
    pub(crate) fn new(ctx: AppCtx, handle: RelayHandle, events: Events) -> Self {
        let mut rng = Rng::new(ctx.plan.seed);
        let first = ctx.now() + rng.range_inclusive(ctx.plan.tick.0, ctx.plan.tick.1);
        let tick = ctx.exec.sleep_until(first);
        SpawnedApp {
            ctx,
            rng,
            handle: Some(handle),
            events: Some(events),
            calls: FuturesUnordered::new(),
            in_flight: BTreeMap::new(),
            tick,
            pause: None,
            requests: 0,
            shutting_down: false,
        }
    }

    pub(crate) async fn run(mut self) {
        std::future::poll_fn(|cx| self.poll(cx)).await;
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.ctx.monitor.failed() {
                return Poll::Ready(());
            }
            let mut progress = false;
            while let Poll::Ready(Some(())) = Pin::new(&mut self.ctx.pokes).poll_next(cx) {
                progress = true;
                if let Some(h) = self.handle.clone() {
                    self.ctx.trace("wake poke".to_owned());
                    self.calls.push(Box::pin(async move {
                        Done::Call("wake (poke)", h.wake().await)
                    }));
                }
            }
            while let Poll::Ready(Some(done)) = self.calls.poll_next_unpin(cx) {
                progress = true;
                self.done(done);
            }
            if self.reading(cx)
                && let Some(events) = self.events.as_mut()
            {
                match Pin::new(events).poll_next(cx) {
                    Poll::Ready(Some(event)) => {
                        progress = true;
                        self.event(event);
                    }
                    Poll::Ready(None) => {
                        progress = true;
                        self.ctx.monitor.lock().clients[self.ctx.client].ended = true;
                        self.ctx.trace("event stream ended".to_owned());
                        self.events = None;
                    }
                    Poll::Pending => {}
                }
            }
            if Pin::new(&mut self.tick).poll(cx).is_ready() {
                progress = true;
                let gap = if self.ctx.healing() {
                    500
                } else {
                    self.rng
                        .range_inclusive(self.ctx.plan.tick.0, self.ctx.plan.tick.1)
                };
                self.tick = self.ctx.exec.sleep_until(self.ctx.now() + gap);
                if self.ctx.teardown() || self.act() {
                    self.drop_client();
                    return Poll::Ready(());
                }
            }
            if self.events.is_none() && self.calls.is_empty() {
                // The client stopped and every call returned.
                self.handle = None;
                return Poll::Ready(());
            }
            if !progress {
                return Poll::Pending;
            }
        }
    }

    /// Whether the application reads events now (a slow consumer pauses).
    fn reading(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some(p) = self.pause.as_mut()
            && Pin::new(p).poll(cx).is_pending()
        {
            return false;
        }
        self.pause = None;
        true
    }

    fn event(&mut self, event: Event) {
        self.ctx.saw(&event);
        let buffered = match event {
            Event::Inbound { event, delivery } => {
                if self.ctx.plan.recycle
                    && let Some(events) = self.events.as_mut()
                {
                    events.recycle(event);
                }
                delivery
            }
            Event::Passthrough { delivery, .. } => delivery,
            _ => None,
        };
        if let Some(delivery) = buffered {
            self.schedule_ack(delivery);
            if self.ctx.plan.shutdown_mid_drain
                && !self.shutting_down
                && !self.ctx.healing()
                && self.rng.chance(1, 4)
            {
                self.shutdown();
            }
        }
        // A slow consumer keeps up once the world heals.
        let max = self.ctx.plan.consumer_delay_max;
        if max > 0 && !self.ctx.healing() {
            let until = self.ctx.now() + self.rng.range_inclusive(0, max);
            self.pause = Some(self.ctx.exec.sleep_until(until));
        }
    }

    fn schedule_ack(&mut self, delivery: DeliveryHandle) {
        let Some(h) = self.handle.clone() else {
            return;
        };
        let max = if self.ctx.healing() {
            500
        } else {
            self.ctx.plan.ack_delay_max
        };
        let mut delays = vec![self.rng.range_inclusive(0, max)];
        if self.rng.chance(self.ctx.plan.ack_dup_pct, 100) {
            delays.push(delays[0] + self.rng.range_inclusive(0, 5_000));
        }
        for delay in delays {
            let sleep = self.ctx.exec.sleep_until(self.ctx.now() + delay);
            let (h, d) = (h.clone(), delivery.clone());
            let (monitor, client) = (self.ctx.monitor.clone(), self.ctx.client);
            self.calls.push(Box::pin(async move {
                sleep.await;
                let id = d.buffer_id().as_str().to_owned();
                {
                    let mut m = monitor.lock();
                    m.trace(&format!("c{client} app acks {id}"));
                    m.clients[client].acked.insert(id);
                }
                Done::Call("ack", h.ack(d).await)
            }));
        }
    }

    fn done(&mut self, done: Done) {
        match done {
            Done::Request(key, result) => {
                self.in_flight.remove(&key);
                self.ctx.monitor.lock().request_ended(&key, &result);
            }
            Done::Call(what, result) => {
                if let Err(e) = result {
                    self.ctx.trace(format!("{what} -> {e}"));
                }
            }
            Done::Idle(mode, result) => {
                let c = self.ctx.client;
                let mut m = self.ctx.monitor.lock();
                m.trace(&format!("c{c} go_idle({mode:?}) -> {result:?}"));
                if result.is_ok() {
                    m.clients[c].dormant = mode == Some(IdleMode::Dormant);
                }
            }
            Done::PendingWrites(Ok(n)) => self.ctx.pending_writes(n),
            Done::PendingWrites(Err(_)) => {}
            Done::Shutdown(started) => self.ctx.shutdown_done(started),
        }
    }

    fn send(&mut self) {
        let Some(h) = self.handle.clone() else {
            return;
        };
        let (key, action) = self.ctx.start_request(&mut self.requests);
        self.in_flight.insert(key.clone(), ());
        self.calls.push(Box::pin(async move {
            Done::Request(key, Box::new(h.send(action).await))
        }));
    }

    fn probe(&mut self) {
        if let Some(h) = self.handle.clone() {
            self.calls.push(Box::pin(async move {
                Done::PendingWrites(h.pending_writes().await)
            }));
        }
    }

    /// One action; `true` when the application drops its client.
    fn act(&mut self) -> bool {
        let now = self.ctx.now();
        let plan = self.ctx.plan.clone();
        let Some(h) = self.handle.clone() else {
            return false;
        };
        if self.shutting_down {
            return false;
        }
        if self.ctx.healing() {
            let (state, dormant) = {
                let m = self.ctx.monitor.lock();
                let log = &m.clients[self.ctx.client];
                (log.state, log.dormant)
            };
            if state == Some(State::Buffered) && !dormant {
                self.calls.push(Box::pin(async move {
                    Done::Call("wake (heal)", h.wake().await)
                }));
            }
            // Nothing else: a client left alone must make progress by
            // itself (a lost wake-up shows as a liveness failure).
            return false;
        }
        if plan.drop_at.is_some_and(|t| now >= t) {
            return true;
        }
        if plan.shutdown_at.is_some_and(|t| now >= t) {
            self.shutdown();
            return false;
        }
        let roll = self.rng.range_inclusive(0, 99);
        match roll {
            0..=39 => {
                let room = plan.max_in_flight.saturating_sub(self.in_flight.len());
                let n = if room > 1 && self.rng.chance(1, 4) {
                    self.rng.range_inclusive(1, room as u64) as usize
                } else {
                    room.min(1)
                };
                for _ in 0..n {
                    self.send();
                }
            }
            40..=49 if plan.flood => {
                let n = self.rng.range_inclusive(5, 60);
                for i in 0..n {
                    let h = h.clone();
                    let key = format!("s{}-{i}", self.ctx.client);
                    self.calls.push(Box::pin(async move {
                        Done::Call("interrupt", h.interrupt(key, None).await)
                    }));
                }
                self.probe();
            }
            50..=64 => self.probe(),
            65..=74 if plan.idle_wake => {
                let mode = AppCtx::idle_mode(&mut self.rng);
                self.calls.push(Box::pin(async move {
                    let r = match mode {
                        None => h.go_idle().await,
                        Some(m) => h.go_idle_with(m).await,
                    };
                    Done::Idle(mode, r)
                }));
            }
            75..=84 if plan.idle_wake => {
                self.calls
                    .push(Box::pin(async move { Done::Call("wake", h.wake().await) }));
            }
            _ => {}
        }
        false
    }

    /// Shuts the client down, with requests sent just before and after
    /// when the plan says so.
    fn shutdown(&mut self) {
        let Some(h) = self.handle.clone() else {
            return;
        };
        let now = self.ctx.now();
        self.shutting_down = true;
        let closing_sends = self.ctx.plan.closing_sends;
        if closing_sends {
            for _ in 0..self.rng.range_inclusive(1, 5) {
                self.send();
            }
        }
        self.ctx.shutdown_started();
        self.calls.push(Box::pin(async move {
            h.shutdown().await;
            Done::Shutdown(now)
        }));
        if closing_sends {
            for _ in 0..self.rng.range_inclusive(1, 3) {
                self.send();
            }
        }
    }

    fn drop_client(&mut self) {
        if self.handle.is_none() && self.events.is_none() {
            return;
        }
        let keys: Vec<String> = self.in_flight.keys().cloned().collect();
        {
            let mut m = self.ctx.monitor.lock();
            for key in &keys {
                m.request_abandoned(key);
            }
        }
        self.ctx.dropped();
        self.calls = FuturesUnordered::new();
        self.handle = None;
        self.events = None;
    }
}

/// What an inline application woke up for.
enum Woke {
    Event(Option<Event>),
    Timer,
    Poke,
}

/// An inline client's application: one task that waits for events and, at
/// its ticks, acts (a request is awaited to its end).
pub(crate) async fn inline_app(mut ctx: AppCtx, mut client: InlineClient) {
    let mut rng = Rng::new(ctx.plan.seed);
    let mut requests = 0;
    let mut next_tick = ctx.now() + rng.range_inclusive(ctx.plan.tick.0, ctx.plan.tick.1);
    // Acks due: (when, delivery).
    let mut acks: Vec<(u64, DeliveryHandle)> = Vec::new();
    loop {
        if ctx.monitor.failed() || ctx.teardown() {
            break;
        }
        let wake_at = acks.iter().map(|(t, _)| *t).fold(next_tick, u64::min);
        let woke = {
            let mut event = std::pin::pin!(client.next_event());
            let mut sleep = ctx.exec.sleep_until(wake_at);
            let mut poke = ctx.pokes.next();
            std::future::poll_fn(|cx| {
                if let Poll::Ready(e) = event.as_mut().poll(cx) {
                    return Poll::Ready(Woke::Event(e));
                }
                if let Poll::Ready(Some(())) = poke.poll_unpin(cx) {
                    return Poll::Ready(Woke::Poke);
                }
                if Pin::new(&mut sleep).poll(cx).is_ready() {
                    return Poll::Ready(Woke::Timer);
                }
                Poll::Pending
            })
            .await
        };
        match woke {
            Woke::Event(None) => {
                ctx.monitor.lock().clients[ctx.client].ended = true;
                ctx.trace("event stream ended".to_owned());
                break;
            }
            Woke::Event(Some(event)) => {
                ctx.saw(&event);
                let buffered = match event {
                    Event::Inbound { event, delivery } => {
                        if ctx.plan.recycle {
                            client.recycle(event);
                        }
                        delivery
                    }
                    Event::Passthrough { delivery, .. } => delivery,
                    _ => None,
                };
                if let Some(d) = buffered {
                    let max = if ctx.healing() {
                        500
                    } else {
                        ctx.plan.ack_delay_max
                    };
                    let at = ctx.now() + rng.range_inclusive(0, max);
                    if rng.chance(ctx.plan.ack_dup_pct, 100) {
                        acks.push((at + rng.range_inclusive(0, 5_000), d.clone()));
                    }
                    acks.push((at, d));
                    if ctx.plan.shutdown_mid_drain && !ctx.healing() && rng.chance(1, 4) {
                        // Shut down at once, in the middle of what arrives.
                        ctx.plan.shutdown_at = Some(ctx.now());
                        next_tick = ctx.now();
                    }
                }
                let max = ctx.plan.consumer_delay_max;
                if max > 0 && !ctx.healing() {
                    let until = ctx.now() + rng.range_inclusive(0, max);
                    ctx.exec.sleep_until(until).await;
                }
            }
            Woke::Poke => {
                let r = client.wake();
                ctx.trace(format!("wake poke -> {r:?}"));
            }
            Woke::Timer => {
                let now = ctx.now();
                let (due, later): (Vec<_>, Vec<_>) = acks.into_iter().partition(|(t, _)| *t <= now);
                acks = later;
                for (_, d) in due {
                    let id = d.buffer_id().as_str().to_owned();
                    {
                        let mut m = ctx.monitor.lock();
                        m.trace(&format!("c{} app acks {id}", ctx.client));
                        m.clients[ctx.client].acked.insert(id);
                    }
                    if let Err(e) = client.ack(d) {
                        ctx.trace(format!("ack -> {e}"));
                    }
                }
                ctx.pending_writes(client.pending_writes());
                if now >= next_tick {
                    let gap = if ctx.healing() {
                        500
                    } else {
                        rng.range_inclusive(ctx.plan.tick.0, ctx.plan.tick.1)
                    };
                    next_tick = now + gap;
                    match inline_act(&mut ctx, &mut client, &mut rng, &mut requests).await {
                        InlineNext::Go => {}
                        InlineNext::Drop => {
                            ctx.dropped();
                            drop(client);
                            return;
                        }
                        InlineNext::ShutDown => {
                            // Read what is left, then end.
                            while let Some(event) = client.next_event().await {
                                ctx.saw(&event);
                            }
                            ctx.monitor.lock().clients[ctx.client].ended = true;
                            break;
                        }
                    }
                }
            }
        }
    }
    drop(client);
}

enum InlineNext {
    Go,
    Drop,
    ShutDown,
}

async fn inline_act(
    ctx: &mut AppCtx,
    client: &mut InlineClient,
    rng: &mut Rng,
    requests: &mut u64,
) -> InlineNext {
    let now = ctx.now();
    let plan = ctx.plan.clone();
    if ctx.healing() {
        let (state, dormant) = {
            let m = ctx.monitor.lock();
            let log = &m.clients[ctx.client];
            (log.state, log.dormant)
        };
        if state == Some(State::Buffered) && !dormant {
            let r = client.wake();
            ctx.trace(format!("wake (heal) -> {r:?}"));
        }
        return InlineNext::Go;
    }
    if plan.drop_at.is_some_and(|t| now >= t) {
        return InlineNext::Drop;
    }
    if plan.shutdown_at.is_some_and(|t| now >= t) {
        ctx.shutdown_started();
        client.shutdown().await;
        ctx.shutdown_done(now);
        if plan.closing_sends {
            // A request after the shutdown must fail at once.
            let (key, action) = ctx.start_request(requests);
            let result = client.send(action).await;
            if result.is_ok() {
                ctx.monitor.fail(
                    "request-answered-once",
                    format!("c{} {key} succeeded after shutdown", ctx.client),
                );
            }
            ctx.monitor.lock().request_ended(&key, &result);
        }
        return InlineNext::ShutDown;
    }
    match rng.range_inclusive(0, 99) {
        0..=39 => {
            let (key, action) = ctx.start_request(requests);
            let result = client.send(action).await;
            ctx.monitor.lock().request_ended(&key, &result);
        }
        40..=49 if plan.flood => {
            for i in 0..rng.range_inclusive(5, 60) {
                let r = client.interrupt(format!("s{}-{i}", ctx.client), None);
                if r.is_err() {
                    break;
                }
                ctx.pending_writes(client.pending_writes());
            }
        }
        65..=74 if plan.idle_wake => {
            let mode = AppCtx::idle_mode(rng);
            let r = match mode {
                None => client.go_idle(),
                Some(m) => client.go_idle_with(m),
            };
            let c = ctx.client;
            let mut m = ctx.monitor.lock();
            m.trace(&format!("c{c} go_idle({mode:?}) -> {r:?}"));
            if r.is_ok() {
                m.clients[c].dormant = mode == Some(IdleMode::Dormant);
            }
        }
        75..=84 if plan.idle_wake => {
            let r = client.wake();
            ctx.trace(format!("wake -> {r:?}"));
        }
        _ => {}
    }
    ctx.pending_writes(client.pending_writes());
    InlineNext::Go
}
