//! The open phase of a connection of either role: one poll loop that takes commands
//! from JS, writes, reads and runs the timers in the same wake-up. It only moves bytes
//! and runs timers: what each event leads to is decided by the session
//! (`engine::session::open_phase`) and carried out here ([`Driver::apply`]).
//!
//! Reads and writes share one task without a lock: splitting the stream would put a
//! `BiLock` on every frame, and a `select!` over a write future would stop reading
//! while a write is blocked (an echo peer would then deadlock us).
//!
//! The stream is any [`Transport`]: TCP or TLS in the product, an in-memory duplex in
//! the tests (`driver_tests`).

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

use crate::constants::CLOSE_TIMEOUT_MS;
use crate::engine::close::Violation;
use crate::engine::frame::TooManyFragments;
use crate::engine::session::open_phase::{Actions, Overdue};
use crate::engine::session::{Phase, Session};
use crate::runtime::core::command::{Command, Outgoing};
use crate::runtime::core::direct::DirectWriter;
use crate::runtime::core::events::{Batch, EventQueue};
use crate::runtime::core::flow::Credit;
use crate::runtime::core::heartbeat::{Beat, HeartbeatTimer};
use crate::runtime::core::link::Link;
use crate::runtime::core::outbox::Outbox;
use crate::runtime::core::socket::Socket;
use crate::runtime::core::sys::{self, RawSocket};
use crate::runtime::core::transport::{MaybeTls, Transport};

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

/// Why the poll loop stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    /// The stream ended (cleanly or not; the session knows which).
    Ended,
    /// JS can no longer be reached: drop everything without events.
    JsGone,
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

/// The open connection, over a TCP or TLS stream (or, in tests, an in-memory one).
pub struct Driver<S: Transport = MaybeTls> {
    ws: WebSocketStream<Link<S>>,
    outbox: Arc<Outbox>,
    /// Reused buffer for commands taken from the outbox.
    commands: Vec<Command>,
    /// Where events go.
    pub queue: Arc<EventQueue>,
    /// The state machine; it decides what each event leads to, and the terminal events.
    pub session: Session,
    /// Events not yet handed to the queue.
    pub local: Batch,
    outgoing: VecDeque<Outgoing>,
    /// tungstenite may hold bytes of a control frame: flush it before queuing a data frame.
    needs_flush: bool,
    /// The running deadline (R49's close timer, or a breach's grace).
    deadline: Option<Pin<Box<Sleep>>>,
    heartbeat: Option<HeartbeatTimer>,
    /// Why the connection ended, when it ended abnormally.
    pub failure: Option<String>,
    /// Who this is, for `OHOS_WS_DEBUG` lines.
    pub label: String,
    /// Received bytes waiting for JS (receive flow control).
    credit: Arc<Credit>,
    /// Reading is paused until JS takes what waits (see `flow`).
    paused: bool,
    /// Write-through gate and the plain-TCP socket it may write to (see `direct`).
    direct: Option<(Arc<DirectWriter>, RawSocket)>,
}

impl<S: Transport> Drop for Driver<S> {
    /// The socket closes right after this: JS must not write to it again.
    fn drop(&mut self) {
        if let Some((direct, _)) = &self.direct {
            direct.disable();
        }
    }
}

impl Driver<MaybeTls> {
    /// The TCP socket under the connection (to move it off tokio's reactor).
    pub fn socket_mut(&mut self) -> &mut Socket {
        self.ws.get_mut().io_mut().socket_mut()
    }
}

