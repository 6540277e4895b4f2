import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';
import { SPDY_DICTIONARY } from './spdy-dictionary.ts';
import {
  FLAG_FIN, HeaderCodec, TYPE, controlFrame, dataFrame, decodeHeaderBlock, encodeHeaderBlock, ping, readFrame, rstStream, synStream, windowUpdate,
} from './spdy-frames.ts';
import { SpdySession, type SpdyStream } from './spdy.ts';

/** Two ends of a real loopback TCP connection. */
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [accepted] = await once(server, 'connection') as [net.Socket];
  await once(client, 'connect').catch(() => {});
  server.close();
  return [client, accepted];
}

async function sessions(): Promise<{ client: SpdySession; server: SpdySession; wire: { toClient: number } }> {
  const [a, b] = await socketPair();
  const wire = { toClient: 0 };
  a.on('data', (d: Buffer) => { wire.toClient += d.length; });
  const client = new SpdySession(a, { role: 'client' }).start();
  const server = new SpdySession(b, { role: 'server' }).start();
  return { client, server, wire };
}

/** Everything a stream's readable side carries (not for-await: that destroys a Duplex whose writable side is still busy). */
const collect = (s: NodeJS.ReadableStream) => new Promise<Buffer>((resolve, reject) => {
  const parts: Buffer[] = [];
  s.on('data', (c: Buffer) => parts.push(c)).on('end', () => resolve(Buffer.concat(parts))).on('error', reject).resume();
});
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** Reads whole frames off a raw socket, for talking to a session byte by byte. */
function frameReader(sock: net.Socket) {
  let buf = Buffer.alloc(0);
  const waiting: Array<() => void> = [];
  sock.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); for (const w of waiting.splice(0)) w(); });
  return async () => {
    for (;;) {
      const got = readFrame(buf);
      if (got) { buf = buf.subarray(got.size); return got.frame; }
      await new Promise<void>((r) => waiting.push(r));
    }
  };
}

