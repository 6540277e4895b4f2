// The processes `kubemu up` starts, in order. Each is its own OS process that outlives the
// CLI, logs pino JSON to <dir>/logs/<name>.log and has a readiness check. `up` starts them through
// the cluster's supervisor (opts.launch), which restarts any that exits; without one they are
// plain detached processes (the benchmarks).
import { newEncryptionConfigYaml } from '../lib/encryption-config.ts';
import { newSigningKeyPem } from '../lib/service-account-key.ts';
import { intToIp, ipToInt } from '../lib/ipv4.ts';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { etcdArgv } from '../lib/etcd-process.ts';
import { freePort } from '../lib/free-port.ts';
import { isAlive, tailFile, type ComponentState } from './state.ts';
import { ROOT } from '../lib/root.ts';
import { bundledEntry } from './bundle.ts';
import { adminTls, certFiles, clientTlsArgs } from './pki.ts';
import { tlsFetch } from '../lib/tls-fetch.ts';
import type { ClientTls } from '../client/index.ts';

export { ROOT };

export interface UpOptions {
  dir: string;
  port: number;
  grpcPort: number;
  logLevel: string;
  /** Seconds without a kubelet heartbeat before its node is Unknown (kubelets renew every quarter of it). */
  nodeMonitorGracePeriod: number;
  /** Seconds pods stay on an unreachable or not-ready node before they are evicted. */
  podEvictionTimeout: number;
  /** Leader lease of the scheduler and controller manager, in seconds. */
  leaderLeaseSeconds: number;
  /** Cluster name: keeps node names, node IPs and the Docker network of clusters on one machine apart. */
  name: string;
  /** kube-proxy data path: userspace (a Node process forwards) or iptables (kernel NAT rules); default userspace. */
  proxyMode?: string;
  /** Hollow nodes: a simulated image pull's duration, and the image globs whose pull fails. */
  fakePullDelayMs?: number;
  fakeFailImages?: string;
  /** The cluster DNS's upstream resolvers (its --upstream); unset = the host's resolv.conf. */
  dnsUpstream?: string;
  /** Where the apiserver listens (default 127.0.0.1); 0.0.0.0 = every address. */
  bindAddress?: string;
  /** The apiserver's bearer-token file (kube-apiserver's --token-auth-file) and the token the local components present. */
  tokenFile?: string;
  token?: string;
  /** The Docker network pods join (default: the cluster's own bridge); a swarm overlay gets a gateway (overlay-gateway.ts). */
  network?: string;
  /** Starts a component process and gives its pid: the supervisor's launch; default a plain detached process. */
  launch?: Launcher;
}

export type Launcher = (spec: { name: string; argv: string[]; log: string; node?: string }) => Promise<number>;
const launcherOf = (opts: { launch?: Launcher }): Launcher => opts.launch ?? (async (s) => spawnDetached(s.name, s.argv, s.log));

/** The address local components dial to reach the apiserver: its bind address, or loopback when it binds every address. */
export const apiHost = (opts: { bindAddress?: string }): string =>
  !opts.bindAddress || opts.bindAddress === '0.0.0.0' || opts.bindAddress === '::' ? '127.0.0.1' : opts.bindAddress;
/** The apiserver's REST URL for the local components and the CLI. */
export const apiserverUrl = (opts: { bindAddress?: string; port: number }): string => `https://${apiHost(opts)}:${opts.port}`;

/** A credential file only its owner reads, in a directory only its owner enters (`<dir>/pki/`). */
function writePrivate(file: string, text: string, flag = 'w'): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, text, { mode: 0o600, flag });
}

/** The components' bearer token, as a file only they can read: a token on the command line is there for `ps` to show. */
function tokenArgs(opts: { token?: string; dir: string }): string[] {
  if (!opts.token) return [];
  const file = path.join(opts.dir, 'pki', 'component-token');
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8').trim() !== opts.token) writePrivate(file, `${opts.token}\n`);
  return ['--token-file', file];
}

