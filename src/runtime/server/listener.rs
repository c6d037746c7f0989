//! The listening socket of a server: binding with the S7 error mapping, and the accept
//! loop, which hands each client to its own task until a stop begins.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};

use crate::constants::SERVER_LISTEN_BACKLOG;
use crate::errors::ServerError;
use crate::runtime::server::{accept, Shared};

/// After an accept error such as EMFILE, the pause before accepting again: the error
/// repeats at once otherwise, and the loop would spin on the shared I/O thread.
const ACCEPT_RETRY_PAUSE_MS: u64 = 50;

/// S7: a socket bound to `addr` and listening. Must run inside the runtime's context.
pub fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(|e| ServerError::Internal(format!("socket: {e}")))?;
    // Lets a restarted server bind the port its previous run's connections still
    // occupy in TIME_WAIT (S6: the port is free once stop resolves). Not on Windows:
    // there SO_REUSEADDR lets a second socket take a port in use (S7 wants 2302007),
    // and ports in TIME_WAIT can be bound again without it.
    #[cfg(not(windows))]
    socket
        .set_reuseaddr(true)
        .map_err(|e| ServerError::Internal(format!("SO_REUSEADDR: {e}")))?;
    socket.bind(addr).map_err(|e| bind_error(addr, &e))?;
    socket
        .listen(SERVER_LISTEN_BACKLOG)
        .map_err(|e| bind_error(addr, &e))
}

fn bind_error(addr: SocketAddr, e: &std::io::Error) -> ServerError {
    let detail = format!("{addr}: {e}");
    match e.kind() {
        std::io::ErrorKind::AddrInUse => ServerError::AddressInUse(detail),
        std::io::ErrorKind::AddrNotAvailable => ServerError::InvalidAddress(detail),
        std::io::ErrorKind::PermissionDenied => ServerError::InvalidPort(detail),
        _ => ServerError::Internal(detail),
    }
}

/// Accepts until the stop signal, then closes the socket (the port is free again).
pub async fn run(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        tokio::select! {
            biased;
            _ = shared.until_stopping() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    if let Some(pending) = accept::PendingHandshake::begin(&shared) {
                        tokio::spawn(accept::serve(tcp, peer, pending));
                    }
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(ACCEPT_RETRY_PAUSE_MS)).await,
            },
        }
    }
    drop(listener);
    if shared.registry.listener_closed() {
        shared.report_stopped();
    }
}
