//! Every tunable number of both roles in one place, each with its unit in the name
//! and the spec rule (`doc/spec.md`) it implements.

/// Longest accepted URL, in characters (R17; OH API 15–25 value).
pub const URL_MAX_CHARS: usize = 2048;

/// Whole connection attempt bound: TCP + proxy CONNECT + TLS + HTTP upgrade (R22).
pub const HANDSHAKE_TIMEOUT_MS: u64 = 20_000;

/// How long a local close waits for the peer's close frame before tearing down (R49).
pub const CLOSE_TIMEOUT_MS: u64 = 5_000;

/// When the peer breaks the protocol, how long JS may take to answer the messages that
/// arrived just before, before the connection is failed anyway (RFC 6455 §7.1.7).
pub const VIOLATION_GRACE_MS: u64 = 1_000;

/// Largest incoming message, in bytes; larger ones end the connection with 1009 (R59).
pub const MAX_INCOMING_MESSAGE_BYTES: usize = 100 * 1024 * 1024;

/// Frames of one incoming message (a first frame and its continuations) beyond which the
/// connection fails with 1009, as R59 does for bytes: empty fragments cost a peer two
/// bytes each and us a parse each, with no byte limit ever reached. Above Autobahn's
/// 9.3.1 (4 MiB in 64-byte fragments: 65,536 frames).
pub const MESSAGE_FRAGMENTS_MAX: u32 = 128 * 1024;

/// Payload a received frame may declare before tungstenite sees its header, which makes
/// it reserve the declared length at once (up to R59's 100 MiB, so 100 connections could
/// reserve 10 GiB before sending payload). A larger frame is first read in whole, the
/// buffer growing with the bytes that arrive (see `runtime::core::inbound`).
pub const FRAME_DECLARED_EARLY_MAX_BYTES: usize = 64 * 1024;

/// Received bytes of one connection that may wait for JS, beyond the message being
/// assembled; past it the connection stops reading its socket until JS takes them
/// (issue #10, flow control). R59's per-message limit still applies.
pub const RECEIVE_HIGH_WATER_BYTES: usize = 1024 * 1024;

/// Capacity of a batch buffer kept for reuse after JS took the batch; a larger one (left
/// by a big message) is freed instead, so idle connections stay small.
pub const BATCH_BUFFER_KEEP_BYTES: usize = 64 * 1024;

/// Received messages of this many bytes or more reach JS out of band, each as an external
/// ArrayBuffer over the received bytes (or a string made from them) instead of through
/// the batch buffer (issue #10, large messages; one fresh ArrayBuffer per message, R59).
pub const LARGE_MESSAGE_MIN_BYTES: usize = 32 * 1024;

/// Default heartbeat: seconds between Pings (R35, R67).
pub const PING_INTERVAL_DEFAULT_SECS: u32 = 30;

/// Default heartbeat: seconds to wait for a Pong (R35, R67).
pub const PONG_TIMEOUT_DEFAULT_SECS: u32 = 30;

/// A `pingInterval` above this is reset to the default (R35).
pub const PING_INTERVAL_MAX_SECS: u32 = 30_000;

/// Close code used when the caller gives none or an invalid one (R47).
pub const CLOSE_CODE_NORMAL: u16 = 1000;

/// Close code reported for every abnormal end of an open connection (R61, [NODE]).
pub const CLOSE_CODE_ABNORMAL: u16 = 1006;

/// Close code sent when an incoming message exceeds the limit (R59).
pub const CLOSE_CODE_TOO_BIG: u16 = 1009;

/// Close reason used when the caller gives none (R48).
pub const CLOSE_REASON_DEFAULT: &str = "CLOSE_NORMAL";

/// Reason reported when the peer gave none, or the link dropped (R61).
pub const CLOSE_REASON_LINK_DOWN: &str = "The link is down";

/// A close frame carries at most 125 payload bytes, 2 of them the code (RFC 6455 §5.5; R48).
pub const CLOSE_REASON_MAX_BYTES: usize = 123;

/// tungstenite's read buffer, allocated (and zero-filled) per connection, and the most it
/// asks for in one read: its 128 KiB default costs that much per idle connection
/// (`bench/README.md`, "Design measurements", D9). Since the link reads ahead
/// (`runtime::core::inbound`), this no longer bounds a read syscall, only the copy out
/// of the read-ahead buffer (issue #10, memory per connection).
pub const READ_BUFFER_BYTES: usize = 1024;

/// The most one read syscall of an open connection takes; the buffer exists only while
/// data is arriving (issue #10: a large message in 64 KiB reads, not 4 KiB ones).
pub const READ_AHEAD_BYTES: usize = 64 * 1024;

