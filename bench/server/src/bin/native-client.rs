//! The native client of `npm run bench`: the client scenarios of bench/client.mjs written
//! with tokio-tungstenite, as a Rust application would write them, against the same bench
//! server. It is the ceiling of the client tables: what a client pays with no JavaScript
//! engine, no binding layer and no event delivery to a script, on the same WebSocket
//! library this addon is built on.
//!
//!   native-client <scenario> <ws://127.0.0.1:PORT | wss://127.0.0.1:PORT> [key=value]...
//!
//! The parameters are those bench/run.mjs gives bench/client.mjs (count, size, window,
//! warmup, burst, busyUs, conns, concurrency, timeoutMs, and for wss caPath, the PEM
//! certificate that becomes the only trust anchor, see `tls_connector`), plus `read_buffer=B` to override the
//! read buffer size chosen below. Prints one JSON line in the same shape as client.mjs —
//! `{"client":"rust","scenario":…,"metrics":{…},"cpuUs":…}` — or `{…,"error":…}` and
//! exits 1. CPU time is getrusage(RUSAGE_SELF), user + system, which is what Node's
//! `process.cpuUsage()` reports for the JS clients.
//!
//! One thread (tokio's current-thread runtime): a JS client runs its scenario on one
//! thread too, and the bench server has the machine's other core.

use std::cell::Cell;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use bench_server::{json_string, payload, BoxError, Outcome, Params};

/// A connection's transport: TCP, or TLS over TCP.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send> Stream for S {}
type Ws = WebSocketStream<Box<dyn Stream>>;

/// CPU time of this process so far (user + system, all threads), in µs.
fn cpu_micros() -> f64 {
    // SAFETY: getrusage writes one `rusage` into the zeroed value it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let us = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    us(usage.ru_utime) + us(usage.ru_stime)
}

/// Peak RSS of this process, in MiB (ru_maxrss is in KiB on Linux), as Node's
/// `process.resourceUsage().maxRSS / 1024`.
fn peak_rss_mib() -> f64 {
    // SAFETY: as in cpu_micros.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    usage.ru_maxrss as f64 / 1024.0
}

/// Resident set size now, in bytes (`/proc/self/statm`, as Node's `memoryUsage().rss`).
fn rss_bytes() -> Outcome<f64> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .ok_or("short /proc/self/statm")?
        .parse()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Ok(pages * page as f64)
}

/// What every connection shares: where the bench server is, and for wss the connector
/// (one rustls configuration for the process, as an application keeps one).
#[derive(Clone)]
struct Client {
    base: String,
    addr: SocketAddr,
    tls: Option<TlsConnector>,
    cfg: WebSocketConfig,
}

impl Client {
    fn new(base: &str, p: &Params, read_buffer: usize) -> Outcome<Self> {
        let (tls, hostport) = if let Some(rest) = base.strip_prefix("wss://") {
            let ca: String = p.required("caPath")?;
            (Some(tls_connector(Path::new(&ca))?), rest)
        } else if let Some(rest) = base.strip_prefix("ws://") {
            (None, rest)
        } else {
            return Err(format!("not a ws:// or wss:// URL: {base}").into());
        };
        let addr: SocketAddr = hostport
            .parse()
            .map_err(|_| format!("the bench server's address must be IP:PORT, not {hostport}"))?;
        let cfg = WebSocketConfig::default()
            .read_buffer_size(p.get("read_buffer", read_buffer)?)
            .max_message_size(Some(64 << 20))
            .max_frame_size(Some(64 << 20));
        Ok(Client {
            base: base.to_owned(),
            addr,
            tls,
            cfg,
        })
    }

