// Real kernel, real Docker: the iptables proxier forwarding to three kubemu/hello containers on a Docker bridge
// network of our own. Needs root (fails, never skips, without it). Everything created here carries this process's
// pid and is removed in `after`, also when a test fails.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { execa } from 'execa';
import { silentLogger } from '../lib/logger.ts';
import { addServiceAddress, ensureServiceNetwork, hasNetAdmin, overlappingRoutes, parseCidr, teardownServiceNetwork } from './host-net.ts';
import { buildChains, chainNames, IptablesProxier, savedCounters } from './iptables.ts';
import type { Backend, ServicePortRule } from './service-map.ts';

const root = new URL('..', import.meta.url).pathname;
const pid = process.pid;
const prefix = `KMT${pid % 100000}`;
const prefix2 = `${prefix}B`;
const netName = `kubemu-iptest-${pid}`;
const names = ['a', 'b', 'c'].map((x) => `kubemu-iptest-${pid}-${x}`);
const clientName = `kubemu-iptest-${pid}-client`;
const ROUTE_LOCALNET = '/proc/sys/net/ipv4/conf/all/route_localnet';

let iface = '';
let cidr = '';
let netCreated = false;
let routeLocalnetBefore: string | undefined;
let proxier: IptablesProxier | undefined;
let proxier2: IptablesProxier | undefined;
/** Backends sorted by IP (the rotation order), with the name each one answers. */
const backends: (Backend & { name: string })[] = [];
let order: string[] = [];
let clusterIP = '';
let stickyIP = '';
let emptyIP = '';
let otherIP = '';
let udpIP = '';
let gateway = '';
const udpServers: dgram.Socket[] = [];
let nodeIP = '';
let nodePort = 0;

const sh = (cmd: string, args: string[]) => execa(cmd, args, { reject: false });

async function freeSubnet(a: number, b: number, salt: number): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const c = `${a}.${b}.${(salt + i) % 250 + 3}.0/24`;
    if ((await overlappingRoutes(c, { all: true })).length === 0) return c;
  }
  throw new Error(`no free /24 under ${a}.${b}`);
}

const addr = (c: string, host: number) => {
  const n = parseCidr(c).base + host;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
};

function get(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: 5000 }, (res) => {
      let s = '';
      res.on('data', (d) => (s += d)).on('end', () => resolve(s.trim()));
    });
    req.on('timeout', () => req.destroy(new Error(`GET http://${host}:${port}/ timed out`)));
    req.on('error', reject);
  });
}

async function getMany(host: string, port: number, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await get(host, port));
  return out;
}

/** n sequential busybox wgets from the client container, one connection each. */
async function getManyFromContainer(host: string, port: number, n: number, container = clientName): Promise<string[]> {
  const r = await sh('docker', ['exec', container, 'sh', '-c',
    `i=0; while [ $i -lt ${n} ]; do wget -q -O - http://${host}:${port}/ || echo FAIL; i=$((i+1)); done`]);
  assert.equal(r.exitCode, 0, String(r.stderr));
  return String(r.stdout).split('\n').map((s) => s.trim()).filter(Boolean);
}

function connectError(host: string, port: number): Promise<{ code: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 5000 });
    const done = (code: string) => { s.destroy(); resolve({ code, ms: Date.now() - t0 }); };
    s.on('connect', () => done('CONNECTED'));
    s.on('timeout', () => done('TIMEOUT'));
    s.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? String(e)));
  });
}

const rotation = (n: number, start = 0) => Array.from({ length: n }, (_, i) => order[(start + i) % order.length]!);

