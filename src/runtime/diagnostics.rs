//! Connection lifecycle lines on stderr when `OHOS_WS_DEBUG=1` (issue #9): addresses,
//! proxy use, TLS version and cipher, handshake status, close codes, and the reason of
//! every `error` event. Through the `log` facade: when the variable is unset no logger
//! is installed, `log`'s level check is one relaxed atomic load, and no line is
//! formatted; nothing crosses to JS either way.

use std::io::Write;

use crate::constants::DEBUG_ENV;

/// The `log` target prefix of this crate: records from dependencies (rustls logs too)
/// are not ours to print.
const OWN_TARGET: &str = "ohos_net_websocket";

struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target().starts_with(OWN_TARGET)
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            // One write per line, so lines of concurrent connections do not interleave.
            let line = format!("ohos-ws: {}\n", record.args());
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }

    fn flush(&self) {}
}

static LOGGER: StderrLog = StderrLog;

/// Installs the stderr logger when `OHOS_WS_DEBUG` is `1` or `true`. Called once, when
/// the I/O runtime starts.
pub fn init() {
    let on = std::env::var(DEBUG_ENV).is_ok_and(|v| matches!(v.trim(), "1" | "true"));
    if on && log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
}

/// `make()` when diagnostics are on, else an empty string: labels for log lines cost
/// nothing per connection when nobody reads them.
pub fn label(make: impl FnOnce() -> String) -> String {
    if log::log_enabled!(log::Level::Debug) {
        make()
    } else {
        String::new()
    }
}
