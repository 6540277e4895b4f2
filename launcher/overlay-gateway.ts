// A swarm overlay as a full pod network: the host's way in. Containers on an overlay reach each other,
// but the host has no route into it (the overlay's bridge lives in a namespace of Docker's own), and
// everything kubemu starts from the host dials pod IPs: kubelet probes, kube-proxy's Service forwarding.
// So each host gets one "overlay gateway": a sleeping container on the overlay (kubemu-gw-<network>),
// joined to the host by a veth pair on a link-local /30. The host routes the overlay's subnet to it; it
// forwards into the overlay and masquerades, so pods answer its overlay address and the replies come
// back through it. The other direction needs nothing: a container on an overlay also sits on Docker's
// docker_gwbridge, its default route, so pods reach the host's addresses (ClusterIPs on kubemu0, the
// cluster DNS) through that bridge's gateway.
//
// Guard rail (DESIGN.md "all addresses used are on this machine"): before anything can send to the
// overlay's subnet, it gets an `unreachable` route at a high metric that stays; the route through the
// gateway (metric 0) wins while the gateway lives, and goes with its veth when the gateway does, so the
// subnet never falls back to the default route. Everything here is idempotent: several nodes (`kubemu
// join --dir …` twice, or `up` and a `join`) on one host share one gateway; the last to leave removes it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { DockerEngine, LABELS } from '../kubelet/public.ts';
import { networksNamed } from './docker-network.ts';
import { hasNetAdmin, overlappingRoutes } from '../kube-proxy/public.ts';
import { inCidr, intToIp, ipToInt, parseCidr } from '../lib/ipv4.ts';

/** The metric of the guard route: above anything a person or a tool adds by default (0). */
export const GUARD_METRIC = 4242;
const IMAGE = 'kubemu/busybox:1';
const PEER = 'kgw0'; // the gateway's end of the veth, inside its namespace
const GATEWAY_LABEL = 'io.kubemu.overlay-gateway';

export interface DockerNetwork { name: string; id: string; driver: string; scope: string; attachable: boolean; internal: boolean; subnets: string[] }

export interface OverlayGateway {
  network: string;
  /** The overlay's IPv4 subnets, routed to the gateway. */
  subnets: string[];
  container: string;
  /** The host's end of the veth and its address, and the gateway's end. */
  hostIf: string;
  hostIP: string;
  gatewayIP: string;
  /** The host's address on docker_gwbridge: what pods on the overlay reach the host at (their default gateway). */
  podFacingIP: string;
  /** Whether this call created the gateway (false: it was there and working). */
  created: boolean;
}

export const gatewayName = (network: string) => `kubemu-gw-${network}`;
/** Interface names have at most 15 characters: kgw + 8 hex of the network name. */
export const hostIfName = (network: string) => `kgw${crypto.createHash('sha256').update(network).digest('hex').slice(0, 8)}`;

async function withEngine<T>(fn: (e: DockerEngine) => Promise<T>): Promise<T> {
  const engine = new DockerEngine({});
  try { return await fn(engine); } finally { await engine.pool.close(); }
}

/** What Docker knows of a network (driver overlay, scope swarm, its IPv4 subnets), or undefined. */
export async function dockerNetwork(name: string): Promise<DockerNetwork | undefined> {
  return withEngine(async (engine) => {
    const [found] = await networksNamed(engine, name);
    if (!found) return undefined;
    const n = await engine.json('GET', `/networks/${found.Id}`);
    const subnets = (n.IPAM?.Config ?? []).map((c: { Subnet?: string }) => c.Subnet).filter((s: string | undefined): s is string => !!s && !s.includes(':'));
    return { name, id: n.Id, driver: n.Driver, scope: n.Scope, attachable: !!n.Attachable, internal: !!n.Internal, subnets };
  });
}

