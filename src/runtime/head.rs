//! Reading an HTTP head off a stream, for every exchange before the WebSocket phase:
//! the client's upgrade response and its proxy's CONNECT answer, and the server's view
//! of a client's upgrade request. Bytes after the head are returned, not lost: they
//! may already be WebSocket frames.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Why no head was read.
pub enum HeadError<E> {
    /// The parser refused the bytes.
    Parse(E),
    /// The peer closed the connection first.
    Closed,
    /// More than the allowed bytes without a complete head.
    TooLarge,
    /// Reading failed.
    Io(std::io::Error),
}

/// Reads until `parse` (given everything read so far) returns `Some((head, used))`;
/// returns the head and the bytes after it. At most `max_bytes` are buffered.
pub async fn read_head<S, T, E>(
    stream: &mut S,
    max_bytes: usize,
    mut parse: impl FnMut(&[u8]) -> Result<Option<(T, usize)>, E>,
) -> Result<(T, Vec<u8>), HeadError<E>>
where
    S: AsyncRead + Unpin,
{
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.map_err(HeadError::Io)?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some((head, used)) = parse(&buf).map_err(HeadError::Parse)? {
            return Ok((head, buf.split_off(used)));
        }
        if buf.len() > max_bytes {
            return Err(HeadError::TooLarge);
        }
    }
}
