//! The error enum of the engine and runtime layers, and its single mapping to the
//! `{code, message}` pairs of spec table (d). Nothing else in the crate picks codes.

use std::fmt;

/// Why a connect request or a connection failed. The binding layer turns these into
/// BusinessError data with [`ClientError::code`] and [`ClientError::message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The URL failed R17 (scheme, length, port, host syntax, userinfo) → 2302001.
    InvalidUrl(String),
    /// The URL has an empty host (R16 step 7) → −1, plus an `error` event.
    EmptyHost,
    /// A certificate or key file named in the options does not exist (R16 steps 3–4) → 2302002.
    CertificateFileMissing(String),
    /// The attempt failed after it started (R21); `status` is the HTTP status of a
    /// handshake or proxy response if one was received (R64 `data`).
    ConnectFailed { status: Option<u16>, detail: String },
    /// An established connection ended abnormally (R61 last row).
    LinkDown(String),
}

impl ClientError {
    /// Business error code of spec table (d).
    pub fn code(&self) -> i32 {
        match self {
            ClientError::InvalidUrl(_) => 2_302_001,
            ClientError::EmptyHost => -1,
            ClientError::CertificateFileMissing(_) => 2_302_002,
            ClientError::ConnectFailed { .. } | ClientError::LinkDown(_) => 200,
        }
    }

    /// Exact runtime message string of spec table (d) (R3).
    pub fn message(&self) -> &'static str {
        match self {
            ClientError::InvalidUrl(_) => "Websocket url error",
            ClientError::EmptyHost => "Websocket connect failed",
            ClientError::CertificateFileMissing(_) => "Websocket certificate file does not exist",
            ClientError::ConnectFailed { .. } | ClientError::LinkDown(_) => {
                "Websocket connect failed"
            }
        }
    }

    /// `data` of an `error` event (R64): the HTTP status if one was received, else "0".
    pub fn event_data(&self) -> String {
        match self {
            ClientError::ConnectFailed {
                status: Some(s), ..
            } => s.to_string(),
            _ => "0".to_string(),
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::InvalidUrl(why) => write!(f, "{}: {why}", self.message()),
            ClientError::EmptyHost => f.write_str(self.message()),
            ClientError::CertificateFileMissing(path) => write!(f, "{}: {path}", self.message()),
            ClientError::ConnectFailed { detail, .. } | ClientError::LinkDown(detail) => {
                write!(f, "{}: {detail}", self.message())
            }
        }
    }
}

impl std::error::Error for ClientError {}
