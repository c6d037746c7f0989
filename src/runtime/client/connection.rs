//! One client connection = one tokio task. This file runs the attempt (bounded by
//! R22) and reports its failure; the shared core (`runtime::core`) runs the open phase.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use std::future::Future;

use futures_util::FutureExt;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::engine::handshake::{received_headers, RequestOptions};
use crate::engine::heartbeat::Heartbeat;
use crate::engine::proxy::ProxySetting;
use crate::engine::session::{AfterHandshake, Outcome, Session};
use crate::engine::url::Target;
use crate::errors::ClientError;
use crate::runtime::client::stream;
use crate::runtime::client::tls::TlsOptions;
use crate::runtime::core::command::{Command, Outgoing};
use crate::runtime::core::direct::DirectWriter;
use crate::runtime::core::driver::{close_deadline, close_message, Start};
use crate::runtime::core::events::{Batch, EventQueue};
use crate::runtime::core::heartbeat::HeartbeatTimer;
use crate::runtime::core::open::{self, report_closed, report_panic, Handovers};
use crate::runtime::core::outbox::Outbox;
use crate::runtime::core::transport::MaybeTls;
use crate::runtime::diagnostics;

/// Everything a connection attempt needs, already validated.
#[derive(Debug, Clone)]
pub struct ConnectConfig {
    /// Where to connect.
    pub target: Target,
    /// Request headers and subprotocol offer.
    pub request: RequestOptions,
    /// Proxy choice (R30–R32).
    pub proxy: ProxySetting,
    /// TLS settings for `wss`.
    pub tls: TlsOptions,
    /// Ping/pong settings; `None` = disabled.
    pub heartbeat: Option<Heartbeat>,
}

/// Starts the attempt on `runtime`; events go to `queue`, commands come through the
/// returned outbox. Once open, the connection goes to `handovers` when given (the JS
/// thread polls it, `runtime::js_thread`), else its open phase runs on `runtime` too.
pub fn spawn(
    runtime: &tokio::runtime::Runtime,
    config: ConnectConfig,
    queue: Arc<EventQueue>,
    handovers: Option<Arc<Handovers>>,
) -> (Arc<Outbox>, Arc<DirectWriter>) {
    let opened = Arc::new(AtomicBool::new(false));
    let label = diagnostics::label(|| config.target.label());
    let panic_label = label.clone();
    let outbox = Arc::new(Outbox::default());
    let direct = Arc::new(DirectWriter::new(Role::Client));
    let task = run(
        Box::pin(attempt(
            label,
            config,
            outbox.clone(),
            direct.clone(),
            queue.clone(),
            opened.clone(),
        )),
        queue.clone(),
        handovers,
    );
    runtime.spawn(guarded(task, panic_label, queue, opened));
    (outbox, direct)
}

/// `task`, ending the connection with the usual events if it panics: a bug must not
/// leave JS waiting forever (and the process pinned by the threadsafe function).
///
/// A combinator, not an `async` block: a block that awaited `task` kept both the captured
/// future and the awaited one in its state, doubling every connection's task (measured:
/// `bench/README.md`, "Design measurements", D2).
fn guarded(
    task: impl Future<Output = ()>,
    label: String,
    queue: Arc<EventQueue>,
    opened: Arc<AtomicBool>,
) -> impl Future<Output = ()> {
    AssertUnwindSafe(task).catch_unwind().map(move |result| {
        if result.is_err() && !queue.is_closed() {
            if opened.load(Ordering::Acquire) {
                report_panic(&label, &queue, &mut Batch::default());
                queue.close();
            } else {
                let failure = ClientError::ConnectFailed {
                    status: None,
                    detail: "internal error".into(),
                };
                finish(
                    &label,
                    Outcome::Failed,
                    Some(&failure),
                    &queue,
                    &mut Batch::default(),
                );
            }
        }
    })
}

/// Terminal events for `outcome`, then the queue is closed (R61, R62, R21).
/// `failure` explains a failed attempt or an abnormal end.
fn finish(
    label: &str,
    outcome: Outcome,
    failure: Option<&ClientError>,
    queue: &EventQueue,
    local: &mut Batch,
) {
    match outcome {
        Outcome::Failed => {
            let status = match failure {
                Some(ClientError::ConnectFailed { status, .. }) => *status,
                _ => None,
            };
            let detail = failure.map(|e| e.to_string()).unwrap_or_default();
            log::debug!("{label}: error event: {detail}");
            local.failed(status, &detail);
            queue.submit(local);
        }
        Outcome::Closed(ending) => {
            let detail = match failure {
                Some(ClientError::LinkDown(d)) => d.clone(),
                other => other.map(|e| e.to_string()).unwrap_or_default(),
            };
            report_closed(label, &ending, &detail, queue, local);
        }
    }
    queue.close();
}

