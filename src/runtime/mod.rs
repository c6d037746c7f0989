//! Runtime glue: the process-wide tokio runtime, connection tasks, TCP/TLS streams and
//! the event hand-over to JS. No napi types here either; the binding layer supplies a
//! [`core::events::Notifier`].
//!
//! [`core`] is the open phase both roles share; [`client`] and [`server`] hold only
//! what differs: how a connection is established, and (server) the listener.

pub mod certs;
pub mod client;
pub mod core;
pub mod diagnostics;
pub mod head;
pub mod host;
pub mod js_thread;
pub mod keys;
pub mod server;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use crate::constants::{HANDSHAKE_TIMEOUT_MS, IO_THREADS_DEFAULT, IO_THREADS_ENV};

/// Test hook (see `lib/testing.js`): a shorter R22 bound, so a test of the timeout
/// does not wait 20 s. Zero means "use the spec's value".
static HANDSHAKE_TIMEOUT_OVERRIDE_MS: AtomicU64 = AtomicU64::new(0);

/// Overrides the handshake bound for connections started afterwards (tests only).
pub fn set_handshake_timeout_for_tests(ms: u64) {
    HANDSHAKE_TIMEOUT_OVERRIDE_MS.store(ms, Ordering::Relaxed);
}

/// The bound on a whole handshake, client attempt (R22) or server accept (issue #8).
pub fn handshake_timeout() -> Duration {
    match HANDSHAKE_TIMEOUT_OVERRIDE_MS.load(Ordering::Relaxed) {
        0 => Duration::from_millis(HANDSHAKE_TIMEOUT_MS),
        ms => Duration::from_millis(ms),
    }
}

/// I/O worker threads: [`IO_THREADS_DEFAULT`], or `OHOS_WS_IO_THREADS` (1–64) when set.
fn io_threads() -> usize {
    std::env::var(IO_THREADS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| (1..=64).contains(n))
        .unwrap_or(IO_THREADS_DEFAULT)
}

/// The shared runtime, created on first use: multi-thread scheduler with one worker, so
/// the JS thread and one I/O thread fill the two cores this project is measured on.
///
/// A current-thread runtime on a thread of our own won nothing beyond noise, and the
/// multi-thread one needs no thread of ours to drive it. A second worker only competes
/// with the JS thread for the cores (large messages lose), so the default is one;
/// `OHOS_WS_IO_THREADS` overrides it. Measured: `bench/README.md`, "Design
/// measurements" (D1). Servers in several worker_threads share this runtime (one per
/// process).
pub fn runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            diagnostics::init();
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(io_threads())
                .thread_name("ohos-websocket")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the I/O runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}
