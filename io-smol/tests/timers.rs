//! The smol runtime's timers: `sleep_until(at)` completes once the system
//! clock has passed the end of `at`'s millisecond (never before), and
//! always completes, whatever the order in which timers were armed.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use relay_engine::{Clock, Runtime};
use relay_smol::SmolRuntime;

/// How late a timer may be on a loaded machine before it counts as lost.
const LATE: Duration = Duration::from_secs(5);

/// Runs `sleep` and returns when it completed, or panics after `limit`.
async fn completes_within<F: Future<Output = ()>>(sleep: F, limit: Duration) -> Instant {
    let watchdog = async {
        async_io::Timer::after(limit).await;
        panic!("the timer did not fire within {limit:?}");
    };
    smol::future::or(
        async {
            sleep.await;
            Instant::now()
        },
        watchdog,
    )
    .await
}

#[test]
fn a_timer_never_fires_before_its_deadline_and_always_fires() {
    let rt = SmolRuntime::default();
    smol::block_on(async {
        for delay in [0u64, 1, 2, 3, 5, 8, 13, 21, 34, 55] {
            let delay = Duration::from_millis(delay);
            let read_at = Instant::now();
            let at = Clock::now().saturating_add(delay);
            let deadline = Clock::deadline(at);
            let fired = completes_within(rt.sleep_until(at), delay + LATE).await;
            assert!(
                fired >= deadline,
                "fired {:?} before its deadline",
                deadline - fired
            );
            assert!(fired - read_at >= delay, "{delay:?} delay");
        }
    });
}

#[test]
fn many_timers_at_once_each_fire_at_their_deadline() {
    let rt = SmolRuntime::default();
    smol::block_on(async {
        let start = Clock::now();
        let tasks: Vec<_> = (0..40u64)
            .map(|i| {
                // Armed in an order unrelated to their deadlines.
                let delay = Duration::from_millis((i * 7) % 40 * 3);
                let at = start.saturating_add(delay);
                let sleep = rt.sleep_until(at);
                smol::spawn(async move {
                    let fired = completes_within(sleep, delay + LATE).await;
                    assert!(fired >= Clock::deadline(at), "timer {i} fired early");
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
    });
}

#[test]
fn an_earlier_timer_armed_after_a_later_one_fires_on_time() {
    let rt = SmolRuntime::default();
    smol::block_on(async {
        // A far timer, armed and waited on by another task: the timer thread
        // sleeps until its deadline.
        let far = rt.sleep_until(Clock::now().saturating_add(Duration::from_secs(3600)));
        let far_task = smol::spawn(far);
        async_io::Timer::after(Duration::from_millis(50)).await;
        let read_at = Instant::now();
        let near = rt.sleep_until(Clock::now().saturating_add(Duration::from_millis(20)));
        let fired = completes_within(near, Duration::from_secs(3)).await;
        assert!(fired - read_at >= Duration::from_millis(20));
        drop(far_task);
    });
}

#[test]
fn a_timer_wakes_the_task_that_polled_it_last() {
    let rt = SmolRuntime::default();
    let mut sleep = rt.sleep_until(Clock::now().saturating_add(Duration::from_millis(30)));
    // First polled with a waker that wakes nobody, then awaited by a task:
    // the task must be the one woken.
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(Pin::new(&mut sleep).poll(&mut cx), Poll::Pending);
    smol::block_on(async {
        completes_within(sleep, Duration::from_secs(3)).await;
    });
}
