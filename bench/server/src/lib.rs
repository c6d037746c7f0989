//! What the bench's Rust programs share: `key=value` arguments, errors, JSON strings
//! and the payloads every client sends.

use std::collections::HashMap;
use std::error::Error;
use std::fmt::Write as _;
use std::str::FromStr;

use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};

/// Any error, reported as the run's `error` field.
pub type BoxError = Box<dyn Error + Send + Sync>;
/// A result with any error.
pub type Outcome<T> = Result<T, BoxError>;

/// `key=value` arguments (no quoting rules: values are numbers or paths).
pub struct Params(HashMap<String, String>);

impl Params {
    /// The arguments after the program's own.
    pub fn parse(args: impl Iterator<Item = String>) -> Outcome<Self> {
        let mut map = HashMap::new();
        for arg in args {
            let (k, v) = arg
                .split_once('=')
                .ok_or_else(|| format!("argument {arg:?} is not key=value"))?;
            map.insert(k.to_owned(), v.to_owned());
        }
        Ok(Params(map))
    }

    /// `name`'s value, or `default` when absent.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Outcome<T> {
        match self.0.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("bad value {v:?} for {name}").into()),
        }
    }

    /// `name`'s value if given.
    pub fn optional<T: FromStr>(&self, name: &str) -> Outcome<Option<T>> {
        self.0
            .get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| format!("bad value {v:?} for {name}").into())
            })
            .transpose()
    }

    /// `name`'s value, which must be given.
    pub fn required<T: FromStr>(&self, name: &str) -> Outcome<T> {
        let v = self.0.get(name).ok_or_else(|| format!("missing {name}="))?;
        v.parse()
            .map_err(|_| format!("bad value {v:?} for {name}").into())
    }
}

/// `s` as a JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One data message of `size` bytes ('x's, as the JS clients send).
pub fn payload(size: usize, binary: bool) -> Outcome<Message> {
    let bytes = Bytes::from(vec![b'x'; size]);
    Ok(if binary {
        Message::Binary(bytes)
    } else {
        Message::Text(Utf8Bytes::try_from(bytes)?)
    })
}
