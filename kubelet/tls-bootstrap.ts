// The kubelet's TLS bootstrap (pkg/kubelet/certificate/bootstrap) and client-certificate rotation: with a bootstrap
// token the kubelet makes a key and a CSR for CN=system:node:<name>, O=system:nodes (signer
// kubernetes.io/kube-apiserver-client-kubelet, usages digital signature + client auth), waits for the signer's
// certificate and keeps certificate and key in one 0600 file, kubelet-client-<time>.pem, with kubelet-client-current.pem
// pointing at it — reused on restart while it is valid. renew() makes a new CSR once 70–90% (jittered, as the real
// kubelet's certificate manager) of the certificate's validity has passed, asked with the node's own identity.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { KubeObject } from '../api/types.ts';
import type { ApiClient } from '../client/api-client.ts';
import { createCsr, inspectCertificate } from '../lib/pki.ts';
import type { Logger } from '../lib/logger.ts';

const CSRS = { group: 'certificates.k8s.io', resource: 'certificatesigningrequests' };
export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
export const KUBELET_SERVING_SIGNER = 'kubernetes.io/kubelet-serving';
export const CURRENT_FILE = 'kubelet-client-current.pem';
/** The serving certificate's file, as the real kubelet's with --rotate-server-certificates (serverTLSBootstrap). */
export const SERVING_FILE = 'kubelet-server-current.pem';

/** Which certificate: the node's client identity, or its serving certificate for the kubelet API (its names). */
type Which = { kind: 'client' } | { kind: 'serving'; dnsNames: string[]; ipAddresses: string[] };
const CLIENT: Which = { kind: 'client' };
const fileOf = (w: Which) => (w.kind === 'client' ? CURRENT_FILE : SERVING_FILE);

export interface TlsBootstrapOptions {
  /** Authenticated with the bootstrap token (bootstrap) or the node's current certificate (renew). */
  client: ApiClient;
  nodeName: string;
  /** Where the certificate files live (the real kubelet's /var/lib/kubelet/pki). */
  dir: string;
  logger?: Logger;
  /** How long to wait for the certificate (default 15 minutes). */
  timeoutMs?: number;
  /** How often to look at the CSR (default 500 ms). */
  pollMs?: number;
  /** spec.expirationSeconds to ask for (none: the signer's --cluster-signing-duration). */
  expirationSeconds?: number;
  signal?: AbortSignal;
}

export interface ClientCertificate {
  cert: string;
  key: string;
  /** The file holding both (kubelet-client-current.pem). */
  file: string;
  notBefore: Date;
  notAfter: Date;
  /** It was read from an earlier run, not just issued. */
  reused: boolean;
}

/** The certificate and key of kubelet-client-current.pem, if it is there, for this node and not expired. */
export function readCurrent(dir: string, nodeName: string, now = Date.now(), which: Which = CLIENT): ClientCertificate | undefined {
  const file = path.join(dir, fileOf(which));
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch { return undefined; }
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(text)?.[0];
  const key = /-----BEGIN (?:EC |RSA )?PRIVATE KEY-----[\s\S]+?-----END (?:EC |RSA )?PRIVATE KEY-----\n?/.exec(text)?.[0];
  if (!cert || !key) return undefined;
  try {
    const info = inspectCertificate(cert);
    if (info.commonName !== `system:node:${nodeName}` || info.notAfter.getTime() <= now) return undefined;
    // A serving certificate must still name every address the node has now.
    if (which.kind === 'serving' && !(which.ipAddresses.every((ip) => info.ipAddresses.includes(ip)) && which.dnsNames.every((d) => info.dnsNames.includes(d)))) return undefined;
    // The key must be the certificate's: a half-written pair is not reused.
    const pub = crypto.createPublicKey(key).export({ type: 'spki', format: 'der' });
    if (!pub.equals(new crypto.X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' }))) return undefined;
    return { cert, key, file, notBefore: info.notBefore, notAfter: info.notAfter, reused: true };
  } catch {
    return undefined;
  }
}

/** When to renew: a random point between 70% and 90% of the validity (the kubelet's jittered deadline). */
export function rotationDeadline(notBefore: Date, notAfter: Date, random = Math.random()): Date {
  const total = notAfter.getTime() - notBefore.getTime();
  return new Date(notBefore.getTime() + total * (0.7 + 0.2 * random));
}

/** Write cert+key as kubelet-client-<time>.pem (0600) and point kubelet-client-current.pem at it, atomically. */
function save(dir: string, cert: string, key: string, which: Which = CLIENT): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const current = fileOf(which);
  const name = `kubelet-${which.kind === 'client' ? 'client' : 'server'}-${stamp}-${crypto.randomBytes(3).toString('hex')}.pem`;
  fs.writeFileSync(path.join(dir, name), cert + key, { mode: 0o600 });
  const tmp = path.join(dir, `.${current}.${process.pid}`);
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(name, tmp);
  fs.renameSync(tmp, path.join(dir, current));
  return path.join(dir, current);
}

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason ?? new Error('aborted')); }, { once: true });
});

