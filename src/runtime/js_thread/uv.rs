//! The few libuv calls the JS-thread executor makes, on the loop Node runs JS on.
//!
//! Node exports libuv's symbols from its own binary (node.exe on Windows); they are
//! looked up at run time (`sys::process_symbol`: `dlsym`, or `GetProcAddress` on the
//! executable) rather than linked, so the addon still loads where they are missing (a
//! runtime without libuv), and reading then simply stays on the I/O thread.
//!
//! Nothing here depends on a struct layout, which differs between Unix and Windows
//! builds of libuv: handles are opaque blocks of `uv_handle_size` bytes, and only
//! `data`, the first field of every handle on both, is touched. Sockets are watched
//! with `uv_poll_init_socket`, whose `uv_os_sock_t` is the descriptor on Unix and the
//! `SOCKET` on Windows (`uv_poll_init` takes a CRT file descriptor there, which a
//! Winsock socket is not); it is `sys::RawSocket` on both.

use std::ffi::{c_int, c_void};
use std::sync::OnceLock;

use crate::runtime::core::sys::{self, RawSocket};

/// A `uv_loop_t *`.
pub type Loop = *mut c_void;
/// A `uv_handle_t *` (a poll or async handle).
pub type Handle = *mut c_void;
/// `uv_poll_cb`.
pub type PollCb = unsafe extern "C" fn(Handle, c_int, c_int);
/// `uv_async_cb`.
pub type AsyncCb = unsafe extern "C" fn(Handle);
/// `uv_close_cb`.
pub type CloseCb = unsafe extern "C" fn(Handle);
/// `uv_check_cb`.
pub type CheckCb = unsafe extern "C" fn(Handle);

/// `UV_READABLE` of `uv_poll_event`.
pub const READABLE: c_int = 1;
/// `UV_WRITABLE` of `uv_poll_event`.
pub const WRITABLE: c_int = 2;

/// `UV_ASYNC`, `UV_CHECK` and `UV_POLL` of `uv_handle_type`.
const UV_ASYNC: c_int = 1;
const UV_CHECK: c_int = 2;
const UV_POLL: c_int = 8;

type HandleSizeFn = unsafe extern "C" fn(c_int) -> usize;
type PollInitFn = unsafe extern "C" fn(Loop, Handle, RawSocket) -> c_int;
type PollStartFn = unsafe extern "C" fn(Handle, c_int, PollCb) -> c_int;
type HandleFn = unsafe extern "C" fn(Handle) -> c_int;
type AsyncInitFn = unsafe extern "C" fn(Loop, Handle, AsyncCb) -> c_int;
type CloseFn = unsafe extern "C" fn(Handle, CloseCb);
type UnrefFn = unsafe extern "C" fn(Handle);
type CheckInitFn = unsafe extern "C" fn(Loop, Handle) -> c_int;
type CheckStartFn = unsafe extern "C" fn(Handle, CheckCb) -> c_int;

struct Api {
    handle_size: HandleSizeFn,
    poll_init: PollInitFn,
    poll_start: PollStartFn,
    poll_stop: HandleFn,
    async_init: AsyncInitFn,
    async_send: HandleFn,
    close: CloseFn,
    unref: UnrefFn,
    check_init: CheckInitFn,
    check_start: CheckStartFn,
    check_stop: HandleFn,
}

macro_rules! load {
    ($name:literal as $ty:ty) => {
        // SAFETY: the symbol is libuv's function of that name, whose C signature is
        // `$ty` (libuv 1.x ABI, stable since 1.0).
        unsafe { std::mem::transmute::<*mut c_void, $ty>(sys::process_symbol($name)?) }
    };
}

fn api() -> Option<&'static Api> {
    static API: OnceLock<Option<Api>> = OnceLock::new();
    API.get_or_init(|| {
        Some(Api {
            handle_size: load!(c"uv_handle_size" as HandleSizeFn),
            poll_init: load!(c"uv_poll_init_socket" as PollInitFn),
            poll_start: load!(c"uv_poll_start" as PollStartFn),
            poll_stop: load!(c"uv_poll_stop" as HandleFn),
            async_init: load!(c"uv_async_init" as AsyncInitFn),
            async_send: load!(c"uv_async_send" as HandleFn),
            close: load!(c"uv_close" as CloseFn),
            unref: load!(c"uv_unref" as UnrefFn),
            check_init: load!(c"uv_check_init" as CheckInitFn),
            check_start: load!(c"uv_check_start" as CheckStartFn),
            check_stop: load!(c"uv_check_stop" as HandleFn),
        })
    })
    .as_ref()
}

/// Whether this process has libuv to poll with.
pub fn available() -> bool {
    api().is_some()
}

/// Memory for a handle of `kind`, zeroed, 8-byte aligned; `None` without libuv.
fn alloc(kind: c_int) -> Option<(&'static Api, Handle)> {
    let api = api()?;
    // SAFETY: uv_handle_size is a pure lookup.
    let bytes = unsafe { (api.handle_size)(kind) };
    let words = bytes.div_ceil(8).max(1);
    let block: Box<[u64]> = vec![0u64; words].into_boxed_slice();
    Some((api, Box::into_raw(block).cast::<c_void>()))
}

/// Frees a handle from [`alloc`], once libuv has closed it.
///
/// # Safety
/// `handle` came from `alloc(kind)` and libuv no longer refers to it.
unsafe fn free(handle: Handle, kind: c_int) {
    let Some(api) = api() else { return };
    let words = (api.handle_size)(kind).div_ceil(8).max(1);
    let slice = std::ptr::slice_from_raw_parts_mut(handle.cast::<u64>(), words);
    drop(Box::from_raw(slice));
}

