//! One accepted client, from TCP to the end of its connection: TLS (for `wss`), the
//! upgrade request read and checked within the handshake bound, the S9 admission,
//! the `101` answer, then the shared open-phase core with the server role.
//!
//! Guards keep the registry right whatever happens to the task — a refusal, the
//! handshake timer, a stop cancelling the handshake, or a panic: the handshake count
//! and the connection entry are released on drop, and the last release of a stop
//! reports it.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::constants::REQUEST_HEAD_MAX_BYTES;
use crate::engine::handshake::server::{
    accept_response, parse_request, rejection_response, select_protocol, UpgradeRequest,
};
use crate::engine::session::Session;
use crate::runtime::core::driver::Start;
use crate::runtime::core::events::Batch;
use crate::runtime::core::open::{self, report_panic};
use crate::runtime::core::socket::Socket;
use crate::runtime::core::transport::MaybeTls;
use crate::runtime::diagnostics;
use crate::runtime::head::{read_head, HeadError};
use crate::runtime::server::registry::ConnHandle;
use crate::runtime::server::Shared;

/// How long a refusal answer may take to write before the socket is just closed.
const REFUSAL_WRITE_TIMEOUT_MS: u64 = 1_000;

/// A handshake in flight, counted against the pending bound until dropped.
pub struct PendingHandshake {
    shared: Arc<Shared>,
}

impl PendingHandshake {
    /// Counts a new handshake, or `None` when the server is stopping or at its bound
    /// (the caller then just closes the socket).
    pub fn begin(shared: &Arc<Shared>) -> Option<Self> {
        shared.registry.begin_handshake().then(|| PendingHandshake {
            shared: shared.clone(),
        })
    }
}

impl Drop for PendingHandshake {
    fn drop(&mut self) {
        if self.shared.registry.end_handshake() {
            self.shared.report_stopped();
        }
    }
}

/// An admitted connection, registered until dropped.
struct Registered {
    shared: Arc<Shared>,
    id: u32,
    ip: IpAddr,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if self.shared.registry.remove(self.id, self.ip) {
            self.shared.report_stopped();
        }
    }
}

/// Why a handshake did not produce a connection, in words (the socket is closed
/// already, after an HTTP answer where there was a request to answer).
type NotAccepted = String;

