//! Reading on the JS thread (issue #10, item 2): once a connection is open, its poll
//! loop (`core::driver`, the same one tokio would run) runs on the thread of the JS
//! environment that owns it, woken by that thread's libuv loop ([`uv`]). A message
//! then goes from the socket to its listener in one wake-up of one thread, as with
//! `ws`, instead of waking the I/O thread and then the JS thread.
//!
//! Connecting, DNS, the proxy, TLS and WebSocket handshakes, and the timers stay on
//! tokio: a connection is handed over (`core::open::Handovers`) with its TLS session,
//! and a timer that fires wakes it through the thread's `uv_async_t`. Where this thread
//! has no libuv, or `OHOS_WS_POLL=io`, connections stay on tokio as before.
//!
//! Polling the existing async driver from libuv, rather than tungstenite's synchronous
//! `WebSocket` over a nonblocking stream (the candidate, not built), keeps one
//! open-phase core for both homes and both roles: flow control, write-through, large
//! frames and the close logic are the same code, and the syscalls and the frame parser
//! would be the same either way.
//!
//! Measured (`npm run bench`, one run of 3 rounds alternating `ohos` and
//! `ohos@OHOS_WS_POLL=io`, medians; JS thread vs I/O thread):
//! - client (b) round trips: p50 34.0 vs 150.1 µs, client CPU 98.8 vs 191.0 µs per
//!   round trip (an earlier run: 143.7 vs 158.4 µs); wss (b) p50 135.4 vs 160.6 µs,
//!   p99 240 vs 271 µs, CPU 67 vs 128 µs;
//! - client (a) 566k vs 536k msgs/s, (c) 64 KiB 850 vs 685 MB/s, 1 MiB 699 vs 677,
//!   wss (c) 714 vs 667, (h) 893 vs 869 conns/s;
//! - client (d) receive-only 64 B: text 2.52M vs 3.46M, binary 1.04M vs 1.29M msgs/s,
//!   (e) send-only 709k vs 1,028k (an earlier A/B: 921k vs 786k): parsing, decoding and
//!   dispatch now share one core, where the I/O thread parsed in parallel;
//! - server (s1) echo 693k vs 766k msgs/s, (s3) 64 KiB 1,312 vs 999 MB/s, but (s2)
//!   fan-out to 100 connections 184k vs 452k deliveries/s: the I/O thread, lagging
//!   behind JS, wrote several rounds per connection in one `writev` (load generator CPU
//!   0.87 vs 4.05 µs per delivery), where the JS thread writes every round at once.
//!
//! So the client is read on the JS thread by default and a server on the I/O thread;
//! `OHOS_WS_POLL=js` or `io` sets both.
//!
//! Events a drive produces are not announced through the threadsafe function (a turn
//! of the event loop per batch): when libuv woke the drive, the executor calls JS's
//! batch callback itself, once per queue, right after that iteration's I/O callbacks
//! (a `uv_check_t`). Drives that run inside a JS call (`flush`) keep the normal
//! announcement, so JS is never re-entered.

pub mod uv;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crate::constants::{POLL_ENV, POLL_ENV_IO, POLL_ENV_JS, REDRIVE_ROUNDS_MAX};
use crate::runtime::core::driver::Exit;
use crate::runtime::core::events::deferring_notifications;
use crate::runtime::core::open::OpenPhase;
use crate::runtime::core::socket::{Blocked, MAYBE_READABLE, READ_BLOCKED, WRITE_BLOCKED};
use crate::runtime::js_thread::uv::{AsyncHandle, CheckHandle, Handle, PollHandle};

/// Hands a connection's events to JS now: calls its batch callback (binding layer).
pub trait Deliver {
    /// Runs JS's batch callback on this thread (its microtasks run after it).
    fn deliver(&self);
}

/// Where a role's open connections are read by default, when `OHOS_WS_POLL` does not
/// say: on the JS thread, or on the I/O thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Home {
    /// Polled by the JS thread's libuv loop.
    JsThread,
    /// Driven by the tokio runtime's I/O thread.
    IoThread,
}

