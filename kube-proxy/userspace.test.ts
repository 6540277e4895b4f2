// The userspace proxier over real sockets on 127.0.0.1: small TCP and UDP backends that say
// their name, a frontend on a free port, and clients that count who answered.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { closeServer, trackSockets } from '../lib/close-server.ts';
import { freePort } from '../lib/free-port.ts';
import { createLogger } from '../lib/logger.ts';
import { ProxyMetrics } from './metrics.ts';
import type { Backend, ServicePortRule } from './service-map.ts';
import { UserspaceProxier } from './userspace.ts';
import { until as poll } from '../test/harness/until.ts';

const HOST = '127.0.0.1';
const cleanups: Array<() => unknown> = [];
after(async () => { for (const fn of cleanups.reverse()) await fn(); });

type Named = Backend & { name: string };

/**
 * Backends named 'a', 'b', 'c'… in rotation order (by port, as they share one IP); the names
 * are given once the kernel has picked the ports.
 */
async function named(n: number, start: (b: Named) => Promise<number>): Promise<Named[]> {
  const all: Named[] = [];
  for (let i = 0; i < n; i++) {
    const b: Named = { name: '', ip: HOST, port: 0 };
    b.port = await start(b);
    all.push(b);
  }
  all.sort((x, y) => x.port - y.port).forEach((b, i) => { b.name = 'abcdefgh'[i]; });
  return all;
}

/** TCP backends: each says `name\n`, then echoes; a FIN from the client ends it after the echo. */
const tcpBackends = (n: number) => named(n, async (b) => {
  const server = trackSockets(net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.write(`${b.name}\n`);
    s.pipe(s);
  }));
  server.listen(0, HOST);
  await once(server, 'listening');
  cleanups.push(() => closeServer(server));
  return (server.address() as net.AddressInfo).port;
});

/** UDP backends: each answers a datagram with `name:datagram`. */
const udpBackends = (n: number) => named(n, async (b) => {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => s.send(`${b.name}:${m}`, r.port, r.address));
  s.bind(0, HOST);
  await once(s, 'listening');
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return s.address().port;
});

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  s.bind(0, HOST);
  await once(s, 'listening');
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function connect(port: number, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: HOST, port, localAddress });
    s.once('connect', () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

function readLine(s: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i < 0) return;
      s.off('data', onData);
      s.off('error', reject);
      s.pause();
      resolve(buf.slice(0, i));
    };
    s.on('data', onData);
    s.once('error', reject);
    s.resume(); // a paused socket (from an earlier readLine) stays paused when a listener is added
  });
}

/** End a client connection and wait until it is fully closed (FIN passed through both ways). */
async function hangUp(s: net.Socket): Promise<void> {
  const closed = once(s, 'close');
  s.resume();
  s.end();
  await closed;
}

/** One connection through the proxy: which backend answered. */
async function ask(port: number, localAddress?: string): Promise<string> {
  const s = await connect(port, localAddress);
  const name = await readLine(s);
  await hangUp(s);
  return name;
}

async function udpAsk(s: dgram.Socket, port: number, msg: string): Promise<string> {
  const reply = once(s, 'message');
  s.send(msg, port, HOST);
  return String((await reply)[0]);
}

function rule(port: number, backends: Backend[], extra: Partial<ServicePortRule> = {}): ServicePortRule {
  return {
    key: `default/web:http/TCP`, service: 'default/web', portName: 'http', protocol: 'TCP',
    frontends: [{ ip: HOST, port, kind: 'ClusterIP' }], backends, ...extra,
  };
}

/** A proxier whose log lines are kept for assertions; closed after the tests. */
function newProxier(udpIdleMs?: number) {
  const logs: Array<Record<string, any>> = [];
  const logger = createLogger('kube-proxy', { level: 'debug', destination: { write: (line: string) => { logs.push(JSON.parse(line)); } } });
  const metrics = new ProxyMetrics();
  const proxier = new UserspaceProxier({ logger, metrics, udpIdleMs });
  cleanups.push(() => proxier.close());
  return { proxier, metrics, logs };
}

const until = <T>(what: string, fn: () => T | undefined | false, ms = 5000): Promise<T> => poll(what, fn, ms, { everyMs: 10, retryErrors: false });

const labels = { service: 'default/web', port: 'http', protocol: 'TCP' } as const;

