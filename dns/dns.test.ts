// The cluster DNS as it runs: dns/main.ts as its own process against a real apiserver over a
// real etcd, queried with Node's own resolver (c-ares, UDP with TCP fallback) and once with a
// raw TCP socket. Services and Endpoints are written with the real client (no controller
// manager runs, so the test writes Endpoints itself). Names outside the cluster go to a fake
// upstream resolver started here on 127.0.0.1, never to the host's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as dnsp } from 'node:dns';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { KubeObject } from '../api/types.ts';
import { createApiClient, type ApiClient } from '../client/index.ts';
import { testApiServer, type TestApiServer } from '../test/harness/apiserver.ts';
import { silentLogger } from '../lib/logger.ts';
import { DnsServer } from './server.ts';
import { aRecord, decodeMessage, encodeMessage, RCode, RRClass, RRType, type Message } from './wire.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SERVICES = { group: '', resource: 'services' };
const ENDPOINTS = { group: '', resource: 'endpoints' };
const ns = 'default';
const fqdn = (name: string) => `${name}.${ns}.svc.cluster.local`;

interface DnsProcess { child: ChildProcess; dnsPort: number; healthPort: number; exited: Promise<number | null>; stderr: () => string }

/** Start dns/main.ts; resolves once it logged both ports and its caches synced. Pass --upstream:
 *  without it the process would forward to the host's resolver. */
async function startDns(args: string[]): Promise<DnsProcess> {
  assert.ok(args.includes('--upstream'), 'a test DNS always gets --upstream (a local fake or none)');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'dns/main.ts'), '--listen', '127.0.0.1:0', '--port', '0', ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let dnsPort = 0;
  let healthPort = 0;
  const lines = readline.createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    let synced = false;
    lines.on('line', (line) => {
      let rec: { msg?: string; port?: number };
      try { rec = JSON.parse(line); } catch { return; }
      if (rec.msg === 'dns server listening (udp+tcp)') dnsPort = rec.port!;
      if (rec.msg === 'health server listening') healthPort = rec.port!;
      if (rec.msg === 'caches synced: serving') synced = true;
      if (dnsPort && healthPort && synced) resolve();
    });
    void exited.then((code) => reject(new Error(`dns exited (${code}) during start-up: ${stderr}`)));
  });
  return { child, dnsPort, healthPort, exited, stderr: () => stderr };
}

async function stopDns(p: DnsProcess): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  return p.exited;
}

