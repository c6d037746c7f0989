//! The server's side of the upgrade handshake, as pure functions over bytes: reading
//! and checking a client's request (RFC 6455 §4.2.1), choosing the subprotocol (S8),
//! and the bytes of the answer — `101`, or the refusal a bad request gets.

use base64ct::{Base64, Encoding};

use crate::constants::{REQUEST_HEADERS_MAX, REQUEST_HEAD_MAX_BYTES};
use crate::engine::handshake::{canonical_reason, header, lists_token};

/// Why a request is refused, and with which HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// 400, 403, 426 or 431.
    pub status: u16,
    /// What was wrong, in words (for the server's `error` event detail and debugging).
    pub detail: String,
}

fn reject(status: u16, detail: &str) -> Rejection {
    Rejection {
        status,
        detail: detail.to_string(),
    }
}

/// A valid upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequest {
    /// `Sec-WebSocket-Key`, trimmed.
    pub key: String,
    /// `Sec-WebSocket-Protocol` as offered, if any.
    pub offered_protocols: Option<String>,
}

/// Reads a request head from the start of `buf`. `Ok(None)`: more bytes are needed;
/// `Ok(Some((request, used)))`: the head took `used` bytes (the rest are frames).
/// A head longer than [`REQUEST_HEAD_MAX_BYTES`] is a 431.
pub fn parse_request(buf: &[u8]) -> Result<Option<(UpgradeRequest, usize)>, Rejection> {
    let mut storage = [httparse::EMPTY_HEADER; REQUEST_HEADERS_MAX];
    let mut request = httparse::Request::new(&mut storage);
    let used = match request.parse(buf) {
        Ok(httparse::Status::Partial) if buf.len() > REQUEST_HEAD_MAX_BYTES => {
            return Err(reject(431, "request head too large"))
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Ok(httparse::Status::Complete(n)) if n > REQUEST_HEAD_MAX_BYTES => {
            return Err(reject(431, "request head too large"))
        }
        Ok(httparse::Status::Complete(n)) => n,
        Err(httparse::Error::TooManyHeaders) => return Err(reject(431, "too many headers")),
        Err(e) => return Err(reject(400, &format!("malformed request: {e}"))),
    };
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).trim().to_string(),
            )
        })
        .collect();
    let validated = validate(request.method, request.version, &headers)?;
    Ok(Some((validated, used)))
}

/// S8: a request that does not ask for a WebSocket upgrade gets 426, whatever its method
/// and version (it is plain HTTP sent to a WebSocket-only port); one that asks for it but
/// gets the upgrade wrong gets 400.
fn validate(
    method: Option<&str>,
    version: Option<u8>,
    headers: &[(String, String)],
) -> Result<UpgradeRequest, Rejection> {
    if !header(headers, "upgrade").is_some_and(|v| lists_token(v, "websocket")) {
        return Err(reject(426, "not a WebSocket upgrade request"));
    }
    if method != Some("GET") {
        return Err(reject(400, "the upgrade request must be a GET"));
    }
    if version != Some(1) {
        return Err(reject(400, "the upgrade request must be HTTP/1.1"));
    }
    if !header(headers, "connection").is_some_and(|v| lists_token(v, "upgrade")) {
        return Err(reject(400, "missing Connection: Upgrade"));
    }
    if header(headers, "sec-websocket-version") != Some("13") {
        return Err(reject(400, "unsupported Sec-WebSocket-Version"));
    }
    let key = header(headers, "sec-websocket-key").unwrap_or("");
    let mut decoded = [0u8; 24];
    match Base64::decode(key, &mut decoded) {
        Ok(bytes) if bytes.len() == 16 => {}
        _ => return Err(reject(400, "missing or invalid Sec-WebSocket-Key")),
    }
    Ok(UpgradeRequest {
        key: key.to_string(),
        offered_protocols: header(headers, "sec-websocket-protocol").map(str::to_string),
    })
}

/// S8: `configured` when it is non-empty and the client offered it, else none.
pub fn select_protocol(request: &UpgradeRequest, configured: Option<&str>) -> Option<String> {
    let wanted = configured.filter(|p| !p.is_empty())?;
    let offered = request.offered_protocols.as_deref()?;
    offered
        .split(',')
        .any(|t| t.trim() == wanted)
        .then(|| wanted.to_string())
}

