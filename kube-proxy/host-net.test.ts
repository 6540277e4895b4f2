// Real kernel, real Docker: the ClusterIP interface and the unreachable guard route. Needs root (fails, never
// skips, without it). Everything created here carries this process's pid and is removed in `after`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import {
  addServiceAddress, cidrsOverlap, enableHairpin, ensureServiceNetwork, hasNetAdmin, listServiceAddresses, overlappingRoutes,
  parseCidr, removeServiceAddress, syncServiceAddresses, teardownServiceNetwork,
} from './host-net.ts';

const root = new URL('..', import.meta.url).pathname;
const pid = process.pid;
const netName = `kubemu-hntest-${pid}`;
const clientName = `kubemu-hntest-${pid}-client`;
let iface = '';
let cidr = '';
let dockerSubnet = '';
let netCreated = false;
let server: http.Server | undefined;

const sh = (cmd: string, args: string[]) => execa(cmd, args, { reject: false });

async function ifaceExists(name: string): Promise<boolean> {
  return (await sh('ip', ['link', 'show', 'dev', name])).exitCode === 0;
}

/** A /24 under `a.b` that no route (of any type) on this host touches yet. */
async function freeSubnet(a: number, b: number, salt: number): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const c = `${a}.${(b + Math.floor((salt + i) / 250)) % 256}.${(salt + i) % 250 + 3}.0/24`;
    if ((await overlappingRoutes(c, { all: true })).length === 0) return c;
  }
  throw new Error(`no free /24 under ${a}.${b}`);
}

const addr = (c: string, host: number) => {
  const { base } = parseCidr(c);
  const n = base + host;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
};

before(async () => {
  if (!hasNetAdmin()) throw new Error('host-net.test.ts needs root (CAP_NET_ADMIN) to create interfaces and routes: run it as root');
  if (!existsSync('/var/run/docker.sock')) throw new Error('Docker is not running (/var/run/docker.sock missing): run scripts/ensure-deps.sh');
  const built = await sh('bash', [`${root}scripts/build-images.sh`]);
  if (built.exitCode !== 0) throw new Error(`scripts/build-images.sh failed: ${built.stderr}`);
  for (let i = 0; ; i++) {
    iface = `kmtest${(pid + i) % 1000}`;
    if (!(await ifaceExists(iface))) break;
  }
  cidr = await freeSubnet(10, 250, pid % 250);
  for (let i = 0; !netCreated; i++) {
    dockerSubnet = await freeSubnet(10, 214, (pid + i * 7) % 250);
    const r = await sh('docker', ['network', 'create', '--subnet', dockerSubnet, '--label', 'kubemu.test=host-net', netName]);
    if (r.exitCode === 0) netCreated = true;
    else if (i > 5 || !/overlap/i.test(String(r.stderr))) throw new Error(`docker network create: ${r.stderr}`);
  }
  const run = await sh('docker', ['run', '-d', '--name', clientName, '--network', netName, '--label', 'kubemu.test=host-net', 'kubemu/busybox:1', '/bin/pause']);
  if (run.exitCode !== 0) throw new Error(`docker run client: ${run.stderr}`);
});

after(async () => {
  server?.close();
  await sh('docker', ['rm', '-f', clientName]);
  if (netCreated) await sh('docker', ['network', 'rm', netName]);
  if (iface && cidr) await teardownServiceNetwork({ cidr, iface }).catch((err) => console.error('teardown:', err));
});

test('CIDR helpers', () => {
  assert.deepEqual(parseCidr('10.96.0.0/16'), { base: (10 << 24 | 96 << 16) >>> 0, bits: 16, size: 65536 });
  assert.equal(cidrsOverlap('10.96.0.0/16', '10.96.5.0/24'), true);
  assert.equal(cidrsOverlap('10.96.0.0/16', '10.97.0.0/24'), false);
  assert.equal(cidrsOverlap('10.0.0.0/8', '10.96.0.0/16'), true);
  assert.throws(() => parseCidr('10.96.0.0'), /invalid IPv4 CIDR/);
  assert.throws(() => parseCidr('300.1.1.1/8'), /invalid IPv4 CIDR/);
});

test('ensureServiceNetwork creates a bridge and an unreachable route, idempotently', async () => {
  await ensureServiceNetwork({ cidr, iface });
  await ensureServiceNetwork({ cidr, iface });
  const link = JSON.parse(String((await execa('ip', ['-j', '-d', 'link', 'show', 'dev', iface])).stdout));
  assert.equal(link[0].linkinfo.info_kind, 'bridge');
  assert.ok(link[0].flags.includes('UP'), `${iface} is up`);
  const routes = JSON.parse(String((await execa('ip', ['-j', 'route', 'show', 'exact', cidr])).stdout));
  assert.deepEqual(routes.map((r: { type?: string; dst: string }) => [r.type, r.dst]), [['unreachable', cidr]]);
});

