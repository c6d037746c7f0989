//! Server-certificate verifiers beyond rustls' default (R29, R70, R72).
//!
//! - [`PinnedOrWebPki`]: the normal WebPKI check, plus acceptance of a server certificate
//!   that is byte-for-byte one of the `caPath` certificates. The common
//!   `openssl req -x509` recipe marks such a self-signed certificate `CA:TRUE`, which
//!   WebPKI refuses as an end-entity certificate although Node's own TLS accepts it. For
//!   a pinned certificate we still check the validity period and the host name.
//! - [`AcceptAnyServerCert`]: `skipServerCertVerification: true`.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};
use x509_cert::der::Decode;

/// WebPKI verification, with exact `caPath` certificates accepted as pinned leaves.
#[derive(Debug)]
pub struct PinnedOrWebPki {
    /// The standard verifier over the same trust anchors.
    pub inner: Arc<WebPkiServerVerifier>,
    /// The `caPath` certificates.
    pub pinned: Vec<CertificateDer<'static>>,
}

/// Validity period of a DER certificate as Unix seconds `(not_before, not_after)`.
fn validity_secs(cert: &[u8]) -> Option<(u64, u64)> {
    let parsed = x509_cert::Certificate::from_der(cert).ok()?;
    let v = &parsed.tbs_certificate.validity;
    Some((
        v.not_before.to_unix_duration().as_secs(),
        v.not_after.to_unix_duration().as_secs(),
    ))
}

impl PinnedOrWebPki {
    fn verify_pinned(
        &self,
        end_entity: &CertificateDer<'_>,
        name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), Error> {
        let (not_before, not_after) = validity_secs(end_entity)
            .ok_or(Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let now = now.as_secs();
        if now < not_before {
            return Err(Error::InvalidCertificate(CertificateError::NotValidYet));
        }
        if now > not_after {
            return Err(Error::InvalidCertificate(CertificateError::Expired));
        }
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?;
        cert.verify_is_valid_for_subject_name(name)
            .map_err(|_| Error::InvalidCertificate(CertificateError::NotValidForName))
    }
}

impl ServerCertVerifier for PinnedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(v) => Ok(v),
            Err(err) => {
                if self
                    .pinned
                    .iter()
                    .any(|p| p.as_ref() == end_entity.as_ref())
                {
                    self.verify_pinned(end_entity, server_name, now)?;
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(err)
                }
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `skipServerCertVerification: true` (R29): any certificate is accepted; the handshake
/// signatures are still checked, so the session keys remain bound to that certificate.
#[derive(Debug)]
pub struct AcceptAnyServerCert(pub Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
