// The iptables mode of kube-proxy: the kernel forwards Service traffic, as kube-proxy's iptables proxier does.
// Several kube-proxies share this host's kernel, so each instance owns chains named `<prefix>-…` and removes only
// those (and its jumps to them) on close().
//
// nat table                                         filter table
//   PREROUTING  (traffic from containers) ┐           INPUT, FORWARD, OUTPUT (ctstate NEW) → P-SERVICES:
//   OUTPUT      (traffic from host procs) ┴→ P-SERVICES    REJECT frontends that have no backends, so a connect
//       per frontend: [→ P-MARK-MASQ] → P-SVC-<hash>        fails at once (tcp-reset / icmp-port-unreachable)
//   P-SVC-<hash>: [affinity: -m recent --rcheck → SEP]  INPUT → P-FIREWALL: drop new connections to 127/8 from
//       then -m statistic nth rotation → P-SEP-<hash>      elsewhere (route_localnet=1 would let them in)
//   P-SEP-<hash>: [hairpin → P-MARK-MASQ] [recent --set] DNAT ip:port
//   POSTROUTING → P-POSTROUTING: MASQUERADE marked packets and DNATed packets from 127/8
//
// Rotation: `-m statistic --mode nth --every N --packet 0` keeps one counter per rule, counting the packets that
// reach that rule; the counter starts so that the FIRST packet matches (iptables stores every-1 and count =
// every-1-packet; the kernel matches when the counter wraps to 0; iptables-nft turns it into `numgen inc mod N 0`,
// which also starts at 0). With rules i = 0..n-1 using every n-i (the last rule unconditional), rule 0 takes
// connections 0, n, 2n…; rule 1 sees the other n-1 and takes the first of every n-1 of them, and so on: new
// connections go to backends 0,1,…,n-1,0,1,… exactly. Only NEW connections traverse the nat table, so the
// counters count connections. Rewriting a chain creates new rules with fresh counters, so sync() writes only the
// chains whose content changed, and nothing at all when nothing changed.
//
// Why ClusterIPs must also be bound as /32s on kubemu0 (host-net.ts), which the caller does: a host process's
// connect() looks up the route BEFORE nat OUTPUT runs, and the service CIDR routes to `unreachable`, so the
// connect would fail with EHOSTUNREACH before our DNAT is ever seen. A local /32 makes the route lookup succeed
// (local table), then nat OUTPUT rewrites the destination and the kernel re-routes to the backend. Traffic from
// containers does not need it (PREROUTING DNATs before the routing decision); there a bound address only changes
// the answer for a ClusterIP without rules from "no route to host" to "connection refused".
//
// How this sits with Docker's own rules (Docker 20.10 here runs the same `iptables` on PATH, iptables v1.8.9
// (nf_tables), whose rules we write with the matching iptables-restore; checked at the first sync):
//  - nat PREROUTING/OUTPUT jump to DOCKER for local destinations (published ports): our jumps are inserted first,
//    so a published port cannot take a ClusterIP's traffic.
//  - filter FORWARD policy is DROP: container → ClusterIP → container on the same bridge is DNATed and then, with
//    br_netfilter, bridged to the backend; it passes Docker's `-i br-X -o br-X -j ACCEPT` (inter-container
//    communication) and its replies are un-DNATed by conntrack because bridge-nf-call-iptables=1. Host →
//    ClusterIP → container never crosses FORWARD (nat OUTPUT, then filter OUTPUT). Our filter jumps only REJECT.
//  - a pod calling its own Service is bridged back out of the port it came in on, which needs hairpin mode on that
//    bridge port (set by enableHairpin, as kubelet's hairpin-veth does) plus the hairpin masquerade in P-SEP.
//
// Host settings this needs: net.ipv4.conf.all.route_localnet=1 when a frontend is on 127.x (NodePorts and
// LoadBalancer IPs on the 127.0.1.N node addresses), because a packet with a 127/8 source or destination may
// otherwise not be routed through a non-loopback device; net.bridge.bridge-nf-call-iptables=1 (Docker sets it).
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { Logger } from '../lib/logger.ts';
import { isIPv4 } from '../lib/ipv4.ts';
import { enableHairpin } from './host-net.ts';
import type { ServicePortRule } from './service-map.ts';

export type { Backend, Frontend, ServicePortRule } from './service-map.ts';

