// The cluster PKI in <dir>/pki/, made by the first `kubemu up` and reused by later ones (gone with --purge), as
// kubeadm lays out /etc/kubernetes/pki: a CA, the apiserver's serving certificate, its client certificate for the
// kubelets, a front-proxy CA and client, and a client certificate per component identity. Keys are 0600 in a
// 0700 directory; certificates are public. A certificate is made again when it is missing, no longer signed by
// the CA, within 30 days of expiry, or (the serving ones) no longer names every address it must.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ClientTls } from '../client/index.ts';
import { createCA, inspectCertificate, issueCertificate, type CertificateRequest, type KeyPair } from '../lib/pki.ts';

const RENEW_BEFORE_MS = 30 * 86_400_000;

/** Who each client certificate names (CN, O), kubeadm's names. */
export const IDENTITIES = {
  admin: { commonName: 'kubernetes-admin', organizations: ['system:masters'] },
  scheduler: { commonName: 'system:kube-scheduler' },
  'controller-manager': { commonName: 'system:kube-controller-manager' },
  'kube-proxy': { commonName: 'system:kube-proxy', organizations: ['system:node-proxier'] },
  dns: { commonName: 'system:kube-dns' },
  'apiserver-kubelet-client': { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'] },
} as const;
export type Identity = keyof typeof IDENTITIES;

export interface ClusterPkiOptions {
  /** Addresses the apiserver is reached at besides loopback (its bind and advertise addresses). */
  apiserverIPs?: string[];
  apiserverDNSNames?: string[];
  /** The first address of the service CIDR: the `kubernetes` Service's ClusterIP. */
  kubernetesServiceIP: string;
  /** Nodes whose kubelets get a client (system:node:<name>) and a serving certificate. */
  nodes?: Array<{ name: string; ip: string }>;
}

export const pkiDir = (dir: string): string => path.join(dir, 'pki');
const crt = (pki: string, name: string) => path.join(pki, `${name}.crt`);
const key = (pki: string, name: string) => path.join(pki, `${name}.key`);

function writeKeyPair(pki: string, name: string, pair: KeyPair): void {
  // The key first, private from its first byte; the certificate after it (a certificate without its key is never kept).
  fs.writeFileSync(key(pki, name), pair.key, { mode: 0o600 });
  fs.chmodSync(key(pki, name), 0o600);
  fs.writeFileSync(crt(pki, name), pair.cert, { mode: 0o644 });
}

function readKeyPair(pki: string, name: string): KeyPair | undefined {
  try { return { cert: fs.readFileSync(crt(pki, name), 'utf8'), key: fs.readFileSync(key(pki, name), 'utf8') }; } catch { return undefined; }
}

async function stillGood(pair: KeyPair | undefined, ca: KeyPair, want: CertificateRequest): Promise<boolean> {
  if (!pair) return false;
  try {
    const info = inspectCertificate(pair.cert);
    if (info.notAfter.getTime() - Date.now() < RENEW_BEFORE_MS || !(await info.signedBy(ca.cert))) return false;
    if (info.commonName !== want.commonName || (want.organizations ?? []).join() !== info.organizations.join()) return false;
    return (want.dnsNames ?? []).every((n) => info.dnsNames.includes(n)) && (want.ipAddresses ?? []).every((ip) => info.ipAddresses.includes(ip));
  } catch { return false; }
}

async function ensureLeaf(pki: string, name: string, ca: KeyPair, want: CertificateRequest): Promise<void> {
  if (await stillGood(readKeyPair(pki, name), ca, want)) return;
  writeKeyPair(pki, name, await issueCertificate(ca, want));
}

async function ensureCA(pki: string, name: string, commonName: string): Promise<KeyPair> {
  const existing = readKeyPair(pki, name);
  if (existing && inspectCertificate(existing.cert).notAfter.getTime() - Date.now() > RENEW_BEFORE_MS) return existing;
  const ca = await createCA(commonName);
  writeKeyPair(pki, name, ca);
  return ca;
}

/** The apiserver's names: loopback, the `kubernetes` Service's names and ClusterIP, and where it is reached. */
export function apiserverNames(o: ClusterPkiOptions): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames = ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', ...(o.apiserverDNSNames ?? [])];
  const ips = ['127.0.0.1', o.kubernetesServiceIP, ...(o.apiserverIPs ?? []).filter((ip) => ip !== '0.0.0.0' && ip !== '::')];
  return { dnsNames: [...new Set(dnsNames)], ipAddresses: [...new Set(ips)] };
}

