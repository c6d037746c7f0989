//! Load generator for the server scenarios of `npm run bench` (bench/server-scenarios.mjs).
//! It runs in its own process so that the server under test (bench/server-app.mjs) never
//! shares its event loop or its heap with the load it is measured under.
//!
//!   loadgen <scenario> port=<p> [conns=N] [count=N] [size=B] [window=W] [rounds=R]
//!           [refill=W/2] [server_pid=PID] [sources=10] [threads=1] [read_buffer=B]
//!           [timeout_ms=T]
//!
//! Prints one JSON line on stdout (`{"scenario":…, …}`), or `{"error":…}` and exits 1.
//!
//! Connection `i` binds to the source address 127.0.0.(1 + i mod `sources`) before it
//! connects: the server under test admits at most 10 client IPs × 10 connections each
//! (spec S4.3/S9), so 100 connections need 10 distinct loopback sources.
//!
//! The server app understands two text commands (everything else it echoes):
//! `!go <rounds> <conns> <size>` (broadcast `rounds` times to every connection) and
//! `!rss <conns>` (answered with `rss <RSS at start> <RSS now> <heap at start> <heap now>`,
//! in bytes; heap = the JS heap in use).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use bench_server::{json_string, payload, BoxError, Outcome, Params};

type Ws = WebSocketStream<TcpStream>;
/// What every scenario shares: where the server is, how to reach it, whose CPU to count.
#[derive(Clone, Copy)]
struct Target {
    port: u16,
    sources: u8,
    server_pid: Option<u32>,
    read_buffer: usize,
}

/// One JSON object, built by hand: the crate has no serde and needs only flat numbers.
struct Report(String);

impl Report {
    fn new(scenario: &str) -> Self {
        Report(format!("{{\"scenario\":{}", json_string(scenario)))
    }
    fn num(mut self, key: &str, value: f64) -> Self {
        // JSON has no NaN or infinity; an impossible figure is better reported as null.
        if value.is_finite() {
            let _ = write!(self.0, ",\"{key}\":{value}");
        } else {
            let _ = write!(self.0, ",\"{key}\":null");
        }
        self
    }
    fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// Bursts of small messages leave in one write. The read buffer stays small: tungstenite
/// zero-fills all of it before every read, and at 256 KiB that memset was half of this
/// process's CPU time in s1 (perf), where a read returns a few hundred bytes.
fn config(read_buffer: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(read_buffer)
        .write_buffer_size(256 * 1024)
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20))
}

/// CPU time of a process (all its threads), in µs: the sum of the nanosecond run times in
/// `/proc/<pid>/task/*/schedstat`. `/proc/<pid>/stat` would also count exited threads, but
/// in 10 ms ticks, too coarse for the tens of milliseconds that s4 lasts; the processes
/// measured here do not end threads while they are measured. `None` is this process.
fn cpu_micros(pid: Option<u32>) -> Option<f64> {
    let pid = pid.map_or_else(|| "self".to_owned(), |p| p.to_string());
    let mut nanos = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        nanos += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(nanos as f64 / 1000.0)
}

/// CPU clocks of the server (when its pid is known) and of this process.
struct CpuClock {
    server_pid: Option<u32>,
    start: (Option<f64>, Option<f64>),
}

impl CpuClock {
    fn start(target: Target) -> Self {
        let server = target.server_pid.and_then(|p| cpu_micros(Some(p)));
        CpuClock {
            server_pid: target.server_pid,
            start: (server, cpu_micros(None)),
        }
    }
    /// (server µs, loadgen µs) since `start`, each divided by `per`.
    fn per(&self, per: f64) -> (f64, f64) {
        let server = self.server_pid.and_then(|p| cpu_micros(Some(p)));
        let me = cpu_micros(None);
        let delta = |now: Option<f64>, then: Option<f64>| match (now, then) {
            (Some(a), Some(b)) => (a - b) / per,
            _ => f64::NAN,
        };
        (delta(server, self.start.0), delta(me, self.start.1))
    }
}

/// Connection `index`, from its own loopback source address.
async fn connect(target: Target, index: usize) -> Outcome<Ws> {
    let host = u8::try_from(index % usize::from(target.sources))?;
    let source = Ipv4Addr::new(127, 0, 0, 1 + host);
    let socket = TcpSocket::new_v4()?;
    // Many short runs leave TIME_WAIT entries on these source addresses.
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let stream = socket
        .connect(SocketAddr::from((Ipv4Addr::LOCALHOST, target.port)))
        .await?;
    stream.set_nodelay(true)?;
    let url = format!("ws://127.0.0.1:{}/", target.port);
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(url, stream, Some(config(target.read_buffer)))
            .await
            .map_err(|e| format!("connection {index} from {source}: {e}"))?;
    Ok(ws)
}