/// Largest HTTP response head a client buffers (upgrade answer, proxy CONNECT answer)
/// before calling it malformed (R21).
pub const RESPONSE_HEAD_MAX_BYTES: usize = 64 * 1024;

/// Pending outgoing bytes after which tungstenite writes to the socket (same reasoning).
pub const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// Most bytes tungstenite holds unwritten (its own frames: Pongs, our Pings and close).
/// A peer that floods Pings and never reads would otherwise pile up one Pong per Ping:
/// past this, tungstenite keeps only the latest Pong waiting (RFC 6455 §5.5.3 allows it).
pub const WRITE_BUFFER_MAX_BYTES: usize = 4 * WRITE_BUFFER_BYTES;

// tungstenite panics on a configuration whose maximum is not above the write threshold.
const _: () = assert!(WRITE_BUFFER_MAX_BYTES > WRITE_BUFFER_BYTES);

// ---- server (spec section (e)) ----

/// Largest handshake request head a server reads; past it the client gets 431
/// (issue #8: bounded against hostile clients).
pub const REQUEST_HEAD_MAX_BYTES: usize = 16 * 1024;

/// Most request headers a server parses; more is a 431 too.
pub const REQUEST_HEADERS_MAX: usize = 128;

/// Largest `maxConcurrentClientsNumber` / `maxConnectionsForOneClient`; above → 2302999 (S4.3).
pub const SERVER_CLIENT_LIMIT_MAX: u32 = 10;

/// Value of either limit when it is absent, not a number, or ≤ 0 (S4.3 [NODE]).
pub const SERVER_CLIENT_LIMIT_DEFAULT: u32 = 10;

/// Handshakes (TCP accepted, 101 not yet sent) one server runs at once; further TCP
/// connections are closed at once until one finishes. Bounds what a flood of idle
/// sockets can hold (20 s each, HANDSHAKE_TIMEOUT_MS) beyond the S9 limits.
pub const SERVER_PENDING_HANDSHAKES_MAX: usize = 128;

/// Refusals (S9 403s, each an S20 `error` event) one server queues while JS
/// has not taken its events; more are counted and reported as one `error` when JS does,
/// so a flood of refused clients cannot grow the queue while JS is busy.
pub const SERVER_REFUSED_EVENTS_PENDING_MAX: usize = 256;

/// Listen backlog of a server socket (Node's default too).
pub const SERVER_LISTEN_BACKLOG: u32 = 511;

/// Close code `stop()` sends to every connection (S6).
pub const CLOSE_CODE_GOING_AWAY: u16 = 1001;

/// Close reason `stop()` sends to every connection (S6).
pub const CLOSE_REASON_SERVER_STOP: &str = "server is going away";

/// I/O worker threads of the shared runtime (measured: see `runtime::runtime`).
pub const IO_THREADS_DEFAULT: usize = 1;

/// Environment variable that sets the number of I/O worker threads (a tuning knob for
/// benchmarks; see `runtime::runtime`).
pub const IO_THREADS_ENV: &str = "OHOS_WS_IO_THREADS";

/// Environment variable that turns on connection lifecycle lines on stderr (issue #9).
pub const DEBUG_ENV: &str = "OHOS_WS_DEBUG";

/// Environment variable choosing where open connections are read (issue #10 item 2):
/// [`POLL_ENV_JS`] = on the JS thread that owns them (where it has libuv),
/// [`POLL_ENV_IO`] = on the I/O thread; unset = each role's measured default (client:
/// JS thread, server: I/O thread; see `runtime::js_thread`).
pub const POLL_ENV: &str = "OHOS_WS_POLL";

/// [`POLL_ENV`]'s value that keeps open connections on the I/O thread.
pub const POLL_ENV_IO: &str = "io";

/// [`POLL_ENV`]'s value that reads open connections on the JS thread.
pub const POLL_ENV_JS: &str = "js";

/// Environment variable that makes one libuv call fail on purpose (`uv_poll_start` or
/// `uv_check_start`, exactly), for the tests of what must follow such a failure
/// (`__test__/js-thread-failures.test.mjs`): libuv gives no way to make those calls
/// fail on a healthy socket and loop, and a silent failure there once left connections
/// hanging with no event (issue #17 item 3). Any other value does nothing.
pub const TEST_FAULT_ENV: &str = "OHOS_WS_TEST_FAULT";

/// Polls of one connection in a row, on the JS thread, while it keeps waking itself
/// (read budget used up, JS answered at once) before the others get their turn.
pub const REDRIVE_ROUNDS_MAX: usize = 4;

/// Client TLS configurations kept for reuse (one per distinct option set and file
/// contents; issue #10 item 5); past this many the cache starts over.
pub const TLS_CONFIGS_CACHED_MAX: usize = 16;
