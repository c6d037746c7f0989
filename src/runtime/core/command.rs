//! What JS asks of an open (or opening) connection, whatever its role. Both the
//! client's connection task and the server's connection tasks read these from their
//! [`Outbox`](crate::runtime::core::outbox::Outbox).

use tokio_tungstenite::tungstenite::Message;

/// One request from JS to a connection task.
#[derive(Debug)]
pub enum Command {
    /// One data frame, encoded (and masked, client role) when JS sent it (R43; see
    /// `engine::frame`).
    Frame(Vec<u8>),
    /// JS has handled the batch that asked for an acknowledgement (see `driver`).
    Ack,
    /// `close()` with the raw option values (R47, R48; S15).
    Close {
        /// `options.code` if it was a number.
        code: Option<f64>,
        /// `options.reason` if it was a string.
        reason: Option<String>,
    },
}

/// A data frame JS handed over: the bytes stay borrowed until they are encoded, into
/// the frame written through or the one queued.
pub enum Payload<'a> {
    /// A text frame (the string is JS's copy already).
    Text(String),
    /// A binary frame over JS's ArrayBuffer.
    Binary(&'a [u8]),
}

impl Payload<'_> {
    /// Text or binary.
    pub fn is_text(&self) -> bool {
        matches!(self, Payload::Text(_))
    }

    /// The frame's payload bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Payload::Text(s) => s.as_bytes(),
            Payload::Binary(b) => b,
        }
    }
}

/// A frame waiting to be written, in order.
#[derive(Debug)]
pub enum Outgoing {
    /// A data frame encoded at `send()`, written as it is.
    Encoded(Vec<u8>),
    /// A control frame (Close, Ping) that tungstenite encodes and writes.
    Control(Message),
}

impl Command {
    /// The frame a data command becomes (`None` for control commands).
    pub fn into_outgoing(self) -> Option<Outgoing> {
        match self {
            Command::Frame(frame) => Some(Outgoing::Encoded(frame)),
            Command::Close { .. } | Command::Ack => None,
        }
    }
}
