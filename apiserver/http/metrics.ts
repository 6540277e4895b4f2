// Request metrics in Prometheus text format: counts and latency by verb, resource and code,
// and the number of open watches.
export class RequestMetrics {
  private readonly counts = new Map<string, number>();
  private readonly latency = new Map<string, { sum: number; count: number }>();
  watches = 0;

  observe(verb: string, resource: string, code: number, ms: number): void {
    const key = `verb="${verb}",resource="${resource}",code="${code}"`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const lk = `verb="${verb}",resource="${resource}"`;
    const l = this.latency.get(lk) ?? { sum: 0, count: 0 };
    l.sum += ms / 1000;
    l.count++;
    this.latency.set(lk, l);
  }

  render(): string {
    const lines = [
      '# HELP apiserver_request_total Requests by verb, resource and HTTP code.',
      '# TYPE apiserver_request_total counter',
      ...[...this.counts].map(([k, v]) => `apiserver_request_total{${k}} ${v}`),
      '# HELP apiserver_request_duration_seconds Request latency.',
      '# TYPE apiserver_request_duration_seconds summary',
      ...[...this.latency].flatMap(([k, v]) => [`apiserver_request_duration_seconds_sum{${k}} ${v.sum.toFixed(6)}`, `apiserver_request_duration_seconds_count{${k}} ${v.count}`]),
      '# HELP apiserver_longrunning_requests Open watch streams.',
      '# TYPE apiserver_longrunning_requests gauge',
      `apiserver_longrunning_requests{verb="WATCH"} ${this.watches}`,
    ];
    return lines.join('\n') + '\n';
  }
}
