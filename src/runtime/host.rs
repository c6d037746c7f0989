//! What the JavaScript runtime hosting the addon lets us use beyond Node-API.
//!
//! Reading on the JS thread ([`super::js_thread`]) drives Node's own libuv loop through
//! the `uv_*` functions the host exports. Bun and Deno load Node-API addons too, but their
//! `uv_*` exports are stand-ins (Bun's abort with "unsupported uv function"; under Deno a
//! direct callback from the loop dies for want of a V8 handle scope), and a stand-in cannot
//! be told from the real thing by calling it. So the JS layer, which can see which runtime
//! it runs in, says so once at load, and connections then stay on the I/O thread, the home
//! that needs nothing from the host but Node-API.

use std::sync::atomic::{AtomicBool, Ordering};

static LIBUV_POLL_REFUSED: AtomicBool = AtomicBool::new(false);

/// Keeps every connection created from now on off the host's libuv loop.
pub fn refuse_libuv_poll() {
    LIBUV_POLL_REFUSED.store(true, Ordering::Relaxed);
}

/// Whether connections may be read on the JS thread through the host's libuv.
pub fn libuv_poll_allowed() -> bool {
    !LIBUV_POLL_REFUSED.load(Ordering::Relaxed)
}
