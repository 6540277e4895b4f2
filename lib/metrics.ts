// Prometheus metrics through prom-client. Each component (or object) owns a Registry, never the
// global default one, so several components in one test process keep their series apart. Most
// counts live in the components' own stats objects (tests and benchmarks read them): these
// helpers publish such values at scrape time instead of counting twice.
import { Counter, Gauge, Registry } from 'prom-client';

export { Registry };

/** The content type of the text format `registry.metrics()` produces. */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

export type Labels = Record<string, string>;
/** A value without labels, or one value per label set (in the order they appear). */
type Reading = number | Iterable<readonly [Labels, number]>;

interface ScrapeTime { name: string; help: string; labelNames?: readonly string[]; read: () => Reading }

const each = (r: Reading, put: (labels: Labels, v: number) => void) => {
  if (typeof r === 'number') put({}, r);
  else for (const [labels, v] of r) put(labels, v);
};

/** A counter whose value something else keeps, read when scraped. */
export function counterAtScrape(registry: Registry, m: ScrapeTime): Counter {
  return new Counter({
    name: m.name, help: m.help, labelNames: m.labelNames ?? [], registers: [registry],
    collect() { this.reset(); each(m.read(), (labels, v) => this.inc(labels, v)); },
  });
}

/** A gauge computed when scraped. */
export function gaugeAtScrape(registry: Registry, m: ScrapeTime): Gauge {
  return new Gauge({
    name: m.name, help: m.help, labelNames: m.labelNames ?? [], registers: [registry],
    collect() { this.reset(); each(m.read(), (labels, v) => this.set(labels, v)); },
  });
}

/** leader_election_master_status: 1 while this process holds its leader lease. */
export function leaderGauge(registry: Registry, leading: () => boolean): Gauge {
  return gaugeAtScrape(registry, { name: 'leader_election_master_status', help: 'Whether this process holds the leader lease (1) or not (0).', read: () => (leading() ? 1 : 0) });
}
