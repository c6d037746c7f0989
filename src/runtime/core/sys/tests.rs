use std::io::{ErrorKind, Read, Write};
use std::mem::MaybeUninit;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use super::*;

/// A connected loopback pair: (ours, theirs). Shared with the write-through tests.
pub(crate) fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ours = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (theirs, _) = listener.accept().unwrap();
    (ours, theirs)
}

#[test]
fn recv_reports_would_block_then_reads_what_arrived() {
    let (ours, mut theirs) = pair();
    ours.set_nonblocking(true).unwrap();
    let sock = raw_socket(&ours);
    let mut buf = [MaybeUninit::<u8>::uninit(); 8];
    // SAFETY: `ours` is open for the whole test.
    let err = unsafe { recv_into(sock, &mut buf) }.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
    theirs.write_all(b"abc").unwrap();
    let mut got = Vec::new();
    for _ in 0..200 {
        // SAFETY: as above.
        match unsafe { recv_into(sock, &mut buf) } {
            Ok(n) => {
                // SAFETY: recv initialised the first `n` bytes.
                got.extend(buf[..n].iter().map(|b| unsafe { b.assume_init() }));
                if got.len() == 3 {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, b"abc");
    drop(theirs);
    // SAFETY: as above.
    let n = (0..200)
        .find_map(|_| match unsafe { recv_into(sock, &mut buf) } {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
                None
            }
            other => Some(other.unwrap()),
        })
        .unwrap();
    assert_eq!(n, 0, "the peer's close reads as end of stream");
}

#[test]
fn send_writes_the_bytes_and_reports_a_broken_connection_as_an_error() {
    let (ours, mut theirs) = pair();
    forbid_sigpipe(raw_socket(&ours)).unwrap();
    // SAFETY: `ours` is open for the whole test.
    let n = unsafe { send_nosignal(raw_socket(&ours), b"hello") }.unwrap();
    assert_eq!(n, 5);
    let mut got = [0u8; 5];
    theirs.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello");
    drop(theirs);
    // The first send after the peer's close may still be taken (the peer answers it with
    // a reset); a later one fails.
    let failed = (0..200).find_map(|_| {
        std::thread::sleep(Duration::from_millis(5));
        // SAFETY: as above.
        unsafe { send_nosignal(raw_socket(&ours), b"x") }.err()
    });
    let kind = failed.map(|e| e.kind());
    assert!(
        matches!(
            kind,
            Some(ErrorKind::BrokenPipe | ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted)
        ),
        "{kind:?}"
    );
}

/// Sends to a peer that is gone, with SIGPIPE blocked on this thread so that a raised
/// one stays pending instead of being discarded (Rust's test harness ignores it); says
/// whether one was raised, and consumes it.
#[cfg(target_os = "linux")]
fn raises_sigpipe(write: impl Fn(RawSocket) -> std::io::Result<usize>) -> bool {
    // SAFETY: plain signal-set manipulation on local sets; the mask is this thread's
    // and restored before returning.
    unsafe {
        let mut pipe: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pipe);
        libc::sigaddset(&mut pipe, libc::SIGPIPE);
        let mut old: libc::sigset_t = std::mem::zeroed();
        assert_eq!(libc::pthread_sigmask(libc::SIG_BLOCK, &pipe, &mut old), 0);
        let (ours, theirs) = pair();
        drop(theirs);
        let sock = raw_socket(&ours);
        let mut broke = false;
        for _ in 0..200 {
            if write(sock).is_err() {
                broke = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut pending);
        let raised = libc::sigismember(&pending, libc::SIGPIPE) == 1;
        if raised {
            let zero = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            libc::sigtimedwait(&pipe, std::ptr::null_mut(), &zero);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        assert!(broke, "the connection never broke");
        raised
    }
}

#[cfg(target_os = "linux")]
#[test]
fn send_to_a_closed_peer_raises_no_sigpipe_where_write_does() {
    // The control: write(2) on the same kind of broken socket does raise it, so the
    // check below can tell.
    // SAFETY: the socket is open while `raises_sigpipe` runs the closure.
    let write = |s: RawSocket| match unsafe { libc::write(s, b"x".as_ptr().cast(), 1) } {
        n if n < 0 => Err(std::io::Error::last_os_error()),
        n => Ok(n as usize),
    };
    assert!(raises_sigpipe(write));
    // SAFETY: as above.
    assert!(!raises_sigpipe(|s| unsafe { send_nosignal(s, b"x") }));
}

#[test]
fn finds_functions_the_process_exports() {
    #[cfg(unix)]
    assert!(process_symbol(c"malloc").is_some());
    assert!(process_symbol(c"ohos_ws_no_such_function_anywhere").is_none());
}
