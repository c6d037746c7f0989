//! Client bindings: `connect` and the `NativeConnection` JS drives with
//! `send`/`close`. Argument shapes and BusinessError objects are the hand-written JS
//! layer's job (`lib/websocket.js`).

use std::path::PathBuf;
use std::sync::Arc;

use napi::bindgen_prelude::{ArrayBuffer, BufferSlice, Either};
use napi::Env;
use napi_derive::napi;

use crate::bindings::{event_queue, Delivery, LargeValue, NativeError, OnBatch};
use crate::engine::handshake::RequestOptions;
use crate::engine::heartbeat;
use crate::engine::proxy::{HttpProxy, ProxySetting};
use crate::engine::url::parse_target;
use crate::errors::ClientError;
use crate::runtime::client::connection::{self, ConnectConfig};
use crate::runtime::client::tls::{ClientCertPaths, TlsOptions};
use crate::runtime::core::command::{Command, Payload};
use crate::runtime::core::direct::DirectWriter;
use crate::runtime::core::outbox::Outbox;
use crate::runtime::js_thread::Home;

/// Options already shape-checked by `lib/options.js` (R15, R26–R38).
#[napi(object)]
pub struct NativeConnectOptions {
    /// The URL exactly as passed to `connect`.
    pub url: String,
    /// User headers as a flat `[name, value, name, value, …]` list (R26).
    pub headers: Vec<String>,
    /// `Sec-WebSocket-Protocol` offer (R33).
    pub protocol: Option<String>,
    /// Trust-anchor PEM file (R27).
    pub ca_path: Option<String>,
    /// Client certificate chain (R28).
    pub cert_path: Option<String>,
    /// Client private key (R28).
    pub key_path: Option<String>,
    /// Client key password (R28).
    pub key_password: Option<String>,
    /// R29.
    pub skip_server_cert_verification: bool,
    /// R35, after `ToUint32`; `None` when not a number.
    pub ping_interval: Option<u32>,
    /// R35, after `ToUint32`; `None` when not a number.
    pub pong_timeout: Option<u32>,
    /// R36: `minSupportTlsProtocol === TLS_V_1_3`.
    pub tls13_only: bool,
    /// R37.
    pub support_origin_port: bool,
    /// R30–R32.
    pub proxy: NativeProxyOptions,
}

/// The `proxy` option (R30–R32); for `'system'` JS passes the environment's values.
#[napi(object)]
pub struct NativeProxyOptions {
    /// `'system'`, `'no-proxy'` or `'http'`.
    pub mode: String,
    /// HttpProxy.host.
    pub host: Option<String>,
    /// HttpProxy.port (already range-checked).
    pub port: Option<u32>,
    /// HttpProxy.exclusionList (strings only).
    pub exclusion_list: Option<Vec<String>>,
    /// HttpProxy.username.
    pub username: Option<String>,
    /// HttpProxy.password.
    pub password: Option<String>,
    /// `HTTP_PROXY` / `http_proxy`.
    pub http_proxy: Option<String>,
    /// `HTTPS_PROXY` / `https_proxy`.
    pub https_proxy: Option<String>,
    /// `NO_PROXY` / `no_proxy`.
    pub no_proxy: Option<String>,
}

fn proxy_from(p: NativeProxyOptions) -> ProxySetting {
    match p.mode.as_str() {
        "system" => ProxySetting::System {
            http_proxy: p.http_proxy,
            https_proxy: p.https_proxy,
            no_proxy: p.no_proxy,
        },
        "http" => ProxySetting::Http(HttpProxy {
            host: p.host.unwrap_or_default(),
            port: u16::try_from(p.port.unwrap_or(0)).unwrap_or(0),
            exclusion_list: p.exclusion_list.unwrap_or_default(),
            username: p.username.unwrap_or_default(),
            password: p.password.unwrap_or_default(),
        }),
        _ => ProxySetting::Direct,
    }
}

/// One connection attempt as seen from JS.
#[napi]
pub struct NativeConnection {
    outbox: Arc<Outbox>,
    direct: Arc<DirectWriter>,
    delivery: Delivery,
}

