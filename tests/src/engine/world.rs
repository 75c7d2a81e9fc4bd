//! One engine world: the executor, the network, the connector, the clients
//! and their applications, the faults; and the run from the first step to
//! convergence and teardown, with the checks made as time moves.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_channel::mpsc;
use relay_connector::{Connector, ConnectorConfig, RejectMode};
use relay_core::config::{RelayConfig, Timeouts};
use relay_core::rng::Rng;
use relay_engine::{ClientOptions, RelayClient};

use super::apps::{AppCtx, AppPlan, SpawnedApp, inline_app};
use super::config::EngineConfig;
use super::connector::ConnectorSide;
use super::executor::{Exec, Owner, Step};
use super::faults::{FaultCtx, FaultKind, faults, revoke};
use super::monitor::{Fail, Monitor};
use super::net::{Link, Net, NetFaults};
use super::report::EngineReport;
use super::runtime::{ClientRt, SimRuntime, Skews};
use super::swarm::EngineSwarm;
use super::traffic::{SimResponder, deliveries};
use crate::Violation;

/// How long after its application let go a client's tasks, sockets and
/// runtime must be gone (the background close has a 2 s grace).
pub(crate) const LEAK_GRACE_MS: u64 = 3_000;

/// Most polls of one task owner in one virtual millisecond: a task that
/// wakes itself without end never lets time move. (A busy run of the
/// engine needs a few dozen.)
pub(crate) const MAX_POLLS_PER_INSTANT: u64 = 500;

/// Most polls of one client's engine tasks in one virtual second. (Sweeps
/// see at most about 140; a timer that fires every millisecond would take
/// 1,000.)
pub(crate) const MAX_POLLS_PER_SECOND: u64 = 1_000;

/// How long the teardown may take after convergence (ms): an inline
/// application lets go of its client only once a request it awaits has
/// ended, at most the longest request timeout (20 s) later.
const TEARDOWN_MS: u64 = 30_000;

struct Client {
    instance: String,
    watch: Weak<ClientRt>,
    leak_checked: bool,
}

pub(crate) struct World {
    seed: u64,
    cfg: EngineConfig,
    swarm: EngineSwarm,
    exec: Arc<Exec>,
    net: Arc<Net>,
    side: Arc<ConnectorSide>,
    monitor: Arc<Monitor>,
    clients: Vec<Client>,
    skews: Skews,
    steps: u64,
}

