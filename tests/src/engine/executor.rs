//! A seeded, single-threaded executor on virtual time.
//!
//! Tasks wait in a ready set; each step polls one of them, chosen by the
//! seed. When none is ready, time jumps to the earliest timer. Nothing
//! here reads a clock or depends on hash order, so the interleaving of a
//! run is a function of its seed.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Wake, Waker};

use relay_core::rng::Rng;
use relay_engine::BoxFuture;

/// Who a task belongs to, for the poll counts and the leak check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Owner {
    /// The connector, the network, the faults.
    World,
    /// The engine of client `n` (its driver and close tasks, and the task
    /// of an inline client's application, which runs its engine).
    Engine(usize),
    /// The application of a spawned client `n`.
    App(usize),
}

struct Task {
    /// `None` while the task is being polled.
    future: Option<BoxFuture<()>>,
    owner: Owner,
    /// Where it was spawned (for reports).
    spawned_at: &'static std::panic::Location<'static>,
}

/// Polls of one owner, for the busy-loop check.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PollCount {
    /// The virtual millisecond of the last poll, and the polls in it.
    pub instant: u64,
    pub in_instant: u64,
    /// The virtual second of the last poll, and the polls in it.
    pub second: u64,
    pub in_second: u64,
    /// Every poll.
    pub total: u64,
    /// The most polls seen in one millisecond and in one second.
    pub max_instant: u64,
    pub max_second: u64,
}

struct Inner {
    now: u64,
    tasks: BTreeMap<u64, Task>,
    ready: BTreeSet<u64>,
    /// `(at, seq)` -> the waker to wake then.
    timers: BTreeMap<(u64, u64), Waker>,
    next_task: u64,
    next_seq: u64,
    rng: Rng,
    polls: BTreeMap<Owner, PollCount>,
}

/// The executor, shared by every task and stream of a world.
pub(crate) struct Exec {
    inner: Mutex<Inner>,
    me: Weak<Exec>,
}

/// What [`Exec::step`] did.
pub(crate) enum Step {
    /// Polled one task of this owner, which was polled this many times at
    /// this instant; where the task was spawned.
    Polled(u64, Owner, u64, &'static std::panic::Location<'static>),
    /// No task was ready: time moved to this instant.
    Advanced(u64),
    /// No task ready and no timer before the limit.
    Idle,
}

struct TaskWaker {
    id: u64,
    exec: Weak<Exec>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(exec) = self.exec.upgrade() {
            let mut inner = exec.lock();
            if inner.tasks.contains_key(&self.id) {
                inner.ready.insert(self.id);
            }
        }
    }
}

