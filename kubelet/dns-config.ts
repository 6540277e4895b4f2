// The resolver a pod's containers get, as the kubelet's DNS configurer decides it from
// spec.dnsPolicy and spec.dnsConfig. ClusterFirst (the default) points pods at the cluster DNS
// with the usual search path, so `wget http://backend:8080/` finds the Service in the pod's
// namespace; without a cluster DNS configured, or for a pod on the node's network, it falls back to Default, as
// Kubernetes does.
import type { KubeObject } from '../api/types.ts';
import type { DNSConfig } from './cri/types.ts';

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
