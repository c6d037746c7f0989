//! The executor's libuv handles, each owned by one value that closes it when dropped.
//!
//! A handle lives in memory of our own until libuv's close callback frees it, and a
//! thread's environment may end only after every handle closed on its loop is freed
//! (a worker's loop refuses to close with handles left). So the closes still in flight
//! are counted here, up when a handle is dropped and down in its close callback, and
//! [`after_all_closed`] runs what ends the teardown once none is left. Counting in the
//! one place that closes keeps the two in step. Counted by the callers, a count without
//! its close would leave the environment's cleanup hook waiting for good (and a
//! worker's `terminate()` with it), and a close without its count would let the loop
//! close under a handle still open.
//!
//! Handles are dropped on the loop's thread only: none of them is `Send`.
//! [`AsyncShared`] is how other threads reach an async handle, for as long as it lives.

use std::cell::{Cell, RefCell};
use std::ffi::{c_int, c_void};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::runtime::core::sys::RawSocket;
use crate::runtime::js_thread::uv::{
    self, no_unwind, AsyncCb, CheckCb, Fault, Handle, Loop, PollCb, UvError, INJECTED, UV_ASYNC,
    UV_CHECK, UV_POLL,
};

thread_local! {
    /// Handles closed on this thread whose memory libuv has not handed back yet.
    static CLOSING: Cell<usize> = const { Cell::new(0) };
    /// What runs once none is left, after a teardown.
    static ALL_CLOSED: RefCell<Option<Box<dyn FnOnce()>>> = const { RefCell::new(None) };
}

/// Runs `done` once every handle closed on this thread so far has been freed: now, or
/// from the last close callback.
pub fn after_all_closed(done: Box<dyn FnOnce()>) {
    if CLOSING.with(Cell::get) == 0 {
        done();
    } else {
        ALL_CLOSED.with(|a| *a.borrow_mut() = Some(done));
    }
}

/// Handles closed on this thread and not yet freed.
#[cfg(test)]
pub fn closing() -> usize {
    CLOSING.with(Cell::get)
}

/// libuv handed one of our handles back.
fn one_freed() {
    let left = CLOSING.with(|c| {
        let n = c.get().saturating_sub(1);
        c.set(n);
        n
    });
    if left == 0 {
        if let Some(done) = ALL_CLOSED.with(|a| a.borrow_mut().take()) {
            done();
        }
    }
}

/// The memory of a handle of `kind`: zeroed, 8-byte aligned, `uv_handle_size` bytes.
fn words(api: &uv::Api, kind: c_int) -> usize {
    // SAFETY: uv_handle_size is a pure lookup.
    let bytes = unsafe { (api.handle_size)(kind) };
    bytes.div_ceil(8).max(1)
}

/// Frees what [`Raw::open`] allocated for a handle of `KIND`: libuv's close callback.
unsafe extern "C" fn freed<const KIND: c_int>(handle: Handle) {
    no_unwind("a libuv close callback", || {
        if let Some(api) = uv::api() {
            let slice = std::ptr::slice_from_raw_parts_mut(handle.cast::<u64>(), words(api, KIND));
            // SAFETY: `handle` is the block `Raw::open` leaked for a handle of `KIND`
            // (same length), and libuv, calling its close callback, is done with it.
            drop(unsafe { Box::from_raw(slice) });
        }
        one_freed();
    });
}

/// A live, initialised handle of `KIND`, closed (and counted) when dropped.
struct Raw<const KIND: c_int> {
    handle: Handle,
}

impl<const KIND: c_int> Raw<KIND> {
    /// A handle of `KIND` on `lp`, initialised by `init` and not keeping the loop alive
    /// (the connection's event queue does that, R10).
    ///
    /// # Safety
    /// `lp` is the loop of the calling thread; `init` is the `uv_*_init` of `KIND`.
    unsafe fn open(
        lp: Loop,
        call: &'static str,
        init: impl FnOnce(&uv::Api, Loop, Handle) -> c_int,
    ) -> Result<Self, UvError> {
        let Some(api) = uv::api() else {
            return Err(UvError { call, code: 0 });
        };
        let block: Box<[u64]> = vec![0u64; words(api, KIND)].into_boxed_slice();
        let handle = Box::into_raw(block).cast::<c_void>();
        if let Err(e) = UvError::check(call, init(api, lp, handle)) {
            let slice = std::ptr::slice_from_raw_parts_mut(handle.cast::<u64>(), words(api, KIND));
            // SAFETY: the block leaked just above; a handle whose init failed is not
            // known to the loop.
            drop(unsafe { Box::from_raw(slice) });
            return Err(e);
        }
        // SAFETY: `handle` is initialised on this thread's loop.
        unsafe { (api.unref)(handle) };
        Ok(Raw { handle })
    }
}

