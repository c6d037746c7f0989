// A userspace TCP proxy with switchable faults, for the fault-injection suite
// (__test__/faults/). It listens on 127.0.0.1, opens one upstream connection per
// accepted client, and relays bytes in both directions through a per-direction pipe that
// can delay them, throttle them, split them into tiny segments, drop them (black hole),
// or cut the stream in the middle of a chosen WebSocket frame and reset both TCP
// connections (a real RST, socket.resetAndDestroy()).
//
// Directions: 'up' is client → target, 'down' is target → client. Each pipe knows where
// the HTTP head of its direction ends and parses the WebSocket frame headers after it,
// so faults can be aimed at frame boundaries.
import { once } from 'node:events';
import net from 'node:net';
import { HOST, delay } from './servers.mjs';

/** Largest piece a throttled pipe writes at once, so the rate is smooth. */
const THROTTLE_PIECE_BYTES = 1024;
/** Queued bytes (per pipe) above which the source socket is paused. */
const QUEUE_HIGH_BYTES = 1024 * 1024;
/** Pause between the last forwarded byte before a cut and the resets. */
const CUT_SETTLE_MS = 5;

/**
 * The faults in force; read by every pipe each time it handles a chunk, so changing them
 * takes effect at once on open connections too.
 * - `latencyMs`: each chunk leaves this long after it arrived (each direction);
 * - `bytesPerSec`: each direction is paced to this rate;
 * - `segmentBytes`: each write carries at most this many bytes, the next one waits for
 *   the previous write to complete and one event-loop turn (setNoDelay is on, so every
 *   write leaves as its own TCP segment);
 * - `blackhole`: every byte is dropped and nothing about a socket's end is passed on;
 *   both sockets stay open, so each peer is left half-open.
 */
export const NO_FAULTS = Object.freeze({ latencyMs: 0, bytesPerSec: 0, segmentBytes: 0, blackhole: false });

/** A tiny parser that follows the frame boundaries of one direction of a WebSocket stream. */
class FrameTracker {
  constructor() {
    this.pos = 0; // absolute stream offset of the next byte fed
    this.inHead = true; // still inside the HTTP head
    this.headTail = ''; // last bytes of the head seen, to find CRLFCRLF across chunks
    this.header = []; // bytes of a frame header being collected
    this.headerStart = 0;
    this.payloadLeft = 0;
    this.index = 0; // frames seen so far
  }

  /** Feeds a chunk; returns the frames whose header completed inside it. */
  feed(chunk) {
    const frames = [];
    let i = 0;
    if (this.inHead) {
      const text = this.headTail + chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) {
        this.headTail = text.slice(-3);
        this.pos += chunk.length;
        return frames;
      }
      this.inHead = false;
      i = end + 4 - this.headTail.length;
    }
    while (i < chunk.length) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, chunk.length - i);
        this.payloadLeft -= take;
        i += take;
        continue;
      }
      if (this.header.length === 0) this.headerStart = this.pos + i;
      this.header.push(chunk[i]);
      i += 1;
      const frame = this.parseHeader();
      if (frame) {
        frames.push(frame);
        this.header = [];
        this.payloadLeft = frame.payloadLength;
      }
    }
    this.pos += chunk.length;
    return frames;
  }

  /** The frame described by the collected header bytes, once they are complete. */
  parseHeader() {
    const h = this.header;
    if (h.length < 2) return null;
    const masked = (h[1] & 0x80) !== 0;
    const len7 = h[1] & 0x7f;
    const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    const headerLength = 2 + extra + (masked ? 4 : 0);
    if (h.length < headerLength) return null;
    let payloadLength = len7;
    if (extra === 2) payloadLength = (h[2] << 8) | h[3];
    if (extra === 8) payloadLength = Number(Buffer.from(h.slice(2, 10)).readBigUInt64BE(0));
    const frame = {
      index: this.index,
      start: this.headerStart,
      headerLength,
      payloadLength,
      fin: (h[0] & 0x80) !== 0,
      opcode: h[0] & 0x0f,
      masked,
    };
    this.index += 1;
    return frame;
  }
}

