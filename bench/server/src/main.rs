//! Benchmark peer for `npm run bench`: echo, push (source) and sink endpoints chosen by
//! the request path. It runs in its own process so that the client being measured never
//! shares an event loop with its peer, and it is written to stay well ahead of any client.
//!
//!   bench-server [--tls CERT.pem KEY.pem]
//!
//! Prints the bound port on stdout — with `--tls`, the plain port and the port of a second,
//! TLS (wss) listener with the same endpoints, on one line: `PORT TLS_PORT` — then serves
//! until killed. Both listen on 127.0.0.1 only.

use std::path::Path;
use std::sync::Arc;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::WebSocketStream;

/// A WebSocket over plain TCP or over TLS: every endpoint serves both alike.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send> Stream for S {}

/// Large buffers so one read syscall carries many frames and writes leave in big chunks;
/// the write threshold is what tungstenite fills before it writes to the socket by itself.
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(256 * 1024)
        .write_buffer_size(256 * 1024)
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20))
}

/// 2 000 simultaneous connects: tokio's default backlog (1024) would drop SYNs and turn
/// the "time to all open" of scenario (f) into a 1 s retransmit timer.
const LISTEN_BACKLOG: u32 = 8192;

fn listen() -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind("127.0.0.1:0".parse().unwrap())?;
    socket.listen(LISTEN_BACKLOG)
}

/// One worker: the client under test gets the rest of the (2-core) machine, and the
/// server cannot become a scheduling hog for the accept storm of scenario (f).
#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tls = match args.as_slice() {
        [] => None,
        [flag, cert, key] if flag == "--tls" => {
            Some(tls_acceptor(Path::new(cert), Path::new(key))?)
        }
        _ => return Err("usage: bench-server [--tls CERT.pem KEY.pem]".into()),
    };
    let listener = listen()?;
    let cfg = config();
    let port = listener.local_addr()?.port();
    match tls {
        None => {
            println!("{port}");
            accept_plain(listener, cfg).await?;
        }
        Some(acceptor) => {
            let tls_listener = listen()?;
            println!("{port} {}", tls_listener.local_addr()?.port());
            tokio::try_join!(
                accept_plain(listener, cfg),
                accept_tls(tls_listener, acceptor, cfg)
            )?;
        }
    }
    Ok(())
}

async fn accept_plain(listener: TcpListener, cfg: WebSocketConfig) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            report(serve(stream, cfg).await);
        });
    }
}

async fn accept_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    cfg: WebSocketConfig,
) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let acceptor = acceptor.clone();
        // The TLS handshake runs in the connection's task, not in this loop: a slow or
        // failing one holds up no other connection.
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let served = match acceptor.accept(stream).await {
                Ok(tls) => {
                    // Which TLS each client negotiates, and whether it resumes a session
                    // (which would make its handshakes in (h) cheaper than full ones).
                    if debug() {
                        let conn = tls.get_ref().1;
                        let version = conn.protocol_version();
                        let kind = conn.handshake_kind();
                        eprintln!("bench-server: tls {version:?} {kind:?}");
                    }
                    serve(tls, cfg).await
                }
                Err(e) => Err(e.into()),
            };
            report(served);
        });
    }
}

fn debug() -> bool {
    std::env::var_os("BENCH_SERVER_DEBUG").is_some()
}

/// A connection's failure (most often a client that went away) is only printed on request.
fn report(served: Result<(), BoxError>) {
    if let Err(e) = served {
        if debug() {
            eprintln!("bench-server: {e}");
        }
    }
}

/// The certificate chain and key of the wss listener (PEM; run.mjs makes a self-signed
/// pair per run). rustls's defaults otherwise: TLS 1.2 and 1.3, the in-memory session
/// cache and TLS 1.3 tickets that any real rustls server would offer for resumption.
fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, BoxError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &Path, e: rustls::pki_types::pem::Error| format!("{}: {e}", what.display());
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad(cert, e))?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, e))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, key_der)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

// The handshake callback's error type is fixed by tungstenite's `Callback` trait.
#[allow(clippy::result_large_err)]
async fn serve(stream: impl Stream, cfg: WebSocketConfig) -> Result<(), BoxError> {
    let mut target = String::new();
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        target = req.uri().to_string();
        match req.uri().path() {
            "/echo" | "/push" | "/sink" => Ok(resp),
            _ => {
                let mut refusal = ErrorResponse::new(Some("unknown bench endpoint".into()));
                *refusal.status_mut() = StatusCode::NOT_FOUND;
                Err(refusal)
            }
        }
    };
    let ws = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(cfg)).await?;
    let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    match path {
        "/echo" => echo(ws).await,
        "/push" => {
            let count: usize = param(query, "count").unwrap_or(0);
            let size: usize = param(query, "size").unwrap_or(0);
            let binary = param::<u8>(query, "binary").unwrap_or(0) == 1;
            push(ws, count, size, binary).await
        }
        "/sink" => sink(ws).await,
        _ => unreachable!("refused in the handshake callback"),
    }
}

fn param<T: std::str::FromStr>(query: &str, name: &str) -> Option<T> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
}

/// Echoes data messages with their type. Everything already readable is fed before one
/// flush, so a burst of small echoes leaves in one write instead of one per message.
async fn echo(mut ws: WebSocketStream<impl Stream>) -> Result<(), BoxError> {
    while let Some(msg) = ws.next().await {
        let mut pending = 0usize;
        let mut msg = msg?;
        loop {
            if msg.is_text() || msg.is_binary() {
                ws.feed(msg).await?;
                pending += 1;
            } else if msg.is_close() {
                // tungstenite queued the close reply; the flush below sends it.
                ws.flush().await?;
                return Ok(());
            }
            match ws.next().now_or_never() {
                Some(Some(next)) => msg = next?,
                Some(None) => {
                    ws.flush().await?;
                    return Ok(());
                }
                None => break,
            }
        }
        if pending > 0 {
            ws.flush().await?;
        }
    }
    Ok(())
}

/// Pushes `count` messages of `size` bytes, then the text "END", then waits for the
/// client's close. The payload is shared (`Bytes` clones are reference counts), so the
/// cost per message is framing only.
async fn push(
    mut ws: WebSocketStream<impl Stream>,
    count: usize,
    size: usize,
    binary: bool,
) -> Result<(), BoxError> {
    let payload = Bytes::from(vec![b'x'; size]);
    let text = tokio_tungstenite::tungstenite::Utf8Bytes::try_from(payload.clone())?;
    for _ in 0..count {
        let msg = if binary {
            Message::Binary(payload.clone())
        } else {
            Message::Text(text.clone())
        };
        ws.feed(msg).await?;
    }
    ws.send(Message::text("END")).await?;
    while let Some(msg) = ws.next().await {
        if msg?.is_close() {
            ws.flush().await?;
            break;
        }
    }
    Ok(())
}

/// Counts data messages; the text "END" (not counted) is answered with "COUNT <n>".
async fn sink(mut ws: WebSocketStream<impl Stream>) -> Result<(), BoxError> {
    let mut n: u64 = 0;
    while let Some(msg) = ws.next().await {
        match msg? {
            Message::Text(t) if t.as_str() == "END" => {
                ws.send(Message::text(format!("COUNT {n}"))).await?;
            }
            Message::Text(_) | Message::Binary(_) => n += 1,
            Message::Close(_) => {
                ws.flush().await?;
                break;
            }
            _ => {}
        }
    }
    Ok(())
}
