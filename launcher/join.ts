// `kubemu join`: this host becomes a node of a control plane that runs elsewhere (as `kubeadm join`
// does). It starts a kubelet and a kube-proxy here, both talking REST to the apiserver's URL with
// the join token, records them in <dir>/state.json (so `kubemu down --dir DIR` stops them and
// removes their pod containers), and waits until the Node is Ready. `kubemu up --bind-address`
// on the first host prints the join command (with --token-auth: and writes the tokens it checks).
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { bootstrapClientCertificate, DockerEngine } from '../kubelet/public.ts';
import type { KubeObject } from '../api/types.ts';
import { BOOTSTRAP_TOKEN_TYPE, bootstrapSecretName } from '../api/bootstrap-token.ts';
import { freePort } from '../lib/free-port.ts';
import { defaultOutput, UserError, type Output } from './output.ts';
import { nodeArgv, waitHttp, waitNodeReady, type Started } from './components.ts';
import { isRunning, readState, readSupervisorFile, statePath, supervisorPath, tailFile, writeState } from './state.ts';
import { runningSupervisor, startSupervisor, stopSupervisor } from './supervisor-client.ts';
import { stopProcess } from './processes.ts';
import { podNetworkGateway, releaseOverlayGateway } from './overlay-gateway.ts';
import { caCertHash } from './pki.ts';
import { inspectCertificate } from '../lib/pki.ts';
import { tlsFetch } from '../lib/tls-fetch.ts';
import { createApiClient, type ClientTls } from '../client/index.ts';

// ---- the control-plane side: tokens and the join command `kubemu up` prints ----

export interface JoinTokens { file: string; admin: string; join: string }

/** A token in kubeadm's bootstrap-token shape: [a-z0-9]{6}.[a-z0-9]{16}. */
function newToken(): string {
  const rand = (n: number) => Array.from(crypto.randomBytes(n), (b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
  return `${rand(6)}.${rand(16)}`;
}

/** Whether an address only this machine reaches (then `up` needs no tokens). */
export const isLoopback = (addr: string): boolean => addr === 'localhost' || addr === '::1' || /^127\./.test(addr);

/**
 * <dir>/tokens.csv in kube-apiserver's --token-auth-file format: an admin token for the control plane's
 * own components and the kubeconfig, and a join token for nodes. Kept across `down`/`up` (unless --purge),
 * so joined nodes keep working when the control plane restarts. Mode 0600: whoever reads it owns the cluster.
 */
export function ensureJoinTokens(dir: string): JoinTokens {
  const file = path.join(dir, 'tokens.csv');
  const find = (text: string, user: string) => text.split('\n').find((l) => l.split(',')[1] === user)?.split(',')[0];
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, 'utf8');
    const admin = find(text, 'kubemu-admin');
    const join = find(text, 'system:bootstrap:kubemu-join');
    if (admin && join) return { file, admin, join };
  }
  const admin = newToken();
  const join = newToken();
  fs.writeFileSync(file, [
    '# kubemu up: bearer tokens of this cluster (kube-apiserver --token-auth-file format: token,user,uid,"groups")',
    `${admin},kubemu-admin,kubemu-admin,"system:masters,system:authenticated"`,
    `${join},system:bootstrap:kubemu-join,kubemu-join,"system:bootstrappers,system:nodes,system:authenticated"`,
    '',
  ].join('\n'), { mode: 0o600 });
  return { file, admin, join };
}

/**
 * The join token of a control plane other hosts join: a bootstrap token (kubeadm's `[a-z0-9]{6}.[a-z0-9]{16}`), kept in
 * <dir>/pki/join-token (0600) across `down`/`up` and published as the kube-system Secret bootstrap-token-<id> the
 * apiserver's bootstrap-token authenticator reads. A joining node presents it only to ask for its own certificate.
 */
export function ensureBootstrapToken(dir: string): string {
  const file = path.join(dir, 'pki', 'join-token');
  const saved = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
  if (/^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(saved)) return saved;
  const token = newToken();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/** The Secret of a bootstrap token, as `kubeadm token create` writes it (no expiry: a lab's nodes rejoin after restarts). */
export function bootstrapTokenSecret(token: string): KubeObject {
  const [id, secret] = token.split('.');
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    apiVersion: 'v1', kind: 'Secret', type: BOOTSTRAP_TOKEN_TYPE,
    metadata: { name: bootstrapSecretName(id), namespace: 'kube-system' },
    data: {
      'token-id': b64(id), 'token-secret': b64(secret), description: b64('kubemu join: nodes ask for their certificates with it'),
      'usage-bootstrap-authentication': b64('true'), 'usage-bootstrap-signing': b64('true'),
      'auth-extra-groups': b64('system:bootstrappers:kubeadm:default-node-token'),
    },
  } as KubeObject;
}