describe('SPDY/3.1', () => {
  test('the header dictionary is the published 1423-byte constant', () => {
    assert.equal(SPDY_DICTIONARY.length, 1423);
    assert.equal(sha(SPDY_DICTIONARY), '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
  });

  test('frames round trip, and an incomplete frame waits for more bytes', () => {
    const data = dataFrame(5, FLAG_FIN, Buffer.from('hello'));
    assert.deepEqual(readFrame(data), { frame: { kind: 'data', streamId: 5, flags: FLAG_FIN, data: Buffer.from('hello') }, size: 13 });
    assert.equal(readFrame(data.subarray(0, 12)), undefined);
    assert.equal(readFrame(data.subarray(0, 5)), undefined);
    const rst = readFrame(rstStream(7, 5))!.frame;
    assert.deepEqual(rst, { kind: 'control', type: TYPE.RST_STREAM, flags: 0, payload: Buffer.from([0, 0, 0, 7, 0, 0, 0, 5]) });
    const syn = readFrame(synStream(3, FLAG_FIN, Buffer.from('block'), 2))!.frame;
    assert.equal(syn.kind, 'control');
    if (syn.kind === 'control') {
      assert.equal(syn.type, TYPE.SYN_STREAM);
      assert.equal(syn.payload.readUInt32BE(0), 3);
      assert.equal(syn.payload[8] >> 5, 2);
      assert.equal(syn.payload.subarray(10).toString(), 'block');
    }
    assert.equal(controlFrame(TYPE.PING, 0, Buffer.alloc(4)).readUInt16BE(0), 0x8003);
    assert.throws(() => readFrame(Buffer.from([0x80, 0x02, 0, 1, 0, 0, 0, 0])), /unsupported SPDY version 2/);
    const headers = { port: '8080', requestid: '0', streamtype: 'data' };
    assert.deepEqual(decodeHeaderBlock(encodeHeaderBlock(headers)), headers);
  });

  test('header blocks share one zlib stream with the dictionary, one Z_SYNC_FLUSH per frame', async () => {
    const out = new HeaderCodec('compress');
    const inn = new HeaderCodec('decompress');
    const blocks = [{ streamtype: 'error', port: '80', requestid: '0' }, { streamtype: 'data', port: '80', requestid: '0' }, { streamtype: 'data', port: '80', requestid: '1' }];
    const compressed = await Promise.all(blocks.map((b) => out.process(encodeHeaderBlock(b))));
    // The stream carries the dictionary's id (FDICT), and later blocks reuse what earlier ones sent.
    assert.equal(compressed[0][1] & 0x20, 0x20);
    assert.ok(compressed[2].length < compressed[0].length, `${compressed[2].length} < ${compressed[0].length}`);
    // Z_SYNC_FLUSH ends every block with the empty stored block 00 00 ff ff.
    for (const c of compressed) assert.deepEqual([...c.subarray(-4)], [0, 0, 0xff, 0xff]);
    for (let i = 0; i < blocks.length; i++) assert.deepEqual(decodeHeaderBlock(await inn.process(compressed[i])), blocks[i]);
    out.close();
    inn.close();
  });

  test('streams carry headers and data both ways, FIN ending each direction', async (t) => {
    const { client, server } = await sessions();
    t.after(() => { client.close(); server.close(); });
    server.on('stream', (s) => {
      s.reply({ ok: 'yes' });
      s.on('data', (d: Buffer) => s.write(Buffer.from(`${s.headers.greeting} ${d}`)));
      s.on('end', () => s.end());
    });
    const s = client.openStream({ greeting: 'hello' });
    const [reply] = await once(s, 'reply');
    assert.deepEqual(reply, { ok: 'yes' });
    s.end('world');
    assert.equal((await collect(s)).toString(), 'hello world');
    // A second stream on the same session: its header block is decompressed from the same zlib stream.
    const s2 = client.openStream({ greeting: 'bye' });
    s2.end('now');
    assert.equal((await collect(s2)).toString(), 'bye now');
  });

  test('PING is echoed with its id', async (t) => {
    const [raw, b] = await socketPair();
    const server = new SpdySession(b, { role: 'server' }).start();
    t.after(() => { raw.destroy(); server.close(); });
    const next = frameReader(raw);
    raw.write(ping(7));
    for (;;) {
      const f = await next();
      if (f.kind === 'control' && f.type === TYPE.SETTINGS) continue;
      assert.deepEqual(f, { kind: 'control', type: TYPE.PING, flags: 0, payload: Buffer.from([0, 0, 0, 7]) });
      break;
    }
    // And the session's own ping comes back from another session.
    const { client, server: other } = await sessions();
    t.after(() => { client.close(); other.close(); });
    assert.ok(await client.ping() >= 0);
  });

  test('flow control: 5 MB each way through 64 KiB windows, and a reader that stops holds the sender at the window', async (t) => {
    const { client, server, wire } = await sessions();
    t.after(() => { client.close(); server.close(); });
    const big = crypto.randomBytes(5 * 1024 * 1024 + 123);
    const upload = crypto.randomBytes(5 * 1024 * 1024 + 7);
    const serverGot = new Promise<Buffer>((resolve) => server.on('stream', (s) => {
      s.reply();
      void collect(s).then(resolve);
      s.end(big);
    }));
    const s = client.openStream({ streamtype: 'data' });
    s.pause();
    s.end(upload);
    // The client reads nothing: the server may send one stream window, then waits for WINDOW_UPDATEs.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(s.readableLength, 64 * 1024, 'exactly one window is buffered for the reader that took none');
    assert.ok(wire.toClient < 80 * 1024, `${wire.toClient} bytes on the wire (one window, frame headers, WINDOW_UPDATEs)`);
    const [down, up] = await Promise.all([collect(s), serverGot]);
    assert.equal(sha(down), sha(big));
    assert.equal(sha(up), sha(upload));
  });

  test('a peer that never sends WINDOW_UPDATE (as spdystream) still gets a large transfer', async (t) => {
    const [raw, b] = await socketPair();
    const server = new SpdySession(b, { role: 'server' }).start();
    t.after(() => { raw.destroy(); server.close(); });
    const big = crypto.randomBytes(1024 * 1024);
    server.on('stream', (s) => { s.reply(); s.end(big); });
    const next = frameReader(raw);
    const codec = new HeaderCodec('compress');
    raw.write(synStream(1, 0, await codec.process(encodeHeaderBlock({ streamtype: 'data' }))));
    const got: Buffer[] = [];
    for (;;) {
      const f = await next();
      if (f.kind === 'data') { got.push(f.data); if (f.flags & FLAG_FIN) break; }
    }
    assert.equal(sha(Buffer.concat(got)), sha(big));
    codec.close();
  });

  test('RST_STREAM ends one stream and leaves the others working; WINDOW_UPDATE for an unknown stream is harmless', async (t) => {
    const { client, server } = await sessions();
    t.after(() => { client.close(); server.close(); });
    const closed: number[] = [];
    server.on('stream', (s: SpdyStream) => {
      s.reply();
      s.on('close', () => closed.push(s.id));
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end());
    });
    const a = client.openStream({ n: 'a' });
    const b = client.openStream({ n: 'b' });
    await once(a, 'reply');
    a.resetStream();
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(closed, [a.id]);
    (client as unknown as { send(f: () => Buffer): void }).send(() => windowUpdate(99, 10));
    b.end('still here');
    assert.equal((await collect(b)).toString(), 'still here');
  });
});