    /// Opens one connection to `path` (TCP, then TLS for wss, then the WebSocket handshake).
    async fn connect(&self, path: &str) -> Outcome<Ws> {
        let tcp = TcpStream::connect(self.addr).await?;
        // As every JS client here does (ws, undici and this addon all set it).
        tcp.set_nodelay(true)?;
        let io: Box<dyn Stream> = match &self.tls {
            None => Box::new(tcp),
            Some(connector) => {
                let name = ServerName::from(self.addr.ip());
                Box::new(connector.connect(name, tcp).await?)
            }
        };
        let url = format!("{}{path}", self.base);
        let (ws, _) = tokio_tungstenite::client_async_with_config(url, io, Some(self.cfg)).await?;
        Ok(ws)
    }
}

/// A rustls client whose only trust anchors are the certificates in `ca` (PEM), with
/// rustls's defaults otherwise (TLS 1.2 and 1.3, its in-memory session cache, WebPKI).
/// The run's certificate is self-signed and marked CA:FALSE (bench/run.mjs), which
/// WebPKI accepts as a server certificate that is its own trust anchor.
fn tls_connector(ca: &Path) -> Outcome<TlsConnector> {
    use rustls::pki_types::pem::PemObject;
    let bad = |e: rustls::pki_types::pem::Error| format!("{}: {e}", ca.display());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(bad)? {
        roots.add(cert.map_err(bad)?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The next data message; control frames are skipped, the end of the stream is an error.
async fn next_data(
    ws: &mut (impl futures_util::Stream<Item = tokio_tungstenite::tungstenite::Result<Message>> + Unpin),
) -> Outcome<Message> {
    loop {
        match ws.next().await.ok_or("closed early")?? {
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            Message::Close(c) => return Err(format!("closed early: {c:?}").into()),
            data => return Ok(data),
        }
    }
}

/// Whether `msg` is a data message of this type and size.
fn check(msg: &Message, size: usize, binary: bool, what: &str) -> Outcome<()> {
    let ok = match msg {
        Message::Text(t) => !binary && t.len() == size,
        Message::Binary(b) => binary && b.len() == size,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("wrong {what}").into())
    }
}

/// Closes `ws` and waits (at most 2 s) for the server's close, as client.mjs does.
async fn close(mut ws: Ws) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = ws.close(None).await;
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

/// The report's JSON line, built by hand (the crate has no serde; all values are numbers).
struct Report {
    metrics: Vec<(&'static str, f64)>,
    extra: Vec<(&'static str, f64)>,
}

impl Report {
    fn new(metrics: &[(&'static str, f64)]) -> Self {
        Report {
            metrics: metrics.to_vec(),
            extra: Vec::new(),
        }
    }
    fn with(mut self, key: &'static str, value: f64) -> Self {
        self.extra.push((key, value));
        self
    }
    fn json(&self, scenario: &str) -> String {
        let num = |v: f64| {
            if v.is_finite() {
                v.to_string()
            } else {
                "null".into()
            }
        };
        let mut out = format!(
            "{{\"client\":\"rust\",\"scenario\":{},\"metrics\":{{",
            json_string(scenario)
        );
        for (i, (k, v)) in self.metrics.iter().enumerate() {
            let _ = write!(out, "{}\"{k}\":{}", if i > 0 { "," } else { "" }, num(*v));
        }
        out.push('}');
        for (k, v) in &self.extra {
            let _ = write!(out, ",\"{k}\":{}", num(*v));
        }
        out.push('}');
        out
    }
}

/// (a), (c): echo of `count` messages with at most `window` in flight. The writer sends
/// one message per echo received, all it may send in one write: everything already
/// readable is counted before it runs (reader and writer share one task).
async fn echo_window(c: &Client, p: &Params, binary: bool) -> Outcome<Report> {
    let count: u64 = p.required("count")?;
    let size: usize = p.required("size")?;
    let window: usize = p.required("window")?;
    if count == 0 || window == 0 {
        return Err("count and window must be at least 1".into());
    }
    let msg = payload(size, binary)?;
    let (mut sink, mut stream) = c.connect("/echo").await?.split();
    let credits = Semaphore::new(window);
    let t0 = Instant::now();
    let c0 = cpu_micros();
    let writer = async {
        let mut sent = 0u64;
        while sent < count {
            credits.acquire().await?.forget();
            sink.feed(msg.clone()).await?;
            sent += 1;
            while sent < count {
                match credits.try_acquire() {
                    Ok(permit) => permit.forget(),
                    Err(_) => break,
                }
                sink.feed(msg.clone()).await?;
                sent += 1;
            }
            sink.flush().await?;
        }
        Ok::<_, BoxError>(())
    };
    let reader = async {
        for _ in 0..count {
            check(&next_data(&mut stream).await?, size, binary, "echo")?;
            credits.add_permits(1);
        }
        Ok::<_, BoxError>(())
    };
    tokio::try_join!(writer, reader)?;
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_micros() - c0;
    close(sink.reunite(stream)?).await;
    let metric = if binary {
        ("mbps", (count as f64 * size as f64) / 1e6 / secs)
    } else {
        ("rate", count as f64 / secs)
    };
    Ok(Report::new(&[metric])
        .with("cpuUs", cpu / count as f64)
        .with("seconds", secs))
}

/// (b): one message in flight; the first `warmup` round trips are not recorded.
async fn latency(c: &Client, p: &Params) -> Outcome<Report> {
    let count: usize = p.required("count")?;
    let warmup: usize = p.get("warmup", 0)?;
    let size: usize = p.required("size")?;
    if count == 0 {
        return Err("count must be at least 1".into());
    }
    let msg = payload(size, false)?;
    let mut ws = c.connect("/echo").await?;
    let mut samples = Vec::with_capacity(count);
    let mut t0 = Instant::now();
    let mut c0 = cpu_micros();
    for i in 0..warmup + count {
        if i == warmup {
            t0 = Instant::now();
            c0 = cpu_micros();
        }
        let t = Instant::now();
        ws.send(msg.clone()).await?;
        check(&next_data(&mut ws).await?, size, false, "echo")?;
        if i >= warmup {
            samples.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    let cpu = cpu_micros() - c0;
    let secs = t0.elapsed().as_secs_f64();
    close(ws).await;
    samples.sort_by(f64::total_cmp);
    // As client.mjs: the sample at floor(p% × count).
    let pct = |q: f64| samples[((q / 100.0 * count as f64) as usize).min(count - 1)];
    Ok(Report::new(&[("p50", pct(50.0)), ("p99", pct(99.0))])
        .with("cpuUs", cpu / count as f64)
        .with("seconds", secs))
}

/// (d), (g): the server pushes `count` messages, then "END"; measured from the open.
/// With `busyUs`, each message costs that long (a slow consumer) and the peak RSS is
/// reported.
async fn receive(c: &Client, p: &Params, binary: bool) -> Outcome<Report> {
    let count: u64 = p.required("count")?;
    let size: usize = p.required("size")?;
    let busy = Duration::from_nanos((p.get::<f64>("busyUs", 0.0)? * 1000.0).round() as u64);
    let path = format!(
        "/push?count={count}&size={size}&binary={}",
        u8::from(binary)
    );
    let mut ws = c.connect(&path).await?;
    let t0 = Instant::now();
    let c0 = cpu_micros();
    let mut got = 0u64;
    loop {
        let msg = next_data(&mut ws).await?;
        if let Message::Text(t) = &msg {
            if t.as_str() == "END" {
                break;
            }
        }
        if !busy.is_zero() {
            let until = Instant::now() + busy;
            while Instant::now() < until {}
        }
        check(&msg, size, binary, "push message")?;
        got += 1;
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_micros() - c0;
    if got != count {
        return Err(format!("received {got} of {count}").into());
    }
    let mut metrics = vec![("rate", count as f64 / secs)];
    if !busy.is_zero() {
        metrics.push(("peakMiB", peak_rss_mib()));
    }
    close(ws).await;
    Ok(Report::new(&metrics)
        .with("cpuUs", cpu / count as f64)
        .with("seconds", secs))
}

/// (e): send-only to the sink, `burst` messages per write, yielding between bursts as
/// the JS producer yields to I/O; measured until "COUNT" comes back.
async fn send(c: &Client, p: &Params) -> Outcome<Report> {
    let count: u64 = p.required("count")?;
    let size: usize = p.required("size")?;
    let burst: u64 = p.get("burst", 1000)?;
    let msg = payload(size, false)?;
    let mut ws = c.connect("/sink").await?;
    let t0 = Instant::now();
    let c0 = cpu_micros();
    let mut sent = 0u64;
    while sent < count {
        let end = count.min(sent + burst.max(1));
        for _ in sent..end {
            ws.feed(msg.clone()).await?;
        }
        sent = end;
        ws.flush().await?;
        tokio::task::yield_now().await;
    }
    ws.send(Message::text("END")).await?;
    let reply = next_data(&mut ws).await?;
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_micros() - c0;
    let n: u64 = match &reply {
        Message::Text(t) => t
            .as_str()
            .strip_prefix("COUNT ")
            .and_then(|n| n.parse().ok())
            .ok_or("unexpected sink reply")?,
        _ => return Err("unexpected sink reply".into()),
    };
    if n != count {
        return Err(format!("sink counted {n} of {count}").into());
    }
    close(ws).await;
    Ok(Report::new(&[("rate", count as f64 / secs)])
        .with("cpuUs", cpu / count as f64)
        .with("seconds", secs))
}

/// (f): `conns` connections started at once, each in its own task reading until told
/// to close (as a client keeps them); the time until all are open and the RSS they add.
async fn connections(c: &Client, p: &Params) -> Outcome<Report> {
    let conns: usize = p.required("conns")?;
    let rss0 = rss_bytes()?;
    let (opened_tx, mut opened_rx) = mpsc::unbounded_channel::<Outcome<()>>();
    let (stop_tx, stop_rx) = watch::channel(false);
    let t0 = Instant::now();
    let c0 = cpu_micros();
    let mut set = JoinSet::new();
    for _ in 0..conns {
        let client = c.clone();
        let opened = opened_tx.clone();
        let mut stop = stop_rx.clone();
        set.spawn(async move {
            let ws = match client.connect("/echo").await {
                Ok(ws) => ws,
                Err(e) => {
                    let _ = opened.send(Err(e));
                    return Ok(());
                }
            };
            let _ = opened.send(Ok(()));
            let (mut sink, mut stream) = ws.split();
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    msg = stream.next() => match msg {
                        Some(Ok(_)) => {}
                        _ => return Err::<(), BoxError>("a connection closed early".into()),
                    },
                }
            }
            let _ = sink.close().await;
            while let Some(Ok(_)) = stream.next().await {}
            Ok(())
        });
    }
    for _ in 0..conns {
        opened_rx.recv().await.ok_or("a connection task ended")??;
    }
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    let cpu = cpu_micros() - c0;
    // Let every task reach its read loop before the RSS is taken.
    tokio::task::yield_now().await;
    let rss1 = rss_bytes()?;
    stop_tx.send(true)?;
    let mut closed = 0usize;
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(joined) = set.join_next().await {
            if matches!(joined, Ok(Ok(()))) {
                closed += 1;
            }
        }
    })
    .await;
    Ok(Report::new(&[
        ("openMs", ms),
        ("rssKiB", (rss1 - rss0) / 1024.0 / conns as f64),
    ])
    .with("cpuUs", cpu / conns as f64)
    .with("rssBeforeMiB", rss0 / f64::from(1 << 20))
    .with("rssAfterMiB", rss1 / f64::from(1 << 20))
    .with("closed", closed as f64))
}

/// (h): `count` connections (after `warmup` more), `concurrency` at a time, each opened,
/// one `size` B text echoed, closed; the next starts when one has closed.
async fn handshakes(c: &Client, p: &Params) -> Outcome<Report> {
    let count: usize = p.required("count")?;
    let warmup: usize = p.get("warmup", 0)?;
    let size: usize = p.required("size")?;
    let concurrency: usize = p.get("concurrency", 1)?;
    let msg = payload(size, false)?;
    let total = warmup + count;
    let (started, finished) = (&Cell::new(0usize), &Cell::new(0usize));
    let clock = &Cell::new((Instant::now(), cpu_micros()));
    let msg = &msg;
    let worker = move || async move {
        while started.get() < total {
            started.set(started.get() + 1);
            let mut ws = c.connect("/echo").await?;
            ws.send(msg.clone()).await?;
            if next_data(&mut ws).await? != *msg {
                return Err::<(), BoxError>("wrong echo".into());
            }
            ws.close(None).await?;
            while let Some(Ok(_)) = ws.next().await {}
            finished.set(finished.get() + 1);
            if finished.get() == warmup {
                clock.set((Instant::now(), cpu_micros()));
            }
        }
        Ok(())
    };
    // The workers share this task (no spawn): they are interleaved, not parallel.
    let results = futures_util::future::join_all((0..concurrency.max(1)).map(|_| worker())).await;
    results.into_iter().collect::<Outcome<Vec<()>>>()?;
    let (t0, c0) = clock.get();
    let secs = t0.elapsed().as_secs_f64();
    Ok(Report::new(&[("connRate", count as f64 / secs)])
        .with("cpuUs", (cpu_micros() - c0) / count as f64)
        .with("seconds", secs))
}

/// Proves the client connects, echoes both message types and closes.
async fn probe(c: &Client) -> Outcome<Report> {
    let mut ws = c.connect("/echo").await?;
    ws.send(Message::text("hi")).await?;
    if next_data(&mut ws).await? != Message::text("hi") {
        return Err("text echo mismatch".into());
    }
    ws.send(Message::binary(vec![0u8; 3])).await?;
    match next_data(&mut ws).await? {
        Message::Binary(b) if b.len() == 3 => {}
        _ => return Err("binary echo mismatch".into()),
    }
    close(ws).await;
    Ok(Report::new(&[]))
}

async fn run(scenario: &str, base: &str, p: &Params) -> Outcome<Report> {
    // Read buffer: tungstenite zero-fills all of it before each read, so it is sized to
    // the load as an application would: one message per read for large ones, hundreds of
    // small ones in 16 KiB; 4 KiB for connections that carry one message at most (8 KiB
    // of buffers per connection by default would be 256 KiB: 128 KiB each way).
    let read_buffer = match scenario {
        "f-conns" | "h-handshake-tls" | "probe" => 4 << 10,
        _ => p.get("size", 0usize)?.clamp(16 << 10, 256 << 10),
    };
    let c = Client::new(base, p, read_buffer)?;
    match scenario {
        "probe" => probe(&c).await,
        "a-echo" | "a-echo-tls" => echo_window(&c, p, false).await,
        "c-64k" | "c-1m" | "c-64k-tls" => echo_window(&c, p, true).await,
        "b-latency" | "b-latency-tls" => latency(&c, p).await,
        "d-text" => receive(&c, p, false).await,
        "d-binary" | "g-slow" => receive(&c, p, true).await,
        "e-sink" => send(&c, p).await,
        "f-conns" => connections(&c, p).await,
        "h-handshake-tls" => handshakes(&c, p).await,
        other => Err(format!("unknown scenario {other}").into()),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_default();
    let base = args.next().unwrap_or_default();
    let outcome = Params::parse(args).and_then(|p| {
        let timeout = Duration::from_millis(p.get("timeoutMs", 60_000)?);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            tokio::time::timeout(timeout, run(&scenario, &base, &p))
                .await
                .map_err(|_| format!("client timeout after {} ms", timeout.as_millis()))?
        })
    });
    // Exit at once: a task still waiting on a server that never answers must not hold us.
    match outcome {
        Ok(report) => {
            println!("{}", report.json(&scenario));
            std::process::exit(0);
        }
        Err(e) => {
            println!(
                "{{\"client\":\"rust\",\"scenario\":{},\"error\":{}}}",
                json_string(&scenario),
                json_string(&e.to_string())
            );
            std::process::exit(1);
        }
    }
}
