//! The open-phase driver over an in-memory stream (`tokio::io::duplex`), with the test
//! playing the peer byte by byte: input split at every byte boundary, writes one byte at
//! a time, control frames between fragments, a close from either side in the middle of
//! a message, the receive bounds, and timers firing between drives (tokio's paused
//! clock). Events are read from the connection's queue as JS would get them.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use crate::constants::{CLOSE_TIMEOUT_MS, MESSAGE_FRAGMENTS_MAX, VIOLATION_GRACE_MS};
use crate::engine::frame::{parse_head, unmask};
use crate::engine::heartbeat::Heartbeat;
use crate::engine::session::Session;
use crate::runtime::core::command::Command;
use crate::runtime::core::direct::DirectWriter;
use crate::runtime::core::driver::{Driver, Exit, Start};
use crate::runtime::core::events::{kind, Batch, EventQueue, Notifier};
use crate::runtime::core::heartbeat::HeartbeatTimer;
use crate::runtime::core::link::Link;
use crate::runtime::core::open::{self, ws_config};
use crate::runtime::core::outbox::Outbox;

/// A test that polls the duplex by hand, far past tokio's per-task budget (after which
/// tokio's I/O types pend until the task yields): run unbudgeted.
macro_rules! unbudgeted {
    ($test:meta, $name:ident, $body:block) => {
        #[$test]
        async fn $name() {
            tokio::task::unconstrained(async $body).await
        }
    };
}

struct Nop;
impl Notifier for Nop {
    fn notify(&self) -> bool {
        true
    }
}

/// One event as JS decodes it: kind, payload as text, extra.
type Event = (u32, String, u32);

/// A frame as the peer reads it: opcode, FIN, unmasked payload.
type Frame = (u8, bool, Vec<u8>);

/// Our side (the driver) and the peer's end of the stream.
struct Pair {
    driver: Driver<DuplexStream>,
    peer: DuplexStream,
    outbox: Arc<Outbox>,
    queue: Arc<EventQueue>,
    /// Bytes the peer has read from us, not yet parsed into frames.
    unparsed: Vec<u8>,
    /// Whether the peer reads what the driver writes (a peer that does not fills the
    /// pipe, and the driver's writes block).
    reading: bool,
    exit: Option<Exit>,
}

/// A driver of `role` over a duplex of `capacity` bytes each way (1 = every write is
/// split into single bytes).
async fn pair(role: Role, capacity: usize, heartbeat: Option<Heartbeat>) -> Pair {
    let (ours, peer) = tokio::io::duplex(capacity);
    let link = Link::new(ours, role == Role::Server, Vec::new());
    let ws = WebSocketStream::from_raw_socket(link, role, Some(ws_config())).await;
    let outbox = Arc::new(Outbox::default());
    let queue = Arc::new(EventQueue::new(Box::new(Nop)));
    let mut session = Session::new();
    session.on_handshake_done();
    let driver = Driver::new(
        ws,
        Start {
            outbox: outbox.clone(),
            direct: Arc::new(DirectWriter::new(role)),
            queue: queue.clone(),
            session,
            local: Batch::default(),
            outgoing: VecDeque::new(),
            close_timer: None,
            heartbeat: heartbeat.map(HeartbeatTimer::new),
            label: String::new(),
        },
    );
    Pair {
        driver,
        peer,
        outbox,
        queue,
        unparsed: Vec::new(),
        reading: true,
        exit: None,
    }
}

/// A frame as a peer of `role`'s driver sends it: masked when the driver is a server.
fn frame(role: Role, first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let masked = role == Role::Server;
    let mut out = vec![first_byte];
    let len = payload.len();
    let mask_bit = if masked { 0x80 } else { 0 };
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    }
    if masked {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        out.extend_from_slice(&key);
        let mut body = payload.to_vec();
        unmask(&mut body, key);
        out.extend_from_slice(&body);
    } else {
        out.extend_from_slice(payload);
    }
    out
}

fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

impl Pair {
    /// Drives until nothing moves: the driver pends and the peer has nothing to read.
    fn settle(&mut self) {
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..100_000 {
            if self.exit.is_some() {
                return;
            }
            if let Poll::Ready(exit) = self.driver.poll_drive(&mut cx) {
                self.exit = Some(exit);
                self.read_from_driver(&mut cx);
                return;
            }
            if !self.read_from_driver(&mut cx) {
                return;
            }
        }
        panic!("the driver never settled");
    }

    /// Moves what the driver wrote into `unparsed`; `true` if there was any.
    fn read_from_driver(&mut self, cx: &mut Context<'_>) -> bool {
        let mut got = false;
        while self.reading {
            let mut space = [0u8; 4096];
            let mut buf = ReadBuf::new(&mut space);
            match Pin::new(&mut self.peer).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    self.unparsed.extend_from_slice(buf.filled());
                    got = true;
                }
                _ => return got,
            }
        }
        got
    }

    /// The peer sends `bytes`, driving between writes when the duplex is full.
    fn send(&mut self, mut bytes: &[u8]) {
        let mut cx = Context::from_waker(Waker::noop());
        while !bytes.is_empty() {
            match Pin::new(&mut self.peer).poll_write(&mut cx, bytes) {
                Poll::Ready(Ok(n)) => bytes = &bytes[n..],
                Poll::Ready(Err(e)) => panic!("{e}"),
                Poll::Pending => {
                    let before = self.exit.is_some();
                    self.settle();
                    assert!(!before, "the driver stopped reading");
                }
            }
        }
        self.settle();
    }

    /// The peer closes its end: our read side sees the end of the stream.
    fn hang_up(&mut self) {
        let mut cx = Context::from_waker(Waker::noop());
        let _ = Pin::new(&mut self.peer).poll_shutdown(&mut cx);
        self.settle();
    }

    fn command(&mut self, cmd: Command) {
        self.outbox.push(cmd);
        self.settle();
    }

    /// Frames the driver wrote so far, unmasked.
    fn frames(&mut self) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some(h) = parse_head(&self.unparsed) {
            let end = h.frame_len() as usize;
            if self.unparsed.len() < end {
                break;
            }
            let mut payload = self.unparsed[h.header_len..end].to_vec();
            if let Some(mask) = h.mask {
                unmask(&mut payload, mask);
            }
            out.push((h.opcode, h.fin, payload));
            self.unparsed.drain(..end);
        }
        out
    }

    /// Events queued so far, with the terminal ones once the driver has stopped.
    fn events(&mut self) -> Vec<Event> {
        if let Some(exit) = self.exit.take() {
            open::end(&mut self.driver, exit);
            self.exit = Some(Exit::JsGone);
        }
        let batch = self.queue.take();
        let mut at = 0;
        batch
            .meta
            .chunks(3)
            .map(|t| {
                let len = t[1] as usize;
                let text = String::from_utf8_lossy(&batch.payload[at..at + len]).into_owned();
                at += len;
                (t[0], text, t[2])
            })
            .filter(|e| e.0 != kind::CONN)
            .collect()
    }

    fn ended(&self) -> bool {
        self.exit.is_some()
    }
}

fn text(s: &str) -> Event {
    (kind::TEXT, s.into(), 0)
}

fn binary(s: &str) -> Event {
    (kind::BINARY, s.into(), 0)
}

fn close_event(code: u16, reason: &str) -> Event {
    (kind::CLOSE, reason.into(), u32::from(code))
}

fn peer_closing() -> Event {
    (kind::PEER_CLOSING, String::new(), 0)
}

