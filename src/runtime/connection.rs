//! One connection = one tokio task: the attempt (bounded by R22), then a single
//! poll loop that drives commands from JS, socket writes, socket reads and timers in
//! the same wake-up.
//!
//! Reads and writes share one task without a lock: splitting the stream would put a
//! `BiLock` on every frame, and a `select!` over a write future would stop reading
//! while a write is blocked (an echo peer would then deadlock us).

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{Sink, Stream};
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::constants::{
    CLOSE_TIMEOUT_MS, HANDSHAKE_TIMEOUT_MS, MAX_INCOMING_MESSAGE_BYTES, READ_BUFFER_BYTES,
    WRITE_BUFFER_BYTES,
};
use crate::engine::handshake::{received_headers, RequestOptions};
use crate::engine::heartbeat::Heartbeat;
use crate::engine::proxy::ProxySetting;
use crate::engine::session::{AfterHandshake, CloseAction, Outcome, Session};
use crate::engine::url::Target;
use crate::errors::ClientError;
use crate::runtime::events::{Batch, EventQueue};
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

/// Messages handled per wake-up before yielding, so one busy connection cannot starve
/// the others sharing the runtime thread.
const READ_BUDGET_MESSAGES: usize = 512;

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
) -> Arc<Outbox> {
    let outbox = Arc::new(Outbox::default());
    runtime.spawn(run(config, outbox.clone(), queue));
    outbox
}

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(Some(MAX_INCOMING_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_INCOMING_MESSAGE_BYTES))
}

fn to_message(cmd_data: Command) -> Option<Message> {
    match cmd_data {
        Command::Text(s) => Some(Message::Text(s.into())),
        Command::Binary(b) => Some(Message::Binary(Bytes::from(b))),
        Command::Close { .. } => None,
    }
}

fn close_message(code: u16, reason: String) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    }))
}

