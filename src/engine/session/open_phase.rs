//! The open phase's protocol decisions, for both roles (RFC 6455 §5.5, §7; R44–R49, R59,
//! R61, R62, R66): what a close request, a close frame, a breach, a failed write or a
//! missing Pong leads to, as [`Actions`] the runtime's driver carries out. The driver
//! moves bytes and runs timers; everything it decides is here, tested without I/O.

use super::{CloseAction, Phase, Session};
use crate::constants::{CLOSE_TIMEOUT_MS, VIOLATION_GRACE_MS};
use crate::engine::close::Violation;

/// Failing the connection after the peer broke the protocol (RFC 6455 §7.1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Failing {
    /// Not failing.
    #[default]
    No,
    /// JS has one turn to answer the messages that arrived before the breach: waiting
    /// for it to acknowledge the batch that holds them.
    AwaitingAck(Violation),
    /// The last frames (the close frame among them) are being written; then the end.
    Sending,
}

/// A deadline the driver runs for the connection; a new one replaces the old.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// R49: waiting for the peer's close frame, or for the peer to drop TCP after our
    /// reply to its close frame.
    Close,
    /// RFC 6455 §7.1.7: JS's turn after a breach, or the last write of a failed link.
    Grace,
}

impl Deadline {
    /// How long it runs.
    pub fn millis(self) -> u64 {
        match self {
            Deadline::Close => CLOSE_TIMEOUT_MS,
            Deadline::Grace => VIOLATION_GRACE_MS,
        }
    }
}

/// What the driver does after an open-phase event; fields in the order it acts.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Actions {
    /// Tell JS the peer started the closing handshake (its sends fail from now, R44).
    pub report_peer_closing: bool,
    /// Ask JS to acknowledge the batch it is given (the breach's grace turn).
    pub request_ack: bool,
    /// Drop frames queued and not yet written (R45).
    pub discard_queued: bool,
    /// Writing failed for good: stop trying to flush what tungstenite holds too.
    pub stop_writing: bool,
    /// Queue this close frame `(code, reason)` after what is queued.
    pub send_close: Option<(u16, String)>,
    /// Write what tungstenite holds (its own reply to a close frame).
    pub flush: bool,
    /// No more Pings (R68: none once closing).
    pub stop_heartbeat: bool,
    /// Start this deadline; when it passes, the connection ends.
    pub deadline: Option<Deadline>,
    /// Why the connection is ending abnormally, for the `error` event (R62).
    pub failure: Option<String>,
    /// End the connection now.
    pub end: bool,
}

/// What to do about a Ping whose Pong is overdue (R66).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overdue {
    /// Reading is paused by flow control: the Pong may sit unread behind data the peer
    /// sent, so that peer is alive; the heartbeat starts over.
    StartOver,
    /// Read what the socket holds first (a Pong that came in time may be there, unread
    /// while JS was busy), then judge with [`Session::pong_missing`].
    JudgeAfterReads,
}

/// tungstenite answers a close frame whose code may not be sent on the wire (RFC 6455
/// §7.4.1: 1005, 1006, 1015, <1000, 1016–2999, ≥5000) with 1002 and hands that reply to
/// us in place of the peer's frame; this is how it looks.
pub fn is_substituted_close(status: &(u16, String)) -> bool {
    status.0 == 1002 && status.1 == "Protocol violation"
}

impl Session {
    /// `close()` on an open connection (R46–R49).
    pub fn close_requested(&mut self, code: Option<f64>, reason: Option<&str>) -> Actions {
        match self.on_local_close(code, reason) {
            CloseAction::SendClose { code, reason } => Actions {
                send_close: Some((code, reason)),
                stop_heartbeat: true,
                deadline: Some(Deadline::Close),
                ..Actions::default()
            },
            CloseAction::Deferred | CloseAction::Ignore => Actions::default(),
        }
    }

    /// JS acknowledged the batch with the messages before a breach: now the close frame.
    pub fn acknowledged(&mut self) -> Actions {
        let Failing::AwaitingAck(v) = self.failing else {
            return Actions::default();
        };
        self.failing = Failing::Sending;
        Actions {
            send_close: Some((v.close_code(), String::new())),
            ..Actions::default()
        }
    }