impl World {
    pub(crate) fn new(seed: u64, cfg: EngineConfig) -> World {
        let mut rng = Rng::new(seed);
        let mut swarm = EngineSwarm::from_rng(&mut rng);
        for f in &cfg.faults_off {
            swarm.turn_off(*f);
        }
        let n = cfg.clients;
        let exec = Exec::new(rng.next_u64());
        let links = (0..n)
            .map(|_| {
                let latency = rng.range_inclusive(1, swarm.latency_max_ms);
                Link {
                    latency,
                    jitter: rng.range_inclusive(0, latency / 2),
                    partition_until: 0,
                }
            })
            .collect();
        let faults = NetFaults {
            split: swarm.split,
            refuse_pct: swarm.refuse_pct,
            blackhole_connect_pct: swarm.silent_connect_pct,
            window: if swarm.small_window {
                (1_024, 16 * 1_024)
            } else {
                (64 * 1_024, 256 * 1_024)
            },
        };
        let monitor = Arc::new(Monitor::new(n, cfg.print_trace));
        monitor.trace(format!("seed {seed} swarm: {swarm}"));
        let net = Net::new(exec.clone(), monitor.clone(), rng.next_u64(), faults, links);

        let mut ccfg = ConnectorConfig {
            log_capacity: 0,
            // Strictly ack-gated drains, or pipelined ones.
            drain_window: if rng.chance(1, 2) {
                1
            } else {
                rng.range_inclusive(2, 16) as usize
            },
            ..ConnectorConfig::default()
        };
        if swarm.reject_http {
            ccfg.reject_mode = RejectMode::HttpRevokedGone;
        }
        let mut model = Connector::new(ccfg, rng.next_u64());
        model.set_responder(Box::new(SimResponder {
            rng: Rng::new(rng.next_u64()),
            silence_pct: swarm.silence_pct,
            late_pct: swarm.late_answer_pct,
        }));
        let ids: Vec<String> = (0..n).map(|i| format!("gw-{i}")).collect();
        for (i, id) in ids.iter().enumerate() {
            model.add_gateway(id, &[format!("secret-{i}").as_str()]);
            model.set_wake_url(id, &format!("http://gw-{i}.test/wake"));
        }
        let side = ConnectorSide::new(
            model,
            exec.clone(),
            net.clone(),
            monitor.clone(),
            rng.next_u64(),
            swarm.http_refusal_pct,
            ids.clone(),
        );
        let acceptor = side.clone();
        net.set_acceptor(move |client, conn, stream| acceptor.accept(client, conn, stream));
        exec.spawn(Owner::World, Box::pin(side.clone().run_timer()));

        let skews: Skews = Arc::new((0..n).map(|_| Mutex::new(0)).collect());
        let mut clients = Vec::new();
        for (i, instance) in ids.iter().enumerate() {
            let inline = rng.chance(1, 2);
            let timeouts = Timeouts {
                handshake: Duration::from_millis(rng.range_inclusive(3_000, 15_000)),
                request: Duration::from_millis(rng.range_inclusive(3_000, 20_000)),
                idle_ack: Duration::from_millis(rng.range_inclusive(2_000, 10_000)),
                keepalive_interval: Duration::from_millis(rng.range_inclusive(2_000, 15_000)),
                pong_timeout: Duration::from_millis(rng.range_inclusive(3_000, 20_000)),
                backoff_initial: Duration::from_millis(rng.range_inclusive(100, 1_000)),
                backoff_max: Duration::from_millis(rng.range_inclusive(2_000, 10_000)),
                ..Timeouts::default()
            };
            let request_timeout = timeouts.request.as_millis() as u64;
            // The shutdown drain, from a draw already made (a new draw would
            // move every later one): a quarter of the request timeout.
            let timeouts = Timeouts {
                shutdown_drain: Duration::from_millis(request_timeout / 4),
                ..timeouts
            };
            let config = RelayConfig::builder("ws://connector.test/relay")
                .identity("discord", format!("bot-{i}"))
                .gateway_id(instance.clone())
                .secret(format!("secret-{i}"))
                .timeouts(timeouts)
                .build()
                .unwrap_or_else(|e| panic!("the simulated gateway config is invalid: {e}"));
            let small = swarm.small_queues && rng.chance(1, 2);
            let options = ClientOptions {
                event_capacity: if small {
                    rng.range_inclusive(1, 8) as usize
                } else {
                    256
                },
                command_capacity: if small {
                    rng.range_inclusive(1, 4) as usize
                } else {
                    16
                },
                write_queue: if small {
                    rng.range_inclusive(2, 32) as usize
                } else {
                    1_024
                },
                read_buffer: [64, 512, 4_096][rng.range_inclusive(0, 2) as usize],
                dial_timeout: Duration::from_millis(rng.range_inclusive(1_000, 10_000)),
                write_stall_timeout: if rng.chance(1, 5) {
                    Duration::ZERO
                } else {
                    Duration::from_millis(rng.range_inclusive(1_000, 10_000))
                },
                seed: rng.chance(1, 2).then(|| rng.next_u64()),
                ..ClientOptions::default()
            };
            #[cfg(feature = "planted-bugs")]
            let options = ClientOptions {
                plant: cfg.plant,
                ..options
            };
            let window = cfg.fault_window_ms;
            let plan = AppPlan {
                consumer_delay_max: if swarm.slow_consumers && rng.chance(1, 2) {
                    rng.range_inclusive(100, 3_000)
                } else {
                    0
                },
                recycle: swarm.recycle && rng.chance(1, 2),
                ack_delay_max: if swarm.late_acks { 20_000 } else { 1_000 },
                ack_dup_pct: swarm.ack_dup_pct,
                idle_wake: swarm.idle_wake,
                tick: (100, rng.range_inclusive(300, 3_000)),
                max_in_flight: rng.range_inclusive(1, 32) as usize,
                flood: swarm.floods && rng.chance(1, 2),
                shutdown_at: (swarm.shutdowns && rng.chance(1, 3))
                    .then(|| rng.range_inclusive(1_000, window.max(1_001))),
                shutdown_mid_drain: swarm.shutdowns && rng.chance(1, 4),
                drop_at: (swarm.drops && rng.chance(1, 3))
                    .then(|| rng.range_inclusive(1_000, window.max(1_001))),
                closing_sends: rng.chance(1, 2),
                request_timeout,
                write_queue: options.write_queue.max(1),
                seed: rng.next_u64(),
            };
            {
                let mut m = monitor.lock();
                m.clients[i].write_queue = plan.write_queue;
                m.clients[i].drain_ms = request_timeout / 4;
            }
            let runtime = SimRuntime::new(
                exec.clone(),
                net.clone(),
                i,
                rng.next_u64(),
                rng.chance(1, 2),
                skews.clone(),
            );
            let watch = runtime.watch();
            let (poke_tx, poke_rx) = mpsc::unbounded();
            side.set_poke(i, poke_tx);
            monitor.trace(format!(
                "c{i} {} plan {plan:?} options event_capacity={} command_capacity={} write_queue={} read_buffer={} dial_timeout={:?} write_stall={:?}",
                if inline { "inline" } else { "spawned" },
                options.event_capacity,
                options.command_capacity,
                options.write_queue,
                options.read_buffer,
                options.dial_timeout,
                options.write_stall_timeout
            ));
            let ctx = AppCtx {
                client: i,
                exec: exec.clone(),
                monitor: monitor.clone(),
                net: net.clone(),
                plan,
                pokes: poke_rx,
            };
            if inline {
                let client = RelayClient::inline_on(runtime, config, options);
                let monitor = monitor.clone();
                exec.spawn(
                    Owner::Engine(i),
                    Box::pin(async move {
                        inline_app(ctx, client).await;
                        released(&monitor, i);
                    }),
                );
            } else {
                let (handle, events) = RelayClient::start_on(runtime, config, options);
                let app = SpawnedApp::new(ctx, handle, events);
                let monitor = monitor.clone();
                exec.spawn(
                    Owner::App(i),
                    Box::pin(async move {
                        app.run().await;
                        released(&monitor, i);
                    }),
                );
            }
            clients.push(Client {
                instance: instance.clone(),
                watch,
                leak_checked: false,
            });
        }
        let mut world = World {
            seed,
            cfg,
            swarm,
            exec,
            net,
            side,
            monitor,
            clients,
            skews,
            steps: 0,
        };
        world.spawn_world_tasks(&mut rng);
        world
    }