/** Create (or put back) the join token's Secret, as the admin. */
export async function publishBootstrapToken(apiserver: string, token: string, tls?: ClientTls): Promise<void> {
  const client = createApiClient({ transport: 'http', server: apiserver, tls });
  const secret = bootstrapTokenSecret(token);
  try {
    await client.create(SECRETS, 'kube-system', secret).catch(async (err) => {
      if ((err as { code?: string }).code !== 'AlreadyExists') throw err;
      const cur = await client.get(SECRETS, 'kube-system', secret.metadata.name!);
      await client.update(SECRETS, 'kube-system', { ...secret, metadata: { ...secret.metadata, resourceVersion: cur.metadata.resourceVersion } });
    });
  } finally {
    client.close();
  }
}
const SECRETS = { group: '', resource: 'secrets' };

/** The address other hosts reach this one at: the given one, the bind address, else the first non-loopback IPv4 of a physical-looking interface. */
export function advertiseAddressOf(bindAddress: string, advertise?: string): string {
  if (advertise) return advertise;
  if (bindAddress !== '0.0.0.0' && bindAddress !== '::') return bindAddress;
  const skip = /^(lo|docker|br-|veth|kubemu|virbr|cni|flannel|cali|vxlan|tun|tap|ifb)/;
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    if (skip.test(name)) continue;
    const a = addrs?.find((x) => x.family === 'IPv4' && !x.internal);
    if (a) return a.address;
  }
  return '127.0.0.1';
}

/** What `kubemu up` prints for the other hosts. */
export function joinCommand(o: { advertise: string; port: number; token?: string; caCertHash: string; nodeMonitorGracePeriod: number; network?: string }): string {
  return `kubemu join --apiserver https://${o.advertise}:${o.port}` + (o.token ? ` --token ${o.token}` : '') + ` --discovery-token-ca-cert-hash ${o.caCertHash}`
    + (o.network ? ` --network ${o.network}` : '') + (o.nodeMonitorGracePeriod !== 40 ? ` --node-monitor-grace-period ${o.nodeMonitorGracePeriod}` : '');
}

// ---- the node side ----

export interface JoinOptions {
  dir: string;
  /** The apiserver's REST URL, http://HOST:PORT. */
  apiserver: string;
  token?: string;
  /** The cluster CA's public-key hash (sha256:…, kubeadm's --discovery-token-ca-cert-hash): pins the CA the apiserver presents. */
  caCertHash?: string;
  /** Node name (default: this host's name). */
  nodeName?: string;
  /** Node IP: where the kubelet API and NodePorts listen (default: this host's address towards the apiserver). */
  nodeIP?: string;
  /** The Docker network pods join: a swarm overlay (attachable) for pods across hosts. */
  network?: string;
  logLevel: string;
  nodeMonitorGracePeriod: number;
  proxyMode?: string;
  /** How long to wait for Ready (ms). */
  timeoutMs?: number;
}

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Parse and check --apiserver: kubemu's apiserver serves HTTPS. */
export function apiserverUrl(raw: string): URL {
  let u: URL;
  try { u = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `https://${raw}`); } catch { throw new UserError(`--apiserver: not a URL: ${raw} (want https://HOST:PORT)`, 2); }
  if (u.protocol === 'http:') throw new UserError(`--apiserver: kubemu's apiserver serves HTTPS: use https://${u.host}`, 2);
  if (u.protocol !== 'https:') throw new UserError(`--apiserver: want https://HOST:PORT, got ${raw}`, 2);
  if (!u.port) u.port = '6443';
  return u;
}

/** Turn a failed fetch into what the user should check. */
function unreachable(url: URL, err: unknown): UserError {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? (e as { code?: string }).code ?? (e.name === 'TimeoutError' ? 'ETIMEDOUT' : undefined);
  const why = code === 'ECONNREFUSED' ? 'connection refused: nothing listens there'
    : code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' ? 'no answer (a firewall dropping the port, or a wrong address?)'
    : code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? 'no route to that host'
    : code === 'ENOTFOUND' ? 'unknown host name'
    : e.cause?.message ?? e.message;
  return new UserError(`cannot reach the apiserver at ${url.origin}: ${why}.\n`
    + `  Is \`kubemu up --bind-address …\` running on that host (a default \`kubemu up\` listens on 127.0.0.1 only),\n`
    + `  and is TCP port ${url.port} open in its firewall? Try: curl -k ${url.origin}/readyz`);
}

