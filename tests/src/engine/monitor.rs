//! What the engine world has seen, and the invariants checked against it as
//! the run goes: every observation comes from the applications (what the
//! public API returned), the connector (what arrived on the wire) or the
//! runtime (connects, tasks, polls). The first broken invariant is kept and
//! stops the run.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Mutex, MutexGuard};

use relay_core::State;
use relay_engine::ClientError;

use crate::TRACE_TAIL;

/// How late a request may end after its timeout (ms).
pub(crate) const REQUEST_TOLERANCE_MS: u64 = 1_000;

/// How long a shutdown may take, beyond its client's drain budget, to
/// return and to answer what was in flight (ms of virtual time): the engine
/// needs no I/O for either, and the background close has a grace of its
/// own (2 s).
pub(crate) const SHUTDOWN_BUDGET_MS: u64 = 2_000;

/// A broken invariant: its name and what happened.
#[derive(Clone, Debug)]
pub(crate) struct Fail(pub &'static str, pub String);

/// A request the application sent.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub client: usize,
    pub started: u64,
    /// By when it must have ended.
    pub deadline: u64,
    pub ended: bool,
}

/// One item the connector was asked to deliver.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub client: usize,
    /// `None`: pushed live.
    pub buffer_id: Option<String>,
}

/// What one client's application has seen and done.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientLog {
    /// Items (by text) the application was handed.
    pub handed: BTreeSet<String>,
    /// Buffered deliveries the application acked (before calling `ack`).
    pub acked: BTreeSet<String>,
    /// The last state the application saw in a `StateChanged`.
    pub state: Option<State>,
    /// The application saw `Revoked`, at this instant, after this many
    /// connect attempts.
    pub revoked: Option<(u64, usize)>,
    /// The application called `shutdown` at this instant.
    pub shutdown_at: Option<u64>,
    /// The application dropped the client at this instant.
    pub dropped_at: Option<u64>,
    /// The event stream ended.
    pub ended: bool,
    /// The application last went idle as dormant (not woken at the heal).
    pub dormant: bool,
    /// Requests (by key) that ended with `Stopped`.
    pub stopped: Vec<String>,
    /// The application let go of the client (dropped it, or ended after
    /// its event stream did) at this instant.
    pub released_at: Option<u64>,
    /// The client's shutdown drain budget (ms).
    pub drain_ms: u64,
    /// Write queue bound, and the most writes seen queued.
    pub write_queue: usize,
    pub max_pending_writes: usize,
}

impl ClientLog {
    /// Out of the liveness check: revoked, shut down or dropped.
    pub(crate) fn out_of_play(&self) -> bool {
        self.revoked.is_some()
            || self.shutdown_at.is_some()
            || self.dropped_at.is_some()
            || self.state == Some(State::Revoked)
    }
}

/// Counters of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Items the connector was asked to deliver.
    pub deliveries: u64,
    /// Items handed to applications.
    pub handed: u64,
    /// Requests sent by applications.
    pub requests: u64,
    /// Requests answered with a result.
    pub answered: u64,
    /// Requests that failed (refused, timed out, connection lost, shut
    /// down).
    pub failed: u64,
    /// Connect attempts.
    pub dials: u64,
    /// Faults injected.
    pub faults: u64,
    /// Clients revoked, shut down and dropped by their application.
    pub revoked: u64,
    pub shut_down: u64,
    pub dropped: u64,
    /// The most polls one client's engine took in one virtual second, and
    /// in one virtual millisecond.
    pub max_polls_per_second: u64,
    pub max_polls_per_instant: u64,
}

pub(crate) struct Inner {
    pub now: u64,
    pub hash: u64,
    pub tail: VecDeque<String>,
    pub print: bool,
    pub violation: Option<Fail>,
    pub clients: Vec<ClientLog>,
    pub items: BTreeMap<String, Item>,
    /// Request keys -> the request.
    pub requests: BTreeMap<String, Request>,
    /// Request keys the connector received.
    pub seen_by_connector: BTreeSet<String>,
    /// Request keys refused before anything was sent.
    pub refused: BTreeSet<String>,
    pub healing: bool,
    /// The world converged: applications let go of their clients.
    pub teardown: bool,
    pub stats: EngineStats,
}