/// Opens `n` connections at once. Returns them in index order, with the time from the
/// first connect to the last completed handshake.
async fn connect_all(target: Target, n: usize) -> Outcome<(Vec<Ws>, Duration)> {
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    for i in 0..n {
        set.spawn(async move {
            let ws = connect(target, i).await?;
            Ok::<_, BoxError>((i, ws, t0.elapsed()))
        });
    }
    let mut slots: Vec<Option<Ws>> = (0..n).map(|_| None).collect();
    let mut last = Duration::ZERO;
    while let Some(joined) = set.join_next().await {
        let (i, ws, at) = joined??;
        last = last.max(at);
        slots[i] = Some(ws);
    }
    let all = slots.into_iter().flatten().collect::<Vec<_>>();
    if all.len() != n {
        return Err("a connection went missing".into());
    }
    Ok((all, last))
}

/// Closes every connection and waits (bounded) for the close handshakes, so the server
/// sees clean closes and not resets.
async fn close_all(conns: Vec<Ws>) {
    let mut set = JoinSet::new();
    for mut ws in conns {
        set.spawn(async move {
            let _ = ws.close(None).await;
            while let Some(Ok(_)) = ws.next().await {}
        });
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while set.join_next().await.is_some() {}
    })
    .await;
}

/// Whether `msg` is a data message of the expected type and size; control frames are
/// not data (`None`), anything else is a broken server.
fn data_of(msg: Message, size: usize, binary: bool) -> Outcome<Option<()>> {
    match msg {
        Message::Text(t) if !binary && t.len() == size => Ok(Some(())),
        Message::Binary(b) if binary && b.len() == size => Ok(Some(())),
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(None),
        Message::Close(c) => Err(format!("server closed early: {c:?}").into()),
        other => Err(format!("unexpected message of {} bytes", other.len()).into()),
    }
}

/// Reads `count` data messages (echoes or broadcasts), returning a credit to `credits`
/// (when given) for each. Everything already readable is counted before the credits go
/// back, so the writer wakes once per burst and sends its refill in one write.
async fn read_data(
    mut stream: SplitStream<Ws>,
    count: u64,
    size: usize,
    binary: bool,
    credits: Option<&Semaphore>,
) -> Outcome<SplitStream<Ws>> {
    let mut got = 0u64;
    while got < count {
        let msg = stream
            .next()
            .await
            .ok_or("server closed the connection")??;
        let mut burst = usize::from(data_of(msg, size, binary)?.is_some());
        while got + (burst as u64) < count {
            match stream.next().now_or_never() {
                Some(Some(msg)) => burst += usize::from(data_of(msg?, size, binary)?.is_some()),
                Some(None) => return Err("server closed the connection".into()),
                None => break,
            }
        }
        got += burst as u64;
        if let Some(credits) = credits {
            credits.add_permits(burst);
        }
    }
    Ok(stream)
}