/** Node N of a cluster: the default cluster has node-N on 127.0.1.N; another gets <name>-node-N on its own 127.0.K.0/24. */
export function nodeIdentity(name: string, n: number): { nodeName: string; nodeIP: string; network: string } {
  if (name === 'kubemu') return { nodeName: `node-${n}`, nodeIP: `127.0.1.${n}`, network: 'kubemu' };
  let h = 0x811c9dc5;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  // docker-compose.yml's cluster ("compose") hashes to 127.0.13.x: no other name may land there.
  let octet = 2 + (h % 250);
  if (octet === COMPOSE_OCTET && name !== 'compose') octet = 2 + ((h + 1) % 250);
  return { nodeName: `${name}-node-${n}`, nodeIP: `127.0.${octet}.${n}`, network: `kubemu-${name}` };
}
const COMPOSE_OCTET = 13;

/**
 * A cluster's service addresses: its service CIDR (inside 10.96.0.0/12, which gets one unreachable
 * route), the cluster DNS ClusterIP in it, and the LoadBalancer pool on the cluster's own
 * loopback /24, above the node IPs. Distinct per cluster name, so clusters on one host never clash.
 */
export function clusterAddresses(name: string): { serviceCIDR: string; dnsIP: string; loadBalancerPool: string } {
  const octet = nodeIdentity(name, 1).nodeIP.split('.')[2];
  if (name === 'kubemu') return { serviceCIDR: '10.96.0.0/16', dnsIP: '10.96.0.10', loadBalancerPool: '127.0.1.200-127.0.1.254' };
  return { serviceCIDR: `10.97.${octet}.0/24`, dnsIP: `10.97.${octet}.10`, loadBalancerPool: `127.0.${octet}.200-127.0.${octet}.254` };
}
/** The route that keeps every cluster's ClusterIPs on this machine. */
export const ALL_SERVICE_CIDRS = '10.96.0.0/12';
/** Hollow (fake-runtime) pods' addresses: node N of a cluster gets the Nth /24 of 10.244.0.0/14 (10.244.N.0/24 for
 *  N < 256, up to 1023 nodes); the whole range is routed `unreachable`. */
export const FAKE_POD_CIDRS = '10.244.0.0/14';
export const fakePodCIDR = (n: number): string => `${intToIp(ipToInt('10.244.0.0') + n * 256)}/24`;

export interface Started extends ComponentState {
  /** Resolves when the component answers; rejects if its process dies first. */
  ready(): Promise<void>;
}

/** The command line that runs a TypeScript entry point of this repo (from its bundle, see bundle.ts). */
export function nodeArgv(entry: string, args: string[]): string[] {
  const bundled = bundledEntry(entry);
  return bundled ? [process.execPath, bundled, ...args] : [process.execPath, '--import', 'tsx', path.join(ROOT, entry), ...args];
}

/** The same through the options' launcher (the supervisor, under `kubemu up`). */
async function launchNode(opts: { launch?: Launcher }, name: string, entry: string, args: string[], log: string, node?: string): Promise<ComponentState> {
  const argv = nodeArgv(entry, args);
  // kubemu up --cpu-prof DIR (KUBEMU_CPU_PROF): node's own profiler, one directory per component, written at exit.
  const prof = process.env.KUBEMU_CPU_PROF;
  if (prof) argv.splice(1, 0, '--cpu-prof', `--cpu-prof-dir=${path.join(prof, name)}`);
  return { name, pid: await launcherOf(opts)({ name, argv, log, ...(node ? { node } : {}) }), log, argv, ...(node ? { node } : {}) };
}

/** Start `argv` in its own process group, outliving this process, its output appended to `log`. */
export function spawnDetached(name: string, argv: string[], log: string): number {
  const out = fs.openSync(log, 'a');
  const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  child.unref();
  if (!child.pid) throw new Error(`${name} did not start`);
  return child.pid;
}

