//! The TCP socket under a connection, in one of two homes: registered with tokio's
//! reactor (connecting, the handshake, and the whole connection where the JS thread
//! cannot poll), or nonblocking and polled by the JS thread's own libuv loop once the
//! connection is open (`runtime::js_thread`).
//!
//! A polled socket registers no waker. The JS-thread executor re-polls its whole
//! connection when libuv reports readiness, so all the socket does is record which
//! direction last returned `EWOULDBLOCK` (`WSAEWOULDBLOCK` on Windows): that is what the executor asks libuv to watch.

use std::io::{self, IoSlice, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::runtime::core::sys::{self, RawSocket};

/// Bits of [`Blocked`]: a read returned `EWOULDBLOCK`.
pub const READ_BLOCKED: u8 = 1;
/// Bits of [`Blocked`]: a write returned `EWOULDBLOCK`.
pub const WRITE_BLOCKED: u8 = 2;
/// Bits of [`Blocked`]: data may have arrived since the last read that found none (set
/// by the executor when libuv reports readiness). Without it a read would only fail
/// with `EWOULDBLOCK`, so none is made: a drive woken to write (a server flushing its
/// sends to 100 connections) then costs one syscall per connection instead of two.
pub const MAYBE_READABLE: u8 = 4;

/// Which directions of a polled socket wait for readiness, set by the socket and read
/// (the two `*_BLOCKED` bits cleared before each poll) by the executor.
pub type Blocked = Arc<AtomicU8>;

/// A connection's socket.
pub enum Socket {
    /// Driven by tokio's reactor.
    Reactor(TcpStream),
    /// Nonblocking, polled by the JS thread.
    Polled(PolledSocket),
    /// Only while moving from one home to the other.
    Moving,
}

/// A nonblocking socket whose readiness someone else watches.
pub struct PolledSocket {
    tcp: std::net::TcpStream,
    blocked: Blocked,
}

impl Socket {
    /// Takes the socket off tokio's reactor: from here on it is nonblocking, and
    /// `blocked` says what it waits for. Returns the socket, for libuv to watch.
    pub fn leave_reactor(&mut self, blocked: Blocked) -> io::Result<RawSocket> {
        match std::mem::replace(self, Socket::Moving) {
            Socket::Reactor(tcp) => {
                // tokio's std stream is already nonblocking.
                let tcp = tcp.into_std()?;
                let sock = sys::raw_socket(&tcp);
                blocked.fetch_or(MAYBE_READABLE, Ordering::Relaxed);
                *self = Socket::Polled(PolledSocket { tcp, blocked });
                Ok(sock)
            }
            other => {
                *self = other;
                Err(io::Error::other("the socket is not on the reactor"))
            }
        }
    }

    /// The next read is to ask the kernel even if no readiness was reported since the last
    /// empty one: a deadline is being judged.
    pub fn assume_readable(&self) {
        if let Socket::Polled(p) = self {
            p.blocked.fetch_or(MAYBE_READABLE, Ordering::Relaxed);
        }
    }

    /// The OS socket, for write-through (`direct`).
    pub fn raw_socket(&self) -> Option<RawSocket> {
        match self {
            Socket::Reactor(tcp) => Some(sys::raw_socket(tcp)),
            Socket::Polled(p) => Some(sys::raw_socket(&p.tcp)),
            Socket::Moving => None,
        }
    }
}

fn moving() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "socket in transit")
}

