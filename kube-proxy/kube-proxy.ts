// kube-proxy's control loop: Services and Endpoints from informers → rules → the proxier of the
// chosen mode. Every kube-proxy serves the NodePorts of its own node IP. ClusterIPs and
// LoadBalancer addresses are shared by every kube-proxy on a host, so only the one holding the
// cluster-IP lease serves them (`lead`): it keeps each ClusterIP as a /32 on the service
// interface (kubemu0) and serves it there; when it dies another takes the lease and carries on.
import type { KubeObject } from '../api/types.ts';
import type { ApiClient } from '../client/api-client.ts';
import { Informer } from '../client/informer.ts';
import { inCidr } from '../lib/ipv4.ts';
import type { Logger } from '../lib/logger.ts';
import { addServiceAddress, ensureServiceNetwork, hasNetAdmin, listServiceAddresses, removeServiceAddress } from './host-net.ts';
import { IptablesProxier, savedCounters } from './iptables.ts';
import { ProxyMetrics } from './metrics.ts';
import { buildRules, type Frontend, type ServicePortRule } from './service-map.ts';
import { UserspaceProxier } from './userspace.ts';

export type ProxyMode = 'userspace' | 'iptables';
const SERVICES = { group: '', resource: 'services' };
const ENDPOINTS = { group: '', resource: 'endpoints' };

export interface KubeProxyOptions {
  client: ApiClient;
  logger: Logger;
  nodeName: string;
  nodeIP: string;
  mode: ProxyMode;
  /** The cluster's service CIDR: ClusterIPs in it are kept on `iface` while leading. */
  serviceCIDR: string;
  iface: string;
  /** iptables chain prefixes: one per node (NodePorts), one per cluster (ClusterIPs, shared by whoever leads). */
  nodeChain: string;
  clusterChain: string;
}

interface Proxier { sync(rules: ServicePortRule[]): Promise<void>; close(): Promise<void> }

const only = (rules: ServicePortRule[], keep: (f: Frontend) => boolean): ServicePortRule[] =>
  rules.map((r) => ({ ...r, frontends: r.frontends.filter(keep) })).filter((r) => r.frontends.length > 0);

export class KubeProxy {
  readonly metrics = new ProxyMetrics();
  leading = false;
  private readonly services: Informer;
  private readonly endpoints: Informer;
  private readonly nodeProxier: Proxier;
  private clusterProxier?: Proxier;
  private syncing?: Promise<void>;
  private dirty = false;
  private warnedNoNetAdmin = false;
  /** After a failed bind, the next try comes soon and then less often (250 ms doubling to 5 s). */
  private bindRetryMs = 250;

  constructor(private readonly o: KubeProxyOptions) {
    this.services = new Informer(o.client, SERVICES, { logger: o.logger.child({ informer: 'services' }) });
    this.endpoints = new Informer(o.client, ENDPOINTS, { logger: o.logger.child({ informer: 'endpoints' }) });
    this.nodeProxier = this.newProxier(o.nodeChain);
    const changed = () => this.requestSync();
    for (const inf of [this.services, this.endpoints]) inf.addHandlers({ onAdd: changed, onUpdate: changed, onDelete: changed });
  }

  private newProxier(chainPrefix: string): Proxier {
    return this.o.mode === 'iptables'
      ? new IptablesProxier({ logger: this.o.logger.child({ proxier: chainPrefix }), chainPrefix })
      : new UserspaceProxier({ logger: this.o.logger, metrics: this.metrics });
  }

  /** Runs until `signal`: informers, then a sync after every change (coalesced). */
  async run(signal: AbortSignal): Promise<void> {
    if (hasNetAdmin()) await ensureServiceNetwork({ cidr: this.o.serviceCIDR, iface: this.o.iface });
    void this.services.run(signal);
    void this.endpoints.run(signal);
    await Promise.all([this.services.waitForSync(signal), this.endpoints.waitForSync(signal)]);
    this.requestSync();
    // A periodic resync as well (kube-proxy's syncPeriod): retries binds that failed and repairs
    // addresses or rules someone else removed.
    const resync = setInterval(() => this.requestSync(), 5000);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    clearInterval(resync);
    await this.syncing?.catch(() => {});
    await this.nodeProxier.close();
    await this.clusterProxier?.close();
  }

