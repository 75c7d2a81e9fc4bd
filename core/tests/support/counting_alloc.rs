//! A counting global allocator for tests: it counts the allocation calls
//! and the heap bytes left allocated by a thread while that thread asks for
//! counting, so that tests running on several threads at once each count
//! their own. Install it with `#[global_allocator]` in the test binary.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Forwards every call to the system allocator and counts for the threads
/// that asked for it.
pub struct PerThread;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static LIVE: Cell<i64> = const { Cell::new(0) };
}

fn note(calls: u64, bytes: i64) {
    // `try_with`: the allocator also runs while thread locals are torn down.
    let _ = COUNTING.try_with(|c| {
        if c.get() {
            let _ = ALLOCS.try_with(|a| a.set(a.get() + calls));
            let _ = LIVE.try_with(|l| l.set(l.get() + bytes));
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for PerThread {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(1, layout.size() as i64);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(0, -(layout.size() as i64));
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(1, layout.size() as i64);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(1, new_size as i64 - layout.size() as i64);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Starts counting on this thread, from zero.
pub fn start() {
    ALLOCS.with(|a| a.set(0));
    LIVE.with(|l| l.set(0));
    COUNTING.with(|c| c.set(true));
}

/// Stops counting on this thread; returns the allocation calls and the
/// heap bytes left allocated since [`start`].
pub fn stop() -> (u64, i64) {
    COUNTING.with(|c| c.set(false));
    (ALLOCS.with(Cell::get), LIVE.with(Cell::get))
}

/// Heap bytes this thread has left allocated since [`start`], counting on.
pub fn live() -> i64 {
    LIVE.with(Cell::get)
}

/// Allocation calls made by `f` on this thread.
pub fn allocations(f: impl FnOnce()) -> u64 {
    start();
    f();
    stop().0
}

/// What `f` returns, and the heap bytes it leaves allocated on this thread.
pub fn live_after<T>(f: impl FnOnce() -> T) -> (T, i64) {
    start();
    let kept = f();
    (kept, stop().1)
}
