//! The thin `#[napi]` layer: converts JS values to engine types, starts client
//! connections ([`client`]) and servers ([`server`]), and turns event batches into one
//! JS call each. Argument shapes and BusinessError objects are the hand-written JS
//! layer's job (`lib/`); this module maps [`ClientError`] and [`ServerError`] to
//! `{code, message}` once.

pub mod client;
#[cfg(test)]
mod contract_tests;
pub mod host;
mod js_thread;
pub mod server;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use napi::bindgen_prelude::{ArrayBuffer, Either, Function};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi::{Env, JsString};
use napi_derive::napi;

use crate::constants::BATCH_BUFFER_KEEP_BYTES;
use crate::errors::{ClientError, ServerError};
use crate::runtime::core::events::{Batch, EventQueue, Large, Notifier};
use crate::runtime::core::open::Handovers;
use crate::runtime::js_thread as js_thread_rt;

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

type BatchFn = ThreadsafeFunction<(), (), (), Status, false>;

/// JS's "a batch is ready" callback, called without arguments; it answers by taking the
/// batch (`takeEvents()` of the connection or server).
pub type OnBatch<'a> = Function<'a, (), ()>;

/// Wakes JS through a threadsafe function. Holding it keeps the event loop alive, which
/// is exactly the R10 / S21 contract: it exists from `connect` / `start` until the
/// terminal event.
struct TsfnNotifier(BatchFn);

impl Notifier for TsfnNotifier {
    fn notify(&self) -> bool {
        self.0.call((), ThreadsafeFunctionCallMode::NonBlocking) == Status::Ok
    }
}

/// An event queue that calls `on_batch` on the JS thread when a batch is ready, once
/// per batch, and the JS-side handle that hands the batch over. The handovers are
/// where open connections go when this thread reads them itself (`runtime::js_thread`).
fn event_queue(
    on_batch: OnBatch<'_>,
    home: js_thread_rt::Home,
) -> napi::Result<(Arc<EventQueue>, Delivery, Option<Arc<Handovers>>)> {
    let callback = js_thread::callback(&on_batch, home);
    let tsfn: BatchFn = on_batch
        .build_threadsafe_function::<()>()
        .callee_handled::<false>()
        .build_callback(|_ctx| Ok(()))?;
    let queue = Arc::new(EventQueue::new(Box::new(TsfnNotifier(tsfn))));
    let local = callback.map(|callback| LocalSide {
        callback,
        handovers: Arc::new(Handovers::default()),
    });
    let handovers = local.as_ref().map(|l| l.handovers.clone());
    let delivery = Delivery {
        queue: queue.clone(),
        scratch: RefCell::new(Batch::default()),
        large: RefCell::new(VecDeque::new()),
        local,
        task: Cell::new(None),
    };
    Ok((queue, delivery, handovers))
}

/// What a queue whose connections this thread reads needs on the JS side.
struct LocalSide {
    callback: Rc<js_thread::JsCallback>,
    handovers: Arc<Handovers>,
}

/// The JS thread's end of an event queue.
///
/// Each batch is copied into a Buffer that JS owns and reuses (one per JS thread, see
/// `takeBatch` in `lib/events.js`) rather than handed over as an external buffer: V8
/// does not count external memory it was not told about, so 1 MiB batch buffers waited
/// for a major GC and a fast peer still grew the process by what it sent, even with
/// receive flow control. A fresh V8 Buffer per batch fixed the memory but made V8
/// collect far more often; one reused Buffer costs neither (measured: `bench/README.md`,
/// "Design measurements", D6). The native buffers are reused too (see
/// `EventQueue::take_into`).
pub struct Delivery {
    queue: Arc<EventQueue>,
    scratch: RefCell<Batch>,
    /// The out-of-band messages of the batch JS is dispatching, in order.
    large: RefCell<VecDeque<Large>>,
    /// Set when this thread reads the queue's connections itself.
    local: Option<LocalSide>,
    /// The last connection adopted (a client has one): what `flush` drives.
    task: Cell<Option<u32>>,
}