/// Whether connections of a queue created now should be read on the JS thread: libuv
/// is there, and `OHOS_WS_POLL` says `js`, or says nothing and the role's default is
/// the JS thread.
pub fn enabled(default: Home) -> bool {
    if !uv::available() {
        return false;
    }
    match std::env::var(POLL_ENV).as_deref().map(str::trim) {
        Ok(POLL_ENV_IO) => false,
        Ok(POLL_ENV_JS) => true,
        _ => default == Home::JsThread,
    }
}

const IDLE: u8 = 0;
const QUEUED: u8 = 1;
const RUNNING: u8 = 2;
const REDO: u8 = 3;

/// What other threads reach of a thread's executor: the ids they woke, and the async
/// handle that makes the loop look at them. `None` once the environment is gone.
#[derive(Default)]
struct LoopWake {
    inner: Mutex<Option<Woken>>,
}

struct Woken {
    ids: Vec<u32>,
    handle: AsyncHandle,
}

impl LoopWake {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Woken>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, id: u32) {
        if let Some(w) = self.lock().as_mut() {
            w.ids.push(id);
            w.handle.send();
        }
    }

    fn take(&self) -> Vec<u32> {
        self.lock()
            .as_mut()
            .map(|w| std::mem::take(&mut w.ids))
            .unwrap_or_default()
    }
}

/// A connection's waker: any thread may wake it; the JS thread runs it.
struct TaskWake {
    id: u32,
    state: AtomicU8,
    lp: Arc<LoopWake>,
}

impl Wake for TaskWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            let next = match s {
                IDLE => QUEUED,
                RUNNING => REDO,
                _ => return,
            };
            match self
                .state
                .compare_exchange(s, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    if next == QUEUED {
                        self.lp.push(self.id);
                    }
                    return;
                }
                Err(actual) => s = actual,
            }
        }
    }
}

/// One open connection polled by this thread.
struct Task {
    wake: Arc<TaskWake>,
    waker: Waker,
    blocked: Blocked,
    poll: RefCell<Option<PollHandle>>,
    phase: RefCell<Option<OpenPhase>>,
    deliver: Rc<dyn Deliver>,
}

/// The executor of one JS thread.
struct LocalLoop {
    uv_loop: uv::Loop,
    wake: Arc<LoopWake>,
    tasks: RefCell<HashMap<u32, Rc<Task>>>,
    next_id: Cell<u32>,
    /// Callbacks owed a call once this loop iteration's I/O callbacks are done, one per
    /// queue (a server's connections share theirs), and the check handle that calls them.
    owed: RefCell<Vec<Rc<dyn Deliver>>>,
    check: RefCell<Option<CheckHandle>>,
}

impl LocalLoop {
    /// JS is owed `deliver`'s batch: call it after this iteration's I/O callbacks.
    ///
    /// Calling it right after each drive cost a JS call (and a microtask checkpoint) per
    /// connection per wake-up: (s2) fan-out to 100 connections fell from 305k to 131k
    /// deliveries/s against the I/O-thread home, whose one threadsafe call carries every
    /// connection's events. One call per queue per iteration restores that batching.
    fn owe(&self, deliver: &Rc<dyn Deliver>) {
        let mut owed = self.owed.borrow_mut();
        if !owed.iter().any(|d| Rc::ptr_eq(d, deliver)) {
            owed.push(deliver.clone());
        }
        if let Some(check) = self.check.borrow_mut().as_mut() {
            check.run(true, on_check);
        }
    }
}

thread_local! {
    static THREAD: RefCell<Option<Rc<LocalLoop>>> = const { RefCell::new(None) };
    /// Handles closed but not yet freed by libuv, and what to call once none is left
    /// after a teardown.
    static CLOSING: Cell<usize> = const { Cell::new(0) };
    static TORN_DOWN: RefCell<Option<Box<dyn FnOnce()>>> = const { RefCell::new(None) };
}

