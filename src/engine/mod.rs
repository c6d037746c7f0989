//! The engine: pure protocol logic with no I/O and no napi types, unit-tested with
//! `cargo test`. URL rules, the upgrade handshake, close codes, the connection state
//! machine and heartbeat settings.

pub mod close;
pub mod handshake;
pub mod heartbeat;
pub mod proxy;
pub mod session;
pub mod url;
