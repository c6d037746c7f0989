//! The client role: a connection attempt (TCP, proxy tunnel, TLS, upgrade request,
//! all bounded by R22) that hands its stream to the shared open-phase core.

pub mod connection;
pub mod stream;
pub mod tls;
pub mod tunnel;
pub mod verify;
