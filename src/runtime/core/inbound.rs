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
//! zero-filled, copied out of the read-ahead buffer and copied again for JS (profile:
//! `bench/README.md`, "Design measurements", D8). A final binary frame of
//! [`LARGE_MESSAGE_MIN_BYTES`] or more (see `engine::frame::FrameRules` for exactly which)
//! is instead read straight from the socket into a buffer of its own, unmasked in place
//! by a server, and handed to JS as it is (an external ArrayBuffer). To keep the order
//! of messages, frames go to tungstenite only up to such a frame (tungstenite asks for
//! bytes only once it has yielded every complete frame), and a read that completes one
//! returns `Pending` with a wake-up, so the driver takes it before anything later.
//!
//! Memory follows the bytes that arrived, never the length a header declares: a peer
//! may declare up to R59's 100 MiB in 14 bytes. A taken frame's buffer grows as its
//! payload arrives, at most doubling, and a frame over [`FRAME_DECLARED_EARLY_MAX_BYTES`]
//! that goes to tungstenite is read in whole before tungstenite sees its header (on
//! which tungstenite reserves the declared length). A connection thus holds at most
//! about twice what it received, plus one read-ahead. The same place counts frames per
//! message (`FrameRules`, [`MESSAGE_FRAGMENTS_MAX`]).
//!
//! [`READ_BUFFER_BYTES`]: crate::constants::READ_BUFFER_BYTES
//! [`MESSAGE_FRAGMENTS_MAX`]: crate::constants::MESSAGE_FRAGMENTS_MAX
//! [`LARGE_MESSAGE_MIN_BYTES`]: crate::constants::LARGE_MESSAGE_MIN_BYTES

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

use crate::constants::{
    FRAME_DECLARED_EARLY_MAX_BYTES, MAX_INCOMING_MESSAGE_BYTES, READ_AHEAD_BYTES,
};
use crate::engine::frame::{parse_head, unmask, FrameRules, Head};

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
    rules: FrameRules,
    /// Boxed: rare, and every connection carries the field.
    taking: Option<Box<Taking>>,
    /// The message the fast path completed, for the driver to take before tungstenite
    /// reads on (so there is never more than one).
    done: Option<Vec<u8>>,
    /// The socket reached its end.
    eof: bool,
    /// The next fill reads just a header's worth: after a large frame, another often
    /// follows, and its payload should go straight into its own buffer, not through a
    /// full read-ahead and a copy, which costs far more than the extra small `read` (D8 in
    /// `bench/README.md`, "Design measurements").
    peek: bool,
}

/// The longest frame header (RFC 6455 §5.2): what a peek reads.
const HEADER_MAX_BYTES: usize = 14;

/// How many more bytes to make room for, holding `have` of `missing` more still due:
/// at least a read-ahead's worth, at most as many as are held (so memory at most
/// doubles what arrived), never more than is due.
fn growth(have: usize, missing: usize) -> usize {
    missing.min(have.max(READ_AHEAD_BYTES))
}