/** The address this host uses towards the apiserver (the kernel's route choice): the default node IP. */
function localAddressTowards(url: URL): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port), timeout: 5000 }, () => { const a = s.localAddress!; s.destroy(); resolve(a.replace(/^::ffff:/, '')); });
    s.once('error', reject).once('timeout', () => { s.destroy(); reject(Object.assign(new Error('timeout'), { name: 'TimeoutError' })); });
  });
}

interface NodeInfo { ready: boolean; heartbeatAgeS?: number }

export async function join(opts: JoinOptions, say: Output = defaultOutput): Promise<void> {
  const dir = path.resolve(opts.dir);
  const t0 = Date.now();
  const secs = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  const existing = readState(dir);
  if (existing?.components.some((c) => isRunning(c)) || runningSupervisor(dir)) {
    throw new UserError(`${dir} already runs ${existing?.components.map((c) => c.name).join(', ') ?? 'a supervisor'} (apiserver ${existing?.apiserver}). Leave first: kubemu down --dir ${opts.dir}`);
  }
  if (!fs.existsSync('/var/run/docker.sock')) {
    throw new UserError('the Docker engine is not running (no /var/run/docker.sock): a node runs its pods as Docker containers. On Debian/Ubuntu: apt-get install -y docker.io and start dockerd');
  }
  const url = apiserverUrl(opts.apiserver);
  const server = url.origin;
  const nodeName = (opts.nodeName ?? os.hostname()).toLowerCase();
  if (!DNS1123.test(nodeName) || nodeName.length > 63) throw new UserError(`--name: a node name is lower-case letters, digits, '-' and '.' (at most 63), got ${JSON.stringify(nodeName)}`, 2);
  if (!opts.caCertHash) throw new UserError('join: --discovery-token-ca-cert-hash sha256:… is required (kubemu up printed the whole join command; the hash pins the cluster CA)', 2);
  const headers: Record<string, string> = opts.token ? { Authorization: `Bearer ${opts.token}` } : {};
  let tls: ClientTls = {};
  const api = async (p: string): Promise<{ status: number; body: any }> => {
    const res = await tlsFetch(`${server}${p}`, { headers, signal: AbortSignal.timeout(5000) }, tls);
    const text = await res.text();
    let body: any;
    try { body = JSON.parse(text); } catch { body = text; }
    return { status: res.status, body };
  };

  // 1. The apiserver answers at all.
  say(`joining ${server} as node ${nodeName}`);
  // 0. The cluster CA, from the apiserver's own chain, trusted only if its public key has the hash given.
  let ca: string;
  try { ca = await discoverCA(url, opts.caCertHash); } catch (err) { throw err instanceof UserError ? err : unreachable(url, err); }
  tls = { ca };
  say(`cluster CA matches ${opts.caCertHash.slice(0, 19)}… (${secs()})`);
  try {
    const res = await tlsFetch(`${server}/readyz`, { signal: AbortSignal.timeout(5000) }, tls);
    if (!res.ok) throw new UserError(`the apiserver at ${server} is not ready: /readyz answered ${res.status} ${(await res.text()).trim()}`);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw unreachable(url, err);
  }
  // 2. It accepts the token; 3. no live node already has this name (kubeadm join refuses a Ready one too).
  let node;
  try { node = await api(`/api/v1/nodes/${nodeName}`); } catch (err) { throw unreachable(url, err); }
  if (node.status === 401) {
    throw new UserError(opts.token
      ? `the apiserver at ${server} rejected the token (401 Unauthorized): use the one \`kubemu up\` printed (it is in <dir>/tokens.csv on the control-plane host, user system:bootstrap:kubemu-join)`
      : `the apiserver at ${server} wants a token (401 Unauthorized): pass --token (\`kubemu up\` printed the join command)`);
  }
  if (node.status === 200) {
    const info = nodeInfo(node.body, await api(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${nodeName}`).then((r) => r.body).catch(() => undefined));
    if (info.ready && (info.heartbeatAgeS === undefined || info.heartbeatAgeS < Math.max(opts.nodeMonitorGracePeriod, 40))) {
      throw new UserError(`a node named ${nodeName} is already in the cluster and Ready${info.heartbeatAgeS !== undefined ? ` (its kubelet renewed its lease ${info.heartbeatAgeS.toFixed(0)} s ago)` : ''}: `
        + `join under another --name, or, if that machine is gone, remove it first: kubectl delete node ${nodeName}`);
    }
    say(`node ${nodeName} exists but is not Ready: this host takes it over`);
  } else if (node.status !== 404) {
    throw new UserError(`the apiserver at ${server} answered GET /api/v1/nodes/${nodeName} with ${node.status}: ${typeof node.body === 'string' ? node.body : node.body?.message ?? ''}`);
  }
  say(`apiserver ${server} reachable, token accepted (${secs()})`);

  // What the node needs to know about the cluster: its DNS ClusterIP and service range (from kube-dns).
  const dns = await api('/api/v1/namespaces/kube-system/services/kube-dns').catch(() => undefined);
  const dnsIP: string | undefined = dns?.status === 200 ? dns.body?.spec?.clusterIP : undefined;
  const serviceCIDR = serviceCidrOf(dnsIP);
  let nodeIP = opts.nodeIP;
  if (!nodeIP) {
    try { nodeIP = await localAddressTowards(url); } catch (err) { throw unreachable(url, err); }
    say(`node IP ${nodeIP} (this host's address towards the apiserver; set another with --node-ip)`);
  }
  if (!net.isIPv4(nodeIP)) throw new UserError(`--node-ip: not an IPv4 address: ${nodeIP}`, 2);

  // The kubelet's TLS bootstrap, as kubeadm join has it done: the bootstrap token asks for the node's own client
  // certificate (a CSR the controller manager approves and signs); the kubelet, as the node, then asks for its serving
  // certificate. Both are kept in <dir>/pki/ and reused by later joins and restarts while valid.
  const pki = path.join(dir, 'pki');
  fs.mkdirSync(pki, { recursive: true, mode: 0o700 });
  const identity = await (async () => {
    const boot = createApiClient({ transport: 'http', server, token: opts.token, tls: { ca } });
    try {
      say(`asking for node ${nodeName}'s client certificate (a CertificateSigningRequest, signer ${'kubernetes.io/kube-apiserver-client-kubelet'}) …`);
      return await bootstrapClientCertificate({ client: boot, nodeName, dir: pki, timeoutMs: opts.timeoutMs ?? 120_000 });
    } catch (err) {
      throw new UserError(`the TLS bootstrap failed: ${(err as Error).message}`);
    } finally { boot.close(); }
  })();
  say(`${identity.reused ? 'using the saved' : 'issued:'} certificate of system:node:${nodeName} (valid until ${identity.notAfter.toISOString()}, ${identity.file}) (${secs()})`);
  const nodeTls: ClientTls = { ca, cert: identity.cert, key: identity.key };
  const network = opts.network ?? 'kubemu';
  const scope = await dockerNetworkScope(network);
  if (scope === undefined && opts.network) {
    throw new UserError(`Docker network ${network} does not exist on this host. Pods of a multi-host lab share a swarm overlay network:\n`
      + `  host 1: docker swarm init --advertise-addr <host-1 address>; docker network create -d overlay --attachable ${network}\n`
      + `  other hosts: docker swarm join --token … <host-1 address>:2377, then make the network known here by starting one container on it:\n`
      + `    docker run -d --name kubemu-anchor --network ${network} kubemu/busybox:1 sleep 1000000000\n`
      + `  (on one machine a bridge is enough: docker network create ${network}). See docs/multi-host.md`);
  }
  say(`pods go on Docker network ${network} (${scope ?? 'bridge, created on the first pod'})`);
  // On a swarm overlay the host needs a way in (the kubelet probes pod IPs, kube-proxy dials them): launcher/overlay-gateway.ts.
  const gw = scope === 'swarm' ? await podNetworkGateway(network, say).catch((err) => {
    throw new UserError(`the gateway into overlay ${network} could not be set up: ${(err as Error).message}`);
  }) : undefined;

  // Start the kubelet and the kube-proxy under a supervisor of their own (as `kubemu up` does): they
  // outlive this command, and one that exits is started again.
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const caFile = path.join(dir, 'pki', 'ca.crt');
  fs.writeFileSync(caFile, ca);
  let tokenFile: string | undefined;
  if (opts.token) {
    tokenFile = path.join(dir, 'supervisor-token');
    fs.writeFileSync(tokenFile, `${opts.token}\n`, { mode: 0o600 });
  }
  const sup = await startSupervisor(dir, { apiserver: server, tokenFile, logLevel: opts.logLevel }).catch((err) => {
    if (gw) void releaseOverlayGateway(gw.network).catch(() => {});
    throw new UserError(`the supervisor did not start: ${(err as Error).message}`);
  });
  const launch = async (name: string, entry: string, args: string[]) => {
    const argv = nodeArgv(entry, args);
    const log = path.join(dir, 'logs', `${name}.log`);
    return { name, argv, log, pid: await sup.launch({ name, argv, log, node: nodeName }) };
  };
  // Both run as the node (its certificate); the kubelet serves its API with its serving certificate.
  const auth = ['--certificate-authority', caFile, '--client-certificate', identity.file, '--client-key', identity.file];
  const started: Started[] = [];
  const kubelet = await launch(`kubelet-${nodeName}`, 'kubelet/main.ts', [
    '--server', server, '--transport', 'http', ...auth, '--node-name', nodeName, '--node-ip', nodeIP,
    // Its serving certificate it asks for itself once its Node is registered (kubelet-serving, approved for the node's own names).
    '--rotate-server-certificates', '--cert-dir', pki, '--client-ca-file', caFile, '--authentication-token-webhook',
    // Its client certificate is renewed before it expires (a CSR as the node), as the real kubelet's --rotate-certificates.
    '--rotate-certificates',
    '--runtime', 'docker', '--network', network, '--root-dir', path.join(dir, 'kubelet', nodeName), '--port', '10250', '--log-level', opts.logLevel,
    '--node-lease-duration-seconds', String(opts.nodeMonitorGracePeriod), ...(dnsIP ? ['--cluster-dns', dnsIP] : []),
  ]);
  started.push({ ...kubelet, node: nodeName, url: `https://${nodeIP}:10250`, readyUrl: `https://${nodeIP}:10250/healthz`, ready: async () => {} });
  const metricsPort = await freePort();
  const proxyName = `kube-proxy-${nodeName}`;
  const proxy = await launch(proxyName, 'kube-proxy/main.ts', [
    '--server', server, '--transport', 'http', ...auth, '--node-name', nodeName, '--node-ip', nodeIP,
    '--proxy-mode', opts.proxyMode ?? 'userspace', '--service-cluster-ip-range', serviceCIDR, '--metrics-port', String(metricsPort), '--log-level', opts.logLevel,
  ]);
  const proxyUrl = `http://127.0.0.1:${metricsPort}`;
  started.push({ ...proxy, node: nodeName, url: proxyUrl, readyUrl: `${proxyUrl}/healthz`, ready: async () => {} });
  writeState({
    dir, name: 'joined', startedAt: new Date(t0).toISOString(), apiserver: server, grpc: '', etcd: '', kubeconfig: '',
    components: started.map(({ name, pid, log, url: u, argv, node: n, readyUrl }) => ({ name, pid, log, url: u, argv, node: n, readyUrl })),
    nodes: [nodeName], runtime: 'docker', serviceCIDR,
    // `down` deletes the network when nothing uses it any more: a local bridge yes, the lab's swarm overlay never.
    network: scope === 'swarm' ? '' : network, overlayGateway: gw?.network,
  });
  const fail = async (who: { name: string; log: string }, err: unknown): Promise<never> => {
    await stopSupervisor(dir).catch(() => {});
    const live = readSupervisorFile(dir)?.components ?? {};
    for (const c of started.map((x) => ({ ...x, pid: live[x.name]?.pid ?? x.pid }))) if (isRunning(c)) await stopProcess(c, 'SIGTERM', 5000).catch(() => {});
    fs.rmSync(supervisorPath(dir), { force: true });
    if (gw) await releaseOverlayGateway(gw.network).catch(() => {});
    fs.rmSync(statePath(dir), { force: true });
    throw new UserError(`${(err as Error).message}. Last lines of ${who.log}:\n${tailFile(who.log)}`);
  };
  say(`started kubelet-${nodeName} (pid ${kubelet.pid}) and ${proxyName} (pid ${proxy.pid}); logs in ${path.join(dir, 'logs')}`);

  // Ready, with a lease renewed by this kubelet (a NotReady node taken over has an old one); then kube-proxy healthy.
  say(`waiting for node ${nodeName} to register and become Ready …`);
  await waitNodeReady(server, nodeName, kubelet.pid, t0 - 1000, opts.timeoutMs ?? 120_000, undefined, nodeTls).catch((err) => fail(kubelet, err));
  say(`node ${nodeName} Ready (${secs()})`);
  // The kubelet serves its API once its serving certificate is issued (it asks after registering).
  await waitHttp(`kubelet-${nodeName}`, kubelet.pid, `https://${nodeIP}:10250/healthz`, 60_000, { ca }).catch((err) => fail(kubelet, err));
  say(`kubelet API on https://${nodeIP}:10250 with its serving certificate (${secs()})`);
  await waitHttp(proxyName, proxy.pid, `${proxyUrl}/healthz`, 60_000).catch((err) => fail(proxy, err));
  say(`${proxyName} healthy (${secs()})

node ${nodeName} joined ${server} (${secs()}).
  check on the control-plane host: kubectl get nodes -o wide
logs: ${path.join(dir, 'logs')}/kubelet-${nodeName}.log, ${proxyName}.log
leave: kubemu down --dir ${opts.dir}   (stops both and removes this node's pod containers; the Node object stays
       NotReady until you run kubectl delete node ${nodeName})`);
}

/**
 * The CA certificate in the apiserver's chain whose public key has `hash` (kubeadm's discovery with
 * --discovery-token-ca-cert-hash), after checking that it really signed the serving certificate.
 */
async function discoverCA(url: URL, hash: string): Promise<string> {
  if (!/^sha256:[0-9a-f]{64}$/.test(hash)) throw new UserError(`--discovery-token-ca-cert-hash: want sha256:<64 hex digits>, got ${hash}`, 2);
  const chain = await new Promise<tls.PeerCertificate[]>((resolve, reject) => {
    const s = tls.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port), rejectUnauthorized: false, timeout: 5000 }, () => {
      const certs: tls.PeerCertificate[] = [];
      for (let c: tls.DetailedPeerCertificate | undefined = s.getPeerCertificate(true); c?.raw && !certs.includes(c); c = c.issuerCertificate) certs.push(c);
      s.destroy();
      resolve(certs);
    });
    s.once('error', reject).once('timeout', () => { s.destroy(); reject(Object.assign(new Error('timeout'), { name: 'TimeoutError' })); });
  });
  const pem = (c: tls.PeerCertificate) => new crypto.X509Certificate(c.raw).toString();
  const ca = chain.map(pem).find((p) => caCertHash(p) === hash);
  if (!ca) throw new UserError(`the apiserver at ${url.origin} presents no CA with public-key hash ${hash}: a wrong hash, or not the cluster you meant`);
  if (!(await inspectCertificate(pem(chain[0])).signedBy(ca))) throw new UserError(`the apiserver's certificate at ${url.origin} is not signed by the CA with hash ${hash}`);
  return ca;
}

