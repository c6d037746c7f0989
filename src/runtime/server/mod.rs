//! The server role (spec section (e)): binding and the listener ([`listener`]), the
//! handshake of each accepted client ([`accept`]), the live state shared with JS
//! ([`registry`]) and TLS ([`tls`]). After its handshake a server connection runs the
//! same open-phase core as a client connection (`runtime::core`).

pub mod accept;
pub mod listener;
pub mod registry;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::constants::{CLOSE_CODE_GOING_AWAY, CLOSE_REASON_SERVER_STOP};
use crate::engine::server_config::{self, RawServerConfig};
use crate::errors::ServerError;
use crate::runtime::core::command::Command;
use crate::runtime::core::events::{Batch, EventQueue};
use crate::runtime::core::open::Handovers;
use crate::runtime::server::registry::{ConnHandle, Registry};

/// `serverCert` paths (S4.4), when `certPath` is non-empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPaths {
    /// PEM certificate chain.
    pub cert_path: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1; not encrypted).
    pub key_path: PathBuf,
}

/// Everything `start` needs, as JS read it.
#[derive(Debug, Clone, Default)]
pub struct StartConfig {
    /// Address, port and limits (S4 steps 1–3).
    pub raw: RawServerConfig,
    /// TLS certificate and key (S4 step 4).
    pub cert: Option<CertPaths>,
    /// Subprotocol to select when offered (S8).
    pub protocol: Option<String>,
}

/// What the listener and every connection task of one server share.
pub struct Shared {
    /// Connections, limits, stop state.
    pub registry: Registry,
    /// The server's one event queue (server-level batches).
    pub queue: Arc<EventQueue>,
    /// `Some` for a `wss` server.
    pub tls: Option<TlsAcceptor>,
    /// `config.protocol` when non-empty (S8).
    pub protocol: Option<String>,
    /// Where open connections go when the JS thread polls them (`runtime::js_thread`);
    /// `None` = they stay on tokio.
    pub handovers: Option<Arc<Handovers>>,
    /// Becomes `true` when a stop begins: the listener and handshakes in flight end.
    stop_signal: watch::Sender<bool>,
}

impl Shared {
    /// Resolves once a stop has begun (at once if it has).
    pub async fn until_stopping(&self) {
        let mut stopping = self.stop_signal.subscribe();
        // The guard `wait_for` returns is not `Send`: drop it here, not in a caller's
        // `select!`.
        let _ = stopping.wait_for(|s| *s).await.map(|_| ());
    }

    /// The stop is complete: tell JS (S6) and release the threadsafe function, so the
    /// process may exit (S21).
    pub fn report_stopped(&self) {
        let mut batch = Batch::default();
        batch.stopped();
        self.queue.submit(&mut batch);
        self.queue.close();
    }
}

/// A started server.
pub struct Server {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
}

fn check_exists(path: &std::path::Path) -> Result<(), ServerError> {
    if path.as_os_str().is_empty() || !path.exists() {
        return Err(ServerError::CertificateFileMissing(
            path.display().to_string(),
        ));
    }
    Ok(())
}

/// S4 in order, then binds and starts listening on `runtime`; events go to `queue`.
pub fn start(
    runtime: &tokio::runtime::Runtime,
    config: StartConfig,
    queue: Arc<EventQueue>,
    handovers: Option<Arc<Handovers>>,
) -> Result<Server, ServerError> {
    let (addr, limits) = server_config::validate(&config.raw)?;
    let tls = match &config.cert {
        None => None,
        Some(cert) => {
            check_exists(&cert.cert_path)?;
            check_exists(&cert.key_path)?;
            Some(TlsAcceptor::from(tls::server_config(
                &cert.cert_path,
                &cert.key_path,
            )?))
        }
    };
    let listener = {
        let _context = runtime.enter();
        listener::bind(addr)?
    };
    let local_addr = listener
        .local_addr()
        .map_err(|e| ServerError::Internal(format!("local address: {e}")))?;
    let (stop_signal, _) = watch::channel(false);
    let shared = Arc::new(Shared {
        registry: Registry::new(limits),
        queue,
        tls,
        protocol: config.protocol.filter(|p| !p.is_empty()),
        handovers,
        stop_signal,
    });
    log::debug!("server listening on {local_addr}");
    runtime.spawn(listener::run(listener, shared.clone()));
    Ok(Server { shared, local_addr })
}

impl Server {
    /// The bound address (S22).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The open connection `id`, for `send` / `close`.
    pub fn connection(&self, id: u32) -> Option<ConnHandle> {
        self.shared.registry.get(id)
    }

    /// S6: stop listening and close every connection with 1001; `STOPPED` follows once
    /// all have ended (each bounded by the 5 s close timer, R49).
    pub fn stop(&self) {
        log::debug!("server on {}: stopping", self.local_addr);
        for conn in self.shared.registry.begin_stop() {
            conn.outbox.push(Command::Close {
                code: Some(f64::from(CLOSE_CODE_GOING_AWAY)),
                reason: Some(CLOSE_REASON_SERVER_STOP.to_string()),
            });
            conn.outbox.wake();
        }
        self.shared.stop_signal.send_replace(true);
    }

    /// JS is gone (environment teardown): end everything without events.
    pub fn detach(&self) {
        for conn in self.shared.registry.begin_stop() {
            conn.outbox.detach();
        }
        self.shared.stop_signal.send_replace(true);
    }
}