export interface IptablesProxierOptions {
  logger: Logger;
  /** Names this instance's chains, e.g. 'KUBEMU-N1': 1-11 of A-Z 0-9 -, so `<prefix>-SVC-<hash>` fits 28 chars. */
  chainPrefix: string;
  /** The packet mark bit that asks for masquerade (Kubernetes' --iptables-masquerade-bit 14). */
  masqueradeMark?: number;
  /** Put the bridge ports of backends in hairpin mode so a pod can reach itself through its Service; default
   *  true. Turn off when the runtime does it (kubelet --hairpin-mode=hairpin-veth). */
  hairpin?: boolean;
}

type Table = 'nat' | 'filter';
const TABLES: Table[] = ['nat', 'filter'];
/** chain name → its rules, each as the arguments after `-A <chain>`. */
export type TableChains = Map<string, string[]>;
export type ChainSet = Record<Table, TableChains>;

const MAX_CHAIN = 28; // XT_EXTENSION_MAXNAMELEN - 1
const HASH_LEN = 12;
const PREFIX_RE = /^[A-Z0-9][A-Z0-9-]{0,10}$/;
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

const SYSCTL_ROUTE_LOCALNET = '/proc/sys/net/ipv4/conf/all/route_localnet';
const SYSCTL_BRIDGE_NF = '/proc/sys/net/bridge/bridge-nf-call-iptables';

/** The first 60 bits of sha256(s) in base32, 12 characters (Kubernetes uses 16; chain names here carry a prefix). */
function hash(s: string): string {
  const n = createHash('sha256').update(s).digest().readBigUInt64BE(0);
  let out = '';
  for (let i = 0; i < HASH_LEN; i++) out += B32[Number((n >> BigInt(59 - 5 * i)) & 31n)];
  return out;
}

export interface ChainNames {
  services: string;
  postrouting: string;
  markMasq: string;
  firewall: string;
  svc(rule: ServicePortRule): string;
  sep(rule: ServicePortRule, backend: { ip: string; port: number }): string;
  /** Whether `chain` is one of this prefix's chains (and not another prefix's that merely starts alike). */
  owns(chain: string): boolean;
}

export function chainNames(prefix: string): ChainNames {
  if (!PREFIX_RE.test(prefix)) throw new Error(`chainPrefix ${JSON.stringify(prefix)}: want 1-11 characters of A-Z 0-9 - starting with a letter or digit`);
  const own = new RegExp(`^${prefix}-(SERVICES|POSTROUTING|MARK-MASQ|FIREWALL|SVC-[A-Z2-7]{${HASH_LEN}}|SEP-[A-Z2-7]{${HASH_LEN}})$`);
  const names: ChainNames = {
    services: `${prefix}-SERVICES`,
    postrouting: `${prefix}-POSTROUTING`,
    markMasq: `${prefix}-MARK-MASQ`,
    firewall: `${prefix}-FIREWALL`,
    svc: (r) => `${prefix}-SVC-${hash(`${r.protocol}/${r.key}`)}`,
    sep: (r, b) => `${prefix}-SEP-${hash(`${r.protocol}/${r.key}/${b.ip}:${b.port}`)}`,
    owns: (c) => own.test(c),
  };
  for (const n of [names.services, names.postrouting, `${prefix}-SVC-${'A'.repeat(HASH_LEN)}`]) {
    if (n.length > MAX_CHAIN) throw new Error(`chain name ${n} is longer than ${MAX_CHAIN} characters`);
  }
  return names;
}