/// The shared record of a world.
pub(crate) struct Monitor {
    inner: Mutex<Inner>,
}

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Monitor {
    pub(crate) fn new(clients: usize, print: bool) -> Monitor {
        Monitor {
            inner: Mutex::new(Inner {
                now: 0,
                hash: 0xcbf2_9ce4_8422_2325,
                tail: VecDeque::new(),
                print,
                violation: None,
                clients: vec![ClientLog::default(); clients],
                items: BTreeMap::new(),
                requests: BTreeMap::new(),
                seen_by_connector: BTreeSet::new(),
                refused: BTreeSet::new(),
                healing: false,
                teardown: false,
                stats: EngineStats::default(),
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a line to the trace (and to its hash).
    pub(crate) fn trace(&self, line: impl AsRef<str>) {
        self.lock().trace(line.as_ref());
    }

    /// Records a broken invariant (the first one stands).
    pub(crate) fn fail(&self, invariant: &'static str, detail: String) {
        self.lock().fail(invariant, detail);
    }

    pub(crate) fn failed(&self) -> bool {
        self.lock().violation.is_some()
    }

    pub(crate) fn healing(&self) -> bool {
        self.lock().healing
    }
}

impl Inner {
    pub(crate) fn trace(&mut self, line: &str) {
        let line = format!("{:>7} {line}", self.now);
        self.hash = fnv(self.hash, line.as_bytes());
        self.hash = fnv(self.hash, b"\n");
        if self.print {
            println!("{line}");
        }
        if self.tail.len() == TRACE_TAIL {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    /// Folds a scheduling step (the task polled) into the hash.
    pub(crate) fn hash_step(&mut self, task: u64) {
        self.hash = fnv(self.hash, &task.to_le_bytes());
    }

    pub(crate) fn fail(&mut self, invariant: &'static str, detail: String) {
        if self.violation.is_none() {
            self.trace(&format!("VIOLATION {invariant}: {detail}"));
            self.violation = Some(Fail(invariant, detail));
        }
    }

    /// The application was handed the item `text` (`buffer_id` when it was
    /// buffered).
    pub(crate) fn handed(&mut self, client: usize, text: &str, buffer_id: Option<&str>) {
        self.stats.handed += 1;
        self.trace(&format!("c{client} app got {text} {buffer_id:?}"));
        let Some(item) = self.items.get(text).cloned() else {
            self.fail(
                "inbound-item-integrity",
                format!("c{client} was handed {text:?}, which was never delivered"),
            );
            return;
        };
        if item.client != client {
            self.fail(
                "inbound-item-integrity",
                format!("c{client} was handed {text}, delivered to c{}", item.client),
            );
            return;
        }
        if let (Some(got), Some(sent)) = (buffer_id, item.buffer_id.as_deref())
            && got != sent
        {
            self.fail(
                "inbound-item-integrity",
                format!("c{client} was handed {text} as {got}, buffered as {sent}"),
            );
            return;
        }
        if !self.clients[client].handed.insert(text.to_owned()) {
            self.fail(
                "no-duplicate-handoff",
                format!("c{client} was handed {text} ({buffer_id:?}) twice"),
            );
        }
    }

    /// A request left the application (`deadline`: by when it must end).
    pub(crate) fn request_started(&mut self, client: usize, key: &str, deadline: u64) {
        self.stats.requests += 1;
        let now = self.now;
        self.trace(&format!("c{client} request {key}"));
        self.requests.insert(
            key.to_owned(),
            Request {
                client,
                started: now,
                deadline,
                ended: false,
            },
        );
    }

    /// A request's call returned.
    pub(crate) fn request_ended(
        &mut self,
        key: &str,
        result: &Result<relay_core::wire::ActionResult, ClientError>,
    ) {
        let Some(req) = self.requests.get_mut(key) else {
            self.fail(
                "request-ends-once",
                format!("{key} ended but was never sent"),
            );
            return;
        };
        if req.ended {
            self.fail("request-ends-once", format!("{key} ended twice"));
            return;
        }
        req.ended = true;
        let (client, deadline) = (req.client, req.deadline);
        let how = match result {
            Ok(r) => format!("ok {:?}", r.message_id),
            Err(e) => format!("err {e}"),
        };
        self.trace(&format!("c{client} request {key} {how}"));
        if self.now > deadline {
            self.fail(
                "request-ends-by-deadline",
                format!("c{client} {key} ended at {} > {deadline}", self.now),
            );
            return;
        }
        match result {
            Ok(r) => {
                self.stats.answered += 1;
                let expected = format!("done:{key}");
                if r.success && r.message_id.as_deref() != Some(expected.as_str()) {
                    self.fail(
                        "request-answered-once",
                        format!("c{client} {key} got the answer of another request: {r:?}"),
                    );
                } else if !self.seen_by_connector.contains(key) {
                    self.fail(
                        "request-answered-once",
                        format!("c{client} {key} was answered but never reached the connector"),
                    );
                }
            }
            Err(ClientError::Refused(_)) => {
                self.stats.failed += 1;
                self.refused.insert(key.to_owned());
                if self.seen_by_connector.contains(key) {
                    self.fail(
                        "request-answered-once",
                        format!("c{client} {key} was refused, yet the connector received it"),
                    );
                }
            }
            Err(ClientError::Stopped) => {
                self.stats.failed += 1;
                self.clients[client].stopped.push(key.to_owned());
            }
            Err(_) => self.stats.failed += 1,
        }
    }

    /// The application dropped a request's call before it returned.
    pub(crate) fn request_abandoned(&mut self, key: &str) {
        if let Some(req) = self.requests.get_mut(key) {
            req.ended = true;
        }
    }

    /// The connector received request `key`.
    pub(crate) fn connector_got_request(&mut self, client: usize, key: &str) {
        if !self.seen_by_connector.insert(key.to_owned()) {
            self.fail(
                "request-answered-once",
                format!("c{client} {key} reached the connector twice"),
            );
        } else if self.refused.contains(key) {
            self.fail(
                "request-answered-once",
                format!("c{client} {key} reached the connector after it was refused"),
            );
        }
    }

    /// The connector received an `inbound_ack`.
    pub(crate) fn connector_got_ack(&mut self, client: usize, buffer_id: &str) {
        if !self.clients[client].acked.contains(buffer_id) {
            self.fail(
                "inbound-ack-after-app-ack",
                format!(
                    "c{client} sent inbound_ack for {buffer_id} before its application acked it"
                ),
            );
        }
    }

    /// Requests still pending past their deadline.
    pub(crate) fn check_deadlines(&mut self) {
        let now = self.now;
        let late = self
            .requests
            .iter()
            .find(|(_, r)| !r.ended && now > r.deadline)
            .map(|(k, r)| (k.clone(), r.client, r.deadline));
        if let Some((key, client, deadline)) = late {
            self.fail(
                "request-ends-by-deadline",
                format!("c{client} {key} still pending past {deadline}"),
            );
        }
        for client in 0..self.clients.len() {
            let Some(at) = self.clients[client].shutdown_at else {
                continue;
            };
            if now <= at + self.clients[client].drain_ms + SHUTDOWN_BUDGET_MS {
                continue;
            }
            let pending = self
                .requests
                .iter()
                .find(|(_, r)| r.client == client && !r.ended && r.started <= at)
                .map(|(k, _)| k.clone());
            if let Some(key) = pending {
                self.fail(
                    "shutdown-answers-in-flight",
                    format!(
                        "c{client} shut down at {at}, {key} still unanswered {} ms later",
                        now - at
                    ),
                );
            }
        }
    }
}
