// SPDY/3.1 frames on the wire (SPDY/3 draft section 2.2, plus 3.1's session window): pure encoders and
// a decoder, no I/O. Every frame has an 8-byte header. A control frame starts with the control bit and
// version 3 (0x8003), then type (u16), flags (u8), length (u24); a data frame starts with the stream id
// (u32, high bit 0), then flags (u8), length (u24). Header blocks are compressed: see HeaderCodec.
import zlib from 'node:zlib';
import { SPDY_DICTIONARY } from './spdy-dictionary.ts';

export const VERSION = 3;
export const TYPE = { SYN_STREAM: 1, SYN_REPLY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, HEADERS: 8, WINDOW_UPDATE: 9 } as const;
export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
/** RST_STREAM status codes used here. */
export const RST = { PROTOCOL_ERROR: 1, INVALID_STREAM: 2, REFUSED_STREAM: 3, CANCEL: 5, FLOW_CONTROL_ERROR: 7, STREAM_ALREADY_CLOSED: 9 } as const;
export const SETTINGS_INITIAL_WINDOW_SIZE = 7;
/** Both the stream and the session window start here (SPDY/3.1). */
export const DEFAULT_WINDOW = 64 * 1024;
export const MAX_LENGTH = 0xffffff;

export type Frame =
  | { kind: 'data'; streamId: number; flags: number; data: Buffer }
  | { kind: 'control'; type: number; flags: number; payload: Buffer };

/** The first whole frame at the start of buf and its size, or undefined while it is incomplete. */
export function readFrame(buf: Buffer): { frame: Frame; size: number } | undefined {
  if (buf.length < 8) return undefined;
  const length = buf.readUIntBE(5, 3);
  if (buf.length < 8 + length) return undefined;
  const flags = buf[4];
  const body = buf.subarray(8, 8 + length);
  if (buf[0] & 0x80) {
    const version = buf.readUInt16BE(0) & 0x7fff;
    if (version !== VERSION) throw new Error(`unsupported SPDY version ${version}`);
    return { frame: { kind: 'control', type: buf.readUInt16BE(2), flags, payload: body }, size: 8 + length };
  }
  return { frame: { kind: 'data', streamId: buf.readUInt32BE(0) & 0x7fffffff, flags, data: body }, size: 8 + length };
}

export function dataFrame(streamId: number, flags: number, data: Buffer = Buffer.alloc(0)): Buffer {
  if (data.length > MAX_LENGTH) throw new Error('DATA frame too long');
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head[4] = flags;
  head.writeUIntBE(data.length, 5, 3);
  return Buffer.concat([head, data]);
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | VERSION, 0);
  head.writeUInt16BE(type, 2);
  head[4] = flags;
  head.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([head, payload]);
}

const u32s = (...values: number[]) => {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
};

/** SYN_STREAM: stream id, associated stream id, priority (3 bits) and slot, then the compressed header block. */
export const synStream = (streamId: number, flags: number, block: Buffer, priority = 0) =>
  controlFrame(TYPE.SYN_STREAM, flags, Buffer.concat([u32s(streamId, 0), Buffer.from([(priority & 7) << 5, 0]), block]));
export const synReply = (streamId: number, flags: number, block: Buffer) => controlFrame(TYPE.SYN_REPLY, flags, Buffer.concat([u32s(streamId), block]));
export const headersFrame = (streamId: number, flags: number, block: Buffer) => controlFrame(TYPE.HEADERS, flags, Buffer.concat([u32s(streamId), block]));
export const rstStream = (streamId: number, status: number) => controlFrame(TYPE.RST_STREAM, 0, u32s(streamId, status));
export const ping = (id: number) => controlFrame(TYPE.PING, 0, u32s(id));
export const goAway = (lastGoodStreamId: number, status = 0) => controlFrame(TYPE.GOAWAY, 0, u32s(lastGoodStreamId, status));
export const windowUpdate = (streamId: number, delta: number) => controlFrame(TYPE.WINDOW_UPDATE, 0, u32s(streamId, delta));
/** SETTINGS entries: flags (u8) + id (u24), then the value (u32). */
export const settings = (entries: Array<{ id: number; value: number }>) =>
  controlFrame(TYPE.SETTINGS, 0, Buffer.concat([u32s(entries.length), ...entries.map((e) => u32s(e.id & 0xffffff, e.value))]));

export function parseSettings(payload: Buffer): Map<number, number> {
  const out = new Map<number, number>();
  const n = payload.readUInt32BE(0);
  for (let i = 0; i < n && 4 + 8 * i + 8 <= payload.length; i++) out.set(payload.readUInt32BE(4 + 8 * i) & 0xffffff, payload.readUInt32BE(8 + 8 * i));
  return out;
}

export type Headers = Record<string, string>;

/** The uncompressed header block: u32 count, then u32-length-prefixed names and values. Names are lowercase. */
export function encodeHeaderBlock(headers: Headers): Buffer {
  const parts: Buffer[] = [u32s(Object.keys(headers).length)];
  for (const [name, value] of Object.entries(headers)) {
    for (const text of [name.toLowerCase(), value]) {
      const b = Buffer.from(text, 'utf8');
      parts.push(u32s(b.length), b);
    }
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): Headers {
  const out: Headers = {};
  let at = 0;
  const text = () => {
    const len = block.readUInt32BE(at);
    if (at + 4 + len > block.length) throw new Error('truncated SPDY header block');
    at += 4 + len;
    return block.toString('utf8', at - len, at);
  };
  const count = block.readUInt32BE(0);
  at = 4;
  for (let i = 0; i < count; i++) {
    const name = text();
    out[name.toLowerCase()] = text(); // several values would be NUL-separated; nobody here sends them
  }
  return out;
}

/**
 * One direction's header compression: a single zlib stream with the SPDY dictionary for the whole
 * session, each block flushed with Z_SYNC_FLUSH so it ends on a byte boundary in its own frame.
 * Node has no public synchronous API for a long-lived zlib stream, so this is async; calls are
 * serialized here so outputs never mix.
 */
export class HeaderCodec {
  private readonly z: zlib.Deflate | zlib.Inflate;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(direction: 'compress' | 'decompress') {
    // The readable side must hold a whole block's output: its callback waits otherwise (see process).
    const opts = { dictionary: SPDY_DICTIONARY, readableHighWaterMark: 4 * 1024 * 1024 };
    this.z = direction === 'compress' ? zlib.createDeflate(opts) : zlib.createInflate(opts);
    this.z.on('error', () => {}); // a bad block rejects the call instead
  }

  process(input: Buffer): Promise<Buffer> {
    const next = this.queue.then(() => new Promise<Buffer>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.z.once('error', onError);
      if (input.length) this.z.write(input);
      // The flush callback runs once all output up to here is buffered on the readable side.
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.z.off('error', onError);
        const out: Buffer[] = [];
        for (let c: Buffer | null; (c = this.z.read() as Buffer | null) !== null;) out.push(c);
        resolve(Buffer.concat(out));
      });
    }));
    this.queue = next.catch(() => {});
    return next;
  }

  close(): void { this.z.destroy(); }
}
