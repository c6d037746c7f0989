//! One connection = one tokio task. This file runs the attempt (bounded by R22) and
//! the terminal events; `driver` runs the open phase.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::os::fd::AsRawFd;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::WebSocketStream;

use crate::constants::{
    HANDSHAKE_TIMEOUT_MS, MAX_INCOMING_MESSAGE_BYTES, READ_BUFFER_BYTES, WRITE_BUFFER_BYTES,
};
use crate::engine::close::Ending;
use crate::engine::handshake::{received_headers, RequestOptions};
use crate::engine::heartbeat::Heartbeat;
use crate::engine::proxy::ProxySetting;
use crate::engine::session::{AfterHandshake, Outcome, Session};
use crate::engine::url::Target;
use crate::errors::ClientError;
use crate::runtime::direct::DirectWriter;
use crate::runtime::driver::{close_deadline, close_message, Driver, Exit};
use crate::runtime::events::{Batch, EventQueue};
use crate::runtime::heartbeat::HeartbeatTimer;
use crate::runtime::outbox::Outbox;
use crate::runtime::stream::{self, MaybeTls};
use crate::runtime::tls::TlsOptions;

/// Test hook (see `lib/testing.js`): a shorter R22 bound, so a test of the timeout
/// does not wait 20 s. Zero means "use the spec's value".
static HANDSHAKE_TIMEOUT_OVERRIDE_MS: AtomicU64 = AtomicU64::new(0);

/// Overrides the handshake bound for connections started afterwards (tests only).
pub fn set_handshake_timeout_for_tests(ms: u64) {
    HANDSHAKE_TIMEOUT_OVERRIDE_MS.store(ms, Ordering::Relaxed);
}

fn handshake_timeout_ms() -> u64 {
    match HANDSHAKE_TIMEOUT_OVERRIDE_MS.load(Ordering::Relaxed) {
        0 => HANDSHAKE_TIMEOUT_MS,
        ms => ms,
    }
}

/// Everything a connection attempt needs, already validated.
#[derive(Debug, Clone)]
pub struct ConnectConfig {
    /// Where to connect.
    pub target: Target,
    /// Request headers and subprotocol offer.
    pub request: RequestOptions,
    /// Proxy choice (R30–R32).
    pub proxy: ProxySetting,
    /// TLS settings for `wss`.
    pub tls: TlsOptions,
    /// Ping/pong settings; `None` = disabled.
    pub heartbeat: Option<Heartbeat>,
}

/// What JS asks of a connection.
#[derive(Debug)]
pub enum Command {
    /// One text frame (R43).
    Text(String),
    /// One binary frame (R43).
    Binary(Vec<u8>),
    /// JS has handled the batch that asked for an acknowledgement (see `driver`).
    Ack,
    /// `close()` with the raw option values (R47, R48).
    Close {
        /// `options.code` if it was a number.
        code: Option<f64>,
        /// `options.reason` if it was a string.
        reason: Option<String>,
    },
}

/// Starts the attempt on `runtime`; events go to `queue`, commands come through the
/// returned outbox.
pub fn spawn(
    runtime: &tokio::runtime::Runtime,
    config: ConnectConfig,
    queue: Arc<EventQueue>,
) -> (Arc<Outbox>, Arc<DirectWriter>) {
    let opened = Arc::new(AtomicBool::new(false));
    let outbox = Arc::new(Outbox::default());
    let direct = Arc::new(DirectWriter::default());
    let task = run(
        config,
        outbox.clone(),
        direct.clone(),
        queue.clone(),
        opened.clone(),
    );
    runtime.spawn(async move {
        // A bug that panics must not leave JS waiting forever (and the process pinned
        // by the threadsafe function): end the connection with the usual events.
        if AssertUnwindSafe(task).catch_unwind().await.is_err() && !queue.is_closed() {
            let outcome = if opened.load(Ordering::Acquire) {
                Outcome::Closed(Ending::Abnormal)
            } else {
                Outcome::Failed
            };
            let failure = ClientError::LinkDown("internal error".into());
            finish(outcome, Some(&failure), &queue, &mut Batch::default());
        }
    });
    (outbox, direct)
}

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(Some(MAX_INCOMING_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_INCOMING_MESSAGE_BYTES))
}

/// The frame a data command becomes (`None` for control commands).
pub fn to_message(cmd_data: Command) -> Option<Message> {
    match cmd_data {
        Command::Text(s) => Some(Message::Text(s.into())),
        Command::Binary(b) => Some(Message::Binary(Bytes::from(b))),
        Command::Close { .. } | Command::Ack => None,
    }
}

