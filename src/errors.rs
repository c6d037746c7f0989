//! The error enums of the engine and runtime layers — [`ClientError`] for connecting,
//! [`ServerError`] for starting a server — and their single mapping to the
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

/// Why `start()` of a server failed (S4, S7). The binding layer turns these into
/// BusinessError data with [`ServerError::code`] and [`ServerError::message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerError {
    /// `serverIP` is not an IP literal, or not an address of this host (S4.1, S7) → 2302004.
    InvalidAddress(String),
    /// `serverPort` above 65535, or the port may not be bound (S4.2, S7) → 2302005.
    InvalidPort(String),
    /// `serverCert.certPath` or `keyPath` does not exist (S4.4) → 2302002.
    CertificateFileMissing(String),
    /// The address is already in use (S7) → 2302007.
    AddressInUse(String),
    /// A client limit above 10 (S4.3), unusable certificate material, or any other
    /// internal failure (S17) → 2302999.
    Internal(String),
}

impl ServerError {
    /// Business error code of spec table (d).
    pub fn code(&self) -> i32 {
        match self {
            ServerError::InvalidAddress(_) => 2_302_004,
            ServerError::InvalidPort(_) => 2_302_005,
            ServerError::CertificateFileMissing(_) => 2_302_002,
            ServerError::AddressInUse(_) => 2_302_007,
            ServerError::Internal(_) => 2_302_999,
        }
    }

    /// Exact runtime message string of spec table (d) (R3).
    pub fn message(&self) -> &'static str {
        match self {
            ServerError::InvalidAddress(_) => "Can't listen to the given NIC",
            ServerError::InvalidPort(_) => "Can't listen to the given Port",
            ServerError::CertificateFileMissing(_) => "Websocket certificate file does not exist",
            ServerError::AddressInUse(_) => "Websocket port already occupied",
            ServerError::Internal(_) => "Websocket Unknown Other Error",
        }
    }

    /// What went wrong, in words.
    pub fn detail(&self) -> &str {
        match self {
            ServerError::InvalidAddress(d)
            | ServerError::InvalidPort(d)
            | ServerError::CertificateFileMissing(d)
            | ServerError::AddressInUse(d)
            | ServerError::Internal(d) => d,
        }
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.message(), self.detail())
    }
}

impl std::error::Error for ServerError {}
