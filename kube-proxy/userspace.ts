// kube-proxy's userspace mode: a listener on every frontend (ClusterIP, NodePort, LB ingress)
// of every rule that has backends, forwarding through one balancer per rule. sync(rules) is the
// whole interface: idempotent, it diffs against what is open. A rule without backends has no
// listener at all, so clients get "connection refused" at once instead of a hang. Bind errors
// are logged and retried on the next sync. Calls are serialized: "coarse locking is simple".
import type { Logger } from '../lib/logger.ts';
import { Balancer } from './balancer.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { Frontend, ServicePortRule } from './service-map.ts';
import { TcpProxy } from './tcp-proxy.ts';
import { UdpProxy } from './udp-proxy.ts';

export interface UserspaceProxierOptions {
  logger: Logger;
  metrics: ProxyMetrics;
  /** Idle timeout of UDP flows (default 30 s). */
  udpIdleMs?: number;
  /** Per-backend TCP connect timeout before trying the next one (default 3 s). */
  connectTimeoutMs?: number;
}

type Listener = TcpProxy | UdpProxy;

interface Open { ruleKey: string; listener: Listener }

const frontendKey = (protocol: string, f: Frontend) => `${protocol}/${f.ip}:${f.port}`;

export class UserspaceProxier {
  private readonly balancers = new Map<string, Balancer>();
  /** By frontendKey. */
  private readonly open = new Map<string, Open>();
  /** Closed TCP listeners whose connections are finishing; ended for good by close(). */
  private readonly draining = new Set<TcpProxy>();
  /** Frontends whose bind failed: warned once, then retried quietly on each sync. */
  private readonly failing = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly opts: UserspaceProxierOptions) {
    if (!opts?.logger || !opts.metrics) throw new Error('UserspaceProxier: logger and metrics are required');
  }

  /** How many frontends the last sync could not bind (another process still holds the address). */
  get failingFrontends(): number { return this.failing.size; }

  sync(rules: ServicePortRule[]): Promise<void> {
    const run = this.queue.then(() => this.apply(rules));
    this.queue = run.catch(() => {});
    return run;
  }

  /** Close every listener and connection; the proxier is done afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const all = [...[...this.open.values()].map((o) => o.listener), ...this.draining];
    this.open.clear();
    this.draining.clear();
    await Promise.all(all.map((l) => l.close({ destroy: true })));
  }

  private async apply(rules: ServicePortRule[]): Promise<void> {
    if (this.closed) return;
    const { logger } = this.opts;

    // Balancers first, so listeners that stay see the new backends for their next connection.
    const wanted = new Map<string, { rule: ServicePortRule; frontend: Frontend }>();
    const ruleKeys = new Set<string>();
    for (const rule of rules) {
      ruleKeys.add(rule.key);
      let balancer = this.balancers.get(rule.key);
      if (!balancer) this.balancers.set(rule.key, balancer = new Balancer());
      balancer.update(rule.backends, rule.affinity);
      if (rule.backends.length === 0) continue;
      for (const frontend of rule.frontends) {
        const fk = frontendKey(rule.protocol, frontend);
        const other = wanted.get(fk);
        if (other) logger.warn({ frontend: fk, rule: rule.key, owner: other.rule.key }, 'frontend claimed by two service ports; first one wins');
        else wanted.set(fk, { rule, frontend });
      }
    }
    for (const key of this.balancers.keys()) if (!ruleKeys.has(key)) this.balancers.delete(key);

    // Close listeners no longer wanted (or now serving another rule). TCP connections drain.
    const closing: Promise<void>[] = [];
    for (const [fk, o] of this.open) {
      if (wanted.get(fk)?.rule.key === o.ruleKey) continue;
      this.open.delete(fk);
      if (o.listener instanceof TcpProxy) this.draining.add(o.listener);
      closing.push(o.listener.close());
      logger.info({ frontend: fk, rule: o.ruleKey }, 'listener closed');
    }
    await Promise.all(closing);
    for (const o of this.open.values()) if (o.listener instanceof UdpProxy) o.listener.dropStaleFlows();
    for (const l of this.draining) if (l.idle) this.draining.delete(l);
    for (const fk of this.failing) if (!wanted.has(fk)) this.failing.delete(fk);

    // Open the missing ones.
    const opening = [...wanted].filter(([fk]) => !this.open.has(fk)).map(([fk, w]) => this.listen(fk, w.rule, w.frontend));
    await Promise.all(opening);
  }

  private async listen(fk: string, rule: ServicePortRule, frontend: Frontend): Promise<void> {
    const { logger, metrics } = this.opts;
    const common = {
      frontend,
      balancer: this.balancers.get(rule.key)!,
      labels: { service: rule.service, port: rule.portName, protocol: rule.protocol },
      metrics,
      logger: logger.child({ rule: rule.key, frontend: fk }),
    };
    const listener: Listener = rule.protocol === 'UDP'
      ? new UdpProxy({ ...common, idleMs: this.opts.udpIdleMs })
      : new TcpProxy({ ...common, connectTimeoutMs: this.opts.connectTimeoutMs });
    try {
      await listener.listen();
    } catch (err) {
      // EADDRINUSE, EADDRNOTAVAIL (ClusterIP not on an interface yet)…: the next sync retries.
      const fields = { err, frontend: fk, rule: rule.key };
      if (this.failing.has(fk)) logger.debug(fields, 'listen failed again; will retry');
      else logger.warn(fields, 'listen failed; will retry on the next sync');
      this.failing.add(fk);
      return;
    }
    this.failing.delete(fk);
    this.open.set(fk, { ruleKey: rule.key, listener });
    logger.info({ frontend: fk, rule: rule.key, kind: frontend.kind }, 'listener opened');
  }
}