/// Terminal events for `outcome`, then the queue is closed (R61, R62, R21).
/// `failure` explains a failed attempt or an abnormal end.
fn finish(outcome: Outcome, failure: Option<&ClientError>, queue: &EventQueue, local: &mut Batch) {
    let detail = failure.map(|e| e.to_string()).unwrap_or_default();
    match outcome {
        Outcome::Failed => {
            let status = match failure {
                Some(ClientError::ConnectFailed { status, .. }) => *status,
                _ => None,
            };
            local.failed(status, &detail);
        }
        Outcome::Closed(ending) => {
            if ending.reports_error() {
                local.error(&detail);
            }
            let result = ending.close_result();
            local.close(result.code, &result.reason);
        }
    }
    queue.submit(local);
    queue.close();
}

async fn run(
    config: ConnectConfig,
    outbox: Arc<Outbox>,
    direct: Arc<DirectWriter>,
    queue: Arc<EventQueue>,
    opened: Arc<AtomicBool>,
) {
    let mut session = Session::new();
    let mut local = Batch::default();
    let mut outgoing: VecDeque<Message> = VecDeque::new();

    let deadline = Instant::now() + Duration::from_millis(handshake_timeout_ms());
    // Boxed and dropped once done: the attempt's state (resolver, TLS handshake, the
    // 4 KiB response buffer) would otherwise stay inside this task's future for the
    // whole connection; boxing took idle connections from 21 to 17 KiB (bench (f)).
    let mut establish = Box::pin(async {
        let mut s =
            stream::open_stream(&config.target, &config.proxy, &config.tls, deadline).await?;
        let upgraded = stream::upgrade(&mut s, &config.target, &config.request).await?;
        Ok::<_, ClientError>((s, upgraded))
    });
    let timeout = tokio::time::sleep_until(deadline);
    tokio::pin!(timeout);
    let mut commands = Vec::new();
    let attempt = loop {
        tokio::select! {
            biased;
            result = &mut establish => break result,
            _ = &mut timeout => break Err(ClientError::ConnectFailed {
                status: None,
                detail: "handshake timed out".into(),
            }),
            alive = poll_fn(|cx| outbox.poll_take(cx, &mut commands)) => {
                if !alive {
                    // JS dropped the connection object (environment teardown): stop quietly.
                    queue.close();
                    return;
                }
                for cmd in commands.drain(..) {
                    match cmd {
                        Command::Close { code, reason } => {
                            session.on_local_close(code, reason.as_deref());
                        }
                        data => {
                            if let Some(m) = to_message(data) {
                                outgoing.push_back(m);
                            }
                        }
                    }
                }
            }
        }
    };
    drop(establish);
    let (stream, upgraded) = match attempt {
        Ok(ok) => ok,
        Err(e) => {
            finish(session.finish(), Some(&e), &queue, &mut local);
            return;
        }
    };
    opened.store(true, Ordering::Release);
    local.headers(&received_headers(&upgraded.head));
    let mut close_timer = None;
    match session.on_handshake_done() {
        AfterHandshake::DeliverOpen => {
            local.open(
                upgraded.head.status,
                &upgraded.head.reason,
                upgraded.protocol.as_deref(),
            );
        }
        AfterHandshake::SendClose { code, reason } => {
            outgoing.push_back(close_message(code, reason));
            close_timer = Some(close_deadline());
        }
    }
    if !queue.submit(&mut local) {
        return;
    }
    let fd = match &stream {
        MaybeTls::Plain(tcp) => Some(tcp.as_raw_fd()),
        MaybeTls::Tls(_) => None,
    };
    let ws = WebSocketStream::from_partially_read(
        stream,
        upgraded.leftover,
        Role::Client,
        Some(ws_config()),
    )
    .await;
    let heartbeat = match (config.heartbeat, close_timer.is_none()) {
        (Some(hb), true) => Some(HeartbeatTimer::new(hb)),
        _ => None,
    };
    let mut driver = Driver::new(ws, outbox, queue, session, outgoing, close_timer, heartbeat);
    driver.enable_direct(direct, fd);
    let exit = poll_fn(|cx| driver.poll_drive(cx)).await;
    if matches!(exit, Exit::JsGone) {
        driver.queue.close();
        return;
    }
    let failure = driver.failure.take().map(ClientError::LinkDown);
    finish(
        driver.session.finish(),
        failure.as_ref(),
        &driver.queue,
        &mut driver.local,
    );
}