    fn spawn_world_tasks(&mut self, rng: &mut Rng) {
        for i in 0..self.clients.len() {
            let task = deliveries(
                self.side.clone(),
                self.monitor.clone(),
                self.exec.clone(),
                i,
                rng.next_u64(),
            );
            self.exec.spawn(Owner::World, Box::pin(task));
        }
        let kinds: [(Option<u64>, FaultKind); 7] = [
            (self.swarm.reset_mean_ms, FaultKind::Reset),
            (self.swarm.half_open_mean_ms, FaultKind::HalfOpen),
            (self.swarm.partition_mean_ms, FaultKind::Partition),
            (self.swarm.stop_reading_mean_ms, FaultKind::StopReading),
            (self.swarm.close_mean_ms, FaultKind::Close),
            (self.swarm.restart_mean_ms, FaultKind::Restart),
            (
                (self.swarm.skew_max_secs > 0).then_some(8_000),
                FaultKind::Skew(self.swarm.skew_max_secs),
            ),
        ];
        for (mean, kind) in kinds {
            if let Some(mean) = mean {
                let task = faults(self.fault_ctx(rng.next_u64()), mean, kind);
                self.exec.spawn(Owner::World, Box::pin(task));
            }
        }
        for _ in 0..self.swarm.revocations {
            let ctx = self.fault_ctx(rng.next_u64());
            let at = rng.range_inclusive(0, self.cfg.fault_window_ms);
            self.exec.spawn(Owner::World, Box::pin(revoke(ctx, at)));
        }
    }

