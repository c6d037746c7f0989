//! HTTP CONNECT proxy code (R30–R32):
//! - `parse_connect_response` on arbitrary bytes: never panics, `used <= len`, the head
//!   alone gives the same answer, and "need more bytes" only below the size limit;
//! - `excluded(list, host)` with fuzzed entries (inputs bounded by length, so the glob
//!   cannot blow up): `*` matches everything, matching is ASCII case-insensitive, an
//!   entry equal to the host matches it, and every glob entry agrees with a reference
//!   (dynamic-programming) glob matcher;
//! - `route_for` with a fuzzed `ProxySetting::System` (HTTP_PROXY / HTTPS_PROXY /
//!   NO_PROXY values) and `ProxySetting::Http`: a route has a non-empty host and a
//!   non-zero port, an env route has no credentials, a `*` in NO_PROXY means direct;
//!   the CONNECT request built for a route is one well-formed head (no injection).

#![no_main]

use libfuzzer_sys::fuzz_target;
use ohos_net_websocket::engine::proxy::{
    connect_request, excluded, parse_connect_response, route_for, HttpProxy, ProxyRoute,
    ProxySetting, CONNECT_RESPONSE_MAX_BYTES,
};
use ohos_net_websocket::engine::url::{parse_target, Target};

/// Bounds that keep one execution cheap (the glob is O(entry × host)).
const MAX_HOST: usize = 300;
const MAX_LIST_BYTES: usize = 4096;

const TARGETS: [&str; 6] = [
    "ws://a.test",
    "wss://www.example.com:8443/x",
    "ws://127.0.0.1:9000",
    "wss://[::1]/",
    "ws://printer.local",
    "wss://10.1.2.3",
];

/// Input layout: byte 0 picks the mode (`C`, `E`, `S`, `H`; any other byte maps onto
/// one of them); the rest is split into text fields at 0xFF (never part of UTF-8):
/// - `C` + raw bytes: a CONNECT response;
/// - `E` host 0xFF entry 0xFF entry ...: an exclusion list;
/// - `S` target 0xFF HTTP_PROXY 0xFF HTTPS_PROXY 0xFF NO_PROXY (a missing field is unset);
/// - `H` target 0xFF host 0xFF port 0xFF username 0xFF password 0xFF entry ...
///
/// A target that is not a valid URL picks one of `TARGETS` by its length.
enum Input<'a> {
    Connect(&'a [u8]),
    Excluded {
        host: String,
        list: Vec<String>,
    },
    System {
        target: String,
        http_proxy: Option<String>,
        https_proxy: Option<String>,
        no_proxy: Option<String>,
    },
    Http {
        target: String,
        host: String,
        port: u16,
        username: String,
        password: String,
        exclusion_list: Vec<String>,
    },
}

fn decode(data: &[u8]) -> Option<Input<'_>> {
    let (&mode, rest) = data.split_first()?;
    let mode = match mode {
        b'C' | b'E' | b'S' | b'H' => mode,
        other => b"CESH"[usize::from(other) % 4],
    };
    if mode == b'C' {
        return Some(Input::Connect(rest));
    }
    let fields: Vec<String> = rest
        .split(|&b| b == 0xFF)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let field = |i: usize| fields.get(i).cloned().unwrap_or_default();
    Some(match mode {
        b'E' => Input::Excluded {
            host: field(0),
            list: fields.iter().skip(1).cloned().collect(),
        },
        b'S' => Input::System {
            target: field(0),
            http_proxy: fields.get(1).cloned(),
            https_proxy: fields.get(2).cloned(),
            no_proxy: fields.get(3).cloned(),
        },
        _ => Input::Http {
            target: field(0),
            host: field(1),
            port: field(2).trim().parse().unwrap_or(3128),
            username: field(3),
            password: field(4),
            exclusion_list: fields.iter().skip(5).cloned().collect(),
        },
    })
}

fn target(text: &str) -> Option<Target> {
    if text.len() > MAX_HOST {
        return None;
    }
    parse_target(text)
        .ok()
        .or_else(|| parse_target(TARGETS[text.len() % TARGETS.len()]).ok())
}

/// Reference glob: `*` matches any run of bytes, everything else itself.
fn reference_glob(pattern: &[u8], text: &[u8]) -> bool {
    // m[j] = pattern[..i] matches text[..j]
    let mut m = vec![false; text.len() + 1];
    m[0] = true;
    for &pc in pattern {
        let mut next = vec![false; text.len() + 1];
        if pc == b'*' {
            let mut any = false;
            for j in 0..=text.len() {
                any |= m[j];
                next[j] = any;
            }
        } else {
            for j in 1..=text.len() {
                next[j] = m[j - 1] && text[j - 1] == pc;
            }
        }
        m = next;
    }
    m[text.len()]
}

fn strip_brackets(s: &str) -> &str {
    s.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(s)
}