/** Make what is missing in <dir>/pki/ and keep the rest; returns the CA. */
export async function ensureClusterPki(dir: string, o: ClusterPkiOptions): Promise<KeyPair> {
  const pki = pkiDir(dir);
  fs.mkdirSync(pki, { recursive: true, mode: 0o700 });
  fs.chmodSync(pki, 0o700);
  const ca = await ensureCA(pki, 'ca', 'kubernetes');
  await ensureLeaf(pki, 'apiserver', ca, { commonName: 'kube-apiserver', usage: 'server', ...apiserverNames(o) });
  // What the apiserver serves: its certificate and the CA's, so a joining node can pin the CA by its hash (caCertHash).
  fs.writeFileSync(path.join(pki, 'apiserver-chain.crt'), `${fs.readFileSync(crt(pki, 'apiserver'), 'utf8').trimEnd()}\n${ca.cert.trimEnd()}\n`);
  for (const [name, id] of Object.entries(IDENTITIES)) await ensureLeaf(pki, name, ca, { ...id, organizations: 'organizations' in id ? [...id.organizations] : undefined, usage: 'client' });
  // The aggregation layer's own CA and client (kubeadm's front-proxy-*): the apiserver presents it to aggregated APIs.
  const frontProxy = await ensureCA(pki, 'front-proxy-ca', 'front-proxy-ca');
  await ensureLeaf(pki, 'front-proxy-client', frontProxy, { commonName: 'front-proxy-client', usage: 'client' });
  for (const n of o.nodes ?? []) await ensureNodeCertificates(dir, ca, n);
  return ca;
}

/** A kubelet's client certificate (system:node:<name> in system:nodes) and its serving certificate (the node's name and IP). */
export async function ensureNodeCertificates(dir: string, ca: KeyPair, node: { name: string; ip: string }): Promise<void> {
  const pki = pkiDir(dir);
  const id = { commonName: `system:node:${node.name}`, organizations: ['system:nodes'] };
  await ensureLeaf(pki, `kubelet-${node.name}-client`, ca, { ...id, usage: 'client' });
  await ensureLeaf(pki, `kubelet-${node.name}-serving`, ca, { ...id, usage: 'server', dnsNames: [node.name], ipAddresses: [node.ip] });
}

/**
 * etcd's TLS, kubeadm's layout and names: its own CA (pki/etcd/ca), the members' serving certificate (etcd/server)
 * and peer certificate (etcd/peer) for the addresses they listen on, a client for health checks
 * (etcd/healthcheck-client, CN kube-etcd-healthcheck-client) and the apiservers' client (apiserver-etcd-client,
 * CN kube-apiserver-etcd-client). A separate CA, as kubeadm's: a certificate of the cluster CA (any component's)
 * is no key to etcd. Members on one host share one server and one peer certificate (kubeadm makes one per host).
 */
export async function ensureEtcdPki(dir: string, o: { ipAddresses: string[]; dnsNames?: string[] }): Promise<KeyPair> {
  const pki = pkiDir(dir);
  fs.mkdirSync(path.join(pki, 'etcd'), { recursive: true, mode: 0o700 });
  const ca = await ensureCA(pki, 'etcd/ca', 'etcd-ca');
  const names = { dnsNames: ['localhost', ...(o.dnsNames ?? [])], ipAddresses: o.ipAddresses };
  await ensureLeaf(pki, 'etcd/server', ca, { commonName: 'kube-etcd', usage: 'both', ...names });
  await ensureLeaf(pki, 'etcd/peer', ca, { commonName: 'kube-etcd-peer', usage: 'both', ...names });
  await ensureLeaf(pki, 'etcd/healthcheck-client', ca, { commonName: 'kube-etcd-healthcheck-client', usage: 'client' });
  await ensureLeaf(pki, 'apiserver-etcd-client', ca, { commonName: 'kube-apiserver-etcd-client', usage: 'client' });
  return ca;
}

/** The CA (PEM) of a cluster directory. */
export const clusterCA = (dir: string): KeyPair => readKeyPair(pkiDir(dir), 'ca') ?? (() => { throw new Error(`no cluster CA in ${pkiDir(dir)} (made by kubemu up)`); })();

/** A component's command-line flags for TLS to the apiserver: the CA, and its own client certificate. */
export function clientTlsArgs(dir: string, name: string): string[] {
  const pki = pkiDir(dir);
  return ['--certificate-authority', crt(pki, 'ca'), '--client-certificate', crt(pki, name), '--client-key', key(pki, name)];
}

/** Files of a certificate kept in <dir>/pki/ (for flags such as the kubelet's --tls-cert-file). */
export const certFiles = (dir: string, name: string): { cert: string; key: string } => ({ cert: crt(pkiDir(dir), name), key: key(pkiDir(dir), name) });

/** The admin's TLS to the apiserver, for the CLI's own calls (status, faults, waiting for nodes): the CA, and the admin's
 *  certificate where there is one (a joined node has only the CA); undefined without a PKI. */
export function adminTls(dir: string): ClientTls | undefined {
  const pki = pkiDir(dir);
  if (!fs.existsSync(crt(pki, 'ca'))) return undefined;
  const pair = readKeyPair(pki, 'admin');
  return { ca: fs.readFileSync(crt(pki, 'ca'), 'utf8'), ...(pair ? { cert: pair.cert, key: pair.key } : {}) };
}

/** kubeadm's --discovery-token-ca-cert-hash of a CA: sha256 of its SubjectPublicKeyInfo. */
export function caCertHash(caPem: string): string {
  const spki = crypto.createPublicKey(caPem).export({ type: 'spki', format: 'der' });
  return `sha256:${crypto.createHash('sha256').update(spki).digest('hex')}`;
}
