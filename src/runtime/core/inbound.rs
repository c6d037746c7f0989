//! The reading side of an open connection's link: a read-ahead buffer, and the fast path
//! that takes large binary frames off the stream before tungstenite sees them.
//!
//! Read-ahead: one `read` of up to [`READ_AHEAD_BYTES`] into uninitialised memory,
//! handed to tungstenite in the small pieces it asks for, and freed whenever the socket
//! has nothing more. tungstenite's own buffer ([`READ_BUFFER_BYTES`]) is allocated and
//! zero-filled per connection and bounds each of its reads, so it was a choice between
//! memory per idle connection and a `read` syscall per 4 KiB of a large message (256
//! per MiB); this way an idle connection holds 1 KiB and a large message still arrives
//! in 64 KiB reads.
//!
//! Fast path: tungstenite zero-fills the room it reads into and assembles each payload
//! in its own buffer, which the message then shares, so a large binary message was
//! zero-filled, copied out of the read-ahead buffer and copied again for JS. `perf` over
//! a 64 KiB receive-only run: memset alone 12 % of client CPU. A final binary frame of
//! [`LARGE_MESSAGE_MIN_BYTES`] or more (see `engine::frame::FastPath` for exactly which)
//! is instead read straight from the socket into a buffer of its size, unmasked in place
//! by a server, and handed to JS as it is (an external ArrayBuffer). To keep the order
//! of messages, frames go to tungstenite only up to such a frame (tungstenite asks for
//! bytes only once it has yielded every complete frame), and a read that completes one
//! returns `Pending` with a wake-up, so the driver takes it before anything later.
//!
//! [`READ_BUFFER_BYTES`]: crate::constants::READ_BUFFER_BYTES
//! [`LARGE_MESSAGE_MIN_BYTES`]: crate::constants::LARGE_MESSAGE_MIN_BYTES

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

use crate::constants::READ_AHEAD_BYTES;
use crate::engine::frame::{parse_head, unmask, FastPath, Head};

/// A large binary frame being read into its own buffer.
struct Taking {
    payload: Vec<u8>,
    len: usize,
    mask: Option<[u8; 4]>,
}

/// The read side of one connection.
pub struct Inbound {
    /// Read ahead, not yet handed on: `ahead[taken..]`. Freed when empty and idle.
    ahead: Vec<u8>,
    taken: usize,
    /// Bytes of frames already given to tungstenite (whole or in part) still to hand over.
    passing: u64,
    rules: FastPath,
    /// Boxed: rare, and every connection carries the field.
    taking: Option<Box<Taking>>,
    /// The message the fast path completed, for the driver to take before tungstenite
    /// reads on (so there is never more than one).
    done: Option<Vec<u8>>,
    /// The socket reached its end.
    eof: bool,
    /// The next fill reads just a header's worth: after a large frame, another often
    /// follows, and its payload should go straight into its own buffer, not through a
    /// full read-ahead and a copy (`perf`, 64 KiB receive-only: that copy was 13 % of
    /// client CPU; the extra small `read` costs far less).
    peek: bool,
}

/// The longest frame header (RFC 6455 §5.2): what a peek reads.
const HEADER_MAX_BYTES: usize = 14;

impl Inbound {
    /// The read side of a connection whose peer masks its frames (we are the server)
    /// or not, starting with `leftover`, the bytes the handshake read past its end. They
    /// must come through here, not be handed to tungstenite directly: frame boundaries
    /// are counted from the first byte after the handshake (a partial frame in there once
    /// made the rest of the stream look like garbage headers, and its tail wait forever).
    pub fn new(peer_masks: bool, leftover: Vec<u8>) -> Self {
        Inbound {
            ahead: leftover,
            taken: 0,
            passing: 0,
            rules: FastPath::new(peer_masks),
            taking: None,
            done: None,
            eof: false,
            peek: false,
        }
    }

    /// The message the fast path completed, if any.
    pub fn take_done(&mut self) -> Option<Vec<u8>> {
        self.done.take()
    }

    fn unread(&self) -> usize {
        self.ahead.len() - self.taken
    }