/** One direction of a link. */
class Pipe {
  constructor(link, dir, from, to) {
    this.link = link;
    this.dir = dir;
    this.from = from;
    this.to = to;
    this.tracker = new FrameTracker();
    this.queue = []; // {at, and one of: buf | cut | end | abort}
    this.queuedBytes = 0;
    this.running = false;
    this.cutAt = null; // absolute offset at which this direction is cut
    this.nextSendAt = 0; // throttle schedule
    this.ended = false; // the source sent FIN
    this.failed = false; // the source was reset or failed
    this.stats = { bytesIn: 0, bytesOut: 0, writes: 0, dropped: 0, firstWriteAt: 0, lastWriteAt: 0, frames: [] };
    from.on('data', (chunk) => this.onData(chunk));
    from.on('end', () => {
      this.ended = true;
      this.push({ end: true });
    });
    from.on('error', () => {
      this.failed = true;
    });
    from.on('close', () => {
      if (!this.ended) this.push({ abort: true });
    });
  }

  faults() {
    return this.link.proxy.faults;
  }

  onData(chunk) {
    this.stats.bytesIn += chunk.length;
    // Once a cut is under way nothing more is relayed, in either direction.
    if (this.link.cutting) return;
    if (this.faults().blackhole) {
      this.stats.dropped += chunk.length;
      return;
    }
    const chunkStart = this.tracker.pos;
    const frames = this.tracker.feed(chunk);
    this.stats.frames.push(...frames.map((f) => ({ opcode: f.opcode, payloadLength: f.payloadLength })));
    const cut = this.link.proxy.cut;
    if (cut && cut.dir === this.dir && !cut.link) {
      const hit = frames.find((f) => cut.when(f));
      if (hit) {
        cut.link = this.link;
        cut.frame = hit;
        this.cutAt = hit.start + (cut.fraction > 0 ? hit.headerLength + Math.floor(hit.payloadLength * cut.fraction) : 0);
      }
    }
    if (this.cutAt !== null && this.cutAt <= chunkStart + chunk.length) {
      const keep = Math.max(0, this.cutAt - chunkStart);
      this.link.cutting = true;
      this.from.pause();
      if (keep > 0) this.push({ buf: chunk.subarray(0, keep) });
      this.push({ cut: true });
      return;
    }
    this.push({ buf: chunk });
  }

  push(item) {
    item.at = Date.now();
    if (item.buf) {
      this.queuedBytes += item.buf.length;
      if (this.queuedBytes > QUEUE_HIGH_BYTES) this.from.pause();
    }
    this.queue.push(item);
    if (!this.running) this.run();
  }

  async run() {
    this.running = true;
    try {
      await this.drain();
    } catch (err) {
      // A relay failure is a bug of this helper: drop the link, and fail close().
      this.link.proxy.errors.push(err);
      this.link.reset();
    } finally {
      this.running = false;
    }
  }

  async drain() {
    while (this.queue.length) {
      const item = this.queue.shift();
      const f = this.faults();
      if (f.latencyMs > 0) await sleepUntil(item.at + f.latencyMs);
      if (item.buf) {
        this.queuedBytes -= item.buf.length;
        if (this.queuedBytes <= QUEUE_HIGH_BYTES && !this.link.cutting && !this.from.destroyed) this.from.resume();
        await this.forward(item.buf);
      } else if (item.cut) {
        await delay(CUT_SETTLE_MS);
        this.link.reset();
        this.link.proxy.cut?.resolve(this.link);
      } else if (item.end || item.abort) {
        // A black hole passes nothing on, not even an end: the peer stays half-open.
        if (this.faults().blackhole || this.link.cutting) continue;
        if (item.end) this.to.end();
        else if (this.failed) resetSocket(this.to);
        else this.to.destroy();
      }
    }
  }

  /** Writes `buf` to the other side, applying throttle and segmentation. */
  async forward(buf) {
    let off = 0;
    while (off < buf.length) {
      const f = this.faults();
      if (f.blackhole) {
        this.stats.dropped += buf.length - off;
        return;
      }
      let size = buf.length - off;
      if (f.segmentBytes > 0) size = Math.min(size, f.segmentBytes);
      if (f.bytesPerSec > 0) {
        size = Math.min(size, THROTTLE_PIECE_BYTES);
        this.nextSendAt = Math.max(this.nextSendAt, Date.now());
        await sleepUntil(this.nextSendAt);
        this.nextSendAt += (size * 1000) / f.bytesPerSec;
      }
      const piece = buf.subarray(off, off + size);
      off += size;
      if (this.to.destroyed) return;
      this.stats.writes += 1;
      this.stats.bytesOut += piece.length;
      const now = Date.now();
      if (!this.stats.firstWriteAt) this.stats.firstWriteAt = now;
      this.stats.lastWriteAt = now;
      const flushed = new Promise((resolve) => this.to.write(piece, () => resolve()));
      if (f.segmentBytes > 0) {
        await flushed;
        await new Promise((resolve) => setImmediate(resolve));
      } else if (this.to.writableNeedDrain) {
        await Promise.race([next(this.to, 'drain'), next(this.to, 'close')]);
      }
    }
  }
}

