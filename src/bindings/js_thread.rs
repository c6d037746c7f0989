//! The napi side of reading on the JS thread (`runtime::js_thread`): the thread's libuv
//! loop, the batch callback the executor calls right after a drive, and the cleanup
//! that closes the executor's handles when the environment ends (a worker thread's
//! loop may not close with handles open).

use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::Function;
use napi::{sys, JsValue};

use crate::runtime::js_thread::{self, Deliver, Home, Setup};

thread_local! {
    /// The async context every direct batch call of this thread runs in (one per
    /// thread rather than per connection: it holds a JS object).
    static ASYNC_CONTEXT: Cell<sys::napi_async_context> = const { Cell::new(ptr::null_mut()) };
}

/// JS's batch callback of one connection or server, for direct calls. Its reference is
/// strong while a connection polled on this thread may still deliver to it (see
/// [`Deliver::hold`]), weak otherwise: a strong one for the connection's whole life
/// would make a cycle through the JS object that owns the connection, and a weak one
/// alone lives only as long as the queue's threadsafe function, which is released
/// right after the terminal events are queued, before they are delivered.
pub struct JsCallback {
    env: sys::napi_env,
    func: sys::napi_ref,
    /// Holds in force; the reference is strong while this is not 0.
    holds: Cell<u32>,
}

impl Deliver for JsCallback {
    fn deliver(&self) {
        let env = self.env;
        let context = ASYNC_CONTEXT.with(Cell::get);
        // SAFETY: on the JS thread of `env` (the executor runs only there), from a libuv
        // callback: no handle scope is open, so one is opened around the call.
        // napi_make_callback runs the microtasks and nextTicks queued by it afterwards;
        // its receiver must be an object (the callback ignores it).
        unsafe {
            let mut scope = ptr::null_mut();
            if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
                return;
            }
            let mut func = ptr::null_mut();
            let mut recv = ptr::null_mut();
            if sys::napi_get_reference_value(env, self.func, &mut func) == sys::Status::napi_ok
                && !func.is_null()
                && sys::napi_get_global(env, &mut recv) == sys::Status::napi_ok
            {
                let mut result = ptr::null_mut();
                let status =
                    sys::napi_make_callback(env, context, recv, func, 0, ptr::null(), &mut result);
                if status == sys::Status::napi_pending_exception {
                    // Same as a throwing threadsafe-function call: an uncaught exception.
                    let mut error = ptr::null_mut();
                    sys::napi_get_and_clear_last_exception(env, &mut error);
                    sys::napi_fatal_exception(env, error);
                }
            }
            sys::napi_close_handle_scope(env, scope);
        }
    }

    fn hold(&self) {
        let n = self.holds.get();
        self.holds.set(n + 1);
        if n == 0 {
            let mut count = 0;
            // SAFETY: on the JS thread of `env` (Rc-held, not Send), the reference live
            // until Drop.
            unsafe { sys::napi_reference_ref(self.env, self.func, &mut count) };
        }
    }

    fn unhold(&self) {
        let n = self.holds.get().saturating_sub(1);
        self.holds.set(n);
        if n == 0 {
            let mut count = 0;
            // SAFETY: as in `hold`; the count was raised there.
            unsafe { sys::napi_reference_unref(self.env, self.func, &mut count) };
        }
    }
}

impl Drop for JsCallback {
    fn drop(&mut self) {
        // SAFETY: JsCallback is neither Send nor Sync: this is the JS thread of `env`.
        unsafe { sys::napi_delete_reference(self.env, self.func) };
    }
}

/// The environment of this thread is ending: close the executor's handles, then let
/// Node go on (it waits for the hook's removal).
unsafe extern "C" fn cleanup(handle: sys::napi_async_cleanup_hook_handle, env: *mut c_void) {
    let hook = Rc::new(Cell::new(Some(handle)));
    let remove = move || {
        if let Some(handle) = hook.take() {
            // SAFETY: the handle napi gave this hook, removed once (taken).
            unsafe { sys::napi_remove_async_cleanup_hook(handle) };
        }
    };
    let torn_down = js_thread::no_unwind("the environment's cleanup hook", || {
        let env = env as sys::napi_env;
        let context = ASYNC_CONTEXT.with(|c| c.replace(ptr::null_mut()));
        if !context.is_null() {
            // SAFETY: the context `ensure_thread` made in this environment, destroyed once
            // (taken out of the thread's slot); the environment is still alive here.
            unsafe { sys::napi_async_destroy(env, context) };
        }
        js_thread::teardown(Box::new(remove.clone()));
    });
    if torn_down.is_none() {
        // A bug: handles may be left open, but a hook never removed hangs the
        // environment's end for good (a worker's `terminate()` never resolves).
        remove();
    }
}

/// Sets this thread up for reading on it, the first time; `false` when it cannot be
/// (no libuv loop).
fn ensure_thread(env: sys::napi_env) -> bool {
    let mut uv_loop = ptr::null_mut();
    // SAFETY: `env` is the calling thread's environment.
    let status = unsafe { sys::napi_get_uv_event_loop(env, &mut uv_loop) };
    if status != sys::Status::napi_ok || uv_loop.is_null() {
        return false;
    }
    // SAFETY: napi gave the loop of this thread's environment.
    match unsafe { js_thread::ensure_thread(uv_loop.cast()) } {
        Setup::Created => {}
        Setup::Ready => return true,
        Setup::Unavailable => return false,
    }
    // SAFETY: on the JS thread of `env`; `cleanup` takes `env` back as its argument.
    let status = unsafe {
        sys::napi_add_async_cleanup_hook(env, Some(cleanup), env.cast(), ptr::null_mut())
    };
    if status != sys::Status::napi_ok {
        // Nothing would close the handles at the environment's end: close them now, and
        // read on the I/O thread.
        js_thread::teardown(Box::new(|| {}));
        return false;
    }
    // SAFETY: on the JS thread of `env`; the name is valid for the length given.
    unsafe {
        let mut resource = ptr::null_mut();
        let mut name = ptr::null_mut();
        let mut context = ptr::null_mut();
        if sys::napi_create_object(env, &mut resource) == sys::Status::napi_ok
            && sys::napi_create_string_utf8(env, c"ohos-websocket".as_ptr(), 14, &mut name)
                == sys::Status::napi_ok
            && sys::napi_async_init(env, resource, name, &mut context) == sys::Status::napi_ok
        {
            ASYNC_CONTEXT.with(|c| c.set(context));
        }
    }
    true
}

/// A callback for direct batch calls to `on_batch`, when this thread reads its
/// connections itself (`home` unless `OHOS_WS_POLL` says otherwise); `None` when they
/// stay on the I/O thread.
pub fn callback(on_batch: &Function<'_, (), ()>, home: Home) -> Option<Rc<JsCallback>> {
    let value = on_batch.value();
    if !js_thread::enabled(home) || !ensure_thread(value.env) {
        return None;
    }
    let mut func = ptr::null_mut();
    // Weak until a connection is adopted (see JsCallback).
    // SAFETY: `value` is a live function of this environment; the reference is deleted
    // by JsCallback's Drop, on this thread.
    let status = unsafe { sys::napi_create_reference(value.env, value.value, 0, &mut func) };
    (status == sys::Status::napi_ok).then(|| {
        Rc::new(JsCallback {
            env: value.env,
            func,
            holds: Cell::new(0),
        })
    })
}
