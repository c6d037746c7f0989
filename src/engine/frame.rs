//! Frames at the byte level (RFC 6455 §5.2), for both roles: the masking rule (§5.3),
//! received frame headers, the rule for which frames the large-binary fast path may take
//! from the stream (see `runtime::core::inbound`) and the bound on frames per message.
//! Encoding a sent frame, which writes into uninitialised memory, is the runtime's
//! (`runtime::core::encode`): the engine has no `unsafe`.

use crate::constants::{
    LARGE_MESSAGE_MIN_BYTES, MAX_INCOMING_MESSAGE_BYTES, MESSAGE_FRAGMENTS_MAX,
};

/// Opcodes (RFC 6455 §5.2) the receive rules look at.
const OPCODE_CONTINUATION: u8 = 0x0;
const OPCODE_TEXT: u8 = 0x1;
const OPCODE_BINARY: u8 = 0x2;
const OPCODE_CLOSE: u8 = 0x8;

/// `mask` repeated over eight bytes, for masking a word at a time.
pub fn mask_word(mask: [u8; 4]) -> u64 {
    u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ])
}

/// `payload` XOR the repeating `mask`, in place (a server unmasking what it received).
pub fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    let word = mask_word(mask);
    let mut chunks = payload.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(c);
        c.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i & 3];
    }
}

/// The parts of a received frame's header that the receive side looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// FIN bit.
    pub fin: bool,
    /// Any RSV bit set (no extension is negotiated, so that is a protocol error).
    pub rsv: bool,
    /// The 4-bit opcode.
    pub opcode: u8,
    /// The masking key, if the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub payload_len: u64,
    /// Header length in bytes (2 to 14).
    pub header_len: usize,
}

impl Head {
    /// Header plus payload; saturates for a hostile 64-bit length (tungstenite rejects
    /// it as soon as it sees the header).
    pub fn frame_len(&self) -> u64 {
        (self.header_len as u64).saturating_add(self.payload_len)
    }
}

/// The header at the start of `bytes`, or `None` while `bytes` holds less than all of it.
pub fn parse_head(bytes: &[u8]) -> Option<Head> {
    let (&b0, &b1) = (bytes.first()?, bytes.get(1)?);
    let (payload_len, mut at) = match b1 & 0x7f {
        126 => (
            u64::from(u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?)),
            4,
        ),
        127 => (u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?), 10),
        n => (u64::from(n), 2),
    };
    let mask = if b1 & 0x80 != 0 {
        let key: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        Some(key)
    } else {
        None
    };
    Some(Head {
        fin: b0 & 0x80 != 0,
        rsv: b0 & 0x70 != 0,
        opcode: b0 & 0x0f,
        mask,
        payload_len,
        header_len: at,
    })
}

/// A peer's message ran past [`MESSAGE_FRAGMENTS_MAX`] frames: the connection fails
/// with 1009, as for a message over R59's byte limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyFragments;

impl std::fmt::Display for TooManyFragments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a message of more than {MESSAGE_FRAGMENTS_MAX} fragments"
        )
    }
}

impl std::error::Error for TooManyFragments {}

/// What the receive side decides per frame header, before tungstenite sees the frame.
///
/// Which frames the fast path may take whole, past tungstenite: a final, unfragmented
/// binary frame of at least [`LARGE_MESSAGE_MIN_BYTES`] and within R59's limit, masked
/// exactly when the peer is a client, outside any fragmented message and before any
/// close frame. Anything else, valid or not, goes to tungstenite, which applies every
/// rule of RFC 6455; what the fast path takes is a frame tungstenite would have turned
/// into one binary message.
///
/// And the bound tungstenite lacks: frames per message ([`MESSAGE_FRAGMENTS_MAX`]).
#[derive(Debug, Clone)]
pub struct FrameRules {
    /// Frames from the peer must be masked (we are the server).
    peer_masks: bool,
    /// Frames of the fragmented message in progress on the stream; 0 = none.
    fragments: u32,
    /// A close frame went by: nothing after it is taken.
    closed: bool,
}

impl FrameRules {
    /// The rules for a connection whose peer masks its frames (`peer_masks`: we are the
    /// server) or not.
    pub fn new(peer_masks: bool) -> Self {
        FrameRules {
            peer_masks,
            fragments: 0,
            closed: false,
        }
    }

    /// Whether the frame with header `h`, next on the stream, is taken by the fast path.
    pub fn takes(&self, h: &Head) -> bool {
        self.fragments == 0
            && !self.closed
            && h.fin
            && !h.rsv
            && h.opcode == OPCODE_BINARY
            && h.mask.is_some() == self.peer_masks
            && h.payload_len >= LARGE_MESSAGE_MIN_BYTES as u64
            && h.payload_len <= MAX_INCOMING_MESSAGE_BYTES as u64
    }

