//! The open-phase core shared by both roles: once a handshake is done, a client
//! connection and a server connection run the same code. Commands from JS
//! ([`command`], [`outbox`]), write-through ([`direct`]), the poll loop ([`driver`]),
//! receive flow control ([`flow`]),
//! heartbeat timers ([`heartbeat`]), event batches to JS ([`events`]), the byte stream
//! ([`transport`]) with its queue of encoded frames ([`link`]) and its read side
//! ([`inbound`]), the start and end of the open phase ([`open`]), and the OS calls it
//! makes outside tokio ([`sys`], the one platform-specific module).
//!
//! The role decides only what truly differs, through tungstenite's [`Role`]: the
//! client masks its frames, the server requires masked ones.
//!
//! [`Role`]: tokio_tungstenite::tungstenite::protocol::Role

pub mod command;
pub mod direct;
pub mod driver;
#[cfg(test)]
mod driver_tests;
pub mod encode;
pub mod events;
pub mod flow;
pub mod heartbeat;
pub mod inbound;
pub mod link;
pub mod open;
pub mod outbox;
pub mod socket;
pub mod sys;
pub mod transport;