/** Resolves on the next `name` event (never rejects, unlike events.once on 'error'). */
function next(emitter, name) {
  return new Promise((resolve) => emitter.once(name, resolve));
}

function sleepUntil(at) {
  const ms = at - Date.now();
  return ms > 0 ? delay(ms) : Promise.resolve();
}

/** A TCP reset (RST) when the socket is still open, a plain destroy otherwise. */
function resetSocket(socket) {
  if (socket.destroyed) return;
  if (socket.readyState === 'open' || socket.readyState === 'readOnly' || socket.readyState === 'writeOnly') {
    socket.resetAndDestroy();
  } else {
    socket.destroy();
  }
}

/**
 * Starts the proxy in front of `target` (`{host, port}`; host defaults to 127.0.0.1).
 * `faults` (see NO_FAULTS) are the initial faults. Returns:
 * - `port`, `url` (`ws://127.0.0.1:PORT`), `faults` (replace with `set()`);
 * - `links`: one entry per accepted client, `{client, upstream, up, down, closed}` where
 *   `up`/`down` are the pipes (each with `stats`: bytesIn, bytesOut, writes, dropped,
 *   firstWriteAt, lastWriteAt, frames) and `closed` resolves once both sockets closed;
 * - `set(faults)`: changes the faults for every link from now on;
 * - `armCut({dir, when, fraction})`: the next frame of direction `dir` for which
 *   `when(frame)` is true (`frame`: {index, opcode, fin, payloadLength, headerLength,
 *   masked}) is forwarded only up to `fraction` of its payload (0: not at all; otherwise
 *   the header and that share of the payload), then both sockets of that link are reset.
 *   Returns a promise of `{link, frame}` once the resets were done;
 * - `releaseAll()`: ends (FIN) every socket still open, e.g. the half-open side of a
 *   black-holed link;
 * - `close()`: resets every socket and stops listening; rejects with the first relay
 *   failure of this helper, if there was one (`errors`).
 */
export async function startFaultProxy(target, faults = {}) {
  const proxy = {
    faults: { ...NO_FAULTS, ...faults },
    links: [],
    cut: null,
    errors: [],
  };
  // Half-open TCP is allowed on both sockets, so an end (FIN) travels in one direction
  // only, as it would without the proxy.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    client.setNoDelay(true);
    client.pause();
    const upstream = net.connect({ port: target.port, host: target.host ?? HOST, allowHalfOpen: true });
    upstream.setNoDelay(true);
    const link = { proxy, client, upstream, cutting: false };
    link.reset = () => {
      resetSocket(client);
      resetSocket(upstream);
    };
    link.closed = Promise.all([next(client, 'close'), next(upstream, 'close')]).then(() => undefined);
    link.up = new Pipe(link, 'up', client, upstream);
    link.down = new Pipe(link, 'down', upstream, client);
    proxy.links.push(link);
    upstream.once('connect', () => client.resume());
    upstream.on('error', () => {});
    client.on('error', () => {});
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address();
  Object.assign(proxy, {
    port,
    url: `ws://${HOST}:${port}`,
    set(next) {
      proxy.faults = { ...NO_FAULTS, ...next };
    },
    armCut({ dir, when = () => true, fraction = 0.5 }) {
      let resolve;
      const done = new Promise((r) => {
        resolve = r;
      });
      proxy.cut = {
        dir,
        when,
        fraction,
        link: null,
        frame: null,
        resolve: (link) => {
          const { frame } = proxy.cut;
          proxy.cut = null;
          resolve({ link, frame });
        },
      };
      return done;
    },
    releaseAll() {
      for (const link of proxy.links) {
        for (const s of [link.client, link.upstream]) if (!s.destroyed) s.end();
      }
    },
    async close() {
      for (const link of proxy.links) link.reset();
      await new Promise((resolve) => server.close(() => resolve()));
      if (proxy.errors.length) throw proxy.errors[0];
    },
  });
  return proxy;
}
