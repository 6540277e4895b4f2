// Host networking for Services, done with the `ip` command and idempotent throughout:
//  - a bridge interface (kubemu0) that holds each ClusterIP as a /32. This kernel has no `dummy` link type; an
//    address on a port-less bridge is still a local address, so it answers the host and containers on Docker
//    networks (their packets reach the host through their bridge gateway and are delivered locally).
//  - an `unreachable` route for the whole service CIDR, so an address no proxy has bound fails at once
//    ("No route to host") instead of following the default route off the machine. Bound /32s are in the
//    local routing table, which is looked up before main, so they still answer.
// Everything here needs CAP_NET_ADMIN; hasNetAdmin() lets callers say so before trying.
import { readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { inCidr, ipToInt, isIPv4, parseCidr } from '../lib/ipv4.ts';

export { ipToInt, isIPv4, parseCidr };

export const DEFAULT_SERVICE_IFACE = 'kubemu0';

const CAP_NET_ADMIN = 12n;

/** Whether this process holds CAP_NET_ADMIN (root normally does), read from /proc/self/status. */
export function hasNetAdmin(): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m !== null && ((BigInt(`0x${m[1]}`) >> CAP_NET_ADMIN) & 1n) === 1n;
  } catch {
    return false;
  }
}

export function netAdminError(what: string): Error {
  return new Error(
    `${what} needs CAP_NET_ADMIN (run kube-proxy as root, or grant it: setcap cap_net_admin+ep $(which node)). ` +
    'Without it ClusterIPs cannot be bound on a local interface, so Services are reachable only through ' +
    'NodePorts on the node address, and the service CIDR has no unreachable guard route.');
}

function requireNetAdmin(what: string): void {
  if (!hasNetAdmin()) throw netAdminError(what);
}

async function ip(args: string[]): Promise<string> {
  const r = await execa('ip', args, { reject: false });
  if (r.exitCode !== 0) {
    const err = new Error(`ip ${args.join(' ')}: ${String(r.stderr).trim() || `exit ${r.exitCode}`}`) as Error & { stderr: string };
    err.stderr = String(r.stderr);
    throw err;
  }
  return String(r.stdout);
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return x.base < y.base + y.size && y.base < x.base + x.size;
}

function checkIface(iface: string): void {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(iface)) throw new Error(`invalid interface name ${JSON.stringify(iface)} (1-15 of A-Z a-z 0-9 _ . -)`);
}

function checkIP(addr: string): void {
  if (!isIPv4(addr)) throw new Error(`invalid IPv4 address ${JSON.stringify(addr)}`);
}

interface RouteJson { type?: string; dst: string; dev?: string; table?: string }

/** Routes in the main table whose destination overlaps `cidr`, as `ip route` prints them; the default route is
 *  ignored, and so are unreachable/blackhole/prohibit routes unless `all`. Used to refuse a service CIDR that
 *  shadows a real network (a Docker bridge, the LAN) and by tests to pick free subnets. */
export async function overlappingRoutes(cidr: string, opts: { all?: boolean } = {}): Promise<string[]> {
  parseCidr(cidr);
  const routes = JSON.parse((await ip(['-j', '-4', 'route', 'show', 'table', 'main'])) || '[]') as RouteJson[];
  const out: string[] = [];
  for (const r of routes) {
    if (r.dst === 'default') continue;
    if (!opts.all && ['unreachable', 'blackhole', 'prohibit'].includes(r.type ?? '')) continue;
    const dst = r.dst.includes('/') ? r.dst : `${r.dst}/32`;
    if (cidrsOverlap(dst, cidr)) out.push(`${r.type && r.type !== 'unicast' ? `${r.type} ` : ''}${dst}${r.dev ? ` dev ${r.dev}` : ''}`);
  }
  return out;
}

async function linkExists(iface: string): Promise<boolean> {
  try {
    await ip(['link', 'show', 'dev', iface]);
    return true;
  } catch (err) {
    if (/does not exist/.test((err as { stderr?: string }).stderr ?? '')) return false;
    throw err;
  }
}

export interface ServiceNetworkOptions {
  /** The service CIDR, e.g. 10.96.0.0/16. */
  cidr: string;
  /** The interface that holds ClusterIPs; default kubemu0. */
  iface?: string;
}

/** Creates the ClusterIP interface (a bridge) if missing, sets it up, and routes the whole service CIDR to
 *  `unreachable`. Safe to call from several processes at once and again after a restart. */
export async function ensureServiceNetwork({ cidr, iface = DEFAULT_SERVICE_IFACE }: ServiceNetworkOptions): Promise<void> {
  parseCidr(cidr);
  checkIface(iface);
  requireNetAdmin(`creating ${iface} and the unreachable route for ${cidr}`);
  const clash = await overlappingRoutes(cidr);
  if (clash.length) throw new Error(`service CIDR ${cidr} overlaps existing routes (${clash.join('; ')}); choose another service CIDR`);
  if (!(await linkExists(iface))) {
    try {
      await ip(['link', 'add', iface, 'type', 'bridge']);
    } catch (err) {
      // Another kube-proxy on this host may have created it in between.
      if (!/File exists/.test((err as { stderr?: string }).stderr ?? '')) throw err;
    }
  }
  await ip(['link', 'set', 'dev', iface, 'up']);
  await ip(['route', 'replace', 'unreachable', cidr]);
}

/** Routes `cidr` to `unreachable` (idempotent) after checking no real route overlaps it: packets to it never leave. */
export async function guardUnroutedRange(cidr: string): Promise<void> {
  parseCidr(cidr);
  requireNetAdmin(`the unreachable route for ${cidr}`);
  const clash = await overlappingRoutes(cidr);
  if (clash.length) throw new Error(`${cidr} overlaps existing routes (${clash.join('; ')})`);
  await ip(['route', 'replace', 'unreachable', cidr]);
}

