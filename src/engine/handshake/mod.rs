//! The HTTP/1.1 upgrade handshake as pure functions over bytes, one file per role:
//! [`client`] builds the request and checks the response, [`server`] checks a request
//! and builds the answer. What both read the same way lives here.

pub mod client;
pub mod server;

pub use client::*;

/// RFC 9110 `token` characters.
pub fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether a comma-separated header value (`Connection`, `Upgrade`,
/// `Sec-WebSocket-Protocol`) lists `token`, ASCII case-insensitively.
pub fn lists_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The value of header `name` (lower-case) in a list of lower-cased `(name, value)`.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The standard reason phrase of `status`, for a response that carries none (R57) and
/// for the answers the server writes; `""` when unknown.
pub fn canonical_reason(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}
