//! Runtime glue: the process-wide tokio runtime, connection tasks, TCP/TLS streams and
//! the event hand-over to JS. No napi types here either; the binding layer supplies a
//! [`events::Notifier`].

pub mod connection;
pub mod driver;
pub mod events;
pub mod heartbeat;
pub mod keys;
pub mod outbox;
pub mod stream;
pub mod tls;
pub mod tunnel;
pub mod verify;

use std::sync::OnceLock;

/// The shared runtime, created on first use. One worker thread: the JS thread and one
/// tokio thread fill the two cores this project is measured on; see bench/ (issue #5)
/// for the comparison with other shapes.
pub fn runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("ohos-websocket")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the I/O runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}
