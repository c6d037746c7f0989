//! The client's side of the upgrade handshake, as pure functions over bytes:
//! the request (R23, R26, R33, R38), the response parse and its validation (R24, R34),
//! and the header view handed to `headerReceive` (R56).
//!
//! We do the handshake ourselves instead of through tungstenite's because OH's rules
//! differ from tungstenite's: a server that omits `Sec-WebSocket-Protocol` after one was
//! offered is accepted (R34), the reason phrase is reported (R57), and the status of a
//! refused upgrade becomes the `error` event's `data` (R64).

use crate::engine::handshake::{canonical_reason, header, is_token, lists_token};
use crate::engine::url::Target;
use crate::errors::ClientError;

/// Most response headers we accept before calling the response malformed.
const RESPONSE_HEADERS_MAX: usize = 128;

/// What the request carries besides what the URL implies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// User headers in call order, names as given (R26).
    pub headers: Vec<(String, String)>,
    /// `Sec-WebSocket-Protocol` offer; `None` or empty sends nothing (R33).
    pub protocol: Option<String>,
    /// Append a non-default port to `Origin` (R37, R38).
    pub support_origin_port: bool,
}

/// Headers the handshake owns; a user value for them is ignored (R26 [NODE]).
const RESERVED_HEADERS: [&str; 5] = [
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
];

/// Headers whose generated value a user value replaces (R26 [NODE]).
const REPLACEABLE_HEADERS: [&str; 3] = ["host", "origin", "sec-websocket-protocol"];

/// R26: lower-cased names, empty values dropped, later duplicates win, no header
/// injection (names must be tokens, values free of CR, LF and NUL).
pub fn sanitise_user_headers(raw: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(raw.len());
    for (name, value) in raw {
        let name = name.to_ascii_lowercase();
        if value.is_empty() || !is_token(&name) || value.contains(['\r', '\n', '\0']) {
            continue;
        }
        if RESERVED_HEADERS.contains(&name.as_str()) {
            continue;
        }
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value.clone(),
            None => out.push((name, value.clone())),
        }
    }
    out
}

