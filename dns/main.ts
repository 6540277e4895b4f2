// kubemu cluster DNS: flags → client → informers on Services and Endpoints (all namespaces) →
// DnsServer answering from their caches (no apiserver call per query). Serves /healthz,
// /readyz (200 once the caches have synced) and /metrics on 127.0.0.1:--port.
// Runs until SIGTERM/SIGINT.
import net from 'node:net';
import type { ResourceKey } from '../client/api-client.ts';
import { createApiClient, Informer } from '../client/index.ts';
import { closeServer } from '../lib/close-server.ts';
import { parseFlags, API_FLAGS, API_USAGE, apiConnection, portFlag, serveHealth, stopOnSignals } from '../lib/component.ts';
import { createLogger } from '../lib/logger.ts';
import { createLookup } from './records.ts';
import { DnsServer } from './server.ts';
import { RCode } from './wire.ts';

const USAGE = `usage: dns ${API_USAGE}
           [--listen 127.0.0.1:53] [--domain cluster.local] [--port 10254] [--log-level info]`;

const SERVICES: ResourceKey = { group: '', resource: 'services' };
const ENDPOINTS: ResourceKey = { group: '', resource: 'endpoints' };
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** "HOST:PORT" or "[V6]:PORT" → parts, or an error message. */
function parseHostPort(s: string): { host: string; port: number } | string {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m) return `want HOST:PORT, got ${JSON.stringify(s)}`;
  const port = Number(m[2]);
  if (!net.isIP(m[1])) return `host must be an IP address, got ${JSON.stringify(m[1])}`;
  if (port > 65535) return `not a port: ${m[2]}`;
  return { host: m[1], port };
}

async function main(): Promise<void> {
  const { values } = parseFlags({
      ...API_FLAGS, listen: { type: 'string', default: '127.0.0.1:53' }, domain: { type: 'string', default: 'cluster.local' },
      port: { type: 'string', default: '10254' }, 'log-level': { type: 'string', default: 'info' }, help: { type: 'boolean' },
  }, USAGE);
  if (values.help) { console.log(USAGE); return; }
  const errors: string[] = [];
  const api = apiConnection(values, errors);
  const listen = parseHostPort(values.listen!);
  if (typeof listen === 'string') errors.push(`--listen: ${listen}`);
  const domain = values.domain!.toLowerCase().replace(/\.$/, '');
  if (!domain.split('.').every((l) => DNS_LABEL.test(l))) errors.push(`--domain: not a DNS domain name: ${JSON.stringify(values.domain)}`);
  const port = portFlag('port', values.port, errors);
  if (errors.length) { console.error(`${errors.join('\n')}\n${USAGE}`); process.exit(2); }
  const { host, port: dnsPort } = listen as { host: string; port: number };

  const logger = createLogger('dns', { level: values['log-level'] });
  const client = createApiClient(api);
  const services = new Informer(client, SERVICES, { logger: logger.child({ informer: 'services' }) });
  const endpoints = new Informer(client, ENDPOINTS, { logger: logger.child({ informer: 'endpoints' }) });
  const synced = () => services.hasSynced() && endpoints.hasSynced();
  const records = createLookup({ domain, services, endpoints });
  // Before the caches are filled every name would look absent, and NXDOMAIN gets cached by
  // clients: answer SERVFAIL (try again) until then.
  const dns = new DnsServer({ host, port: dnsPort, domain, logger, lookup: (q) => (synced() ? records(q) : { rcode: RCode.SERVFAIL }) });
  try {
    await dns.listen();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint = e.code === 'EACCES' ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE; try --listen 127.0.0.1:1053)' : '';
    logger.error({ err: e.message }, `cannot listen on ${values.listen}${hint}`);
    console.error(`dns: cannot listen on ${values.listen}: ${e.message}${hint}`);
    process.exit(1);
  }

  // /readyz: 503 until the caches have synced.
  const health = serveHealth({
    port, logger, ready: synced,
    metrics: () => dns.metricsText() +
      `# TYPE dns_cache_objects gauge\ndns_cache_objects{resource="services"} ${services.list().length}\n` +
      `dns_cache_objects{resource="endpoints"} ${endpoints.list().length}\n`,
  });
  const stop = stopOnSignals(logger);

  const running = [services.run(stop.signal), endpoints.run(stop.signal)];
  Promise.all([services.waitForSync(stop.signal), endpoints.waitForSync(stop.signal)])
    .then(() => logger.info({ services: services.list().length, endpoints: endpoints.list().length }, 'caches synced: serving'))
    .catch(() => { /* stopped before sync */ });
  await Promise.all(running);
  await Promise.all([dns.close(), closeServer(health)]);
  await client.close();
  logger.info('stopped');
}

main().catch((err) => { console.error(err); process.exit(1); });
