//! The thin `#[napi]` layer: converts JS values to engine types, starts client
//! connections ([`client`]) and servers ([`server`]), and turns event batches into one
//! JS call each. Argument shapes and BusinessError objects are the hand-written JS
//! layer's job (`lib/`); this module maps [`ClientError`] and [`ServerError`] to
//! `{code, message}` once.

pub mod client;
pub mod server;

use std::sync::{Arc, OnceLock};

use napi::bindgen_prelude::{Buffer, FnArgs, Function, Uint32Array};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;

use crate::errors::{ClientError, ServerError};
use crate::runtime::core::events::{EventQueue, Notifier};

/// A refused call, as BusinessError data (spec table (d)).
#[napi(object)]
pub struct NativeError {
    /// Business error code.
    pub code: i32,
    /// Exact message string.
    pub message: String,
    /// What went wrong, in words (the non-enumerable `detail` of the JS error).
    pub detail: String,
}

impl From<ClientError> for NativeError {
    fn from(e: ClientError) -> Self {
        NativeError {
            code: e.code(),
            message: e.message().to_string(),
            detail: e.to_string(),
        }
    }
}

impl From<ServerError> for NativeError {
    fn from(e: ServerError) -> Self {
        NativeError {
            code: e.code(),
            message: e.message().to_string(),
            detail: e.detail().to_string(),
        }
    }
}

type BatchFn = ThreadsafeFunction<(), (), FnArgs<(Buffer, Uint32Array)>, Status, false>;

/// JS's batch callback: `(payload, meta)` (see `runtime::core::events`).
pub type OnBatch<'a> = Function<'a, FnArgs<(Buffer, Uint32Array)>, ()>;

/// Wakes JS through a threadsafe function. Holding it keeps the event loop alive, which
/// is exactly the R10 / S21 contract: it exists from `connect` / `start` until the
/// terminal event.
struct TsfnNotifier(BatchFn);

impl Notifier for TsfnNotifier {
    fn notify(&self) -> bool {
        self.0.call((), ThreadsafeFunctionCallMode::NonBlocking) == Status::Ok
    }
}

/// An event queue whose batches reach `on_batch` on the JS thread, one call per batch.
fn event_queue(on_batch: OnBatch<'_>) -> napi::Result<Arc<EventQueue>> {
    let slot: Arc<OnceLock<Arc<EventQueue>>> = Arc::new(OnceLock::new());
    let for_js = slot.clone();
    let tsfn: BatchFn = on_batch
        .build_threadsafe_function::<()>()
        .callee_handled::<false>()
        .build_callback(move |_ctx| {
            let batch = for_js.get().map(|q| q.take()).unwrap_or_default();
            Ok(FnArgs::from((
                Buffer::from(batch.payload),
                Uint32Array::from(batch.meta),
            )))
        })?;
    let queue = Arc::new(EventQueue::new(Box::new(TsfnNotifier(tsfn))));
    let _ = slot.set(queue.clone());
    Ok(queue)
}

/// Test hook behind `lib/testing.js`: shortens the handshake bound of clients (R22)
/// and servers (0 restores it).
#[napi(catch_unwind)]
pub fn set_handshake_timeout_for_tests(ms: u32) {
    crate::runtime::set_handshake_timeout_for_tests(u64::from(ms));
}
