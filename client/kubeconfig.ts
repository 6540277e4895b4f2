// Read a kubeconfig (the one `kubemu up` writes, or any simple one): the current (or given) context's server
// URL, bearer token, and TLS — the cluster's CA and a client certificate, inline (`*-data`) or as files.
import fs from 'node:fs';
import path from 'node:path';
import type { ClientTls } from './api-client.ts';
import { createRequire } from 'node:module';

/** yaml, loaded when a kubeconfig is read or written: components started with --server never do (~6 MB each). */
const yaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml');

export interface KubeconfigTarget { server: string; token?: string; namespace?: string; context: string; tls?: ClientTls }

/** A kubeconfig's `X-data` (base64) or `X` (a file, relative to the kubeconfig's directory), as PEM text. */
function pem(entry: any, key: string, dir: string): string | undefined {
  if (entry?.[`${key}-data`]) return Buffer.from(String(entry[`${key}-data`]), 'base64').toString('utf8');
  if (entry?.[key]) return fs.readFileSync(path.resolve(dir, String(entry[key])), 'utf8');
  return undefined;
}

export function readKubeconfig(file: string, contextName?: string): KubeconfigTarget {
  let doc: any;
  try {
    doc = yaml().parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read kubeconfig ${file}: ${(err as Error).message}`);
  }
  const name = contextName ?? doc?.['current-context'];
  const ctx = (doc?.contexts ?? []).find((c: any) => c?.name === name)?.context;
  if (!ctx) throw new Error(`kubeconfig ${file}: context ${JSON.stringify(name)} not found`);
  const cluster = (doc.clusters ?? []).find((c: any) => c?.name === ctx.cluster)?.cluster;
  if (!cluster?.server) throw new Error(`kubeconfig ${file}: cluster ${JSON.stringify(ctx.cluster)} has no server`);
  const user = (doc.users ?? []).find((u: any) => u?.name === ctx.user)?.user ?? {};
  const dir = path.dirname(file);
  const tls: ClientTls = { ca: pem(cluster, 'certificate-authority', dir), cert: pem(user, 'client-certificate', dir), key: pem(user, 'client-key', dir), serverName: cluster['tls-server-name'] };
  const token = user.token ?? (user.tokenFile ? fs.readFileSync(path.resolve(dir, user.tokenFile), 'utf8').trim() : undefined);
  return { server: cluster.server, token, namespace: ctx.namespace, context: name, ...(tls.ca || tls.cert ? { tls } : {}) };
}

export interface KubeconfigSpec {
  server: string;
  token?: string;
  name?: string;
  /** The cluster CA (PEM), written as certificate-authority-data: kubectl verifies the server with it. */
  ca?: string;
  /** A client certificate and its key (PEM), written inline as kind writes its kubeconfig. */
  clientCertificate?: string;
  clientKey?: string;
  /** The user's name in the file (kind's is kind-admin style: <name>-admin). */
  user?: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A kubeconfig for one cluster with a client certificate or a bearer token (what `kubemu up` writes). */
export function kubeconfigYaml(opts: KubeconfigSpec): string {
  const name = opts.name ?? 'kubemu';
  const userName = opts.user ?? `${name}-admin`;
  const user: Record<string, string> = {};
  if (opts.clientCertificate && opts.clientKey) Object.assign(user, { 'client-certificate-data': b64(opts.clientCertificate), 'client-key-data': b64(opts.clientKey) });
  if (opts.token) user.token = opts.token;
  return yaml().stringify({
    apiVersion: 'v1', kind: 'Config', preferences: {},
    // Plain-HTTP servers: client-node refuses http:// unless TLS verification is marked skipped.
    clusters: [{ name, cluster: { server: opts.server, ...(opts.ca ? { 'certificate-authority-data': b64(opts.ca) } : opts.server.startsWith('http://') ? { 'insecure-skip-tls-verify': true } : {}) } }],
    users: [{ name: userName, user }],
    contexts: [{ name, context: { cluster: name, user: userName } }],
    'current-context': name,
  });
}