fn this_loop() -> Option<Rc<LocalLoop>> {
    THREAD.with(|t| t.borrow().clone())
}

/// libuv freed one of our handles.
fn handle_closed() {
    let left = CLOSING.with(|c| {
        let n = c.get().saturating_sub(1);
        c.set(n);
        n
    });
    if left == 0 {
        if let Some(done) = TORN_DOWN.with(|t| t.borrow_mut().take()) {
            done();
        }
    }
}

fn closing() {
    CLOSING.with(|c| c.set(c.get() + 1));
}

/// Sets up this thread's executor on `uv_loop` if it has none. Returns `true` when it
/// was created now: the caller registers [`teardown`] for the environment's end.
///
/// # Safety
/// `uv_loop` is the libuv loop of the calling thread (the binding layer gets it from
/// the thread's environment).
pub unsafe fn ensure_thread(uv_loop: uv::Loop) -> bool {
    if this_loop().is_some() {
        return false;
    }
    // SAFETY: the caller's promise (both).
    let Some(check) = (unsafe { CheckHandle::new(uv_loop) }) else {
        return false;
    };
    let Some(handle) = (unsafe { AsyncHandle::new(uv_loop, on_async) }) else {
        closing();
        check.close();
        return false;
    };
    let wake = Arc::new(LoopWake::default());
    *wake.lock() = Some(Woken {
        ids: Vec::new(),
        handle,
    });
    let lp = Rc::new(LocalLoop {
        uv_loop,
        wake,
        tasks: RefCell::new(HashMap::new()),
        next_id: Cell::new(1),
        owed: RefCell::new(Vec::new()),
        check: RefCell::new(Some(check)),
    });
    THREAD.with(|t| *t.borrow_mut() = Some(lp));
    true
}

/// Takes over an open connection on this thread (after [`ensure_thread`]). Returns its
/// id for [`drive_now`]; `None` if it could not be polled here (it then ended with an
/// `error` and `close`).
pub fn adopt(mut phase: OpenPhase, deliver: Rc<dyn Deliver>) -> Option<u32> {
    let Some(lp) = this_loop() else {
        phase.driver().failure = Some("no event loop to poll the connection on".into());
        phase.finish(Exit::Ended);
        return None;
    };
    let id = lp.next_id.get();
    lp.next_id.set(id.wrapping_add(1).max(1));
    let blocked = Blocked::default();
    let poll = match phase.driver().socket_mut().leave_reactor(blocked.clone()) {
        // SAFETY: this thread's loop, and a socket nobody else polls here.
        Ok(fd) => unsafe { PollHandle::new(lp.uv_loop, fd as c_int, id as usize) },
        Err(_) => None,
    };
    log::debug!("{}: open; read on the JS thread", phase.driver().label);
    let Some(poll) = poll else {
        phase.driver().failure = Some("the socket could not be polled".into());
        phase.finish(Exit::Ended);
        return None;
    };
    let wake = Arc::new(TaskWake {
        id,
        state: AtomicU8::new(IDLE),
        lp: lp.wake.clone(),
    });
    let task = Rc::new(Task {
        waker: Waker::from(wake.clone()),
        wake,
        blocked,
        poll: RefCell::new(Some(poll)),
        phase: RefCell::new(Some(phase)),
        deliver,
    });
    lp.tasks.borrow_mut().insert(id, task.clone());
    // First drive on a later turn, after JS has dispatched the batch that opened it.
    task.waker.wake_by_ref();
    Some(id)
}

/// Drives connection `id` now, from inside a JS call (events are announced, not
/// delivered). `false` when it is not polled here (any more).
pub fn drive_now(id: u32) -> bool {
    let Some(lp) = this_loop() else { return false };
    let task = lp.tasks.borrow().get(&id).cloned();
    match task {
        Some(task) => {
            drive(&lp, id, &task, false);
            true
        }
        None => false,
    }
}

