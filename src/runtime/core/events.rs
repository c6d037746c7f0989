//! Event batches: how a connection's events travel from the tokio thread to JS.
//!
//! Everything ready for a connection is appended to one [`Batch`]: payload bytes
//! concatenated in one buffer, plus a flat `u32` array of `(kind, byte length, extra)`
//! triples. One threadsafe-function call announces a batch, and JS takes it whole
//! (copied into its reused receive buffer, see `bindings::Delivery`) and splits it. A
//! threadsafe-function call costs an order of magnitude more than a message's share of
//! a batch (`bench/README.md`, "Design measurements", D7), so the call is made only when
//! a batch goes from empty to non-empty; while JS is busy, later events join the
//! waiting batch.
//!
//! Messages of [`LARGE_MESSAGE_MIN_BYTES`] or more do not go through the payload buffer:
//! the batch holds them as they came from the socket and JS takes each one on its own
//! (`takeLarge`), as an external ArrayBuffer over those bytes or a string made from them.
//! The payload path cost three copies of every message (into the batch, into JS's
//! receive buffer, into the message's own ArrayBuffer) plus V8's zero fill of that
//! ArrayBuffer, which dominated a large echo's profile (D8 in the same section).
//!
//! A server has one queue for all its connections, so one call carries what is ready
//! across them: each connection's run of events starts with a [`kind::CONN`] marker
//! naming the connection the following events belong to.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio_tungstenite::tungstenite::{Bytes, Utf8Bytes};

use crate::constants::{LARGE_MESSAGE_MIN_BYTES, SERVER_REFUSED_EVENTS_PENDING_MAX};
use crate::runtime::core::flow::Credit;

/// Event kinds, the first number of each triple. Mirrored in `lib/events.js`.
pub mod kind {
    /// Handshake response headers; payload `name\0value\0…` (R56).
    pub const HEADERS: u32 = 1;
    /// Handshake done; extra = HTTP status, payload `reason\0protocol` (R57, R58).
    pub const OPEN: u32 = 2;
    /// A text message; payload = UTF-8 bytes (R59).
    pub const TEXT: u32 = 3;
    /// A binary message; payload = bytes (R59).
    pub const BINARY: u32 = 4;
    /// The peer's close frame arrived: sends now fail (R44).
    pub const PEER_CLOSING: u32 = 5;
    /// Abnormal end of an open connection; a CLOSE follows (R62); payload = detail.
    pub const ERROR: u32 = 6;
    /// The attempt failed before opening; terminal (R21); extra = HTTP status or 0,
    /// payload = detail.
    pub const FAILED: u32 = 7;
    /// The connection ended; terminal; extra = code, payload = reason (R61).
    pub const CLOSE: u32 = 8;
    /// The task waits for JS to finish this batch: JS answers with `ack()`.
    pub const ACK_REQUEST: u32 = 9;
    /// Server: the events up to the next marker belong to connection `extra`.
    pub const CONN: u32 = 10;
    /// Server: the marked connection completed its handshake (S11); extra = client
    /// port, payload = client IP.
    pub const CONNECTED: u32 = 11;
    /// Server: a connection was refused or failed before opening (S9, S20); payload =
    /// detail.
    pub const REFUSED: u32 = 12;
    /// Server: listening has stopped and every connection has ended; terminal (S6).
    pub const STOPPED: u32 = 13;
    /// A text message held out of band (see [`super::Large`]); no payload bytes.
    pub const LARGE_TEXT: u32 = 14;
    /// A binary message held out of band (see [`super::Large`]); no payload bytes.
    pub const LARGE_BINARY: u32 = 15;
}

/// A message JS takes on its own instead of from the payload buffer, in batch order.
#[derive(Debug)]
pub enum Large {
    /// Valid UTF-8 (tungstenite checked it).
    Text(Utf8Bytes),
    /// The received bytes.
    Binary(Bytes),
}

impl Large {
    fn len(&self) -> usize {
        match self {
            Large::Text(t) => t.len(),
            Large::Binary(b) => b.len(),
        }
    }
}

/// A run of events for one connection.
#[derive(Debug, Default)]
pub struct Batch {
    /// Concatenated payloads.
    pub payload: Vec<u8>,
    /// `(kind, payload length, extra)` per event.
    pub meta: Vec<u32>,
    /// The messages of the `LARGE_*` events, in order.
    pub large: VecDeque<Large>,
    /// Bytes held in `large`.
    large_bytes: usize,
    /// Server connection id these events belong to; 0 = a client (no markers).
    conn: u32,
}

