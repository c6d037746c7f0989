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
