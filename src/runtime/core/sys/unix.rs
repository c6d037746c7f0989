//! The Unix half of [`super`].

use std::ffi::{c_int, c_void, CStr};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;

/// A socket descriptor; libuv's `uv_os_sock_t` on Unix.
pub type RawSocket = c_int;

/// The descriptor of `stream`.
pub fn raw_socket(stream: &impl AsRawFd) -> RawSocket {
    stream.as_raw_fd()
}

/// Linux has a per-call flag; macOS has none that every version honours, and uses
/// `SO_NOSIGPIPE` on the socket instead (see [`forbid_sigpipe`]).
#[cfg(any(target_os = "linux", target_os = "android"))]
const SEND_FLAGS: c_int = libc::MSG_NOSIGNAL;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const SEND_FLAGS: c_int = 0;

/// `recv(2)` into `buf`; the number of bytes now initialised at its start.
///
/// # Safety
/// `sock` is an open socket for the duration of the call.
pub unsafe fn recv_into(sock: RawSocket, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    // SAFETY: `buf` is writable memory of `buf.len()` bytes; recv writes at most that
    // many, and the caller keeps `sock` open.
    let n = unsafe { libc::recv(sock, buf.as_mut_ptr().cast(), buf.len(), 0) };
    // A negative count is the error case; any other fits in usize.
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// `send(2)` of `bytes`, without `SIGPIPE` when the peer is gone (`EPIPE` instead), so
/// the process need not ignore that signal. The number of bytes the kernel took.
///
/// # Safety
/// `sock` is an open socket for the duration of the call.
pub unsafe fn send_nosignal(sock: RawSocket, bytes: &[u8]) -> io::Result<usize> {
    // SAFETY: `bytes` is readable for its length; the caller keeps `sock` open.
    let n = unsafe { libc::send(sock, bytes.as_ptr().cast(), bytes.len(), SEND_FLAGS) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// Makes [`send_nosignal`] signal-free on `sock`: nothing to do where `send` takes
/// `MSG_NOSIGNAL`; `SO_NOSIGPIPE` on Apple systems. mio sets that option on the sockets
/// it creates but not on accepted ones, so a server's connections would otherwise rely
/// on the listener's option being inherited.
pub fn forbid_sigpipe(sock: RawSocket) -> io::Result<()> {
    #[cfg(target_vendor = "apple")]
    {
        let on: c_int = 1;
        // SAFETY: `on` lives across the call and its size is given.
        let rc = unsafe {
            libc::setsockopt(
                sock,
                libc::SOL_SOCKET,
                libc::SO_NOSIGPIPE,
                std::ptr::from_ref(&on).cast(),
                std::mem::size_of::<c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    #[cfg(not(target_vendor = "apple"))]
    let _ = sock;
    Ok(())
}

/// The address of `name` among the symbols already loaded into the process (Node
/// exports libuv's from its executable); `None` if nothing loaded defines it.
pub fn process_symbol(name: &CStr) -> Option<*mut c_void> {
    // SAFETY: dlsym with RTLD_DEFAULT only reads the loaded objects' symbol tables.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!p.is_null()).then_some(p)
}
