//! The operating-system calls the connection core makes outside tokio: reading and
//! writing a socket that left tokio's reactor, and finding the host's libuv. Everything
//! platform-specific of the core is here, in a `unix` and a `windows` half with the same
//! items, so `socket`, `direct`, `driver` and `js_thread` stay platform-free.
//!
//! Items of each half:
//! - `RawSocket`: a socket as the C calls take it (`int` on Unix, `SOCKET` on Windows),
//!   which is also libuv's `uv_os_sock_t`;
//! - `raw_socket(&stream)`: that value of a std or tokio `TcpStream`;
//! - `recv_into(sock, buf)`: `recv(2)` into uninitialised memory;
//! - `send_nosignal(sock, bytes)`: `send(2)` that never raises `SIGPIPE`;
//! - `forbid_sigpipe(sock)`: what the socket itself needs for that (macOS);
//! - `process_symbol(name)`: a function exported by the host executable.
//!
//! Errors come back as `io::Error` from the OS error code, so a nonblocking call that
//! would block is `ErrorKind::WouldBlock` on both (`EWOULDBLOCK` / `WSAEWOULDBLOCK`).

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

#[cfg(test)]
pub(crate) mod tests;
