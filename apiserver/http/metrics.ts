// Request metrics: counts and latency by verb, resource and code, and the number of open watches.
import { Counter, Summary } from 'prom-client';
import { gaugeAtScrape, Registry } from '../../lib/metrics.ts';

export class RequestMetrics {
  /** This apiserver's own registry: several apiservers in one test process keep apart. */
  readonly registry = new Registry();
  watches = 0;
  private readonly requests = new Counter({
    name: 'apiserver_request_total', help: 'Requests by verb, resource and HTTP code.',
    labelNames: ['verb', 'resource', 'code'], registers: [this.registry],
  });
  // A summary of sum and count only: no quantiles, as before.
  private readonly latency = new Summary({
    name: 'apiserver_request_duration_seconds', help: 'Request latency.',
    labelNames: ['verb', 'resource'], percentiles: [], registers: [this.registry],
  });

  constructor() {
    gaugeAtScrape(this.registry, { name: 'apiserver_longrunning_requests', help: 'Open watch streams.', labelNames: ['verb'], read: () => [[{ verb: 'WATCH' }, this.watches]] });
  }

  observe(verb: string, resource: string, code: number, ms: number): void {
    this.requests.inc({ verb, resource, code: String(code) });
    this.latency.observe({ verb, resource }, ms / 1000);
  }

  /** Prometheus text. */
  render(): Promise<string> { return this.registry.metrics(); }
}