/** Retry `fn` until it stops throwing (the DNS follows the apiserver through its watch). */
async function eventually<T>(what: string, fn: () => Promise<T>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try { return await fn(); } catch (err) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A fresh c-ares channel per query: c-ares caches answers for their TTL, and we watch them change. */
function resolver(port: number): dnsp.Resolver {
  const r = new dnsp.Resolver({ timeout: 2000, tries: 3 });
  r.setServers([`127.0.0.1:${port}`]);
  return r;
}

const rejectsWith = async (p: Promise<unknown>, code: string) => assert.rejects(p, (err: NodeJS.ErrnoException) => err.code === code);

/** Several queries over one TCP connection, written at once, answered in order. */
async function queryTcp(port: number, queries: Message[]): Promise<Message[]> {
  const socket = net.connect(port, '127.0.0.1');
  const bufs = queries.map((q) => { const b = encodeMessage(q); const p = Buffer.alloc(2); p.writeUInt16BE(b.length); return Buffer.concat([p, b]); });
  socket.write(Buffer.concat(bufs));
  const out: Message[] = [];
  let buf = Buffer.alloc(0);
  try {
    for await (const chunk of socket) {
      buf = Buffer.concat([buf, chunk as Buffer]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(decodeMessage(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === queries.length) break;
    }
  } finally {
    socket.destroy();
  }
  return out;
}

const question = (id: number, name: string, type: number): Message => ({
  header: { id, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, rcode: 0 },
  questions: [{ name, type, class: RRClass.IN }], answers: [], authorities: [], additionals: [],
});

const endpoints = (name: string, addresses: Array<{ ip: string; hostname?: string }>, port = 5432): KubeObject => ({
  apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: ns },
  subsets: [{ addresses, ports: [{ name: 'pg', port, protocol: 'TCP' }] }],
});

describe('cluster DNS against a real apiserver', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  let c: ApiClient;
  let dns: DnsProcess;
  let upstream: string;
  const r = () => resolver(dns.dnsPort);

  before(async () => {
    api = await testApiServer({ after: (fn) => cleanups.push(fn) });
    c = createApiClient({ transport: 'grpc', server: api.grpcAddress });
    // The fake upstream: example.com only.
    const fake = new DnsServer({
      host: '127.0.0.1', port: 0, domain: 'example.com', logger: silentLogger(),
      lookup: (q) => (q.name.toLowerCase() === 'example.com' && q.type === RRType.A ? { rcode: RCode.NOERROR, answers: [aRecord(q.name, '192.0.2.10', 60)] } : { rcode: RCode.NXDOMAIN }),
    });
    upstream = `127.0.0.1:${(await fake.listen()).udpPort}`;
    cleanups.push(() => fake.close());
    dns = await startDns(['--server', api.grpcAddress, '--upstream', upstream]);
  });
  after(async () => {
    if (dns) await stopDns(dns);
    await c?.close();
    for (const fn of cleanups.reverse()) await fn();
  });

  test('/readyz and /healthz answer once the caches synced', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${dns.healthPort}/readyz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${dns.healthPort}/healthz`)).status, 200);
  });

  test('a new ClusterIP service resolves to its ClusterIP, with SRV for its named port', async () => {
    const svc = await c.create(SERVICES, ns, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    const ip = svc.spec.clusterIP as string;
    assert.ok(net.isIPv4(ip));
    assert.deepEqual(await eventually('web resolves', () => r().resolve4(fqdn('web'))), [ip]);
    assert.deepEqual(await r().resolve4('WEB.Default.SVC.cluster.local.'), [ip]);
    assert.deepEqual(await r().resolveSrv(`_http._tcp.${fqdn('web')}`), [{ name: fqdn('web'), port: 80, priority: 0, weight: 100 }]);
    // The kubernetes service the apiserver makes for itself is there too.
    assert.equal((await r().resolve4('kubernetes.default.svc.cluster.local')).length, 1);
  });

  test('a headless service follows its endpoints', async () => {
    await c.create(SERVICES, ns, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] } });
    await c.create(ENDPOINTS, ns, endpoints('db', [{ ip: '10.244.0.5', hostname: 'db-0' }, { ip: '10.244.0.6', hostname: 'db-1' }]));
    const ips = await eventually('db has two addresses', async () => {
      const got = (await r().resolve4(fqdn('db'))).sort();
      assert.equal(got.length, 2);
      return got;
    });
    assert.deepEqual(ips, ['10.244.0.5', '10.244.0.6']);
    assert.deepEqual(await r().resolve4(`db-1.${fqdn('db')}`), ['10.244.0.6']);
    const srv = (await r().resolveSrv(`_pg._tcp.${fqdn('db')}`)).map((s) => `${s.name}:${s.port}`).sort();
    assert.deepEqual(srv, [`db-0.${fqdn('db')}:5432`, `db-1.${fqdn('db')}:5432`]);

    // Changed endpoints: db-1 goes, db-2 comes, the port moves.
    const cur = await c.get(ENDPOINTS, ns, 'db');
    await c.update(ENDPOINTS, ns, { ...endpoints('db', [{ ip: '10.244.0.5', hostname: 'db-0' }, { ip: '10.244.0.7', hostname: 'db-2' }], 6432), metadata: cur.metadata });
    await eventually('db follows the update', async () => assert.deepEqual((await r().resolve4(fqdn('db'))).sort(), ['10.244.0.5', '10.244.0.7']));
    await rejectsWith(r().resolve4(`db-1.${fqdn('db')}`), 'ENOTFOUND');
    assert.deepEqual((await r().resolveSrv(`_pg._tcp.${fqdn('db')}`)).map((s) => s.port), [6432, 6432]);
  });

  test('a big answer is truncated over UDP and the resolver gets it all over TCP', async () => {
    await c.create(SERVICES, ns, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'many' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] } });
    const addrs = [...Array(150)].map((_, i) => ({ ip: `10.245.${i >> 8}.${(i & 255) + 1}` }));
    await c.create(ENDPOINTS, ns, endpoints('many', addrs));
    const got = await eventually('150 addresses', async () => {
      const a = await r().resolve4(fqdn('many'));
      assert.equal(a.length, 150);
      return a;
    });
    assert.deepEqual(got.sort(), addrs.map((a) => a.ip).sort());
    const metrics = await (await fetch(`http://127.0.0.1:${dns.healthPort}/metrics`)).text();
    assert.match(metrics, /dns_requests_total\{proto="tcp"\} [1-9]/);
  });

  test('ExternalName answers with a CNAME it does not follow', async () => {
    await c.create(SERVICES, ns, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'db.example.com' } });
    assert.deepEqual(await eventually('ext CNAME', () => r().resolveCname(fqdn('ext'))), ['db.example.com']);
  });

  test('pod names, NXDOMAIN in the domain, names outside it from the upstream', async () => {
    assert.deepEqual(await r().resolve4('10-244-3-9.default.pod.cluster.local'), ['10.244.3.9']);
    await rejectsWith(r().resolve4(fqdn('nope')), 'ENOTFOUND');
    await rejectsWith(r().resolve4('nope.nowhere.svc.cluster.local'), 'ENOTFOUND');
    assert.deepEqual(await r().resolve4('example.com'), ['192.0.2.10']);
    await rejectsWith(r().resolve4('nope.example.com'), 'ENOTFOUND');
  });

  test('--upstream none: names outside the cluster get SERVFAIL at once; a dead upstream within the timeout', async () => {
    const none = await startDns(['--server', api.grpcAddress, '--upstream', 'none']);
    const closed = await new Promise<number>((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); }); });
    const dead = await startDns(['--server', api.grpcAddress, '--upstream', `127.0.0.1:${closed}`, '--forward-timeout-ms', '300']);
    try {
      const t0 = Date.now();
      for (const p of [none, dead]) {
        const res = new dnsp.Resolver({ timeout: 3000, tries: 1 });
        res.setServers([`127.0.0.1:${p.dnsPort}`]);
        await rejectsWith(res.resolve4('example.com'), 'ESERVFAIL');
      }
      assert.ok(Date.now() - t0 < 2500, `took ${Date.now() - t0} ms`);
      // The cluster's own names still answer.
      assert.deepEqual(await resolver(none.dnsPort).resolve4('10-1-2-3.default.pod.cluster.local'), ['10.1.2.3']);
    } finally {
      await stopDns(none);
      await stopDns(dead);
    }
  });

  test('over TCP: several queries on one connection; a deleted service becomes NXDOMAIN', async () => {
    const web = await c.get(SERVICES, ns, 'web');
    const [a, srv, nx] = await queryTcp(dns.dnsPort, [
      question(1, fqdn('web'), RRType.A), question(2, `_http._tcp.${fqdn('web')}`, RRType.SRV), question(3, fqdn('nope'), RRType.A),
    ]);
    assert.equal(a.header.id, 1);
    assert.equal(a.header.aa, true);
    assert.deepEqual(a.answers.map((x) => x.data), [{ kind: 'A', address: web.spec.clusterIP }]);
    assert.equal(a.answers[0].ttl, 5);
    assert.equal(srv.header.id, 2);
    assert.deepEqual(srv.answers.map((x) => x.data), [{ kind: 'SRV', priority: 0, weight: 100, port: 80, target: fqdn('web') }]);
    assert.deepEqual(srv.additionals.map((x) => x.data), [{ kind: 'A', address: web.spec.clusterIP }]);
    assert.equal(nx.header.id, 3);
    assert.equal(nx.header.rcode, RCode.NXDOMAIN);

    await c.delete(SERVICES, ns, 'web');
    await eventually('web gone over TCP', async () => {
      const [gone] = await queryTcp(dns.dnsPort, [question(4, fqdn('web'), RRType.A)]);
      assert.equal(gone.header.rcode, RCode.NXDOMAIN);
    });
    await rejectsWith(r().resolve4(fqdn('web')), 'ENOTFOUND');
  });

  test('the http transport works the same', async () => {
    const viaHttp = await startDns(['--server', api.url, '--transport', 'http', '--upstream', upstream]);
    try {
      assert.deepEqual(await resolver(viaHttp.dnsPort).resolve4(`db-0.${fqdn('db')}`), ['10.244.0.5']);
    } finally {
      assert.equal(await stopDns(viaHttp), 0);
    }
  });

  test('SIGTERM shuts it down cleanly', async () => {
    assert.equal(await stopDns(dns), 0, dns.stderr());
  });
});

describe('dns flags', () => {
  test('bad flags are all reported, with exit code 2', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'dns/main.ts'),
      '--transport', 'carrier-pigeon', '--listen', 'localhost:53', '--domain', 'Bad_Domain', '--port', '99999', '--upstream', 'dns.google'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += d; });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 2);
    for (const want of ['--server or --kubeconfig is required', '--transport: want grpc or http', '--listen: host must be an IP address', '--domain: not a DNS domain name', '--port: not a port', '--upstream: want IP or IP:PORT']) {
      assert.ok(stderr.includes(want), `${want} in ${stderr}`);
    }
  });
});
