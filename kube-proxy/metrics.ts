// Per-service-port proxy metrics in Prometheus text format. "In" is client → backend, "out" is
// backend → client. A UDP flow counts as a connection.

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

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (l: ServiceLabels) => `service="${escape(l.service)}",port="${escape(l.port)}",protocol="${l.protocol}"`;

export class ProxyMetrics {
  private readonly series = new Map<string, Series>();

  private of(l: ServiceLabels): Series {
    const key = labelText(l);
    let s = this.series.get(key);
    if (!s) this.series.set(key, s = { connections: 0, active: 0, bytesIn: 0, bytesOut: 0, errors: new Map() });
    return s;
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
    const key = `${source}|${labelText(l)}`;
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

  render(): string {
    const all = [...this.series];
    const metric = (name: string, type: string, help: string, pick: (s: Series) => number) => [
      `# HELP ${name} ${help}`,
      `# TYPE ${name} ${type}`,
      ...all.map(([k, s]) => `${name}{${k}} ${pick(s)}`),
    ];
    return [
      ...metric('kubeproxy_service_connections_total', 'counter', 'Connections (TCP) and flows (UDP) accepted.', (s) => s.connections),
      ...metric('kubeproxy_service_active_connections', 'gauge', 'Connections and flows open now.', (s) => s.active),
      ...metric('kubeproxy_service_bytes_in_total', 'counter', 'Bytes from clients to backends.', (s) => s.bytesIn),
      ...metric('kubeproxy_service_bytes_out_total', 'counter', 'Bytes from backends to clients.', (s) => s.bytesOut),
      '# HELP kubeproxy_service_errors_total Backend connect failures, rejected clients, upstream errors.',
      '# TYPE kubeproxy_service_errors_total counter',
      ...all.flatMap(([k, s]) => [...s.errors].map(([reason, n]) => `kubeproxy_service_errors_total{${k},reason="${reason}"} ${n}`)),
    ].join('\n') + '\n';
  }
}
