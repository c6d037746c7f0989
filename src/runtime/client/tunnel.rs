//! The HTTP CONNECT tunnel through a proxy (R30–R32); TLS for `wss` then runs inside it.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::engine::proxy::{self, ProxyRoute};
use crate::engine::url::Target;
use crate::errors::ClientError;

fn failed(detail: String) -> ClientError {
    ClientError::ConnectFailed {
        status: None,
        detail,
    }
}

/// Asks the proxy on `stream` for a tunnel to `target`; on success the stream is the
/// tunnel. A non-2xx answer fails with its status (R32).
pub async fn open(
    stream: &mut TcpStream,
    target: &Target,
    route: &ProxyRoute,
) -> Result<(), ClientError> {
    let request = proxy::connect_request(target, route);
    stream
        .write_all(&request)
        .await
        .map_err(|e| failed(format!("sending CONNECT to the proxy: {e}")))?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| failed(format!("reading the proxy's answer: {e}")))?;
        if n == 0 {
            return Err(failed("the proxy closed the connection".into()));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(used) = proxy::parse_connect_response(&buf)? {
            if used != buf.len() {
                // The server speaks only after our request; bytes here are not the server's.
                return Err(failed(
                    "the proxy sent data after its CONNECT answer".into(),
                ));
            }
            return Ok(());
        }
    }
}