export async function waitHttp(name: string, pid: number, url: string, timeoutMs = 60_000, tls?: ClientTls): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(pid)) throw new Error(`${name} exited while starting`);
    try {
      const res = await tlsFetch(url, { signal: AbortSignal.timeout(1000) }, tls);
      if (res.ok) return;
    } catch { /* not answering yet */ }
    if (Date.now() > deadline) throw new Error(`${name} did not answer ${url} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Resolves when the Node is Ready; with `since` (ms), only once its kubelet has also renewed the node's Lease
 * after that moment (a kubelet restarted within the grace period finds its Node still Ready from before).
 */
export async function waitNodeReady(apiserver: string, nodeName: string, pid: number, since?: number, timeoutMs = 60_000, token?: string, tls?: ClientTls): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const get = async (p: string) => (await tlsFetch(`${apiserver}${p}`, { headers, signal: AbortSignal.timeout(1000) }, tls)).json() as Promise<any>;
  for (;;) {
    if (!isAlive(pid)) throw new Error(`kubelet ${nodeName} exited while starting`);
    try {
      const node = await get(`/api/v1/nodes/${nodeName}`);
      const ready = node.status?.conditions?.some((x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True');
      const renewed = since === undefined || Date.parse((await get(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${nodeName}`)).spec?.renewTime) >= since;
      if (ready && renewed) return;
    } catch { /* not registered yet */ }
    if (Date.now() > deadline) throw new Error(`node ${nodeName} did not become Ready within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** etcd, resolved once it is healthy. */
export async function startEtcdComponent(opts: UpOptions): Promise<Started & { endpoint: string }> {
  const log = path.join(opts.dir, 'logs', 'etcd.log');
  const dataDir = path.join(opts.dir, 'etcd');
  fs.mkdirSync(dataDir, { recursive: true });
  const { argv, endpoint } = etcdArgv({ dataDir, clientPort: await freePort(), peerPort: await freePort() });
  const pid = await launcherOf(opts)({ name: 'etcd', argv, log });
  await waitHttp('etcd', pid, `${endpoint}/health`, 20_000).catch((err) => { throw new Error(`${(err as Error).message}; see ${log}:\n${tailFile(log, 10)}`); });
  return { name: 'etcd', pid, log, url: endpoint, endpoint, argv, readyUrl: `${endpoint}/health`, ready: () => Promise.resolve() };
}

/** Secrets are encrypted at rest: a key made on the first `up`, kept (mode 0600) for every later one, gone with --purge. */
export function encryptionConfigFile(pki: string): string {
  const file = path.join(pki, 'encryption-config.yaml');
  if (!fs.existsSync(file)) writePrivate(file, newEncryptionConfigYaml(), 'wx');
  return file;
}

/** ServiceAccount tokens outlive apiserver restarts: their signing key is made on the first `up` and kept. */
export function serviceAccountKeyArgs(pki: string): string[] {
  const key = path.join(pki, 'sa.key');
  const pub = path.join(pki, 'sa.pub');
  if (!fs.existsSync(key)) {
    const pair = newSigningKeyPem();
    // The public key first: a key without its public half would never be made again.
    fs.mkdirSync(pki, { recursive: true, mode: 0o700 });
    fs.writeFileSync(pub, pair.publicKey, { mode: 0o644 });
    writePrivate(key, pair.privateKey);
  }
  return ['--service-account-signing-key-file', key, '--service-account-key-file', pub];
}

/** The cluster CA (pki/ca.crt, made by launcher/pki.ts) the controller manager publishes as kube-root-ca.crt in every namespace. */
export const rootCAArgs = (pki: string): string[] => ['--root-ca-file', path.join(pki, 'ca.crt')];

export async function startApiServerComponent(opts: UpOptions, etcdEndpoint: string): Promise<Started> {
  const log = path.join(opts.dir, 'logs', 'apiserver.log');
  const c = await launchNode(opts, 'apiserver', 'apiserver/main.ts', [
    '--etcd-servers', etcdEndpoint, '--port', String(opts.port), '--grpc-port', String(opts.grpcPort), '--log-level', opts.logLevel,
    '--service-cluster-ip-range', clusterAddresses(opts.name).serviceCIDR,
    ...(opts.bindAddress ? ['--bind-address', opts.bindAddress] : []), ...(opts.tokenFile ? ['--token-auth-file', opts.tokenFile] : []),
    '--encryption-provider-config', encryptionConfigFile(path.join(opts.dir, 'pki')),
    ...serviceAccountKeyArgs(path.join(opts.dir, 'pki')),
    // HTTPS and gRPC over TLS, client certificates of the cluster CA authenticating (launcher/pki.ts made them).
    '--tls-cert-file', path.join(opts.dir, 'pki', 'apiserver-chain.crt'), '--tls-private-key-file', certFiles(opts.dir, 'apiserver').key,
    '--client-ca-file', certFiles(opts.dir, 'ca').cert, '--enable-bootstrap-token-auth',
    // Kubelets over TLS: its own client certificate, and theirs verified against the cluster CA and the node's name.
    '--kubelet-client-certificate', certFiles(opts.dir, 'apiserver-kubelet-client').cert, '--kubelet-client-key', certFiles(opts.dir, 'apiserver-kubelet-client').key,
    '--kubelet-certificate-authority', certFiles(opts.dir, 'ca').cert,
  ], log);
  const url = apiserverUrl(opts);
  return { ...c, url, readyUrl: `${url}/readyz`, ready: () => waitHttp('apiserver', c.pid, `${url}/readyz`, undefined, adminTls(opts.dir)) };
}

/** Scheduler number `n` (1, 2, …): all run with leader election, so one acts and the others stand by. */
export async function startSchedulerComponent(opts: UpOptions, n = 1): Promise<Started> {
  const name = n === 1 ? 'scheduler' : `scheduler-${n}`;
  const log = path.join(opts.dir, 'logs', `${name}.log`);
  const port = await freePort();
  const c = await launchNode(opts, name, 'scheduler/main.ts', [
    '--server', `${apiHost(opts)}:${opts.grpcPort}`, '--transport', 'grpc', ...tokenArgs(opts), ...clientTlsArgs(opts.dir, 'scheduler'),
    '--leader-elect', '--leader-elect-lease-duration', String(opts.leaderLeaseSeconds), '--port', String(port), '--log-level', opts.logLevel,
  ], log);
  const url = `http://127.0.0.1:${port}`;
  return { ...c, url, readyUrl: `${url}/healthz`, ready: () => waitHttp(name, c.pid, `${url}/healthz`) };
}

