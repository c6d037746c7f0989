//! TLS for `wss://` with rustls (ring provider): trust anchors (R27, R71), client
//! certificates (R28), verification switch (R29, R72) and protocol floor (R36).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};

use crate::constants::TLS_CONFIGS_CACHED_MAX;
use crate::errors::ClientError;
use crate::runtime::certs::{load_certs, provider};
use crate::runtime::client::verify::{AcceptAnyServerCert, PinnedOrWebPki};
use crate::runtime::keys;

/// TLS settings taken from `WebSocketRequestOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TlsOptions {
    /// PEM file whose certificates are the only trust anchors (R27).
    pub ca_path: Option<PathBuf>,
    /// PEM chain and private key presented to the server (R28).
    pub client_cert: Option<ClientCertPaths>,
    /// Accept any server certificate (R29).
    pub skip_verification: bool,
    /// `minSupportTlsProtocol === TLS_V_1_3` (R36).
    pub tls13_only: bool,
}

/// Client certificate files (R28).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientCertPaths {
    /// PEM certificate chain.
    pub cert_path: PathBuf,
    /// PEM private key.
    pub key_path: PathBuf,
    /// Password of an encrypted key.
    pub key_password: String,
}

fn tls_failure(detail: String) -> ClientError {
    ClientError::ConnectFailed {
        status: None,
        detail,
    }
}

/// OS store plus `NODE_EXTRA_CA_CERTS` (R71), loaded once per process: reading the
/// system bundle takes tens of milliseconds.
fn default_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut store = RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(native.certs);
            if let Some(extra) = std::env::var_os("NODE_EXTRA_CA_CERTS") {
                // Node itself only warns about an unreadable file; so do we (silently).
                if let Ok(certs) = load_certs(std::path::Path::new(&extra)) {
                    store.add_parsable_certificates(certs);
                }
            }
            Arc::new(store)
        })
        .clone()
}

/// Configurations already built, by option set and the contents of the files those
/// options name (so a file changed on disk is picked up).
type ConfigCache = Mutex<HashMap<(TlsOptions, Vec<u8>), Arc<ClientConfig>>>;

/// The file contents a configuration is built from, as one cache key: each file's bytes,
/// each preceded by its length. A file that cannot be read is left out; building the
/// configuration reports it.
fn material_key(opts: &TlsOptions) -> Vec<u8> {
    let mut key = Vec::new();
    let mut add = |path: &std::path::Path| {
        let bytes = std::fs::read(path).unwrap_or_default();
        key.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        key.extend_from_slice(&bytes);
    };
    if let Some(ca) = &opts.ca_path {
        add(ca);
    }
    if let Some(cc) = &opts.client_cert {
        add(&cc.cert_path);
        add(&cc.key_path);
    }
    key
}

/// The client configuration for one connection: built once per option set and file
/// contents, then shared. Sharing is what lets rustls resume TLS sessions (its session
/// cache lives in the configuration); building one per connection cost every `wss`
/// connection with a `caPath` a PEM parse, a verifier and a full handshake (bench (h)).
pub fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, ClientError> {
    static CACHE: OnceLock<ConfigCache> = OnceLock::new();
    let cache = CACHE.get_or_init(ConfigCache::default);
    let key = (opts.clone(), material_key(opts));
    let lock = || cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(config) = lock().get(&key) {
        return Ok(config.clone());
    }
    let config = build_config(opts)?;
    let mut cached = lock();
    if cached.len() >= TLS_CONFIGS_CACHED_MAX {
        cached.clear();
    }
    cached.insert(key, config.clone());
    Ok(config)
}

/// Builds a client configuration from `opts`, reading the files they name.
fn build_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, ClientError> {
    let versions: &[&rustls::SupportedProtocolVersion] = if opts.tls13_only {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .map_err(|e| tls_failure(e.to_string()))?;
    let builder = if opts.skip_verification {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(provider())))
    } else {
        match &opts.ca_path {
            Some(path) => {
                let pinned = load_certs(path).map_err(tls_failure)?;
                let mut store = RootCertStore::empty();
                store.add_parsable_certificates(pinned.iter().cloned());
                let inner =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider())
                        .build()
                        .map_err(|e| tls_failure(format!("{}: {e}", path.display())))?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(PinnedOrWebPki { inner, pinned }))
            }
            None => builder.with_root_certificates(default_roots()),
        }
    };
    let config = match &opts.client_cert {
        None => builder.with_no_client_auth(),
        Some(cc) => {
            let chain = load_certs(&cc.cert_path).map_err(tls_failure)?;
            let bytes = std::fs::read(&cc.key_path)
                .map_err(|e| tls_failure(format!("cannot read {}: {e}", cc.key_path.display())))?;
            let key = keys::load_private_key(&bytes, &cc.key_password)
                .map_err(|e| tls_failure(format!("{}: {e}", cc.key_path.display())))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| tls_failure(format!("client certificate rejected: {e}")))?
        }
    };
    Ok(Arc::new(config))
}

/// SNI name: the URL host, or the IP for IP literals (rustls then sends no SNI, R69).
pub fn server_name(
    host: &str,
    ip: Option<std::net::IpAddr>,
) -> Result<ServerName<'static>, ClientError> {
    match ip {
        Some(ip) => Ok(ServerName::IpAddress(ip.into())),
        None => ServerName::try_from(host.to_string())
            .map_err(|e| tls_failure(format!("bad TLS server name: {e}"))),
    }
}
