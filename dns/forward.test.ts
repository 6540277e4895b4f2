// Forwarding names outside the cluster domain, against fake upstream resolvers on 127.0.0.1
// started here (never a real outside resolver): one that answers, one that never does, one
// whose port is closed, and the server itself as its own upstream (a loop).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { silentLogger } from '../lib/logger.ts';
import { Forwarder, isSelf, parseUpstream, resolvConfNameservers, type Upstream } from './forward.ts';
import { DnsServer, type Answer, type Lookup } from './server.ts';
import { aRecord, decodeMessage, EDE, edeOf, encodeMessage, optRecord, RCode, RRClass, RRType, type Message } from './wire.ts';

const query = (name: string, extra: Partial<Message> = {}): Message => ({
  header: { id: 0x4242, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, rcode: 0 },
  questions: [{ name, type: RRType.A, class: RRClass.IN }], answers: [], authorities: [], additionals: [], ...extra,
});

/** Our cluster lookup in small: cluster.local is ours, the rest is forwarded. */
const clusterLookup: Lookup = (q): Answer => (q.name.endsWith('cluster.local')
  ? { rcode: RCode.NOERROR, answers: [aRecord(q.name, '10.96.0.1', 5)] }
  : { rcode: RCode.REFUSED, forward: true });

/** A fake upstream: example.com and big.example.com (60 A records, too big for classic UDP). */
const upstreamLookup: Lookup = (q): Answer => {
  const name = q.name.toLowerCase();
  if (name === 'example.com') return { rcode: RCode.NOERROR, answers: [aRecord(q.name, '192.0.2.10', 300)] };
  if (name === 'big.example.com') return { rcode: RCode.NOERROR, answers: [...Array(60)].map((_, i) => aRecord(q.name, `192.0.2.${i + 1}`, 300)) };
  return { rcode: RCode.NXDOMAIN };
};

async function server(lookup: Lookup, upstreams: Upstream[] | undefined, attemptTimeoutMs = 300): Promise<{ s: DnsServer; port: number }> {
  const logger = silentLogger();
  const forwarder = upstreams && new Forwarder({ upstreams, logger, attemptTimeoutMs });
  const s = new DnsServer({ host: '127.0.0.1', port: 0, domain: 'cluster.local', logger, lookup, forwarder });
  return { s, port: (await s.listen()).udpPort };
}

/** One query over UDP to 127.0.0.1:port; rejects if nothing comes back within `ms`. */
function askUdp(port: number, m: Message, ms = 5000): Promise<Message> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => { sock.close(); reject(new Error('no UDP answer')); }, ms);
    sock.on('message', (msg) => { clearTimeout(timer); sock.close(); resolve(decodeMessage(msg)); });
    sock.send(encodeMessage(m), port, '127.0.0.1');
  });
}

function askTcp(port: number, m: Message): Promise<Message> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const body = encodeMessage(m);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(body.length);
    sock.write(Buffer.concat([len, body]));
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { sock.destroy(); resolve(decodeMessage(buf.subarray(2, 2 + buf.readUInt16BE(0)))); }
    });
    sock.on('error', reject);
  });
}

