// kubemu cluster DNS: flags → client → informers on Services and Endpoints (all namespaces) →
// DnsServer answering from their caches (no apiserver call per query). Serves /healthz,
// /readyz (200 once the caches have synced) and /metrics on 127.0.0.1:--port.
// Runs until SIGTERM/SIGINT.
import http from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';
import type { ResourceKey } from '../client/api-client.ts';
import { createApiClient, Informer, readKubeconfig, type Transport } from '../client/index.ts';
import { closeServer, trackSockets } from '../lib/close-server.ts';
import { createLogger } from '../lib/logger.ts';
import { createLookup } from './records.ts';
import { DnsServer } from './server.ts';
import { RCode } from './wire.ts';

const USAGE = `usage: dns (--server URL|HOST:PORT | --kubeconfig FILE) [--transport grpc|http] [--token T]
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
  const { values } = parseArgs({
    options: {
      server: { type: 'string' }, kubeconfig: { type: 'string' }, transport: { type: 'string', default: 'grpc' },
      token: { type: 'string' }, listen: { type: 'string', default: '127.0.0.1:53' }, domain: { type: 'string', default: 'cluster.local' },
      port: { type: 'string', default: '10254' }, 'log-level': { type: 'string', default: 'info' }, help: { type: 'boolean' },
    },
  });
  if (values.help) { console.log(USAGE); return; }
  const transport = values.transport as Transport;
  let server = values.server;
  let token = values.token;
  const errors: string[] = [];
  if (!server && values.kubeconfig) {
    try { ({ server, token = token } = readKubeconfig(values.kubeconfig)); } catch (err) { errors.push(`--kubeconfig: ${(err as Error).message}`); }
  }
  if (!server && !values.kubeconfig) errors.push('--server or --kubeconfig is required');
  if (transport !== 'grpc' && transport !== 'http') errors.push(`--transport: want grpc or http, got ${transport}`);
  const listen = parseHostPort(values.listen!);
  if (typeof listen === 'string') errors.push(`--listen: ${listen}`);
  const domain = values.domain!.toLowerCase().replace(/\.$/, '');
  if (!domain.split('.').every((l) => DNS_LABEL.test(l))) errors.push(`--domain: not a DNS domain name: ${JSON.stringify(values.domain)}`);
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port!) || port > 65535) errors.push(`--port: not a port: ${values.port}`);
  if (errors.length) { console.error(`${errors.join('\n')}\n${USAGE}`); process.exit(2); }
  const { host, port: dnsPort } = listen as { host: string; port: number };

  const logger = createLogger('dns', { level: values['log-level'] });
  const client = createApiClient({ transport, server: server!, token });
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

  const health = trackSockets(http.createServer((req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(dns.metricsText() +
        `# TYPE dns_cache_objects gauge\ndns_cache_objects{resource="services"} ${services.list().length}\n` +
        `dns_cache_objects{resource="endpoints"} ${endpoints.list().length}\n`);
      return;
    }
    if (req.url === '/readyz') { res.writeHead(synced() ? 200 : 503, { 'Content-Type': 'text/plain' }).end(synced() ? 'ok' : 'informers not synced'); return; }
    res.writeHead(req.url === '/healthz' || req.url === '/livez' ? 200 : 404, { 'Content-Type': 'text/plain' }).end(req.url === '/healthz' || req.url === '/livez' ? 'ok' : 'not found');
  }));
  health.on('error', (err) => { logger.error({ err: err.message, port }, 'health server failed'); process.exit(1); });
  health.listen(port, '127.0.0.1', () => logger.info({ port: (health.address() as net.AddressInfo).port }, 'health server listening'));

  const stop = new AbortController();
  const shutdown = (signal: string) => { logger.info({ signal }, 'shutting down'); stop.abort(); };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

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
