// The resolver a pod's containers get, as the kubelet's DNS configurer decides it from
// spec.dnsPolicy and spec.dnsConfig, written as the pod's own resolv.conf and bind-mounted at /etc/resolv.conf
// (Docker would otherwise show its embedded resolver, 127.0.0.11, on the cluster network). ClusterFirst (the default) points pods at the cluster DNS
// with the usual search path, so `wget http://backend:8080/` finds the Service in the pod's
// namespace; without a cluster DNS configured, or for a pod on the node's network, it falls back to Default, as
// Kubernetes does.
import fs from 'node:fs';
import path from 'node:path';
import type { KubeObject } from '../api/types.ts';
import type { DNSConfig, Mount } from './cri/types.ts';

export interface ClusterDNS { servers: string[]; domain: string }

/** undefined = the runtime's default resolver (Docker copies the host's resolv.conf). */
export function podDNSConfig(pod: KubeObject, cluster: ClusterDNS | undefined): DNSConfig | undefined {
  const policy: string = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  let base: DNSConfig | undefined;
  // ClusterFirst on the node's network is Default (only ClusterFirstWithHostNet keeps the cluster DNS there).
  const clusterFirst = policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !pod.spec?.hostNetwork);
  if (clusterFirst && cluster?.servers.length) {
    const ns = pod.metadata.namespace ?? 'default';
    base = { servers: [...cluster.servers], searches: [`${ns}.svc.${cluster.domain}`, `svc.${cluster.domain}`, cluster.domain], options: ['ndots:5'] };
  } else if (policy === 'None') {
    base = { servers: [], searches: [], options: [] };
  }
  const extra = pod.spec?.dnsConfig;
  if (!extra) return base;
  const out: DNSConfig = base ?? { servers: [], searches: [], options: [] };
  // spec.dnsConfig adds to what the policy gave: servers and searches appended (duplicates dropped),
  // options merged by name with the pod's value winning.
  out.servers = [...new Set([...out.servers, ...(extra.nameservers ?? [])])];
  out.searches = [...new Set([...out.searches, ...(extra.searches ?? [])])];
  const opts = new Map(out.options.map((o) => [o.split(':')[0], o]));
  for (const o of extra.options ?? []) if (o?.name) opts.set(o.name, o.value !== undefined && o.value !== null ? `${o.name}:${o.value}` : o.name);
  out.options = [...opts.values()];
  return out;
}

/** resolv.conf as the runtime writes it for a sandbox: search, nameserver lines, options. */
export function resolvConfContent(cfg: DNSConfig): string {
  return [
    ...(cfg.searches.length ? [`search ${cfg.searches.join(' ')}`] : []),
    ...cfg.servers.map((s) => `nameserver ${s}`),
    ...(cfg.options.length ? [`options ${cfg.options.join(' ')}`] : []),
    '',
  ].join('\n');
}

/** Writes the pod's resolv.conf and returns its mount; none under the runtime's default resolver or when the container mounts /etc/resolv.conf itself. */
export function resolvConfMount(rootDir: string, pod: KubeObject, c: Record<string, any>, cfg: DNSConfig | undefined): Mount | undefined {
  if (!cfg || (c.volumeMounts ?? []).some((m: Record<string, unknown>) => path.posix.normalize(String(m.mountPath)) === '/etc/resolv.conf')) return undefined;
  const file = path.join(rootDir, 'pods', pod.metadata.uid!, 'resolv.conf');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, resolvConfContent(cfg), { mode: 0o644 });
  fs.chmodSync(file, 0o644);
  return { containerPath: '/etc/resolv.conf', hostPath: file, readonly: false };
}