/// Runs the client at `peer` to its end.
pub async fn serve(tcp: TcpStream, peer: SocketAddr, pending: PendingHandshake) {
    // Small frames must leave at once (same reason as the client's TCP_NODELAY).
    let _ = tcp.set_nodelay(true);
    let shared = pending.shared.clone();
    let ip = peer.ip().to_canonical();
    let deadline = Instant::now() + crate::runtime::handshake_timeout();
    // Boxed, so its state (TLS handshake, read buffers) is freed once the handshake is
    // over instead of sizing this task for the whole connection: 5,208 → 1,880 bytes
    // per connection (size_of_val of this future; see the test below).
    let handshake = Box::pin(tokio::time::timeout_at(
        deadline,
        read_request(tcp, &shared),
    ));
    let negotiated = tokio::select! {
        biased;
        _ = shared.until_stopping() => None,
        r = handshake => r.ok(),
    };
    let (mut stream, request, leftover) = match negotiated {
        Some(Ok(ok)) => ok,
        Some(Err(why)) => {
            log::debug!("{peer}: handshake failed: {why}");
            return;
        }
        None => {
            log::debug!("{peer}: handshake cut off (timeout or stop)");
            return;
        }
    };
    if let Some(tls) = stream.tls_summary() {
        log::debug!("{peer}: TLS {tls}");
    }
    let (id, handle) = match shared.registry.admit(ip) {
        Ok(admitted) => admitted,
        Err(detail) => {
            refuse(&mut stream, 403).await;
            let detail = format!("connection from {peer} refused: {detail}");
            log::debug!("{peer}: answered 403; error event: {detail}");
            shared.queue.submit_refused(&detail);
            return;
        }
    };
    let registered = Registered {
        shared: shared.clone(),
        id,
        ip,
    };
    drop(pending);
    let protocol = select_protocol(&request, shared.protocol.as_deref());
    let answer = accept_response(&request, protocol.as_deref());
    let written = tokio::time::timeout_at(deadline, async {
        stream.write_all(&answer).await?;
        stream.flush().await
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        log::debug!("{peer}: the 101 answer could not be written");
        return;
    }
    log::debug!("{peer}: answered 101, protocol {protocol:?}");
    run_open(stream, leftover, peer, ip, handle, registered).await;
}

/// TLS if configured, then the request head; refusals are answered here.
async fn read_request(
    tcp: TcpStream,
    shared: &Shared,
) -> Result<(MaybeTls, UpgradeRequest, Vec<u8>), NotAccepted> {
    let mut stream = match &shared.tls {
        None => MaybeTls::Plain(Socket::Reactor(tcp)),
        Some(acceptor) => match acceptor.accept(Socket::Reactor(tcp)).await {
            Ok(tls) => MaybeTls::ServerTls(Box::new(tls)),
            Err(e) => return Err(format!("TLS handshake failed: {e}")),
        },
    };
    // parse_request itself answers 431 past REQUEST_HEAD_MAX_BYTES; the bound here is
    // only a backstop.
    match read_head(&mut stream, 2 * REQUEST_HEAD_MAX_BYTES, parse_request).await {
        Ok((request, leftover)) => Ok((stream, request, leftover)),
        Err(HeadError::Parse(rejection)) => {
            refuse(&mut stream, rejection.status).await;
            Err(format!("{}: {}", rejection.status, rejection.detail))
        }
        Err(HeadError::TooLarge) => Err("request head too large".into()),
        Err(HeadError::Closed) => Err("closed during the handshake".into()),
        Err(HeadError::Io(e)) => Err(format!("reading the request: {e}")),
    }
}

/// Writes the refusal answer (bounded), then closes.
async fn refuse(stream: &mut MaybeTls, status: u16) {
    let bytes = rejection_response(status);
    let _ = tokio::time::timeout(Duration::from_millis(REFUSAL_WRITE_TIMEOUT_MS), async {
        stream.write_all(&bytes).await?;
        stream.flush().await?;
        stream.shutdown().await
    })
    .await;
}

/// The open phase with the server role: `connect` first (S11), then the shared core.
async fn run_open(
    stream: MaybeTls,
    leftover: Vec<u8>,
    peer: SocketAddr,
    ip: IpAddr,
    handle: ConnHandle,
    registered: Registered,
) {
    let shared = registered.shared.clone();
    let id = registered.id;
    let label = diagnostics::label(|| format!("client {peer}"));
    let mut local = Batch::for_conn(id);
    local.connected(&ip.to_string(), peer.port());
    let mut session = Session::new();
    session.on_handshake_done();
    let start = Start {
        outbox: handle.outbox,
        direct: handle.direct,
        queue: shared.queue.clone(),
        session,
        local,
        outgoing: VecDeque::new(),
        close_timer: None,
        // S16: the server answers Pings and sends none.
        heartbeat: None,
        label,
    };
    // Leaving the registry is the end of a server connection.
    let on_end = Box::new(move || drop(registered));
    let handovers = shared.handovers.clone();
    let task = open::run(stream, leftover, Role::Server, start, handovers, on_end);
    if AssertUnwindSafe(task).catch_unwind().await.is_err() {
        report_panic("", &shared.queue, &mut Batch::for_conn(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::server_config::ServerLimits;
    use crate::runtime::core::events::{EventQueue, Notifier};
    use crate::runtime::server::registry::Registry;

    struct Nop;
    impl Notifier for Nop {
        fn notify(&self) -> bool {
            true
        }
    }

    /// The task of an open server connection holds only what the open phase needs
    /// (issue #8, s4: memory per connection).
    #[tokio::test]
    async fn connection_task_stays_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _c = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (tcp, peer) = listener.accept().await.unwrap();
        let (stop_signal, _) = tokio::sync::watch::channel(false);
        let shared = Arc::new(Shared {
            registry: Registry::new(ServerLimits {
                max_clients: 10,
                max_per_client: 10,
            }),
            queue: Arc::new(EventQueue::new(Box::new(Nop))),
            tls: None,
            protocol: None,
            handovers: None,
            stop_signal,
        });
        let pending = PendingHandshake::begin(&shared).unwrap();
        let fut = serve(tcp, peer, pending);
        let bytes = std::mem::size_of_val(&fut);
        assert!(bytes < 2_500, "serve future is {bytes} bytes");
    }
}