impl<const KIND: c_int> Drop for Raw<KIND> {
    fn drop(&mut self) {
        let Some(api) = uv::api() else { return };
        CLOSING.with(|c| c.set(c.get() + 1));
        // SAFETY: the handle is live and closed only here, on its loop's thread (a Raw
        // is not Send); `freed::<KIND>` frees the block `open` allocated for KIND.
        unsafe { (api.close)(self.handle, freed::<KIND>) };
    }
}

/// A `uv_poll_t` watching one socket. Drop it before the socket closes (`uv_close`
/// stops it).
pub struct PollHandle {
    raw: Raw<UV_POLL>,
    /// Events it watches now (0 = stopped).
    events: c_int,
}

impl PollHandle {
    /// A stopped poll handle on `sock`, with `data` in its data word.
    ///
    /// # Safety
    /// `lp` is the loop of the calling thread, and `sock` an open socket nobody else
    /// polls on that loop.
    pub unsafe fn new(lp: Loop, sock: RawSocket, data: usize) -> Result<PollHandle, UvError> {
        // SAFETY: the caller's promise; uv_poll_init_socket is the init of a poll handle.
        let raw = unsafe {
            Raw::<UV_POLL>::open(lp, "uv_poll_init_socket", |api, lp, h| {
                (api.poll_init)(lp, h, sock)
            })
        }?;
        // SAFETY: `data` is the first field of every libuv handle, and the block is at
        // least a handle's size and 8-byte aligned.
        unsafe { *raw.handle.cast::<usize>() = data };
        Ok(PollHandle { raw, events: 0 })
    }

    /// Watches `events` from now on (`0` stops watching); no call when unchanged.
    pub fn watch(&mut self, events: c_int, cb: PollCb) -> Result<(), UvError> {
        if events == self.events {
            return Ok(());
        }
        let Some(api) = uv::api() else { return Ok(()) };
        let status = if events == 0 {
            // SAFETY: the handle is live (closed only by Drop).
            UvError::check("uv_poll_stop", unsafe { (api.poll_stop)(self.raw.handle) })
        } else if uv::fault(Fault::PollStart) {
            Err(UvError {
                call: "uv_poll_start",
                code: INJECTED,
            })
        } else {
            UvError::check(
                "uv_poll_start",
                // SAFETY: as above.
                unsafe { (api.poll_start)(self.raw.handle, events, cb) },
            )
        };
        status.map(|()| self.events = events)
    }
}

/// The `data` word of a handle.
///
/// # Safety
/// `handle` is a live handle of this module.
pub unsafe fn data(handle: Handle) -> usize {
    // SAFETY: the caller's promise: `data` is a handle's first field.
    unsafe { *handle.cast::<usize>() }
}

/// A handle pointer other threads may hold: only `uv_async_send` is called on it, under
/// [`AsyncShared`]'s lock, while the handle lives.
struct SendHandle(Handle);

// SAFETY: uv_async_send is the one libuv call documented as safe from any thread, and
// it is the only use of this pointer off the loop thread (see `AsyncShared`).
unsafe impl Send for SendHandle {}

/// What other threads reach of a `uv_async_t`: an inbox `T` and the wake-up; both gone
/// once the handle is dropped, so nothing can wake a closed handle.
pub struct AsyncShared<T> {
    live: Mutex<Option<(SendHandle, T)>>,
}

impl<T> Default for AsyncShared<T> {
    /// A detached one: posts go nowhere (for tests, and never-started loops).
    fn default() -> Self {
        AsyncShared {
            live: Mutex::new(None),
        }
    }
}

