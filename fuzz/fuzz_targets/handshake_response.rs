//! The upgrade response path: `parse_response`, then on a complete head
//! `validate_response` (with and without a subprotocol offer) and `received_headers`.
//!
//! Invariants:
//! - never panics;
//! - on `Ok(Some((head, used)))`: `0 < used <= input.len()`; the head alone
//!   (`input[..used]`) parses to the same head and `used`; one byte less is not a
//!   complete head (the runtime reads the head incrementally, so the answer must not
//!   depend on where the bytes were split);
//! - `validate_response` accepts only a 101, and the subprotocol it reports is one of
//!   those offered (none when nothing was offered);
//! - `received_headers` keeps every `set-cookie` entry, merges every other repeated
//!   name into one entry, and keeps names lower-case.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ohos_net_websocket::engine::handshake::{parse_response, received_headers, validate_response};

/// RFC 6455 §1.3 sample key; its accept value is `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const OFFER: &str = "chat, superchat";

fuzz_target!(|data: &[u8]| {
    let (head, used) = match parse_response(data) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return,
        Err(e) => {
            let _ = (e.code(), e.event_data(), e.to_string());
            return;
        }
    };
    assert!(
        used > 0 && used <= data.len(),
        "used {used} of {}",
        data.len()
    );

    match parse_response(&data[..used]) {
        Ok(Some((again, again_used))) => {
            assert_eq!(again_used, used, "head alone parses to another length");
            assert_eq!(again, head, "head alone parses differently");
        }
        other => panic!("head alone does not parse: {other:?}"),
    }
    assert!(
        !matches!(parse_response(&data[..used - 1]), Ok(Some(_))),
        "a shorter prefix is already a complete head"
    );

    for offered in [None, Some(OFFER)] {
        if let Ok(accepted) = validate_response(&head, KEY, offered) {
            assert_eq!(head.status, 101, "accepted a non-101 response");
            if let Some(p) = &accepted.protocol {
                let offered = offered.unwrap_or("");
                assert!(
                    offered.split(',').any(|o| o.trim() == p),
                    "accepted protocol {p:?} not in offer {offered:?}"
                );
            }
        }
    }
    // A different key must never validate (the accept check is not bypassable).
    if head
        .headers
        .iter()
        .any(|(n, _)| n == "sec-websocket-accept")
    {
        assert!(
            validate_response(&head, "AAAAAAAAAAAAAAAAAAAAAA==", None).is_err()
                || validate_response(&head, KEY, None).is_err()
        );
    }

    let view = received_headers(&head);
    let cookies_in = head
        .headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .count();
    let cookies_out = view.iter().filter(|(n, _)| n == "set-cookie").count();
    assert_eq!(cookies_in, cookies_out, "set-cookie entries lost or merged");
    for (i, (name, _)) in view.iter().enumerate() {
        assert_eq!(
            *name,
            name.to_ascii_lowercase(),
            "header name not lower-case"
        );
        if name != "set-cookie" {
            assert!(
                !view[i + 1..].iter().any(|(n, _)| n == name),
                "repeated header {name:?} not merged"
            );
        }
    }
    for (name, _) in &head.headers {
        assert!(
            view.iter().any(|(n, _)| n == name),
            "header {name:?} dropped"
        );
    }
});
