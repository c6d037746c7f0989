//! URL validation and interpretation for `connect` (R16 steps 6–7, R17, R18).
//!
//! The scheme, authority and port are checked by hand because OH's rules are stricter
//! than WHATWG parsing (case-sensitive scheme, no userinfo, an empty host is its own
//! error); host normalisation (IDNA, IPv4 forms) and path/query encoding are left to
//! the `url` crate.

use std::net::{IpAddr, Ipv6Addr};

use crate::constants::URL_MAX_CHARS;
use crate::errors::ClientError;

/// Where and how to connect, derived from a valid `ws://` / `wss://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `true` for `wss`.
    pub secure: bool,
    /// Host to resolve and to send in SNI; IPv6 without brackets.
    pub host: String,
    /// The host is an IP literal (no SNI, R69).
    pub ip: Option<IpAddr>,
    /// Explicit port, or 80 / 443.
    pub port: u16,
    /// `path?query` for the request line (R18).
    pub request_target: String,
}

impl Target {
    /// `ws://host:port` / `wss://host:port`, for diagnostics.
    pub fn label(&self) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        match self.ip {
            Some(IpAddr::V6(_)) => format!("{scheme}://[{}]:{}", self.host, self.port),
            _ => format!("{scheme}://{}:{}", self.host, self.port),
        }
    }
}

impl Target {
    /// Port implied by the scheme.
    pub fn default_port(&self) -> u16 {
        if self.secure {
            443
        } else {
            80
        }
    }

    /// Host as written in HTTP headers: IPv6 in brackets.
    pub fn host_for_header(&self) -> String {
        match self.ip {
            Some(IpAddr::V6(_)) => format!("[{}]", self.host),
            _ => self.host.clone(),
        }
    }

    /// `Host` header value: the port only when it is not the scheme default (R23).
    pub fn host_header(&self) -> String {
        if self.port == self.default_port() {
            self.host_for_header()
        } else {
            format!("{}:{}", self.host_for_header(), self.port)
        }
    }

    /// `Origin` header value (R38): always `http://`, port only if asked for and non-default.
    pub fn origin(&self, with_port: bool) -> String {
        if with_port && self.port != self.default_port() {
            format!("http://{}:{}", self.host_for_header(), self.port)
        } else {
            format!("http://{}", self.host_for_header())
        }
    }
}

fn invalid(why: &str) -> ClientError {
    ClientError::InvalidUrl(why.to_string())
}

/// Validates `input` per R17 and interprets it per R18.
///
/// Returns [`ClientError::InvalidUrl`] (2302001) for a malformed URL and
/// [`ClientError::EmptyHost`] (−1) for a well-formed one without host (R16 step 7).
pub fn parse_target(input: &str) -> Result<Target, ClientError> {
    if input.chars().count() > URL_MAX_CHARS {
        return Err(invalid("longer than the limit"));
    }
    let (scheme, rest) = input
        .split_once("://")
        .ok_or_else(|| invalid("missing ://"))?;
    let secure = match scheme {
        "ws" => false,
        "wss" => true,
        _ => return Err(invalid("scheme is not ws or wss")),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    if authority.contains('@') {
        return Err(invalid("userinfo is not allowed"));
    }
    let (raw_host, raw_port) = split_host_port(authority)?;
    let port = match raw_port {
        None => {
            if secure {
                443
            } else {
                80
            }
        }
        Some(p) => parse_port(p)?,
    };
    if raw_host.is_empty() {
        return Err(ClientError::EmptyHost);
    }
    let (host, ip) = normalise_host(raw_host)?;
    let request_target = request_target(tail)?;
    Ok(Target {
        secure,
        host,
        ip,
        port,
        request_target,
    })
}

/// Splits `host[:port]` / `[v6][:port]`; the port text is returned unparsed.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), ClientError> {
    if let Some(after_bracket) = authority.strip_prefix('[') {
        let close = after_bracket
            .find(']')
            .ok_or_else(|| invalid("unterminated IPv6 literal"))?;
        let host = &authority[..close + 2];
        let after = &after_bracket[close + 1..];
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(p) => Ok((host, Some(p))),
                None => Err(invalid("garbage after IPv6 literal")),
            },
        };
    }
    match authority.split_once(':') {
        None => Ok((authority, None)),
        Some((h, p)) => Ok((h, Some(p))),
    }
}

/// A port must be a decimal integer in 1–65535 (R17 [NODE]).
fn parse_port(text: &str) -> Result<u16, ClientError> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("port is not a decimal integer"));
    }
    match text.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        _ => Err(invalid("port out of range")),
    }
}