/// Sends `count` copies of `msg`, one per credit. It waits until `refill` credits are
/// back (or all that remain to send) and then sends every credit it has in one write:
/// refilling one message per echo would cost the load generator a write syscall per
/// message, which would make it, not the server, the bottleneck.
async fn send_windowed(
    mut sink: SplitSink<Ws, Message>,
    count: u64,
    msg: &Message,
    credits: &Semaphore,
    refill: u32,
) -> Outcome<SplitSink<Ws, Message>> {
    let mut sent = 0u64;
    while sent < count {
        let wait_for = u64::from(refill.max(1)).min(count - sent);
        credits
            .acquire_many(u32::try_from(wait_for)?)
            .await?
            .forget();
        for _ in 0..wait_for {
            sink.feed(msg.clone()).await?;
        }
        sent += wait_for;
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
    Ok(sink)
}

/// What each connection of an echo scenario does.
#[derive(Clone)]
struct EchoPlan {
    msg: Message,
    size: usize,
    binary: bool,
    /// Most messages in flight on one connection.
    window: usize,
    /// Credits the writer waits for before it sends again (1..=window).
    refill: u32,
}

/// One pipelined echo connection: `count` messages as `plan` says.
async fn echo_connection(ws: Ws, count: u64, plan: EchoPlan) -> Outcome<Ws> {
    let (sink, stream) = ws.split();
    let credits = Semaphore::new(plan.window);
    // Reader and writer run in this one task: no lock is ever contended.
    let (stream, sink) = tokio::try_join!(
        read_data(stream, count, plan.size, plan.binary, Some(&credits)),
        send_windowed(sink, count, &plan.msg, &credits, plan.refill),
    )?;
    Ok(stream.reunite(sink)?)
}

/// s1 (32 B text) and s3 (64 KiB binary): `count` echoes spread over `conns`
/// connections, each with at most `window` in flight. Reports msgs/s and MB/s.
async fn echo(name: &str, target: Target, p: &Params) -> Outcome<String> {
    let conns: usize = p.get("conns", 50)?;
    let count: u64 = p.get("count", 200_000)?;
    let size: usize = p.get("size", 32)?;
    let binary = p.get::<u8>("binary", 0)? == 1;
    let window: usize = p.get("window", 100)?;
    if conns == 0 || window == 0 {
        return Err("conns and window must be at least 1".into());
    }
    let max_refill = u32::try_from(window)?;
    // Half the window by default: each connection keeps between window/2 and window in
    // flight.
    let refill: u32 = p.get("refill", max_refill / 2)?.clamp(1, max_refill);
    let plan = EchoPlan {
        msg: payload(size, binary)?,
        size,
        binary,
        window,
        refill,
    };
    let (all, _) = connect_all(target, conns).await?;
    let clock = CpuClock::start(target);
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    for (i, ws) in all.into_iter().enumerate() {
        // The remainder goes to the first connections, one each.
        let quota = count / conns as u64 + u64::from((i as u64) < count % conns as u64);
        set.spawn(echo_connection(ws, quota, plan.clone()));
    }
    let mut done = Vec::with_capacity(conns);
    while let Some(joined) = set.join_next().await {
        done.push(joined??);
    }
    let secs = t0.elapsed().as_secs_f64();
    let (server_cpu, own_cpu) = clock.per(count as f64);
    close_all(done).await;
    Ok(Report::new(name)
        .num("seconds", secs)
        .num("messages", count as f64)
        .num("rate", count as f64 / secs)
        .num("mbps", (count as f64 * size as f64) / 1e6 / secs)
        .num("serverCpuUs", server_cpu)
        .num("loadgenCpuUs", own_cpu)
        .finish())
}

/// s2: `conns` connections; connection 0 asks the server for `rounds` broadcasts of
/// `size` B text; every connection counts its deliveries. Reports deliveries/s.
async fn fanout(name: &str, target: Target, p: &Params) -> Outcome<String> {
    let conns: usize = p.get("conns", 100)?;
    let rounds: u64 = p.get("rounds", 2000)?;
    let size: usize = p.get("size", 64)?;
    let (mut all, _) = connect_all(target, conns).await?;
    if all.is_empty() {
        return Err("fan-out needs at least one connection".into());
    }
    let trigger = all.remove(0);
    let clock = CpuClock::start(target);
    // Every other receiver waits before the trigger leaves, so no delivery is missed.
    let mut set = JoinSet::new();
    for ws in all {
        set.spawn(async move {
            let (sink, stream) = ws.split();
            let stream = read_data(stream, rounds, size, false, None).await?;
            Ok::<_, BoxError>(stream.reunite(sink)?)
        });
    }
    let t0 = Instant::now();
    let (mut sink, stream) = trigger.split();
    sink.send(Message::text(format!("!go {rounds} {conns} {size}")))
        .await?;
    set.spawn(async move {
        let stream = read_data(stream, rounds, size, false, None).await?;
        Ok::<_, BoxError>(stream.reunite(sink)?)
    });
    let mut done = Vec::with_capacity(conns);
    while let Some(joined) = set.join_next().await {
        done.push(joined??);
    }
    let secs = t0.elapsed().as_secs_f64();
    let deliveries = rounds as f64 * conns as f64;
    let (server_cpu, own_cpu) = clock.per(deliveries);
    close_all(done).await;
    Ok(Report::new(name)
        .num("seconds", secs)
        .num("deliveries", deliveries)
        .num("rate", deliveries / secs)
        .num("serverCpuUs", server_cpu)
        .num("loadgenCpuUs", own_cpu)
        .finish())
}

/// Sends `!rss <conns>` on `ws`; the answer's four figures (RSS and JS heap in use, at
/// start and now).
async fn ask_rss(ws: &mut Ws, conns: usize) -> Outcome<[f64; 4]> {
    ws.send(Message::text(format!("!rss {conns}"))).await?;
    while let Some(msg) = ws.next().await {
        if let Message::Text(t) = msg? {
            let mut words = t.as_str().split(' ');
            if words.next() != Some("rss") {
                return Err(format!("unexpected answer to !rss: {}", t.as_str()).into());
            }
            let mut num =
                || -> Outcome<f64> { Ok(words.next().ok_or("short !rss answer")?.parse()?) };
            return Ok([num()?, num()?, num()?, num()?]);
        }
    }
    Err("server closed before answering !rss".into())
}

/// s4: `conns` connections opened at once; the time until the last handshake completes,
/// and the server's RSS at start and with all of them open.
async fn open_many(name: &str, target: Target, p: &Params) -> Outcome<String> {
    let conns: usize = p.get("conns", 100)?;
    let clock = CpuClock::start(target);
    let (mut all, took) = connect_all(target, conns).await?;
    let (server_cpu, own_cpu) = clock.per(conns as f64);
    let first = all.first_mut().ok_or("s4 needs at least one connection")?;
    let [rss_before, rss_after, heap_before, heap_after] = ask_rss(first, conns).await?;
    close_all(all).await;
    Ok(Report::new(name)
        .num("openMs", took.as_secs_f64() * 1000.0)
        .num("conns", conns as f64)
        .num("rssBefore", rss_before)
        .num("rssAfter", rss_after)
        .num("heapBefore", heap_before)
        .num("heapAfter", heap_after)
        .num("serverCpuUs", server_cpu)
        .num("loadgenCpuUs", own_cpu)
        .finish())
}

/// Proves the server echoes both types and answers `!rss` (run before any measurement,
/// so a broken server is reported once as unavailable).
async fn probe(name: &str, target: Target) -> Outcome<String> {
    let mut ws = connect(target, 0).await?;
    ws.send(Message::text("hi")).await?;
    ws.send(Message::binary(vec![1u8, 2, 3])).await?;
    let mut echoes = 0;
    while echoes < 2 {
        match ws.next().await.ok_or("server closed during the probe")?? {
            Message::Text(t) if t.as_str() == "hi" => echoes += 1,
            Message::Binary(b) if b.as_ref() == [1, 2, 3] => echoes += 1,
            Message::Ping(_) | Message::Pong(_) => {}
            other => return Err(format!("wrong echo: {other:?}").into()),
        }
    }
    ask_rss(&mut ws, 1).await?;
    close_all(vec![ws]).await;
    Ok(Report::new(name).finish())
}

async fn run(scenario: &str, p: &Params) -> Outcome<String> {
    let target = Target {
        port: p.required("port")?,
        sources: p.get("sources", 10)?,
        server_pid: p.optional("server_pid")?,
        // One message per read for large ones; 16 KiB holds hundreds of small ones.
        read_buffer: p.get("read_buffer", p.get("size", 0)?.clamp(16 << 10, 256 << 10))?,
    };
    if target.sources == 0 || target.sources > 254 {
        return Err("sources must be 1..=254".into());
    }
    match scenario {
        "probe" => probe(scenario, target).await,
        "s1-echo" | "s3-large" => echo(scenario, target, p).await,
        "s2-fanout" => fanout(scenario, target, p).await,
        "s4-open" => open_many(scenario, target, p).await,
        other => Err(format!("unknown scenario {other}").into()),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_default();
    let outcome = Params::parse(args).and_then(|p| {
        // One worker by default: on this 2-core machine the server under test needs the
        // other core; `threads=` lets a run check that the load itself is not the limit.
        let threads: usize = p.get("threads", 1)?;
        let timeout = Duration::from_millis(p.get("timeout_ms", 60_000)?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .enable_all()
            .build()?;
        runtime.block_on(async {
            tokio::time::timeout(timeout, run(&scenario, &p))
                .await
                .map_err(|_| format!("loadgen timeout after {} ms", timeout.as_millis()))?
        })
    });
    // Exit at once: a task still waiting on a server that never answers must not hold us.
    match outcome {
        Ok(line) => {
            println!("{line}");
            std::process::exit(0);
        }
        Err(e) => {
            println!(
                "{{\"scenario\":{},\"error\":{}}}",
                json_string(&scenario),
                json_string(&e.to_string())
            );
            std::process::exit(1);
        }
    }
}
