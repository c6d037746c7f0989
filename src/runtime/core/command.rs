//! What JS asks of an open (or opening) connection, whatever its role. Both the
//! client's connection task and the server's connection tasks read these from their
//! [`Outbox`](crate::runtime::core::outbox::Outbox).

use tokio_tungstenite::tungstenite::{Bytes, Message};

/// One request from JS to a connection task.
#[derive(Debug)]
pub enum Command {
    /// One text frame (R43).
    Text(String),
    /// One binary frame (R43).
    Binary(Vec<u8>),
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

/// A data frame JS handed over: the bytes stay borrowed while write-through may take
/// them, and become an owned [`Command`] only when the frame has to be queued.
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

    /// The command that queues this frame; binary bytes are copied here (R43).
    pub fn into_command(self) -> Command {
        match self {
            Payload::Text(s) => Command::Text(s),
            Payload::Binary(b) => Command::Binary(b.to_vec()),
        }
    }
}

impl Command {
    /// The frame a data command becomes (`None` for control commands).
    pub fn into_message(self) -> Option<Message> {
        match self {
            Command::Text(s) => Some(Message::Text(s.into())),
            Command::Binary(b) => Some(Message::Binary(Bytes::from(b))),
            Command::Close { .. } | Command::Ack => None,
        }
    }
}
