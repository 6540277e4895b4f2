// Per-service-port proxy metrics. "In" is client → backend, "out" is backend → client. A UDP
// flow counts as a connection. The counts live here (get() gives tests and benchmarks a
// snapshot); prom-client reads them when /metrics is scraped.
import { counterAtScrape, gaugeAtScrape, Registry, type Labels } from '../lib/metrics.ts';

export interface ServiceLabels { service: string; port: string; protocol: 'TCP' | 'UDP' }

/**
 * Why a connection or flow went wrong: `connect_failed` a backend refused or could not be
 * reached (another one is tried), `rejected` the client was turned away (no backend left),
 * `upstream_error` an established backend connection or flow failed.
 */
export type ErrorReason = 'connect_failed' | 'rejected' | 'upstream_error';

interface Series {
  connections: number;
  active: number;
  bytesIn: number;
  bytesOut: number;
  errors: Map<ErrorReason, number>;
}

const LABEL_NAMES = ['service', 'port', 'protocol'] as const;
const keyOf = (l: ServiceLabels) => `${l.service}\0${l.port}\0${l.protocol}`;

export class ProxyMetrics {
  /** This proxy's own registry: several proxies in one test process keep apart. */
  readonly registry = new Registry();
  private readonly series = new Map<string, { labels: Labels; s: Series }>();

  constructor() {
    const all = (pick: (s: Series) => number) => () => [...this.series.values()].map(({ labels, s }) => [labels, pick(s)] as const);
    counterAtScrape(this.registry, { name: 'kubeproxy_service_connections_total', help: 'Connections (TCP) and flows (UDP) accepted.', labelNames: LABEL_NAMES, read: all((s) => s.connections) });
    gaugeAtScrape(this.registry, { name: 'kubeproxy_service_active_connections', help: 'Connections and flows open now.', labelNames: LABEL_NAMES, read: all((s) => s.active) });
    counterAtScrape(this.registry, { name: 'kubeproxy_service_bytes_in_total', help: 'Bytes from clients to backends.', labelNames: LABEL_NAMES, read: all((s) => s.bytesIn) });
    counterAtScrape(this.registry, { name: 'kubeproxy_service_bytes_out_total', help: 'Bytes from backends to clients.', labelNames: LABEL_NAMES, read: all((s) => s.bytesOut) });
    counterAtScrape(this.registry, {
      name: 'kubeproxy_service_errors_total', help: 'Backend connect failures, rejected clients, upstream errors.', labelNames: [...LABEL_NAMES, 'reason'],
      read: () => [...this.series.values()].flatMap(({ labels, s }) => [...s.errors].map(([reason, n]) => [{ ...labels, reason }, n] as const)),
    });
  }

  private of(l: ServiceLabels): Series {
    const key = keyOf(l);
    let e = this.series.get(key);
    if (!e) this.series.set(key, e = { labels: { service: l.service, port: l.port, protocol: l.protocol }, s: { connections: 0, active: 0, bytesIn: 0, bytesOut: 0, errors: new Map() } });
    return e.s;
  }

  connectionOpened(l: ServiceLabels): void { const s = this.of(l); s.connections++; s.active++; }
  connectionClosed(l: ServiceLabels): void { this.of(l).active--; }
  bytesIn(l: ServiceLabels, n: number): void { this.of(l).bytesIn += n; }
  bytesOut(l: ServiceLabels, n: number): void { this.of(l).bytesOut += n; }
  error(l: ServiceLabels, reason: ErrorReason): void {
    const e = this.of(l).errors;
    e.set(reason, (e.get(reason) ?? 0) + 1);
  }

  private readonly kernelSeen = new Map<string, { connections: number; rejected: number }>();

  /**
   * Counts the kernel keeps (iptables mode), per source of rules (one per chain prefix): added as they
   * grow. A count that went down belongs to a rewritten rule, which started again from 0.
   */
  kernelCounts(l: ServiceLabels, now: { connections: number; rejected: number }, source = ''): void {
    const key = `${source}|${keyOf(l)}`;
    const last = this.kernelSeen.get(key) ?? { connections: 0, rejected: 0 };
    const grown = (cur: number, prev: number) => (cur >= prev ? cur - prev : cur);
    const s = this.of(l);
    s.connections += grown(now.connections, last.connections);
    const rejected = grown(now.rejected, last.rejected);
    if (rejected) s.errors.set('rejected', (s.errors.get('rejected') ?? 0) + rejected);
    this.kernelSeen.set(key, now);
  }

  /** A snapshot for tests and benchmarks. */
  get(l: ServiceLabels): Readonly<Omit<Series, 'errors'>> & { errors: Partial<Record<ErrorReason, number>> } {
    const s = this.of(l);
    return { ...s, errors: Object.fromEntries(s.errors) };
  }

  /** Prometheus text. */
  render(): Promise<string> { return this.registry.metrics(); }
}