async function run(cmd: string, args: string[]): Promise<string> {
  const r = await execa(cmd, args, { reject: false });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${String(r.stderr).trim() || `exit ${r.exitCode}`}`);
  return String(r.stdout);
}
const inGateway = (pid: number, cmd: string, args: string[]) => run('nsenter', ['-t', String(pid), '-n', cmd, ...args]);

/** IPv4 addresses (address/prefix) on an interface, in the host's namespace or a gateway's; [] when it is missing. */
async function addrsOf(iface: string, pid?: number): Promise<string[]> {
  const args = ['-j', '-4', 'addr', 'show', 'dev', iface];
  const out = await (pid ? inGateway(pid, 'ip', args) : run('ip', args)).catch(() => '[]');
  return (JSON.parse(out || '[]') as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>)
    .flatMap((l) => (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
}

/** A /30 for the veth in 169.254.0.0/16 (link-local: never routed beyond the link), picked from the network's name,
 *  skipping 169.254.169.0/24 (cloud metadata) and any /30 this host already uses. */
async function pickLinkNet(network: string): Promise<{ hostIP: string; gatewayIP: string }> {
  const used = JSON.parse(await run('ip', ['-j', '-4', 'addr'])) as Array<{ addr_info?: Array<{ local: string }> }>;
  const taken = new Set(used.flatMap((l) => (l.addr_info ?? []).map((a) => a.local)));
  const start = crypto.createHash('sha256').update(network).digest().readUInt16BE(0) & 0x3fff; // 16384 /30s
  for (let i = 0; i < 16384; i++) {
    const base = ipToInt('169.254.0.0') + ((start + i) % 16384) * 4;
    if (((base >>> 8) & 255) === 169) continue;
    const [hostIP, gatewayIP] = [intToIp(base + 1), intToIp(base + 2)];
    if (taken.has(hostIP) || taken.has(gatewayIP) || (await overlappingRoutes(`${intToIp(base)}/30`)).length) continue;
    return { hostIP, gatewayIP };
  }
  throw new Error('no free /30 left in 169.254.0.0/16 for the overlay gateway');
}

/** One process at a time sets up or removes a network's gateway on this host (two joins starting together). */
async function withLock<T>(network: string, fn: () => Promise<T>): Promise<T> {
  const file = path.join(os.tmpdir(), `kubemu-overlay-gw-${hostIfName(network)}.lock`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(file, 'utf8').trim());
      let alive = false;
      try { process.kill(holder, 0); alive = true; } catch (e) { alive = (e as NodeJS.ErrnoException).code === 'EPERM'; }
      if (!alive) { fs.rmSync(file, { force: true }); continue; }
      if (Date.now() > deadline) throw new Error(`${file} held by pid ${holder} for a minute`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try { return await fn(); } finally { fs.rmSync(file, { force: true }); }
}

/** Routes `subnet` nowhere (guard, kept) and then through the gateway (wins while the veth exists). */
async function routeThrough(subnet: string, gatewayIP: string, hostIf: string): Promise<void> {
  await run('ip', ['route', 'replace', 'unreachable', subnet, 'metric', String(GUARD_METRIC)]);
  await run('ip', ['route', 'replace', subnet, 'via', gatewayIP, 'dev', hostIf]);
}

/** The gateway of `network` on this host, set up if missing or broken (a veth does not survive its container's restart). */
export async function ensureOverlayGateway(network: string): Promise<OverlayGateway> {
  const info = await dockerNetwork(network);
  if (!info) throw new Error(`Docker network ${network} does not exist on this host`);
  if (info.driver !== 'overlay') throw new Error(`Docker network ${network} is a ${info.driver} network, not an overlay`);
  if (!info.attachable) throw new Error(`overlay ${network} is not attachable: pods are plain containers; create it with docker network create -d overlay --attachable`);
  if (info.internal) throw new Error(`overlay ${network} is internal: its containers get no docker_gwbridge, so pods could not reach the host (ClusterIPs, the cluster DNS)`);
  if (!info.subnets.length) throw new Error(`overlay ${network} has no IPv4 subnet`);
  if (!hasNetAdmin()) throw new Error(`the gateway into overlay ${network} needs CAP_NET_ADMIN (a veth pair and routes): run as root`);
  const hostIf = hostIfName(network);
  const name = gatewayName(network);
  return withLock(network, () => withEngine(async (engine) => {
    // Guard first: nothing may send to the subnet before it is routed somewhere on this machine. A route into the
    // subnet from anything but our own veth (a local bridge with the same subnet, a LAN) is a clash.
    for (const subnet of info.subnets) {
      parseCidr(subnet);
      const clash = (await overlappingRoutes(subnet)).filter((r) => !r.endsWith(` dev ${hostIf}`));
      if (clash.length) throw new Error(`overlay ${network}'s subnet ${subnet} overlaps routes on this host (${clash.join('; ')}): the host could not reach both`);
      await run('ip', ['route', 'replace', 'unreachable', subnet, 'metric', String(GUARD_METRIC)]);
    }
    const podFacingIP = async () => {
      const gw = await engine.json('GET', '/networks/docker_gwbridge');
      const cfg = (gw.IPAM?.Config ?? []).find((c: { Gateway?: string }) => c.Gateway && !c.Gateway.includes(':'));
      if (!cfg) throw new Error('docker_gwbridge has no IPv4 gateway');
      return cfg.Gateway as string;
    };

    // Already there and working: same container, veth up on both ends with their addresses.
    const existing = await engine.json('GET', `/containers/${name}/json`, undefined, [404]);
    if (existing?.State?.Running) {
      const pid: number = existing.State.Pid;
      const [hostAddr] = await addrsOf(hostIf);
      const [gwAddr] = await addrsOf(PEER, pid);
      if (hostAddr && gwAddr) {
        const [hostIP, gatewayIP] = [hostAddr.split('/')[0], gwAddr.split('/')[0]];
        await masquerade(pid, info.subnets);
        for (const subnet of info.subnets) await routeThrough(subnet, gatewayIP, hostIf);
        return { network, subnets: info.subnets, container: name, hostIf, hostIP, gatewayIP, podFacingIP: await podFacingIP(), created: false };
      }
    }
    if (existing) await engine.json('DELETE', `/containers/${existing.Id}?force=true`, undefined, [404]);
    await run('ip', ['link', 'del', hostIf]).catch(() => {});

    // The container: on the overlay only, forwarding on (a namespaced sysctl Docker sets at creation).
    const image = await engine.json('GET', `/images/${encodeURIComponent(IMAGE)}/json`, undefined, [404]);
    if (!image) throw new Error(`image ${IMAGE} is missing: build the images first (bash scripts/build-images.sh)`);
    const created = await engine.json('POST', `/containers/create?name=${encodeURIComponent(name)}`, {
      Image: IMAGE, Cmd: ['sleep', '1000000000'],
      Labels: { [LABELS.managed]: 'true', [GATEWAY_LABEL]: network },
      HostConfig: { NetworkMode: network, Sysctls: { 'net.ipv4.ip_forward': '1' }, RestartPolicy: { Name: 'no' } },
    });
    await engine.json('POST', `/containers/${created.Id}/start`);
    const pid: number = (await engine.json('GET', `/containers/${created.Id}/json`)).State.Pid;

    // The veth: host end here, the other end straight into the gateway's namespace.
    const { hostIP, gatewayIP } = await pickLinkNet(network);
    // Same MTU as the overlay's interface (1450 for VXLAN between hosts), so the host never sends what the overlay would drop.
    const mtu = await overlayMtu(pid, info.subnets[0]);
    await run('ip', ['link', 'add', hostIf, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', PEER, 'mtu', String(mtu), 'netns', String(pid)]);
    await run('ip', ['addr', 'add', `${hostIP}/30`, 'dev', hostIf]);
    await run('ip', ['link', 'set', hostIf, 'up']);
    await inGateway(pid, 'ip', ['addr', 'add', `${gatewayIP}/30`, 'dev', PEER]);
    await inGateway(pid, 'ip', ['link', 'set', PEER, 'up']);
    await masquerade(pid, info.subnets);
    for (const subnet of info.subnets) await routeThrough(subnet, gatewayIP, hostIf);
    return { network, subnets: info.subnets, container: name, hostIf, hostIP, gatewayIP, podFacingIP: await podFacingIP(), created: true };
  }));
}

