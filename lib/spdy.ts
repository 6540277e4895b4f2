// A small SPDY/3.1 session over any Duplex (a socket after an HTTP upgrade, or a WebSocket stream),
// enough for what kubectl does with it: port-forward and exec (k8s.io/apimachinery's httpstream,
// built on moby/spdystream). The peer opens streams (SYN_STREAM with headers), we answer (SYN_REPLY);
// each stream is a Duplex of DATA frames, FIN ending a direction and RST_STREAM ending both.
//
// Flow control (SPDY/3.1): both the session and each stream have a 64 KiB window per direction.
// - Receiving: we send WINDOW_UPDATEs as the data is consumed, so a peer that honours windows never
//   stalls on a large transfer; a stream whose reader falls behind gets its update only when read.
// - Sending: spdystream (kubectl, the kubelet) neither sends WINDOW_UPDATEs nor enforces windows, so
//   waiting for them would stall every transfer at 64 KiB. We honour the peer's windows once it has
//   shown it does flow control: a SETTINGS with INITIAL_WINDOW_SIZE or any WINDOW_UPDATE. We send that
//   SETTINGS ourselves when the session starts, so two of these sessions always flow-control each other.
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import {
  DEFAULT_WINDOW, FLAG_FIN, HeaderCodec, RST, SETTINGS_INITIAL_WINDOW_SIZE, TYPE, dataFrame, decodeHeaderBlock,
  encodeHeaderBlock, goAway, parseSettings, ping, readFrame, rstStream, settings, synReply, synStream, windowUpdate,
  type Headers,
} from './spdy-frames.ts';

export type { Headers } from './spdy-frames.ts';

/** Largest DATA payload we send: small enough to interleave streams fairly. */
const MAX_DATA = 16 * 1024;

export interface SpdySessionOptions {
  /** Stream ids: the client opens odd ones, the server even ones. */
  role: 'server' | 'client';
  /** Called for protocol errors and frames we cannot use (the session never throws at its caller). */
  onWarning?: (message: string) => void;
}

export class SpdyStream extends Duplex {
  /** Headers of the SYN_STREAM (streams the peer opened) or of the SYN_REPLY (streams we opened), once known. */
  headers: Headers;
  sendWindow: number;
  /** Bytes received and not yet acknowledged with a WINDOW_UPDATE. */
  unacked = 0;
  localFin = false;
  remoteFin = false;
  /** Set when either side sent RST_STREAM: nothing more goes out. */
  reset = false;

  constructor(readonly session: SpdySession, readonly id: number, headers: Headers, sendWindow: number) {
    super({ allowHalfOpen: true });
    this.headers = headers;
    this.sendWindow = sendWindow;
  }

  /** Accept a stream the peer opened (SYN_REPLY). */
  reply(headers: Headers = {}): void { this.session.reply(this, headers); }

  /** End both directions at once with RST_STREAM. */
  resetStream(status: number = RST.CANCEL): void { this.session.resetStream(this, status); }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.session.sendData(this, chunk).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.session.sendFin(this).then(() => cb(), cb);
  }

  override _read(): void { this.session.acknowledge(this); }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.session.forget(this);
    cb(err);
  }
}

export class SpdySession extends EventEmitter<{ stream: [SpdyStream]; close: [Error | undefined]; goaway: [] }> {
  private readonly streams = new Map<number, SpdyStream>();
  private readonly compressor = new HeaderCodec('compress');
  private readonly decompressor = new HeaderCodec('decompress');
  private nextStreamId: number;
  private nextPingId: number;
  private readonly pings = new Map<number, () => void>();
  private lastPeerStreamId = 0;
  /** The peer's windows for what we send, and whether it does flow control at all (see above). */
  private peerFlowControl = false;
  private peerInitialWindow = DEFAULT_WINDOW;
  private sendWindow = DEFAULT_WINDOW;
  private sessionUnacked = 0;
  private windowWaiters: Array<() => void> = [];
  /** Outgoing frames go through one chain: header blocks compress asynchronously but must stay in order. */
  private out: Promise<void> = Promise.resolve();
  private inChunks: Buffer[] = [];
  private inSize = 0;
  private inNeed = 8;
  private pumping = false;
  private goneAway = false;
  closed = false;

  constructor(private readonly transport: Duplex, private readonly opts: SpdySessionOptions) {
    super();
    this.nextStreamId = opts.role === 'client' ? 1 : 2;
    this.nextPingId = opts.role === 'client' ? 1 : 2;
  }

  /** Start reading the transport. `head` is any bytes that arrived with the upgrade. */
  start(head?: Buffer): this {
    this.send(() => settings([{ id: SETTINGS_INITIAL_WINDOW_SIZE, value: DEFAULT_WINDOW }]));
    this.transport.on('data', (chunk: Buffer) => this.received(chunk));
    this.transport.on('end', () => this.close());
    this.transport.on('close', () => this.close());
    this.transport.on('error', (err) => this.close(err));
    if (head?.length) this.received(head);
    return this;
  }