/// Terminal events for `outcome`, then the queue is closed (R61, R62, R21).
/// `failure` explains a failed attempt or an abnormal end.
fn finish(
    session: &mut Session,
    failure: Option<&ClientError>,
    queue: &EventQueue,
    local: &mut Batch,
) {
    let detail = failure.map(|e| e.to_string()).unwrap_or_default();
    match session.finish() {
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

async fn run(config: ConnectConfig, outbox: Arc<Outbox>, queue: Arc<EventQueue>) {
    let mut session = Session::new();
    let mut local = Batch::default();
    let mut outgoing: VecDeque<Message> = VecDeque::new();

    let deadline = Instant::now() + Duration::from_millis(handshake_timeout_ms());
    let establish = async {
        let mut s =
            stream::open_stream(&config.target, &config.proxy, &config.tls, deadline).await?;
        let upgraded = stream::upgrade(&mut s, &config.target, &config.request).await?;
        Ok::<_, ClientError>((s, upgraded))
    };
    tokio::pin!(establish);
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
    let (stream, upgraded) = match attempt {
        Ok(ok) => ok,
        Err(e) => {
            finish(&mut session, Some(&e), &queue, &mut local);
            return;
        }
    };
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
    let mut driver = Driver {
        ws,
        outbox,
        commands,
        queue,
        session,
        local,
        outgoing,
        needs_flush: false,
        close_timer,
        heartbeat,
        failure: None,
    };
    let exit = poll_fn(|cx| driver.poll_drive(cx)).await;
    if matches!(exit, Exit::JsGone) {
        driver.queue.close();
        return;
    }
    let Driver {
        mut session,
        mut local,
        queue,
        failure,
        ..
    } = driver;
    let failure = failure.map(ClientError::LinkDown);
    finish(&mut session, failure.as_ref(), &queue, &mut local);
}

fn close_deadline() -> Pin<Box<Sleep>> {
    Box::pin(tokio::time::sleep(Duration::from_millis(CLOSE_TIMEOUT_MS)))
}

/// Why the poll loop stopped.
enum Exit {
    /// The stream ended (cleanly or not; the session knows which).
    Ended,
    /// JS can no longer be reached: drop everything without events.
    JsGone,
}

/// Ping/pong timers of an open connection (R65–R67).
struct HeartbeatTimer {
    settings: Heartbeat,
    awaiting_pong: bool,
    timer: Pin<Box<Sleep>>,
}

impl HeartbeatTimer {
    fn new(settings: Heartbeat) -> Self {
        HeartbeatTimer {
            settings,
            awaiting_pong: false,
            timer: Box::pin(tokio::time::sleep(Duration::from_secs(u64::from(
                settings.ping_interval_secs,
            )))),
        }
    }

    fn on_pong(&mut self) {
        self.awaiting_pong = false;
        let next =
            Instant::now() + Duration::from_secs(u64::from(self.settings.ping_interval_secs));
        self.timer.as_mut().reset(next);
    }

    /// `Ok(true)`: a Ping is due now; `Err(())`: the Pong did not come in time.
    fn poll(&mut self, cx: &mut Context<'_>) -> Result<bool, ()> {
        if self.timer.as_mut().poll(cx).is_pending() {
            return Ok(false);
        }
        if self.awaiting_pong {
            return Err(());
        }
        self.awaiting_pong = true;
        let deadline =
            Instant::now() + Duration::from_secs(u64::from(self.settings.pong_timeout_secs));
        self.timer.as_mut().reset(deadline);
        // Register the new deadline with this waker.
        let _ = self.timer.as_mut().poll(cx);
        Ok(true)
    }
}

struct Driver {
    ws: WebSocketStream<MaybeTls>,
    outbox: Arc<Outbox>,
    /// Reused buffer for commands taken from the outbox.
    commands: Vec<Command>,
    queue: Arc<EventQueue>,
    session: Session,
    local: Batch,
    outgoing: VecDeque<Message>,
    needs_flush: bool,
    close_timer: Option<Pin<Box<Sleep>>>,
    heartbeat: Option<HeartbeatTimer>,
    /// Why the connection ended, when it ended abnormally.
    failure: Option<String>,
}

impl Driver {
    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Close { code, reason } => {
                if let CloseAction::SendClose { code, reason } =
                    self.session.on_local_close(code, reason.as_deref())
                {
                    self.outgoing.push_back(close_message(code, reason));
                    self.close_timer = Some(close_deadline());
                    self.heartbeat = None;
                }
            }
            data => {
                // R45: data sent after the closing handshake started is dropped.
                if self.session.accepts_data() {
                    if let Some(m) = to_message(data) {
                        self.outgoing.push_back(m);
                    }
                }
            }
        }
    }

    fn on_message(&mut self, msg: Message) {
        match msg {
            Message::Text(t) => self.local.text(t.as_bytes()),
            Message::Binary(b) => self.local.binary(&b),
            Message::Pong(_) => {
                if let Some(hb) = &mut self.heartbeat {
                    hb.on_pong();
                }
            }
            Message::Ping(_) | Message::Frame(_) => {}
            Message::Close(frame) => {
                let status = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                if self.session.on_peer_close(status) {
                    self.local.peer_closing();
                    // R45: frames still queued are discarded.
                    self.outgoing.clear();
                    self.heartbeat = None;
                }
            }
        }
    }

    /// Moves queued frames into tungstenite's write buffer, then flushes once: many
    /// small sends become one `write` syscall.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Result<(), WsError> {
        while !self.outgoing.is_empty() {
            match Pin::new(&mut self.ws).poll_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => break,
            }
            let Some(msg) = self.outgoing.pop_front() else {
                break;
            };
            Pin::new(&mut self.ws).start_send(msg)?;
            self.needs_flush = true;
        }
        if self.needs_flush {
            match Pin::new(&mut self.ws).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.needs_flush = false,
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => {}
            }
        }
        Ok(())
    }

    fn poll_drive(&mut self, cx: &mut Context<'_>) -> Poll<Exit> {
        match self.outbox.poll_take(cx, &mut self.commands) {
            Poll::Ready(false) => return Poll::Ready(Exit::JsGone),
            Poll::Ready(true) => {
                let mut commands = std::mem::take(&mut self.commands);
                for cmd in commands.drain(..) {
                    self.on_command(cmd);
                }
                self.commands = commands;
            }
            Poll::Pending => {}
        }
        if let Some(hb) = &mut self.heartbeat {
            match hb.poll(cx) {
                Ok(true) => self.outgoing.push_back(Message::Ping(Bytes::new())),
                Ok(false) => {}
                // R66: an unanswered Ping is an abnormal end.
                Err(()) => {
                    self.failure = Some("no pong within pongTimeout".into());
                    return Poll::Ready(Exit::Ended);
                }
            }
        }
        if let Err(e) = self.poll_write(cx) {
            if self.session.accepts_data() {
                self.failure = Some(format!("write failed: {e}"));
                return Poll::Ready(Exit::Ended);
            }
            // Closing: the peer may already be gone; keep reading until the end.
            self.outgoing.clear();
            self.needs_flush = false;
        }
        let mut budget = READ_BUDGET_MESSAGES;
        loop {
            if budget == 0 {
                cx.waker().wake_by_ref();
                break;
            }
            match Pin::new(&mut self.ws).poll_next(cx) {
                Poll::Ready(Some(Ok(msg))) => {
                    budget -= 1;
                    self.on_message(msg);
                }
                Poll::Ready(Some(Err(e))) => {
                    self.failure = Some(e.to_string());
                    return Poll::Ready(Exit::Ended);
                }
                Poll::Ready(None) => {
                    self.failure = Some("connection closed".into());
                    return Poll::Ready(Exit::Ended);
                }
                Poll::Pending => break,
            }
        }
        if !self.queue.submit(&mut self.local) {
            return Poll::Ready(Exit::JsGone);
        }
        if let Some(timer) = &mut self.close_timer {
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Exit::Ended);
            }
        }
        Poll::Pending
    }
}
