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
//! Measured against the I/O thread (`bench/README.md`, "Design measurements", D10): the
//! JS thread wins a client's round-trip latency and CPU per round trip (large messages
//! went either way between runs); the I/O thread wins receive-only throughput (parsing no longer runs in
//! parallel with JS) and a server's fan-out (lagging behind JS, it writes several rounds
//! per connection in one `writev`).
//!
//! So the client is read on the JS thread by default and a server on the I/O thread;
//! `OHOS_WS_POLL=js` or `io` sets both.
//!
//! Events a drive produces are not announced through the threadsafe function (a turn
//! of the event loop per batch): when libuv woke the drive, the executor calls JS's
//! batch callback itself, once per queue, right after that iteration's I/O callbacks
//! (a `uv_check_t`). Drives that run inside a JS call (`flush`) keep the normal
//! announcement, so JS is never re-entered.
//!
//! When libuv refuses a call a connection needs to go on (`uv_poll_start` for its
//! socket, `uv_check_start` for its batches), the connection ends with `error` then
//! `close` (1006) rather than wait for events that will never come. Every callback
//! libuv or the environment's cleanup calls runs under [`no_unwind`].

mod handles;
mod uv;
mod wake;

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::constants::{POLL_ENV, POLL_ENV_IO, POLL_ENV_JS, REDRIVE_ROUNDS_MAX};
use crate::runtime::core::driver::Exit;
use crate::runtime::core::events::deferring_notifications;
use crate::runtime::core::open::OpenPhase;
use crate::runtime::core::socket::{Blocked, MAYBE_READABLE, READ_BLOCKED, WRITE_BLOCKED};
use crate::runtime::js_thread::handles::{AsyncHandle, CheckHandle, PollHandle};
pub use crate::runtime::js_thread::uv::no_unwind;
use crate::runtime::js_thread::uv::{Handle, UvError};
use crate::runtime::js_thread::wake::{Ids, TaskWake, Woken};

/// Hands a connection's events to JS now: calls its batch callback (binding layer).
pub trait Deliver {
    /// Runs JS's batch callback on this thread (its microtasks run after it).
    fn deliver(&self);
    /// Keeps the callback callable until the matching [`Deliver::unhold`]: a connection
    /// polled here may still owe it a batch. Holds nest.
    fn hold(&self);
    /// Ends one [`Deliver::hold`].
    fn unhold(&self);
}

/// A batch callback held callable for as long as this value lives (a clone holds it
/// once more): from a connection's adoption until its final batch is delivered, or
/// the environment ends. The threadsafe function of the same queue, which holds the
/// callback too, is released right after the terminal events are queued, before the
/// executor delivers them.
struct Held(Rc<dyn Deliver>);

impl Held {
    fn new(deliver: Rc<dyn Deliver>) -> Held {
        deliver.hold();
        Held(deliver)
    }

    fn deliver(&self) {
        self.0.deliver();
    }