    /// Whether a data frame from `send()` is written (R45: not once closing), counting
    /// the answers JS gives in its grace turn after a breach.
    pub fn admits_data(&self) -> bool {
        self.accepts_data() || matches!(self.failing, Failing::AwaitingAck(_))
    }

    /// A close frame arrived (`None`: without a status code).
    pub fn close_frame_received(&mut self, status: Option<(u16, String)>) -> Actions {
        if status.as_ref().is_some_and(is_substituted_close) {
            // A code the peer may not send: a protocol violation, reported as an abnormal
            // end (R61). tungstenite queued its 1002 reply: write it and drop the link.
            if !self.on_violation(Violation::Protocol) {
                return Actions::default();
            }
            self.failing = Failing::Sending;
            return Actions {
                report_peer_closing: true,
                discard_queued: true,
                flush: true,
                stop_heartbeat: true,
                deadline: Some(Deadline::Grace),
                failure: Some("the peer sent a close code that is not allowed".into()),
                ..Actions::default()
            };
        }
        if !self.on_peer_close(status) {
            return Actions::default();
        }
        Actions {
            report_peer_closing: true,
            // R45: frames still queued are discarded.
            discard_queued: true,
            stop_heartbeat: true,
            // The peer should drop TCP after our reply; bounded as R49 bounds a close.
            deadline: Some(Deadline::Close),
            ..Actions::default()
        }
    }

    /// Reading failed: a breach of the peer's (`violation`), or the link is gone.
    pub fn read_failed(&mut self, violation: Option<Violation>, detail: String) -> Actions {
        match violation {
            Some(v) if self.on_violation(v) => {
                self.failing = Failing::AwaitingAck(v);
                Actions {
                    request_ack: true,
                    stop_heartbeat: true,
                    deadline: Some(Deadline::Grace),
                    failure: Some(detail),
                    ..Actions::default()
                }
            }
            _ => Actions {
                failure: Some(detail),
                end: true,
                ..Actions::default()
            },
        }
    }

    /// Writing failed. While open that is the end; while closing the peer may be gone
    /// already, so reading goes on until the end it sends (or the deadline).
    pub fn write_failed(&mut self, detail: String) -> Actions {
        if self.accepts_data() {
            return Actions {
                failure: Some(format!("write failed: {detail}")),
                end: true,
                ..Actions::default()
            };
        }
        Actions {
            discard_queued: true,
            stop_writing: true,
            end: self.failing == Failing::Sending,
            ..Actions::default()
        }
    }

    /// Whether the driver reads: not while a breach is being answered.
    pub fn reads(&self) -> bool {
        self.failing == Failing::No
    }

    /// A failing connection whose last frames are written is over.
    pub fn done_sending(&self, nothing_left: bool) -> bool {
        self.failing == Failing::Sending && nothing_left
    }

    /// Whether JS may write to the socket itself (write-through): only while open and
    /// not failing.
    pub fn lets_js_write(&self) -> bool {
        self.phase() == Phase::Open && self.failing == Failing::No
    }

    /// A Pong is overdue (R66).
    pub fn pong_overdue(reading_paused: bool) -> Overdue {
        if reading_paused {
            Overdue::StartOver
        } else {
            Overdue::JudgeAfterReads
        }
    }