impl Batch {
    /// An empty batch for server connection `conn` (non-zero): every run of its events
    /// starts with a [`kind::CONN`] marker.
    pub fn for_conn(conn: u32) -> Self {
        Batch {
            conn,
            ..Batch::default()
        }
    }

    /// No events.
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    /// Received bytes this batch holds, in the payload buffer and out of band (what flow
    /// control counts).
    pub fn held_bytes(&self) -> usize {
        self.payload.len() + self.large_bytes
    }

    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.payload.clear();
        self.meta.clear();
        self.large.clear();
        self.large_bytes = 0;
    }

    /// Moves every event of `from` to the end of this batch (`from` keeps its id).
    fn append(&mut self, from: &mut Batch) {
        if self.is_empty() {
            std::mem::swap(&mut self.payload, &mut from.payload);
            std::mem::swap(&mut self.meta, &mut from.meta);
        } else {
            self.payload.extend_from_slice(&from.payload);
            self.meta.extend_from_slice(&from.meta);
            from.payload.clear();
            from.meta.clear();
        }
        self.large.append(&mut from.large);
        self.large_bytes += std::mem::take(&mut from.large_bytes);
    }

    fn push(&mut self, kind: u32, bytes: &[u8], extra: u32) {
        if self.conn != 0 && self.meta.is_empty() {
            self.meta.extend_from_slice(&[kind::CONN, 0, self.conn]);
        }
        self.payload.extend_from_slice(bytes);
        self.meta
            .extend_from_slice(&[kind, bytes.len() as u32, extra]);
    }

    fn push_large(&mut self, message: Large) {
        self.large_bytes += message.len();
        let kind = match message {
            Large::Text(_) => kind::LARGE_TEXT,
            Large::Binary(_) => kind::LARGE_BINARY,
        };
        self.large.push_back(message);
        self.push(kind, &[], 0);
    }

    /// A complete text message.
    pub fn text(&mut self, text: Utf8Bytes) {
        if text.len() >= LARGE_MESSAGE_MIN_BYTES {
            self.push_large(Large::Text(text));
        } else {
            self.push(kind::TEXT, text.as_bytes(), 0);
        }
    }

    /// A complete binary message.
    pub fn binary(&mut self, bytes: Bytes) {
        if bytes.len() >= LARGE_MESSAGE_MIN_BYTES {
            self.push_large(Large::Binary(bytes));
        } else {
            self.push(kind::BINARY, &bytes, 0);
        }
    }

    /// The `headerReceive` view of the response (already merged per R56).
    pub fn headers(&mut self, headers: &[(String, String)]) {
        let mut text = String::new();
        for (i, (name, value)) in headers.iter().enumerate() {
            if i > 0 {
                text.push('\0');
            }
            text.push_str(name);
            text.push('\0');
            text.push_str(value);
        }
        self.push(kind::HEADERS, text.as_bytes(), 0);
    }

    /// `open` / `openInfo` values.
    pub fn open(&mut self, status: u16, reason: &str, protocol: Option<&str>) {
        let text = format!("{reason}\0{}", protocol.unwrap_or(""));
        self.push(kind::OPEN, text.as_bytes(), u32::from(status));
    }

    /// The peer started the closing handshake.
    pub fn peer_closing(&mut self) {
        self.push(kind::PEER_CLOSING, &[], 0);
    }

    /// `error` of an open connection (a `close` follows); `detail` says why.
    pub fn error(&mut self, detail: &str) {
        self.push(kind::ERROR, detail.as_bytes(), 0);
    }

    /// `error` of a failed attempt, terminal; `detail` says why.
    pub fn failed(&mut self, status: Option<u16>, detail: &str) {
        self.push(kind::FAILED, detail.as_bytes(), status.map_or(0, u32::from));
    }

    /// Ask JS to call `ack()` once it has handled this batch.
    pub fn ack_request(&mut self) {
        self.push(kind::ACK_REQUEST, &[], 0);
    }

    /// `close`, terminal.
    pub fn close(&mut self, code: u16, reason: &str) {
        self.push(kind::CLOSE, reason.as_bytes(), u32::from(code));
    }

    /// Server: the handshake with `ip`:`port` completed (S11).
    pub fn connected(&mut self, ip: &str, port: u16) {
        self.push(kind::CONNECTED, ip.as_bytes(), u32::from(port));
    }

    /// Server: a client was refused (S9, S20); see [`EventQueue::submit_refused`].
    fn refused(&mut self, detail: &str) {
        self.push(kind::REFUSED, detail.as_bytes(), 0);
    }

    /// Server: stopped (S6), terminal.
    pub fn stopped(&mut self) {
        self.push(kind::STOPPED, &[], 0);
    }
}

