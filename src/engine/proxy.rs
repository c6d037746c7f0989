//! HTTP CONNECT proxy rules (R30–R32): which proxy a target uses, the exclusion-list
//! matching, the CONNECT request, and the reading of the proxy's answer.

use crate::engine::url::Target;
use crate::errors::ClientError;

/// Largest CONNECT response head we accept.
pub const CONNECT_RESPONSE_MAX_BYTES: usize = 16 * 1024;

/// The `proxy` option after shape checks (R30).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxySetting {
    /// `'system'`: the environment's proxy variables, read by JS at connect time (R31).
    System {
        /// `HTTP_PROXY` / `http_proxy`.
        http_proxy: Option<String>,
        /// `HTTPS_PROXY` / `https_proxy`.
        https_proxy: Option<String>,
        /// `NO_PROXY` / `no_proxy`.
        no_proxy: Option<String>,
    },
    /// `'no-proxy'`.
    #[default]
    Direct,
    /// An explicit `HttpProxy` (R32).
    Http(HttpProxy),
}

/// An explicit HTTP proxy (R32).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpProxy {
    /// Proxy host; empty means a direct connection.
    pub host: String,
    /// Proxy port.
    pub port: u16,
    /// Hosts reached directly.
    pub exclusion_list: Vec<String>,
    /// Basic credentials, used only when both are non-empty.
    pub username: String,
    /// See `username`.
    pub password: String,
}

/// The proxy a connection goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyRoute {
    /// Proxy host (IPv6 without brackets).
    pub host: String,
    /// Proxy port.
    pub port: u16,
    /// `Proxy-Authorization` value, if any.
    pub authorization: Option<String>,
}

/// R31/R32: the route for `target`, or `None` for a direct connection.
pub fn route_for(setting: &ProxySetting, target: &Target) -> Option<ProxyRoute> {
    match setting {
        ProxySetting::Direct => None,
        ProxySetting::Http(p) => {
            if p.host.is_empty() || excluded(&p.exclusion_list, &target.host) {
                return None;
            }
            let authorization = (!p.username.is_empty() && !p.password.is_empty()).then(|| {
                format!(
                    "Basic {}",
                    base64(format!("{}:{}", p.username, p.password).as_bytes())
                )
            });
            Some(ProxyRoute {
                host: strip_brackets(&p.host).to_string(),
                port: p.port,
                authorization,
            })
        }
        ProxySetting::System {
            http_proxy,
            https_proxy,
            no_proxy,
        } => {
            let (first, second) = if target.secure {
                (https_proxy, http_proxy)
            } else {
                (http_proxy, https_proxy)
            };
            let chosen = first
                .as_deref()
                .filter(|v| !v.is_empty())
                .or(second.as_deref().filter(|v| !v.is_empty()))?;
            let exclusions: Vec<String> = no_proxy
                .as_deref()
                .unwrap_or("")
                .split(',')
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty())
                .collect();
            if excluded(&exclusions, &target.host) {
                return None;
            }
            parse_env_proxy(chosen)
        }
    }
}

fn strip_brackets(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Only `http://host:port[/]` is honoured (R31); anything else means direct.
fn parse_env_proxy(value: &str) -> Option<ProxyRoute> {
    let rest = value.trim().strip_prefix("http://")?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '@', '?', '#']) {
        return None;
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        (h, after.strip_prefix(':')?)
    } else {
        authority.rsplit_once(':')?
    };
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    if host.is_empty() {
        return None;
    }
    Some(ProxyRoute {
        host: host.to_string(),
        port,
        authorization: None,
    })
}

/// R32 [NODE] matching: case-insensitive; `*` alone matches all; an entry with `*` is a
/// glob; otherwise the exact host or any subdomain of it (`example.com` matches
/// `www.example.com`, not `notexample.com`). A leading `.` is the subdomain form too.
pub fn excluded(list: &[String], host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    list.iter().any(|entry| {
        let entry = strip_brackets(entry.trim()).to_ascii_lowercase();
        if entry.is_empty() {
            return false;
        }
        if entry == "*" {
            return true;
        }
        if entry.contains('*') {
            return glob(entry.as_bytes(), host.as_bytes());
        }
        let entry = entry.strip_prefix('.').unwrap_or(&entry);
        host == entry
            || (host.len() > entry.len()
                && host.ends_with(entry)
                && host.as_bytes()[host.len() - entry.len() - 1] == b'.')
    })
}

