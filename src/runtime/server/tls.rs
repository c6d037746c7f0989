//! TLS for a `wss` server (S4.4): the certificate chain and key of `serverCert`, in a
//! rustls `ServerConfig` (ring provider). The key loader is the one the client uses
//! for `clientCert` (PKCS#8, PKCS#1, SEC1).

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;

use crate::errors::ServerError;
use crate::runtime::certs::{load_certs, provider};
use crate::runtime::keys;

/// The server configuration for `serverCert`. Unusable material (not PEM, no
/// certificate, a key that does not load or does not match) is a 2302999 (S17).
pub fn server_config(cert_path: &Path, key_path: &Path) -> Result<Arc<ServerConfig>, ServerError> {
    let chain = load_certs(cert_path).map_err(ServerError::Internal)?;
    let bytes = std::fs::read(key_path)
        .map_err(|e| ServerError::Internal(format!("cannot read {}: {e}", key_path.display())))?;
    let key = keys::load_private_key(&bytes, "")
        .map_err(|e| ServerError::Internal(format!("{}: {e}", key_path.display())))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ServerError::Internal(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| ServerError::Internal(format!("serverCert rejected: {e}")))?;
    Ok(Arc::new(config))
}