/// IDNA/IPv4 normalisation through the `url` crate, then a DNS-name syntax check.
fn normalise_host(raw: &str) -> Result<(String, Option<IpAddr>), ClientError> {
    if let Some(inner) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let v6: Ipv6Addr = inner.parse().map_err(|_| invalid("bad IPv6 literal"))?;
        return Ok((v6.to_string(), Some(IpAddr::V6(v6))));
    }
    match url::Host::parse(raw).map_err(|_| invalid("bad host"))? {
        url::Host::Ipv4(v4) => Ok((v4.to_string(), Some(IpAddr::V4(v4)))),
        url::Host::Ipv6(v6) => Ok((v6.to_string(), Some(IpAddr::V6(v6)))),
        url::Host::Domain(name) => {
            if is_dns_name(&name) {
                Ok((name, None))
            } else {
                Err(invalid("host is not a DNS name"))
            }
        }
    }
}

/// Letters, digits, `-` and `_` in labels of 1–63 bytes, 253 bytes at most, one
/// optional trailing dot; no label starts or ends with `-`.
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Path and query as sent on the request line (R18): `/` when empty, `/` before a
/// leading `?`, fragment dropped, non-ASCII percent-encoded by the `url` crate.
fn request_target(tail: &str) -> Result<String, ClientError> {
    let without_fragment = tail.split('#').next().unwrap_or("");
    let parsed = url::Url::parse(&format!("ws://h{without_fragment}"))
        .map_err(|_| invalid("bad path or query"))?;
    let mut target = parsed.path().to_string();
    if target.is_empty() {
        target.push('/');
    }
    if let Some(q) = parsed.query() {
        target.push('?');
        target.push_str(q);
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(u: &str) -> Target {
        parse_target(u).unwrap()
    }

    #[test]
    fn scheme_must_be_ws_or_wss_case_sensitive() {
        for bad in [
            "",
            "hello",
            "123",
            "192.168.1.111",
            "http://a",
            "https://a",
            "WS://a",
        ] {
            assert!(
                matches!(parse_target(bad), Err(ClientError::InvalidUrl(_))),
                "{bad}"
            );
        }
        assert!(!ok("ws://a").secure);
        assert!(ok("wss://a").secure);
    }

    #[test]
    fn empty_host_is_its_own_error() {
        for u in ["ws://", "ws:///x", "ws://:80", "wss://?q"] {
            assert_eq!(parse_target(u), Err(ClientError::EmptyHost), "{u}");
        }
    }

    #[test]
    fn ports() {
        assert_eq!(ok("ws://a").port, 80);
        assert_eq!(ok("wss://a").port, 443);
        assert_eq!(ok("ws://a:8080").port, 8080);
        for bad in [
            "ws://a:0",
            "ws://a:65536",
            "ws://a:abc",
            "ws://a:",
            "ws://a:-1",
            "ws://:0",
        ] {
            assert!(
                matches!(parse_target(bad), Err(ClientError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn userinfo_and_bad_hosts_are_rejected() {
        for bad in [
            "ws://u@a",
            "ws://u:p@a",
            "ws://a b",
            "ws://-a.com",
            "ws://[::1",
            "ws://[zz]",
        ] {
            assert!(
                matches!(parse_target(bad), Err(ClientError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn length_limit() {
        let base = "ws://a/";
        let long = format!("{base}{}", "x".repeat(URL_MAX_CHARS - base.len()));
        assert!(parse_target(&long).is_ok());
        assert!(parse_target(&format!("{long}x")).is_err());
    }

    #[test]
    fn request_target_rules() {
        assert_eq!(ok("ws://h").request_target, "/");
        assert_eq!(ok("ws://h?a=1").request_target, "/?a=1");
        assert_eq!(ok("ws://h/p/q?x=y#frag").request_target, "/p/q?x=y");
        assert_eq!(ok("ws://h#frag").request_target, "/");
    }

    #[test]
    fn hosts_and_headers() {
        let t = ok("ws://[::1]:9000/x");
        assert_eq!(t.host, "::1");
        assert_eq!(t.host_header(), "[::1]:9000");
        assert_eq!(t.origin(false), "http://[::1]");
        assert_eq!(t.origin(true), "http://[::1]:9000");
        let t = ok("wss://Example.COM:443");
        assert_eq!(t.host, "example.com");
        assert_eq!(t.host_header(), "example.com");
        assert!(ok("ws://127.0.0.1").ip.is_some());
        assert!(ok("ws://localhost").ip.is_none());
    }
}
