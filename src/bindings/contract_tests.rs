//! The tables the JS layer shares with Rust, tied by test: the event kinds of a batch
//! (`runtime::core::events::kind`, `KIND` in `lib/events.js`) and the BusinessError
//! codes and messages (`errors`, `ERRORS` in `lib/errors.js`). Each side is read as
//! text, so a kind or an error added on one side only fails here.

use std::collections::BTreeMap;

use crate::errors::{ClientError, ServerError};
use crate::runtime::core::events::kind;

fn read(relative: &str) -> String {
    let path = format!("{}/{relative}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The text between `start` and the next `end` after it.
fn section<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start:?}")) + start.len();
    let len = text[from..]
        .find(end)
        .unwrap_or_else(|| panic!("no {end:?}"));
    &text[from..from + len]
}

/// `NAME: 12,` lines (JS) or `pub const NAME: u32 = 12;` lines (Rust).
fn numbered(text: &str) -> BTreeMap<String, u32> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim().trim_start_matches("pub const ");
            let (name, rest) = line.split_once(':')?;
            let value = rest.rsplit(['=', ' ']).next()?;
            let value = value.trim_end_matches([',', ';']).parse().ok()?;
            Some((name.trim().to_string(), value))
        })
        .collect()
}

#[test]
fn event_kinds_are_the_same_in_rust_and_js() {
    let rust = numbered(section(
        &read("src/runtime/core/events.rs"),
        "pub mod kind {",
        "\n}",
    ));
    let js = numbered(section(
        &read("lib/events.js"),
        "const KIND = Object.freeze({",
        "});",
    ));
    assert!(rust.len() >= 15, "parsed {rust:?}");
    assert_eq!(rust, js, "events.rs `kind` vs lib/events.js KIND");
    // The parse read the real values.
    assert_eq!(rust["TEXT"], kind::TEXT);
    assert_eq!(rust["LARGE_BINARY"], kind::LARGE_BINARY);
}

/// `[code, 'message']` rows of lib/errors.js.
fn js_errors() -> Vec<(i32, String)> {
    let text = read("lib/errors.js");
    section(&text, "const ERRORS = Object.freeze({", "});")
        .lines()
        .filter_map(|line| {
            let row = line.split_once('[')?.1.rsplit_once(']')?.0;
            let (code, message) = row.split_once(',')?;
            let message = message.trim().trim_matches(['\'', '"']);
            Some((code.trim().parse().ok()?, message.to_string()))
        })
        .collect()
}

/// One value of every variant: a variant added without a row here fails to compile.
fn every_client_error() -> Vec<ClientError> {
    let all = vec![
        ClientError::InvalidUrl(String::new()),
        ClientError::EmptyHost,
        ClientError::CertificateFileMissing(String::new()),
        ClientError::ConnectFailed {
            status: None,
            detail: String::new(),
        },
        ClientError::LinkDown(String::new()),
    ];
    for e in &all {
        match e {
            ClientError::InvalidUrl(_)
            | ClientError::EmptyHost
            | ClientError::CertificateFileMissing(_)
            | ClientError::ConnectFailed { .. }
            | ClientError::LinkDown(_) => {}
        }
    }
    all
}

fn every_server_error() -> Vec<ServerError> {
    let all = vec![
        ServerError::InvalidAddress(String::new()),
        ServerError::InvalidPort(String::new()),
        ServerError::CertificateFileMissing(String::new()),
        ServerError::AddressInUse(String::new()),
        ServerError::Internal(String::new()),
    ];
    for e in &all {
        match e {
            ServerError::InvalidAddress(_)
            | ServerError::InvalidPort(_)
            | ServerError::CertificateFileMissing(_)
            | ServerError::AddressInUse(_)
            | ServerError::Internal(_) => {}
        }
    }
    all
}

#[test]
fn every_business_error_rust_reports_is_a_row_of_the_js_table() {
    let js = js_errors();
    assert!(js.len() >= 12, "parsed {js:?}");
    let rust = every_client_error()
        .into_iter()
        .map(|e| (e.code(), e.message()))
        .chain(
            every_server_error()
                .into_iter()
                .map(|e| (e.code(), e.message())),
        );
    for (code, message) in rust {
        assert!(
            js.iter().any(|(c, m)| *c == code && m == message),
            "[{code}, {message:?}] is missing from lib/errors.js"
        );
    }
}