    /// One more read into the read-ahead buffer, after the unread bytes (moved to its
    /// front). `Ready(Ok(0))` = end of stream.
    fn poll_fill<R: AsyncRead + Unpin>(
        &mut self,
        io: &mut R,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        self.ahead.drain(..self.taken);
        self.taken = 0;
        self.ahead.reserve_exact(READ_AHEAD_BYTES);
        let start = self.ahead.len();
        let want = if self.peek {
            HEADER_MAX_BYTES
        } else {
            READ_AHEAD_BYTES
        };
        let mut spare = ReadBuf::uninit(&mut self.ahead.spare_capacity_mut()[..want]);
        let result = Pin::new(io).poll_read(cx, &mut spare);
        let n = spare.filled().len();
        // SAFETY: `ReadBuf` guarantees its first `filled().len()` bytes are initialised,
        // and they follow `ahead`'s `start` initialised bytes.
        unsafe { self.ahead.set_len(start + n) };
        if result.is_ready() {
            self.peek = false;
        }
        match result {
            Poll::Ready(Ok(())) => {
                if n == 0 {
                    self.eof = true;
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if self.ahead.is_empty() {
                    // Idle: give the memory back until data arrives.
                    self.ahead = Vec::new();
                }
                Poll::Pending
            }
        }
    }

    /// Reads the frame being taken to its end; `Ready(Ok(true))` once it is complete,
    /// `Ready(Ok(false))` at end of stream.
    fn poll_take<R: AsyncRead + Unpin>(
        &mut self,
        io: &mut R,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<bool>> {
        let unread = self.unread();
        let Some(t) = self.taking.as_mut() else {
            return Poll::Ready(Ok(true));
        };
        let from_ahead = (t.len - t.payload.len()).min(unread);
        t.payload
            .extend_from_slice(&self.ahead[self.taken..self.taken + from_ahead]);
        self.taken += from_ahead;
        while t.payload.len() < t.len {
            let want = t.len - t.payload.len();
            let start = t.payload.len();
            let mut spare = ReadBuf::uninit(&mut t.payload.spare_capacity_mut()[..want]);
            let result = Pin::new(&mut *io).poll_read(cx, &mut spare);
            let n = spare.filled().len();
            // SAFETY: as in `poll_fill`: the first `n` spare bytes are initialised.
            unsafe { t.payload.set_len(start + n) };
            match result {
                Poll::Ready(Ok(())) if n == 0 => {
                    self.eof = true;
                    return Poll::Ready(Ok(false));
                }
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        if let Some(mut t) = self.taking.take() {
            if let Some(mask) = t.mask {
                unmask(&mut t.payload, mask);
            }
            self.done = Some(t.payload);
            self.peek = true;
        }
        Poll::Ready(Ok(true))
    }

    /// At a frame boundary with `h` next: take it, or commit it and the complete frames
    /// after it that are not taken (so tungstenite gets many small frames per read).
    fn at_boundary(&mut self, h: Head) {
        if self.rules.takes(&h) {
            self.taken += h.header_len;
            let len = h.payload_len as usize;
            self.taking = Some(Box::new(Taking {
                payload: Vec::with_capacity(len),
                len,
                mask: h.mask,
            }));
            return;
        }
        self.rules.passed(&h);
        self.passing = h.frame_len();
        let mut at = (self.taken as u64).saturating_add(self.passing);
        while at < self.ahead.len() as u64 {
            match parse_head(&self.ahead[at as usize..]) {
                Some(next) if !self.rules.takes(&next) => {
                    self.rules.passed(&next);
                    self.passing = self.passing.saturating_add(next.frame_len());
                    at = at.saturating_add(next.frame_len());
                }
                _ => break,
            }
        }
    }

    /// tungstenite's read: bytes of the frames it is given, up to the next frame the fast
    /// path takes.
    pub fn poll_read<R: AsyncRead + Unpin>(
        &mut self,
        io: &mut R,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if self.taking.is_some() {
                match self.poll_take(io, cx) {
                    Poll::Ready(Ok(true)) => {
                        // The driver takes it before tungstenite reads on.
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    // A frame cut short by the end of the stream: tungstenite sees the end.
                    Poll::Ready(Ok(false)) => return Poll::Ready(Ok(())),
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
            if self.passing > 0 && self.unread() > 0 {
                let n = (self.passing.min(self.unread() as u64) as usize).min(buf.remaining());
                buf.put_slice(&self.ahead[self.taken..self.taken + n]);
                self.taken += n;
                self.passing -= n as u64;
                return Poll::Ready(Ok(()));
            }
            if self.passing == 0 {
                if let Some(h) = parse_head(&self.ahead[self.taken..]) {
                    self.at_boundary(h);
                    continue;
                }
            }
            if self.eof {
                // A partial header at the end: tungstenite gets it and reports the end.
                let n = self.unread().min(buf.remaining());
                buf.put_slice(&self.ahead[self.taken..self.taken + n]);
                self.taken += n;
                return Poll::Ready(Ok(()));
            }
            match self.poll_fill(io, cx) {
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constants::LARGE_MESSAGE_MIN_BYTES;
    use crate::engine::frame::encode_frame;
    use std::task::Waker;

    /// A reader that hands out `data` in pieces of `step` bytes, then ends.
    struct Pieces {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl AsyncRead for Pieces {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let n = self
                .step
                .min(self.data.len() - self.at)
                .min(buf.remaining());
            let at = self.at;
            buf.put_slice(&self.data[at..at + n]);
            self.at += n;
            Poll::Ready(Ok(()))
        }
    }

    /// Everything tungstenite would be handed, and the fast path's messages, in the
    /// order a driver sees them (`Err` marks a message the fast path took).
    fn run(stream: Vec<u8>, step: usize, peer_masks: bool) -> (Vec<u8>, Vec<Result<(), Vec<u8>>>) {
        run_after(Vec::new(), stream, step, peer_masks)
    }

    /// [`run`], with `leftover` read along with the handshake.
    fn run_after(
        leftover: Vec<u8>,
        stream: Vec<u8>,
        step: usize,
        peer_masks: bool,
    ) -> (Vec<u8>, Vec<Result<(), Vec<u8>>>) {
        let mut io = Pieces {
            data: stream,
            at: 0,
            step,
        };
        let mut inbound = Inbound::new(peer_masks, leftover);
        let mut cx = Context::from_waker(Waker::noop());
        let mut passed = Vec::new();
        let mut order = Vec::new();
        loop {
            let mut space = [0u8; 1024];
            let mut buf = ReadBuf::new(&mut space);
            match inbound.poll_read(&mut io, &mut cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => break,
                Poll::Ready(Ok(())) => {
                    passed.extend_from_slice(buf.filled());
                    order.push(Ok(()));
                }
                Poll::Ready(Err(e)) => panic!("{e}"),
                Poll::Pending => {
                    let m = inbound
                        .take_done()
                        .expect("Pending only after a taken frame");
                    order.push(Err(m));
                }
            }
        }
        (passed, order)
    }

    #[test]
    fn large_binary_frames_are_taken_in_order_and_the_rest_passes_byte_exact() {
        let big: Vec<u8> = (0..LARGE_MESSAGE_MIN_BYTES + 777)
            .map(|i| i as u8)
            .collect();
        for (peer_masks, mask) in [(false, None), (true, Some([5, 6, 7, 8]))] {
            let small_a = encode_frame(true, b"first", mask);
            let ping = {
                let mut f = encode_frame(false, b"", mask);
                f[0] = 0x89;
                f
            };
            let large = encode_frame(false, &big, mask);
            let small_b = encode_frame(false, &[1, 2, 3], mask);
            let mut stream = Vec::new();
            for f in [&small_a, &ping, &large, &small_b, &large] {
                stream.extend_from_slice(f);
            }
            for step in [1, 7, 1000, 70_000, usize::MAX] {
                let (passed, order) = run(stream.clone(), step, peer_masks);
                let mut expected = small_a.clone();
                expected.extend_from_slice(&ping);
                expected.extend_from_slice(&small_b);
                assert!(
                    passed == expected,
                    "small frames pass unchanged (step {step})"
                );
                let taken: Vec<_> = order.iter().filter_map(|o| o.as_ref().err()).collect();
                assert_eq!(taken.len(), 2);
                assert!(
                    taken.iter().all(|m| **m == big),
                    "payload unmasked and whole"
                );
                // The first large message comes after the frames before it and before the
                // ones after it.
                let first_taken = order.iter().position(|o| o.is_err()).unwrap();
                let passed_before: usize =
                    order[..first_taken].iter().filter(|o| o.is_ok()).count();
                let passed_after: usize = order[first_taken..].iter().filter(|o| o.is_ok()).count();
                assert!(
                    passed_before >= 1 && passed_after >= 1,
                    "step {step}: {order:?}"
                );
            }
        }
    }

    #[test]
    fn fragments_text_and_masked_frames_from_a_server_go_to_tungstenite() {
        let big = vec![9u8; LARGE_MESSAGE_MIN_BYTES];
        let mut first = encode_frame(false, &big, None);
        first[0] = 0x02; // not final
        let mut last = encode_frame(false, &big, None);
        last[0] = 0x80; // final continuation
        let text = encode_frame(true, &big, None);
        let masked = encode_frame(false, &big, Some([1, 1, 1, 1]));
        let mut stream = Vec::new();
        for f in [
            &first,
            &encode_frame(false, &big, None),
            &last,
            &text,
            &masked,
        ] {
            stream.extend_from_slice(f);
        }
        // Client side: the binary frame inside the fragmented message is not taken either.
        let (passed, order) = run(stream.clone(), 4096, false);
        assert!(passed == stream);
        assert!(order.iter().all(|o| o.is_ok()));
    }

    #[test]
    fn garbage_passes_through_for_tungstenite_to_reject() {
        for stream in [
            vec![0xff; 16],
            b"GARBAGE GARBAGE".to_vec(),
            vec![0x82, 0x7f, 0xff],
        ] {
            for step in [1, 5, 4096] {
                let (passed, order) = run(stream.clone(), step, false);
                assert!(passed == stream, "step {step}");
                assert!(order.iter().all(|o| o.is_ok()));
            }
        }
    }

    #[test]
    fn a_frame_begun_in_the_handshake_leftover_is_still_taken_whole() {
        let big = vec![0x82u8; LARGE_MESSAGE_MIN_BYTES * 3];
        let mut stream = encode_frame(false, &big, None);
        stream.extend_from_slice(&encode_frame(true, b"after", None));
        for split in [1, 10, 4096] {
            let (passed, order) = run_after(
                stream[..split].to_vec(),
                stream[split..].to_vec(),
                1000,
                false,
            );
            let taken: Vec<_> = order.into_iter().filter_map(Result::err).collect();
            assert_eq!(taken, vec![big.clone()], "split {split}");
            assert_eq!(passed, encode_frame(true, b"after", None));
        }
    }
}