impl Drop for NativeConnection {
    /// Only happens once JS no longer references the connection: after its terminal
    /// event (the task is gone, this is a no-op) or at environment teardown (the task
    /// must stop).
    fn drop(&mut self) {
        self.outbox.detach();
    }
}

#[napi]
impl NativeConnection {
    /// Write-through when asked and possible (see `runtime::core::direct`), else queued
    /// without waking the task; `true` = written directly.
    fn send(&self, payload: Payload<'_>, direct: bool) -> bool {
        if direct && self.direct.try_send(&payload, &self.outbox) {
            return true;
        }
        self.outbox
            .push(Command::Frame(self.direct.encode(&payload)));
        false
    }

    /// Sends a text frame (R43). With `direct`, a small frame on an idle plain-TCP
    /// connection is written right here (returns `true`); otherwise it is queued without
    /// waking the task (returns `false`) and JS calls [`NativeConnection::flush`] once
    /// per tick.
    #[napi(catch_unwind)]
    pub fn send_text(&self, data: String, direct: bool) -> bool {
        self.send(Payload::Text(data), direct)
    }

    /// Sends a binary frame with a copy of the bytes (R43); see `send_text`.
    #[napi(catch_unwind)]
    pub fn send_binary(&self, data: ArrayBuffer, direct: bool) -> bool {
        self.send(Payload::Binary(&data), direct)
    }

    /// Copies the events ready for JS into `into`; see `Delivery::take`.
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

    /// Wakes the connection task for everything queued so far.
    #[napi(catch_unwind)]
    pub fn flush(&self) {
        // Read on this thread: write now rather than wake anything (TLS included).
        if !self.delivery.drive_now() {
            self.outbox.wake();
        }
    }

    /// Tells the task JS has handled the batch that asked for it (ACK_REQUEST).
    #[napi(catch_unwind)]
    pub fn ack(&self) {
        self.outbox.push(Command::Ack);
        self.outbox.wake();
    }

    /// Starts the closing handshake (R47–R50); wakes the task at once.
    #[napi(catch_unwind)]
    pub fn close(&self, code: Option<f64>, reason: Option<String>) {
        self.outbox.push(Command::Close { code, reason });
        self.outbox.wake();
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.is_empty())
}

fn config_from(opts: NativeConnectOptions) -> Result<ConnectConfig, ClientError> {
    let target = parse_target(&opts.url)?;
    let headers = opts
        .headers
        .chunks_exact(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect();
    let client_cert = non_empty(opts.cert_path).map(|cert| ClientCertPaths {
        cert_path: PathBuf::from(cert),
        key_path: PathBuf::from(opts.key_path.unwrap_or_default()),
        key_password: opts.key_password.unwrap_or_default(),
    });
    Ok(ConnectConfig {
        target,
        request: RequestOptions {
            headers,
            protocol: non_empty(opts.protocol),
            support_origin_port: opts.support_origin_port,
        },
        proxy: proxy_from(opts.proxy),
        tls: TlsOptions {
            ca_path: non_empty(opts.ca_path).map(PathBuf::from),
            client_cert,
            skip_verification: opts.skip_server_cert_verification,
            tls13_only: opts.tls13_only,
        },
        heartbeat: heartbeat::normalise(opts.ping_interval, opts.pong_timeout),
    })
}

/// Validates the URL (R16 steps 6–7) and starts the attempt. `on_batch()` is called
/// when events are ready; JS then takes them with `takeEvents()`.
#[napi(catch_unwind)]
pub fn connect(
    opts: NativeConnectOptions,
    on_batch: OnBatch<'_>,
) -> napi::Result<Either<NativeConnection, NativeError>> {
    let config = match config_from(opts) {
        Ok(c) => c,
        Err(e) => return Ok(Either::B(e.into())),
    };
    let runtime = crate::runtime::runtime().map_err(napi::Error::from_reason)?;
    // Read on the JS thread by default: a round trip then wakes one thread, not two (the
    // A/B numbers are in `runtime::js_thread`).
    let (queue, delivery, handovers) = event_queue(on_batch, Home::JsThread)?;
    let (outbox, direct) = connection::spawn(runtime, config, queue, handovers);
    Ok(Either::A(NativeConnection {
        outbox,
        direct,
        delivery,
    }))
}
