//! Server bindings: `startServer` and the `NativeServer` that `lib/server.js` drives.
//! Connections are named by the ids their events carry; sends go straight to the
//! connection's outbox (or through its write-through gate), and the connections a JS
//! tick sent to are woken once, by `flush`, at the end of the tick.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;

use napi::bindgen_prelude::{ArrayBuffer, BufferSlice, Either};
use napi::Env;
use napi_derive::napi;

use crate::bindings::{event_queue, Delivery, LargeValue, NativeError, OnBatch};
use crate::engine::server_config::RawServerConfig;
use crate::errors::ServerError;
use crate::runtime::core::command::{Command, Payload};
use crate::runtime::core::outbox::Outbox;
use crate::runtime::js_thread::Home;
use crate::runtime::server::{self, CertPaths, Server, StartConfig};

/// `WebSocketServerConfig` as `lib/server.js` read it (S4).
#[napi(object)]
pub struct NativeServerOptions {
    /// `serverIP` if it was a string.
    pub server_ip: Option<String>,
    /// `serverPort` after `ToUint32`.
    pub server_port: u32,
    /// `maxConcurrentClientsNumber` if it was a number.
    pub max_clients: Option<f64>,
    /// `maxConnectionsForOneClient` if it was a number.
    pub max_per_client: Option<f64>,
    /// `serverCert.certPath` (non-strings read as `''`).
    pub cert_path: Option<String>,
    /// `serverCert.keyPath`.
    pub key_path: Option<String>,
    /// `protocol` if it was a string.
    pub protocol: Option<String>,
}

/// The listening address (S22), shaped like Node's `net.Server#address()`.
#[napi(object)]
pub struct NativeAddress {
    /// Textual IP.
    pub address: String,
    /// `'IPv4'` or `'IPv6'`.
    pub family: String,
    /// Bound port.
    pub port: u32,
}

/// A started server as seen from JS.
#[napi]
pub struct NativeServer {
    server: Server,
    delivery: Delivery,
    /// Outboxes sent to this tick without a wake-up yet (see `Outbox::push`).
    dirty: RefCell<Vec<Arc<Outbox>>>,
}

impl Drop for NativeServer {
    /// JS no longer references the server: after `STOPPED` (a no-op then) or at
    /// environment teardown (everything must end).
    fn drop(&mut self) {
        self.server.detach();
    }
}

#[napi]
impl NativeServer {
    /// One registry lookup per send: write-through when asked and possible, else queued
    /// (the connection's outbox joins the tick's wake-up list). A connection that has
    /// just ended drops the frame (R45: its send already succeeded). `true` = written
    /// directly.
    fn send(&self, id: u32, payload: Payload<'_>, direct: bool) -> bool {
        let Some(conn) = self.server.connection(id) else {
            return false;
        };
        if direct && conn.direct.try_send(&payload, &conn.outbox) {
            return true;
        }
        if conn
            .outbox
            .push(Command::Frame(conn.direct.encode(&payload)))
        {
            self.dirty.borrow_mut().push(conn.outbox);
        }
        false
    }

    /// Sends a text frame to connection `id` (S14). With `direct`, a small frame on an
    /// idle plain-TCP connection is written right here (`true`); otherwise it is queued
    /// for the next [`NativeServer::flush`].
    #[napi(catch_unwind)]
    pub fn send_text(&self, id: u32, data: String, direct: bool) -> bool {
        self.send(id, Payload::Text(data), direct)
    }

    /// Sends a binary frame with a copy of the bytes (R43, S14); see `send_text`.
    #[napi(catch_unwind)]
    pub fn send_binary(&self, id: u32, data: ArrayBuffer, direct: bool) -> bool {
        self.send(id, Payload::Binary(&data), direct)
    }

    /// Copies the events ready for JS, across connections, into `into`; see
    /// `Delivery::take`.
    #[napi(catch_unwind)]
    pub fn take_events(&self, mut into: BufferSlice<'_>) -> i64 {
        self.delivery.take(&mut into)
    }

    /// The next out-of-band message (`LARGE_TEXT` / `LARGE_BINARY`) of the batch just
    /// taken, in order.
    #[napi(catch_unwind)]
    pub fn take_large<'env>(&self, env: &'env Env) -> napi::Result<LargeValue<'env>> {
        self.delivery.take_large(env)
    }

    /// Wakes every connection sent to since the last flush, once each.
    #[napi(catch_unwind)]
    pub fn flush(&self) {
        for outbox in self.dirty.borrow_mut().drain(..) {
            outbox.wake();
        }
    }

    /// Starts the closing handshake of connection `id` (S15, R47/R48).
    #[napi(catch_unwind)]
    pub fn close(&self, id: u32, code: Option<f64>, reason: Option<String>) {
        if let Some(conn) = self.server.connection(id) {
            conn.outbox.push(Command::Close { code, reason });
            conn.outbox.wake();
        }
    }

    /// JS has handled the batch in which connection `id` asked for it (ACK_REQUEST).
    #[napi(catch_unwind)]
    pub fn ack(&self, id: u32) {
        if let Some(conn) = self.server.connection(id) {
            conn.outbox.push(Command::Ack);
            conn.outbox.wake();
        }
    }

    /// S6: begins the stop; the `STOPPED` event ends it.
    #[napi(catch_unwind)]
    pub fn stop(&self) {
        self.flush();
        self.server.stop();
    }

    /// The listening address (S22).
    #[napi(catch_unwind)]
    pub fn address(&self) -> NativeAddress {
        let addr = self.server.local_addr();
        NativeAddress {
            address: addr.ip().to_string(),
            family: if addr.is_ipv4() { "IPv4" } else { "IPv6" }.to_string(),
            port: u32::from(addr.port()),
        }
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.is_empty())
}

/// S4 (after JS's S3 checks), then listens. `on_batch()` is called when events of any
/// connection are ready; JS takes them, across connections, with `takeEvents()`.
#[napi(catch_unwind)]
pub fn start_server(
    opts: NativeServerOptions,
    on_batch: OnBatch<'_>,
) -> napi::Result<Either<NativeServer, NativeError>> {
    let config = StartConfig {
        raw: RawServerConfig {
            server_ip: opts.server_ip,
            server_port: opts.server_port,
            max_clients: opts.max_clients,
            max_per_client: opts.max_per_client,
        },
        cert: non_empty(opts.cert_path).map(|cert| CertPaths {
            cert_path: PathBuf::from(cert),
            key_path: PathBuf::from(opts.key_path.unwrap_or_default()),
        }),
        protocol: non_empty(opts.protocol),
    };
    let runtime = match crate::runtime::runtime() {
        Ok(rt) => rt,
        Err(e) => return Ok(Either::B(ServerError::Internal(e).into())),
    };
    // A server stays on the I/O thread by default: fan-out to many connections runs at
    // half the rate on the JS thread (A/B numbers in `runtime::js_thread`).
    let (queue, delivery, handovers) = event_queue(on_batch, Home::IoThread)?;
    match server::start(runtime, config, queue.clone(), handovers) {
        Ok(server) => Ok(Either::A(NativeServer {
            server,
            delivery,
            dirty: RefCell::new(Vec::new()),
        })),
        Err(e) => {
            // Nothing will ever be delivered: release the threadsafe function now.
            queue.close();
            Ok(Either::B(e.into()))
        }
    }
}