const DEFER_OFF: u8 = 0;
const DEFER_ON: u8 = 1;
const DEFER_USED: u8 = 2;

thread_local! {
    /// Whether queues submitted to on this thread skip their notifier, and whether one
    /// did: see [`deferring_notifications`].
    static DEFERRING: Cell<u8> = const { Cell::new(DEFER_OFF) };
}

/// Runs `f` with notifications deferred: a queue that would wake JS through its
/// notifier only marks itself scheduled. Returns `f`'s result and whether any queue did
/// so, in which case the caller (the JS thread itself, see `runtime::js_thread`) must have
/// JS take it now. A threadsafe-function call from the JS thread to itself would cost a
/// whole event-loop turn per batch.
pub fn deferring_notifications<R>(f: impl FnOnce() -> R) -> (R, bool) {
    struct Restore(u8);
    impl Drop for Restore {
        fn drop(&mut self) {
            DEFERRING.with(|d| d.set(self.0));
        }
    }
    let outer = DEFERRING.with(|d| d.replace(DEFER_ON));
    let restore = Restore(outer);
    let result = f();
    let used = DEFERRING.with(|d| d.get()) == DEFER_USED;
    drop(restore);
    (result, used)
}

/// Asks the JS thread to drain the queue. Implemented by the binding layer.
pub trait Notifier: Send + Sync {
    /// Schedules one drain; `false` if JS can no longer be reached (environment gone).
    fn notify(&self) -> bool;
}

struct Pending {
    batch: Batch,
    /// REFUSED events in `batch`, and refusals past the bound not queued one by one.
    refused: usize,
    refused_unlisted: usize,
    /// Flow-control accounts of the runs in `batch`, given back when JS takes it.
    credits: Vec<(Arc<Credit>, usize)>,
    scheduled: bool,
    notifier: Option<Box<dyn Notifier>>,
}

/// The hand-over point between one connection task and JS.
pub struct EventQueue {
    inner: Mutex<Pending>,
}