unsafe extern "C" fn on_poll(handle: Handle, status: c_int, events: c_int) {
    // SAFETY: libuv passes back one of our live poll handles.
    let id = unsafe { uv::data(handle) } as u32;
    // An error status is for a read to find out.
    let readable = status < 0 || events & uv::READABLE != 0;
    // A panic must not unwind into libuv; the drive itself already catches the
    // driver's, so this is a last resort.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if let Some(lp) = this_loop() {
            let task = lp.tasks.borrow().get(&id).cloned();
            if let Some(task) = task {
                if readable {
                    task.blocked.fetch_or(MAYBE_READABLE, Ordering::Relaxed);
                }
                drive(&lp, id, &task, true);
            }
        }
    }));
}

unsafe extern "C" fn on_check(_handle: Handle) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if let Some(lp) = this_loop() {
            let owed = std::mem::take(&mut *lp.owed.borrow_mut());
            for deliver in owed {
                deliver.deliver();
            }
            if lp.owed.borrow().is_empty() {
                if let Some(check) = lp.check.borrow_mut().as_mut() {
                    check.run(false, on_check);
                }
            }
        }
    }));
}

unsafe extern "C" fn on_async(_handle: Handle) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if let Some(lp) = this_loop() {
            for id in lp.wake.take() {
                let task = lp.tasks.borrow().get(&id).cloned();
                if let Some(task) = task {
                    drive(&lp, id, &task, true);
                }
            }
        }
    }));
}

impl TaskWake {
    /// Claims the task for a drive; `false` when a drive of it is under way already (it
    /// is asked to go round once more instead).
    fn claim(&self) -> bool {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            let (next, ok) = match s {
                IDLE | QUEUED => (RUNNING, true),
                _ => (REDO, false),
            };
            match self
                .state
                .compare_exchange(s, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return ok,
                Err(actual) => s = actual,
            }
        }
    }

    /// Ends a round of a drive: `true` when it may stop (now idle), `false` when it was
    /// woken meanwhile and must poll again (still running).
    fn release(&self) -> bool {
        if self
            .state
            .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return true;
        }
        self.state.store(RUNNING, Ordering::Release);
        false
    }
}

/// What one poll of the driver came to.
enum Polled {
    Pending,
    Ended(Exit),
    Panicked,
}

/// Polls the driver until it has nothing more to do for now, delivering what it
/// produced when `deliver` (called from libuv, not from inside JS).
fn drive(lp: &LocalLoop, id: u32, task: &Rc<Task>, deliver: bool) {
    if !task.wake.claim() {
        return;
    }
    for _ in 0..REDRIVE_ROUNDS_MAX {
        task.blocked
            .fetch_and(!(READ_BLOCKED | WRITE_BLOCKED), Ordering::Relaxed);
        let (polled, deferred) = {
            let Ok(mut slot) = task.phase.try_borrow_mut() else {
                task.wake.state.store(IDLE, Ordering::Release);
                return;
            };
            let Some(phase) = slot.as_mut() else { return };
            let mut cx = Context::from_waker(&task.waker);
            // Timers the driver creates (close deadline, heartbeat) live on tokio.
            let _runtime = crate::runtime::runtime().ok().map(|rt| rt.enter());
            let mut poll =
                || match catch_unwind(AssertUnwindSafe(|| phase.driver().poll_drive(&mut cx))) {
                    Ok(Poll::Pending) => Polled::Pending,
                    Ok(Poll::Ready(exit)) => Polled::Ended(exit),
                    Err(_) => Polled::Panicked,
                };
            if deliver {
                deferring_notifications(poll)
            } else {
                (poll(), false)
            }
        };
        let exit = match polled {
            Polled::Pending => None,
            Polled::Ended(exit) => Some(Some(exit)),
            Polled::Panicked => Some(None),
        };
        if let Some(exit) = exit {
            end(lp, id, task, exit, deliver || deferred);
            return;
        }
        watch(task);
        if deferred {
            lp.owe(&task.deliver);
        }
        if task.wake.release() {
            return;
        }
    }
    // Still woken after its rounds: let the other connections and JS go first.
    task.wake.state.store(QUEUED, Ordering::Release);
    lp.wake.push(id);
}