/** Controller manager number `n`, with leader election like the scheduler. */
export async function startControllerManagerComponent(opts: UpOptions, n = 1): Promise<Started> {
  const name = n === 1 ? 'controller-manager' : `controller-manager-${n}`;
  const log = path.join(opts.dir, 'logs', `${name}.log`);
  const port = await freePort();
  const c = await launchNode(opts, name, 'controller-manager/main.ts', [
    '--server', `${apiHost(opts)}:${opts.grpcPort}`, '--transport', 'grpc', ...tokenArgs(opts), ...clientTlsArgs(opts.dir, 'controller-manager'),
    '--leader-elect', '--leader-elect-lease-duration', String(opts.leaderLeaseSeconds), '--node-monitor-grace-period', String(opts.nodeMonitorGracePeriod), '--node-monitor-period', String(Math.max(1, Math.min(5, opts.nodeMonitorGracePeriod / 4))),
    '--default-toleration-seconds', String(opts.podEvictionTimeout), '--port', String(port), '--log-level', opts.logLevel,
    '--load-balancer-pool', clusterAddresses(opts.name).loadBalancerPool, ...rootCAArgs(path.join(opts.dir, 'pki')),
    // The apiserver's signing key (made before it starts): the legacy token Secrets are signed with it.
    '--service-account-private-key-file', serviceAccountKeyArgs(path.join(opts.dir, 'pki'))[1]!,
    // CertificateSigningRequests (a joining kubelet's, kubectl certificate approve) are signed by the cluster CA.
    '--cluster-signing-cert-file', certFiles(opts.dir, 'ca').cert, '--cluster-signing-key-file', certFiles(opts.dir, 'ca').key,
  ], log);
  const url = `http://127.0.0.1:${port}`;
  return { ...c, url, readyUrl: `${url}/healthz`, ready: () => waitHttp(name, c.pid, `${url}/healthz`) };
}

