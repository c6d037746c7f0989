//! The byte stream under a WebSocket connection of either role: plain TCP, or TLS as
//! a client (`wss://` connect) or as a server (`serverCert` given, S4.4).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::runtime::core::socket::Socket;
use crate::runtime::core::sys::RawSocket;

/// A plain or TLS TCP stream.
pub enum MaybeTls {
    /// `ws://` (either role).
    Plain(Socket),
    /// `wss://`, client side.
    ClientTls(Box<tokio_rustls::client::TlsStream<Socket>>),
    /// `wss://`, server side.
    ServerTls(Box<tokio_rustls::server::TlsStream<Socket>>),
}

/// Runs `$body` with `$s` bound to the pinned inner stream of whichever variant this is.
macro_rules! each_stream {
    ($self:expr, $s:ident => $body:expr) => {
        match $self.get_mut() {
            MaybeTls::Plain(inner) => {
                let $s = Pin::new(inner);
                $body
            }
            MaybeTls::ClientTls(inner) => {
                let $s = Pin::new(inner.as_mut());
                $body
            }
            MaybeTls::ServerTls(inner) => {
                let $s = Pin::new(inner.as_mut());
                $body
            }
        }
    };
}

/// What the open phase needs of its byte stream besides reading and writing. The
/// driver is generic over it so that `cargo test` runs it over an in-memory stream
/// (`tokio::io::duplex`), which keeps the defaults: no socket, nothing to re-arm.
pub trait Transport: AsyncRead + AsyncWrite + Unpin {
    /// The socket JS may write to directly (write-through), if any.
    fn plain_socket(&self) -> Option<RawSocket> {
        None
    }

    /// A deadline is being judged: the next read asks the OS even if no readiness was
    /// reported since the last empty one (see `socket::MAYBE_READABLE`).
    fn assume_readable(&mut self) {}
}

impl Transport for MaybeTls {
    /// Plain TCP only: TLS record state lives in the I/O thread.
    fn plain_socket(&self) -> Option<RawSocket> {
        match self {
            MaybeTls::Plain(socket) => socket.raw_socket(),
            MaybeTls::ClientTls(_) | MaybeTls::ServerTls(_) => None,
        }
    }

    fn assume_readable(&mut self) {
        self.socket_mut().assume_readable();
    }
}

#[cfg(test)]
impl Transport for tokio::io::DuplexStream {}

impl MaybeTls {
    /// The TCP socket under the TLS layer, if any.
    pub fn socket_mut(&mut self) -> &mut Socket {
        match self {
            MaybeTls::Plain(socket) => socket,
            MaybeTls::ClientTls(s) => s.get_mut().0,
            MaybeTls::ServerTls(s) => s.get_mut().0,
        }
    }
}

impl MaybeTls {
    /// `"<version> <cipher suite>"` of a TLS stream, for diagnostics; `None` for plain TCP.
    pub fn tls_summary(&self) -> Option<String> {
        let state: &rustls::CommonState = match self {
            MaybeTls::Plain(_) => return None,
            MaybeTls::ClientTls(s) => s.get_ref().1,
            MaybeTls::ServerTls(s) => s.get_ref().1,
        };
        Some(format!(
            "{:?} {:?}",
            state.protocol_version()?,
            state.negotiated_cipher_suite()?.suite()
        ))
    }
}

impl AsyncRead for MaybeTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each_stream!(self, s => s.poll_read(cx, buf))
    }
}

impl AsyncWrite for MaybeTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each_stream!(self, s => s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each_stream!(self, s => s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTls::Plain(s) => s.is_write_vectored(),
            MaybeTls::ClientTls(s) => s.is_write_vectored(),
            MaybeTls::ServerTls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_stream!(self, s => s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_stream!(self, s => s.poll_shutdown(cx))
    }
}
