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
/// is there, the host runtime lets us drive it (`runtime::host`), and `OHOS_WS_POLL`
/// says `js`, or says nothing and the role's default is the JS thread.
pub fn enabled(default: Home) -> bool {
    if !crate::runtime::host::libuv_poll_allowed() || !uv::available() {
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

impl Task {
    /// Its id on this thread (the poll handle's data word, the async wake-up's entry).
    fn id(&self) -> u32 {
        self.wake.id
    }

    /// Stops watching the socket; before the socket closes.
    fn close_poll(&self) {
        if let Some(poll) = self.poll.borrow_mut().take() {
            closing();
            poll.close();
        }
    }
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
    /// The connection polled here as `id`, if it still is.
    fn task(&self, id: u32) -> Option<Rc<Task>> {
        self.tasks.borrow().get(&id).cloned()
    }

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

/// What [`ensure_thread`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// The executor was set up now: the caller registers [`teardown`] for the
    /// environment's end.
    Created,
    /// It was there already.
    Ready,
    /// It cannot be (libuv refused a handle): connections stay on the I/O thread.
    Unavailable,
}

/// Sets up this thread's executor on `uv_loop` if it has none.
///
/// # Safety
/// `uv_loop` is the libuv loop of the calling thread (the binding layer gets it from
/// the thread's environment).
pub unsafe fn ensure_thread(uv_loop: uv::Loop) -> Setup {
    if this_loop().is_some() {
        return Setup::Ready;
    }
    // SAFETY: the caller's promise (both).
    let Some(check) = (unsafe { CheckHandle::new(uv_loop) }) else {
        return Setup::Unavailable;
    };
    let Some(handle) = (unsafe { AsyncHandle::new(uv_loop, on_async) }) else {
        closing();
        check.close();
        return Setup::Unavailable;
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
    Setup::Created
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
        Ok(sock) => unsafe { PollHandle::new(lp.uv_loop, sock, id as usize) },
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
    let Some(task) = lp.task(id) else {
        return false;
    };
    drive(&lp, &task, false);
    true
}

unsafe extern "C" fn on_poll(handle: Handle, status: c_int, events: c_int) {
    // SAFETY: libuv passes back one of our live poll handles.
    let id = unsafe { uv::data(handle) } as u32;
    // An error status is for a read to find out.
    let readable = status < 0 || events & uv::READABLE != 0;
    // A panic must not unwind into libuv; the drive itself already catches the
    // driver's, so this is a last resort.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let Some(lp) = this_loop() else { return };
        if let Some(task) = lp.task(id) {
            if readable {
                task.blocked.fetch_or(MAYBE_READABLE, Ordering::Relaxed);
            }
            drive(&lp, &task, true);
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
        let Some(lp) = this_loop() else { return };
        for id in lp.wake.take() {
            if let Some(task) = lp.task(id) {
                drive(&lp, &task, true);
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

/// Runs `f` on this thread as the driver needs it: inside the tokio runtime (timers the
/// driver creates, the close deadline and heartbeat, live there), and, when `deliver`
/// (called from libuv, not from inside JS), with notifications deferred. Returns `f`'s
/// result and whether JS is owed a batch call.
fn in_driver_context<R>(deliver: bool, f: impl FnOnce() -> R) -> (R, bool) {
    let _runtime = crate::runtime::runtime().ok().map(|rt| rt.enter());
    if deliver {
        deferring_notifications(f)
    } else {
        (f(), false)
    }
}

/// How a connection's driver stopped.
enum Stopped {
    /// It ended (terminal events follow).
    Exit(Exit),
    /// Polling it panicked (a bug).
    Panicked,
}

/// Polls the driver until it has nothing more to do for now, delivering what it
/// produced when `deliver` (called from libuv, not from inside JS).
fn drive(lp: &LocalLoop, task: &Rc<Task>, deliver: bool) {
    if !task.wake.claim() {
        return;
    }
    for _ in 0..REDRIVE_ROUNDS_MAX {
        task.blocked
            .fetch_and(!(READ_BLOCKED | WRITE_BLOCKED), Ordering::Relaxed);
        let (stopped, owed) = {
            let Ok(mut slot) = task.phase.try_borrow_mut() else {
                task.wake.state.store(IDLE, Ordering::Release);
                return;
            };
            let Some(phase) = slot.as_mut() else { return };
            let mut cx = Context::from_waker(&task.waker);
            in_driver_context(deliver, || {
                match catch_unwind(AssertUnwindSafe(|| phase.driver().poll_drive(&mut cx))) {
                    Ok(Poll::Pending) => None,
                    Ok(Poll::Ready(exit)) => Some(Stopped::Exit(exit)),
                    Err(_) => Some(Stopped::Panicked),
                }
            })
        };
        if let Some(stopped) = stopped {
            end(lp, task, stopped, deliver);
            return;
        }
        watch(task);
        if owed {
            lp.owe(&task.deliver);
        }
        if task.wake.release() {
            return;
        }
    }
    // Still woken after its rounds: let the other connections and JS go first.
    task.wake.state.store(QUEUED, Ordering::Release);
    lp.wake.push(task.id());
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

/// The connection's driver stopped: terminal events, then it leaves this thread. The
/// poll handle goes before the socket closes.
fn end(lp: &LocalLoop, task: &Rc<Task>, stopped: Stopped, deliver: bool) {
    lp.tasks.borrow_mut().remove(&task.id());
    task.close_poll();
    let Some(phase) = task.phase.borrow_mut().take() else {
        return;
    };
    let ((), owed) = in_driver_context(deliver, || match stopped {
        Stopped::Exit(exit) => phase.finish(exit),
        Stopped::Panicked => phase.fail(),
    });
    if owed {
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
        task.close_poll();
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
