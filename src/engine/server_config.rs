//! Validation of `WebSocketServerConfig` (S4 steps 1–3), as a pure function: the listen
//! address, the port and the two client limits. Certificate files (step 4) and binding
//! (step 5) are the runtime's.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::constants::{SERVER_CLIENT_LIMIT_DEFAULT, SERVER_CLIENT_LIMIT_MAX};
use crate::errors::ServerError;

/// The config fields as JS read them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawServerConfig {
    /// `serverIP` if it was a string.
    pub server_ip: Option<String>,
    /// `serverPort` after `ToUint32` (S4.2).
    pub server_port: u32,
    /// `maxConcurrentClientsNumber` if it was a number.
    pub max_clients: Option<f64>,
    /// `maxConnectionsForOneClient` if it was a number.
    pub max_per_client: Option<f64>,
}

/// A validated listen address and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Most distinct client IPs at once (S9).
    pub max_clients: u32,
    /// Most connections from one IP at once (S9).
    pub max_per_client: u32,
}

/// S4.3: above the maximum → 2302999; absent, not a number, NaN or ≤ 0 → the default;
/// fractions truncated.
fn limit(value: Option<f64>, name: &str) -> Result<u32, ServerError> {
    match value {
        Some(v) if v > f64::from(SERVER_CLIENT_LIMIT_MAX) => Err(ServerError::Internal(format!(
            "{name} must be at most {SERVER_CLIENT_LIMIT_MAX}"
        ))),
        // Below 1 (0.5 truncates to 0) would refuse every client: the default instead.
        Some(v) if v >= 1.0 => Ok(v.trunc() as u32),
        _ => Ok(SERVER_CLIENT_LIMIT_DEFAULT),
    }
}

/// S4 steps 1–3, in that order.
pub fn validate(raw: &RawServerConfig) -> Result<(SocketAddr, ServerLimits), ServerError> {
    let ip = match raw.server_ip.as_deref() {
        None | Some("") => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Some(text) => text
            .parse::<IpAddr>()
            .map_err(|_| ServerError::InvalidAddress(format!("{text:?} is not an IP address")))?,
    };
    let port = u16::try_from(raw.server_port).map_err(|_| {
        ServerError::InvalidPort(format!("port {} is above 65535", raw.server_port))
    })?;
    let limits = ServerLimits {
        max_clients: limit(raw.max_clients, "maxConcurrentClientsNumber")?,
        max_per_client: limit(raw.max_per_client, "maxConnectionsForOneClient")?,
    };
    Ok((SocketAddr::new(ip, port), limits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(ip: Option<&str>, port: u32) -> RawServerConfig {
        RawServerConfig {
            server_ip: ip.map(str::to_string),
            server_port: port,
            ..RawServerConfig::default()
        }
    }

    #[test]
    fn addresses() {
        assert_eq!(
            validate(&raw(None, 0)).unwrap().0,
            "0.0.0.0:0".parse().unwrap()
        );
        assert_eq!(
            validate(&raw(Some(""), 80)).unwrap().0,
            "0.0.0.0:80".parse().unwrap()
        );
        assert_eq!(
            validate(&raw(Some("::1"), 1)).unwrap().0,
            "[::1]:1".parse().unwrap()
        );
        for bad in ["0.0.0.0..", "localhost", "1.2.3", "[::1]"] {
            assert_eq!(
                validate(&raw(Some(bad), 0)).unwrap_err().code(),
                2_302_004,
                "{bad}"
            );
        }
    }

    #[test]
    fn ports_and_order() {
        assert_eq!(validate(&raw(None, 65_535)).unwrap().0.port(), 65_535);
        assert_eq!(validate(&raw(None, 65_536)).unwrap_err().code(), 2_302_005);
        // The address is checked first (S4 order).
        assert_eq!(
            validate(&raw(Some("x"), 70_000)).unwrap_err().code(),
            2_302_004
        );
    }

    #[test]
    fn limits_s4_3() {
        let mut r = raw(None, 0);
        assert_eq!(
            validate(&r).unwrap().1,
            ServerLimits {
                max_clients: 10,
                max_per_client: 10
            }
        );
        r.max_clients = Some(3.9);
        r.max_per_client = Some(-1.0);
        assert_eq!(
            validate(&r).unwrap().1,
            ServerLimits {
                max_clients: 3,
                max_per_client: 10
            }
        );
        r.max_per_client = Some(11.0);
        assert_eq!(validate(&r).unwrap_err().code(), 2_302_999);
        r.max_per_client = Some(f64::NAN);
        assert_eq!(validate(&r).unwrap().1.max_per_client, 10);
        r.max_clients = Some(f64::INFINITY);
        assert_eq!(validate(&r).unwrap_err().code(), 2_302_999);
    }
}
