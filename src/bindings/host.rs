//! The host runtime's capabilities, as reported by the JS layer (see `runtime::host`).

use napi_derive::napi;

use crate::runtime::host;

/// Called once at load by `lib/` when the host is not Node.js: connections are then read
/// on the I/O thread only.
#[napi]
pub fn refuse_libuv_poll() {
    host::refuse_libuv_poll();
}