fn user_value(user: &[(String, String)], name: &str) -> Option<String> {
    user.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// The subprotocol offer actually sent: a user `sec-websocket-protocol` header wins over
/// the `protocol` option (R26, R33); the response is checked against this (R34).
/// A `protocol` value with CR, LF or NUL is not sent, like such header values (R26
/// [NODE]): otherwise it could inject header lines (found by fuzzing).
pub fn offered_protocol(opts: &RequestOptions) -> Option<String> {
    user_value(
        &sanitise_user_headers(&opts.headers),
        "sec-websocket-protocol",
    )
    .or_else(|| {
        opts.protocol
            .clone()
            .filter(|p| !p.is_empty() && !p.contains(['\r', '\n', '\0']))
    })
}

/// Builds the upgrade request bytes (R23) for `key` (a fresh `Sec-WebSocket-Key`).
pub fn build_request(target: &Target, opts: &RequestOptions, key: &str) -> Vec<u8> {
    let user = sanitise_user_headers(&opts.headers);
    let host = user_value(&user, "host").unwrap_or_else(|| target.host_header());
    let origin =
        user_value(&user, "origin").unwrap_or_else(|| target.origin(opts.support_origin_port));
    let protocol = offered_protocol(opts);

    let mut req = String::with_capacity(256);
    req.push_str("GET ");
    req.push_str(&target.request_target);
    req.push_str(" HTTP/1.1\r\nHost: ");
    req.push_str(&host);
    req.push_str("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    req.push_str(key);
    req.push_str("\r\nSec-WebSocket-Version: 13\r\nOrigin: ");
    req.push_str(&origin);
    if let Some(p) = &protocol {
        req.push_str("\r\nSec-WebSocket-Protocol: ");
        req.push_str(p);
    }
    for (name, value) in &user {
        if REPLACEABLE_HEADERS.contains(&name.as_str()) {
            continue;
        }
        req.push_str("\r\n");
        req.push_str(name);
        req.push_str(": ");
        req.push_str(value);
    }
    req.push_str("\r\n\r\n");
    req.into_bytes()
}

/// A parsed HTTP response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Numeric status.
    pub status: u16,
    /// Reason phrase as sent, or the canonical one when the server sent none (R57).
    pub reason: String,
    /// Headers in wire order, names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl ResponseHead {
    fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

fn malformed(detail: &str) -> ClientError {
    ClientError::ConnectFailed {
        status: None,
        detail: format!("malformed handshake response: {detail}"),
    }
}

/// Parses a response head from the start of `buf`. `Ok(None)` means more bytes are
/// needed; `Ok(Some((head, used)))` says how many bytes the head took (the rest are
/// already WebSocket frames).
pub fn parse_response(buf: &[u8]) -> Result<Option<(ResponseHead, usize)>, ClientError> {
    let mut storage = [httparse::EMPTY_HEADER; RESPONSE_HEADERS_MAX];
    let mut response = httparse::Response::new(&mut storage);
    let used = match response.parse(buf) {
        Ok(httparse::Status::Partial) => return Ok(None),
        Ok(httparse::Status::Complete(n)) => n,
        Err(e) => return Err(malformed(&e.to_string())),
    };
    let status = response.code.ok_or_else(|| malformed("no status"))?;
    let reason = match response.reason {
        Some(r) if !r.is_empty() => r.to_string(),
        _ => canonical_reason(status).to_string(),
    };
    let headers = response
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    Ok(Some((
        ResponseHead {
            status,
            reason,
            headers,
        },
        used,
    )))
}

/// What a successful handshake established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Subprotocol the server selected, if any (R58).
    pub protocol: Option<String>,
}

/// R24/R34: a 101 with the right upgrade headers and accept key, and a subprotocol
/// (if any) among those offered.
pub fn validate_response(
    head: &ResponseHead,
    key: &str,
    offered_protocol: Option<&str>,
) -> Result<Accepted, ClientError> {
    let fail = |detail: &str| ClientError::ConnectFailed {
        status: Some(head.status),
        detail: detail.to_string(),
    };
    if head.status != 101 {
        return Err(fail("server did not switch protocols"));
    }
    let upgrade_ok = head
        .header("upgrade")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    if !upgrade_ok {
        return Err(fail("missing Upgrade: websocket"));
    }
    let connection_ok = head
        .header("connection")
        .is_some_and(|v| lists_token(v, "upgrade"));
    if !connection_ok {
        return Err(fail("missing Connection: Upgrade"));
    }
    let expected = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    if head.header("sec-websocket-accept").map(str::trim) != Some(expected.as_str()) {
        return Err(fail("Sec-WebSocket-Accept mismatch"));
    }
    if head.header("sec-websocket-extensions").is_some() {
        return Err(fail("server selected an extension that was not offered"));
    }
    let protocol = match head.header("sec-websocket-protocol").map(str::trim) {
        None | Some("") => None,
        Some(selected) => {
            let offered = offered_protocol.unwrap_or("");
            if !offered.split(',').any(|t| t.trim() == selected) {
                return Err(fail("server selected a subprotocol that was not offered"));
            }
            Some(selected.to_string())
        }
    };
    Ok(Accepted { protocol })
}

/// R56: headers for `headerReceive`, in first-seen order; repeated names joined with
/// `", "` except `set-cookie`, whose entries stay separate (JS makes them an array).
pub fn received_headers(head: &ResponseHead) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(head.headers.len());
    for (name, value) in &head.headers {
        if name == "set-cookie" {
            out.push((name.clone(), value.clone()));
            continue;
        }
        match out.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1.push_str(", ");
                slot.1.push_str(value);
            }
            None => out.push((name.clone(), value.clone())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::url::parse_target;

    fn request_text(url: &str, opts: &RequestOptions) -> String {
        String::from_utf8(build_request(&parse_target(url).unwrap(), opts, "KEY==")).unwrap()
    }

    #[test]
    fn request_has_r23_headers_in_order() {
        let text = request_text("ws://h:81/p?q", &RequestOptions::default());
        assert_eq!(
            text,
            "GET /p?q HTTP/1.1\r\nHost: h:81\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: KEY==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://h\r\n\r\n"
        );
    }

    #[test]
    fn user_headers_are_sanitised() {
        let opts = RequestOptions {
            headers: vec![
                ("X-A".into(), "1".into()),
                ("x-a".into(), "2".into()),
                ("Bad Name".into(), "v".into()),
                ("x-inject".into(), "v\r\nEvil: 1".into()),
                ("x-empty".into(), "".into()),
                ("Upgrade".into(), "h2c".into()),
                ("Host".into(), "other".into()),
                ("Origin".into(), "https://o".into()),
            ],
            protocol: Some("chat".into()),
            support_origin_port: false,
        };
        let text = request_text("ws://h", &opts);
        assert!(text.contains("\r\nHost: other\r\n"));
        assert!(text.contains("\r\nOrigin: https://o\r\n"));
        assert!(text.contains("\r\nSec-WebSocket-Protocol: chat\r\n"));
        assert!(text.contains("\r\nx-a: 2\r\n"));
        assert!(!text.contains("x-a: 1"));
        assert!(!text.contains("Evil") && !text.contains("Bad Name") && !text.contains("h2c"));
        assert!(!text.contains("x-empty"));
        let header_only = RequestOptions {
            headers: vec![("Sec-WebSocket-Protocol".into(), "v2".into())],
            protocol: Some("v1".into()),
            support_origin_port: false,
        };
        assert_eq!(offered_protocol(&header_only).as_deref(), Some("v2"));
        let injected = RequestOptions {
            protocol: Some("a\r\nX-Injected: 1".into()),
            ..RequestOptions::default()
        };
        assert_eq!(offered_protocol(&injected), None);
        let text = request_text("ws://h", &injected);
        assert!(!text.contains("X-Injected") && !text.contains("Sec-WebSocket-Protocol"));
    }

    fn head(status: u16, headers: &[(&str, &str)]) -> ResponseHead {
        ResponseHead {
            status,
            reason: "R".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn good(extra: &[(&'static str, &'static str)]) -> ResponseHead {
        let accept: &'static str = Box::leak(
            tokio_tungstenite::tungstenite::handshake::derive_accept_key(b"KEY==").into_boxed_str(),
        );
        let mut h = vec![
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-accept", accept),
        ];
        h.extend_from_slice(extra);
        head(101, &h)
    }

    #[test]
    fn validation() {
        assert!(validate_response(&good(&[]), "KEY==", None).is_ok());
        let err = validate_response(&head(404, &[]), "KEY==", None).unwrap_err();
        assert_eq!(err.event_data(), "404");
        assert!(validate_response(&good(&[]), "OTHER", None).is_err());
        // R34: omitted answer accepted, selected one reported, foreign one refused.
        assert_eq!(
            validate_response(&good(&[]), "KEY==", Some("a, b"))
                .unwrap()
                .protocol,
            None
        );
        let sel = good(&[("sec-websocket-protocol", "b")]);
        assert_eq!(
            validate_response(&sel, "KEY==", Some("a, b"))
                .unwrap()
                .protocol
                .as_deref(),
            Some("b")
        );
        assert!(validate_response(&sel, "KEY==", Some("a")).is_err());
        assert!(validate_response(&sel, "KEY==", None).is_err());
    }

    #[test]
    fn parse_partial_and_complete() {
        let raw = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-R: 1\r\nX-R: 2\r\n\r\n\x81\x00";
        assert_eq!(parse_response(&raw[..20]).unwrap(), None);
        let (h, used) = parse_response(raw).unwrap().unwrap();
        assert_eq!(used, raw.len() - 2);
        assert_eq!(h.reason, "Switching Protocols");
        let view = received_headers(&h);
        assert_eq!(view.iter().filter(|(n, _)| n == "set-cookie").count(), 2);
        assert!(view.contains(&("x-r".to_string(), "1, 2".to_string())));
        assert!(parse_response(b"garbage\r\n\r\n").is_err());
    }
}
