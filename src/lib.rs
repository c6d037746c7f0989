//! `ohos-net-websocket`: OpenHarmony's `@ohos.net.webSocket` client and server for Node.js.
//!
//! Three layers, each in its own directory:
//! - [`engine`]: protocol rules as pure functions and state machines (no I/O, no napi);
//! - [`runtime`]: tokio tasks, TCP/TLS, timers, and the event hand-over to JS;
//! - [`bindings`]: the thin `#[napi]` surface used by the hand-written JS in `lib/`.

#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
// Every unsafe operation sits in its own `unsafe` block, even inside an `unsafe fn`,
// with a `// SAFETY:` comment saying why it holds.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod bindings;
pub mod constants;
pub mod engine;
pub mod errors;
pub mod runtime;
