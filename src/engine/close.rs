//! Close codes and reasons: what `close()` sends (R47, R48) and what the `close`
//! event reports for each way a connection can end (R61).

use crate::constants::{
    CLOSE_CODE_ABNORMAL, CLOSE_CODE_NORMAL, CLOSE_CODE_TOO_BIG, CLOSE_REASON_DEFAULT,
    CLOSE_REASON_LINK_DOWN, CLOSE_REASON_MAX_BYTES,
};

/// Code to put on the wire for `options.code` (R47): codes RFC 6455 lets an endpoint
/// send are kept, everything else becomes 1000.
pub fn normalise_code(requested: Option<f64>) -> u16 {
    let Some(value) = requested else {
        return CLOSE_CODE_NORMAL;
    };
    if !value.is_finite() {
        return CLOSE_CODE_NORMAL;
    }
    let code = value.trunc();
    let sendable = (1000.0..=1003.0).contains(&code)
        || (1007.0..=1014.0).contains(&code)
        || (3000.0..=4999.0).contains(&code);
    if sendable {
        code as u16
    } else {
        CLOSE_CODE_NORMAL
    }
}

/// Reason to send for `options.reason` (R48): `CLOSE_NORMAL` when absent or empty,
/// otherwise truncated at a character boundary to fit a close frame.
pub fn normalise_reason(requested: Option<&str>) -> String {
    match requested {
        None | Some("") => CLOSE_REASON_DEFAULT.to_string(),
        Some(text) => truncate_utf8(text, CLOSE_REASON_MAX_BYTES).to_string(),
    }
}

fn truncate_utf8(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The `{code, reason}` of a `close` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseResult {
    /// Status code reported to JS.
    pub code: u16,
    /// Reason reported to JS.
    pub reason: String,
}

/// How an open connection ended; each maps to one row of R61.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// This side called `close()` with these (already normalised) values.
    Local { code: u16, reason: String },
    /// The peer sent a close frame with a status code.
    PeerWithStatus { code: u16, reason: String },
    /// The peer sent a close frame without payload.
    PeerWithoutStatus,
    /// TCP reset / EOF without close frame, timeout, protocol violation or I/O error.
    Abnormal,
    /// An incoming message exceeded the limit; we sent 1009 (R59).
    TooBig,
}

/// A peer's breach of RFC 6455 that makes us fail the connection (RFC 6455 §7.1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// Framing or protocol error.
    Protocol,
    /// A text message that is not UTF-8.
    InvalidUtf8,
    /// A message above the incoming limit (R59).
    TooBig,
}

impl Violation {
    /// The status code of the close frame we send before dropping the link.
    pub fn close_code(self) -> u16 {
        match self {
            Violation::Protocol => 1002,
            Violation::InvalidUtf8 => 1007,
            Violation::TooBig => CLOSE_CODE_TOO_BIG,
        }
    }

    /// How the connection is reported to JS (R59, R61).
    pub fn ending(self) -> Ending {
        match self {
            Violation::TooBig => Ending::TooBig,
            _ => Ending::Abnormal,
        }
    }
}

impl Ending {
    /// R61: the values the `close` event carries.
    pub fn close_result(&self) -> CloseResult {
        match self {
            Ending::Local { code, reason } => CloseResult {
                code: *code,
                reason: reason.clone(),
            },
            Ending::PeerWithStatus { code, reason } => CloseResult {
                code: *code,
                reason: if reason.is_empty() {
                    CLOSE_REASON_LINK_DOWN.to_string()
                } else {
                    reason.clone()
                },
            },
            Ending::PeerWithoutStatus => CloseResult {
                code: CLOSE_CODE_NORMAL,
                reason: CLOSE_REASON_LINK_DOWN.to_string(),
            },
            Ending::Abnormal => CloseResult {
                code: CLOSE_CODE_ABNORMAL,
                reason: CLOSE_REASON_LINK_DOWN.to_string(),
            },
            Ending::TooBig => CloseResult {
                code: CLOSE_CODE_TOO_BIG,
                reason: CLOSE_REASON_LINK_DOWN.to_string(),
            },
        }
    }

    /// R62, R59: only an abnormal end is preceded by an `error` event.
    pub fn reports_error(&self) -> bool {
        matches!(self, Ending::Abnormal | Ending::TooBig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_kept_or_replaced() {
        for keep in [
            1000.0, 1001.0, 1003.0, 1007.0, 1014.0, 3000.0, 4999.0, 4000.7,
        ] {
            assert_eq!(normalise_code(Some(keep)), keep.trunc() as u16);
        }
        for replace in [
            0.0,
            -100.0,
            100.0,
            1004.0,
            1005.0,
            1006.0,
            1015.0,
            2999.0,
            5000.0,
            f64::NAN,
        ] {
            assert_eq!(normalise_code(Some(replace)), 1000, "{replace}");
        }
        assert_eq!(normalise_code(None), 1000);
    }

    #[test]
    fn reasons() {
        assert_eq!(normalise_reason(None), "CLOSE_NORMAL");
        assert_eq!(normalise_reason(Some("")), "CLOSE_NORMAL");
        assert_eq!(normalise_reason(Some("bye")), "bye");
        let long = "é".repeat(100); // 200 bytes
        let cut = normalise_reason(Some(&long));
        assert!(cut.len() <= 123 && cut.len() >= 122);
        assert!(long.starts_with(&cut));
    }

    #[test]
    fn r61_table() {
        let local = Ending::Local {
            code: 4000,
            reason: "x".into(),
        };
        assert_eq!(
            local.close_result(),
            CloseResult {
                code: 4000,
                reason: "x".into()
            }
        );
        let peer = Ending::PeerWithStatus {
            code: 1001,
            reason: String::new(),
        };
        assert_eq!(peer.close_result().reason, "The link is down");
        assert_eq!(Ending::PeerWithoutStatus.close_result().code, 1000);
        assert_eq!(Ending::Abnormal.close_result().code, 1006);
        assert!(Ending::Abnormal.reports_error());
        assert_eq!(Violation::TooBig.ending().close_result().code, 1009);
        assert!(Violation::TooBig.ending().reports_error());
        assert_eq!(Violation::InvalidUtf8.close_code(), 1007);
        assert_eq!(Violation::Protocol.ending(), Ending::Abnormal);
        assert!(!local.reports_error());
    }
}