fn check_connect_request(t: &Target, route: &ProxyRoute) {
    let Ok(text) = String::from_utf8(connect_request(t, route)) else {
        panic!("CONNECT request is not UTF-8");
    };
    assert_eq!(
        text.find("\r\n\r\n"),
        Some(text.len() - 4),
        "CONNECT head does not end at its only blank line: {text:?}"
    );
    let mut lines = text[..text.len() - 4].split("\r\n");
    let authority = format!("{}:{}", t.host_for_header(), t.port);
    assert_eq!(
        lines.next(),
        Some(format!("CONNECT {authority} HTTP/1.1").as_str())
    );
    for line in lines {
        assert!(!line.contains(['\r', '\n', '\0']), "CR/LF/NUL in {line:?}");
        let Some((name, value)) = line.split_once(": ") else {
            panic!("CONNECT header line is not `name: value`: {line:?}");
        };
        match name {
            "Host" => assert_eq!(value, authority),
            "Proxy-Authorization" => {
                assert_eq!(Some(value), route.authorization.as_deref());
                let b64 = value.strip_prefix("Basic ").unwrap_or("!");
                assert!(
                    b64.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)),
                    "Proxy-Authorization is not base64: {value:?}"
                );
            }
            _ => panic!("unexpected CONNECT header {line:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| match decode(data) {
    None => {}
    Some(input) => check(input),
});

fn check(input: Input<'_>) {
    match input {
        Input::Connect(buf) => match parse_connect_response(buf) {
            Ok(Some(used)) => {
                assert!(
                    used > 0 && used <= buf.len(),
                    "used {used} of {}",
                    buf.len()
                );
                assert_eq!(
                    parse_connect_response(&buf[..used]).ok(),
                    Some(Some(used)),
                    "the head alone gives another answer"
                );
            }
            Ok(None) => assert!(buf.len() <= CONNECT_RESPONSE_MAX_BYTES),
            Err(e) => {
                let _ = (e.code(), e.event_data(), e.to_string());
            }
        },

        Input::Excluded { list, host } => {
            if host.len() > MAX_HOST || list.iter().map(String::len).sum::<usize>() > MAX_LIST_BYTES
            {
                return;
            }
            let result = excluded(&list, &host);
            assert_eq!(
                result,
                list.iter()
                    .any(|e| excluded(std::slice::from_ref(e), &host)),
                "the list is not the union of its entries"
            );
            assert_eq!(
                excluded(&list, &host.to_ascii_uppercase()),
                result,
                "matching is not case-insensitive"
            );
            if list.iter().any(|e| e.trim() == "*") {
                assert!(result, "`*` did not match {host:?}");
            }
            let plain_host = !host.is_empty()
                && host.trim() == host
                && !host.starts_with('.')
                && strip_brackets(&host) == host;
            if plain_host {
                assert!(
                    excluded(std::slice::from_ref(&host), &host),
                    "an entry equal to the host does not match it: {host:?}"
                );
            }
            let lower_host = host.to_ascii_lowercase();
            for entry in &list {
                let e = strip_brackets(entry.trim()).to_ascii_lowercase();
                if e.contains('*') && e != "*" {
                    assert_eq!(
                        excluded(std::slice::from_ref(entry), &host),
                        reference_glob(e.as_bytes(), lower_host.as_bytes()),
                        "glob {e:?} vs {lower_host:?} disagrees with the reference"
                    );
                }
            }
        }

        Input::System {
            target: choice_text,
            http_proxy,
            https_proxy,
            no_proxy,
        } => {
            let too_long =
                |v: &Option<String>| v.as_ref().is_some_and(|s| s.len() > MAX_LIST_BYTES);
            if too_long(&http_proxy) || too_long(&https_proxy) || too_long(&no_proxy) {
                return;
            }
            let Some(t) = target(&choice_text) else {
                return;
            };
            let star = no_proxy
                .as_deref()
                .is_some_and(|n| n.split(',').any(|e| e.trim() == "*"));
            let none_set = [&http_proxy, &https_proxy]
                .iter()
                .all(|v| v.as_deref().unwrap_or("").is_empty());
            let setting = ProxySetting::System {
                http_proxy,
                https_proxy,
                no_proxy,
            };
            if let Some(route) = route_for(&setting, &t) {
                assert!(!star, "NO_PROXY=* but a route was chosen: {route:?}");
                assert!(!none_set, "no proxy variable set but a route was chosen");
                assert!(!route.host.is_empty(), "empty proxy host");
                assert!(route.port != 0, "proxy port 0");
                assert!(route.authorization.is_none(), "env proxy with credentials");
                assert!(
                    !route.host.contains(['/', '@', '?', '#']),
                    "proxy host {:?} holds URL delimiters",
                    route.host
                );
                check_connect_request(&t, &route);
            }
        }

        Input::Http {
            target: choice_text,
            host,
            port,
            exclusion_list,
            username,
            password,
        } => {
            if host.len() > MAX_HOST
                || username.len() + password.len() > MAX_LIST_BYTES
                || exclusion_list.iter().map(String::len).sum::<usize>() > MAX_LIST_BYTES
            {
                return;
            }
            let Some(t) = target(&choice_text) else {
                return;
            };
            let creds = !username.is_empty() && !password.is_empty();
            let setting = ProxySetting::Http(HttpProxy {
                host: host.clone(),
                port,
                exclusion_list: exclusion_list.clone(),
                username,
                password,
            });
            match route_for(&setting, &t) {
                Some(route) => {
                    assert!(!host.is_empty());
                    assert!(!excluded(&exclusion_list, &t.host));
                    assert_eq!(route.port, port);
                    assert_eq!(route.host, strip_brackets(&host));
                    assert_eq!(route.authorization.is_some(), creds);
                    check_connect_request(&t, &route);
                }
                None => assert!(host.is_empty() || excluded(&exclusion_list, &t.host)),
            }
        }
    }
}