impl<T: Default> AsyncShared<T> {
    fn lock(&self) -> MutexGuard<'_, Option<(SendHandle, T)>> {
        // A poisoned lock only means a panic elsewhere; the inbox is still sound.
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds to the inbox with `f` and has the loop call the handle's callback soon (many
    /// posts, one call); `false`, and no change, once the handle is gone.
    pub fn post(&self, f: impl FnOnce(&mut T)) -> bool {
        let mut live = self.lock();
        let Some((handle, inbox)) = live.as_mut() else {
            return false;
        };
        f(inbox);
        if let Some(api) = uv::api() {
            // SAFETY: the handle lives while it is here: its owner takes it out, under
            // this lock, before closing it; uv_async_send may be called from any thread.
            unsafe { (api.async_send)(handle.0) };
        }
        true
    }

    /// Everything posted so far (the loop's thread).
    pub fn take(&self) -> T {
        self.lock()
            .as_mut()
            .map(|(_, inbox)| std::mem::take(inbox))
            .unwrap_or_default()
    }
}

/// A `uv_async_t`: how other threads wake the loop, through its [`AsyncShared`].
pub struct AsyncHandle<T: Default> {
    /// Only ever closed (by its Drop), after `drop` below detaches `shared`.
    _raw: Raw<UV_ASYNC>,
    shared: Arc<AsyncShared<T>>,
}

impl<T: Default> AsyncHandle<T> {
    /// An async handle on `lp` calling `cb`, and its shared side, with an empty inbox.
    ///
    /// # Safety
    /// `lp` is the loop of the calling thread.
    pub unsafe fn new(lp: Loop, cb: AsyncCb) -> Result<AsyncHandle<T>, UvError> {
        // SAFETY: the caller's promise; uv_async_init is the init of an async handle.
        let raw = unsafe {
            Raw::<UV_ASYNC>::open(lp, "uv_async_init", |api, lp, h| {
                (api.async_init)(lp, h, cb)
            })
        }?;
        let shared = Arc::new(AsyncShared {
            live: Mutex::new(Some((SendHandle(raw.handle), T::default()))),
        });
        Ok(AsyncHandle { _raw: raw, shared })
    }

    /// What other threads hold to post to this loop.
    pub fn shared(&self) -> &Arc<AsyncShared<T>> {
        &self.shared
    }
}

impl<T: Default> Drop for AsyncHandle<T> {
    fn drop(&mut self) {
        // Before `raw` closes it: no thread can send to the handle after this.
        let live = self.shared.lock().take();
        drop(live);
    }
}

/// A `uv_check_t`: runs its callback right after the loop's I/O callbacks of an
/// iteration, while started.
pub struct CheckHandle {
    raw: Raw<UV_CHECK>,
    started: bool,
}

impl CheckHandle {
    /// A stopped check handle on `lp`.
    ///
    /// # Safety
    /// `lp` is the loop of the calling thread.
    pub unsafe fn new(lp: Loop) -> Result<CheckHandle, UvError> {
        // SAFETY: the caller's promise; uv_check_init is the init of a check handle.
        let raw = unsafe {
            Raw::<UV_CHECK>::open(lp, "uv_check_init", |api, lp, h| (api.check_init)(lp, h))
        }?;
        Ok(CheckHandle {
            raw,
            started: false,
        })
    }