impl PolledSocket {
    /// `Pending` for `EWOULDBLOCK`, recording `bit`; the result otherwise.
    fn settle<T>(&self, result: io::Result<T>, bit: u8) -> Poll<io::Result<T>> {
        match result {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.blocked.fetch_or(bit, Ordering::Relaxed);
                Poll::Pending
            }
            other => Poll::Ready(other),
        }
    }

    fn read_uninit(&self, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.blocked.load(Ordering::Relaxed) & MAYBE_READABLE == 0 {
            self.blocked.fetch_or(READ_BLOCKED, Ordering::Relaxed);
            return Poll::Pending;
        }
        loop {
            // SAFETY: nothing de-initialises bytes here: recv only writes to `spare`.
            let spare = unsafe { buf.unfilled_mut() };
            // SAFETY: `tcp` owns the socket, open for the call.
            let result = unsafe { sys::recv_into(sys::raw_socket(&self.tcp), spare) };
            let err = match result {
                Ok(n) => {
                    // SAFETY: recv initialised the first `n` bytes of the unfilled part.
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(err) => err,
            };
            if err.kind() == io::ErrorKind::WouldBlock {
                self.blocked.fetch_and(!MAYBE_READABLE, Ordering::Relaxed);
            }
            if err.kind() != io::ErrorKind::Interrupted {
                return self.settle(Err(err), READ_BLOCKED);
            }
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Reactor(tcp) => Pin::new(tcp).poll_read(cx, buf),
            // Into uninitialised memory, as tokio does: the read-ahead buffer is never
            // zero-filled (see `inbound`).
            Socket::Polled(p) => p.read_uninit(buf),
            Socket::Moving => Poll::Ready(Err(moving())),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Reactor(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Socket::Polled(p) => p.settle((&p.tcp).write(buf), WRITE_BLOCKED),
            Socket::Moving => Poll::Ready(Err(moving())),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Reactor(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            Socket::Polled(p) => p.settle((&p.tcp).write_vectored(bufs), WRITE_BLOCKED),
            Socket::Moving => Poll::Ready(Err(moving())),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Reactor(tcp) => Pin::new(tcp).poll_flush(cx),
            Socket::Polled(_) | Socket::Moving => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Reactor(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Socket::Polled(p) => {
                Poll::Ready(p.tcp.shutdown(std::net::Shutdown::Write).or_else(|e| {
                    // Already gone is as good as shut down.
                    if e.kind() == io::ErrorKind::NotConnected {
                        Ok(())
                    } else {
                        Err(e)
                    }
                }))
            }
            Socket::Moving => Poll::Ready(Err(moving())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[tokio::test]
    async fn a_polled_socket_records_what_it_waits_for() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (mut peer, _) = listener.accept().await.unwrap();
        let mut socket = Socket::Reactor(client);
        let blocked = Blocked::default();
        assert!(socket.leave_reactor(blocked.clone()).is_ok());
        assert!(socket.leave_reactor(blocked.clone()).is_err(), "only once");
        let mut cx = Context::from_waker(Waker::noop());
        let mut store = [0u8; 16];
        let mut buf = ReadBuf::new(&mut store);
        assert!(Pin::new(&mut socket)
            .poll_read(&mut cx, &mut buf)
            .is_pending());
        assert_eq!(blocked.load(Ordering::Relaxed), READ_BLOCKED);
        tokio::io::AsyncWriteExt::write_all(&mut peer, b"hi")
            .await
            .unwrap();
        // The bytes arrive asynchronously; wait for them with a blocking peek.
        let polled = match &socket {
            Socket::Polled(p) => p,
            _ => unreachable!(),
        };
        polled.tcp.set_nonblocking(false).unwrap();
        polled.tcp.peek(&mut [0u8; 2]).unwrap();
        polled.tcp.set_nonblocking(true).unwrap();
        // Not told the socket is readable: no read is tried.
        assert!(Pin::new(&mut socket)
            .poll_read(&mut cx, &mut buf)
            .is_pending());
        blocked.fetch_or(MAYBE_READABLE, Ordering::Relaxed);
        match Pin::new(&mut socket).poll_read(&mut cx, &mut buf) {
            Poll::Ready(Ok(())) => assert_eq!(buf.filled(), b"hi"),
            other => panic!("{other:?}"),
        }
        // Fill the send buffer until the kernel refuses more.
        let chunk = vec![0u8; 1 << 20];
        let mut refused = false;
        for _ in 0..256 {
            if Pin::new(&mut socket)
                .poll_write(&mut cx, &chunk)
                .is_pending()
            {
                refused = true;
                break;
            }
        }
        assert!(refused);
        // The read found data, so the socket may have more: reads stay allowed.
        assert_eq!(
            blocked.load(Ordering::Relaxed),
            READ_BLOCKED | WRITE_BLOCKED | MAYBE_READABLE
        );
    }
}
