// kubemu kube-proxy: flags → client → KubeProxy (NodePorts of this node) + a lease campaign for
// serving the cluster's ClusterIPs and LoadBalancer addresses on this host. Serves /healthz and
// /metrics (per-service connections, bytes, errors) on --metrics-port. Runs until SIGTERM/SIGINT.
import net from 'node:net';
import os from 'node:os';
import { createApiClient } from '../client/index.ts';
import { LeaderElector } from '../client/leader-election.ts';
import { closeServer } from '../lib/close-server.ts';
import { parseFlags, API_FLAGS, API_USAGE, apiConnection, portFlag, serveHealth, stopOnSignals } from '../lib/component.ts';
import { createLogger } from '../lib/logger.ts';
import { gaugeAtScrape } from '../lib/metrics.ts';
import { chainPrefix } from './chain-names.ts';
import { KubeProxy, type ProxyMode } from './kube-proxy.ts';
import { deadOnThisHost } from './lease-holder.ts';
import { removeServiceAddressesIn } from './host-net.ts';

const USAGE = `usage: kube-proxy ${API_USAGE} --node-name NAME
                  [--node-ip 127.0.0.1] [--proxy-mode userspace|iptables]
                  [--service-cluster-ip-range 10.96.0.0/16] [--service-interface kubemu0]
                  [--cluster-ip-lease kube-proxy-cluster-ips] [--cluster-ip-lease-seconds 3]
                  [--metrics-port 10249] [--remove-addresses-on-exit] [--log-level info]`;

async function main(): Promise<void> {
  const { values } = parseFlags({
      ...API_FLAGS, 'node-name': { type: 'string' }, 'node-ip': { type: 'string', default: '127.0.0.1' }, 'proxy-mode': { type: 'string', default: 'userspace' },
      'service-cluster-ip-range': { type: 'string', default: '10.96.0.0/16' }, 'service-interface': { type: 'string', default: 'kubemu0' },
      'cluster-ip-lease': { type: 'string', default: 'kube-proxy-cluster-ips' }, 'cluster-ip-lease-seconds': { type: 'string', default: '3' },
      'metrics-port': { type: 'string', default: '10249' }, 'remove-addresses-on-exit': { type: 'boolean', default: false }, 'log-level': { type: 'string', default: 'info' }, help: { type: 'boolean' },
  }, USAGE);
  if (values.help) { console.log(USAGE); return; }
  const errors: string[] = [];
  const api = apiConnection(values, errors);
  if (!values['node-name']) errors.push('--node-name is required');
  if (!['userspace', 'iptables'].includes(values['proxy-mode']!)) errors.push(`--proxy-mode: want userspace or iptables, got ${values['proxy-mode']}`);
  if (!net.isIPv4(values['node-ip']!)) errors.push(`--node-ip: not an IPv4 address: ${values['node-ip']}`);
  const cidr = values['service-cluster-ip-range']!;
  const [base, bits] = cidr.split('/');
  if (!net.isIPv4(base) || !(Number(bits) >= 8 && Number(bits) <= 30)) errors.push(`--service-cluster-ip-range: want an IPv4 CIDR from /8 to /30, got ${cidr}`);
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(values['service-interface']!)) errors.push(`--service-interface: not an interface name: ${values['service-interface']}`);
  const leaseSeconds = Number(values['cluster-ip-lease-seconds']);
  if (!(leaseSeconds >= 1)) errors.push(`--cluster-ip-lease-seconds: want a number ≥ 1, got ${values['cluster-ip-lease-seconds']}`);
  const metricsPort = portFlag('metrics-port', values['metrics-port'], errors);
  if (errors.length) { console.error(`${errors.join('\n')}\n${USAGE}`); process.exit(2); }

  const nodeName = values['node-name']!;
  const logger = createLogger('kube-proxy', { level: values['log-level'] }).child({ node: nodeName });
  const client = createApiClient({ ...api, userAgent: 'kube-proxy/kubemu' });
  const proxy = new KubeProxy({
    client, logger, nodeName, nodeIP: values['node-ip']!, mode: values['proxy-mode'] as ProxyMode,
    serviceCIDR: cidr, iface: values['service-interface']!,
    nodeChain: chainPrefix('N', nodeName), clusterChain: chainPrefix('C', cidr),
  });
  const health = serveHealth({
    port: metricsPort, logger,
    metrics: () => proxy.metrics.render(),
  });
  gaugeAtScrape(proxy.metrics.registry, { name: 'kubeproxy_cluster_ip_leader', help: 'Whether this kube-proxy holds the host\'s ClusterIP lease (1) or not (0).', read: () => (proxy.leading ? 1 : 0) });
  let leadingAtStop = false;
  const stop = stopOnSignals(logger, () => { leadingAtStop = proxy.leading; void closeServer(health); });

  // The lease is per host (ClusterIPs live on this host's service interface): every kube-proxy of
  // the cluster on this host campaigns, exactly one serves, another takes over within a lease.
  // A holder that is a dead process on this host (a kube-proxy killed with its node) frees the
  // lease at once. In userspace mode the leader keeps its listeners through an apiserver outage.
  const elector = new LeaderElector({
    client, namespace: 'kube-system', name: `${values['cluster-ip-lease']}.${os.hostname().toLowerCase().replace(/[^a-z0-9-]/g, '-')}`,
    identity: `${os.hostname()}_${nodeName}_${process.pid}`, logger,
    leaseDurationSeconds: leaseSeconds, renewDeadlineMs: leaseSeconds * 1000 * 2 / 3, retryPeriodMs: Math.max(200, leaseSeconds * 1000 / 6),
    holderGone: deadOnThisHost, keepLeadingUntilAnotherHolder: values['proxy-mode'] === 'userspace',
    onStartedLeading: (signal) => {
      // Won the lease while already stopping (the old leader exited first): whatever this adds, it removes at exit.
      if (stop.signal.aborted) leadingAtStop = true;
      return proxy.lead(AbortSignal.any([signal, stop.signal]));
    },
  });
  await Promise.all([proxy.run(stop.signal), elector.run(stop.signal)]);
  // docker compose: `down` must leave no ClusterIP on the host. Only the leader holds them, and it still
  // holds the lease here (it is not released, and a standby sees this process gone only once it exits),
  // so no new leader can have re-added them. The unreachable route stays: other kube-proxies may run.
  if (values['remove-addresses-on-exit'] && leadingAtStop) {
    await removeServiceAddressesIn(cidr, values['service-interface']).then(
      (gone) => logger.info({ removed: gone.length }, 'ClusterIPs removed from the host'),
      (err) => logger.warn({ err: String(err) }, 'could not remove the ClusterIPs'));
  }
  await client.close();
}

main().catch((err) => { console.error(err); process.exit(1); });