/** The MTU of the gateway's interface on the overlay (the one with an address in `subnet`). */
async function overlayMtu(pid: number, subnet: string): Promise<number> {
  const links = JSON.parse(await inGateway(pid, 'ip', ['-j', '-4', 'addr'])) as Array<{ mtu: number; addr_info?: Array<{ local: string }> }>;
  const link = links.find((l) => (l.addr_info ?? []).some((a) => inCidr(a.local, subnet)));
  if (!link) throw new Error(`the gateway has no address in ${subnet}`);
  return link.mtu;
}

/** In the gateway: whatever enters the overlay from outside it leaves with the gateway's overlay address, so pods
 *  answer the gateway (their own default route points at docker_gwbridge, not back here). The host's iptables
 *  binary, run in the gateway's namespace. */
async function masquerade(pid: number, subnets: string[]): Promise<void> {
  for (const subnet of subnets) {
    const rule = ['POSTROUTING', '-d', subnet, '!', '-s', subnet, '-j', 'MASQUERADE'];
    const present = await inGateway(pid, 'iptables', ['-w', '5', '-t', 'nat', '-C', ...rule]).then(() => true, () => false);
    if (!present) await inGateway(pid, 'iptables', ['-w', '5', '-t', 'nat', '-A', ...rule]);
  }
}