/** A comment argument, quoted for iptables-restore (which understands double quotes, not escapes). */
function comment(text: string): string {
  return `-m comment --comment "${text.replace(/[^A-Za-z0-9 ._:/>=-]/g, '_').slice(0, 250)}"`;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** Every chain this instance wants, with its rules. Pure: the tests and sync()'s diff work on its output. */
export function buildChains(prefix: string, rules: ServicePortRule[], opts: { masqueradeMark?: number } = {}): ChainSet {
  const names = chainNames(prefix);
  const mark = opts.masqueradeMark ?? 0x4000;
  const nat: TableChains = new Map();
  const filter: TableChains = new Map();
  const natServices: string[] = [];
  const filterServices: string[] = [];
  nat.set(names.services, natServices);
  nat.set(names.markMasq, [`-j MARK --or-mark ${hex(mark)}`]);
  nat.set(names.postrouting, [
    // A packet DNATed while its source is a 127/8 address (a host process calling a NodePort or LoadBalancer IP on
    // 127.x, or a ClusterIP from a socket bound to 127.0.0.1) can leave through a container bridge only because
    // route_localnet=1; the backend could not answer 127.x, so give it the outgoing interface's address.
    `-s 127.0.0.0/8 ! -o lo -m conntrack --ctstate DNAT ${comment('localhost to a service backend')} -j MASQUERADE`,
    `-m mark ! --mark ${hex(mark)}/${hex(mark)} -j RETURN`,
    `-j MARK --xor-mark ${hex(mark)}`,
    `${comment('kubemu service traffic requiring SNAT')} -j MASQUERADE`,
  ]);
  filter.set(names.services, filterServices);
  // The guard Kubernetes adds with route_localnet=1 (CVE-2020-8558): nothing from outside may open a connection
  // to a 127/8 address.
  filter.set(names.firewall, [
    `! -s 127.0.0.0/8 -d 127.0.0.0/8 ${comment('block incoming localnet connections')} -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
  ]);

  const sorted = [...rules].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const r of sorted) {
    const proto = r.protocol === 'UDP' ? 'udp' : 'tcp';
    const seen = new Set<string>();
    const backends = r.backends.filter((b) => isIPv4(b.ip) && !seen.has(`${b.ip}:${b.port}`) && seen.add(`${b.ip}:${b.port}`));
    const svc = names.svc(r);
    for (const f of r.frontends) {
      if (!isIPv4(f.ip)) continue; // IPv4 only (iptables, not ip6tables)
      const match = `-d ${f.ip}/32 -p ${proto} -m ${proto} --dport ${f.port}`;
      const what = `${r.key} ${f.kind === 'ClusterIP' ? 'cluster IP' : f.kind === 'NodePort' ? 'node port' : 'load balancer IP'}`;
      if (backends.length === 0) {
        const reject = proto === 'tcp' ? 'tcp-reset' : 'icmp-port-unreachable';
        filterServices.push(`${match} ${comment(`${what} has no endpoints`)} -j REJECT --reject-with ${reject}`);
        continue;
      }
      // Traffic reaching a NodePort or load balancer IP is external: masquerade it so replies come back through
      // this node (externalTrafficPolicy: Cluster).
      if (f.kind !== 'ClusterIP') natServices.push(`${match} ${comment(`${what} external`)} -j ${names.markMasq}`);
      natServices.push(`${match} ${comment(what)} -j ${svc}`);
    }
    if (backends.length === 0) continue;
    const svcRules: string[] = [];
    const seps = backends.map((b) => names.sep(r, b));
    const timeout = r.affinity?.timeoutSeconds;
    if (timeout !== undefined) {
      // ClientIP affinity: a client seen within `timeout` goes back to the backend that served it.
      backends.forEach((b, i) => svcRules.push(
        `${comment(`${r.key} -> ${b.ip}:${b.port}`)} -m recent --name ${seps[i]} --mask 255.255.255.255 --rsource --rcheck --seconds ${timeout} --reap -j ${seps[i]}`));
    }
    const n = backends.length;
    backends.forEach((b, i) => {
      const nth = i < n - 1 ? ` -m statistic --mode nth --every ${n - i} --packet 0` : '';
      svcRules.push(`${comment(`${r.key} -> ${b.ip}:${b.port}`)}${nth} -j ${seps[i]}`);
    });
    nat.set(svc, svcRules);
    backends.forEach((b, i) => {
      const set = timeout !== undefined ? ` -m recent --set --name ${seps[i]} --mask 255.255.255.255 --rsource` : '';
      nat.set(seps[i]!, [
        // Hairpin: a backend calling its own service gets itself; without SNAT it would see its own address as source.
        `-s ${b.ip}/32 ${comment(r.key)} -j ${names.markMasq}`,
        `-p ${proto} ${comment(r.key)}${set} -m ${proto} -j DNAT --to-destination ${b.ip}:${b.port}`,
      ]);
    });
  }
  return { nat, filter };
}

interface Hook { table: Table; chain: string; spec: string; target: string }

/** The jumps from built-in chains into this instance's chains. */
export function hooksOf(prefix: string): Hook[] {
  const n = chainNames(prefix);
  const portals = comment(`kubemu ${prefix} service portals`);
  return [
    { table: 'nat', chain: 'PREROUTING', spec: portals, target: n.services },
    { table: 'nat', chain: 'OUTPUT', spec: portals, target: n.services },
    { table: 'nat', chain: 'POSTROUTING', spec: comment(`kubemu ${prefix} postrouting rules`), target: n.postrouting },
    { table: 'filter', chain: 'INPUT', spec: `-m conntrack --ctstate NEW ${portals}`, target: n.services },
    { table: 'filter', chain: 'FORWARD', spec: `-m conntrack --ctstate NEW ${portals}`, target: n.services },
    { table: 'filter', chain: 'OUTPUT', spec: `-m conntrack --ctstate NEW ${portals}`, target: n.services },
    { table: 'filter', chain: 'INPUT', spec: comment(`kubemu ${prefix} localnet guard`), target: n.firewall },
  ];
}

/** What iptables-save shows of one table: every chain name and every rule line. */
interface SavedTable { chains: Set<string>; rules: string[] }

export function parseSave(text: string): Record<Table, SavedTable> {
  const out: Record<Table, SavedTable> = { nat: { chains: new Set(), rules: [] }, filter: { chains: new Set(), rules: [] } };
  let cur: SavedTable | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) cur = (out as Record<string, SavedTable>)[line.slice(1).trim()];
    else if (!cur) continue;
    else if (line.startsWith(':')) cur.chains.add(line.slice(1).split(' ')[0]!);
    else if (line.startsWith('-A ')) cur.rules.push(line.trimEnd());
  }
  return out;
}

const jumpsTo = (line: string, target: string) => line.endsWith(` -j ${target}`);

async function run(cmd: string, args: string[], input?: string): Promise<string> {
  const r = await execa(cmd, args, { reject: false, ...(input !== undefined && { input }) });
  if (r.exitCode !== 0) {
    const err = new Error(`${cmd} ${args.join(' ')}: ${String(r.stderr).trim() || `exit ${r.exitCode}`}`) as Error & { stderr: string };
    err.stderr = String(r.stderr);
    throw err;
  }
  return String(r.stdout);
}

async function readSysctl(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Removes every chain of `chainPrefix` and every jump into them (what close() does, usable without an instance:
 *  `kubemu down` after a kube-proxy was killed). Nothing to do if there are none. */
export async function removeChains(chainPrefix: string): Promise<void> {
  const names = chainNames(chainPrefix);
  const saved = parseSave(await run('iptables-save', []));
  let payload = '';
  for (const t of TABLES) {
    const ours = [...saved[t].chains].filter((c) => names.owns(c));
    if (ours.length === 0) continue;
    const unhook = saved[t].rules
      .filter((rule) => !names.owns(rule.split(' ')[1]!) && ours.some((c) => jumpsTo(rule, c)))
      .map((rule) => `-D ${rule.slice(3)}`);
    // Declaring a chain flushes it, so the -X lines find them empty and unreferenced.
    payload += `*${t}\n${[...ours.map((c) => `:${c} - [0:0]`), ...unhook, ...ours.map((c) => `-X ${c}`)].join('\n')}\nCOMMIT\n`;
  }
  if (payload) await restore(payload);
}

async function restore(payload: string, log?: Logger): Promise<void> {
  log?.debug({ payload }, 'iptables-restore');
  for (let attempt = 1; ; attempt++) {
    try {
      // --noflush: leave every chain not named in the payload (Docker's, other instances', our unchanged ones).
      await run('iptables-restore', ['--noflush', '-w', '5'], payload);
      return;
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? '';
      // nf_tables refuses a batch built against an older ruleset generation when Docker or another kube-proxy
      // changed it in between; that is worth retrying.
      if (attempt < 3 && /temporarily|try again|busy|lock|generation/i.test(stderr)) {
        await new Promise((r) => setTimeout(r, 50 * attempt));
        continue;
      }
      const m = /line (\d+) failed/.exec(stderr);
      const line = m ? payload.split('\n')[Number(m[1]) - 1] : undefined;
      throw new Error(`iptables-restore failed: ${stderr.trim()}${line ? ` (line: ${line})` : ''}`);
    }
  }
}

/** The nat and filter tables with their rule counters, for IptablesProxier.counters(). */
export async function savedCounters(): Promise<string> {
  return await run('iptables-save', ['-c', '-t', 'nat']) + await run('iptables-save', ['-c', '-t', 'filter']);
}

export class IptablesProxier {
  private readonly log: Logger;
  private readonly prefix: string;
  private readonly names: ChainNames;
  private readonly mark: number;
  private readonly hairpin: boolean;
  /** What the kernel holds of our chains after the last successful write; undefined = unknown, rewrite all. */
  private written: ChainSet | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private checkedHost = false;
  private closed = false;

  constructor(opts: IptablesProxierOptions) {
    if (!opts || !opts.logger) throw new Error('IptablesProxier: logger is required');
    this.names = chainNames(opts.chainPrefix);
    this.prefix = opts.chainPrefix;
    this.mark = opts.masqueradeMark ?? 0x4000;
    this.hairpin = opts.hairpin ?? true;
    if (!Number.isInteger(this.mark) || this.mark <= 0 || this.mark > 0xffffffff || (this.mark & (this.mark - 1)) !== 0) {
      throw new Error(`masqueradeMark ${opts.masqueradeMark}: want a single bit, e.g. 0x4000`);
    }
    this.log = opts.logger.child({ proxier: 'iptables', chainPrefix: opts.chainPrefix });
  }

  /** Makes the kernel forward exactly `rules`. Writes only chains whose rules changed; a sync that changes
   *  nothing writes nothing, so rotation counters and affinity entries survive it. */
  sync(rules: ServicePortRule[]): Promise<void> {
    return this.serialized(() => this.doSync(rules));
  }

  /**
   * What the kernel counted per rule since its rules were written: new connections (each passes
   * exactly one jump into the rule's service chain) and connections rejected for lack of endpoints.
   * A rewritten chain starts counting again from 0. `saved` is what savedCounters() read: one read
   * serves every instance.
   */
  counters(rules: ServicePortRule[], saved: string): Map<string, { connections: number; rejected: number }> {
    const out = new Map<string, { connections: number; rejected: number }>();
    const bySvcChain = new Map(rules.map((r) => [this.names.svc(r), r.key]));
    const rejectTag = new Map(rules.map((r) => [`"${r.key} `.replace(/[^A-Za-z0-9 ._:/>="-]/g, '_'), r.key]));
    for (const line of saved.split('\n')) {
      const m = /^\[(\d+):\d+\] -A (\S+) (.*)$/.exec(line);
      if (!m || m[2] !== this.names.services) continue;
      const packets = Number(m[1]);
      const jump = / -j (\S+)/.exec(m[3])?.[1];
      let key = jump ? bySvcChain.get(jump) : undefined;
      if (key) { const c = out.get(key) ?? { connections: 0, rejected: 0 }; c.connections += packets; out.set(key, c); continue; }
      if (jump !== 'REJECT') continue;
      for (const [tag, k] of rejectTag) if (m[3].includes(`--comment ${tag}`)) key = k;
      if (key) { const c = out.get(key) ?? { connections: 0, rejected: 0 }; c.rejected += packets; out.set(key, c); }
    }
    return out;
  }

  /** Removes this instance's chains and the jumps to them; other instances' rules and Docker's stay. */
  close(): Promise<void> {
    return this.serialized(async () => {
      if (this.closed) return;
      this.closed = true;
      this.written = undefined;
      await removeChains(this.prefix);
      this.log.info('removed iptables chains');
    });
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async doSync(rules: ServicePortRule[]): Promise<void> {
    if (this.closed) throw new Error('IptablesProxier: sync after close');
    const want = buildChains(this.prefix, rules, { masqueradeMark: this.mark });
    if (!this.checkedHost) await this.checkHost();
    await this.ensureLocalnet(rules);

    const lines: Record<Table, string[]> = { nat: [], filter: [] };
    let changed = 0;
    let deleted = 0;
    if (!this.written) {
      // Unknown kernel state (first sync, or a failed write): rewrite every chain, delete stale ones of ours,
      // add missing jumps.
      const saved = parseSave(await run('iptables-save', []));
      for (const t of TABLES) {
        const decl: string[] = [];
        const body: string[] = [];
        for (const [chain, rs] of want[t]) {
          decl.push(`:${chain} - [0:0]`);
          for (const r of rs) body.push(`-A ${chain} ${r}`);
          changed++;
        }
        for (const c of saved[t].chains) {
          if (this.names.owns(c) && !want[t].has(c)) {
            decl.push(`:${c} - [0:0]`);
            body.push(`-X ${c}`);
            deleted++;
          }
        }
        for (const h of hooksOf(this.prefix).filter((x) => x.table === t)) {
          const present = saved[t].rules.some((r) => r.startsWith(`-A ${h.chain} `) && jumpsTo(r, h.target));
          if (!present) body.push(`-I ${h.chain} 1 ${h.spec} -j ${h.target}`);
        }
        lines[t] = [...decl, ...body];
      }
    } else {
      for (const t of TABLES) {
        const decl: string[] = [];
        const body: string[] = [];
        const dels: string[] = [];
        for (const [chain, rs] of want[t]) {
          const had = this.written[t].get(chain);
          if (had && had.length === rs.length && had.every((r, i) => r === rs[i])) continue;
          decl.push(`:${chain} - [0:0]`);
          for (const r of rs) body.push(`-A ${chain} ${r}`);
          changed++;
        }
        for (const chain of this.written[t].keys()) {
          if (want[t].has(chain)) continue;
          decl.push(`:${chain} - [0:0]`);
          dels.push(`-X ${chain}`);
          deleted++;
        }
        lines[t] = [...decl, ...body, ...dels];
      }
    }
    const payload = this.payload(lines);
    if (!payload) {
      this.log.debug({ rules: rules.length }, 'iptables rules unchanged; nothing written');
      return;
    }
    try {
      await restore(payload, this.log);
    } catch (err) {
      this.written = undefined;
      throw err;
    }
    this.written = want;
    this.log.info({ rules: rules.length, chainsWritten: changed, chainsDeleted: deleted }, 'iptables rules synced');
    if (this.hairpin) {
      // New backends come with a rule change, so doing this only when something was written is enough.
      try {
        const ports = await enableHairpin(rules.flatMap((r) => r.backends.map((b) => b.ip)));
        if (ports.length) this.log.info({ ports }, 'hairpin mode enabled on bridge ports');
      } catch (err) {
        this.log.warn({ err }, 'could not enable hairpin mode; a pod calling its own Service may not reach itself');
      }
    }
  }

  private payload(lines: Record<Table, string[]>): string {
    let out = '';
    for (const t of TABLES) if (lines[t].length) out += `*${t}\n${lines[t].join('\n')}\nCOMMIT\n`;
    return out;
  }

  /** Once: the iptables commands must be the variant Docker uses (the one on PATH; nf_tables on Debian 12) and
   *  bridged traffic must pass through iptables, or replies between two containers on the same bridge would
   *  skip the conntrack that undoes our DNAT. */
  private async checkHost(): Promise<void> {
    const variant = (s: string) => /\((nf_tables|legacy)\)/.exec(s)?.[1] ?? 'legacy';
    const [ipt, restore] = await Promise.all([run('iptables', ['--version']), run('iptables-restore', ['--version'])]);
    if (variant(ipt) !== variant(restore)) {
      throw new Error(`iptables is ${ipt.trim()} but iptables-restore is ${restore.trim()}: both must be the same variant (update-alternatives --config iptables)`);
    }
    const bridgeNf = await readSysctl(SYSCTL_BRIDGE_NF);
    if (bridgeNf === undefined) {
      this.log.warn('br_netfilter is not loaded (no net.bridge.bridge-nf-call-iptables): a pod calling a Service backed by a pod on the same bridge will not get replies; modprobe br_netfilter');
    } else if (bridgeNf !== '1') {
      await writeFile(SYSCTL_BRIDGE_NF, '1');
      this.log.info('set net.bridge.bridge-nf-call-iptables=1 (replies between pods on one bridge must be un-DNATed)');
    }
    this.log.info({ iptables: ipt.trim() }, 'iptables mode');
    this.checkedHost = true;
  }

  /** NodePorts and load balancer IPs on 127.x (each node's address here is 127.0.1.N) DNATed to a container
   *  would be dropped as martians when routed out of the loopback device unless route_localnet=1. */
  private async ensureLocalnet(rules: ServicePortRule[]): Promise<void> {
    const needs = rules.some((r) => r.backends.length > 0 && r.frontends.some((f) => f.ip.startsWith('127.')));
    if (!needs || (await readSysctl(SYSCTL_ROUTE_LOCALNET)) === '1') return;
    await writeFile(SYSCTL_ROUTE_LOCALNET, '1');
    this.log.info('set net.ipv4.conf.all.route_localnet=1 (services on 127.x addresses forward to containers)');
  }
}