describe('forwarding to an upstream resolver', () => {
  const closers: Array<() => Promise<unknown> | unknown> = [];
  let upstream: number;
  let silent: dgram.Socket;
  let silentPort: number;
  let closedPort: number;

  before(async () => {
    const up = await server(upstreamLookup, undefined);
    upstream = up.port;
    closers.push(() => up.s.close());
    // Bound, reads everything, answers nothing.
    silent = dgram.createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    silentPort = silent.address().port;
    closers.push(() => new Promise<void>((r) => silent.close(() => r())));
    // A port nobody listens on (bound then closed): UDP sends get ICMP port unreachable.
    const tmp = dgram.createSocket('udp4');
    await new Promise<void>((r) => tmp.bind(0, '127.0.0.1', r));
    closedPort = tmp.address().port;
    await new Promise<void>((r) => tmp.close(() => r()));
  });
  after(async () => { for (const c of closers.reverse()) await c(); });

  test('a name outside the domain is answered by the upstream, under the client ID, over UDP and TCP', async () => {
    const { s, port } = await server(clusterLookup, [{ host: '127.0.0.1', port: upstream }]);
    closers.push(() => s.close());
    const udp = await askUdp(port, query('Example.COM'));
    assert.equal(udp.header.id, 0x4242);
    assert.equal(udp.header.rcode, RCode.NOERROR);
    assert.deepEqual(udp.answers.map((a) => a.data), [{ kind: 'A', address: '192.0.2.10' }]);
    assert.equal(udp.answers[0].ttl, 300); // the upstream's record, as it sent it
    assert.equal((await askUdp(port, query('nope.example.com'))).header.rcode, RCode.NXDOMAIN);
    // Cluster names are still ours, and say recursion is available now.
    const own = await askUdp(port, query('web.default.svc.cluster.local'));
    assert.deepEqual(own.answers.map((a) => a.data), [{ kind: 'A', address: '10.96.0.1' }]);
    assert.equal(own.header.ra, true);
    // Too big for 512 bytes: TC over UDP, all of it over TCP (the forward uses the client's transport).
    assert.equal((await askUdp(port, query('big.example.com'))).header.tc, true);
    const tcp = await askTcp(port, query('big.example.com'));
    assert.equal(tcp.header.id, 0x4242);
    assert.equal(tcp.answers.length, 60);
    assert.match(await s.metricsText(), /dns_forward_total\{result="forwarded"\} 4/);
  });

  test('a silent upstream is skipped for the next one within the attempt timeout', async () => {
    const { s, port } = await server(clusterLookup, [{ host: '127.0.0.1', port: silentPort }, { host: '127.0.0.1', port: upstream }]);
    closers.push(() => s.close());
    const t0 = Date.now();
    const r = await askUdp(port, query('example.com'));
    assert.deepEqual(r.answers.map((a) => a.data), [{ kind: 'A', address: '192.0.2.10' }]);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  });

  test('no upstream answering: SERVFAIL soon, with an Extended DNS Error saying why', async () => {
    const { s, port } = await server(clusterLookup, [{ host: '127.0.0.1', port: silentPort }, { host: '127.0.0.1', port: closedPort }]);
    closers.push(() => s.close());
    const t0 = Date.now();
    const r = await askUdp(port, query('example.com', { additionals: [optRecord(1232)] }));
    assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`); // two tries of 300 ms at most
    assert.equal(r.header.rcode, RCode.SERVFAIL);
    assert.deepEqual(edeOf(r.additionals.find((a) => a.type === RRType.OPT)),
      [{ code: EDE.NoReachableAuthority, text: `no answer from upstream 127.0.0.1:${silentPort}, 127.0.0.1:${closedPort}` }]);
    // Over TCP a refused connection fails at once.
    const { s: s2, port: p2 } = await server(clusterLookup, [{ host: '127.0.0.1', port: closedPort }], 5000);
    closers.push(() => s2.close());
    const t1 = Date.now();
    assert.equal((await askTcp(p2, query('example.com'))).header.rcode, RCode.SERVFAIL);
    assert.ok(Date.now() - t1 < 1000, `took ${Date.now() - t1} ms`);
  });

  test('without an upstream: SERVFAIL at once, naming the flag', async () => {
    for (const upstreams of [undefined, []]) {
      const { s, port } = await server(clusterLookup, upstreams);
      closers.push(() => s.close());
      const r = await askUdp(port, query('example.com', { additionals: [optRecord(1232)] }));
      assert.equal(r.header.rcode, RCode.SERVFAIL);
      assert.equal(r.header.ra, false);
      assert.deepEqual(edeOf(r.additionals[0]), [{ code: EDE.NoReachableAuthority, text: 'no upstream resolver for names outside cluster.local (dns --upstream)' }]);
    }
  });

  test('past maxInflight, forwards are shed at once instead of piling up sockets', async () => {
    const logger = silentLogger();
    const forwarder = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: silentPort }], logger, attemptTimeoutMs: 500, maxInflight: 2 });
    const packet = encodeMessage(query('example.com'));
    const q = { name: 'example.com', type: RRType.A, class: RRClass.IN };
    const t0 = Date.now();
    const waiting = [forwarder.forward(packet, q, 'udp'), forwarder.forward(packet, q, 'udp')];
    assert.equal(await forwarder.forward(packet, q, 'udp'), undefined);
    assert.ok(Date.now() - t0 < 100, 'shed at once');
    assert.deepEqual(await Promise.all(waiting), [undefined, undefined]);
    assert.deepEqual(forwarder.stats, { forwarded: 0, failed: 2, loops: 0, shed: 1 });
  });

  test('a server that is its own upstream notices the loop and answers SERVFAIL', async () => {
    const logger = silentLogger();
    const upstreams: Upstream[] = [];
    const forwarder = new Forwarder({ upstreams, logger, attemptTimeoutMs: 1000 });
    const s = new DnsServer({ host: '127.0.0.1', port: 0, domain: 'cluster.local', logger, lookup: clusterLookup, forwarder });
    const port = (await s.listen()).udpPort;
    closers.push(() => s.close());
    upstreams.push({ host: '127.0.0.1', port }); // under another name in real life (say, 0.0.0.0 and a node IP)
    const t0 = Date.now();
    const r = await askUdp(port, query('example.com'));
    assert.equal(r.header.rcode, RCode.SERVFAIL);
    assert.ok(Date.now() - t0 < 900, `took ${Date.now() - t0} ms: the loop was not cut short`);
    assert.equal(forwarder.stats.loops, 1);
  });
});

describe('upstream configuration', () => {
  test('resolv.conf nameservers: at most three, IP addresses only', () => {
    const text = '# generated\nsearch example.org\nnameserver 10.0.0.2\nnameserver  fe80::1%eth0\noptions ndots:2\nnameserver ::1\nnameserver 127.0.0.53\nnameserver 1.1.1.1\n';
    assert.deepEqual(resolvConfNameservers(text), ['10.0.0.2', '::1']); // the first three, as glibc; the scoped one dropped
    assert.deepEqual(resolvConfNameservers(''), []);
  });

  test('--upstream values', () => {
    assert.deepEqual(parseUpstream('127.0.0.1'), { host: '127.0.0.1', port: 53 });
    assert.deepEqual(parseUpstream('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
    assert.deepEqual(parseUpstream('[::1]:5353'), { host: '::1', port: 5353 });
    assert.match(parseUpstream('dns.google') as string, /want IP or IP:PORT/);
    assert.match(parseUpstream('127.0.0.1:0') as string, /not a port/);
  });

  test('ourselves is never an upstream', () => {
    assert.equal(isSelf({ host: '127.0.0.1', port: 53 }, { host: '127.0.0.1', port: 53 }), true);
    assert.equal(isSelf({ host: '127.0.0.53', port: 53 }, { host: '0.0.0.0', port: 53 }), true);
    assert.equal(isSelf({ host: '127.0.0.53', port: 53 }, { host: '127.0.0.1', port: 53 }), false); // systemd-resolved: a real upstream
    assert.equal(isSelf({ host: '127.0.0.1', port: 53 }, { host: '127.0.0.1', port: 1053 }), false);
  });
});