/** Whether a kubelet on this host (other than `exceptPids`) runs with --network `network`: read from /proc. */
export function kubeletsUsing(network: string, exceptPids: number[] = []): number[] {
  const pids: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || exceptPids.includes(Number(d))) continue;
    let argv: string[];
    try { argv = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0'); } catch { continue; }
    const i = argv.indexOf('--network');
    if (i > 0 && argv[i + 1] === network && argv.some((a) => /kubelet[/\\]main\.[jt]s$/.test(a))) pids.push(Number(d));
  }
  return pids;
}

/** Removes this host's gateway into `network` unless a kubelet here still puts pods on it. The guard route stays
 *  (the overlay still exists on this host): the subnet stays unreachable rather than following the default route.
 *  Says what it did. */
export async function releaseOverlayGateway(network: string): Promise<'removed' | 'in-use' | 'absent'> {
  return withLock(network, () => withEngine(async (engine) => {
    if (kubeletsUsing(network).length) return 'in-use';
    const c = await engine.json('GET', `/containers/${gatewayName(network)}/json`, undefined, [404]);
    if (c?.Config?.Labels?.[GATEWAY_LABEL] !== network) return 'absent'; // gone already (or not kubemu's)
    await engine.json('DELETE', `/containers/${c.Id}?force=true`, undefined, [404]);
    // The veth dies with the container's namespace, and the route through it with the veth; make sure of both.
    await run('ip', ['link', 'del', hostIfName(network)]).catch(() => {});
    return 'removed';
  }));
}

/** For `up`/`join --network NET`: the gateway when NET is an overlay (undefined for a bridge or a network not there), said in one line. */
export async function podNetworkGateway(network: string, say: (line: string) => void): Promise<OverlayGateway | undefined> {
  if ((await dockerNetwork(network))?.driver !== 'overlay') return undefined;
  const gw = await ensureOverlayGateway(network);
  say(`this host reaches pods on overlay ${network} (${gw.subnets.join(', ')}) through ${gw.container}: ${gw.hostIf} ${gw.hostIP} → ${gw.gatewayIP}${gw.created ? '' : ' (already there)'}`);
  return gw;
}
