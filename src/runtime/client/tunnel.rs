//! The HTTP CONNECT tunnel through a proxy (R30–R32); TLS for `wss` then runs inside it.

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::constants::RESPONSE_HEAD_MAX_BYTES;
use crate::engine::proxy::{self, ProxyRoute};
use crate::engine::url::Target;
use crate::errors::ClientError;
use crate::runtime::head::{read_head, HeadError};

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
    let ((), leftover) = read_head(stream, RESPONSE_HEAD_MAX_BYTES, |buf| {
        Ok(proxy::parse_connect_response(buf)?.map(|used| ((), used)))
    })
    .await
    .map_err(|e| match e {
        HeadError::Parse(e) => e,
        HeadError::Closed => failed("the proxy closed the connection".into()),
        HeadError::TooLarge => failed("the proxy's answer is too large".into()),
        HeadError::Io(e) => failed(format!("reading the proxy's answer: {e}")),
    })?;
    if !leftover.is_empty() {
        // The server speaks only after our request; bytes here are not the server's.
        return Err(failed(
            "the proxy sent data after its CONNECT answer".into(),
        ));
    }
    Ok(())
}
