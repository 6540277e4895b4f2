// The kube-dns Service, as a cluster add-on: a fixed ClusterIP in the service range (what kubelets
// give pods as their resolver) and, having no selector, an Endpoints object written here that
// points at the DNS component's address.
import net from 'node:net';
import { createApiClient, type ClientTls } from '../client/index.ts';

const SERVICES = { group: '', resource: 'services' };
const ENDPOINTS = { group: '', resource: 'endpoints' };

export async function createKubeDns(apiserver: string, clusterIP: string, listen: { ip: string; port: number }, token?: string, tls?: ClientTls): Promise<void> {
  const client = createApiClient({ transport: 'http', server: apiserver, token, tls });
  const labels = { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' };
  try {
    await client.delete(SERVICES, 'kube-system', 'kube-dns').catch(() => {});
    await client.create(SERVICES, 'kube-system', {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'kube-dns', namespace: 'kube-system', labels },
      spec: { clusterIP, ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: listen.port }, { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: listen.port }] },
    });
    const endpoints = {
      apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kube-dns', namespace: 'kube-system', labels },
      subsets: [{ addresses: [{ ip: listen.ip }], ports: [{ name: 'dns', port: listen.port, protocol: 'UDP' }, { name: 'dns-tcp', port: listen.port, protocol: 'TCP' }] }],
    };
    await client.delete(ENDPOINTS, 'kube-system', 'kube-dns').catch(() => {});
    await client.create(ENDPOINTS, 'kube-system', endpoints);
  } finally {
    await client.close();
  }
}

/** Resolves once a TCP connection to ip:port is accepted (a kube-proxy serves the ClusterIP). */
export async function waitForClusterIP(ip: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: ip, port, timeout: 1000 }, () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false)).once('timeout', () => { s.destroy(); resolve(false); });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`no kube-proxy served ${ip}:${port} within ${timeoutMs / 1000} s (see the kube-proxy logs)`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
