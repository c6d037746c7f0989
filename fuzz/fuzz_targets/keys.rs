//! `runtime::keys::load_private_key(pem, password)` on arbitrary bytes (the client key
//! file of R28 and its `keyPassword`).
//!
//! Input layout: the first byte picks the password (`0` → empty, `1` → `"fuzz"`, the
//! password of the encrypted seeds, anything else → `"wrong"`); the rest is the file.
//!
//! Invariants:
//! - never panics (and never aborts: a key file must not take the process down);
//! - a file with no `-----BEGIN … PRIVATE KEY-----` line is `Err(NoKey)` (or
//!   `Malformed` when it is not UTF-8): garbage is never a key;
//! - an encrypted key with an empty password is an error.
//!
//! Not asserted: a plain (`PRIVATE KEY`, unencrypted `RSA`/`EC PRIVATE KEY`) block is
//! returned without a DER check, so a well-framed block with a garbage body is `Ok`;
//! rustls rejects it later when the client config is built (see README.md).

#![no_main]

use libfuzzer_sys::fuzz_target;
use ohos_net_websocket::runtime::keys::{load_private_key, KeyError};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, pem)) = data.split_first() else {
        return;
    };
    let password = match selector {
        0 => "",
        1 => "fuzz",
        _ => "wrong",
    };
    let result = load_private_key(pem, password);
    if let Err(e) = &result {
        let _ = e.to_string();
    }

    let Ok(text) = std::str::from_utf8(pem) else {
        assert!(
            matches!(result, Err(KeyError::Malformed(_))),
            "non-UTF-8 file gave {result:?}"
        );
        return;
    };
    let has_begin = text.lines().any(|l| {
        l.trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|r| r.strip_suffix("-----"))
            .is_some_and(|label| label.ends_with("PRIVATE KEY"))
    });
    if !has_begin {
        assert_eq!(result, Err(KeyError::NoKey), "a file without a key block");
        return;
    }
    if password.is_empty() {
        let encrypted = text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
            && !text.contains("-----BEGIN PRIVATE KEY-----")
            && !text.contains("-----BEGIN RSA PRIVATE KEY-----")
            && !text.contains("-----BEGIN EC PRIVATE KEY-----");
        if encrypted {
            // The first key block is the encrypted one: no password, no key.
            assert!(result.is_err(), "encrypted key loaded without a password");
        }
    }
});
