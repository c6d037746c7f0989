//! The open phase of a connection of either role: one poll loop that takes commands
//! from JS, writes, reads and runs the timers in the same wake-up.
//!
//! Reads and writes share one task without a lock: splitting the stream would put a
//! `BiLock` on every frame, and a `select!` over a write future would stop reading
//! while a write is blocked (an echo peer would then deadlock us).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{Sink, Stream};
use tokio::time::Sleep;
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::constants::{CLOSE_TIMEOUT_MS, VIOLATION_GRACE_MS};
use crate::engine::close::Violation;
use crate::engine::frame::TooManyFragments;
use crate::engine::session::{CloseAction, Phase, Session};
use crate::runtime::core::command::{Command, Outgoing};
use crate::runtime::core::direct::DirectWriter;
use crate::runtime::core::events::{Batch, EventQueue};
use crate::runtime::core::flow::Credit;
use crate::runtime::core::heartbeat::{Beat, HeartbeatTimer};
use crate::runtime::core::link::Link;
use crate::runtime::core::outbox::Outbox;
use crate::runtime::core::socket::Socket;
use crate::runtime::core::sys::{self, RawSocket};

/// Messages handled per wake-up before yielding, so one busy connection cannot starve
/// the others sharing the runtime thread.
const READ_BUDGET_MESSAGES: usize = 512;

/// A close frame with `code` / `reason`.
pub fn close_message(code: u16, reason: String) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    }))
}

/// The R49 bound on waiting for the peer's close frame.
pub fn close_deadline() -> Pin<Box<Sleep>> {
    timer(CLOSE_TIMEOUT_MS)
}

fn timer(ms: u64) -> Pin<Box<Sleep>> {
    Box::pin(tokio::time::sleep(Duration::from_millis(ms)))
}

/// Which read errors are the peer's protocol breaches (we answer with a close frame);
/// the rest (I/O, resets) just end the link.
fn classify(err: &WsError) -> Option<Violation> {
    match err {
        // A bound of the receive side (`inbound`): R59's answer, 1009.
        WsError::Io(e) if e.get_ref().is_some_and(|e| e.is::<TooManyFragments>()) => {
            Some(Violation::TooBig)
        }
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => Some(Violation::TooBig),
        WsError::Capacity(_) => Some(Violation::Protocol),
        WsError::Utf8(_) => Some(Violation::InvalidUtf8),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        WsError::Protocol(_) => Some(Violation::Protocol),
        _ => None,
    }
}

/// tungstenite answers a close frame whose code is not allowed on the wire (RFC 6455
/// §7.4.1: 1005, 1006, 1015, <1000, 1016–2999, ≥5000) with 1002 and hands us that reply
/// in place of the peer's frame; this is how it looks.
fn is_substituted_close(status: &(u16, String)) -> bool {
    status.0 == 1002 && status.1 == "Protocol violation"
}

/// Why the poll loop stopped.
pub enum Exit {
    /// The stream ended (cleanly or not; the session knows which).
    Ended,
    /// JS can no longer be reached: drop everything without events.
    JsGone,
}

/// State of a failing connection (RFC 6455 §7.1.7) while JS gets one turn to answer
/// the messages that arrived before the breach.
enum Failing {
    /// Not failing.
    No,
    /// Waiting for JS to acknowledge the batch holding the last messages.
    AwaitingAck(Violation),
    /// The close frame is queued; the loop ends once it is written.
    Sending,
}

/// What the open phase starts from, whatever the role.
pub struct Start {
    /// Commands from JS.
    pub outbox: Arc<Outbox>,
    /// The write-through gate JS writes through.
    pub direct: Arc<DirectWriter>,
    /// Where events go (the client's own queue, or the server's shared one).
    pub queue: Arc<EventQueue>,
    /// The connection's state machine, already past the handshake.
    pub session: Session,
    /// The connection's event batch (marked with its id for a server connection).
    pub local: Batch,
    /// Frames queued before the open phase (R44) and a deferred close frame (R50).
    pub outgoing: VecDeque<Outgoing>,
    /// Running close timer when the connection starts out closing (R50).
    pub close_timer: Option<Pin<Box<Sleep>>>,
    /// Ping/pong timer; `None` when disabled (R68) or for a server (S16).
    pub heartbeat: Option<HeartbeatTimer>,
    /// Who this is, for `OHOS_WS_DEBUG` lines (empty when those are off).
    pub label: String,
}