/** Ask for a new client certificate: a key, a CSR object, then wait until it is issued, denied or failed. */
export async function requestClientCertificate(o: TlsBootstrapOptions, which: Which = CLIENT): Promise<ClientCertificate> {
  const names = which.kind === 'serving' ? { dnsNames: which.dnsNames, ipAddresses: which.ipAddresses } : {};
  const { csr, key } = await createCsr({ commonName: `system:node:${o.nodeName}`, organizations: ['system:nodes'], ...names });
  // As the kubelet: the name is a digest of the request, so a retry after a crash finds the same object.
  const name = `node-csr-${crypto.createHash('sha256').update(csr).digest('base64url').slice(0, 43)}`;
  await o.client.create(CSRS, undefined, {
    apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name },
    spec: {
      request: Buffer.from(csr).toString('base64'),
      ...(which.kind === 'client' ? { signerName: KUBELET_CLIENT_SIGNER, usages: ['digital signature', 'client auth'] } : { signerName: KUBELET_SERVING_SIGNER, usages: ['digital signature', 'server auth'] }),
      ...(o.expirationSeconds ? { expirationSeconds: o.expirationSeconds } : {}),
    },
  } as KubeObject);
  o.logger?.info({ csr: name, node: o.nodeName }, `waiting for the ${which.kind} certificate`);
  const started = Date.now();
  const timeout = o.timeoutMs ?? 15 * 60_000;
  let lastProgress = started;
  for (;;) {
    const cur: { status?: { certificate?: string; conditions?: Array<Record<string, string>> } } = await o.client.get(CSRS, undefined, name);
    const bad = cur.status?.conditions?.find((c: Record<string, string>) => (c.type === 'Denied' || c.type === 'Failed') && c.status === 'True');
    if (bad) throw new Error(`certificate signing request ${name} was ${bad.type === 'Denied' ? 'denied' : 'not signed (Failed)'}: ${bad.reason ?? ''}${bad.message ? `: ${bad.message}` : ''}`);
    if (cur.status?.certificate) {
      const issued = Buffer.from(cur.status.certificate, 'base64').toString();
      const cert = issued.endsWith('\n') ? issued : `${issued}\n`;
      const info = inspectCertificate(cert);
      const file = save(o.dir, cert, key, which);
      o.logger?.info({ csr: name, notAfter: info.notAfter.toISOString() }, `${which.kind} certificate issued`);
      return { cert, key, file, notBefore: info.notBefore, notAfter: info.notAfter, reused: false };
    }
    const now = Date.now();
    if (now - started > timeout) throw new Error(`timed out after ${Math.round(timeout / 1000)}s waiting for certificate signing request ${name} to be approved and signed (is the csrsigning controller running with --cluster-signing-cert-file?)`);
    if (now - lastProgress >= 10_000) {
      lastProgress = now;
      o.logger?.info({ csr: name, waitedSeconds: Math.round((now - started) / 1000) }, `still waiting for the ${which.kind} certificate (approve it with kubectl certificate approve)`);
    }
    await sleep(o.pollMs ?? 500, o.signal);
  }
}

/** The node's client certificate: the saved one while valid, else a new one through a CSR (the bootstrap). */
export async function bootstrapClientCertificate(o: TlsBootstrapOptions): Promise<ClientCertificate> {
  const current = readCurrent(o.dir, o.nodeName);
  if (current) {
    o.logger?.info({ file: current.file, notAfter: current.notAfter.toISOString() }, 'using the saved client certificate');
    return current;
  }
  return requestClientCertificate(o);
}

/** A new certificate if the current one is past its jittered rotation deadline (or missing); else the current one. */
export async function renew(o: TlsBootstrapOptions & { now?: number; random?: number }): Promise<ClientCertificate> {
  const current = readCurrent(o.dir, o.nodeName, o.now);
  if (current && (o.now ?? Date.now()) < rotationDeadline(current.notBefore, current.notAfter, o.random).getTime()) return current;
  return requestClientCertificate(o);
}

/**
 * The kubelet's serving certificate (the real kubelet's serverTLSBootstrap): a kubelet-serving CSR naming the node's
 * addresses, asked with the node's own client identity; the saved one while it is valid and still names them all.
 */
export async function bootstrapServingCertificate(o: TlsBootstrapOptions & { dnsNames: string[]; ipAddresses: string[] }): Promise<ClientCertificate> {
  const which: Which = { kind: 'serving', dnsNames: o.dnsNames, ipAddresses: o.ipAddresses };
  const current = readCurrent(o.dir, o.nodeName, Date.now(), which);
  if (current) return current;
  return requestClientCertificate(o, which);
}

/**
 * --rotate-certificates: past its jittered deadline (70–90% of its validity) the node's client certificate is renewed
 * through a CSR asked as the node itself; kubelet-client-current.pem then names the new one and `onRenewed` runs.
 * A failed renewal is tried again every 5 minutes. Returns when the rotation is due (ms since the epoch), if any.
 */
export function scheduleClientRotation(o: TlsBootstrapOptions & { onRenewed(next: ClientCertificate): void }): number | undefined {
  const current = readCurrent(o.dir, o.nodeName);
  if (!current) { o.logger?.warn({ dir: o.dir }, '--rotate-certificates: no kubelet-client-current.pem for this node: nothing to rotate'); return undefined; }
  const deadline = rotationDeadline(current.notBefore, current.notAfter).getTime();
  const check = () => {
    if (o.signal?.aborted) return;
    const wait = deadline - Date.now();
    // setTimeout holds at most ~24.8 days: wait in steps until the deadline.
    if (wait > 0) { setTimeout(check, Math.min(wait, 2 ** 31 - 1)).unref(); return; }
    renew({ ...o, now: Date.now() }).then((next) => {
      if (next.reused) return;
      o.logger?.info({ notAfter: next.notAfter.toISOString() }, 'client certificate renewed');
      o.onRenewed(next);
    }, (err) => { o.logger?.error({ err: String(err) }, 'client certificate renewal failed; trying again in 5 min'); setTimeout(check, 300_000).unref(); });
  };
  o.logger?.info({ renewAt: new Date(deadline).toISOString(), notAfter: current.notAfter.toISOString() }, 'client certificate rotation scheduled');
  check();
  return deadline;
}