  /** Called with the cluster-IP lease held: serve ClusterIPs and LoadBalancer addresses until `signal`. */
  async lead(signal: AbortSignal): Promise<void> {
    this.leading = true;
    if (this.o.mode === 'iptables') this.clusterProxier = this.newProxier(this.o.clusterChain);
    this.requestSync();
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    // Lost the lease: stop serving. iptables rules stay for the next leader, who rewrites the same
    // chains (removing them here could remove what the new leader just wrote).
    this.leading = false;
    this.clusterProxier = undefined;
    this.requestSync();
  }

  /** One sync at a time; changes meanwhile make one more. */
  requestSync(): void {
    if (this.syncing) { this.dirty = true; return; }
    this.syncing = (async () => {
      do {
        this.dirty = false;
        try { await this.sync(); } catch (err) { this.o.logger.error({ err }, 'sync failed; retrying on the next change or in 1 s'); setTimeout(() => this.requestSync(), 1000).unref(); }
      } while (this.dirty);
      this.syncing = undefined;
    })();
  }

  private async sync(): Promise<void> {
    const services = this.services.list() as KubeObject[];
    const rules = buildRules(services, this.endpoints.list() as KubeObject[], { nodeIP: this.o.nodeIP, serveClusterIPs: this.leading, loadBalancerIPs: this.leading });
    if (this.leading) await this.syncAddresses(services);
    if (this.o.mode === 'userspace') {
      const proxier = this.nodeProxier as UserspaceProxier;
      await proxier.sync(rules);
      // A frontend still bound by another process (the previous leader handing over the ClusterIPs)
      // is retried soon, not only at the next 5 s resync.
      if (proxier.failingFrontends === 0) this.bindRetryMs = 250;
      else {
        setTimeout(() => this.requestSync(), this.bindRetryMs).unref();
        this.bindRetryMs = Math.min(this.bindRetryMs * 2, 5000);
      }
      return;
    }
    const nodeRules = only(rules, (f) => f.kind === 'NodePort');
    await this.nodeProxier.sync(nodeRules);
    const clusterRules = only(rules, (f) => f.kind !== 'NodePort');
    if (this.clusterProxier) await this.clusterProxier.sync(clusterRules);
    // The kernel forwards, so the per-service counts come from its rule counters (one read for both).
    const saved = await savedCounters();
    this.readKernelCounts(this.nodeProxier as IptablesProxier, nodeRules, this.o.nodeChain, saved);
    if (this.clusterProxier) this.readKernelCounts(this.clusterProxier as IptablesProxier, clusterRules, this.o.clusterChain, saved);
  }

  private readKernelCounts(proxier: IptablesProxier, rules: ServicePortRule[], source: string, saved: string): void {
    const counts = proxier.counters(rules, saved);
    for (const r of rules) {
      const c = counts.get(r.key);
      if (c) this.metrics.kernelCounts({ service: r.service, port: r.portName, protocol: r.protocol }, c, source);
    }
  }

  /** Every ClusterIP of the cluster as a /32 on the service interface, and no stale ones. */
  private async syncAddresses(services: KubeObject[]): Promise<void> {
    if (!hasNetAdmin()) {
      if (!this.warnedNoNetAdmin) this.o.logger.warn('no CAP_NET_ADMIN: ClusterIPs cannot be added to the service interface, so they are not reachable; NodePorts and LoadBalancer addresses still work');
      this.warnedNoNetAdmin = true;
      return;
    }
    const want = new Set(services.map((s) => s.spec?.clusterIP).filter((ip): ip is string => Boolean(ip) && ip !== 'None' && inCidr(ip, this.o.serviceCIDR)));
    const have = new Set((await listServiceAddresses(this.o.iface)).filter((ip) => inCidr(ip, this.o.serviceCIDR)));
    for (const ip of want) if (!have.has(ip)) await addServiceAddress(ip, this.o.iface);
    for (const ip of have) if (!want.has(ip)) await removeServiceAddress(ip, this.o.iface);
  }
}