/// A text, a Ping, a binary message in two fragments with a Ping between them, a close.
fn conversation(role: Role) -> Vec<u8> {
    let mut input = Vec::new();
    input.extend(frame(role, 0x81, b"hello"));
    input.extend(frame(role, 0x89, b"p1"));
    input.extend(frame(role, 0x02, b"ab"));
    input.extend(frame(role, 0x89, b"p2"));
    input.extend(frame(role, 0x80, b"cd"));
    input.extend(frame(role, 0x88, &close_payload(1000, "bye")));
    input
}

unbudgeted!(
    tokio::test,
    input_split_at_every_byte_boundary_gives_the_same_events_and_replies,
    {
        for role in [Role::Client, Role::Server] {
            let input = conversation(role);
            for split in 0..=input.len() {
                for capacity in [1, 4096] {
                    let mut p = pair(role, capacity, None).await;
                    p.send(&input[..split]);
                    p.send(&input[split..]);
                    // RFC 6455 §7.1.1: the server drops TCP first, the client waits.
                    assert_eq!(p.ended(), role == Role::Server, "{role:?} split at {split}");
                    p.hang_up();
                    assert!(p.ended());
                    let events = p.events();
                    assert_eq!(
                        events,
                        vec![
                            text("hello"),
                            binary("abcd"),
                            peer_closing(),
                            close_event(1000, "bye")
                        ],
                        "{role:?} split at {split}, capacity {capacity}"
                    );
                    let frames = p.frames();
                    assert_eq!(
                        frames,
                        vec![
                            (0xa, true, b"p1".to_vec()),
                            (0xa, true, b"p2".to_vec()),
                            (0x8, true, close_payload(1000, "bye")),
                        ],
                        "{role:?} split at {split}: Pongs in order, then the close reply"
                    );
                }
            }
        }
    }
);

unbudgeted!(
    tokio::test,
    sends_are_written_in_order_through_a_one_byte_pipe_and_dropped_once_closing,
    {
        let mut p = pair(Role::Server, 1, None).await;
        let direct = DirectWriter::new(Role::Server);
        for i in 0..20u8 {
            let payload = vec![i; usize::from(i) * 10];
            let frame = direct.encode(&crate::runtime::core::command::Payload::Binary(&payload));
            p.outbox.push(Command::Frame(frame));
        }
        p.command(Command::Close {
            code: Some(4000.0),
            reason: Some("done".into()),
        });
        // R45: after close(), sends are dropped.
        p.command(Command::Frame(vec![0x81, 0x01, b'x']));
        let frames = p.frames();
        assert_eq!(
            frames.len(),
            21,
            "{frames:?} {:?}",
            &p.unparsed[..p.unparsed.len().min(40)]
        );
        for (i, f) in frames[..20].iter().enumerate() {
            assert_eq!(f, &(0x2, true, vec![i as u8; i * 10]));
        }
        assert_eq!(frames[20], (0x8, true, close_payload(4000, "done")));
        // The peer's answer ends the handshake; its end of TCP ends the connection.
        p.send(&frame(Role::Server, 0x88, &close_payload(4000, "done")));
        p.hang_up();
        assert_eq!(p.events(), vec![close_event(4000, "done")]);
    }
);

unbudgeted!(
    tokio::test,
    pongs_written_while_the_socket_is_full_never_interleave_with_data_frames,
    {
        let mut p = pair(Role::Server, 100, None).await;
        let direct = DirectWriter::new(Role::Server);
        p.reading = false;
        for i in 0..60u8 {
            p.send(&frame(Role::Server, 0x89, &[i; 125]));
            let payload = [i; 30];
            let data = direct.encode(&crate::runtime::core::command::Payload::Binary(&payload));
            p.command(Command::Frame(data));
        }
        p.reading = true;
        p.settle();
        let frames = p.frames();
        assert!(p.unparsed.is_empty(), "whole frames only");
        let data: Vec<_> = frames.iter().filter(|f| f.0 == 0x2).collect();
        assert_eq!(data.len(), 60);
        for (i, f) in data.iter().enumerate() {
            assert_eq!(f.2, vec![i as u8; 30], "data frames whole and in order");
        }
        assert!(
            frames
                .iter()
                .all(|f| f.0 == 0x2 || (f.0 == 0xa && f.2.len() == 125)),
            "nothing but whole Pongs between them"
        );
    }
);