describe('UserspaceProxier (TCP)', () => {
  test('round-robin: 30 sequential connections, 10 to each backend, in order', async () => {
    const backends = await tcpBackends(3);
    const { proxier, metrics } = newProxier();
    const port = await freePort();
    await proxier.sync([rule(port, backends)]);
    await proxier.sync([rule(port, backends)]); // idempotent: same listener, same rotation
    const seen: string[] = [];
    for (let i = 0; i < 30; i++) seen.push(await ask(port));
    assert.deepEqual(seen, Array.from({ length: 30 }, (_, i) => 'abc'[i % 3]));
    assert.equal(metrics.get(labels).connections, 30);
    await until('connections closed', () => metrics.get(labels).active === 0);
    assert.match(await metrics.render(), /kubeproxy_service_connections_total\{service="default\/web",port="http",protocol="TCP"\} 30/);
  });

  test('ClientIP affinity pins each client address to one backend', async () => {
    const backends = await tcpBackends(3);
    const { proxier } = newProxier();
    const port = await freePort();
    await proxier.sync([rule(port, backends, { affinity: { timeoutSeconds: 60 } })]);
    const one: string[] = [];
    for (let i = 0; i < 6; i++) one.push(await ask(port, '127.0.0.1'));
    assert.deepEqual(one, ['a', 'a', 'a', 'a', 'a', 'a']);
    const two: string[] = [];
    for (let i = 0; i < 3; i++) two.push(await ask(port, '127.0.0.2'));
    assert.deepEqual(two, ['b', 'b', 'b']);
  });

  test('removing a backend: its open connection goes on, new ones skip it', async () => {
    const [a, b, c] = await tcpBackends(3);
    const { proxier } = newProxier();
    const port = await freePort();
    await proxier.sync([rule(port, [a, b, c])]);
    assert.equal(await ask(port), 'a');
    const open = await connect(port);
    assert.equal(await readLine(open), 'b');

    await proxier.sync([rule(port, [a, c])]);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push(await ask(port));
    assert.deepEqual(seen, ['c', 'a', 'c', 'a', 'c', 'a']);

    open.write('still here\n');
    assert.equal(await readLine(open), 'still here');
    await hangUp(open);
  });

  test('no backends: no listener, connections refused at once; backends back: served', async () => {
    const [a] = await tcpBackends(1);
    const { proxier, metrics } = newProxier();
    const port = await freePort();
    await proxier.sync([rule(port, [])]);
    await assert.rejects(connect(port), { code: 'ECONNREFUSED' });

    await proxier.sync([rule(port, [a])]);
    assert.equal(await ask(port), 'a');
    await proxier.sync([rule(port, [])]);
    await assert.rejects(connect(port), { code: 'ECONNREFUSED' });
    await proxier.sync([rule(port, [a])]);
    assert.equal(await ask(port), 'a');
    assert.equal(metrics.get(labels).connections, 2);
  });

  test('a refusing backend is skipped for the next one', async () => {
    const [a] = await tcpBackends(1);
    const dead = { ip: HOST, port: await freePort() }; // nobody listens there
    const { proxier, metrics } = newProxier();
    const port = await freePort();
    await proxier.sync([rule(port, [a, dead])]);
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push(await ask(port));
    assert.deepEqual(seen, ['a', 'a', 'a', 'a']);
    // The dead one stays in the rotation (until readiness removes it), so it is tried again.
    assert.ok((metrics.get(labels).errors.connect_failed ?? 0) >= 3);
    assert.equal(metrics.get(labels).errors.rejected, undefined);
  });

  test('every backend refusing: the client is reset', async () => {
    const { proxier, metrics } = newProxier();
    const port = await freePort();
    await proxier.sync([rule(port, [{ ip: HOST, port: await freePort() }, { ip: HOST, port: await freePort() }])]);
    const s = await connect(port);
    const [err] = await once(s, 'error').catch((e) => [e]);
    assert.equal(err.code, 'ECONNRESET');
    assert.deepEqual(metrics.get(labels).errors, { connect_failed: 2, rejected: 1 });
  });

  test('20 MB echoed through the proxy arrives intact', async () => {
    const [a] = await tcpBackends(1);
    const { proxier, metrics } = newProxier();
    const port = await freePort();
    await proxier.sync([rule(port, [a])]);
    const data = randomBytes(20 * 1024 * 1024);
    const s = await connect(port);
    const received = createHash('sha256');
    let bytes = 0;
    s.on('data', (d: Buffer) => { received.update(d); bytes += d.length; });
    s.end(data); // half-close: the echo must still come back in full
    await once(s, 'close');
    const expected = createHash('sha256').update('a\n').update(data).digest('hex');
    assert.equal(bytes, data.length + 2);
    assert.equal(received.digest('hex'), expected);
    assert.equal(metrics.get(labels).bytesIn, data.length);
    assert.equal(metrics.get(labels).bytesOut, data.length + 2);
  });

  test('a frontend already in use: logged, retried on the next sync', async () => {
    const [a] = await tcpBackends(1);
    const { proxier, logs } = newProxier();
    const port = await freePort();
    const squatter = trackSockets(net.createServer((s) => s.end('squatter\n')));
    squatter.listen(port, HOST);
    await once(squatter, 'listening');
    await proxier.sync([rule(port, [a])]);
    const warn = logs.find((l) => l.msg === 'listen failed; will retry on the next sync');
    assert.equal(warn?.err?.code, 'EADDRINUSE');
    assert.equal(await ask(port), 'squatter');

    await closeServer(squatter);
    await proxier.sync([rule(port, [a])]);
    assert.equal(await ask(port), 'a');
  });

  test('close() frees the ports', async () => {
    const [a] = await tcpBackends(1);
    const { proxier } = newProxier();
    const [p1, p2] = [await freePort(), await freePort()];
    await proxier.sync([rule(p1, [a]), rule(p2, [a], { key: 'default/other:http/TCP', service: 'default/other' })]);
    const open = await connect(p1); // an open connection does not hold close() up
    assert.equal(await readLine(open), 'a');
    await proxier.close();
    await once(open, 'close');
    for (const p of [p1, p2]) {
      const srv = net.createServer();
      srv.listen(p, HOST);
      await once(srv, 'listening');
      await new Promise((r) => srv.close(r));
    }
  });
});