impl<S: Transport> Driver<S> {
    /// A driver for a connection whose handshake just completed. Write-through is on
    /// for plain TCP only (see `direct`), and only on a socket whose writes cannot raise
    /// `SIGPIPE` (`sys::forbid_sigpipe`); without it every frame goes through this driver.
    pub fn new(ws: WebSocketStream<Link<S>>, start: Start) -> Self {
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
            deadline: start.close_timer,
            heartbeat: start.heartbeat,
            failure: None,
            label: start.label,
            credit: Arc::new(Credit::default()),
            paused: false,
            direct,
        }
    }

    /// Carries out what the session decided. Returns `true` when the connection ends now.
    fn apply(&mut self, a: Actions) -> bool {
        if a.report_peer_closing {
            self.local.peer_closing();
        }
        if a.request_ack {
            self.local.ack_request();
        }
        if a.discard_queued {
            self.outgoing.clear();
        }
        if a.stop_writing {
            self.needs_flush = false;
        }
        if let Some((code, reason)) = a.send_close {
            log::debug!("{}: sending close {code} {reason:?}", self.label);
            self.outgoing
                .push_back(Outgoing::Control(close_message(code, reason)));
        }
        if a.flush {
            self.needs_flush = true;
        }
        if a.stop_heartbeat {
            self.heartbeat = None;
        }
        if let Some(d) = a.deadline {
            self.deadline = Some(timer(d.millis()));
        }
        if let Some(why) = a.failure {
            self.failure = Some(why);
        }
        a.end
    }

    fn on_command(&mut self, cmd: Command) {
        let actions = match cmd {
            Command::Close { code, reason } => {
                self.session.close_requested(code, reason.as_deref())
            }
            Command::Ack => self.session.acknowledged(),
            Command::Frame(frame) => {
                // R45: data sent after the closing handshake started is dropped.
                if self.session.admits_data() {
                    self.outgoing.push_back(Outgoing::Encoded(frame));
                }
                return;
            }
        };
        // Neither ends the connection at once: the frames it queues go out first.
        self.apply(actions);
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
                log::debug!("{}: close received {status:?}", self.label);
                let actions = self.session.close_frame_received(status);
                self.apply(actions);
            }
        }
    }

    /// Takes what JS asked for. `false` when JS is gone.
    fn step_commands(&mut self, cx: &mut Context<'_>) -> bool {
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

    /// Runs the heartbeat and looks at the deadline; registers the waker for both.
    /// Returns whether a Pong is overdue, to be judged after the reads (R66).
    fn step_timers(&mut self, cx: &mut Context<'_>) -> bool {
        let mut pong_due = false;
        if let Some(hb) = &mut self.heartbeat {
            match hb.poll(cx) {
                Beat::Idle => {}
                Beat::SendPing => self
                    .outgoing
                    .push_back(Outgoing::Control(Message::Ping(Bytes::new()))),
                Beat::TimedOut => match Session::pong_overdue(self.paused) {
                    Overdue::StartOver => hb.on_pong(),
                    Overdue::JudgeAfterReads => pong_due = true,
                },
            }
        }
        let deadline_passed = self
            .deadline
            .as_mut()
            .is_some_and(|t| t.as_mut().poll(cx).is_ready());
        if pong_due || deadline_passed {
            // Whatever is in the socket came before the deadline: read it before judging
            // (the JS thread may have been busy, see `socket::MAYBE_READABLE`).
            self.ws.get_mut().io_mut().assume_readable();
        }
        pong_due
    }

    /// Hands queued frames on in order: data frames to the link's queue (written as
    /// they are, see `link`), control frames to tungstenite; then writes once, so many
    /// small sends become one `writev`.
    fn step_write(&mut self, cx: &mut Context<'_>) -> Result<(), WsError> {
        while let Some(front) = self.outgoing.front() {
            // Wait until the frame can go: a data frame once tungstenite holds no part of
            // a frame (ours, or a Pong it queued while reading: see `Link::may_queue`),
            // a control frame once tungstenite's buffer is empty (it refuses a frame past
            // WRITE_BUFFER_MAX_BYTES, which Pongs to a flooding peer may fill).
            let ready = match front {
                Outgoing::Encoded(_) if !self.needs_flush && self.ws.get_ref().may_queue() => {
                    Poll::Ready(Ok(()))
                }
                Outgoing::Encoded(_) | Outgoing::Control(_) => {
                    Pin::new(&mut self.ws).poll_flush(cx)
                }
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

    /// Reads up to [`READ_BUDGET_MESSAGES`] messages, while flow control allows.
    /// Returns `true` when the connection ends now.
    fn step_read(&mut self, cx: &mut Context<'_>) -> bool {
        for _ in 0..READ_BUDGET_MESSAGES {
            // Flow control: while open, stop reading once JS is ~1 MiB behind. A
            // closing connection reads on, bounded by its deadline.
            self.paused = self.session.phase() == Phase::Open
                && self.credit.must_pause(self.local.held_bytes(), cx);
            if self.paused {
                return false;
            }
            let msg = match Pin::new(&mut self.ws).poll_next(cx) {
                Poll::Ready(Some(Ok(msg))) => msg,
                Poll::Ready(Some(Err(e))) => {
                    let violation = classify(&e);
                    let actions = self.session.read_failed(violation, e.to_string());
                    return self.apply(actions);
                }
                Poll::Ready(None) => {
                    self.failure = Some("connection closed".into());
                    return true;
                }
                // The read side took a large binary frame past tungstenite: it is the
                // next message (see `inbound`).
                Poll::Pending => match self.ws.get_mut().take_done() {
                    Some(payload) => Message::Binary(Bytes::from(payload)),
                    None => return false,
                },
            };
            self.on_message(msg);
            if !self.session.reads() {
                return false;
            }
        }
        // Budget used up: come back after the other connections.
        cx.waker().wake_by_ref();
        false
    }

    /// Judges the timers that fired, now that the socket has been read. Returns `true`
    /// when the connection ends now.
    fn step_deadlines(&mut self, cx: &mut Context<'_>, pong_due: bool) -> bool {
        if pong_due
            && self
                .heartbeat
                .as_ref()
                .is_some_and(HeartbeatTimer::awaits_pong)
            && self.apply(Session::pong_missing())
        {
            return true;
        }
        // The deadline now running: one this poll's reads started counts from now (and
        // is registered with the waker here); one that passed stays passed.
        self.deadline
            .as_mut()
            .is_some_and(|t| t.as_mut().poll(cx).is_ready())
    }

    /// Gives the socket to JS if nothing of ours is buffered and the connection is open
    /// (see `direct`), then hands this poll's events to JS. Before JS sees the batch: a
    /// listener that answers at once can then write its answer itself. No tungstenite
    /// call may follow until the next poll's `begin`. `false` when JS is gone.
    fn step_hand_over(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some((direct, sock)) = &self.direct {
            let quiet = self.session.lets_js_write()
                && self.outgoing.is_empty()
                && !self.needs_flush
                && self.ws.get_ref().is_drained();
            // tungstenite may hold a Pong queued while reading: flush proves it is empty.
            if quiet && matches!(Pin::new(&mut self.ws).poll_flush(cx), Poll::Ready(Ok(()))) {
                direct.release(*sock);
            }
        }
        self.queue.submit_counted(&mut self.local, &self.credit)
    }

    /// One wake-up: commands, timers, writes, budgeted reads, deadlines, hand-over.
    pub fn poll_drive(&mut self, cx: &mut Context<'_>) -> Poll<Exit> {
        if let Some((direct, _)) = &self.direct {
            // The gate was released with the link drained, so this tail goes first.
            let tail = direct.begin();
            if !tail.is_empty() {
                self.ws.get_mut().push(tail);
            }
        }
        if !self.step_commands(cx) {
            return Poll::Ready(Exit::JsGone);
        }
        let pong_due = self.step_timers(cx);
        if let Err(e) = self.step_write(cx) {
            let actions = self.session.write_failed(e.to_string());
            if self.apply(actions) {
                return Poll::Ready(Exit::Ended);
            }
        }
        let nothing_left = self.outgoing.is_empty() && !self.needs_flush;
        if self.session.done_sending(nothing_left) {
            return Poll::Ready(Exit::Ended);
        }
        if self.session.reads() && self.step_read(cx) {
            return Poll::Ready(Exit::Ended);
        }
        if self.step_deadlines(cx, pong_due) {
            return Poll::Ready(Exit::Ended);
        }
        if !self.step_hand_over(cx) {
            return Poll::Ready(Exit::JsGone);
        }
        Poll::Pending
    }
}