/// The open connection.
pub struct Driver {
    ws: WebSocketStream<Link>,
    outbox: Arc<Outbox>,
    /// Reused buffer for commands taken from the outbox.
    commands: Vec<Command>,
    /// Where events go.
    pub queue: Arc<EventQueue>,
    /// The state machine; its ending decides the terminal events.
    pub session: Session,
    /// Events not yet handed to the queue.
    pub local: Batch,
    outgoing: VecDeque<Outgoing>,
    /// tungstenite may hold bytes of a control frame: flush it before queuing a data frame.
    needs_flush: bool,
    close_timer: Option<Pin<Box<Sleep>>>,
    heartbeat: Option<HeartbeatTimer>,
    /// Why the connection ended, when it ended abnormally.
    pub failure: Option<String>,
    /// Who this is, for `OHOS_WS_DEBUG` lines.
    pub label: String,
    /// Received bytes waiting for JS (receive flow control).
    credit: Arc<Credit>,
    /// Reading is paused until JS takes what waits (see `flow`).
    paused: bool,
    failing: Failing,
    /// Write-through gate and the plain-TCP socket it may write to (see `direct`).
    direct: Option<(Arc<DirectWriter>, RawSocket)>,
}

impl Drop for Driver {
    /// The socket closes right after this: JS must not write to it again.
    fn drop(&mut self) {
        if let Some((direct, _)) = &self.direct {
            direct.disable();
        }
    }
}

impl Driver {
    /// Last step of a poll that returns `Pending`: give the socket to JS if nothing of ours
    /// is buffered and the connection is open. No tungstenite call may follow until the
    /// next poll's `begin`.
    fn maybe_release_direct(&mut self, cx: &mut Context<'_>) {
        let Some((direct, sock)) = &self.direct else {
            return;
        };
        let quiet = self.session.phase() == Phase::Open
            && matches!(self.failing, Failing::No)
            && self.outgoing.is_empty()
            && !self.needs_flush
            && self.ws.get_ref().is_drained();
        // tungstenite may hold a Pong queued while reading: flush proves it is empty.
        if quiet && matches!(Pin::new(&mut self.ws).poll_flush(cx), Poll::Ready(Ok(()))) {
            direct.release(*sock);
        }
    }
    /// A driver for a connection whose handshake just completed. Write-through is on
    /// for plain TCP only (see `direct`), and only on a socket whose writes cannot raise
    /// `SIGPIPE` (`sys::forbid_sigpipe`); without it every frame goes through this driver.
    pub fn new(ws: WebSocketStream<Link>, start: Start) -> Self {
        let direct = ws
            .get_ref()
            .io()
            .plain_socket()
            .filter(|&sock| match sys::forbid_sigpipe(sock) {
                Ok(()) => true,
                Err(e) => {
                    log::debug!("{}: no write-through: {e}", start.label);
                    false
                }
            })
            .map(|sock| (start.direct, sock));
        Driver {
            ws,
            outbox: start.outbox,
            commands: Vec::new(),
            queue: start.queue,
            session: start.session,
            local: start.local,
            outgoing: start.outgoing,
            needs_flush: false,
            close_timer: start.close_timer,
            heartbeat: start.heartbeat,
            failure: None,
            label: start.label,
            credit: Arc::new(Credit::default()),
            paused: false,
            failing: Failing::No,
            direct,
        }
    }