/// A peer's frame broke a bound the receive side enforces: the driver fails the
/// connection as for a protocol breach (see `driver::classify`).
fn limit_error(e: crate::engine::frame::TooManyFragments) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

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
            rules: FrameRules::new(peer_masks),
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

    /// One more read of up to `want` bytes into the read-ahead buffer, after the unread
    /// bytes (moved to its front). `Ready(Ok(0))` = end of stream.
    fn poll_fill<R: AsyncRead + Unpin>(
        &mut self,
        io: &mut R,
        cx: &mut Context<'_>,
        want: usize,
    ) -> Poll<io::Result<usize>> {
        self.ahead.drain(..self.taken);
        self.taken = 0;
        self.ahead.reserve_exact(want);
        let start = self.ahead.len();
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
            let start = t.payload.len();
            let missing = t.len - start;
            if t.payload.capacity() == start {
                t.payload.reserve_exact(growth(start, missing));
            }
            let want = missing.min(t.payload.capacity() - start);
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

    /// Bytes of the frame with header `h` (at the read position) still to arrive before
    /// tungstenite may see it: 0 unless it is a large frame tungstenite would get.
    fn missing_before_passing(&self, h: &Head) -> usize {
        let early = h.payload_len <= FRAME_DECLARED_EARLY_MAX_BYTES as u64
            // Over R59: tungstenite refuses it on the header alone, reserving nothing.
            || h.payload_len > MAX_INCOMING_MESSAGE_BYTES as u64
            || self.rules.takes(h);
        if early {
            return 0;
        }
        (h.frame_len() as usize).saturating_sub(self.unread())
    }

    /// At a frame boundary with `h` next (see [`Inbound::missing_before_passing`]): take
    /// it, or commit it and the complete frames after it that are not taken (so
    /// tungstenite gets many small frames per read). An error when it is one fragment
    /// too many.
    fn at_boundary(&mut self, h: Head) -> io::Result<()> {
        if self.rules.takes(&h) {
            self.taken += h.header_len;
            let len = h.payload_len as usize;
            self.taking = Some(Box::new(Taking {
                payload: Vec::with_capacity(growth(0, len)),
                len,
                mask: h.mask,
            }));
            return Ok(());
        }
        self.rules.passed(&h).map_err(limit_error)?;
        self.passing = h.frame_len();
        let mut at = (self.taken as u64).saturating_add(self.passing);
        while at < self.ahead.len() as u64 {
            let Some(next) = parse_head(&self.ahead[at as usize..]) else {
                break;
            };
            let complete = at.saturating_add(next.frame_len()) <= self.ahead.len() as u64;
            let early = next.payload_len <= FRAME_DECLARED_EARLY_MAX_BYTES as u64;
            // A breach is met at the boundary, after the frames before it.
            if self.rules.takes(&next) || !(complete || early) || self.rules.passed(&next).is_err()
            {
                break;
            }
            self.passing = self.passing.saturating_add(next.frame_len());
            at = at.saturating_add(next.frame_len());
        }
        Ok(())
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
            let mut want = if self.peek {
                HEADER_MAX_BYTES
            } else {
                READ_AHEAD_BYTES
            };
            if self.passing == 0 {
                if let Some(h) = parse_head(&self.ahead[self.taken..]) {
                    match self.missing_before_passing(&h) {
                        0 => {
                            self.at_boundary(h)?;
                            continue;
                        }
                        // A large frame still arriving: read it in, in growing steps.
                        missing if self.eof => {
                            // Cut short by the end: tungstenite sees the end, not the
                            // header (which would make it reserve the declared length).
                            log::trace!("stream ended {missing} bytes into a frame");
                            return Poll::Ready(Ok(()));
                        }
                        missing => want = growth(self.unread(), missing),
                    }
                }
            }
            if self.eof {
                // A partial header at the end: tungstenite gets it and reports the end.
                let n = self.unread().min(buf.remaining());
                buf.put_slice(&self.ahead[self.taken..self.taken + n]);
                self.taken += n;
                return Poll::Ready(Ok(()));
            }
            match self.poll_fill(io, cx, want) {
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
    use crate::runtime::core::encode::encode_frame;
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

    /// A reader that hands out `data` in pieces of `step` bytes, then pends forever (a
    /// peer that declared more than it sends).
    struct Stalls(Pieces);

    impl AsyncRead for Stalls {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if self.0.at == self.0.data.len() {
                return Poll::Pending;
            }
            Pin::new(&mut self.0).poll_read(cx, buf)
        }
    }

    /// Bytes the read side holds or has reserved.
    fn reserved(inbound: &Inbound) -> usize {
        inbound.ahead.capacity() + inbound.taking.as_ref().map_or(0, |t| t.payload.capacity())
    }

    #[test]
    fn memory_follows_the_bytes_that_arrived_not_the_declared_length() {
        let declared = MAX_INCOMING_MESSAGE_BYTES - 1;
        for (b0, peer_masks) in [(0x82u8, false), (0x81, false), (0x02, false), (0x82, true)] {
            let mut head = vec![b0, 127 | if peer_masks { 0x80 } else { 0 }];
            head.extend_from_slice(&(declared as u64).to_be_bytes());
            if peer_masks {
                head.extend_from_slice(&[1, 2, 3, 4]);
            }
            let mut sent = head.clone();
            sent.extend_from_slice(&[7; 10]);
            let mut io = Stalls(Pieces {
                data: sent,
                at: 0,
                step: 5,
            });
            let mut inbound = Inbound::new(peer_masks, Vec::new());
            let mut cx = Context::from_waker(Waker::noop());
            let mut space = [0u8; 1024];
            for _ in 0..10 {
                let mut buf = ReadBuf::new(&mut space);
                match inbound.poll_read(&mut io, &mut cx, &mut buf) {
                    Poll::Pending => {}
                    other => panic!("{b0:#x}: {other:?} {:?}", buf.filled()),
                }
                assert!(buf.filled().is_empty(), "tungstenite never sees the header");
            }
            // A read-ahead, and a taken frame's first step.
            assert!(
                reserved(&inbound) <= 2 * READ_AHEAD_BYTES + HEADER_MAX_BYTES,
                "{b0:#x}: {} bytes reserved",
                reserved(&inbound)
            );
        }
        // Growth while bytes do arrive: at most double what came, plus a read-ahead.
        let len = 5 * 1024 * 1024;
        let mut stream = vec![0x81, 127];
        stream.extend_from_slice(&(len as u64).to_be_bytes());
        stream.extend(std::iter::repeat_n(b'a', len));
        let mut io = Pieces {
            data: stream.clone(),
            at: 0,
            step: 100_000,
        };
        let mut inbound = Inbound::new(false, Vec::new());
        let mut cx = Context::from_waker(Waker::noop());
        let mut passed = Vec::new();
        let mut space = vec![0u8; 1 << 20];
        loop {
            let arrived = io.at;
            let mut buf = ReadBuf::new(&mut space);
            match inbound.poll_read(&mut io, &mut cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => break,
                Poll::Ready(Ok(())) => passed.extend_from_slice(buf.filled()),
                other => panic!("{other:?}"),
            }
            assert!(reserved(&inbound) <= 2 * arrived.max(io.at) + 2 * READ_AHEAD_BYTES);
        }
        assert!(
            passed == stream,
            "the large text frame passes whole and unchanged"
        );
    }

    #[test]
    fn one_fragment_too_many_is_an_error_after_the_frames_before_it() {
        let mut first = encode_frame(true, b"x", None);
        first[0] = 0x01; // text, not final
        let mut cont = encode_frame(false, b"", None);
        cont[0] = 0x00; // continuation, not final
        let mut stream = encode_frame(true, b"before", None);
        stream.extend_from_slice(&first);
        for _ in 1..crate::constants::MESSAGE_FRAGMENTS_MAX {
            stream.extend_from_slice(&cont);
        }
        let allowed = stream.len();
        stream.extend_from_slice(&cont);
        let mut io = Pieces {
            data: stream,
            at: 0,
            step: 4096,
        };
        let mut inbound = Inbound::new(false, Vec::new());
        let mut cx = Context::from_waker(Waker::noop());
        let mut passed = 0;
        let err = loop {
            let mut space = [0u8; 4096];
            let mut buf = ReadBuf::new(&mut space);
            match inbound.poll_read(&mut io, &mut cx, &mut buf) {
                Poll::Ready(Ok(())) => passed += buf.filled().len(),
                Poll::Ready(Err(e)) => break e,
                Poll::Pending => panic!("pending"),
            }
        };
        assert_eq!(
            passed, allowed,
            "every allowed frame reaches tungstenite first"
        );
        assert!(err
            .get_ref()
            .is_some_and(|e| e.is::<crate::engine::frame::TooManyFragments>()));
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