impl EventQueue {
    /// A queue that wakes JS through `notifier`.
    pub fn new(notifier: Box<dyn Notifier>) -> Self {
        EventQueue {
            inner: Mutex::new(Pending {
                batch: Batch::default(),
                refused: 0,
                refused_unlisted: 0,
                credits: Vec::new(),
                scheduled: false,
                notifier: Some(notifier),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // A poisoned lock only means a panic elsewhere; the batch data is still sound.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves `local` into the queue (a swap when the queue is empty, so bytes are
    /// copied once on the common path). Returns `false` if JS is unreachable.
    pub fn submit(&self, local: &mut Batch) -> bool {
        self.submit_inner(local, None)
    }

    /// [`EventQueue::submit`], counting the payload bytes against `credit` until JS
    /// takes them (receive flow control, see `flow`).
    pub fn submit_counted(&self, local: &mut Batch, credit: &Arc<Credit>) -> bool {
        self.submit_inner(local, Some(credit))
    }

    /// Server: a client was refused (S9, S20). Past [`SERVER_REFUSED_EVENTS_PENDING_MAX`]
    /// waiting for JS, refusals are only counted, and JS gets one event for all of them
    /// when it takes the queue. Returns `false` if JS is unreachable.
    pub fn submit_refused(&self, detail: &str) -> bool {
        let mut pending = self.lock();
        if pending.refused >= SERVER_REFUSED_EVENTS_PENDING_MAX {
            pending.refused_unlisted += 1;
            return pending.notifier.is_some();
        }
        pending.refused += 1;
        pending.batch.refused(detail);
        Self::schedule(&mut pending)
    }

    /// Wakes JS even with no events queued: it has an open connection to adopt
    /// (`open::Handovers`).
    pub fn announce(&self) -> bool {
        let mut pending = self.lock();
        Self::schedule(&mut pending)
    }

    /// Asks JS to take the queue unless that is already asked, or unless this thread
    /// defers notifications (see [`deferring_notifications`]).
    fn schedule(pending: &mut Pending) -> bool {
        if pending.scheduled {
            return true;
        }
        pending.scheduled = true;
        let deferred = DEFERRING.with(|d| {
            let on = d.get() != DEFER_OFF;
            if on {
                d.set(DEFER_USED);
            }
            on
        });
        if deferred {
            return true;
        }
        match &pending.notifier {
            Some(n) => n.notify(),
            None => false,
        }
    }

    fn submit_inner(&self, local: &mut Batch, credit: Option<&Arc<Credit>>) -> bool {
        if local.is_empty() {
            return true;
        }
        let mut pending = self.lock();
        if let Some(credit) = credit {
            let n = local.held_bytes();
            if n > 0 {
                credit.add(n);
                pending.credits.push((credit.clone(), n));
            }
        }
        pending.batch.append(local);
        Self::schedule(&mut pending)
    }

    /// Called on the JS thread: moves everything queued so far into `out`, whose
    /// (cleared) buffers the queue keeps for the next batch, so the two ping-pong and
    /// a busy connection does not allocate a batch per wake-up.
    pub fn take_into(&self, out: &mut Batch) {
        out.clear();
        let (credits, unlisted) = {
            let mut pending = self.lock();
            pending.scheduled = false;
            pending.refused = 0;
            std::mem::swap(&mut pending.batch, out);
            (
                std::mem::take(&mut pending.credits),
                std::mem::take(&mut pending.refused_unlisted),
            )
        };
        if unlisted > 0 {
            out.refused(&format!(
                "{unlisted} more connections were refused while JS was busy"
            ));
        }
        // JS is handed these bytes now: the connections may read again.
        for (credit, n) in credits {
            credit.release(n);
        }
    }

    /// Everything queued so far (see [`EventQueue::take_into`]); for tests.
    #[cfg(test)]
    pub fn take(&self) -> Batch {
        let mut out = Batch::default();
        self.take_into(&mut out);
        out
    }

    /// `true` once [`EventQueue::close`] ran (the terminal event, if any, was submitted).
    pub fn is_closed(&self) -> bool {
        self.lock().notifier.is_none()
    }

    /// Drops the notifier after the terminal event was submitted, so the JS side can
    /// release its handle (and the process can exit, R10). Calls already scheduled
    /// still run.
    pub fn close(&self) {
        let notifier = self.lock().notifier.take();
        drop(notifier);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Count(Arc<AtomicUsize>);
    impl Notifier for Count {
        fn notify(&self) -> bool {
            self.0.fetch_add(1, Ordering::SeqCst);
            true
        }
    }

    #[test]
    fn one_notification_per_drain() {
        let calls = Arc::new(AtomicUsize::new(0));
        let q = EventQueue::new(Box::new(Count(calls.clone())));
        let mut local = Batch::default();
        local.text("a".into());
        assert!(q.submit(&mut local));
        local.binary(Bytes::from_static(b"bc"));
        assert!(q.submit(&mut local));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let b = q.take();
        assert_eq!(b.payload, b"abc");
        assert_eq!(b.meta, vec![kind::TEXT, 1, 0, kind::BINARY, 2, 0]);
        local.close(1000, "x");
        q.submit(&mut local);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        q.close();
        q.take();
        local.text("late".into());
        assert!(!q.submit(&mut local));
    }

    #[test]
    fn refusals_waiting_for_js_are_bounded_and_the_rest_counted() {
        let calls = Arc::new(AtomicUsize::new(0));
        let q = EventQueue::new(Box::new(Count(calls.clone())));
        let extra = 1000;
        for i in 0..SERVER_REFUSED_EVENTS_PENDING_MAX + extra {
            assert!(q.submit_refused(&format!("client {i}")));
        }
        let got = q.take();
        let kinds: Vec<u32> = got.meta.chunks(3).map(|t| t[0]).collect();
        assert_eq!(kinds.len(), SERVER_REFUSED_EVENTS_PENDING_MAX + 1);
        assert!(kinds.iter().all(|&k| k == kind::REFUSED));
        let text = String::from_utf8(got.payload).unwrap();
        assert!(text.starts_with("client 0"));
        assert!(text.ends_with(&format!(
            "{extra} more connections were refused while JS was busy"
        )));
        // Taken: the bound starts over, and nothing is left over.
        assert!(q.submit_refused("again"));
        assert_eq!(q.take().meta, vec![kind::REFUSED, 5, 0]);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn server_runs_are_marked_per_connection() {
        let calls = Arc::new(AtomicUsize::new(0));
        let q = EventQueue::new(Box::new(Count(calls.clone())));
        let mut a = Batch::for_conn(7);
        let mut b = Batch::for_conn(9);
        a.text("x".into());
        b.binary(Bytes::from_static(b"yz"));
        assert!(q.submit(&mut a));
        assert!(q.submit(&mut b));
        a.close(1000, "");
        assert!(q.submit(&mut a));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "one call across connections"
        );
        let got = q.take();
        assert_eq!(got.payload, b"xyz");
        assert_eq!(
            got.meta,
            vec![
                kind::CONN,
                0,
                7,
                kind::TEXT,
                1,
                0,
                kind::CONN,
                0,
                9,
                kind::BINARY,
                2,
                0,
                kind::CONN,
                0,
                7,
                kind::CLOSE,
                0,
                1000,
            ]
        );
    }
}
