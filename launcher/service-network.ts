// What `kubemu down` takes back from the host's network: the cluster's ClusterIPs on kubemu0, the
// unreachable route of its own service CIDR, and the iptables chains its kube-proxies wrote (a
// kube-proxy killed with -9 leaves all of them behind). kubemu0 and the route covering every
// cluster's range stay: other clusters on this host may use them.
import { execa } from 'execa';
import { chainPrefix, hasNetAdmin, removeChains, removeServiceAddressesIn } from '../kube-proxy/public.ts';
import { ALL_SERVICE_CIDRS } from './components.ts';

export async function cleanupServiceNetwork(serviceCIDR: string, nodes: string[]): Promise<void> {
  if (!hasNetAdmin()) return;
  await removeServiceAddressesIn(serviceCIDR);
  if (serviceCIDR !== ALL_SERVICE_CIDRS) await execa('ip', ['route', 'del', 'unreachable', serviceCIDR], { reject: false });
  for (const prefix of [chainPrefix('C', serviceCIDR), ...nodes.map((n) => chainPrefix('N', n))]) await removeChains(prefix);
}