function nodeInfo(node: any, lease: any): NodeInfo {
  const ready = (node?.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
  const renew = Date.parse(lease?.spec?.renewTime);
  return { ready, heartbeatAgeS: Number.isFinite(renew) ? (Date.now() - renew) / 1000 : undefined };
}

/**
 * The cluster's service range, for kube-proxy, from the kube-dns ClusterIP `kubemu up` gives out
 * (launcher/components.ts clusterAddresses): 10.96.0.10 → 10.96.0.0/16 (cluster "kubemu"), 10.97.K.10 → 10.97.K.0/24.
 */
export function serviceCidrOf(dnsIP: string | undefined): string {
  if (!dnsIP || dnsIP.startsWith('10.96.')) return '10.96.0.0/16';
  return `${dnsIP.split('.').slice(0, 3).join('.')}.0/24`;
}

/** The scope of a Docker network known to this engine (local, swarm), or undefined when it has none by that name. */
async function dockerNetworkScope(name: string): Promise<string | undefined> {
  const engine = new DockerEngine({});
  try {
    const filters = encodeURIComponent(JSON.stringify({ name: [name] }));
    const list: Array<{ Name: string; Scope: string }> = await engine.json('GET', `/networks?filters=${filters}`);
    return list.find((n) => n.Name === name)?.Scope;
  } catch (err) {
    throw new UserError(`cannot talk to the Docker engine: ${(err as Error).message}`);
  } finally {
    await engine.pool.close();
  }
}