/// The whole connection: `attempt`, then the open phase. The attempt comes boxed and is
/// dropped once it is over: its state (the config, resolver, TLS handshake, response head
/// and buffers) would otherwise size this task for the whole connection (2,648 → 1,960
/// bytes; see the size test below).
async fn run<A: Future<Output = Option<Opened>>>(
    attempt: Pin<Box<A>>,
    queue: Arc<EventQueue>,
    handovers: Option<Arc<Handovers>>,
) {
    match attempt.await {
        Some(Opened {
            stream,
            leftover,
            start,
        }) => {
            // JS gone or not, nothing more will be delivered after the open phase:
            // release the threadsafe function then.
            let on_end = Box::new(move || queue.close());
            open::run(stream, leftover, Role::Client, start, handovers, on_end).await;
        }
        None => queue.close(),
    }
}

/// A connection whose handshake completed, ready for its open phase.
struct Opened {
    stream: MaybeTls,
    /// Bytes read past the handshake response.
    leftover: Vec<u8>,
    start: Start,
}

/// The attempt (R21, R22): connects, upgrades and delivers `open`, taking commands
/// meanwhile. `None` when it ended here (its terminal events are submitted, or JS is
/// gone).
async fn attempt(
    label: String,
    config: ConnectConfig,
    outbox: Arc<Outbox>,
    direct: Arc<DirectWriter>,
    queue: Arc<EventQueue>,
    opened: Arc<AtomicBool>,
) -> Option<Opened> {
    let mut session = Session::new();
    let mut local = Batch::default();
    let mut outgoing: VecDeque<Outgoing> = VecDeque::new();

    let deadline = Instant::now() + crate::runtime::handshake_timeout();
    // Boxed so that the select! below stays small to poll.
    let mut establish = Box::pin(async {
        let mut s =
            stream::open_stream(&config.target, &config.proxy, &config.tls, deadline).await?;
        let upgraded = stream::upgrade(&mut s, &config.target, &config.request).await?;
        Ok::<_, ClientError>((s, upgraded))
    });
    let timeout = tokio::time::sleep_until(deadline);
    tokio::pin!(timeout);
    let mut commands = Vec::new();
    let attempt = loop {
        tokio::select! {
            biased;
            result = &mut establish => break result,
            _ = &mut timeout => break Err(ClientError::ConnectFailed {
                status: None,
                detail: "handshake timed out".into(),
            }),
            alive = poll_fn(|cx| outbox.poll_take(cx, &mut commands)) => {
                if !alive {
                    // JS dropped the connection object (environment teardown): stop quietly.
                    queue.close();
                    return None;
                }
                for cmd in commands.drain(..) {
                    match cmd {
                        Command::Close { code, reason } => {
                            session.on_local_close(code, reason.as_deref());
                        }
                        data => {
                            if let Some(frame) = data.into_outgoing() {
                                outgoing.push_back(frame);
                            }
                        }
                    }
                }
            }
        }
    };
    drop(establish);
    let (stream, upgraded) = match attempt {
        Ok(ok) => ok,
        Err(e) => {
            finish(&label, session.finish(), Some(&e), &queue, &mut local);
            return None;
        }
    };
    opened.store(true, Ordering::Release);
    local.headers(&received_headers(&upgraded.head));
    let mut close_timer = None;
    match session.on_handshake_done() {
        AfterHandshake::DeliverOpen => {
            local.open(
                upgraded.head.status,
                &upgraded.head.reason,
                upgraded.protocol.as_deref(),
            );
        }
        AfterHandshake::SendClose { code, reason } => {
            outgoing.push_back(Outgoing::Control(close_message(code, reason)));
            close_timer = Some(close_deadline());
        }
    }
    if !queue.submit(&mut local) {
        return None;
    }
    let heartbeat = match (config.heartbeat, close_timer.is_none()) {
        (Some(hb), true) => Some(HeartbeatTimer::new(hb)),
        _ => None,
    };
    let start = Start {
        outbox,
        direct,
        queue: queue.clone(),
        session,
        local,
        outgoing,
        close_timer,
        heartbeat,
        label,
    };
    Some(Opened {
        stream,
        leftover: upgraded.leftover,
        start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::url::parse_target;
    use crate::runtime::core::events::Notifier;

    struct Nobody;
    impl Notifier for Nobody {
        fn notify(&self) -> bool {
            true
        }
    }

    #[test]
    fn an_open_connection_task_stays_small() {
        let config = ConnectConfig {
            target: parse_target("ws://127.0.0.1:9/").unwrap(),
            request: RequestOptions::default(),
            proxy: ProxySetting::default(),
            tls: TlsOptions::default(),
            heartbeat: None,
        };
        let queue = Arc::new(EventQueue::new(Box::new(Nobody)));
        let opened = Arc::new(AtomicBool::new(false));
        let task = run(
            Box::pin(attempt(
                String::new(),
                config,
                Arc::new(Outbox::default()),
                Arc::new(DirectWriter::new(Role::Client)),
                queue.clone(),
                opened.clone(),
            )),
            queue.clone(),
            None,
        );
        // What `spawn` hands tokio, which keeps it for the connection's life.
        let fut = guarded(task, String::new(), queue, opened);
        let bytes = std::mem::size_of_val(&fut);
        assert!(bytes < 2_500, "connection task future is {bytes} bytes");
    }
}