/// `*` matches any run of characters (iterative, no backtracking blow-up).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// The CONNECT request for `target` (authority form `host:port`, IPv6 in brackets).
pub fn connect_request(target: &Target, route: &ProxyRoute) -> Vec<u8> {
    let authority = format!("{}:{}", target.host_for_header(), target.port);
    let mut req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = &route.authorization {
        req.push_str("Proxy-Authorization: ");
        req.push_str(auth);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req.into_bytes()
}

/// Reads the proxy's answer: `Ok(None)` = need more bytes, `Ok(Some(used))` = tunnel
/// open after `used` bytes; a non-2xx status fails with that status as `data` (R32).
pub fn parse_connect_response(buf: &[u8]) -> Result<Option<usize>, ClientError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(buf) {
        Ok(httparse::Status::Partial) => {
            if buf.len() > CONNECT_RESPONSE_MAX_BYTES {
                Err(proxy_failure(None, "proxy response head too large"))
            } else {
                Ok(None)
            }
        }
        Ok(httparse::Status::Complete(used)) => match response.code {
            Some(code) if (200..300).contains(&code) => Ok(Some(used)),
            Some(code) => Err(proxy_failure(Some(code), "proxy refused the tunnel")),
            None => Err(proxy_failure(None, "proxy response without status")),
        },
        Err(e) => Err(proxy_failure(
            None,
            &format!("malformed proxy response: {e}"),
        )),
    }
}

fn proxy_failure(status: Option<u16>, detail: &str) -> ClientError {
    ClientError::ConnectFailed {
        status,
        detail: detail.to_string(),
    }
}

/// Standard base64 with padding (RFC 4648 §4), for `Proxy-Authorization: Basic`.
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::url::parse_target;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exclusion_matching() {
        assert!(excluded(&list(&["*"]), "anything"));
        assert!(excluded(&list(&["example.com"]), "www.example.com"));
        assert!(excluded(&list(&["Example.COM"]), "example.com"));
        assert!(!excluded(&list(&["example.com"]), "notexample.com"));
        assert!(excluded(&list(&[".example.com"]), "a.example.com"));
        assert!(excluded(&list(&["*.local"]), "printer.local"));
        assert!(excluded(&list(&["10.*"]), "10.1.2.3"));
        assert!(!excluded(&list(&["10.*"]), "110.1.2.3"));
        assert!(!excluded(&list(&[]), "x"));
    }

    #[test]
    fn explicit_proxy_route() {
        let t = parse_target("wss://echo.test:8443/x").unwrap();
        let p = HttpProxy {
            host: "127.0.0.1".into(),
            port: 3128,
            exclusion_list: vec![],
            username: "u".into(),
            password: "p".into(),
        };
        let route = route_for(&ProxySetting::Http(p.clone()), &t).unwrap();
        assert_eq!(route.authorization.as_deref(), Some("Basic dTpw"));
        let req = String::from_utf8(connect_request(&t, &route)).unwrap();
        assert!(req.starts_with("CONNECT echo.test:8443 HTTP/1.1\r\nHost: echo.test:8443\r\n"));
        let no_pw = HttpProxy {
            password: String::new(),
            ..p.clone()
        };
        assert_eq!(
            route_for(&ProxySetting::Http(no_pw), &t)
                .unwrap()
                .authorization,
            None
        );
        let empty = HttpProxy {
            host: String::new(),
            ..p.clone()
        };
        assert_eq!(route_for(&ProxySetting::Http(empty), &t), None);
        let skip = HttpProxy {
            exclusion_list: list(&["test"]),
            ..p
        };
        assert_eq!(route_for(&ProxySetting::Http(skip), &t), None);
    }

    #[test]
    fn system_proxy_from_environment() {
        let ws = parse_target("ws://a.test").unwrap();
        let wss = parse_target("wss://a.test").unwrap();
        let env = |h: Option<&str>, s: Option<&str>, n: Option<&str>| ProxySetting::System {
            http_proxy: h.map(String::from),
            https_proxy: s.map(String::from),
            no_proxy: n.map(String::from),
        };
        let both = env(Some("http://h:1"), Some("http://s:2/"), None);
        assert_eq!(route_for(&both, &ws).unwrap().host, "h");
        assert_eq!(route_for(&both, &wss).unwrap().port, 2);
        assert_eq!(
            route_for(&env(Some("http://h:1"), None, None), &wss)
                .unwrap()
                .host,
            "h"
        );
        assert_eq!(route_for(&env(None, None, None), &ws), None);
        assert_eq!(route_for(&env(Some("socks5://h:1"), None, None), &ws), None);
        assert_eq!(
            route_for(&env(Some("http://h:1"), None, Some("x.test, a.test")), &ws),
            None
        );
        assert_eq!(
            route_for(&env(Some("http://[::1]:8080"), None, None), &ws)
                .unwrap()
                .host,
            "::1"
        );
    }

    #[test]
    fn connect_responses() {
        assert_eq!(
            parse_connect_response(b"HTTP/1.1 200 OK\r\n").unwrap(),
            None
        );
        assert_eq!(
            parse_connect_response(b"HTTP/1.1 200 Connection established\r\n\r\n").unwrap(),
            Some(39)
        );
        let err = parse_connect_response(b"HTTP/1.1 407 Auth\r\n\r\n").unwrap_err();
        assert_eq!(err.event_data(), "407");
        assert!(parse_connect_response(b"nonsense\r\n\r\n").is_err());
    }

    #[test]
    fn base64_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