/** Binds `addr`/32 on the interface (idempotent). */
export async function addServiceAddress(addr: string, iface: string = DEFAULT_SERVICE_IFACE): Promise<void> {
  checkIP(addr);
  checkIface(iface);
  requireNetAdmin(`binding ${addr} on ${iface}`);
  await ip(['addr', 'replace', `${addr}/32`, 'dev', iface]);
}

/** Removes `addr`/32 from the interface; nothing to do if it is not there (or the interface is gone). */
export async function removeServiceAddress(addr: string, iface: string = DEFAULT_SERVICE_IFACE): Promise<void> {
  checkIP(addr);
  checkIface(iface);
  requireNetAdmin(`removing ${addr} from ${iface}`);
  try {
    await ip(['addr', 'del', `${addr}/32`, 'dev', iface]);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    if (!/Cannot assign requested address|Address not found|does not exist|Cannot find device/.test(stderr)) throw err;
  }
}

interface AddrJson { addr_info?: { family: string; local: string; prefixlen: number }[] }

/** The /32 IPv4 addresses on the interface; [] if it does not exist. */
export async function listServiceAddresses(iface: string = DEFAULT_SERVICE_IFACE): Promise<string[]> {
  checkIface(iface);
  let out: string;
  try {
    out = await ip(['-j', '-4', 'addr', 'show', 'dev', iface]);
  } catch (err) {
    if (/does not exist/.test((err as { stderr?: string }).stderr ?? '')) return [];
    throw err;
  }
  const links = JSON.parse(out || '[]') as AddrJson[];
  return links.flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === 'inet' && a.prefixlen === 32).map((a) => a.local));
}

/** Removes every /32 in `cidr` from the interface (one cluster's ClusterIPs); returns the ones removed. */
export async function removeServiceAddressesIn(cidr: string, iface: string = DEFAULT_SERVICE_IFACE): Promise<string[]> {
  const gone = (await listServiceAddresses(iface)).filter((ip) => inCidr(ip, cidr));
  for (const ip of gone) await removeServiceAddress(ip, iface);
  return gone;
}

/** Makes the interface hold exactly `addrs` as /32s: adds the missing ones, removes the others. */
export async function syncServiceAddresses(addrs: Iterable<string>, iface: string = DEFAULT_SERVICE_IFACE): Promise<{ added: string[]; removed: string[] }> {
  const want = new Set(addrs);
  for (const a of want) checkIP(a);
  const have = new Set(await listServiceAddresses(iface));
  const added = [...want].filter((a) => !have.has(a));
  const removed = [...have].filter((a) => !want.has(a));
  for (const a of added) await addServiceAddress(a, iface);
  for (const a of removed) await removeServiceAddress(a, iface);
  return { added, removed };
}

/** Deletes the interface (and with it every bound ClusterIP) and the unreachable route. Only the route of type
 *  unreachable for exactly `cidr` is removed; missing pieces are not an error. */
export async function teardownServiceNetwork({ cidr, iface = DEFAULT_SERVICE_IFACE }: ServiceNetworkOptions): Promise<void> {
  parseCidr(cidr);
  checkIface(iface);
  requireNetAdmin(`removing ${iface} and the unreachable route for ${cidr}`);
  try {
    await ip(['link', 'del', 'dev', iface]);
  } catch (err) {
    if (!/does not exist|Cannot find device/.test((err as { stderr?: string }).stderr ?? '')) throw err;
  }
  try {
    await ip(['route', 'del', 'unreachable', cidr]);
  } catch (err) {
    if (!/No such process/.test((err as { stderr?: string }).stderr ?? '')) throw err;
  }
}

/** Turns on hairpin mode on every port of the Linux bridges that carry `ips` (pod addresses on Docker bridge
 *  networks), as the kubelet's --hairpin-mode=hairpin-veth does. With br_netfilter, a packet DNATed to an address
 *  on the bridge it came from is bridged, not routed, straight to the backend's port; when the backend is the
 *  client itself (a pod calling its own Service) that is the port the frame came in on, which a bridge refuses
 *  unless the port is in hairpin mode. Addresses not behind a bridge (overlay networks, loopback) are skipped.
 *  Returns the ports changed, as `bridge/port`. */
export async function enableHairpin(ips: Iterable<string>): Promise<string[]> {
  const routes = (JSON.parse((await ip(['-j', '-4', 'route', 'show', 'table', 'main'])) || '[]') as RouteJson[])
    .filter((r) => r.dst !== 'default' && r.dev && !r.type)
    .map((r) => ({ dev: r.dev!, ...parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`) }));
  const bridges = new Set<string>();
  for (const a of ips) {
    if (!isIPv4(a)) continue;
    const n = ipToInt(a);
    let best: (typeof routes)[number] | undefined;
    for (const r of routes) if (n >= r.base && n < r.base + r.size && (!best || r.bits > best.bits)) best = r;
    if (best) bridges.add(best.dev);
  }
  const changed: string[] = [];
  for (const br of bridges) {
    let ports: string[];
    try {
      ports = await readdir(`/sys/class/net/${br}/brif`);
    } catch {
      continue; // not a bridge
    }
    for (const port of ports) {
      const file = `/sys/class/net/${br}/brif/${port}/hairpin_mode`;
      try {
        if ((await readFile(file, 'utf8')).trim() === '1') continue;
        await writeFile(file, '1');
        changed.push(`${br}/${port}`);
      } catch {
        // The port went away in between (a container stopped).
      }
    }
  }
  return changed;
}
