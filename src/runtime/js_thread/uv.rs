//! The libuv functions the JS-thread executor calls, on the loop Node runs JS on, and
//! what a failed call reports. The handles built on them are in [`super::handles`].
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
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use crate::constants::TEST_FAULT_ENV;
use crate::runtime::core::sys::{self, RawSocket};

/// A `uv_loop_t *`.
pub type Loop = *mut c_void;
/// A `uv_handle_t *` (a poll, async or check handle).
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

/// `UV_ASYNC` of `uv_handle_type`.
pub const UV_ASYNC: c_int = 1;
/// `UV_CHECK` of `uv_handle_type`.
pub const UV_CHECK: c_int = 2;
/// `UV_POLL` of `uv_handle_type`.
pub const UV_POLL: c_int = 8;

type HandleSizeFn = unsafe extern "C" fn(c_int) -> usize;
type PollInitFn = unsafe extern "C" fn(Loop, Handle, RawSocket) -> c_int;
type PollStartFn = unsafe extern "C" fn(Handle, c_int, PollCb) -> c_int;
type HandleFn = unsafe extern "C" fn(Handle) -> c_int;
type AsyncInitFn = unsafe extern "C" fn(Loop, Handle, AsyncCb) -> c_int;
type CloseFn = unsafe extern "C" fn(Handle, CloseCb);
type UnrefFn = unsafe extern "C" fn(Handle);
type CheckInitFn = unsafe extern "C" fn(Loop, Handle) -> c_int;
type CheckStartFn = unsafe extern "C" fn(Handle, CheckCb) -> c_int;

/// libuv's functions, as found in the host.
pub struct Api {
    pub handle_size: HandleSizeFn,
    pub poll_init: PollInitFn,
    pub poll_start: PollStartFn,
    pub poll_stop: HandleFn,
    pub async_init: AsyncInitFn,
    pub async_send: HandleFn,
    pub close: CloseFn,
    pub unref: UnrefFn,
    pub check_init: CheckInitFn,
    pub check_start: CheckStartFn,
    pub check_stop: HandleFn,
}

macro_rules! load {
    ($name:literal as $ty:ty) => {
        // SAFETY: the symbol is libuv's function of that name, whose C signature is
        // `$ty` (libuv 1.x ABI, stable since 1.0).
        unsafe { std::mem::transmute::<*mut c_void, $ty>(sys::process_symbol($name)?) }
    };
}

fn host_api() -> Option<&'static Api> {
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

/// libuv's functions; `None` in a process without libuv.
#[cfg(not(test))]
pub fn api() -> Option<&'static Api> {
    host_api()
}

/// libuv's functions, or the stand-ins a unit test installed on its thread
/// ([`fake`]): `cargo test` runs without Node, so without libuv.
/// Runs `f`, the body of a callback that libuv or the environment's cleanup calls: a
/// panic (a bug) must not unwind into C, which aborts the process, so it is caught
/// here (the panic hook has printed it) and the callback returns `None`, having done
/// less. Drops made inside `f` are covered too.
pub fn no_unwind<R>(what: &str, f: impl FnOnce() -> R) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Some(r),
        Err(_) => {
            log::debug!("a panic in {what} was caught before it reached libuv");
            None
        }
    }
}

#[cfg(test)]
pub fn api() -> Option<&'static Api> {
    fake::installed().or_else(host_api)
}

/// Whether this process has libuv to poll with.
pub fn available() -> bool {
    api().is_some()
}

/// A libuv call that failed: which one, and what it returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UvError {
    /// The function's name.
    pub call: &'static str,
    /// Its (negative) status; [`INJECTED`] for a test fault, 0 without libuv.
    pub code: c_int,
}

/// The status of a call that [`fault`] made fail without calling libuv.
pub const INJECTED: c_int = c_int::MIN;

impl UvError {
    /// `Ok` for a zero `status`, else the failure of `call`.
    pub fn check(call: &'static str, status: c_int) -> Result<(), UvError> {
        if status == 0 {
            Ok(())
        } else {
            Err(UvError { call, code: status })
        }
    }
}

impl fmt::Display for UvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.code == INJECTED {
            write!(f, "{} failed (test fault {TEST_FAULT_ENV})", self.call)
        } else if self.code == 0 {
            write!(f, "{}: no libuv in this process", self.call)
        } else {
            write!(f, "{} failed with libuv status {}", self.call, self.code)
        }
    }
}