    /// The TCP socket under the connection (to move it off tokio's reactor).
    pub fn socket_mut(&mut self) -> &mut Socket {
        self.ws.get_mut().io_mut().socket_mut()
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Close { code, reason } => {
                if let CloseAction::SendClose { code, reason } =
                    self.session.on_local_close(code, reason.as_deref())
                {
                    log::debug!("{}: sending close {code} {reason:?}", self.label);
                    self.outgoing
                        .push_back(Outgoing::Control(close_message(code, reason)));
                    self.close_timer = Some(close_deadline());
                    self.heartbeat = None;
                }
            }
            Command::Ack => {
                if let Failing::AwaitingAck(v) = self.failing {
                    log::debug!(
                        "{}: sending close {} (protocol breach)",
                        self.label,
                        v.close_code()
                    );
                    self.outgoing.push_back(Outgoing::Control(close_message(
                        v.close_code(),
                        String::new(),
                    )));
                    self.failing = Failing::Sending;
                }
            }
            data => {
                if let Some(frame) = data.into_outgoing() {
                    self.queue_data(frame);
                }
            }
        }
    }

    fn queue_data(&mut self, frame: Outgoing) {
        // R45: data sent after the closing handshake started is dropped; while failing,
        // answers to the messages JS has just been given still go out first.
        if self.session.accepts_data() || matches!(self.failing, Failing::AwaitingAck(_)) {
            self.outgoing.push_back(frame);
        }
    }

    fn on_message(&mut self, msg: Message) {
        match msg {
            Message::Text(t) => self.local.text(t),
            Message::Binary(b) => self.local.binary(b),
            Message::Pong(_) => {
                if let Some(hb) = &mut self.heartbeat {
                    hb.on_pong();
                }
            }
            Message::Ping(_) | Message::Frame(_) => {}
            Message::Close(frame) => {
                let status = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                if status.as_ref().is_some_and(is_substituted_close) {
                    // The peer's code may not be sent on the wire: a protocol violation,
                    // reported as an abnormal end (R61). tungstenite already queued its
                    // 1002 reply; write it and drop the link.
                    if self.session.on_violation(Violation::Protocol) {
                        self.local.peer_closing();
                        self.failure =
                            Some("the peer sent a close code that is not allowed".into());
                        self.outgoing.clear();
                        self.heartbeat = None;
                        self.needs_flush = true;
                        self.failing = Failing::Sending;
                        self.close_timer = Some(timer(VIOLATION_GRACE_MS));
                    }
                    return;
                }
                log::debug!("{}: close received {status:?}", self.label);
                if self.session.on_peer_close(status) {
                    self.local.peer_closing();
                    // R45: frames still queued are discarded.
                    self.outgoing.clear();
                    self.heartbeat = None;
                    // The peer should drop TCP after our reply; bound the wait as R49 does.
                    self.close_timer = Some(close_deadline());
                }
            }
        }
    }

    /// A read error. Returns `true` when the loop should end now.
    fn on_read_error(&mut self, err: WsError) -> bool {
        self.failure = Some(err.to_string());
        match classify(&err) {
            Some(v) if self.session.on_violation(v) => {
                // Give JS one turn with the messages read so far, then fail (bounded).
                self.local.ack_request();
                self.failing = Failing::AwaitingAck(v);
                self.heartbeat = None;
                self.close_timer = Some(timer(VIOLATION_GRACE_MS));
                false
            }
            _ => true,
        }
    }

    /// Hands queued frames on in order: data frames to the link's queue (written as
    /// they are, see `link`), control frames to tungstenite; then writes once, so many
    /// small sends become one `writev`.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Result<(), WsError> {
        while let Some(front) = self.outgoing.front() {
            // Wait until the frame can go: a data frame after whatever tungstenite has
            // buffered, a control frame once tungstenite takes one.
            let ready = match front {
                Outgoing::Encoded(_) if self.needs_flush => Pin::new(&mut self.ws).poll_flush(cx),
                Outgoing::Encoded(_) => Poll::Ready(Ok(())),
                // Into an empty buffer: tungstenite refuses a frame past
                // WRITE_BUFFER_MAX_BYTES, which Pongs to a flooding peer may fill.
                Outgoing::Control(_) => Pin::new(&mut self.ws).poll_flush(cx),
            };
            match ready {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => break,
            }
            match self.outgoing.pop_front() {
                Some(Outgoing::Encoded(frame)) => {
                    self.needs_flush = false;
                    self.ws.get_mut().push(frame);
                }
                Some(Outgoing::Control(msg)) => {
                    Pin::new(&mut self.ws).start_send(msg)?;
                    self.needs_flush = true;
                }
                None => break,
            }
        }
        if self.needs_flush {
            match Pin::new(&mut self.ws).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.needs_flush = false,
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => {}
            }
        } else if let Poll::Ready(Err(e)) = self.ws.get_mut().poll_drain(cx) {
            return Err(WsError::Io(e));
        }
        Ok(())
    }

    fn poll_commands(&mut self, cx: &mut Context<'_>) -> bool {
        match self.outbox.poll_take(cx, &mut self.commands) {
            Poll::Ready(false) => return false,
            Poll::Ready(true) => {
                let mut commands = std::mem::take(&mut self.commands);
                for cmd in commands.drain(..) {
                    self.on_command(cmd);
                }
                self.commands = commands;
            }
            Poll::Pending => {}
        }
        true
    }

    /// One wake-up: commands, heartbeat, writes, reads, hand-over to JS, timers.
    pub fn poll_drive(&mut self, cx: &mut Context<'_>) -> Poll<Exit> {
        if let Some((direct, _)) = &self.direct {
            // The gate was released with the link drained, so this tail goes first.
            let tail = direct.begin();
            if !tail.is_empty() {
                self.ws.get_mut().push(tail);
            }
        }
        self.poll_inner(cx)
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> Poll<Exit> {
        if !self.poll_commands(cx) {
            return Poll::Ready(Exit::JsGone);
        }
        // R66: an unanswered Ping is an abnormal end, judged after this poll's reads: read
        // on the JS thread, a Pong that came in time may still be in the socket because JS
        // was busy until now.
        let mut pong_overdue = false;
        if let Some(hb) = &mut self.heartbeat {
            match hb.poll(cx) {
                Beat::Idle => {}
                Beat::SendPing => self
                    .outgoing
                    .push_back(Outgoing::Control(Message::Ping(Bytes::new()))),
                // Paused by flow control, the Pong may sit unread behind data the peer
                // sent: that peer is alive, so the heartbeat starts over.
                Beat::TimedOut if self.paused => hb.on_pong(),
                Beat::TimedOut => pong_overdue = true,
            }
        }
        // A deadline passed: whatever is in the socket came before it, so read it before
        // judging (the JS thread may have been busy, see `socket::MAYBE_READABLE`).
        let close_due = self
            .close_timer
            .as_mut()
            .is_some_and(|t| t.as_mut().poll(cx).is_ready());
        if pong_overdue || close_due {
            self.socket_mut().assume_readable();
        }
        if let Err(e) = self.poll_write(cx) {
            if self.session.accepts_data() {
                self.failure = Some(format!("write failed: {e}"));
                return Poll::Ready(Exit::Ended);
            }
            // Closing: the peer may already be gone; keep reading until the end.
            self.outgoing.clear();
            self.needs_flush = false;
            if matches!(self.failing, Failing::Sending) {
                return Poll::Ready(Exit::Ended);
            }
        }
        if matches!(self.failing, Failing::Sending) {
            if self.outgoing.is_empty() && !self.needs_flush {
                return Poll::Ready(Exit::Ended);
            }
        } else if matches!(self.failing, Failing::No) {
            let mut budget = READ_BUDGET_MESSAGES;
            loop {
                if budget == 0 {
                    cx.waker().wake_by_ref();
                    break;
                }
                // Flow control: while open, stop reading once JS is ~1 MiB behind. A
                // closing connection reads on, bounded by its close timer.
                self.paused = self.session.phase() == Phase::Open
                    && self.credit.must_pause(self.local.held_bytes(), cx);
                if self.paused {
                    break;
                }
                match Pin::new(&mut self.ws).poll_next(cx) {
                    Poll::Ready(Some(Ok(msg))) => {
                        budget -= 1;
                        self.on_message(msg);
                    }
                    Poll::Ready(Some(Err(e))) => {
                        if self.on_read_error(e) {
                            return Poll::Ready(Exit::Ended);
                        }
                        break;
                    }
                    Poll::Ready(None) => {
                        self.failure = Some("connection closed".into());
                        return Poll::Ready(Exit::Ended);
                    }
                    // The read side took a large binary frame past tungstenite: it is
                    // the next message (see `inbound`).
                    Poll::Pending => match self.ws.get_mut().take_done() {
                        Some(payload) => {
                            budget -= 1;
                            self.on_message(Message::Binary(Bytes::from(payload)));
                        }
                        None => break,
                    },
                }
            }
        }
        if pong_overdue
            && self
                .heartbeat
                .as_ref()
                .is_some_and(HeartbeatTimer::awaits_pong)
        {
            self.failure = Some("no pong within pongTimeout".into());
            return Poll::Ready(Exit::Ended);
        }
        if let Some(t) = &mut self.close_timer {
            if t.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Exit::Ended);
            }
        }
        // Give the socket to JS before JS sees the batch: a listener that answers at once
        // can then write its answer itself (no tungstenite call follows in this poll).
        self.maybe_release_direct(cx);
        if !self.queue.submit_counted(&mut self.local, &self.credit) {
            return Poll::Ready(Exit::JsGone);
        }
        Poll::Pending
    }
}