impl Exec {
    /// An executor whose choices come from `seed`, at time zero.
    pub(crate) fn new(seed: u64) -> Arc<Exec> {
        Arc::new_cyclic(|me| Exec {
            inner: Mutex::new(Inner {
                now: 0,
                tasks: BTreeMap::new(),
                ready: BTreeSet::new(),
                timers: BTreeMap::new(),
                next_task: 0,
                next_seq: 0,
                rng: Rng::new(seed),
                polls: BTreeMap::new(),
            }),
            me: me.clone(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Virtual milliseconds since the start.
    pub(crate) fn now(&self) -> u64 {
        self.lock().now
    }

    /// Runs `future` as a task of `owner`.
    #[track_caller]
    pub(crate) fn spawn(&self, owner: Owner, future: BoxFuture<()>) {
        let spawned_at = std::panic::Location::caller();
        let mut inner = self.lock();
        let id = inner.next_task;
        inner.next_task += 1;
        inner.tasks.insert(
            id,
            Task {
                future: Some(future),
                owner,
                spawned_at,
            },
        );
        inner.ready.insert(id);
    }

    /// Wakes `waker` at `at` (at once if it has passed).
    pub(crate) fn wake_at(&self, at: u64, waker: Waker) -> (u64, u64) {
        let mut inner = self.lock();
        let key = (at, inner.next_seq);
        inner.next_seq += 1;
        inner.timers.insert(key, waker);
        key
    }

    /// Replaces the waker of a timer still pending.
    fn rearm(&self, key: (u64, u64), waker: &Waker) -> bool {
        let mut inner = self.lock();
        match inner.timers.get_mut(&key) {
            Some(w) => {
                if !w.will_wake(waker) {
                    *w = waker.clone();
                }
                true
            }
            None => false,
        }
    }

    fn cancel(&self, key: (u64, u64)) {
        self.lock().timers.remove(&key);
    }

    /// A future that completes at `at`.
    pub(crate) fn sleep_until(&self, at: u64) -> Sleep {
        Sleep {
            exec: self.me.upgrade().expect("the executor is alive"),
            at,
            key: None,
        }
    }

    /// Tasks of `owner` still alive.
    pub(crate) fn tasks_of(&self, owner: Owner) -> usize {
        self.lock()
            .tasks
            .values()
            .filter(|t| t.owner == owner)
            .count()
    }

    /// Every task still alive.
    pub(crate) fn task_count(&self) -> usize {
        self.lock().tasks.len()
    }

    /// The poll counts of `owner`.
    pub(crate) fn polls(&self, owner: Owner) -> PollCount {
        self.lock().polls.get(&owner).copied().unwrap_or_default()
    }

    /// Polls one ready task (chosen by the seed), or moves time to the
    /// earliest timer no later than `limit`.
    pub(crate) fn step(&self, limit: u64) -> Step {
        let picked = {
            let mut inner = self.lock();
            if inner.ready.is_empty() {
                None
            } else {
                let n = inner.ready.len() as u64;
                let index = inner.rng.range_inclusive(0, n - 1) as usize;
                let id = *inner.ready.iter().nth(index).expect("index within the set");
                inner.ready.remove(&id);
                let now = inner.now;
                match inner.tasks.get_mut(&id) {
                    Some(task) => {
                        let owner = task.owner;
                        let at = task.spawned_at;
                        let future = task.future.take();
                        let count = inner.polls.entry(owner).or_default();
                        count.total += 1;
                        if count.instant == now {
                            count.in_instant += 1;
                        } else {
                            count.instant = now;
                            count.in_instant = 1;
                        }
                        if count.second == now / 1000 {
                            count.in_second += 1;
                        } else {
                            count.second = now / 1000;
                            count.in_second = 1;
                        }
                        count.max_instant = count.max_instant.max(count.in_instant);
                        count.max_second = count.max_second.max(count.in_second);
                        let in_instant = count.in_instant;
                        future.map(|f| (id, owner, f, in_instant, at))
                    }
                    None => None,
                }
            }
        };
        if let Some((id, owner, mut future, in_instant, spawned_at)) = picked {
            let waker = Waker::from(Arc::new(TaskWaker {
                id,
                exec: self.me.clone(),
            }));
            let mut cx = Context::from_waker(&waker);
            let done = future.as_mut().poll(&mut cx).is_ready();
            let mut inner = self.lock();
            if done {
                inner.tasks.remove(&id);
                inner.ready.remove(&id);
                drop(inner);
                drop(future);
            } else if let Some(task) = inner.tasks.get_mut(&id) {
                task.future = Some(future);
            }
            return Step::Polled(id, owner, in_instant, spawned_at);
        }
        let due = {
            let mut inner = self.lock();
            if !inner.ready.is_empty() {
                return Step::Advanced(inner.now);
            }
            let Some((&(at, _), _)) = inner.timers.first_key_value() else {
                return Step::Idle;
            };
            if at > limit {
                return Step::Idle;
            }
            inner.now = inner.now.max(at);
            let now = inner.now;
            let mut due = Vec::new();
            while let Some(entry) = inner.timers.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                due.push(entry.remove());
            }
            due
        };
        let now = self.now();
        for waker in due {
            waker.wake();
        }
        Step::Advanced(now)
    }

    /// Drops every task (their futures, and what they hold) and timer.
    pub(crate) fn clear(&self) {
        let (tasks, timers) = {
            let mut inner = self.lock();
            inner.ready.clear();
            (
                std::mem::take(&mut inner.tasks),
                std::mem::take(&mut inner.timers),
            )
        };
        drop(tasks);
        drop(timers);
    }
}

/// Completes at a virtual instant.
pub(crate) struct Sleep {
    exec: Arc<Exec>,
    at: u64,
    key: Option<(u64, u64)>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.exec.now() >= self.at {
            if let Some(key) = self.key.take() {
                self.exec.cancel(key);
            }
            return Poll::Ready(());
        }
        if let Some(key) = self.key
            && self.exec.rearm(key, cx.waker())
        {
            return Poll::Pending;
        }
        let key = self.exec.wake_at(self.at, cx.waker().clone());
        self.key = Some(key);
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.exec.cancel(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// The order in which ready tasks run comes from the seed.
    fn order(seed: u64) -> Vec<u64> {
        let exec = Exec::new(seed);
        let log = Arc::new(Mutex::new(Vec::new()));
        for i in 0..8 {
            let log = log.clone();
            exec.spawn(
                Owner::World,
                Box::pin(async move {
                    log.lock().unwrap().push(i);
                }),
            );
        }
        while !matches!(exec.step(u64::MAX), Step::Idle) {}
        log.lock().unwrap().clone()
    }

    #[test]
    fn the_seed_picks_among_ready_tasks() {
        assert_eq!(order(1), order(1));
        assert!(
            (0..8).any(|s| order(s) != order(s + 1)),
            "the seed changes nothing"
        );
    }

    #[test]
    fn time_jumps_to_the_next_timer() {
        let exec = Exec::new(0);
        let woke = Arc::new(AtomicU64::new(0));
        let (e, w) = (exec.clone(), woke.clone());
        exec.spawn(
            Owner::World,
            Box::pin(async move {
                e.sleep_until(5_000).await;
                w.store(e.now(), Ordering::Relaxed);
            }),
        );
        while !matches!(exec.step(10_000), Step::Idle) {}
        assert_eq!(woke.load(Ordering::Relaxed), 5_000);
        assert_eq!(exec.task_count(), 0);
    }

    #[test]
    fn a_task_that_wakes_itself_is_counted_at_one_instant() {
        let exec = Exec::new(0);
        exec.spawn(
            Owner::Engine(0),
            Box::pin(std::future::poll_fn(|cx| {
                cx.waker().wake_by_ref();
                Poll::<()>::Pending
            })),
        );
        for _ in 0..100 {
            exec.step(u64::MAX);
        }
        let polls = exec.polls(Owner::Engine(0));
        assert_eq!(polls.max_instant, 100);
        assert_eq!(exec.now(), 0, "time moved while a task was ready");
    }
}
