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

/// JS's batch callback of one connection or server, held (weakly) for direct calls.
pub struct JsCallback {
    env: sys::napi_env,
    func: sys::napi_ref,
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
}

impl Drop for JsCallback {
    fn drop(&mut self) {
        // SAFETY: JsCallback is neither Send nor Sync: this is the JS thread of `env`.
        unsafe { sys::napi_delete_reference(self.env, self.func) };
    }
}

/// The environment of this thread is ending: close the executor's handles, then let
/// Node go on.
unsafe extern "C" fn cleanup(handle: sys::napi_async_cleanup_hook_handle, env: *mut c_void) {
    let env = env as sys::napi_env;
    let context = ASYNC_CONTEXT.with(|c| c.replace(ptr::null_mut()));
    if !context.is_null() {
        sys::napi_async_destroy(env, context);
    }
    js_thread::teardown(Box::new(move || {
        // SAFETY: the handle napi gave this hook, removed once.
        unsafe { sys::napi_remove_async_cleanup_hook(handle) };
    }));
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
    // SAFETY: on the JS thread of `env`; the names are valid for the calls.
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
        sys::napi_add_async_cleanup_hook(env, Some(cleanup), env.cast(), ptr::null_mut());
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
    // Weak: the threadsafe function of the same queue holds `on_batch` for as long as
    // anything can be delivered (a strong one here would make a cycle through the JS
    // object that owns this connection).
    // SAFETY: `value` is a live function of this environment; the reference is deleted
    // by JsCallback's Drop, on this thread.
    let status = unsafe { sys::napi_create_reference(value.env, value.value, 0, &mut func) };
    (status == sys::Status::napi_ok).then(|| {
        Rc::new(JsCallback {
            env: value.env,
            func,
        })
    })
}