/// Asks libuv for the readiness the last poll waited on.
fn watch(task: &Task) {
    let blocked = task.blocked.load(Ordering::Relaxed);
    let mut events = 0;
    if blocked & READ_BLOCKED != 0 {
        events |= uv::READABLE;
    }
    if blocked & WRITE_BLOCKED != 0 {
        events |= uv::WRITABLE;
    }
    if let Some(poll) = task.poll.borrow_mut().as_mut() {
        poll.watch(events, on_poll);
    }
}

/// The connection ended (`None`: its driver panicked): terminal events, then it leaves
/// this thread. The poll handle goes before the socket closes.
fn end(lp: &LocalLoop, id: u32, task: &Rc<Task>, exit: Option<Exit>, deliver: bool) {
    lp.tasks.borrow_mut().remove(&id);
    if let Some(poll) = task.poll.borrow_mut().take() {
        closing();
        poll.close();
    }
    let Some(phase) = task.phase.borrow_mut().take() else {
        return;
    };
    let finish = || match exit {
        Some(exit) => phase.finish(exit),
        None => phase.fail(),
    };
    let _runtime = crate::runtime::runtime().ok().map(|rt| rt.enter());
    let ((), deferred) = if deliver {
        deferring_notifications(finish)
    } else {
        (finish(), false)
    };
    if deferred {
        lp.owe(&task.deliver);
    }
}

/// The JS environment of this thread is going away: every connection polled here is
/// dropped without events (there is no JS left to tell) and every handle closed;
/// `done` runs once libuv has freed them all.
pub fn teardown(done: Box<dyn FnOnce()>) {
    let Some(lp) = THREAD.with(|t| t.borrow_mut().take()) else {
        done();
        return;
    };
    let tasks: Vec<Rc<Task>> = lp.tasks.borrow_mut().drain().map(|(_, t)| t).collect();
    for task in tasks {
        if let Some(poll) = task.poll.borrow_mut().take() {
            closing();
            poll.close();
        }
        drop(task.phase.borrow_mut().take());
    }
    lp.owed.borrow_mut().clear();
    if let Some(check) = lp.check.borrow_mut().take() {
        closing();
        check.close();
    }
    // No other thread can reach the async handle after this.
    let woken = lp.wake.lock().take();
    if let Some(w) = woken {
        closing();
        w.handle.close();
    }
    if CLOSING.with(|c| c.get()) == 0 {
        done();
    } else {
        TORN_DOWN.with(|t| *t.borrow_mut() = Some(done));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_during_a_drive_asks_for_another_round_and_is_never_lost() {
        // No loop behind it: a queued wake-up is recorded in the state only.
        let wake = Arc::new(TaskWake {
            id: 7,
            state: AtomicU8::new(IDLE),
            lp: Arc::new(LoopWake::default()),
        });
        let waker = Waker::from(wake.clone());
        waker.wake_by_ref();
        assert_eq!(wake.state.load(Ordering::Acquire), QUEUED, "idle → queued");
        waker.wake_by_ref();
        assert_eq!(wake.state.load(Ordering::Acquire), QUEUED, "queued once");
        assert!(wake.claim());
        assert!(!wake.claim(), "a nested drive only asks for another round");
        assert!(!wake.release(), "so the running drive goes round again");
        assert!(wake.release(), "then stops");
        assert!(wake.claim());
        // A wake-up meanwhile (a timer, JS taking a batch) is a round more, not lost.
        waker.wake_by_ref();
        assert!(!wake.release());
        assert!(wake.release());
        assert_eq!(wake.state.load(Ordering::Acquire), IDLE);
        waker.wake_by_ref();
        assert_eq!(
            wake.state.load(Ordering::Acquire),
            QUEUED,
            "idle again → queued"
        );
    }
}
