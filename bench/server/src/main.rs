//! Benchmark peer for `npm run bench`: echo, push (source) and sink endpoints chosen by
//! the request path. It runs in its own process so that the client being measured never
//! shares an event loop with its peer, and it is written to stay well ahead of any client.
//!
//! Prints the bound port on stdout, then serves until killed.

use std::sync::Arc;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<TcpStream>;

/// Large buffers so one read syscall carries many frames and writes leave in big chunks;
/// the write threshold is what tungstenite fills before it writes to the socket by itself.
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(256 * 1024)
        .write_buffer_size(256 * 1024)
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20))
}

/// One worker: the client under test gets the rest of the (2-core) machine, and the
/// server cannot become a scheduling hog for the accept storm of scenario (f).
#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> std::io::Result<()> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind("127.0.0.1:0".parse().unwrap())?;
    // 2 000 simultaneous connects: tokio's default backlog (1024) would drop SYNs and
    // turn the "time to all open" of scenario (f) into a 1 s retransmit timer.
    let listener = socket.listen(8192)?;
    println!("{}", listener.local_addr()?.port());
    let cfg = Arc::new(config());
    loop {
        let (stream, _) = listener.accept().await?;
        let cfg = cfg.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            if let Err(e) = serve(stream, *cfg).await {
                if std::env::var_os("BENCH_SERVER_DEBUG").is_some() {
                    eprintln!("bench-server: {e}");
                }
            }
        });
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

// The handshake callback's error type is fixed by tungstenite's `Callback` trait.
#[allow(clippy::result_large_err)]
async fn serve(stream: TcpStream, cfg: WebSocketConfig) -> Result<(), BoxError> {
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
async fn echo(mut ws: Ws) -> Result<(), BoxError> {
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
async fn push(mut ws: Ws, count: usize, size: usize, binary: bool) -> Result<(), BoxError> {
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
async fn sink(mut ws: Ws) -> Result<(), BoxError> {
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
