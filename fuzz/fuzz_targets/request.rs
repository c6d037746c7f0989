//! `engine::handshake::build_request` with fuzzed user headers (R26) and a fuzzed
//! `protocol` option (R33), for a fixed valid target.
//!
//! Invariants (header injection must be impossible):
//! - the bytes are UTF-8, end with `\r\n\r\n`, and that is the first `\r\n\r\n`;
//! - the first line is the request line; every other line is `name: value` with a
//!   token name and no CR, LF or NUL anywhere in the line;
//! - `Host`, `Upgrade`, `Connection`, `Sec-WebSocket-Key`, `Sec-WebSocket-Version` and
//!   `Origin` appear exactly once (case-insensitively), `Sec-WebSocket-Protocol` at
//!   most once, `Sec-WebSocket-Extensions` never; the handshake-owned ones carry their
//!   fixed values;
//! - every line comes from somewhere: a generated header with its expected value, or
//!   a user header whose name (lower-cased) and value are exactly one of the input
//!   pairs; the protocol line's value is the `protocol` option or a user value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ohos_net_websocket::engine::handshake::{build_request, RequestOptions};
use ohos_net_websocket::engine::url::parse_target;

const URL: &str = "ws://example.com:8080/chat?room=1";
const REQUEST_LINE: &str = "GET /chat?room=1 HTTP/1.1";
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Fields are separated by the byte 0xFF, which never occurs in UTF-8, so every field
/// can hold any text (CR, LF, NUL included). Field 0: a flags byte (bit 0:
/// `supportOriginPort`, bit 1: a `protocol` is given) followed by the protocol text;
/// then header name, value, name, value, ... (a trailing name gets an empty value).
struct Input {
    headers: Vec<(String, String)>,
    protocol: Option<String>,
    support_origin_port: bool,
}

fn decode(data: &[u8]) -> Input {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut fields = data.split(|&b| b == 0xFF);
    let first = fields.next().unwrap_or(&[]);
    let (flags, protocol) = match first.split_first() {
        Some((&f, rest)) => (f, text(rest)),
        None => (0, String::new()),
    };
    let rest: Vec<&[u8]> = fields.collect();
    let headers = rest
        .chunks(2)
        .map(|pair| {
            (
                text(pair[0]),
                pair.get(1).map(|v| text(v)).unwrap_or_default(),
            )
        })
        .collect();
    Input {
        headers,
        protocol: (flags & 2 != 0).then_some(protocol),
        support_origin_port: flags & 1 != 0,
    }
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `FUZZ_REQUEST_SKIP_BAD_PROTOCOL=1` drops a `protocol` holding CR, LF or NUL before
/// the call, so a run can explore the user-header path while the known protocol
/// injection (see README.md) is still open. Off by default: the plain run asserts it.
fn skip_bad_protocol() -> bool {
    static SKIP: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SKIP.get_or_init(|| {
        std::env::var_os("FUZZ_REQUEST_SKIP_BAD_PROTOCOL").is_some_and(|v| v == "1")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut input = decode(data);
    if skip_bad_protocol()
        && input
            .protocol
            .as_deref()
            .is_some_and(|p| p.contains(['\r', '\n', '\0']))
    {
        input.protocol = None;
    }
    let Ok(target) = parse_target(URL) else {
        panic!("fixed target {URL} does not parse");
    };
    let headers = input.headers;
    let opts = RequestOptions {
        headers: headers.clone(),
        protocol: input.protocol.clone(),
        support_origin_port: input.support_origin_port,
    };
    let bytes = build_request(&target, &opts, KEY);

    let Ok(text) = String::from_utf8(bytes) else {
        panic!("request is not UTF-8");
    };
    assert!(
        text.ends_with("\r\n\r\n"),
        "request does not end with CRLFCRLF: {text:?}"
    );
    assert_eq!(
        text.find("\r\n\r\n"),
        Some(text.len() - 4),
        "header block ends early (injected blank line): {text:?}"
    );
    let head = &text[..text.len() - 4];
    let mut lines = head.split("\r\n");
    assert_eq!(
        lines.next(),
        Some(REQUEST_LINE),
        "request line altered: {text:?}"
    );

    let user_value = |name: &str| -> Vec<&str> {
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let mut seen: Vec<String> = Vec::new();
    for line in lines {
        assert!(
            !line.contains(['\r', '\n', '\0']),
            "header line holds CR/LF/NUL: {line:?} in {text:?}"
        );
        let Some((name, value)) = line.split_once(": ") else {
            panic!("header line is not `name: value`: {line:?} in {text:?}");
        };
        assert!(
            is_token(name),
            "header name is not a token: {name:?} in {text:?}"
        );
        let lower = name.to_ascii_lowercase();
        assert!(
            !seen.contains(&lower),
            "header {name:?} appears twice in {text:?}"
        );
        seen.push(lower.clone());

        let ok = match name {
            "Host" => value == target.host_header() || user_value("host").contains(&value),
            "Origin" => {
                value == target.origin(input.support_origin_port)
                    || user_value("origin").contains(&value)
            }
            "Upgrade" => value == "websocket",
            "Connection" => value == "Upgrade",
            "Sec-WebSocket-Key" => value == KEY,
            "Sec-WebSocket-Version" => value == "13",
            "Sec-WebSocket-Protocol" => {
                input.protocol.as_deref() == Some(value)
                    || user_value("sec-websocket-protocol").contains(&value)
            }
            _ => {
                // A user header: lower-cased, never one the handshake owns or replaces,
                // and exactly one of the input pairs.
                name == lower
                    && ![
                        "host",
                        "origin",
                        "upgrade",
                        "connection",
                        "sec-websocket-key",
                        "sec-websocket-version",
                        "sec-websocket-protocol",
                        "sec-websocket-extensions",
                    ]
                    .contains(&name)
                    && headers
                        .iter()
                        .any(|(n, v)| n.to_ascii_lowercase() == name && v == value)
            }
        };
        assert!(
            ok,
            "header line {line:?} does not come from the input: {text:?}"
        );
    }
    for required in [
        "host",
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "origin",
    ] {
        assert!(
            seen.iter().any(|s| s == required),
            "{required} missing: {text:?}"
        );
    }
});
