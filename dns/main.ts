// kubemu cluster DNS: flags → client → informers on Services and Endpoints (all namespaces) →
// DnsServer answering from their caches (no apiserver call per query); names outside the
// domain go to --upstream (default: the nameservers of this process's resolv.conf, minus
// ourselves), `--upstream none` answers them SERVFAIL. Serves /healthz,
// /readyz (200 once the caches have synced) and /metrics on 127.0.0.1:--port.
// Runs until SIGTERM/SIGINT.
import fs from 'node:fs';
import net from 'node:net';
import type { ResourceKey } from '../client/api-client.ts';
import { createApiClient, Informer } from '../client/index.ts';
import { closeServer } from '../lib/close-server.ts';
import { parseFlags, API_FLAGS, API_USAGE, apiConnection, portFlag, serveHealth, stopOnSignals } from '../lib/component.ts';
import { createLogger } from '../lib/logger.ts';
import { gaugeAtScrape } from '../lib/metrics.ts';
import { Forwarder, isSelf, parseUpstream, resolvConfNameservers, type Upstream } from './forward.ts';
import { createLookup } from './records.ts';
import { DnsServer } from './server.ts';
import { EDE, RCode } from './wire.ts';

const USAGE = `usage: dns ${API_USAGE}
           [--listen 127.0.0.1:53] [--domain cluster.local] [--port 10254] [--log-level info]
           [--upstream IP[:PORT],…|none] [--resolv-conf /etc/resolv.conf] [--forward-timeout-ms 2000]`;

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
      upstream: { type: 'string', default: '' }, 'resolv-conf': { type: 'string', default: '/etc/resolv.conf' },
      'forward-timeout-ms': { type: 'string', default: '2000' },
  }, USAGE);
  if (values.help) { console.log(USAGE); return; }
  const errors: string[] = [];
  const api = apiConnection(values, errors);
  const listen = parseHostPort(values.listen!);
  if (typeof listen === 'string') errors.push(`--listen: ${listen}`);
  const domain = values.domain!.toLowerCase().replace(/\.$/, '');
  if (!domain.split('.').every((l) => DNS_LABEL.test(l))) errors.push(`--domain: not a DNS domain name: ${JSON.stringify(values.domain)}`);
  const port = portFlag('port', values.port, errors);
  // KUBEMU_DNS_UPSTREAM is the default of every DNS a test run starts (scripts/test.sh sets `none`: CI must not
  // send queries off the machine); an explicit --upstream wins.
  const upstreamFlag = (values.upstream!.trim() || process.env.KUBEMU_DNS_UPSTREAM || '').trim();
  const explicit: Upstream[] = [];
  if (upstreamFlag && upstreamFlag !== 'none') {
    for (const part of upstreamFlag.split(',')) {
      const u = parseUpstream(part.trim());
      if (typeof u === 'string') errors.push(`--upstream: ${u}`); else explicit.push(u);
    }
  }
  const forwardTimeoutMs = Number(values['forward-timeout-ms']);
  if (!Number.isInteger(forwardTimeoutMs) || forwardTimeoutMs < 100 || forwardTimeoutMs > 30_000) errors.push(`--forward-timeout-ms: want 100–30000, got ${values['forward-timeout-ms']}`);
  if (errors.length) { console.error(`${errors.join('\n')}\n${USAGE}`); process.exit(2); }
  const { host, port: dnsPort } = listen as { host: string; port: number };

  const logger = createLogger('dns', { level: values['log-level'] });
  const upstreams = upstreamFlag === 'none' ? [] : explicit.length ? explicit : fromResolvConf(values['resolv-conf']!, logger);
  const self = { host, port: dnsPort };
  const usable = upstreams.filter((u) => {
    if (!isSelf(u, self)) return true;
    logger.warn({ upstream: `${u.host}:${u.port}` }, 'dns: not forwarding to ourselves');
    return false;
  });
  const forwarder = new Forwarder({ upstreams: usable, logger, attemptTimeoutMs: forwardTimeoutMs });
  if (usable.length) logger.info({ upstreams: usable.map((u) => `${u.host}:${u.port}`) }, `names outside ${domain} are forwarded`);
  else logger.warn(`no upstream resolver: names outside ${domain} get SERVFAIL`);
  const client = createApiClient({ ...api, userAgent: 'coredns/kubemu' });
  const services = new Informer(client, SERVICES, { logger: logger.child({ informer: 'services' }) });
  const endpoints = new Informer(client, ENDPOINTS, { logger: logger.child({ informer: 'endpoints' }) });
  const synced = () => services.hasSynced() && endpoints.hasSynced();
  const records = createLookup({ domain, services, endpoints });
  // Before the caches are filled every name would look absent, and NXDOMAIN gets cached by
  // clients: answer SERVFAIL (try again) until then.
  const dns = new DnsServer({ host, port: dnsPort, domain, logger, forwarder,
    lookup: (q) => (synced() ? records(q) : { rcode: RCode.SERVFAIL, ede: { code: EDE.NotReady, text: 'caches not synced yet' } }) });
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
    metrics: () => dns.metricsText(),
  });
  gaugeAtScrape(dns.registry, {
    name: 'dns_cache_objects', help: 'Objects in the informer caches the answers come from.', labelNames: ['resource'],
    read: () => [[{ resource: 'services' }, services.list().length], [{ resource: 'endpoints' }, endpoints.list().length]],
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

/** The resolver this host uses, as its resolv.conf names it (none if it cannot be read). */
function fromResolvConf(file: string, logger: ReturnType<typeof createLogger>): Upstream[] {
  try {
    return resolvConfNameservers(fs.readFileSync(file, 'utf8')).map((host) => ({ host, port: 53 }));
  } catch (err) {
    logger.warn({ file, err: (err as Error).message }, 'dns: cannot read resolv.conf');
    return [];
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