/** Kubelet N: node name node-N, node IP 127.0.1.N (its own loopback address), pods in Docker or fake. */
export async function startKubeletComponent(opts: UpOptions & { runtime: string }, n: number): Promise<Started & { node: string }> {
  const { nodeName, nodeIP, network } = nodeIdentity(opts.name, n);
  const log = path.join(opts.dir, 'logs', `kubelet-${nodeName}.log`);
  const c = await launchNode(opts, `kubelet-${nodeName}`, 'kubelet/main.ts', [
    '--server', `${apiHost(opts)}:${opts.grpcPort}`, '--transport', 'grpc', ...tokenArgs(opts), ...clientTlsArgs(opts.dir, `kubelet-${nodeName}-client`),
    // Its API over HTTPS: a serving certificate naming the node, callers with a client certificate or a token (TokenReview).
    '--tls-cert-file', certFiles(opts.dir, `kubelet-${nodeName}-serving`).cert, '--tls-private-key-file', certFiles(opts.dir, `kubelet-${nodeName}-serving`).key,
    '--client-ca-file', certFiles(opts.dir, 'ca').cert, '--authentication-token-webhook',
    '--node-name', nodeName, '--node-ip', nodeIP, '--runtime', opts.runtime, '--network', opts.network ?? network, '--root-dir', path.join(opts.dir, 'kubelet', nodeName), '--port', '10250', '--log-level', opts.logLevel,
    '--node-lease-duration-seconds', String(opts.nodeMonitorGracePeriod), '--cluster-dns', clusterAddresses(opts.name).dnsIP,
    ...(opts.runtime === 'fake' ? ['--pod-cidr', fakePodCIDR(n), '--fake-pull-delay-ms', String(opts.fakePullDelayMs ?? 0), '--fake-fail-images', opts.fakeFailImages ?? '*missing*'] : []),
  ], log, nodeName);
  const ready = () => waitNodeReady(apiserverUrl(opts), nodeName, c.pid, undefined, undefined, opts.token, adminTls(opts.dir));
  return { ...c, url: `https://${nodeIP}:10250`, node: nodeName, readyUrl: `https://${nodeIP}:10250/healthz`, ready };
}

/** The cluster DNS, listening where pods reach it (the pod network's gateway on the host); kube-dns points there. */
export async function startDnsComponent(opts: UpOptions, listenIP: string): Promise<Started & { listen: { ip: string; port: number } }> {
  const log = path.join(opts.dir, 'logs', 'dns.log');
  const port = await freePort();
  const dnsPort = await freePort();
  const c = await launchNode(opts, 'dns', 'dns/main.ts', [
    '--server', `${apiHost(opts)}:${opts.grpcPort}`, '--transport', 'grpc', ...tokenArgs(opts), ...clientTlsArgs(opts.dir, 'dns'), '--listen', `${listenIP}:${dnsPort}`, '--domain', 'cluster.local',
    '--port', String(port), '--log-level', opts.logLevel, ...(opts.dnsUpstream ? ['--upstream', opts.dnsUpstream] : []),
  ], log);
  const url = `http://127.0.0.1:${port}`;
  return { ...c, url, readyUrl: `${url}/readyz`, listen: { ip: listenIP, port: dnsPort }, ready: () => waitHttp('dns', c.pid, `${url}/readyz`) };
}

/** kube-proxy of node N: its NodePorts on the node IP; one of them serves the ClusterIPs (a lease). */
export async function startKubeProxyComponent(opts: UpOptions, n: number): Promise<Started> {
  const { nodeName, nodeIP } = nodeIdentity(opts.name, n);
  const name = `kube-proxy-${nodeName}`;
  const log = path.join(opts.dir, 'logs', `${name}.log`);
  const port = await freePort();
  const c = await launchNode(opts, name, 'kube-proxy/main.ts', [
    '--server', `${apiHost(opts)}:${opts.grpcPort}`, '--transport', 'grpc', ...tokenArgs(opts), ...clientTlsArgs(opts.dir, 'kube-proxy'),
    '--node-name', nodeName, '--node-ip', nodeIP, '--proxy-mode', opts.proxyMode ?? 'userspace', '--service-cluster-ip-range', clusterAddresses(opts.name).serviceCIDR,
    '--metrics-port', String(port), '--log-level', opts.logLevel,
  ], log, nodeName);
  const url = `http://127.0.0.1:${port}`;
  return { ...c, url, node: nodeName, readyUrl: `${url}/healthz`, ready: () => waitHttp(name, c.pid, `${url}/healthz`) };
}