    fn fault_ctx(&self, seed: u64) -> FaultCtx {
        FaultCtx {
            rng: Rng::new(seed),
            exec: self.exec.clone(),
            net: self.net.clone(),
            side: self.side.clone(),
            monitor: self.monitor.clone(),
            skews: self.skews.clone(),
            clients: self.clients.len(),
            window: self.cfg.fault_window_ms,
        }
    }

    /// Runs to the end: convergence and teardown, or the first violation.
    pub(crate) fn run(mut self) -> EngineReport {
        let heal_at = self.cfg.fault_window_ms;
        let end = heal_at + self.cfg.heal_bound_ms;
        let mut healed = false;
        let mut teardown_at: Option<u64> = None;
        loop {
            if self.monitor.failed() {
                return self.report();
            }
            let limit = teardown_at.map_or(end, |t| t + TEARDOWN_MS);
            match self.exec.step(limit) {
                Step::Polled(task, owner, in_instant, spawned_at) => {
                    self.steps += 1;
                    // The schedule is part of the trace's hash.
                    self.monitor.lock().hash_step(task);
                    if in_instant > MAX_POLLS_PER_INSTANT {
                        let now = self.exec.now();
                        self.monitor.fail(
                            "no-busy-loop",
                            format!(
                                "{owner:?} (a task spawned at {spawned_at}) was polled {in_instant} times at one virtual instant ({now} ms)"
                            ),
                        );
                    }
                }
                Step::Advanced(now) => {
                    self.monitor.lock().now = now;
                    self.check(now);
                    if !healed && now >= heal_at {
                        healed = true;
                        self.heal();
                    }
                    if healed && teardown_at.is_none() && self.converged() {
                        self.monitor.trace("converged");
                        self.check_nothing_lost();
                        self.monitor.lock().teardown = true;
                        teardown_at = Some(now);
                    }
                    if teardown_at.is_some() && self.all_released() && self.leaks_checked() {
                        self.monitor.trace("torn down");
                        return self.report();
                    }
                }
                Step::Idle => {
                    let now = self.exec.now();
                    match teardown_at {
                        None => {
                            let detail = self.liveness_detail();
                            self.monitor.lock().now = now.max(end);
                            self.monitor.fail("liveness", detail);
                        }
                        Some(_) if self.all_released() => {
                            // Nothing can happen any more: check now.
                            for i in 0..self.clients.len() {
                                self.leak_check(i, now, true);
                            }
                            self.monitor.trace("torn down");
                        }
                        Some(_) => {
                            let detail = self.teardown_detail();
                            self.monitor.fail("no-leak-after-drop", detail);
                        }
                    }
                    return self.report();
                }
            }
        }
    }

    fn heal(&mut self) {
        self.monitor.lock().healing = true;
        self.monitor.trace("HEAL: faults off");
        self.net.heal();
        self.side.heal();
        self.side.with_model(|m, _| {
            m.set_responder(Box::new(SimResponder {
                rng: Rng::new(0),
                silence_pct: 0,
                late_pct: 0,
            }));
        });
        for skew in self.skews.iter() {
            *skew.lock().unwrap_or_else(|e| e.into_inner()) = 0;
        }
    }

    /// The checks made whenever time moves.
    fn check(&mut self, now: u64) {
        self.monitor.lock().check_deadlines();
        for i in 0..self.clients.len() {
            let polls = self.exec.polls(Owner::Engine(i));
            {
                let mut m = self.monitor.lock();
                m.stats.max_polls_per_second = m.stats.max_polls_per_second.max(polls.max_second);
                m.stats.max_polls_per_instant =
                    m.stats.max_polls_per_instant.max(polls.max_instant);
            }
            if polls.max_instant > MAX_POLLS_PER_INSTANT {
                self.monitor.fail(
                    "no-busy-loop",
                    format!(
                        "c{i}'s engine was polled {} times at one virtual instant ({})",
                        polls.max_instant, polls.instant
                    ),
                );
            } else if polls.max_second > MAX_POLLS_PER_SECOND {
                self.monitor.fail(
                    "no-busy-loop",
                    format!(
                        "c{i}'s engine was polled {} times in one virtual second ({} s)",
                        polls.max_second, polls.second
                    ),
                );
            }
            self.leak_check(i, now, false);
        }
        self.check_revocation(now);
    }

