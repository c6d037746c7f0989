//! Write-through: a small frame sent while the connection is idle is written to the
//! socket by the JS thread itself, instead of waking the I/O thread to do it.
//!
//! A round trip otherwise crosses threads twice (JS → I/O thread to write, I/O thread →
//! JS to deliver), where `ws` crosses none; writing here removes the first crossing
//! (measured: `bench/README.md`, "Design measurements", D4).
//!
//! Safety of the byte stream: the I/O thread holds the gate (`idle == false`) for the
//! whole of each poll, during which tungstenite may write (data, Pongs, close frames),
//! and gives it back only when everything it buffered is flushed and the connection is
//! open. JS writes only under the gate, so frames never interleave. A partial write
//! leaves the rest in `raw_pending`, which the I/O thread writes before anything else.
//! Plain TCP only: TLS state lives in the I/O thread. Both roles: the client masks
//! its frames, the server does not.

use std::sync::Mutex;

use tokio_tungstenite::tungstenite::protocol::Role;

use crate::runtime::core::command::Payload;
use crate::runtime::core::encode::encode_frame;
use crate::runtime::core::outbox::Outbox;
use crate::runtime::core::sys::{self, RawSocket};

/// Largest payload written through; larger ones go to the I/O thread, where masking and
/// writing in bulk are cheaper than a blocking-free partial write dance here.
pub const DIRECT_MAX_PAYLOAD_BYTES: usize = 16 * 1024;

struct Gate {
    /// The socket, or `None` when write-through is off (TLS, not open, or closed).
    sock: Option<RawSocket>,
    /// The I/O thread has nothing buffered and is not polling: JS may write.
    idle: bool,
    /// Bytes of a frame JS started but the kernel did not take; written first.
    raw_pending: Vec<u8>,
}

/// The write-through gate of one connection.
pub struct DirectWriter {
    gate: Mutex<Gate>,
    /// Client role: frames carry a fresh mask (RFC 6455 §5.3); server frames do not.
    /// Every data frame JS sends is encoded with this rule, written through or queued.
    masked: bool,
}

impl DirectWriter {
    /// A closed gate for a connection of `role`.
    pub fn new(role: Role) -> Self {
        DirectWriter {
            gate: Mutex::new(Gate {
                sock: None,
                idle: false,
                raw_pending: Vec::new(),
            }),
            masked: role == Role::Client,
        }
    }
}

impl DirectWriter {
    /// `payload` as the one frame it is sent as (the R43 copy, see `engine::frame`).
    pub fn encode(&self, payload: &Payload<'_>) -> Vec<u8> {
        let mask = self.masked.then(rand::random::<[u8; 4]>);
        encode_frame(payload.is_text(), payload.bytes(), mask)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// JS thread: writes one data frame now if the gate is free and nothing is queued
    /// in `outbox` (order). `true` = the frame is on its way (fully written, or its tail
    /// handed to the I/O thread); `false` = use the outbox.
    pub fn try_send(&self, payload: &Payload<'_>, outbox: &Outbox) -> bool {
        if payload.bytes().len() > DIRECT_MAX_PAYLOAD_BYTES {
            return false;
        }
        let mut gate = self.lock();
        let Some(sock) = gate.sock.filter(|_| gate.idle && outbox.is_empty()) else {
            return false;
        };
        let frame = self.encode(payload);
        // SAFETY: `sock` is the connection's open socket: the I/O thread clears it under
        // this lock, held across the call, before the socket is closed.
        match unsafe { sys::send_nosignal(sock, &frame) } {
            Ok(n) if n == frame.len() => true,
            Ok(n) => {
                gate.raw_pending.extend_from_slice(&frame[n..]);
                gate.idle = false;
                drop(gate);
                outbox.wake();
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                gate.raw_pending.extend_from_slice(&frame);
                gate.idle = false;
                drop(gate);
                outbox.wake();
                true
            }
            // A broken socket: let the I/O thread find out and report it.
            Err(_) => false,
        }
    }

    /// I/O thread, start of a poll: take the gate; returns bytes JS left unwritten.
    pub fn begin(&self) -> Vec<u8> {
        let mut gate = self.lock();
        gate.idle = false;
        std::mem::take(&mut gate.raw_pending)
    }

    /// I/O thread, end of a poll: hand the gate to JS (everything flushed, socket `sock`
    /// open and the connection open).
    pub fn release(&self, sock: RawSocket) {
        let mut gate = self.lock();
        gate.sock = Some(sock);
        gate.idle = true;
    }

    /// I/O thread: no more write-through (closing, or the socket is about to close).
    pub fn disable(&self) {
        let mut gate = self.lock();
        gate.sock = None;
        gate.idle = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::core::sys::tests::pair;
    use std::io::Read;

    #[test]
    fn gate_rules() {
        let d = DirectWriter::new(Role::Client);
        let outbox = Outbox::default();
        // Disabled by default: nothing written.
        assert!(!d.try_send(&Payload::Text("x".into()), &outbox));
        assert!(d.begin().is_empty());
        d.disable();
        let big = vec![0; DIRECT_MAX_PAYLOAD_BYTES + 1];
        assert!(!d.try_send(&Payload::Binary(&big), &outbox));
        // The role decides the mask: the client's frames carry a key, the server's not.
        let text = Payload::Text("Hi".into());
        assert_eq!(d.encode(&text)[1], 0x82);
        assert_eq!(DirectWriter::new(Role::Server).encode(&text), b"\x81\x02Hi");
    }

    #[test]
    fn an_idle_gate_writes_the_frame_itself_and_a_busy_one_does_not() {
        let (ours, mut theirs) = pair();
        let d = DirectWriter::new(Role::Server);
        let outbox = Outbox::default();
        d.release(sys::raw_socket(&ours));
        assert!(d.try_send(&Payload::Text("Hi".into()), &outbox));
        let mut got = [0u8; 4];
        theirs.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"\x81\x02Hi");
        // The I/O thread holds the gate during its poll: JS must queue.
        assert!(d.begin().is_empty());
        assert!(!d.try_send(&Payload::Text("Hi".into()), &outbox));
        // Queued frames go first: no write-through past them.
        d.release(sys::raw_socket(&ours));
        outbox.push(crate::runtime::core::command::Command::Ack);
        assert!(!d.try_send(&Payload::Text("Hi".into()), &outbox));
    }

    #[test]
    fn what_the_kernel_refuses_is_handed_to_the_io_thread() {
        let (ours, _theirs) = pair();
        ours.set_nonblocking(true).unwrap();
        let d = DirectWriter::new(Role::Server);
        let outbox = Outbox::default();
        let payload = vec![7u8; DIRECT_MAX_PAYLOAD_BYTES];
        let frame_len = d.encode(&Payload::Binary(&payload)).len();
        let mut tail = Vec::new();
        for _ in 0..4096 {
            d.release(sys::raw_socket(&ours));
            assert!(d.try_send(&Payload::Binary(&payload), &outbox));
            tail = d.begin();
            if !tail.is_empty() {
                break;
            }
        }
        assert!(!tail.is_empty(), "the peer never stopped reading");
        assert!(tail.len() <= frame_len);
        // The tail is the frame's end, byte for byte.
        assert!(tail
            .iter()
            .skip(tail.len().saturating_sub(payload.len()))
            .all(|&b| b == 7));
        // Until the I/O thread hands the gate back, JS queues.
        assert!(!d.try_send(&Payload::Binary(&payload), &outbox));
    }
}
