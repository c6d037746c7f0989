//! Establishing the byte stream of a connection: name resolution and TCP (R21a),
//! TLS (R69–R72), and the HTTP upgrade exchange (R23–R24) driven over it.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use crate::constants::RESPONSE_HEAD_MAX_BYTES;
use crate::engine::handshake::{self, RequestOptions, ResponseHead};
use crate::engine::proxy::{self, ProxySetting};
use crate::engine::url::Target;
use crate::errors::ClientError;
use crate::runtime::client::tls::{self, TlsOptions};
use crate::runtime::client::tunnel;
use crate::runtime::core::socket::Socket;
use crate::runtime::core::transport::MaybeTls;
use crate::runtime::head::{read_head, HeadError};

fn failed(detail: impl Into<String>) -> ClientError {
    ClientError::ConnectFailed {
        status: None,
        detail: detail.into(),
    }
}

/// Resolves `host` and tries each address in turn, each with an equal share of the
/// time left until `deadline` (R21a), so a dead first address cannot eat the whole bound.
async fn connect_tcp(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, ClientError> {
    let addrs: Vec<std::net::SocketAddr> = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![std::net::SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| failed(format!("cannot resolve {host}: {e}")))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(failed(format!("{host} has no address")));
    }
    log::debug!("{host}:{port} resolves to {addrs:?}");
    let mut last_error = String::new();
    for (i, addr) in addrs.iter().enumerate() {
        log::debug!("connecting to {addr}");
        let left = deadline.saturating_duration_since(Instant::now());
        let share = left / (addrs.len() - i) as u32;
        match tokio::time::timeout(
            share.max(Duration::from_millis(1)),
            TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(stream)) => {
                // Small frames must leave at once: Nagle would add up to 40 ms per echo.
                stream
                    .set_nodelay(true)
                    .map_err(|e| failed(format!("TCP_NODELAY: {e}")))?;
                return Ok(stream);
            }
            Ok(Err(e)) => last_error = format!("{addr}: {e}"),
            Err(_) => last_error = format!("{addr}: timed out"),
        }
    }
    Err(failed(last_error))
}

/// TCP (directly or through a CONNECT tunnel), then TLS for `wss`.
pub async fn open_stream(
    target: &Target,
    proxy: &ProxySetting,
    tls_options: &TlsOptions,
    deadline: Instant,
) -> Result<MaybeTls, ClientError> {
    // Load TLS material before connecting, so a bad key fails without network traffic.
    let tls_config = match (target.secure, *tls_options == TlsOptions::default()) {
        (false, _) => None,
        (true, true) => Some(tls::client_config(tls_options)?),
        // Reading files and deriving key-decryption keys is blocking work: keep it off
        // the I/O thread that every other connection shares.
        (true, false) => {
            let opts = tls_options.clone();
            let loaded = tokio::task::spawn_blocking(move || tls::client_config(&opts))
                .await
                .map_err(|e| failed(format!("loading TLS material: {e}")))?;
            Some(loaded?)
        }
    };
    let tcp = match proxy::route_for(proxy, target) {
        None => connect_tcp(&target.host, target.port, deadline).await?,
        Some(route) => {
            log::debug!(
                "{}: through the proxy {}:{}",
                target.label(),
                route.host,
                route.port
            );
            let mut tcp = connect_tcp(&route.host, route.port, deadline).await?;
            tunnel::open(&mut tcp, target, &route).await?;
            tcp
        }
    };
    match tls_config {
        None => Ok(MaybeTls::Plain(Socket::Reactor(tcp))),
        Some(config) => {
            let name = tls::server_name(&target.host, target.ip)?;
            let stream = TlsConnector::from(config)
                .connect(name, Socket::Reactor(tcp))
                .await
                .map_err(|e| failed(format!("TLS handshake failed: {e}")))?;
            let stream = MaybeTls::ClientTls(Box::new(stream));
            log::debug!(
                "{}: TLS {}",
                target.label(),
                stream.tls_summary().unwrap_or_default()
            );
            Ok(stream)
        }
    }
}

/// A successful upgrade.
pub struct Upgraded {
    /// The 101 response head.
    pub head: ResponseHead,
    /// Subprotocol the server selected (R58).
    pub protocol: Option<String>,
    /// Bytes that followed the head: early frames, handed to tungstenite.
    pub leftover: Vec<u8>,
}

/// Sends the upgrade request and reads and validates the response head (R24, R34).
pub async fn upgrade(
    stream: &mut MaybeTls,
    target: &Target,
    request: &RequestOptions,
) -> Result<Upgraded, ClientError> {
    let key = tokio_tungstenite::tungstenite::handshake::client::generate_key();
    let bytes = handshake::build_request(target, request, &key);
    stream
        .write_all(&bytes)
        .await
        .map_err(|e| failed(format!("sending the upgrade request: {e}")))?;
    stream
        .flush()
        .await
        .map_err(|e| failed(format!("sending the upgrade request: {e}")))?;
    let (head, leftover) = read_head(stream, RESPONSE_HEAD_MAX_BYTES, handshake::parse_response)
        .await
        .map_err(|e| match e {
            HeadError::Parse(e) => e,
            HeadError::Closed => failed("connection closed during the upgrade"),
            HeadError::TooLarge => failed("upgrade response head too large"),
            HeadError::Io(e) => failed(format!("reading the upgrade response: {e}")),
        })?;
    log::debug!(
        "{}: handshake answered {} {}",
        target.label(),
        head.status,
        head.reason
    );
    let offered = handshake::offered_protocol(request);
    let accepted = handshake::validate_response(&head, &key, offered.as_deref())?;
    Ok(Upgraded {
        head,
        protocol: accepted.protocol,
        leftover,
    })
}
