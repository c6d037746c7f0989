//! Encoding the data frames JS sends, one final frame per message, masked with a fresh
//! key by a client (RFC 6455 §5.3) and unmasked by a server.
//!
//! This is the one copy a sent message costs (R43 copies at call time): the payload goes
//! from JS's memory into the frame in a single pass that masks as it copies, straight into
//! the frame's spare capacity (no zero fill first), and the I/O thread writes that buffer
//! as it is. Before, the bytes were copied at `send()` and again, masked, into
//! tungstenite's write buffer, the largest part of a large echo's profile
//! (`bench/README.md`, "Design measurements", D8). It lives here, not in the engine,
//! because of the one `unsafe` that writing into uninitialised memory takes.

use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;

use crate::engine::frame::mask_word;

/// One final text or binary frame carrying `payload`, masked with `mask` if given
/// (client role) or not (server role).
pub fn encode_frame(text: bool, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let header = FrameHeader {
        is_final: true,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode: OpCode::Data(if text { Data::Text } else { Data::Binary }),
        mask,
    };
    let len = payload.len() as u64;
    let mut out = Vec::with_capacity(header.len(len) + payload.len());
    // Writing into a Vec cannot fail.
    let _ = header.format(len, &mut out);
    match mask {
        Some(mask) => extend_masked(&mut out, payload, mask),
        None => out.extend_from_slice(payload),
    }
    out
}

/// Appends `payload` XOR the repeating `mask` to `out`, eight bytes at a time, writing
/// straight into the spare capacity (no zero fill first). Byte by byte, masking 1 MiB
/// took several times as long as copying it.
fn extend_masked(out: &mut Vec<u8>, payload: &[u8], mask: [u8; 4]) {
    let word = mask_word(mask);
    let start = out.len();
    out.reserve(payload.len());
    let spare = &mut out.spare_capacity_mut()[..payload.len()];
    let mut src = payload.chunks_exact(8);
    let mut dst = spare.chunks_exact_mut(8);
    for (d, s) in (&mut dst).zip(&mut src) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(s);
        let masked = (u64::from_ne_bytes(bytes) ^ word).to_ne_bytes();
        for (d, b) in d.iter_mut().zip(masked) {
            d.write(b);
        }
    }
    // The chunks are a multiple of the key's length, so the tail starts at key byte 0.
    for (i, (d, s)) in dst
        .into_remainder()
        .iter_mut()
        .zip(src.remainder())
        .enumerate()
    {
        d.write(s ^ mask[i & 3]);
    }
    // SAFETY: the loops above initialised all `payload.len()` bytes after `start`, and
    // `reserve` made room for them.
    unsafe { out.set_len(start + payload.len()) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::frame::{parse_head, unmask, Head};

    #[test]
    fn heads_parse_from_encoded_frames_and_wait_for_whole_headers() {
        for (len, masked, header_len) in [
            (5usize, false, 2usize),
            (5, true, 6),
            (300, false, 4),
            (300, true, 8),
            (70_000, false, 10),
            (70_000, true, 14),
        ] {
            let mask = masked.then_some([1, 2, 3, 4]);
            let f = encode_frame(false, &vec![0; len], mask);
            let h = parse_head(&f).unwrap();
            assert_eq!(
                h,
                Head {
                    fin: true,
                    rsv: false,
                    opcode: 0x2,
                    mask,
                    payload_len: len as u64,
                    header_len,
                }
            );
            assert_eq!(h.frame_len(), f.len() as u64);
            assert_eq!(parse_head(&f[..header_len - 1]), None, "partial header");
        }
    }

    #[test]
    fn frames_are_masked_rfc6455() {
        let f = encode_frame(true, b"Hi", Some([1, 2, 3, 4]));
        assert_eq!(f, vec![0x81, 0x82, 1, 2, 3, 4, b'H' ^ 1, b'i' ^ 2]);
        let big = vec![0u8; 300];
        let f = encode_frame(false, &big, Some([0, 0, 0, 0]));
        assert_eq!(&f[..4], &[0x82, 0x80 | 126, 0x01, 0x2c]);
        assert_eq!(f.len(), 4 + 4 + 300);
        // Server role: no mask bit, no key.
        let f = encode_frame(true, b"Hi", None);
        assert_eq!(f, vec![0x81, 0x02, b'H', b'i']);
    }

    #[test]
    fn word_masking_matches_the_byte_rule() {
        let mask = [0x12, 0x34, 0x56, 0x78];
        for len in [
            0usize, 1, 3, 7, 8, 9, 15, 16, 17, 125, 126, 65_535, 65_536, 70_001,
        ] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
            let f = encode_frame(false, &payload, Some(mask));
            let body = &f[f.len() - len..];
            let expected: Vec<u8> = payload
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ mask[i % 4])
                .collect();
            assert_eq!(body, &expected[..], "length {len}");
            assert_eq!(
                &f[f.len() - len - 4..f.len() - len],
                &mask,
                "key, length {len}"
            );
        }
    }

    #[test]
    fn length_encodings() {
        assert_eq!(encode_frame(true, &[0; 125], None)[1], 125);
        assert_eq!(&encode_frame(true, &[0; 126], None)[1..4], &[126, 0, 126]);
        let f = encode_frame(true, &vec![0; 65_536], None);
        assert_eq!(&f[1..10], &[127, 0, 0, 0, 0, 0, 1, 0, 0]);
    }

    #[test]
    fn unmask_inverts_masking() {
        let mask = [9, 8, 7, 6];
        for len in [0usize, 5, 8, 13, 70_001] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
            let f = encode_frame(false, &payload, Some(mask));
            let mut body = f[f.len() - len..].to_vec();
            unmask(&mut body, mask);
            assert_eq!(body, payload, "length {len}");
        }
    }
}
