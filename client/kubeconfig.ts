// Read a kubeconfig (the one `kubemu up` writes, or any simple one): the current (or given)
// context's server URL and bearer token. TLS client certificates are not supported yet.
import fs from 'node:fs';
import { createRequire } from 'node:module';

/** yaml, loaded when a kubeconfig is read or written: components started with --server never do (~6 MB each). */
const yaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml');

export interface KubeconfigTarget { server: string; token?: string; namespace?: string; context: string }

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
  return { server: cluster.server, token: user.token, namespace: ctx.namespace, context: name };
}

/** A kubeconfig for one cluster with a bearer token (what `kubemu up` writes). */
export function kubeconfigYaml(opts: { server: string; token?: string; name?: string }): string {
  const name = opts.name ?? 'kubemu';
  return yaml().stringify({
    apiVersion: 'v1', kind: 'Config', preferences: {},
    // Plain-HTTP servers: client-node refuses http:// unless TLS verification is marked skipped.
    clusters: [{ name, cluster: { server: opts.server, ...(opts.server.startsWith('http://') ? { 'insecure-skip-tls-verify': true } : {}) } }],
    users: [{ name: `${name}-admin`, user: opts.token ? { token: opts.token } : {} }],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin` } }],
    'current-context': name,
  });
}