/// The `101 Switching Protocols` answer.
pub fn accept_response(request: &UpgradeRequest, protocol: Option<&str>) -> Vec<u8> {
    let accept =
        tokio_tungstenite::tungstenite::handshake::derive_accept_key(request.key.as_bytes());
    let mut out = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
    );
    if let Some(p) = protocol {
        out.push_str("Sec-WebSocket-Protocol: ");
        out.push_str(p);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// The answer to a refused request; the connection is closed after it.
pub fn rejection_response(status: u16) -> Vec<u8> {
    let extra = match status {
        426 => "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
        400 => "Sec-WebSocket-Version: 13\r\n",
        _ => "",
    };
    format!(
        "HTTP/1.1 {status} {}\r\nConnection: close\r\nContent-Length: 0\r\n{extra}\r\n",
        canonical_reason(status)
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn request(lines: &[&str]) -> Vec<u8> {
        let mut s = String::from("GET /chat?x=1 HTTP/1.1\r\nHost: h\r\n");
        for l in lines {
            s.push_str(l);
            s.push_str("\r\n");
        }
        s.push_str("\r\n");
        s.into_bytes()
    }

    fn good() -> Vec<&'static str> {
        vec![
            "Upgrade: websocket",
            "Connection: keep-alive, Upgrade",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        ]
    }

    fn status_of(bytes: &[u8]) -> u16 {
        parse_request(bytes).unwrap_err().status
    }

    #[test]
    fn accepts_a_valid_request_and_keeps_leftover() {
        let mut bytes = request(&good());
        let head_len = bytes.len();
        bytes.extend_from_slice(&[0x81, 0x80]);
        let (req, used) = parse_request(&bytes).unwrap().unwrap();
        assert_eq!(used, head_len);
        assert_eq!(req.key, KEY);
        let answer = String::from_utf8(accept_response(&req, None)).unwrap();
        // RFC 6455 §1.3's example key and accept value.
        assert!(answer.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(answer.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(answer.ends_with("\r\n\r\n"));
        assert!(!answer.contains("Protocol:"));
    }

    #[test]
    fn partial_until_complete() {
        let bytes = request(&good());
        assert_eq!(parse_request(&bytes[..bytes.len() - 1]).unwrap(), None);
    }

    #[test]
    fn refusals() {
        let post = String::from_utf8(request(&good()))
            .unwrap()
            .replacen("GET", "POST", 1);
        assert_eq!(status_of(post.as_bytes()), 400);
        let http10 = String::from_utf8(request(&good()))
            .unwrap()
            .replacen("HTTP/1.1", "HTTP/1.0", 1);
        assert_eq!(status_of(http10.as_bytes()), 400);
        assert_eq!(status_of(&request(&["Connection: close"])), 426);
        // Plain HTTP of any method or version, without upgrade headers: 426 (S8).
        assert_eq!(
            status_of(b"POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
            426
        );
        assert_eq!(status_of(b"GET / HTTP/1.0\r\n\r\n"), 426);
        let mut no_key = good();
        no_key.pop();
        assert_eq!(status_of(&request(&no_key)), 400);
        let mut short_key = good();
        short_key[3] = "Sec-WebSocket-Key: c2hvcnQ=";
        assert_eq!(status_of(&request(&short_key)), 400);
        let mut version = good();
        version[2] = "Sec-WebSocket-Version: 8";
        assert_eq!(status_of(&request(&version)), 400);
        let mut no_conn = good();
        no_conn.remove(1);
        assert_eq!(status_of(&request(&no_conn)), 400);
        assert_eq!(status_of(b"\x16\x03\x01garbage\r\n\r\n"), 400);
    }

    #[test]
    fn oversized_heads_are_431() {
        let big = format!("X-Pad: {}", "a".repeat(REQUEST_HEAD_MAX_BYTES));
        let mut lines = good();
        lines.push(&big);
        assert_eq!(status_of(&request(&lines)), 431);
        // Still incomplete but already too long: no need to wait for the end.
        let endless = format!(
            "GET / HTTP/1.1\r\nX: {}",
            "a".repeat(REQUEST_HEAD_MAX_BYTES + 1)
        );
        assert_eq!(status_of(endless.as_bytes()), 431);
        let many: Vec<String> = (0..REQUEST_HEADERS_MAX + 1)
            .map(|i| format!("X-{i}: 1"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(status_of(&request(&many)), 431);
    }

    #[test]
    fn subprotocol_selection_s8() {
        let mut lines = good();
        lines.push("Sec-WebSocket-Protocol: chat, superchat");
        let (req, _) = parse_request(&request(&lines)).unwrap().unwrap();
        assert_eq!(
            select_protocol(&req, Some("superchat")).as_deref(),
            Some("superchat")
        );
        assert_eq!(select_protocol(&req, Some("other")), None);
        assert_eq!(select_protocol(&req, Some("")), None);
        assert_eq!(select_protocol(&req, None), None);
        let answer = String::from_utf8(accept_response(&req, Some("chat"))).unwrap();
        assert!(answer.contains("\r\nSec-WebSocket-Protocol: chat\r\n"));
        let (plain, _) = parse_request(&request(&good())).unwrap().unwrap();
        assert_eq!(select_protocol(&plain, Some("chat")), None);
    }

    #[test]
    fn rejection_bytes() {
        let r = String::from_utf8(rejection_response(426)).unwrap();
        assert!(r.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(r.contains("Upgrade: websocket\r\n"));
        let r = String::from_utf8(rejection_response(403)).unwrap();
        assert!(r.starts_with("HTTP/1.1 403 Forbidden\r\n"));
        assert!(r.ends_with("\r\n\r\n"));
    }
}