    /// The reads are done and the Pong still has not come: an abnormal end (R66).
    pub fn pong_missing() -> Actions {
        Actions {
            failure: Some("no pong within pongTimeout".into()),
            end: true,
            ..Actions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::close::Ending;
    use crate::engine::session::Outcome;

    fn open() -> Session {
        let mut s = Session::new();
        s.on_handshake_done();
        s
    }

    #[test]
    fn a_close_request_sends_one_close_frame_and_starts_r49s_deadline() {
        let mut s = open();
        let a = s.close_requested(Some(4000.0), Some("bye"));
        assert_eq!(a.send_close, Some((4000, "bye".into())));
        assert!(a.stop_heartbeat && !a.end);
        assert_eq!(a.deadline, Some(Deadline::Close));
        assert_eq!(Deadline::Close.millis(), CLOSE_TIMEOUT_MS);
        assert_eq!(s.close_requested(None, None), Actions::default(), "once");
        assert!(!s.admits_data(), "R45");
        assert!(!s.lets_js_write());
    }

    #[test]
    fn the_peers_close_frame_discards_queued_frames_r45() {
        let mut s = open();
        let a = s.close_frame_received(Some((1001, "away".into())));
        assert!(a.report_peer_closing && a.discard_queued && a.stop_heartbeat);
        assert_eq!(a.deadline, Some(Deadline::Close));
        assert!(a.failure.is_none() && !a.end);
        assert!(!s.admits_data());
        // Its echo of our close changes nothing.
        let mut s = open();
        s.close_requested(None, None);
        assert_eq!(s.close_frame_received(None), Actions::default());
        assert!(matches!(s.finish(), Outcome::Closed(Ending::Local { .. })));
    }

    #[test]
    fn a_close_code_the_peer_may_not_send_fails_the_connection() {
        let mut s = open();
        let a = s.close_frame_received(Some((1002, "Protocol violation".into())));
        assert!(a.report_peer_closing && a.discard_queued && a.flush);
        assert_eq!(a.deadline, Some(Deadline::Grace));
        assert!(
            a.failure.is_some() && a.send_close.is_none(),
            "tungstenite replies"
        );
        assert!(s.done_sending(true) && !s.done_sending(false));
        assert!(!s.reads());
        assert_eq!(s.finish(), Outcome::Closed(Ending::Abnormal));
        // The same text with another code is the peer's own close.
        let mut s = open();
        assert!(s
            .close_frame_received(Some((1002, "Protocol violation!".into())))
            .failure
            .is_none());
    }

    #[test]
    fn a_breach_gives_js_one_turn_then_the_close_frame() {
        let mut s = open();
        let a = s.read_failed(Some(Violation::InvalidUtf8), "bad text".into());
        assert!(a.request_ack && a.stop_heartbeat && !a.end);
        assert_eq!(a.deadline, Some(Deadline::Grace));
        assert_eq!(a.failure.as_deref(), Some("bad text"));
        assert!(!s.reads());
        assert!(s.admits_data(), "answers to the last messages still go out");
        assert!(!s.lets_js_write());
        let a = s.acknowledged();
        assert_eq!(a.send_close, Some((1007, String::new())));
        assert!(!s.admits_data());
        assert_eq!(s.acknowledged(), Actions::default(), "one close frame");
        assert!(s.done_sending(true));
    }

    #[test]
    fn a_breach_while_closing_or_a_lost_link_just_ends() {
        let mut s = open();
        s.close_requested(None, None);
        let a = s.read_failed(Some(Violation::Protocol), "late".into());
        assert!(a.end && !a.request_ack);
        let mut s = open();
        let a = s.read_failed(None, "reset".into());
        assert!(a.end);
        assert_eq!(a.failure.as_deref(), Some("reset"));
        assert_eq!(s.finish(), Outcome::Closed(Ending::Abnormal));
    }

    #[test]
    fn a_failed_write_ends_an_open_connection_but_not_a_closing_one() {
        let mut s = open();
        let a = s.write_failed("broken pipe".into());
        assert!(a.end);
        assert_eq!(a.failure.as_deref(), Some("write failed: broken pipe"));
        let mut s = open();
        s.close_frame_received(None);
        let a = s.write_failed("broken pipe".into());
        assert!(a.discard_queued && a.stop_writing && !a.end && a.failure.is_none());
        let mut s = open();
        s.read_failed(Some(Violation::TooBig), "big".into());
        s.acknowledged();
        assert!(s.write_failed("gone".into()).end, "nothing left to send");
    }

    #[test]
    fn an_overdue_pong_is_judged_after_reads_unless_reading_is_paused() {
        assert_eq!(Session::pong_overdue(true), Overdue::StartOver);
        assert_eq!(Session::pong_overdue(false), Overdue::JudgeAfterReads);
        let a = Session::pong_missing();
        assert!(a.end && a.failure.is_some());
    }
}
