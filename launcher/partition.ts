// A real network partition between a node and the control plane, with the kernel's own tools: the
// node's processes go into a cgroup v2 group kubemu/<cluster>/<node>, and iptables drops what that
// group sends to the apiserver's ports (`-m cgroup --path`). The cgroup match sees the cgroup a socket
// was created in, so connections opened before the move are matched by their own 4-tuple as well:
// they hang as over a dead link, and resume (TCP retransmits) once the rules go. Every rule carries
// the comment kubemu-partition:<cluster>/<node>, which is how heal and cleanup find them again.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { connectionsTo } from './sockets.ts';

/** Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts). */
export function cgroup2Mount(): string {
  for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, where, type] = line.split(' ');
    if (type === 'cgroup2') return where;
  }
  throw new Error('no cgroup v2 hierarchy is mounted (see /proc/mounts): a partition needs one, e.g. mount -t cgroup2 none /sys/fs/cgroup/unified');
}

/** The group's path relative to the hierarchy's root, as `iptables -m cgroup --path` takes it. */
export const partitionCgroup = (cluster: string, node: string) => `kubemu/${cluster}/${node}`;
const comment = (cluster: string, node: string) => `kubemu-partition:${cluster}/${node}`;

/** Moves the processes into the node's group (created on first use). A process that is gone is skipped. */
export function joinPartitionCgroup(cluster: string, node: string, pids: number[]): void {
  const dir = path.join(cgroup2Mount(), partitionCgroup(cluster, node));
  fs.mkdirSync(dir, { recursive: true });
  for (const pid of pids) {
    try { fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid)); } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw new Error(`could not move pid ${pid} into cgroup ${dir}: ${(err as Error).message}`);
    }
  }
}

async function iptables(args: string[]): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const r = await execa('iptables', ['-w', '5', ...args], { reject: false });
    if (r.exitCode === 0) return String(r.stdout);
    // nf_tables refuses a change built against a ruleset Docker or a kube-proxy changed meanwhile: retry that.
    if (attempt < 3 && /temporarily|try again|busy|lock|generation/i.test(String(r.stderr))) { await sleep(50 * attempt); continue; }
    throw new Error(`iptables ${args.join(' ')}: ${String(r.stderr).trim() || `exit ${r.exitCode}`}`);
  }
}

/** Cuts the node's processes off from the apiserver ports: new connections via their cgroup, open ones by their ports. */
export async function partition(cluster: string, node: string, pids: number[], apiPorts: number[], apiHost = '127.0.0.1'): Promise<void> {
  joinPartitionCgroup(cluster, node, pids);
  const tag = ['-m', 'comment', '--comment', comment(cluster, node), '-j', 'DROP'];
  for (const port of apiPorts) {
    await iptables(['-I', 'OUTPUT', '-m', 'cgroup', '--path', partitionCgroup(cluster, node), '-p', 'tcp', '-d', apiHost, '--dport', String(port), ...tag]);
  }
  // After the move: anything these processes open from now on is in the group, so this list is complete.
  for (const pid of pids) {
    for (const c of connectionsTo(pid, apiHost, apiPorts)) {
      await iptables(['-I', 'OUTPUT', '-p', 'tcp', '-s', c.localIP, '--sport', String(c.localPort), '-d', c.remoteIP, '--dport', String(c.remotePort), ...tag]);
    }
  }
}

/** Splits one line of `iptables -S` into arguments (values with spaces come double-quoted). */
export function splitRule(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]));
}

/** Deletes every OUTPUT rule of the node's partition (of every node of the cluster without `node`); returns how many. */
export async function removePartitionRules(cluster: string, node?: string): Promise<number> {
  const wanted = node ? comment(cluster, node) : comment(cluster, '');
  let removed = 0;
  for (const line of (await iptables(['-S', 'OUTPUT'])).split('\n')) {
    const args = splitRule(line);
    const c = args[args.indexOf('--comment') + 1];
    if (args[0] !== '-A' || !args.includes('--comment') || !(node ? c === wanted : c?.startsWith(wanted))) continue;
    await iptables(['-D', ...args.slice(1)]);
    removed++;
  }
  return removed;
}

/** Removes the cluster's groups (kubemu/<cluster>/*, and kubemu/ once no cluster uses it). Their processes must be gone. */
export async function removePartitionCgroups(cluster: string): Promise<void> {
  let root: string;
  try { root = cgroup2Mount(); } catch { return; }
  const clusterDir = path.join(root, 'kubemu', cluster);
  if (!fs.existsSync(clusterDir)) return;
  const nodes = fs.readdirSync(clusterDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join(clusterDir, d.name));
  for (const dir of [...nodes, clusterDir]) await rmdirWhenEmpty(dir);
  try { fs.rmdirSync(path.join(root, 'kubemu')); } catch { /* another cluster's groups are still there */ }
}

async function rmdirWhenEmpty(dir: string): Promise<void> {
  // A process killed a moment ago may still count as a member until the kernel has finished with it.
  for (let attempt = 0; ; attempt++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 50) throw new Error(`could not remove cgroup ${dir}: ${(err as Error).message} (processes: ${fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim().replace(/\n/g, ' ') || 'none'})`);
      await sleep(100);
    }
  }
}