    /// Starts (`true`) or stops calling `cb`; no call when unchanged.
    pub fn run(&mut self, on: bool, cb: CheckCb) -> Result<(), UvError> {
        if on == self.started {
            return Ok(());
        }
        let Some(api) = uv::api() else { return Ok(()) };
        let status = if !on {
            // SAFETY: the handle is live (closed only by Drop).
            UvError::check("uv_check_stop", unsafe {
                (api.check_stop)(self.raw.handle)
            })
        } else if uv::fault(Fault::CheckStart) {
            Err(UvError {
                call: "uv_check_start",
                code: INJECTED,
            })
        } else {
            // SAFETY: as above.
            UvError::check("uv_check_start", unsafe {
                (api.check_start)(self.raw.handle, cb)
            })
        };
        status.map(|()| self.started = on)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::js_thread::uv::fake;

    unsafe extern "C" fn never_poll(_h: Handle, _s: c_int, _e: c_int) {}
    unsafe extern "C" fn never(_h: Handle) {}

    /// A loop pointer the stand-ins never read.
    const LOOP: Loop = std::ptr::null_mut();

    fn counted(done: &std::rc::Rc<Cell<bool>>) -> Box<dyn FnOnce()> {
        let done = done.clone();
        Box::new(move || done.set(true))
    }

    #[test]
    fn every_handle_closes_itself_and_the_teardown_waits_for_the_last_free() {
        fake::install();
        // SAFETY: the stand-ins touch neither the loop nor the socket.
        let poll = unsafe { PollHandle::new(LOOP, 0 as RawSocket, 7) }.unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { data(poll.raw.handle) }, 7);
        // SAFETY: as above.
        let check = unsafe { CheckHandle::new(LOOP) }.unwrap();
        // SAFETY: as above.
        let wake = unsafe { AsyncHandle::<Vec<u32>>::new(LOOP, never) }.unwrap();
        assert_eq!((closing(), fake::pending_closes()), (0, 0));
        drop(poll);
        drop(check);
        assert_eq!((closing(), fake::pending_closes()), (2, 2));
        let done = std::rc::Rc::new(Cell::new(false));
        after_all_closed(counted(&done));
        assert!(!done.get(), "not before libuv frees them");
        fake::run_closes();
        assert_eq!(closing(), 0);
        assert!(done.get(), "the last close callback ends the teardown");
        drop(wake);
        assert_eq!((closing(), fake::pending_closes()), (1, 1));
        let later = std::rc::Rc::new(Cell::new(false));
        after_all_closed(counted(&later));
        fake::run_closes();
        assert!(later.get());
        let now = std::rc::Rc::new(Cell::new(false));
        after_all_closed(counted(&now));
        assert!(now.get(), "nothing in flight: at once");
    }

    #[test]
    fn a_refused_start_is_reported_and_not_taken_for_a_start() {
        fake::install();
        // SAFETY: the stand-ins touch neither the loop nor the socket.
        let mut poll = unsafe { PollHandle::new(LOOP, 0 as RawSocket, 1) }.unwrap();
        // SAFETY: as above.
        let mut check = unsafe { CheckHandle::new(LOOP) }.unwrap();
        fake::set_start_status(-9, -22);
        let err = poll.watch(uv::READABLE, never_poll).unwrap_err();
        assert_eq!((err.call, err.code), ("uv_poll_start", -9));
        assert_eq!(check.run(true, never).unwrap_err().call, "uv_check_start");
        fake::set_start_status(0, 0);
        assert!(poll.watch(uv::READABLE, never_poll).is_ok(), "tried again");
        assert_eq!(poll.events, uv::READABLE);
        assert!(check.run(true, never).is_ok());
        drop((poll, check));
        fake::run_closes();
        assert_eq!(closing(), 0);
    }

    #[test]
    fn other_threads_cannot_wake_an_async_handle_once_it_is_dropped() {
        fake::install();
        // SAFETY: the stand-ins touch no loop.
        let wake = unsafe { AsyncHandle::<Vec<u32>>::new(LOOP, never) }.unwrap();
        let shared = wake.shared().clone();
        assert!(shared.post(|ids| ids.push(3)));
        assert_eq!(fake::sends(), 1);
        assert_eq!(shared.take(), vec![3]);
        drop(wake);
        assert!(!shared.post(|ids| ids.push(4)), "gone with its handle");
        assert_eq!(fake::sends(), 1);
        assert!(shared.take().is_empty());
        fake::run_closes();
    }

    #[test]
    fn a_panic_in_what_ends_the_teardown_stays_out_of_libuv() {
        fake::install();
        // SAFETY: the stand-ins touch no loop.
        let check = unsafe { CheckHandle::new(LOOP) }.unwrap();
        drop(check);
        after_all_closed(Box::new(|| panic!("a bug in the teardown")));
        // An unwind out of the extern "C" close callback would abort the test binary.
        fake::run_closes();
        assert_eq!(closing(), 0);
    }
}
