//! Entering and leaving the open phase, for both roles: the tungstenite stream over a
//! finished handshake, the driver loop, and the terminal events of R61/R62 (S18, S20).

use std::future::poll_fn;
use std::sync::{Arc, Mutex};

use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use crate::constants::{
    MAX_INCOMING_MESSAGE_BYTES, READ_BUFFER_BYTES, WRITE_BUFFER_BYTES, WRITE_BUFFER_MAX_BYTES,
};
use crate::engine::close::Ending;
use crate::engine::session::Outcome;
use crate::errors::ClientError;
use crate::runtime::core::driver::{Driver, Exit, Start};
use crate::runtime::core::events::{Batch, EventQueue};
use crate::runtime::core::link::Link;
use crate::runtime::core::transport::{MaybeTls, Transport};

/// tungstenite limits and buffer sizes, the same for both roles (R59).
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(WRITE_BUFFER_MAX_BYTES)
        .max_message_size(Some(MAX_INCOMING_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_INCOMING_MESSAGE_BYTES))
}

/// What a connection does once its open phase is over, after its terminal events: the
/// client releases its event queue, a server connection leaves the registry.
pub type OnEnd = Box<dyn FnOnce() + Send>;

/// Runs the open phase of a connection of `role` over `stream` (with `leftover`, the
/// bytes read past the handshake). Where the JS thread polls sockets itself
/// (`handovers` given), the connection is handed to it and this returns at once;
/// otherwise the phase runs here until it ends. Either way `on_end` runs after the
/// terminal events.
pub async fn run(
    stream: MaybeTls,
    leftover: Vec<u8>,
    role: Role,
    start: Start,
    handovers: Option<Arc<Handovers>>,
    on_end: OnEnd,
) {
    // The leftover goes to the link's read side, which counts frame boundaries from it.
    let link = Link::new(stream, role == Role::Server, leftover);
    let ws = WebSocketStream::from_raw_socket(link, role, Some(ws_config())).await;
    let mut driver = Driver::new(ws, start);
    if let Some(handovers) = handovers {
        let queue = driver.queue.clone();
        handovers.push(OpenPhase::new(driver, on_end));
        queue.announce();
        return;
    }
    log::debug!("{}: open; read on the I/O thread", driver.label);
    let exit = poll_fn(|cx| driver.poll_drive(cx)).await;
    end(&mut driver, exit);
    on_end();
}

/// An open connection handed from its tokio task to the JS thread (`runtime::js_thread`).
pub struct OpenPhase {
    driver: Driver,
    on_end: OnEnd,
}

impl OpenPhase {
    fn new(driver: Driver, on_end: OnEnd) -> Self {
        OpenPhase { driver, on_end }
    }

    /// The connection's poll loop.
    pub fn driver(&mut self) -> &mut Driver {
        &mut self.driver
    }

    /// The driver stopped with `exit`: terminal events, then the role's `on_end`.
    pub fn finish(mut self, exit: Exit) {
        end(&mut self.driver, exit);
        (self.on_end)();
    }

    /// Polling the driver panicked (a bug): see [`report_panic`].
    pub fn fail(mut self) {
        let d = &mut self.driver;
        report_panic(&d.label, &d.queue, &mut d.local);
        (self.on_end)();
    }
}

/// Open connections waiting for the JS thread to adopt them, in the order they opened;
/// one list per client connection or per server.
#[derive(Default)]
pub struct Handovers {
    waiting: Mutex<Vec<OpenPhase>>,
}

impl Handovers {
    fn push(&self, phase: OpenPhase) {
        self.lock().push(phase);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<OpenPhase>> {
        // A poisoned lock only means a panic elsewhere; the list is intact.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything handed over so far (JS thread).
    pub fn take(&self) -> Vec<OpenPhase> {
        std::mem::take(&mut *self.lock())
    }
}

/// Submits the terminal events of a driver that stopped with `exit` (none when JS is
/// gone: nothing more can be delivered).
pub fn end<S: Transport>(driver: &mut Driver<S>, exit: Exit) {
    if let Exit::JsGone = exit {
        return;
    }
    let ending = match driver.session.finish() {
        Outcome::Closed(ending) => ending,
        // The open phase never starts before the handshake: treat it as abnormal.
        Outcome::Failed => Ending::Abnormal,
    };
    let detail = driver.failure.take().unwrap_or_default();
    report_closed(
        &driver.label,
        &ending,
        &detail,
        &driver.queue,
        &mut driver.local,
    );
}

/// A panic (a bug) ended an open connection, in whichever role and home: it ends as
/// abnormal, like a lost link (`error`, then `close` 1006), rather than stay open in JS
/// forever. The one path for the client's task, a server connection's task and the JS
/// thread's executor.
pub fn report_panic(label: &str, queue: &EventQueue, local: &mut Batch) {
    report_closed(label, &Ending::Abnormal, "internal error", queue, local);
}

/// The terminal events of an open connection: `error` first for an abnormal end
/// (R62, S20), then `close` with the R61 values (S18). `detail` says why it failed.
pub fn report_closed(
    label: &str,
    ending: &Ending,
    detail: &str,
    queue: &EventQueue,
    local: &mut Batch,
) {
    if ending.reports_error() {
        log::debug!("{label}: error event: {detail}");
        local.error(&ClientError::LinkDown(detail.to_string()).to_string());
    }
    let result = ending.close_result();
    log::debug!("{label}: close event {} {:?}", result.code, result.reason);
    local.close(result.code, &result.reason);
    queue.submit(local);
}
