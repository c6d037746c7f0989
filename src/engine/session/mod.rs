//! The connection state machine of spec A.6, for both roles, seen from the connection
//! task: which events to emit and which close result to report as the handshake
//! completes, close requests and close frames arrive, and the transport ends. A server
//! connection starts at the handshake's end (S11); what the open phase decides is in
//! [`open_phase`].
//!
//! The JS layer mirrors the same states to answer API calls synchronously (R44, R51);
//! this machine decides what actually happens on the wire and in which order.

pub mod open_phase;

use crate::engine::close::{normalise_code, normalise_reason, Ending, Violation};
use open_phase::Failing;

/// Where the connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// TCP / TLS / upgrade in progress.
    Connecting,
    /// Handshake done, messages flow.
    Open,
    /// A close frame was sent or received; waiting for the transport to end.
    Closing,
    /// The terminal event was produced.
    Ended,
}

/// What to do after a successful upgrade (R24, R50).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterHandshake {
    /// Deliver `open` / `openInfo`, then write queued frames.
    DeliverOpen,
    /// `close()` came while connecting: write queued frames, then this close frame.
    SendClose { code: u16, reason: String },
}

/// What to do with a `close()` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseAction {
    /// Remembered until the handshake completes (R50).
    Deferred,
    /// Queue this close frame behind pending sends and start the close timer (R49).
    SendClose { code: u16, reason: String },
    /// Already closing: nothing to do.
    Ignore,
}

/// The terminal outcome of one connect attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The attempt never opened: `error` only (R21).
    Failed,
    /// The connection ended: optional `error` (R62), then `close` with these values (R61).
    Closed(Ending),
}

/// Per-connection state machine.
#[derive(Debug)]
pub struct Session {
    phase: Phase,
    deferred_close: Option<(u16, String)>,
    ending: Option<Ending>,
    failing: Failing,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    /// A new attempt, in `Connecting`.
    pub fn new() -> Self {
        Session {
            phase: Phase::Connecting,
            deferred_close: None,
            ending: None,
            failing: Failing::No,
        }
    }

    /// Current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Frames from `send()` are written only while connecting (queued) or open;
    /// afterwards they are discarded silently (R45).
    pub fn accepts_data(&self) -> bool {
        matches!(self.phase, Phase::Connecting | Phase::Open)
    }

    /// `close()` with raw JS values already read as `code` / `reason`.
    pub fn on_local_close(&mut self, code: Option<f64>, reason: Option<&str>) -> CloseAction {
        let code = normalise_code(code);
        let reason = normalise_reason(reason);
        match self.phase {
            Phase::Connecting => {
                if self.deferred_close.is_none() {
                    self.deferred_close = Some((code, reason));
                }
                CloseAction::Deferred
            }
            Phase::Open => {
                self.phase = Phase::Closing;
                self.ending = Some(Ending::Local {
                    code,
                    reason: reason.clone(),
                });
                CloseAction::SendClose { code, reason }
            }
            Phase::Closing | Phase::Ended => CloseAction::Ignore,
        }
    }

    /// The upgrade succeeded.
    pub fn on_handshake_done(&mut self) -> AfterHandshake {
        match self.deferred_close.take() {
            Some((code, reason)) => {
                self.phase = Phase::Closing;
                self.ending = Some(Ending::Local {
                    code,
                    reason: reason.clone(),
                });
                AfterHandshake::SendClose { code, reason }
            }
            None => {
                self.phase = Phase::Open;
                AfterHandshake::DeliverOpen
            }
        }
    }

    /// A close frame arrived. Returns `true` when this starts the closing phase (the JS
    /// side must then refuse further sends, R44).
    pub fn on_peer_close(&mut self, status: Option<(u16, String)>) -> bool {
        if self.phase != Phase::Open {
            return false;
        }
        self.phase = Phase::Closing;
        self.ending = Some(match status {
            Some((code, reason)) => Ending::PeerWithStatus { code, reason },
            None => Ending::PeerWithoutStatus,
        });
        true
    }

    /// The peer broke the protocol while the connection was open or closing: record how
    /// it will be reported, unless a close was already under way (its ending stands).
    /// Returns `true` when a close frame with [`Violation::close_code`] should be sent.
    pub fn on_violation(&mut self, violation: Violation) -> bool {
        match self.phase {
            Phase::Open => {
                self.phase = Phase::Closing;
                self.ending = Some(violation.ending());
                true
            }
            _ => false,
        }
    }

    /// The attempt or the connection is over (transport ended, error, or timeout).
    /// A clean close keeps the ending recorded earlier; anything unrecorded is abnormal.
    pub fn finish(&mut self) -> Outcome {
        let outcome = match self.phase {
            Phase::Connecting => Outcome::Failed,
            _ => Outcome::Closed(self.ending.take().unwrap_or(Ending::Abnormal)),
        };
        self.phase = Phase::Ended;
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_local_close() {
        let mut s = Session::new();
        assert_eq!(s.on_handshake_done(), AfterHandshake::DeliverOpen);
        assert!(s.accepts_data());
        let action = s.on_local_close(Some(4000.0), Some("bye"));
        assert_eq!(
            action,
            CloseAction::SendClose {
                code: 4000,
                reason: "bye".into()
            }
        );
        assert!(!s.accepts_data());
        assert_eq!(s.on_local_close(None, None), CloseAction::Ignore);
        // The peer's echo does not change what we report (R49).
        assert!(!s.on_peer_close(Some((1000, "echo".into()))));
        assert_eq!(
            s.finish(),
            Outcome::Closed(Ending::Local {
                code: 4000,
                reason: "bye".into()
            })
        );
    }

    #[test]
    fn close_while_connecting_skips_open() {
        let mut s = Session::new();
        assert_eq!(s.on_local_close(None, None), CloseAction::Deferred);
        assert_eq!(
            s.on_handshake_done(),
            AfterHandshake::SendClose {
                code: 1000,
                reason: "CLOSE_NORMAL".into()
            }
        );
        assert_eq!(s.phase(), Phase::Closing);
    }

    #[test]
    fn failed_attempt_and_abnormal_end() {
        let mut s = Session::new();
        assert_eq!(s.finish(), Outcome::Failed);
        let mut s = Session::new();
        s.on_handshake_done();
        assert_eq!(s.finish(), Outcome::Closed(Ending::Abnormal));
    }

    #[test]
    fn violations() {
        let mut s = Session::new();
        s.on_handshake_done();
        assert!(s.on_violation(Violation::TooBig));
        assert!(!s.accepts_data());
        assert!(!s.on_violation(Violation::Protocol));
        assert_eq!(s.finish(), Outcome::Closed(Ending::TooBig));
        let mut s = Session::new();
        s.on_handshake_done();
        s.on_local_close(None, None);
        assert!(!s.on_violation(Violation::Protocol));
        assert!(matches!(s.finish(), Outcome::Closed(Ending::Local { .. })));
    }

    #[test]
    fn peer_close() {
        let mut s = Session::new();
        s.on_handshake_done();
        assert!(s.on_peer_close(None));
        assert!(!s.accepts_data());
        assert_eq!(s.on_local_close(None, None), CloseAction::Ignore);
        assert_eq!(s.finish(), Outcome::Closed(Ending::PeerWithoutStatus));
    }
}
