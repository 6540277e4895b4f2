// The pod's hostname and /etc/hosts, as the kubelet makes them: the hostname is spec.hostname or the pod's name
// (cut to 63 characters), its domain `<subdomain>.<namespace>.svc.<cluster domain>` when spec.subdomain is set
// (setHostnameAsFQDN makes the FQDN the hostname); the managed hosts file maps the pod's IPs to those names and
// adds spec.hostAliases. A pod on the node's network gets the node's /etc/hosts plus its aliases. The file is
// written under the pod's directory and bind-mounted at /etc/hosts in every container.
import fs from 'node:fs';
import path from 'node:path';
import type { KubeObject } from '../api/types.ts';
import type { Mount } from './cri/types.ts';

type Obj = Record<string, any>;

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';
const MAX_FQDN = 64;

/** Kubernetes' truncateHostname: at most 63 characters, no trailing '-' or '.'. */
const truncate = (h: string) => (h.length <= 63 ? h : h.slice(0, 63).replace(/[-.]+$/, ''));

export interface PodHostname { hostname: string; domain: string }

/** The pod's hostname and domain; throws Kubernetes' message when setHostnameAsFQDN makes the name too long. */
export function podHostname(pod: KubeObject, clusterDomain = DEFAULT_CLUSTER_DOMAIN): PodHostname {
  const hostname = truncate(pod.spec?.hostname || pod.metadata.name!);
  const domain = pod.spec?.subdomain ? `${pod.spec.subdomain}.${pod.metadata.namespace ?? 'default'}.svc.${clusterDomain}` : '';
  return { hostname, domain };
}

/** The hostname the sandbox gets: the short name, or the FQDN under setHostnameAsFQDN ('' on the node's network). */
export function sandboxHostname(pod: KubeObject, clusterDomain = DEFAULT_CLUSTER_DOMAIN): string {
  if (pod.spec?.hostNetwork) return '';
  const { hostname, domain } = podHostname(pod, clusterDomain);
  if (!pod.spec?.setHostnameAsFQDN || !domain) return hostname;
  const fqdn = `${hostname}.${domain}`;
  if (fqdn.length > MAX_FQDN) {
    throw new Error(`failed to construct FQDN from pod hostname and cluster domain, FQDN ${fqdn} is too long (${MAX_FQDN} characters is the max, ${fqdn.length} characters requested)`);
  }
  return fqdn;
}

function aliases(pod: KubeObject): string {
  const list: Obj[] = pod.spec?.hostAliases ?? [];
  if (!list.length) return '';
  return ['', '# Entries added by HostAliases.', ...list.flatMap((a) => (a.hostnames ?? []).map((h: string) => `${a.ip}\t${h}`)), ''].join('\n');
}

/** The content of the pod's /etc/hosts. */
export function hostsFileContent(pod: KubeObject, podIPs: string[], clusterDomain = DEFAULT_CLUSTER_DOMAIN, nodeHosts = '/etc/hosts'): string {
  if (pod.spec?.hostNetwork) {
    let node = '';
    try { node = fs.readFileSync(nodeHosts, 'utf8'); } catch { /* no node hosts file: only the aliases */ }
    return `# Kubernetes-managed hosts file (host network).\n${node}${aliases(pod)}`;
  }
  const { hostname, domain } = podHostname(pod, clusterDomain);
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    ...podIPs.map((ip) => (domain ? `${ip}\t${hostname}.${domain}\t${hostname}` : `${ip}\t${hostname}`)),
  ];
  return `${lines.join('\n')}\n${aliases(pod)}`;
}

/**
 * Writes the pod's hosts file and returns its mount at /etc/hosts — none when the container mounts something there
 * itself, or before the pod has an IP (as the kubelet does).
 */
export function hostsFileMount(rootDir: string, pod: KubeObject, c: Obj, podIPs: string[], clusterDomain?: string): Mount | undefined {
  if (!podIPs.length || (c.volumeMounts ?? []).some((m: Obj) => path.posix.normalize(String(m.mountPath)) === '/etc/hosts')) return undefined;
  const file = path.join(rootDir, 'pods', pod.metadata.uid!, 'etc-hosts');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, hostsFileContent(pod, podIPs, clusterDomain), { mode: 0o644 });
  fs.chmodSync(file, 0o644);
  return { containerPath: '/etc/hosts', hostPath: file, readonly: false };
}