/// What `takeLarge()` returns: a string, or a fresh ArrayBuffer (R59).
pub type LargeValue<'env> = Either<JsString<'env>, ArrayBuffer<'env>>;

impl Delivery {
    /// Copies everything queued into `into` as `[n: u32][meta: n × u32][payload bytes]`
    /// (native byte order) and returns its length; or, when `into` is too small, returns
    /// minus the length it needs and keeps the batch for the next call.
    fn take(&self, into: &mut [u8]) -> i64 {
        let mut batch = self.scratch.borrow_mut();
        if batch.meta.is_empty() {
            self.queue.take_into(&mut batch);
        }
        // After the take, which re-arms the queue's notification: a connection handed
        // over later announces itself again, so none is left waiting.
        if let Some(l) = &self.local {
            for phase in l.handovers.take() {
                let deliver: Rc<dyn js_thread_rt::Deliver> = l.callback.clone();
                if let Some(id) = js_thread_rt::adopt(phase, deliver) {
                    self.task.set(Some(id));
                }
            }
        }
        let meta_bytes = batch.meta.len() * 4;
        let total = 4 + meta_bytes + batch.payload.len();
        if total > into.len() {
            return -(total as i64);
        }
        into[..4].copy_from_slice(&(batch.meta.len() as u32).to_ne_bytes());
        for (chunk, word) in into[4..4 + meta_bytes].chunks_exact_mut(4).zip(&batch.meta) {
            chunk.copy_from_slice(&word.to_ne_bytes());
        }
        into[4 + meta_bytes..total].copy_from_slice(&batch.payload);
        // JS takes every LARGE_* message while it dispatches this batch; anything left of
        // the previous one (a throwing dispatch) is dropped rather than misdelivered.
        std::mem::swap(&mut *self.large.borrow_mut(), &mut batch.large);
        batch.clear();
        // Keep small buffers for reuse; give a large one (after a big message) back.
        if batch.payload.capacity() > BATCH_BUFFER_KEEP_BYTES {
            batch.payload = Vec::new();
        }
        if batch.meta.capacity() * 4 > BATCH_BUFFER_KEEP_BYTES {
            batch.meta = Vec::new();
        }
        total as i64
    }

    /// Drives the adopted connection now (`flush` on the JS thread, see
    /// `runtime::js_thread`); `false` when there is none, and the caller wakes its task.
    fn drive_now(&self) -> bool {
        self.task.get().is_some_and(js_thread_rt::drive_now)
    }

    /// The next out-of-band message of the batch being dispatched. A binary one becomes
    /// an external ArrayBuffer over the received bytes when they are ours alone, else
    /// over one copy of them; where a runtime refuses external buffers (Electron),
    /// napi-rs copies them into a V8 one instead.
    fn take_large<'env>(&self, env: &'env Env) -> napi::Result<LargeValue<'env>> {
        let Some(message) = self.large.borrow_mut().pop_front() else {
            return Err(napi::Error::from_reason("no large message is waiting"));
        };
        match message {
            Large::Text(text) => env.create_string(text.as_str()).map(Either::A),
            Large::Binary(bytes) => match bytes.try_into_mut() {
                Ok(mut owned) => {
                    let (data, len) = (owned.as_mut_ptr(), owned.len());
                    // SAFETY: `data`/`len` describe `owned`'s bytes, which the finalizer
                    // owns (moving a BytesMut does not move its heap buffer) and frees
                    // only when V8 collects the ArrayBuffer; nothing else refers to them.
                    unsafe { ArrayBuffer::from_external(env, data, len, owned, |_, b| drop(b)) }
                        .map(Either::B)
                }
                Err(shared) => ArrayBuffer::from_data(env, shared.to_vec()).map(Either::B),
            },
        }
    }
}

/// Test hook behind `lib/testing.js`: shortens the handshake bound of clients (R22)
/// and servers (0 restores it).
#[napi(catch_unwind)]
pub fn set_handshake_timeout_for_tests(ms: u32) {
    crate::runtime::set_handshake_timeout_for_tests(u64::from(ms));
}