    /// Nothing of client `i` is left once its application let go of it
    /// (at once with `force`, else after the grace).
    fn leak_check(&mut self, i: usize, now: u64, force: bool) {
        let released = self.monitor.lock().clients[i].released_at;
        let Some(at) = released else {
            return;
        };
        if self.clients[i].leak_checked || !(force || now >= at + LEAK_GRACE_MS) {
            return;
        }
        self.clients[i].leak_checked = true;
        let tasks = self.exec.tasks_of(Owner::Engine(i)) + self.exec.tasks_of(Owner::App(i));
        let ends = self.net.open_client_ends(i);
        let alive = self.clients[i].watch.upgrade().is_some();
        if tasks > 0 || ends > 0 || alive {
            self.monitor.fail(
                "no-leak-after-drop",
                format!(
                    "c{i} let go at {at}; {} ms later: {tasks} task(s), {ends} open socket(s), runtime {}",
                    now - at,
                    if alive { "still referenced" } else { "freed" }
                ),
            );
        }
    }

    /// No dial after revocation: once the application saw `Revoked`, no
    /// more connects; and the client's last connection is the one whose
    /// revocation signal (a 4401 close, an HTTP 401 or 410) it read.
    fn check_revocation(&self, _now: u64) {
        for i in 0..self.clients.len() {
            let revoked = self.monitor.lock().clients[i].revoked;
            let Some((at, dials_then)) = revoked else {
                continue;
            };
            let dials = self.net.dials(i);
            if dials.len() > dials_then {
                self.monitor.fail(
                    "no-dial-after-revoked",
                    format!(
                        "c{i} dialed at {} after its application saw Revoked at {at}",
                        dials[dials_then].at
                    ),
                );
                return;
            }
            let last = dials.iter().rev().find_map(|d| d.conn);
            let signalled = last.is_some_and(|c| self.net.signal_read(c));
            let last_failed = dials.last().is_some_and(|d| d.conn.is_none());
            if !signalled || last_failed {
                self.monitor.fail(
                    "no-dial-after-revoked",
                    format!(
                        "c{i} is revoked, but its last connect ({:?}) is not the connection whose revocation it read",
                        dials.last()
                    ),
                );
                return;
            }
        }
    }

    fn converged(&self) -> bool {
        let m = self.monitor.lock();
        (0..self.clients.len()).all(|i| {
            let log = &m.clients[i];
            let instance = self.clients[i].instance.clone();
            if log.out_of_play() || self.side.with_model(|model, _| model.is_revoked(&instance)) {
                return true;
            }
            let pending = m.requests.values().any(|r| r.client == i && !r.ended);
            let served = self.side.with_model(|model, _| {
                model.session_of(&instance).is_some() && model.buffer_len(&instance) == 0
            });
            log.state == Some(relay_core::State::Serving) && served && !pending
        })
    }

