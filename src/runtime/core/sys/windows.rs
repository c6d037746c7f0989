//! The Windows half of [`super`]: Winsock (`ws2_32`) and `kernel32`.

use std::ffi::{c_void, CStr};
use std::io;
use std::mem::MaybeUninit;
use std::os::windows::io::AsRawSocket;

use windows_sys::Win32::Networking::WinSock::{recv, send, WSAGetLastError, SOCKET, SOCKET_ERROR};
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};

/// A Winsock `SOCKET`; libuv's `uv_os_sock_t` on Windows.
pub type RawSocket = SOCKET;

/// The socket of `stream`.
pub fn raw_socket(stream: &impl AsRawSocket) -> RawSocket {
    // std widens SOCKET (pointer-sized) to u64 on every target; the value came from a
    // SOCKET, so narrowing it back loses nothing.
    stream.as_raw_socket() as SOCKET
}

/// Winsock takes `int` lengths: larger buffers are used in part, as a short read or
/// write, which every caller handles.
fn clamp(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

/// The error of the last Winsock call on this thread. std maps `WSAEWOULDBLOCK` to
/// `ErrorKind::WouldBlock` and the connection errors to their kinds.
fn last_error() -> io::Error {
    // SAFETY: reads this thread's Winsock error slot.
    io::Error::from_raw_os_error(unsafe { WSAGetLastError() })
}

fn count(n: i32) -> io::Result<usize> {
    if n == SOCKET_ERROR {
        return Err(last_error());
    }
    usize::try_from(n).map_err(|_| last_error())
}

/// `recv` into `buf`; the number of bytes now initialised at its start.
///
/// # Safety
/// `sock` is an open socket for the duration of the call.
pub unsafe fn recv_into(sock: RawSocket, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    // SAFETY: `buf` is writable memory of at least the length passed; recv writes at
    // most that many bytes, and the caller keeps `sock` open.
    count(unsafe { recv(sock, buf.as_mut_ptr().cast(), clamp(buf.len()), 0) })
}

/// `send` of `bytes`; Windows has no `SIGPIPE`, a broken connection is an error. The
/// number of bytes Winsock took.
///
/// # Safety
/// `sock` is an open socket for the duration of the call.
pub unsafe fn send_nosignal(sock: RawSocket, bytes: &[u8]) -> io::Result<usize> {
    // SAFETY: `bytes` is readable for the length passed; the caller keeps `sock` open.
    count(unsafe { send(sock, bytes.as_ptr(), clamp(bytes.len()), 0) })
}

/// Nothing to prepare: Windows raises no signal on a broken connection.
pub fn forbid_sigpipe(_sock: RawSocket) -> io::Result<()> {
    Ok(())
}

/// The address of `name` exported by the executable (node.exe exports libuv's and
/// Node-API's functions), or else by `libnode.dll` where Node is embedded as a DLL.
pub fn process_symbol(name: &CStr) -> Option<*mut c_void> {
    let libnode: Vec<u16> = "libnode.dll\0".encode_utf16().collect();
    for module in [std::ptr::null(), libnode.as_ptr()] {
        // SAFETY: `module` is null (the executable) or a NUL-terminated UTF-16 string;
        // GetModuleHandleW takes no reference on the module, and loaded modules of the
        // host stay loaded for the process's life.
        let handle = unsafe { GetModuleHandleW(module) };
        if handle.is_null() {
            continue;
        }
        // SAFETY: `handle` is a loaded module and `name` is NUL-terminated.
        if let Some(f) = unsafe { GetProcAddress(handle, name.as_ptr().cast()) } {
            return Some(f as *mut c_void);
        }
    }
    None
}