function webRule(extra: Partial<ServicePortRule> = {}): ServicePortRule {
  return {
    key: 'default/web:http/TCP', service: 'default/web', portName: 'http', protocol: 'TCP',
    frontends: [{ ip: clusterIP, port: 80, kind: 'ClusterIP' }],
    backends: backends.map(({ ip, port }) => ({ ip, port })),
    ...extra,
  };
}
const stickyRule = (): ServicePortRule => ({
  key: 'default/sticky:http/TCP', service: 'default/sticky', portName: 'http', protocol: 'TCP',
  frontends: [{ ip: stickyIP, port: 80, kind: 'ClusterIP' }],
  backends: backends.map(({ ip, port }) => ({ ip, port })), affinity: { timeoutSeconds: 60 },
});
const emptyRule = (): ServicePortRule => ({
  key: 'default/empty:http/TCP', service: 'default/empty', portName: 'http', protocol: 'TCP',
  frontends: [{ ip: emptyIP, port: 80, kind: 'ClusterIP' }, { ip: nodeIP, port: nodePort + 1, kind: 'NodePort' }], backends: [],
});
const otherRule = (): ServicePortRule => ({
  key: 'default/other:http/TCP', service: 'default/other', portName: 'http', protocol: 'TCP',
  frontends: [{ ip: otherIP, port: 80, kind: 'ClusterIP' }], backends: [{ ip: backends[0]!.ip, port: backends[0]!.port }],
});

async function savedLines(match: string): Promise<string[]> {
  return String((await execa('iptables-save')).stdout).split('\n').filter((l) => l.includes(match));
}

