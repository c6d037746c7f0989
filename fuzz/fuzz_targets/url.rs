//! `engine::url::parse_target` on arbitrary UTF-8 (the `url` argument of `connect`).
//!
//! Invariants on `Ok`:
//! - `request_target` starts with `/`, holds no `#`, no whitespace and no control
//!   character, and is ASCII (it goes on the request line verbatim);
//! - `host` is non-empty and `host_header()` / `origin()` hold no CR, LF or NUL;
//! - `port` is in 1–65535 and an omitted port gives the scheme default;
//! - `ip` agrees with `host` (an IP literal re-parses to the same address).
//!
//! Never panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ohos_net_websocket::engine::url::parse_target;

fn no_line_breaks(what: &str, s: &str) {
    assert!(
        !s.contains(['\r', '\n', '\0']),
        "{what} holds CR/LF/NUL: {s:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(t) = parse_target(input) else {
        return;
    };

    let rt = &t.request_target;
    assert!(
        rt.starts_with('/'),
        "request_target {rt:?} does not start with '/'"
    );
    assert!(!rt.contains('#'), "request_target {rt:?} holds a fragment");
    assert!(
        !rt.chars().any(|c| c.is_whitespace() || c.is_control()),
        "request_target {rt:?} holds whitespace or a control character"
    );
    assert!(rt.is_ascii(), "request_target {rt:?} is not ASCII");

    assert!(!t.host.is_empty(), "empty host for {input:?}");
    assert!(
        !t.host.chars().any(|c| c.is_whitespace() || c.is_control()),
        "host {:?} holds whitespace or a control character",
        t.host
    );
    no_line_breaks("host_header()", &t.host_header());
    no_line_breaks("origin(false)", &t.origin(false));
    no_line_breaks("origin(true)", &t.origin(true));

    assert!(t.port >= 1, "port 0 for {input:?}");
    assert_eq!(t.secure, input.starts_with("wss://"));
    if let Some(ip) = t.ip {
        assert_eq!(
            t.host.parse::<std::net::IpAddr>().ok(),
            Some(ip),
            "ip {ip:?} disagrees with host {:?}",
            t.host
        );
    }
});