test('a service CIDR overlapping a real network is refused', async () => {
  await assert.rejects(ensureServiceNetwork({ cidr: dockerSubnet, iface }), /overlaps existing routes/);
});

test('addresses are added, listed, synced and removed as /32s', async () => {
  const [a, b, c] = [addr(cidr, 10), addr(cidr, 11), addr(cidr, 12)];
  await addServiceAddress(a, iface);
  await addServiceAddress(a, iface);
  await addServiceAddress(b, iface);
  assert.deepEqual((await listServiceAddresses(iface)).sort(), [a, b].sort());
  assert.deepEqual(await syncServiceAddresses([b, c], iface), { added: [c], removed: [a] });
  assert.deepEqual((await listServiceAddresses(iface)).sort(), [b, c].sort());
  await removeServiceAddress(c, iface);
  await removeServiceAddress(c, iface);
  assert.deepEqual(await listServiceAddresses(iface), [b]);
  assert.deepEqual(await listServiceAddresses('kmnosuchif0'), []);
  await assert.rejects(addServiceAddress('10.1.2', iface), /invalid IPv4 address/);
  await assert.rejects(addServiceAddress(a, 'bad name!'), /invalid interface name/);
});

test('a bound /32 answers the host and a container; an unbound address in the CIDR fails at once', async () => {
  const bound = addr(cidr, 20);
  const unbound = addr(cidr, 21);
  await addServiceAddress(bound, iface);
  server = http.createServer((_req, res) => res.end('hello from the host\n'));
  await new Promise<void>((resolve) => server!.listen(0, bound, resolve));
  const port = (server.address() as AddressInfo).port;

  const body = await new Promise<string>((resolve, reject) => {
    http.get({ host: bound, port, agent: false, timeout: 3000 }, (res) => {
      let s = '';
      res.on('data', (d) => (s += d)).on('end', () => resolve(s));
    }).on('error', reject);
  });
  assert.equal(body, 'hello from the host\n');

  const t0 = Date.now();
  const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
    const s = net.connect({ host: unbound, port, timeout: 3000 });
    s.on('connect', () => { s.destroy(); resolve(Object.assign(new Error('connected'), { code: 'CONNECTED' })); });
    s.on('timeout', () => { s.destroy(); resolve(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })); });
    s.on('error', resolve);
  });
  assert.equal(err.code, 'EHOSTUNREACH');
  assert.ok(Date.now() - t0 < 1000, `host: unbound address failed after ${Date.now() - t0} ms`);

  const fromContainer = await sh('docker', ['exec', clientName, 'wget', '-q', '-O', '-', `http://${bound}:${port}/`]);
  assert.equal(fromContainer.exitCode, 0, String(fromContainer.stderr));
  assert.equal(fromContainer.stdout, 'hello from the host');

  const t1 = Date.now();
  const miss = await sh('docker', ['exec', clientName, 'timeout', '5', 'wget', '-q', '-O', '-', `http://${unbound}:${port}/`]);
  assert.notEqual(miss.exitCode, 0);
  assert.match(String(miss.stderr), /No route to host/);
  assert.ok(Date.now() - t1 < 4000, `container: unbound address failed after ${Date.now() - t1} ms`);
});

test('enableHairpin turns on hairpin mode on the bridge port of a container address, and only there', async () => {
  const ipOf = String((await execa('docker', ['inspect', '-f', `{{(index .NetworkSettings.Networks "${netName}").IPAddress}}`, clientName])).stdout).trim();
  const netId = String((await execa('docker', ['network', 'inspect', '-f', '{{.Id}}', netName])).stdout).trim();
  const bridge = `br-${netId.slice(0, 12)}`;
  await enableHairpin([ipOf]);
  const ports = (await execa('ls', [`/sys/class/net/${bridge}/brif`])).stdout.split('\n').filter(Boolean);
  assert.equal(ports.length, 1);
  assert.equal((await readFile(`/sys/class/net/${bridge}/brif/${ports[0]}/hairpin_mode`, 'utf8')).trim(), '1');
  assert.deepEqual(await enableHairpin([ipOf]), []);
  assert.deepEqual(await enableHairpin(['127.0.0.1', addr(cidr, 30), 'not-an-ip']), []);
});

test('teardownServiceNetwork removes the interface and the route, and tolerates a second call', async () => {
  await teardownServiceNetwork({ cidr, iface });
  await teardownServiceNetwork({ cidr, iface });
  assert.equal(await ifaceExists(iface), false);
  assert.deepEqual(await overlappingRoutes(cidr, { all: true }), []);
});