  /** Open a stream (SYN_STREAM); its reply headers arrive as the stream's 'reply' event. */
  openStream(headers: Headers, opts: { fin?: boolean } = {}): SpdyStream {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = this.track(new SpdyStream(this, id, headers, this.peerInitialWindow));
    const block = encodeHeaderBlock(headers);
    this.send(async () => synStream(id, opts.fin ? FLAG_FIN : 0, await this.compressor.process(block)));
    if (opts.fin) { stream.localFin = true; stream.end(); }
    return stream;
  }

  /** Round trip a PING; resolves with the milliseconds it took. */
  ping(): Promise<number> {
    const id = this.nextPingId;
    this.nextPingId += 2;
    const start = Date.now();
    return new Promise((resolve) => {
      this.pings.set(id, () => resolve(Date.now() - start));
      this.send(() => ping(id));
    });
  }

  /** GOAWAY, then end the transport once what is queued has gone out. */
  async goAway(): Promise<void> {
    if (this.closed) return;
    this.goneAway = true;
    await this.enqueue(() => goAway(this.lastPeerStreamId)).catch(() => {});
    this.transport.end();
  }

  close(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.streams.values()]) { s.reset = true; s.destroy(); }
    this.wakeWindowWaiters();
    this.compressor.close();
    this.decompressor.close();
    this.transport.destroy();
    this.emit('close', err);
  }

  // ---- used by SpdyStream ----

  reply(stream: SpdyStream, headers: Headers): void {
    const block = encodeHeaderBlock(headers);
    this.send(async () => synReply(stream.id, 0, await this.compressor.process(block)));
  }

  resetStream(stream: SpdyStream, status: number): void {
    if (!stream.reset) { stream.reset = true; this.send(() => rstStream(stream.id, status)); }
    stream.destroy();
  }

  async sendData(stream: SpdyStream, chunk: Buffer): Promise<void> {
    for (let at = 0; at < chunk.length;) {
      const n = await this.reserve(stream, Math.min(MAX_DATA, chunk.length - at));
      const part = chunk.subarray(at, at + n);
      await this.enqueue(() => dataFrame(stream.id, 0, part));
      at += n;
    }
  }

  async sendFin(stream: SpdyStream): Promise<void> {
    if (stream.localFin) return;
    stream.localFin = true;
    await this.enqueue(() => dataFrame(stream.id, FLAG_FIN));
    this.settle(stream);
  }

  /** The reader wants more: acknowledge what it has taken so the peer may send again. */
  acknowledge(stream: SpdyStream): void {
    if (stream.unacked > 0 && !stream.remoteFin && !stream.reset) {
      const n = stream.unacked;
      stream.unacked = 0;
      this.send(() => windowUpdate(stream.id, n));
    }
  }

  forget(stream: SpdyStream): void {
    if (!stream.reset && !(stream.localFin && stream.remoteFin) && !this.closed) {
      // Destroyed half way (e.g. its socket went away): tell the peer.
      stream.reset = true;
      this.send(() => rstStream(stream.id, RST.CANCEL));
    }
    this.streams.delete(stream.id);
    this.wakeWindowWaiters();
    this.maybeFinish();
  }

  // ---- sending ----

  private track(stream: SpdyStream): SpdyStream {
    this.streams.set(stream.id, stream);
    return stream;
  }

  /** Queue a frame; failures (the session closed) are dropped. */
  private send(build: () => Buffer | Promise<Buffer>): void { this.enqueue(build).catch(() => {}); }

  private enqueue(build: () => Buffer | Promise<Buffer>): Promise<void> {
    const next = this.out.then(async () => {
      if (this.closed) throw new Error('SPDY session closed');
      const frame = await build();
      if (!this.transport.write(frame)) await this.drained();
    });
    this.out = next.catch(() => {});
    return next;
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { this.transport.off('drain', done); this.transport.off('close', done); resolve(); };
      this.transport.on('drain', done);
      this.transport.on('close', done);
    });
  }

  /** Wait until the peer's windows let us send, and take up to `want` bytes of them. */
  private async reserve(stream: SpdyStream, want: number): Promise<number> {
    for (;;) {
      if (this.closed || stream.reset || stream.destroyed) throw new Error('SPDY stream closed');
      if (!this.peerFlowControl) return want;
      const n = Math.min(want, stream.sendWindow, this.sendWindow);
      if (n > 0) {
        stream.sendWindow -= n;
        this.sendWindow -= n;
        return n;
      }
      await new Promise<void>((resolve) => this.windowWaiters.push(resolve));
    }
  }

  private wakeWindowWaiters(): void {
    for (const wake of this.windowWaiters.splice(0)) wake();
  }

  // ---- receiving ----

  private received(chunk: Buffer): void {
    this.inChunks.push(chunk);
    this.inSize += chunk.length;
    if (!this.pumping) void this.pump();
  }

  /** Handle whole frames in order; a frame with a header block waits for its decompression. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (!this.closed && this.inSize >= this.inNeed) {
        const buf = this.inChunks.length === 1 ? this.inChunks[0] : Buffer.concat(this.inChunks);
        const got = readFrame(buf);
        if (!got) {
          // Incomplete: wait for the whole frame before concatenating again.
          this.inChunks = [buf];
          this.inNeed = buf.length >= 8 ? 8 + buf.readUIntBE(5, 3) : 8;
          break;
        }
        const rest = buf.subarray(got.size);
        this.inChunks = rest.length ? [rest] : [];
        this.inSize = rest.length;
        this.inNeed = 8;
        if (got.frame.kind === 'data') this.onData(got.frame.streamId, got.frame.flags, got.frame.data);
        else await this.onControl(got.frame.type, got.frame.flags, got.frame.payload);
      }
    } catch (err) {
      this.opts.onWarning?.(`SPDY protocol error: ${(err as Error).message}`);
      this.send(() => goAway(this.lastPeerStreamId, 1));
      await this.out;
      this.close(err as Error);
    } finally {
      this.pumping = false;
    }
  }

  private onData(id: number, flags: number, data: Buffer): void {
    const stream = this.streams.get(id);
    // Session window: acknowledged on receipt (each stream's window bounds what it buffers).
    this.sessionUnacked += data.length;
    if (this.sessionUnacked >= DEFAULT_WINDOW / 2) {
      const n = this.sessionUnacked;
      this.sessionUnacked = 0;
      this.send(() => windowUpdate(0, n));
    }
    if (!stream || stream.remoteFin) {
      if (!stream && id !== 0) this.send(() => rstStream(id, RST.INVALID_STREAM));
      return;
    }
    if (data.length) {
      stream.unacked += data.length;
      const more = stream.push(data);
      if (more && stream.unacked >= DEFAULT_WINDOW / 2) this.acknowledge(stream);
    }
    if (flags & FLAG_FIN) this.remoteEnded(stream);
  }

  private async onControl(type: number, flags: number, p: Buffer): Promise<void> {
    switch (type) {
      case TYPE.SYN_STREAM: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.decompressor.process(p.subarray(10)));
        if (this.goneAway || this.streams.has(id) || id <= this.lastPeerStreamId) {
          this.send(() => rstStream(id, this.goneAway ? RST.REFUSED_STREAM : RST.PROTOCOL_ERROR));
          return;
        }
        this.lastPeerStreamId = id;
        const stream = this.track(new SpdyStream(this, id, headers, this.peerInitialWindow));
        if (flags & FLAG_FIN) this.remoteEnded(stream);
        this.emit('stream', stream);
        return;
      }
      case TYPE.SYN_REPLY:
      case TYPE.HEADERS: {
        const stream = this.streams.get(p.readUInt32BE(0) & 0x7fffffff);
        const headers = decodeHeaderBlock(await this.decompressor.process(p.subarray(4)));
        if (!stream) return;
        if (type === TYPE.SYN_REPLY) { stream.headers = headers; stream.emit('reply', headers); }
        if (flags & FLAG_FIN) this.remoteEnded(stream);
        return;
      }
      case TYPE.RST_STREAM: {
        const stream = this.streams.get(p.readUInt32BE(0) & 0x7fffffff);
        if (stream) { stream.reset = true; stream.destroy(); }
        return;
      }
      case TYPE.SETTINGS: {
        const initial = parseSettings(p).get(SETTINGS_INITIAL_WINDOW_SIZE);
        if (initial === undefined) return;
        this.peerFlowControl = true;
        for (const s of this.streams.values()) s.sendWindow += initial - this.peerInitialWindow;
        this.peerInitialWindow = initial;
        this.wakeWindowWaiters();
        return;
      }
      case TYPE.PING: {
        const id = p.readUInt32BE(0);
        const mine = this.pings.get(id);
        if (mine) { this.pings.delete(id); mine(); } else this.send(() => ping(id));
        return;
      }
      case TYPE.GOAWAY:
        this.goneAway = true;
        this.emit('goaway');
        this.maybeFinish();
        return;
      case TYPE.WINDOW_UPDATE: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const delta = p.readUInt32BE(4) & 0x7fffffff;
        this.peerFlowControl = true;
        if (id === 0) this.sendWindow += delta;
        else { const s = this.streams.get(id); if (s) s.sendWindow += delta; }
        this.wakeWindowWaiters();
        return;
      }
      default:
        return; // unknown control frames are ignored, as the spec says
    }
  }

  private remoteEnded(stream: SpdyStream): void {
    stream.remoteFin = true;
    stream.push(null);
    this.settle(stream);
  }

  /** Both directions done: the stream is over, whether or not anyone reads it to the end. */
  private settle(stream: SpdyStream): void {
    if (!stream.localFin || !stream.remoteFin) return;
    this.streams.delete(stream.id);
    this.maybeFinish();
  }

  /** After GOAWAY from the peer, close once nothing is left. */
  private maybeFinish(): void {
    if (this.goneAway && this.streams.size === 0 && !this.closed) void this.out.then(() => this.close());
  }
}