unbudgeted!(
    tokio::test,
    the_peer_closing_in_the_middle_of_a_message_delivers_no_part_of_it,
    {
        let mut p = pair(Role::Client, 4096, None).await;
        p.send(&frame(Role::Client, 0x01, b"half of"));
        p.send(&frame(Role::Client, 0x88, &close_payload(1001, "gone")));
        assert_eq!(p.frames(), vec![(0x8, true, close_payload(1001, "gone"))]);
        p.hang_up();
        assert_eq!(
            p.events(),
            vec![peer_closing(), close_event(1001, "gone")],
            "the unfinished message is not delivered"
        );
    }
);

unbudgeted!(
    tokio::test,
    closing_ourselves_in_the_middle_of_a_message_still_delivers_what_completes,
    {
        let mut p = pair(Role::Client, 4096, None).await;
        p.send(&frame(Role::Client, 0x01, b"first "));
        p.command(Command::Close {
            code: None,
            reason: None,
        });
        assert_eq!(
            p.frames(),
            vec![(0x8, true, close_payload(1000, "CLOSE_NORMAL"))]
        );
        // The peer finishes its message before it answers (RFC 6455 §5.5.1 allows it).
        p.send(&frame(Role::Client, 0x80, b"half"));
        p.send(&frame(Role::Client, 0x88, &close_payload(1000, "")));
        p.hang_up();
        assert_eq!(
            p.events(),
            vec![text("first half"), close_event(1000, "CLOSE_NORMAL")]
        );
    }
);

unbudgeted!(
    tokio::test,
    a_breach_lets_js_answer_once_then_the_close_frame_goes_out,
    {
        let mut p = pair(Role::Client, 4096, None).await;
        p.send(&frame(Role::Client, 0x81, b"last good"));
        p.send(&frame(Role::Client, 0x81, &[0xff, 0xfe]));
        let events = p.events();
        assert_eq!(events[0], text("last good"));
        assert_eq!(events[1].0, kind::ACK_REQUEST);
        assert!(p.frames().is_empty(), "nothing until JS has answered");
        // JS's answer to the message goes out before the close frame.
        p.outbox.push(Command::Frame(vec![0x82, 0x80, 0, 0, 0, 0]));
        p.command(Command::Ack);
        let frames = p.frames();
        assert_eq!(frames[0], (0x2, true, vec![]));
        assert_eq!(frames[1], (0x8, true, 1007u16.to_be_bytes().to_vec()));
        assert!(p.ended());
        let events = p.events();
        assert_eq!(events[0].0, kind::ERROR);
        assert_eq!(events[1], close_event(1006, "The link is down"));
    }
);

unbudgeted!(
    tokio::test,
    one_fragment_too_many_fails_the_connection_with_1009,
    {
        let mut p = pair(Role::Server, 1 << 16, None).await;
        let mut input = frame(Role::Server, 0x01, b"x");
        let cont = frame(Role::Server, 0x00, b"");
        for _ in 1..MESSAGE_FRAGMENTS_MAX {
            input.extend_from_slice(&cont);
        }
        p.send(&input);
        assert!(
            !p.ended() && p.events().is_empty(),
            "the bound itself is allowed"
        );
        p.send(&cont);
        assert_eq!(p.events()[0].0, kind::ACK_REQUEST);
        p.command(Command::Ack);
        assert_eq!(
            p.frames(),
            vec![(0x8, true, 1009u16.to_be_bytes().to_vec())]
        );
        assert!(p.ended());
        let events = p.events();
        assert_eq!(events.last(), Some(&close_event(1009, "The link is down")));
    }
);