    /// Whether both hold the callback of one queue.
    fn same(&self, other: &Held) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Clone for Held {
    fn clone(&self) -> Held {
        Held::new(self.0.clone())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.unhold();
    }
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

/// One open connection polled by this thread.
struct Task {
    wake: Arc<TaskWake>,
    waker: Waker,
    blocked: Blocked,
    /// Declared before `phase`: the poll handle goes before the socket closes.
    poll: RefCell<Option<PollHandle>>,
    phase: RefCell<Option<OpenPhase>>,
    deliver: Held,
}

impl Task {
    fn id(&self) -> u32 {
        self.wake.id()
    }

    /// Stops watching the socket; before the socket closes.
    fn close_poll(&self) {
        drop(self.poll.borrow_mut().take());
    }
}

/// The executor of one JS thread.
struct LocalLoop {
    uv_loop: uv::Loop,
    tasks: RefCell<HashMap<u32, Rc<Task>>>,
    ids: Ids,
    /// Callbacks owed a call once this loop iteration's I/O callbacks are done, one per
    /// queue (a server's connections share theirs), and the check handle that calls them.
    owed: RefCell<Vec<Held>>,
    check: RefCell<Option<CheckHandle>>,
    /// How other threads wake connections of this loop (the inbox holds their ids).
    woken: Arc<Woken>,
    wake_handle: RefCell<Option<AsyncHandle<Vec<u32>>>>,
}

impl LocalLoop {
    /// The connection polled here as `id`, if it still is.
    fn task(&self, id: u32) -> Option<Rc<Task>> {
        self.tasks.borrow().get(&id).cloned()
    }

    /// JS is owed `held`'s batch: call it after this iteration's I/O callbacks. An
    /// error when libuv refuses to call us then.
    ///
    /// Calling it right after each drive cost a JS call (and a microtask checkpoint) per
    /// connection per wake-up, which lost a server's fan-out to the I/O-thread home, whose
    /// one threadsafe call carries every connection's events (D11 in `bench/README.md`,
    /// "Design measurements"). One call per queue per iteration restores that batching.
    fn owe(&self, held: &Held) -> Result<(), UvError> {
        if let Some(check) = self.check.borrow_mut().as_mut() {
            check.run(true, on_check)?;
        }
        let mut owed = self.owed.borrow_mut();
        if !owed.iter().any(|h| h.same(held)) {
            owed.push(held.clone());
        }
        Ok(())
    }

    /// [`LocalLoop::owe`], or the call now when libuv will not make it later: a
    /// connection's terminal events must reach JS either way.
    fn owe_or_deliver_now(&self, held: &Held) {
        if let Err(e) = self.owe(held) {
            log::debug!("{e}: a final batch is delivered at once");
            held.deliver();
        }
    }

    /// The environment is going away: every connection polled here is dropped without
    /// events (there is no JS left to tell) and every handle closed.
    fn close(&self) {
        let tasks: Vec<Rc<Task>> = self.tasks.borrow_mut().drain().map(|(_, t)| t).collect();
        for task in tasks {
            task.close_poll();
            if let Ok(mut phase) = task.phase.try_borrow_mut() {
                drop(phase.take());
            }
        }
        self.owed.borrow_mut().clear();
        drop(self.check.borrow_mut().take());
        drop(self.wake_handle.borrow_mut().take());
    }
}

/// This thread's executor, if it has one.
struct Slot(RefCell<Option<Rc<LocalLoop>>>);

impl Drop for Slot {
    /// The thread ends with its executor still set up: its environment was never torn
    /// down (a main thread's `process.exit()`), so its loop and environment may be gone
    /// already. Closing handles or releasing references there would touch freed
    /// memory; the process is ending, so they are left as they are.
    fn drop(&mut self) {
        if let Some(lp) = self.0.get_mut().take() {
            std::mem::forget(lp);
        }
    }
}

thread_local! {
    static THREAD: Slot = const { Slot(RefCell::new(None)) };
}

fn this_loop() -> Option<Rc<LocalLoop>> {
    THREAD.with(|t| t.0.borrow().clone())
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
    // SAFETY: the caller's promise.
    let check = unsafe { CheckHandle::new(uv_loop) };
    // SAFETY: as above.
    let wake_handle = unsafe { AsyncHandle::new(uv_loop, on_async) };
    // One made before the other was refused closes itself on the way out.
    let (check, wake_handle) = match (check, wake_handle) {
        (Ok(check), Ok(wake_handle)) => (check, wake_handle),
        (Err(e), _) | (_, Err(e)) => {
            log::debug!("open connections stay on the I/O thread: {e}");
            return Setup::Unavailable;
        }
    };
    let lp = Rc::new(LocalLoop {
        uv_loop,
        tasks: RefCell::new(HashMap::new()),
        ids: Ids::default(),
        owed: RefCell::new(Vec::new()),
        check: RefCell::new(Some(check)),
        woken: wake_handle.shared().clone(),
        wake_handle: RefCell::new(Some(wake_handle)),
    });
    THREAD.with(|t| *t.0.borrow_mut() = Some(lp));
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
    let id = lp.ids.next(|id| lp.tasks.borrow().contains_key(&id));
    let blocked = Blocked::default();
    let poll = match phase.driver().socket_mut().leave_reactor(blocked.clone()) {
        Ok(sock) => {
            // SAFETY: this thread's loop, and a socket nobody else polls here.
            let poll = unsafe { PollHandle::new(lp.uv_loop, sock, id as usize) };
            poll.map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    log::debug!("{}: open; read on the JS thread", phase.driver().label);
    let poll = match poll {
        Ok(poll) => poll,
        Err(why) => {
            phase.driver().failure = Some(format!("the socket could not be polled: {why}"));
            phase.finish(Exit::Ended);
            return None;
        }
    };
    let wake = Arc::new(TaskWake::new(id, lp.woken.clone()));
    let task = Rc::new(Task {
        waker: Waker::from(wake.clone()),
        wake,
        blocked,
        poll: RefCell::new(Some(poll)),
        phase: RefCell::new(Some(phase)),
        deliver: Held::new(deliver),
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
    no_unwind("the poll callback", || {
        // SAFETY: libuv passes back one of our live poll handles.
        let id = unsafe { handles::data(handle) } as u32;
        // An error status is for a read to find out.
        let readable = status < 0 || events & uv::READABLE != 0;
        let Some(lp) = this_loop() else { return };
        if let Some(task) = lp.task(id) {
            if readable {
                task.blocked.fetch_or(MAYBE_READABLE, Ordering::Relaxed);
            }
            drive(&lp, &task, true);
        }
    });
}

unsafe extern "C" fn on_check(_handle: Handle) {
    no_unwind("the check callback", || {
        let Some(lp) = this_loop() else { return };
        let owed = std::mem::take(&mut *lp.owed.borrow_mut());
        for held in &owed {
            held.deliver();
        }
        // Their batches are delivered: the callbacks of connections that ended here
        // need not stay callable any more.
        drop(owed);
        if lp.owed.borrow().is_empty() {
            if let Some(check) = lp.check.borrow_mut().as_mut() {
                // A refused stop leaves it running idle; the next call tries again.
                let _ = check.run(false, on_check);
            }
        }
    });
}

unsafe extern "C" fn on_async(_handle: Handle) {
    no_unwind("the async callback", || {
        let Some(lp) = this_loop() else { return };
        for id in lp.woken.take() {
            if let Some(task) = lp.task(id) {
                drive(&lp, &task, true);
            }
        }
    });
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
                task.wake.abandon();
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
            if end(lp, task, stopped, deliver) {
                lp.owe_or_deliver_now(&task.deliver);
            }
            return;
        }
        if let Err(e) = watch(task) {
            if refused(lp, task, e, deliver) {
                lp.owe_or_deliver_now(&task.deliver);
            }
            return;
        }
        if owed {
            if let Err(e) = lp.owe(&task.deliver) {
                // This round's batch waits on the check too: deliver it with the
                // terminal events, now (`deliver`: this is a libuv callback).
                refused(lp, task, e, deliver);
                task.deliver.deliver();
                return;
            }
        }
        if task.wake.release() {
            return;
        }
    }
    task.wake.requeue();
}

/// Asks libuv for the readiness the last poll waited on.
fn watch(task: &Task) -> Result<(), UvError> {
    let blocked = task.blocked.load(Ordering::Relaxed);
    let mut events = 0;
    if blocked & READ_BLOCKED != 0 {
        events |= uv::READABLE;
    }
    if blocked & WRITE_BLOCKED != 0 {
        events |= uv::WRITABLE;
    }
    match task.poll.borrow_mut().as_mut() {
        Some(poll) => poll.watch(events, on_poll),
        None => Ok(()),
    }
}

/// libuv refused a call the connection needs to go on: it ends with `error` then
/// `close` (1006), as a broken connection does. `true` when JS is owed a batch call.
fn refused(lp: &LocalLoop, task: &Rc<Task>, err: UvError, deliver: bool) -> bool {
    if let Ok(mut slot) = task.phase.try_borrow_mut() {
        if let Some(phase) = slot.as_mut() {
            phase.driver().failure = Some(format!("the JS thread's event loop failed: {err}"));
        }
    }
    end(lp, task, Stopped::Exit(Exit::Ended), deliver)
}

/// The connection's driver stopped: it leaves this thread (the poll handle goes before
/// the socket closes), then its terminal events are queued. `true` when JS is owed a
/// batch call for them.
fn end(lp: &LocalLoop, task: &Rc<Task>, stopped: Stopped, deliver: bool) -> bool {
    lp.tasks.borrow_mut().remove(&task.id());
    task.close_poll();
    let Some(phase) = task.phase.borrow_mut().take() else {
        return false;
    };
    let ((), owed) = in_driver_context(deliver, || match stopped {
        Stopped::Exit(exit) => phase.finish(exit),
        Stopped::Panicked => phase.fail(),
    });
    owed
}

/// The JS environment of this thread is going away: every connection polled here is
/// dropped without events (there is no JS left to tell) and every handle closed;
/// `done` runs once libuv has freed them all.
pub fn teardown(done: Box<dyn FnOnce()>) {
    if let Some(lp) = THREAD.with(|t| t.0.borrow_mut().take()) {
        lp.close();
    }
    handles::after_all_closed(done);
}

#[cfg(test)]
mod tests;
