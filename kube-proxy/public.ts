// What the launcher and the Cluster library use of kube-proxy, and nothing else outside kube-proxy/ may:
// the host's service network (kubemu0, the unreachable guard routes), whether this process may change
// it at all, and the iptables chains a cluster's kube-proxies write (removed by `kubemu down`).
export { ensureServiceNetwork, guardUnroutedRange, hasNetAdmin, overlappingRoutes, removeServiceAddressesIn } from './host-net.ts';
export { chainPrefix } from './chain-names.ts';
export { removeChains } from './iptables.ts';