describe('UserspaceProxier (UDP)', () => {
  const udpRule = (port: number, backends: Backend[]): ServicePortRule => ({
    key: 'default/dns:dns/UDP', service: 'default/dns', portName: 'dns', protocol: 'UDP',
    frontends: [{ ip: HOST, port, kind: 'ClusterIP' }], backends,
  });
  const udpLabels = { service: 'default/dns', port: 'dns', protocol: 'UDP' } as const;

  test('round-robin by flow; a flow sticks; idle flows expire; close() frees the port', async () => {
    const backends = await udpBackends(3);
    const { proxier, metrics } = newProxier(200);
    const port = await freeUdpPort();
    await proxier.sync([udpRule(port, backends)]);

    const clients = Array.from({ length: 6 }, () => dgram.createSocket('udp4'));
    cleanups.push(() => clients.forEach((c) => c.close()));
    const first: string[] = [];
    for (const c of clients) first.push(await udpAsk(c, port, 'hi'));
    assert.deepEqual(first, ['a:hi', 'b:hi', 'c:hi', 'a:hi', 'b:hi', 'c:hi']);
    // The same client (ip:port) stays on its backend.
    assert.equal(await udpAsk(clients[1], port, 'again'), 'b:again');
    assert.equal(await udpAsk(clients[1], port, 'more'), 'b:more');
    assert.equal(metrics.get(udpLabels).connections, 6);

    await until('idle flows closed', () => metrics.get(udpLabels).active === 0);
    assert.equal(await udpAsk(clients[1], port, 'new flow'), 'a:new flow');

    await proxier.close();
    const s = dgram.createSocket('udp4');
    s.bind(port, HOST);
    await once(s, 'listening');
    await new Promise<void>((r) => s.close(() => r()));
  });

  test('removing a backend ends its flows; the client moves on', async () => {
    const [a, b] = await udpBackends(2);
    const { proxier } = newProxier();
    const port = await freeUdpPort();
    await proxier.sync([udpRule(port, [a, b])]);
    const c1 = dgram.createSocket('udp4');
    const c2 = dgram.createSocket('udp4');
    cleanups.push(() => { c1.close(); c2.close(); });
    assert.equal(await udpAsk(c1, port, 'x'), 'a:x');
    assert.equal(await udpAsk(c2, port, 'x'), 'b:x');
    await proxier.sync([udpRule(port, [b])]);
    assert.equal(await udpAsk(c1, port, 'y'), 'b:y');
    assert.equal(await udpAsk(c2, port, 'y'), 'b:y');
  });
});