/// A libuv call [`TEST_FAULT_ENV`] can make fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `uv_poll_start`: a connection's socket cannot be watched.
    PollStart,
    /// `uv_check_start`: batches cannot be delivered after the loop's I/O callbacks.
    CheckStart,
}

/// Whether the test fault `which` is on (the variable is read once per process).
pub fn fault(which: Fault) -> bool {
    static FAULT: OnceLock<Option<Fault>> = OnceLock::new();
    let on = FAULT.get_or_init(|| match std::env::var(TEST_FAULT_ENV).as_deref() {
        Ok("uv_poll_start") => Some(Fault::PollStart),
        Ok("uv_check_start") => Some(Fault::CheckStart),
        _ => None,
    });
    *on == Some(which)
}

/// Stand-ins for libuv's functions, installed per test thread: closes are held until
/// the test runs them (libuv calls close callbacks on a later loop iteration), and the
/// status of each start is the test's to choose.
#[cfg(test)]
pub mod fake {
    use std::cell::{Cell, RefCell};

    use super::*;

    thread_local! {
        static INSTALLED: Cell<bool> = const { Cell::new(false) };
        static CLOSES: RefCell<Vec<(Handle, CloseCb)>> = const { RefCell::new(Vec::new()) };
        static POLL_START: Cell<c_int> = const { Cell::new(0) };
        static CHECK_START: Cell<c_int> = const { Cell::new(0) };
        static SENDS: Cell<usize> = const { Cell::new(0) };
    }

    unsafe extern "C" fn handle_size(_kind: c_int) -> usize {
        // Room for the data word and what libuv would keep after it.
        64
    }
    unsafe extern "C" fn poll_init(_lp: Loop, _h: Handle, _sock: RawSocket) -> c_int {
        0
    }
    unsafe extern "C" fn poll_start(_h: Handle, _events: c_int, _cb: PollCb) -> c_int {
        POLL_START.with(Cell::get)
    }
    unsafe extern "C" fn async_init(_lp: Loop, _h: Handle, _cb: AsyncCb) -> c_int {
        0
    }
    unsafe extern "C" fn async_send(_h: Handle) -> c_int {
        SENDS.with(|s| s.set(s.get() + 1));
        0
    }
    unsafe extern "C" fn ok(_h: Handle) -> c_int {
        0
    }
    unsafe extern "C" fn close(h: Handle, cb: CloseCb) {
        CLOSES.with(|c| c.borrow_mut().push((h, cb)));
    }
    unsafe extern "C" fn unref(_h: Handle) {}
    unsafe extern "C" fn check_init(_lp: Loop, _h: Handle) -> c_int {
        0
    }
    unsafe extern "C" fn check_start(_h: Handle, _cb: CheckCb) -> c_int {
        CHECK_START.with(Cell::get)
    }

    static FAKE: Api = Api {
        handle_size,
        poll_init,
        poll_start,
        poll_stop: ok,
        async_init,
        async_send,
        close,
        unref,
        check_init,
        check_start,
        check_stop: ok,
    };

    /// Uses the stand-ins on this thread from now on.
    pub fn install() {
        INSTALLED.with(|i| i.set(true));
    }

    pub(super) fn installed() -> Option<&'static Api> {
        INSTALLED.with(Cell::get).then_some(&FAKE)
    }

    /// What `uv_poll_start` and `uv_check_start` return from now on.
    pub fn set_start_status(poll: c_int, check: c_int) {
        POLL_START.with(|s| s.set(poll));
        CHECK_START.with(|s| s.set(check));
    }

    /// Handles closed and not yet called back.
    pub fn pending_closes() -> usize {
        CLOSES.with(|c| c.borrow().len())
    }

    /// `uv_async_send` calls so far.
    pub fn sends() -> usize {
        SENDS.with(Cell::get)
    }

    /// Calls the close callbacks due, as the loop's next iteration would.
    pub fn run_closes() {
        let due = CLOSES.with(|c| std::mem::take(&mut *c.borrow_mut()));
        for (handle, cb) in due {
            // SAFETY: `cb` is the close callback given with this handle, called once,
            // after the close, as libuv does.
            unsafe { cb(handle) };
        }
    }
}