    /// At convergence: every buffered item reached its application or is
    /// still buffered, and a request ended `Stopped` only on a client that
    /// stopped (revoked, shut down or dropped).
    fn check_nothing_lost(&self) {
        {
            let revoked: Vec<bool> = self
                .clients
                .iter()
                .map(|c| {
                    let instance = c.instance.clone();
                    self.side.with_model(|m, _| m.is_revoked(&instance))
                })
                .collect();
            let mut m = self.monitor.lock();
            let dropped = (0..self.clients.len()).find_map(|i| {
                let log = &m.clients[i];
                let stopped = log.out_of_play() || revoked[i];
                (!stopped)
                    .then(|| log.stopped.first().map(|k| (i, k.clone())))
                    .flatten()
            });
            if let Some((i, key)) = dropped {
                m.fail(
                    "request-answered-once",
                    format!("c{i} {key} ended with `Stopped`, yet the client never stopped: its result was dropped"),
                );
                return;
            }
        }
        let buffers: Vec<Vec<String>> = self
            .clients
            .iter()
            .map(|c| {
                let instance = c.instance.clone();
                self.side.with_model(|m, _| {
                    m.buffer_ids(&instance)
                        .into_iter()
                        .map(|b| b.as_str().to_owned())
                        .collect()
                })
            })
            .collect();
        let mut m = self.monitor.lock();
        let lost = m
            .items
            .iter()
            .filter_map(|(text, item)| {
                let id = item.buffer_id.as_ref()?;
                let handed = m.clients[item.client].handed.contains(text);
                (!handed && !buffers[item.client].contains(id))
                    .then(|| (text.clone(), item.client, id.clone()))
            })
            .next();
        if let Some((text, client, id)) = lost {
            m.fail(
                "no-lost-buffered-item",
                format!("c{client}: {text} ({id}) never reached the application and is no longer buffered"),
            );
        }
    }

    fn all_released(&self) -> bool {
        let m = self.monitor.lock();
        m.clients.iter().all(|c| c.released_at.is_some())
    }

    fn leaks_checked(&self) -> bool {
        self.clients.iter().all(|c| c.leak_checked)
    }

    fn liveness_detail(&self) -> String {
        let m = self.monitor.lock();
        let mut s = String::from("not converged:");
        for (i, c) in self.clients.iter().enumerate() {
            let log = &m.clients[i];
            let instance = c.instance.clone();
            if log.out_of_play() || self.side.with_model(|model, _| model.is_revoked(&instance)) {
                continue;
            }
            let (session, buffered) = self.side.with_model(|model, _| {
                (
                    model.session_of(&instance).is_some(),
                    model.buffer_len(&instance),
                )
            });
            let pending = m
                .requests
                .values()
                .filter(|r| r.client == i && !r.ended)
                .count();
            s.push_str(&format!(
                " c{i}={:?}/session {session}/buffered {buffered}/pending requests {pending}",
                log.state
            ));
        }
        s
    }

    fn teardown_detail(&self) -> String {
        let m = self.monitor.lock();
        let waiting: Vec<usize> = (0..self.clients.len())
            .filter(|&i| m.clients[i].released_at.is_none())
            .collect();
        format!(
            "the teardown did not finish: applications still holding their client: {waiting:?}; tasks alive: {}",
            self.exec.task_count()
        )
    }

    fn report(self) -> EngineReport {
        let violation = {
            let m = self.monitor.lock();
            m.violation
                .clone()
                .map(|Fail(invariant, detail)| Violation {
                    invariant,
                    detail,
                    step: self.steps,
                    at_ms: m.now,
                    trace_tail: m.tail.iter().cloned().collect(),
                })
        };
        let (hash, mut stats) = {
            let m = self.monitor.lock();
            (m.hash, m.stats.clone())
        };
        stats.dials = (0..self.clients.len())
            .map(|i| self.net.dials(i).len() as u64)
            .sum();
        stats.revoked = {
            let m = self.monitor.lock();
            m.clients.iter().filter(|c| c.revoked.is_some()).count() as u64
        };
        let end_ms = self.exec.now();
        // Drop every task before the world goes (their futures hold clients),
        // and the network's hold on the connector.
        self.exec.clear();
        self.net.clear_acceptor();
        EngineReport {
            seed: self.seed,
            swarm: self.swarm.clone(),
            steps: self.steps,
            end_ms,
            trace_hash: hash,
            violation,
            stats,
        }
    }
}

/// The application of client `i` let go of its client.
fn released(monitor: &Monitor, i: usize) {
    let mut m = monitor.lock();
    let now = m.now;
    m.trace(&format!("c{i} application ended"));
    m.clients[i].released_at.get_or_insert(now);
}