/// A handle of `kind` on `lp`, initialised by `init` and not keeping the loop alive
/// (the connection's event queue does that, R10); freed again if `init` fails.
///
/// # Safety
/// `lp` is the loop of the calling thread; `init` is the `uv_*_init` of `kind`.
unsafe fn open(
    lp: Loop,
    kind: c_int,
    init: impl FnOnce(&Api, Loop, Handle) -> c_int,
) -> Option<Handle> {
    let (api, handle) = alloc(kind)?;
    if init(api, lp, handle) != 0 {
        free(handle, kind);
        return None;
    }
    (api.unref)(handle);
    Some(handle)
}

/// Closes a live handle from [`open`]; libuv calls `freed` (which frees it) once.
fn close(handle: Handle, freed: CloseCb) {
    if let Some(api) = api() {
        // SAFETY: the handle is live and closed only here (its owner is consumed).
        unsafe { (api.close)(handle, freed) };
    }
}

/// The `data` word of a handle.
///
/// # Safety
/// `handle` is a live handle from this module.
pub unsafe fn data(handle: Handle) -> usize {
    *handle.cast::<usize>()
}

unsafe extern "C" fn free_poll(handle: Handle) {
    free(handle, UV_POLL);
    closed();
}

unsafe extern "C" fn free_async(handle: Handle) {
    free(handle, UV_ASYNC);
    closed();
}

unsafe extern "C" fn free_check(handle: Handle) {
    free(handle, UV_CHECK);
    closed();
}

/// Called after every handle this module closed is freed (see `runtime::js_thread`).
fn closed() {
    super::handle_closed();
}

/// A `uv_poll_t` watching one socket, not keeping the loop alive by itself.
pub struct PollHandle {
    handle: Handle,
    /// Events it watches now (0 = stopped).
    events: c_int,
}

impl PollHandle {
    /// A stopped poll handle on `sock`, with `data` in its data word.
    ///
    /// # Safety
    /// `lp` is the loop of the calling thread, and `sock` an open socket nobody else
    /// polls on that loop.
    pub unsafe fn new(lp: Loop, sock: RawSocket, data: usize) -> Option<PollHandle> {
        let handle = open(lp, UV_POLL, |api, lp, h| (api.poll_init)(lp, h, sock))?;
        *handle.cast::<usize>() = data;
        Some(PollHandle { handle, events: 0 })
    }

    /// Watches `events` from now on (`0` stops watching); no call when unchanged.
    pub fn watch(&mut self, events: c_int, cb: PollCb) {
        if events == self.events {
            return;
        }
        let Some(api) = api() else { return };
        // SAFETY: the handle is initialised and not closed (`close` consumes self).
        let rc = unsafe {
            if events == 0 {
                (api.poll_stop)(self.handle)
            } else {
                (api.poll_start)(self.handle, events, cb)
            }
        };
        if rc == 0 {
            self.events = events;
        }
    }

    /// Stops and closes the handle; its memory is freed in libuv's close callback.
    /// Call before the socket closes.
    pub fn close(self) {
        if let Some(api) = api() {
            // SAFETY: the handle is live (`close` consumes self).
            unsafe { (api.poll_stop)(self.handle) };
        }
        close(self.handle, free_poll);
    }
}

/// A `uv_async_t`: how other threads wake the JS thread's executor.
pub struct AsyncHandle {
    handle: Handle,
}

// SAFETY: uv_async_send is the one libuv call documented as safe from any thread; the
// owner closes the handle only after no other thread can reach it (`LoopWake`).
unsafe impl Send for AsyncHandle {}

impl AsyncHandle {
    /// An async handle on `lp` calling `cb`, not keeping the loop alive.
    ///
    /// # Safety
    /// `lp` is the loop of the calling thread.
    pub unsafe fn new(lp: Loop, cb: AsyncCb) -> Option<AsyncHandle> {
        let handle = open(lp, UV_ASYNC, |api, lp, h| (api.async_init)(lp, h, cb))?;
        Some(AsyncHandle { handle })
    }

    /// Makes the loop call the callback soon (coalesced: many sends, one call).
    pub fn send(&self) {
        if let Some(api) = api() {
            // SAFETY: the handle is live (see the Send impl).
            unsafe { (api.async_send)(self.handle) };
        }
    }

    /// Closes the handle (loop thread only); freed in libuv's close callback.
    pub fn close(self) {
        close(self.handle, free_async);
    }
}

/// A `uv_check_t`: runs its callback right after the loop's I/O callbacks of an
/// iteration, while started.
pub struct CheckHandle {
    handle: Handle,
    started: bool,
}

impl CheckHandle {
    /// A stopped check handle on `lp`, not keeping the loop alive.
    ///
    /// # Safety
    /// `lp` is the loop of the calling thread.
    pub unsafe fn new(lp: Loop) -> Option<CheckHandle> {
        let handle = open(lp, UV_CHECK, |api, lp, h| (api.check_init)(lp, h))?;
        Some(CheckHandle {
            handle,
            started: false,
        })
    }

    /// Starts (`true`) or stops calling `cb`; no call when unchanged.
    pub fn run(&mut self, on: bool, cb: CheckCb) {
        if on == self.started {
            return;
        }
        let Some(api) = api() else { return };
        // SAFETY: the handle is live (`close` consumes self).
        let rc = unsafe {
            if on {
                (api.check_start)(self.handle, cb)
            } else {
                (api.check_stop)(self.handle)
            }
        };
        if rc == 0 {
            self.started = on;
        }
    }

    /// Closes the handle (loop thread only); freed in libuv's close callback.
    pub fn close(self) {
        close(self.handle, free_check);
    }
}