    /// The frame with header `h` goes to tungstenite; an error (and no change) when it
    /// is one fragment too many. Invalid sequences (a continuation with no message
    /// begun) are tungstenite's to reject.
    pub fn passed(&mut self, h: &Head) -> Result<(), TooManyFragments> {
        match (h.opcode, h.fin) {
            (OPCODE_TEXT | OPCODE_BINARY, false) => self.fragments = 1,
            (OPCODE_CONTINUATION, _) if self.fragments >= MESSAGE_FRAGMENTS_MAX => {
                return Err(TooManyFragments)
            }
            (OPCODE_CONTINUATION, true) => self.fragments = 0,
            (OPCODE_CONTINUATION, false) if self.fragments > 0 => self.fragments += 1,
            (OPCODE_CLOSE, _) => self.closed = true,
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse_flags_and_hostile_lengths() {
        let h = parse_head(&[0x71, 0x00]).unwrap();
        assert!(!h.fin && h.rsv && h.opcode == OPCODE_TEXT);
        let hostile = parse_head(&[0xff; 14]).unwrap();
        assert_eq!(hostile.frame_len(), u64::MAX, "no wrap-around");
    }

    #[test]
    fn the_fast_path_takes_only_what_tungstenite_would_make_one_binary_message() {
        let big = LARGE_MESSAGE_MIN_BYTES;
        let head = |b0: u8, len: usize, masked: bool| {
            parse_head(&encode_frame_head(b0, len, masked)).unwrap()
        };
        let client = FrameRules::new(false);
        assert!(client.takes(&head(0x82, big, false)));
        assert!(!client.takes(&head(0x82, big - 1, false)), "small");
        assert!(
            !client.takes(&head(0x82, big, true)),
            "masked from a server"
        );
        assert!(!client.takes(&head(0x81, big, false)), "text");
        assert!(!client.takes(&head(0x02, big, false)), "not final");
        assert!(!client.takes(&head(0xc2, big, false)), "RSV1");
        assert!(!client.takes(&head(0x82, MAX_INCOMING_MESSAGE_BYTES + 1, false)));
        let server = FrameRules::new(true);
        assert!(server.takes(&head(0x82, big, true)));
        assert!(
            !server.takes(&head(0x82, big, false)),
            "unmasked from a client"
        );

        let mut rules = FrameRules::new(false);
        rules.passed(&head(0x01, 10, false)).unwrap();
        assert!(
            !rules.takes(&head(0x82, big, false)),
            "inside a fragmented message"
        );
        rules.passed(&head(0x89, 0, false)).unwrap();
        assert!(
            !rules.takes(&head(0x82, big, false)),
            "a Ping in between changes nothing"
        );
        rules.passed(&head(0x80, 10, false)).unwrap();
        assert!(
            rules.takes(&head(0x82, big, false)),
            "after the final fragment"
        );
        rules.passed(&head(0x88, 2, false)).unwrap();
        assert!(!rules.takes(&head(0x82, big, false)), "after a close frame");
    }

    #[test]
    fn a_message_may_have_at_most_the_bounded_number_of_fragments() {
        let head = |b0: u8| parse_head(&encode_frame_head(b0, 0, false)).unwrap();
        let mut rules = FrameRules::new(false);
        for _ in 0..3 {
            rules.passed(&head(0x01)).unwrap();
            for _ in 2..MESSAGE_FRAGMENTS_MAX {
                rules.passed(&head(0x00)).unwrap();
                // Control frames in between are not fragments.
                rules.passed(&head(0x89)).unwrap();
            }
            rules
                .passed(&head(0x80))
                .expect("the last allowed fragment");
            // The count starts over with the next message.
        }
        rules.passed(&head(0x02)).unwrap();
        for _ in 1..MESSAGE_FRAGMENTS_MAX {
            rules.passed(&head(0x00)).unwrap();
        }
        assert_eq!(rules.passed(&head(0x00)), Err(TooManyFragments));
        assert_eq!(
            rules.passed(&head(0x80)),
            Err(TooManyFragments),
            "final too"
        );
        assert_eq!(
            rules.fragments, MESSAGE_FRAGMENTS_MAX,
            "unchanged by a refusal"
        );
        // A stray continuation is tungstenite's protocol error, not ours.
        assert_eq!(FrameRules::new(false).passed(&head(0x00)), Ok(()));
    }

    /// A header with first byte `b0` for a payload of `len` bytes.
    fn encode_frame_head(b0: u8, len: usize, masked: bool) -> Vec<u8> {
        let len_bytes: Vec<u8> = if len < 126 {
            vec![len as u8]
        } else if len < 65_536 {
            let mut v = vec![126];
            v.extend_from_slice(&(len as u16).to_be_bytes());
            v
        } else {
            let mut v = vec![127];
            v.extend_from_slice(&(len as u64).to_be_bytes());
            v
        };
        let mut out = vec![b0, len_bytes[0] | if masked { 0x80 } else { 0 }];
        out.extend_from_slice(&len_bytes[1..]);
        if masked {
            out.extend_from_slice(&[0; 4]);
        }
        out
    }
}
