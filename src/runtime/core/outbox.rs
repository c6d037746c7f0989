//! Commands from JS to a connection task, with the wake-up decoupled from the push.
//!
//! `send()` pushes without waking; JS wakes the task once per microtask checkpoint
//! (`flush`). Waking a parked tokio thread is a futex syscall plus a context switch, so
//! one wake per JS tick brings a burst of sends down to one syscall (measured:
//! `bench/README.md`, "Design measurements", D3).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

use crate::runtime::core::command::Command;

/// The command queue of one connection.
#[derive(Default)]
pub struct Outbox {
    pending: Mutex<Vec<Command>>,
    waker: AtomicWaker,
    detached: AtomicBool,
}

impl Outbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Command>> {
        // A poisoned lock only means a panic elsewhere; the queue itself is intact.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a command without waking the task. Returns `true` when the queue was
    /// empty: the caller owes this outbox one [`Outbox::wake`] (a server keeps a list of
    /// such outboxes and wakes each once per JS tick). Race-free because the task
    /// only takes commands after a wake-up that follows the push that made it non-empty.
    pub fn push(&self, cmd: Command) -> bool {
        let mut pending = self.lock();
        pending.push(cmd);
        pending.len() == 1
    }

    /// Nothing queued (write-through must not overtake queued frames).
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Wakes the task so it picks up everything pushed so far.
    pub fn wake(&self) {
        self.waker.wake();
    }

    /// JS dropped its handle (environment teardown): the task should stop.
    pub fn detach(&self) {
        self.detached.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Moves all queued commands into `into`. `Ready(false)` = JS is gone;
    /// `Ready(true)` = got commands; `Pending` = nothing yet (waker registered).
    pub fn poll_take(&self, cx: &mut Context<'_>, into: &mut Vec<Command>) -> Poll<bool> {
        self.waker.register(cx.waker());
        if self.detached.load(Ordering::Acquire) {
            return Poll::Ready(false);
        }
        let mut pending = self.lock();
        if pending.is_empty() {
            return Poll::Pending;
        }
        std::mem::swap(&mut *pending, into);
        Poll::Ready(true)
    }
}