unbudgeted!(
    tokio::test(start_paused = true),
    heartbeat_timers_fire_between_drives_and_a_pong_in_the_socket_counts,
    {
        let beat = Heartbeat {
            ping_interval_secs: 2,
            pong_timeout_secs: 3,
        };
        let mut p = pair(Role::Client, 4096, Some(beat)).await;
        p.settle();
        tokio::time::advance(Duration::from_secs(2)).await;
        p.settle();
        assert_eq!(
            p.frames(),
            vec![(0x9, true, vec![])],
            "R65: a Ping per interval"
        );
        // The Pong arrives in time but is read only when the timeout is judged.
        tokio::time::advance(Duration::from_millis(2_900)).await;
        let mut cx = Context::from_waker(Waker::noop());
        let pong = frame(Role::Client, 0x8a, b"");
        assert!(Pin::new(&mut p.peer).poll_write(&mut cx, &pong).is_ready());
        tokio::time::advance(Duration::from_millis(200)).await;
        p.settle();
        assert!(
            !p.ended(),
            "the Pong waiting in the socket is read before judging"
        );
        // The next Ping goes unanswered: R66, an abnormal end after pongTimeout.
        tokio::time::advance(Duration::from_secs(2)).await;
        p.settle();
        assert_eq!(p.frames(), vec![(0x9, true, vec![])]);
        tokio::time::advance(Duration::from_millis(2_999)).await;
        p.settle();
        assert!(!p.ended());
        tokio::time::advance(Duration::from_millis(1)).await;
        p.settle();
        assert!(p.ended());
        let events = p.events();
        assert_eq!(events[0].0, kind::ERROR);
        assert!(events[0].1.contains("pong"), "{events:?}");
        assert_eq!(events[1], close_event(1006, "The link is down"));
    }
);

unbudgeted!(
    tokio::test(start_paused = true),
    deadlines_end_a_close_the_peer_never_answers_and_a_breach_js_never_acks,
    {
        let mut p = pair(Role::Client, 4096, None).await;
        p.command(Command::Close {
            code: Some(1000.0),
            reason: Some("bye".into()),
        });
        tokio::time::advance(Duration::from_millis(CLOSE_TIMEOUT_MS - 1)).await;
        p.settle();
        assert!(!p.ended());
        tokio::time::advance(Duration::from_millis(1)).await;
        p.settle();
        assert!(p.ended(), "R49");
        assert_eq!(p.events(), vec![close_event(1000, "bye")]);

        let mut p = pair(Role::Client, 4096, None).await;
        p.send(&frame(Role::Client, 0x81, &[0xc3]));
        assert_eq!(p.events()[0].0, kind::ACK_REQUEST);
        tokio::time::advance(Duration::from_millis(VIOLATION_GRACE_MS)).await;
        p.settle();
        assert!(p.ended(), "the grace is bounded");
        assert!(p.frames().is_empty(), "no close frame without JS's answer");
    }
);

unbudgeted!(
    tokio::test,
    a_reset_in_the_middle_of_a_frame_is_an_abnormal_end,
    {
        let mut p = pair(Role::Client, 4096, None).await;
        p.send(&frame(Role::Client, 0x81, b"whole"));
        let cut = frame(Role::Client, 0x81, b"never finished");
        p.send(&cut[..5]);
        drop(std::mem::replace(&mut p.peer, tokio::io::duplex(1).0));
        p.settle();
        assert!(p.ended());
        let events = p.events();
        assert_eq!(events[0], text("whole"));
        assert_eq!(events[1].0, kind::ERROR);
        assert_eq!(events[2], close_event(1006, "The link is down"));
    }
);

/// The in-memory stream is a real `Transport`: nothing to write through, nothing to re-arm.
#[test]
fn the_duplex_is_a_transport_without_a_socket() {
    use crate::runtime::core::transport::Transport;
    let (a, _b) = tokio::io::duplex(1);
    assert!(a.plain_socket().is_none());
    let _: &dyn AsyncWrite = &a;
    let _ = io::ErrorKind::Other;
}
