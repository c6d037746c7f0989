//! The engine: pure protocol logic with no I/O and no napi types, unit-tested with
//! `cargo test`. URL rules, the upgrade handshake of both roles, data frames, close codes, the
//! connection state machine, heartbeat settings, and the server's config and
//! admission rules.

// Pure logic: whatever needs `unsafe` (raw memory, the OS, libuv) belongs to the runtime.
#![forbid(unsafe_code)]

pub mod close;
pub mod frame;
pub mod handshake;
pub mod heartbeat;
pub mod limits;
pub mod proxy;
pub mod server_config;
pub mod session;
pub mod url;