before(async () => {
  if (!hasNetAdmin()) throw new Error('iptables.test.ts needs root (CAP_NET_ADMIN) to program iptables and create interfaces: run it as root');
  if (!existsSync('/var/run/docker.sock')) throw new Error('Docker is not running (/var/run/docker.sock missing): run scripts/ensure-deps.sh');
  const built = await sh('bash', [`${root}scripts/build-images.sh`]);
  if (built.exitCode !== 0) throw new Error(`scripts/build-images.sh failed: ${built.stderr}`);
  routeLocalnetBefore = (await readFile(ROUTE_LOCALNET, 'utf8')).trim();

  for (let i = 0; ; i++) {
    iface = `kmtest${(pid + i) % 1000}`;
    if ((await sh('ip', ['link', 'show', 'dev', iface])).exitCode !== 0) break;
  }
  // The service CIDR gets its unreachable route before any of its addresses is used.
  cidr = await freeSubnet(10, 250, (pid + 97) % 250);
  await ensureServiceNetwork({ cidr, iface });
  [clusterIP, stickyIP, emptyIP, otherIP, udpIP] = [10, 11, 12, 13, 14].map((h) => addr(cidr, h));
  for (const ip of [clusterIP, stickyIP, emptyIP, otherIP, udpIP]) await addServiceAddress(ip, iface);

  // A node address on loopback that nothing listens on.
  for (let i = 0; ; i++) {
    nodeIP = `127.0.213.${(pid + i) % 250 + 2}`;
    nodePort = 30000 + ((pid + i) % 2000) * 2;
    const ss = await execa('ss', ['-Htan', `( src ${nodeIP} or dst ${nodeIP} )`]);
    if (!String(ss.stdout).trim()) break;
  }

  let subnet = '';
  for (let i = 0; !netCreated; i++) {
    subnet = await freeSubnet(10, 213, (pid + i * 13) % 250);
    const r = await sh('docker', ['network', 'create', '--subnet', subnet, '--label', 'kubemu.test=iptables', netName]);
    if (r.exitCode === 0) netCreated = true;
    else if (i > 5 || !/overlap/i.test(String(r.stderr))) throw new Error(`docker network create: ${r.stderr}`);
  }
  gateway = addr(subnet, 1);
  for (const name of names) {
    const r = await sh('docker', ['run', '-d', '--name', name, '--network', netName, '--label', 'kubemu.test=iptables',
      '-e', `POD_NAME=${name}`, 'kubemu/hello:1']);
    if (r.exitCode !== 0) throw new Error(`docker run ${name}: ${r.stderr}`);
  }
  const c = await sh('docker', ['run', '-d', '--name', clientName, '--network', netName, '--label', 'kubemu.test=iptables', 'kubemu/busybox:1', '/bin/pause']);
  if (c.exitCode !== 0) throw new Error(`docker run client: ${c.stderr}`);

  for (const name of names) {
    const ip = String((await execa('docker', ['inspect', '-f', `{{(index .NetworkSettings.Networks "${netName}").IPAddress}}`, name])).stdout).trim();
    assert.ok(parseCidr(`${ip}/32`) && ip, `${name} has an address on ${netName}`);
    backends.push({ ip, port: 8080, name });
  }
  backends.sort((x, y) => parseCidr(`${x.ip}/32`).base - parseCidr(`${y.ip}/32`).base);
  order = backends.map((b) => b.name);
  // Each backend answers directly before any Service points at it.
  for (const b of backends) {
    for (let i = 0; ; i++) {
      try {
        assert.equal(await get(b.ip, b.port), b.name);
        break;
      } catch (err) {
        if (i > 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  proxier = new IptablesProxier({ logger: silentLogger(), chainPrefix: prefix });
  proxier2 = new IptablesProxier({ logger: silentLogger(), chainPrefix: prefix2 });
});

after(async () => {
  for (const u of udpServers) u.close();
  for (const p of [prefix, prefix2]) {
    // A fresh instance's close() removes whatever chains and jumps of this prefix exist.
    await new IptablesProxier({ logger: silentLogger(), chainPrefix: p }).close().catch((err) => console.error('iptables cleanup:', err));
  }
  await sh('docker', ['rm', '-f', ...names, clientName]);
  if (netCreated) await sh('docker', ['network', 'rm', netName]);
  if (iface && cidr) await teardownServiceNetwork({ cidr, iface }).catch((err) => console.error('teardown:', err));
  // Put route_localnet back only if no kubemu cluster's kube-proxy (chains KMN-…/KMC-…) needs it right now:
  // the test suite runs an iptables-mode cluster beside this file.
  const others = (await sh('iptables-save', ['-t', 'nat'])).stdout.match(/^:KM[NC]-/m);
  if (routeLocalnetBefore !== undefined && routeLocalnetBefore !== '1' && !others) await writeFile(ROUTE_LOCALNET, routeLocalnetBefore);
});

test('chain names fit the 28-character limit and are stable', () => {
  const n = chainNames('KUBEMU-N12');
  const rule = { key: 'some-long-namespace-name/some-long-service-name:https/TCP', protocol: 'TCP' } as ServicePortRule;
  assert.ok(n.svc(rule).length <= 28 && n.sep(rule, { ip: '10.0.0.1', port: 1 }).length <= 28);
  assert.equal(n.svc(rule), chainNames('KUBEMU-N12').svc(rule));
  assert.equal(n.owns(n.svc(rule)), true);
  assert.equal(chainNames('KUBEMU-N1').owns(n.svc(rule)), false);
  assert.throws(() => chainNames('KUBEMU-NODE-123'), /chainPrefix/);
  const chains = buildChains('KUBEMU-N1', [{ ...rule, frontends: [{ ip: '10.96.0.10', port: 443, kind: 'ClusterIP' }], backends: [{ ip: '10.1.0.2', port: 8443 }, { ip: '10.1.0.3', port: 8443 }] }]);
  const svc = chains.nat.get(chainNames('KUBEMU-N1').svc(rule))!;
  assert.match(svc[0]!, /--mode nth --every 2 --packet 0 -j /);
  assert.doesNotMatch(svc[1]!, /statistic/);
});

test('host → ClusterIP: 30 connections rotate a,b,c… over the 3 backends, 10 each', async () => {
  await proxier!.sync([webRule()]);
  assert.deepEqual(await getMany(clusterIP, 80, 30), rotation(30));
});

test('counters(): each new connection counted once for its rule, as the kube-proxy metrics report them', async () => {
  const count = async () => proxier!.counters([webRule()], await savedCounters()).get('default/web:http/TCP')?.connections ?? 0;
  const before = await count();
  await getMany(clusterIP, 80, 6);
  assert.equal(await count() - before, 6);
});

test('container → ClusterIP → container on the same bridge: 30 connections rotate likewise', async () => {
  // The host made exactly 30 connections, so the rotation is back at its start.
  assert.deepEqual(await getManyFromContainer(clusterIP, 80, 30), rotation(30));
});

test('a backend calling its own service reaches every backend, itself included (hairpin masquerade)', async () => {
  const self = backends[0]!.name;
  const got = await getManyFromContainer(clusterIP, 80, 30, self);
  assert.deepEqual(got, rotation(30));
});

test('a sync that changes nothing, or only another service, keeps the rotation going', async () => {
  assert.deepEqual(await getMany(clusterIP, 80, 2), rotation(2));
  await proxier!.sync([webRule()]);
  assert.deepEqual(await getMany(clusterIP, 80, 1), rotation(1, 2));
  await proxier!.sync([webRule(), otherRule()]);
  assert.deepEqual(await getMany(clusterIP, 80, 3), rotation(3));
  assert.equal(await get(otherIP, 80), order[0]);
  assert.deepEqual(await getMany(clusterIP, 80, 30), rotation(30));
});

test('a NodePort on a 127.x node address forwards from the host (route_localnet + masquerade)', async () => {
  await proxier!.sync([webRule({ frontends: [{ ip: clusterIP, port: 80, kind: 'ClusterIP' }, { ip: nodeIP, port: nodePort, kind: 'NodePort' }] })]);
  assert.equal((await readFile(ROUTE_LOCALNET, 'utf8')).trim(), '1');
  // Only the services chain changed, so the rotation shared with the ClusterIP continues where it was.
  assert.deepEqual(await getMany(nodeIP, nodePort, 30), rotation(30));
  assert.deepEqual(await getMany(clusterIP, 80, 3), rotation(3));
});

test('a frontend without backends refuses connections at once, from the host and from a container', async () => {
  await proxier!.sync([webRule(), emptyRule()]);
  for (const [host, port] of [[emptyIP, 80], [nodeIP, nodePort + 1]] as const) {
    const r = await connectError(host, port);
    assert.equal(r.code, 'ECONNREFUSED', `${host}:${port}`);
    assert.ok(r.ms < 3000, `${host}:${port} refused after ${r.ms} ms (not after a connect timeout)`);
  }
  const rejected = proxier!.counters([webRule(), emptyRule()], await savedCounters()).get(emptyRule().key)?.rejected ?? 0;
  assert.ok(rejected >= 2, `the REJECT rules counted the refused connections (${rejected})`);
  assert.equal((await savedLines(`${emptyIP}/32`)).filter((l) => l.includes('-j REJECT --reject-with tcp-reset')).length, 1);
  const t0 = Date.now();
  const r = await sh('docker', ['exec', clientName, 'timeout', '5', 'wget', '-q', '-O', '-', `http://${emptyIP}:80/`]);
  assert.notEqual(r.exitCode, 0);
  assert.match(String(r.stderr), /Connection refused/);
  assert.ok(Date.now() - t0 < 3000, `container refused after ${Date.now() - t0} ms`);
});

/** One datagram from a fresh socket (a new flow) and its answer. */
function udpAsk(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const done = (err: Error | null, msg?: string) => { clearTimeout(timer); s.close(); if (err) reject(err); else resolve(msg!); };
    const timer = setTimeout(() => done(Object.assign(new Error(`udp ${host}:${port} timed out`), { code: 'TIMEOUT' })), 3000);
    s.on('error', (e) => done(e));
    s.on('message', (m) => done(null, m.toString()));
    s.connect(port, host, () => s.send('who'));
  });
}

test('UDP: each new flow goes to the next backend; no backends → port unreachable', async () => {
  // UDP servers on the host's side of the Docker bridge (busybox has no UDP server), one per port.
  for (let i = 0; i < 3; i++) {
    const u = dgram.createSocket('udp4');
    u.on('message', (_m, rinfo) => u.send(`u${i}`, rinfo.port, rinfo.address));
    await new Promise<void>((resolve) => u.bind(0, gateway, resolve));
    udpServers.push(u);
  }
  const udp = (backends: Backend[]): ServicePortRule => ({
    key: 'default/dns:dns/UDP', service: 'default/dns', portName: 'dns', protocol: 'UDP',
    frontends: [{ ip: udpIP, port: 53, kind: 'ClusterIP' }], backends,
  });
  await proxier!.sync([webRule(), udp(udpServers.map((u) => ({ ip: gateway, port: u.address().port })))]);
  const got: string[] = [];
  for (let i = 0; i < 9; i++) got.push(await udpAsk(udpIP, 53));
  assert.deepEqual(got, ['u0', 'u1', 'u2', 'u0', 'u1', 'u2', 'u0', 'u1', 'u2']);
  await proxier!.sync([webRule(), udp([])]);
  assert.ok((await savedLines(`${udpIP}/32`)).some((l) => l.includes('-j REJECT --reject-with icmp-port-unreachable')));
  const t0 = Date.now();
  await assert.rejects(udpAsk(udpIP, 53), { code: 'ECONNREFUSED' });
  assert.ok(Date.now() - t0 < 1000);
});

test('ClientIP affinity pins each client to one backend', async () => {
  await proxier!.sync([webRule(), emptyRule(), stickyRule()]);
  const fromHost = await getMany(stickyIP, 80, 10);
  assert.equal(new Set(fromHost).size, 1, fromHost.join(','));
  const fromContainer = await getManyFromContainer(stickyIP, 80, 10);
  assert.equal(new Set(fromContainer).size, 1, fromContainer.join(','));
  // Without affinity the same clients are spread.
  assert.equal(new Set(await getMany(clusterIP, 80, 3)).size, 3);
});

test('a backend change rewrites that service; removed services leave no chains', async () => {
  const two = backends.slice(1).map(({ ip, port }) => ({ ip, port }));
  await proxier!.sync([webRule({ backends: two })]);
  assert.deepEqual(await getMany(clusterIP, 80, 6), [1, 2, 1, 2, 1, 2].map((i) => order[i]));
  const n = chainNames(prefix);
  const chains = (await savedLines(`:${prefix}-`)).map((l) => l.slice(1).split(' ')[0]!).filter((c) => n.owns(c)).sort();
  const want = buildChains(prefix, [webRule({ backends: two })]);
  assert.deepEqual(chains, [...want.nat.keys(), ...want.filter.keys()].sort());
  // The rule for an address that lost its service is gone: it is refused by the local stack.
  assert.equal((await connectError(stickyIP, 80)).code, 'ECONNREFUSED');
});

test('close() removes this instance\'s chains and jumps and nothing of another instance', async () => {
  await proxier!.sync([webRule()]);
  await proxier2!.sync([otherRule()]);
  assert.equal(await get(otherIP, 80), order[0]);
  await proxier!.close();
  assert.deepEqual(await savedLines(`${prefix}-`), []);
  assert.ok((await savedLines(`${prefix2}-`)).length > 0, 'the other instance keeps its rules');
  assert.equal(await get(otherIP, 80), order[0]);
  await assert.rejects(proxier!.sync([webRule()]), /after close/);
  await proxier2!.close();
  assert.deepEqual(await savedLines(`${prefix2}-`), []);
  assert.deepEqual(await savedLines(prefix), []);
  assert.equal((await connectError(clusterIP, 80)).code, 'ECONNREFUSED');
});
