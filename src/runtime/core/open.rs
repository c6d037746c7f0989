//! Entering and leaving the open phase, for both roles: the tungstenite stream over a
//! finished handshake, the driver loop, and the terminal events of R61/R62 (S18, S20).

use std::future::poll_fn;

use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use crate::constants::{MAX_INCOMING_MESSAGE_BYTES, READ_BUFFER_BYTES, WRITE_BUFFER_BYTES};
use crate::engine::close::Ending;
use crate::engine::session::Outcome;
use crate::errors::ClientError;
use crate::runtime::core::driver::{Driver, Exit, Start};
use crate::runtime::core::events::{Batch, EventQueue};
use crate::runtime::core::link::Link;
use crate::runtime::core::transport::MaybeTls;

/// tungstenite limits and buffer sizes, the same for both roles (R59).
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(Some(MAX_INCOMING_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_INCOMING_MESSAGE_BYTES))
}

/// Runs the open phase of a connection of `role` over `stream` (with `leftover`, the
/// bytes read past the handshake) until it ends, then submits its terminal events.
/// Returns `false` when JS went away instead (nothing more can be delivered).
pub async fn run(stream: MaybeTls, leftover: Vec<u8>, role: Role, start: Start) -> bool {
    // The leftover goes to the link's read side, which counts frame boundaries from it.
    let link = Link::new(stream, role == Role::Server, leftover);
    let ws = WebSocketStream::from_raw_socket(link, role, Some(ws_config())).await;
    let mut driver = Driver::new(ws, start);
    if let Exit::JsGone = poll_fn(|cx| driver.poll_drive(cx)).await {
        return false;
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
    true
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
