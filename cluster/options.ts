// ClusterOptions: checked up front with clear messages, defaults as `kubemu up` has them, and a
// generated cluster name that nothing else on this host is using, because node names, node IPs,
// the Docker network and the service CIDR all derive from the name (launcher/components.ts).
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { nodeIdentity } from '../launcher/components.ts';
import { DockerEngine } from '../kubelet/public.ts';

export interface ClusterOptions {
  /** Nodes (kubelets), default 3. */
  nodes?: number;
  /** docker: pods are containers; fake: hollow nodes, no Docker. Default docker. */
  runtime?: 'docker' | 'fake';
  /** State, data and logs; default a fresh temporary directory. Removed by stop() either way. */
  dir?: string;
  /** apiserver ports on 127.0.0.1; default free ones. */
  ports?: { rest?: number; grpc?: number };
  /** Cluster name; default a unique generated one, so clusters side by side never clash. */
  name?: string;
  proxyMode?: 'userspace' | 'iptables';
  /** Where the cluster DNS forwards names outside cluster.local: 'IP[:PORT],…', 'none' (SERVFAIL),
   *  or 'host' for this machine's resolv.conf. Default 'none': a test cluster stays hermetic. */
  dnsUpstream?: string;
  /** Schedulers and controller managers (leader-elected), default 1. */
  controlPlaneReplicas?: number;
  /** Seconds without a kubelet heartbeat before a node is Unknown, default 40. */
  nodeMonitorGracePeriod?: number;
  /** Seconds pods stay on an unreachable node before eviction, default 300. */
  podEvictionTimeout?: number;
  /** Leader lease of scheduler and controller manager, default 15 s. */
  leaderLeaseSeconds?: number;
  /** Component log level, default info. */
  logLevel?: string;
  /** Gets each line `kubemu up` and `down` print; default silent. */
  onProgress?: (line: string) => void;
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

/** Every problem with the options at once, as one Error. */
export function checkOptions(o: ClusterOptions): void {
  const errors: string[] = [];
  const whole = (field: string, v: number | undefined, min: number, max: number) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) errors.push(`${field}: want a whole number from ${min} to ${max}, got ${v}`);
  };
  whole('nodes', o.nodes, 0, 500);
  whole('controlPlaneReplicas', o.controlPlaneReplicas, 1, 3);
  whole('nodeMonitorGracePeriod', o.nodeMonitorGracePeriod, 2, 3600);
  whole('podEvictionTimeout', o.podEvictionTimeout, 0, 86400);
  whole('leaderLeaseSeconds', o.leaderLeaseSeconds, 2, 600);
  whole('ports.rest', o.ports?.rest, 1, 65535);
  whole('ports.grpc', o.ports?.grpc, 1, 65535);
  if (o.runtime !== undefined && !['docker', 'fake'].includes(o.runtime)) errors.push(`runtime: want docker or fake, got ${o.runtime}`);
  if (o.proxyMode !== undefined && !['userspace', 'iptables'].includes(o.proxyMode)) errors.push(`proxyMode: want userspace or iptables, got ${o.proxyMode}`);
  if (o.dnsUpstream !== undefined && !['none', 'host'].includes(o.dnsUpstream) &&
    !o.dnsUpstream.split(',').every((u) => net.isIP(u) || net.isIP(/^\[?([^\]]+?)\]?:\d{1,5}$/.exec(u)?.[1] ?? ''))) {
    errors.push(`dnsUpstream: want 'none', 'host' or 'IP[:PORT],…', got ${JSON.stringify(o.dnsUpstream)}`);
  }
  if (o.name !== undefined && !NAME.test(o.name)) errors.push(`name: want lower-case letters, digits and '-' (at most 32), got ${JSON.stringify(o.name)}`);
  if (errors.length) throw new Error(`Cluster.start: ${errors.join('; ')}`);
}

/** The third octet of the cluster's node IPs; its service CIDR and LoadBalancer pool use it too. */
const octetOf = (name: string) => nodeIdentity(name, 1).nodeIP.split('.')[2];

/** Names of the clusters this process runs: a second one must not share their addresses. */
const running = new Set<string>();

/** Takes the name for this process (synchronously, so concurrent starts cannot pick clashing names). */
export function claimName(name: string): void {
  const clash = [...running].find((n) => n === name || octetOf(n) === octetOf(name));
  if (clash === name) throw new Error(`a cluster named ${name} is already running in this process`);
  if (clash) throw new Error(`cluster name ${name} would share node and service addresses with cluster ${clash} running in this process; pick another name`);
  running.add(name);
}
export const releaseName = (name: string) => running.delete(name);

function canBind(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer().once('error', () => resolve(false)).listen(port, ip, () => srv.close(() => resolve(true)));
  });
}

/** Octets of the kubemu clusters whose Docker networks exist on this host (kubemu-<name>). */
async function dockerOctets(): Promise<Set<string>> {
  const engine = new DockerEngine({ connections: 1 });
  try {
    const nets: Array<{ Name: string }> = await engine.json('GET', '/networks');
    return new Set(nets.filter((n) => n.Name.startsWith('kubemu-')).map((n) => octetOf(n.Name.slice('kubemu-'.length))));
  } catch {
    return new Set(); // no Docker: the fake runtime needs no network
  } finally {
    await engine.close();
  }
}

/**
 * A fresh name whose addresses no other cluster uses: not one of this process's, not one with a Docker
 * network here, and its first node's kubelet port free (another process's cluster would hold it).
 * The name is claimed for this process (releaseName gives it back).
 */
export async function generateName(): Promise<string> {
  const taken = new Set([...running].map(octetOf));
  for (const o of await dockerOctets()) taken.add(o);
  for (let attempt = 0; attempt < 100; attempt++) {
    const name = `km-${randomBytes(3).toString('hex')}`;
    if (taken.has(octetOf(name)) || !(await canBind(nodeIdentity(name, 1).nodeIP, 10250))) continue;
    try { claimName(name); } catch { continue; }
    return name;
  }
  throw new Error(`no free cluster address range found (clusters on this host: ${taken.size}); stop some or pass a name`);
}
