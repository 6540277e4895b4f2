// What every component process shares: how it finds the apiserver (flags or a kubeconfig), its
// health and metrics server on loopback, and stopping on SIGTERM/SIGINT.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readKubeconfig, type ClientTls, type Transport } from '../client/index.ts';
import { trackSockets } from './close-server.ts';
import { applyHttpLimits, HTTP_SERVER_OPTIONS } from './http-limits.ts';
import type { Logger } from './logger.ts';
import { METRICS_CONTENT_TYPE } from './metrics.ts';

/** The parseArgs options for reaching the apiserver. */
export const API_FLAGS = {
  server: { type: 'string' }, kubeconfig: { type: 'string' }, transport: { type: 'string', default: 'grpc' }, token: { type: 'string' },
  'token-file': { type: 'string' },
  // TLS to the apiserver, kubectl's flag names: the CA that verifies it, and this component's client certificate.
  'certificate-authority': { type: 'string' }, 'client-certificate': { type: 'string' }, 'client-key': { type: 'string' },
} as const;

export interface ApiConnection { server: string; token?: string; transport: Transport; tls?: ClientTls }

type ConnectionFlags = { server?: string; kubeconfig?: string; transport?: string; token?: string; 'token-file'?: string; 'certificate-authority'?: string; 'client-certificate'?: string; 'client-key'?: string };

/** --certificate-authority, --client-certificate and --client-key read; problems go to `errors`. */
export function tlsFlags(values: ConnectionFlags, errors: string[]): ClientTls | undefined {
  const read = (flag: 'certificate-authority' | 'client-certificate' | 'client-key') => {
    const file = values[flag];
    if (!file) return undefined;
    try { return fs.readFileSync(file, 'utf8'); } catch (err) { errors.push(`--${flag}: ${(err as Error).message}`); return undefined; }
  };
  const tls: ClientTls = { ca: read('certificate-authority'), cert: read('client-certificate'), key: read('client-key') };
  if (!!values['client-certificate'] !== !!values['client-key']) errors.push('--client-certificate and --client-key go together');
  return tls.ca || tls.cert ? tls : undefined;
}

/** --server (or the kubeconfig's server) and --transport, checked; problems go to `errors`. */
export function apiConnection(values: ConnectionFlags, errors: string[]): ApiConnection {
  let server = values.server;
  let token = values.token;
  let tls = tlsFlags(values, errors);
  if (!token && values['token-file']) {
    try { token = readTokenFile(values['token-file']); } catch (err) { errors.push(`--token-file: ${(err as Error).message}`); }
  }
  if (!server && values.kubeconfig) {
    try { ({ server, token = token, tls = tls } = readKubeconfig(values.kubeconfig)); } catch (err) { errors.push(`--kubeconfig: ${(err as Error).message}`); }
  }
  if (!server && !values.kubeconfig) errors.push('--server or --kubeconfig is required');
  const transport = (values.transport ?? 'grpc') as Transport;
  if (transport !== 'grpc' && transport !== 'http') errors.push(`--transport: want grpc or http, got ${transport}`);
  return { server: server ?? '', token, transport, ...(tls ? { tls } : {}) };
}

/** --token-file: a bearer token kept in a file (mode 0600), so it is not on the command line for `ps` to show. */
export function readTokenFile(file: string): string {
  const token = fs.readFileSync(file, 'utf8').trim();
  if (!token) throw new Error(`${file} is empty`);
  return token;
}

/** A port flag: a whole number 0–65535 (0 picks a free one). */
export function portFlag(name: string, v: string | undefined, errors: string[]): number {
  const n = Number(v);
  if (!/^\d+$/.test(v ?? '') || n > 65535) errors.push(`--${name}: not a port: ${v}`);
  return n;
}

export interface HealthOptions {
  port: number;
  logger: Logger;
  host?: string;
  /** Prometheus text for /metrics (prom-client's `registry.metrics()` is async). */
  metrics?: () => string | Promise<string>;
  /** /readyz answers 503 until this is true (default: always ready). */
  ready?: () => boolean;
}

/** /healthz, /livez, /readyz and /metrics. A port it cannot bind ends the process: a component without its health endpoint looks dead to `kubemu up`. */
export function serveHealth(o: HealthOptions): http.Server {
  const text = (res: http.ServerResponse, code: number, body: string, type = 'text/plain') => res.writeHead(code, { 'Content-Type': type }).end(body);
  const server = applyHttpLimits(trackSockets(http.createServer(HTTP_SERVER_OPTIONS, (req, res) => {
    const url = (req.url ?? '').split('?')[0];
    if (url === '/metrics') {
      Promise.resolve().then(() => o.metrics?.() ?? '').then((body) => text(res, 200, body, METRICS_CONTENT_TYPE), (err) => {
        o.logger.error({ err: String(err) }, 'metrics failed');
        text(res, 500, 'metrics failed');
      });
      return;
    }
    if (url === '/readyz') { const ok = o.ready?.() ?? true; return text(res, ok ? 200 : 503, ok ? 'ok' : 'not ready'); }
    if (url === '/healthz' || url === '/livez') return text(res, 200, 'ok');
    return text(res, 404, 'not found');
  })));
  server.on('error', (err) => { o.logger.error({ err: err.message, port: o.port }, 'health server failed'); process.exit(1); });
  server.listen(o.port, o.host ?? '127.0.0.1', () => o.logger.info({ port: (server.address() as AddressInfo).port }, 'health server listening'));
  return server;
}

/** An AbortController aborted on SIGTERM or SIGINT (logged), after `onStop` ran. */
export function stopOnSignals(logger: Logger, onStop?: () => void): AbortController {
  const stop = new AbortController();
  const shutdown = (signal: string) => { logger.info({ signal }, 'shutting down'); onStop?.(); stop.abort(); };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  return stop;
}

/** The usage line every component shares. */
export const API_USAGE = '(--server URL|HOST:PORT | --kubeconfig FILE) [--transport grpc|http] [--token-file FILE | --token T]\n    [--certificate-authority CA.crt] [--client-certificate FILE.crt --client-key FILE.key]';

/** parseArgs that answers an unknown or malformed flag with its message and the usage (exit 2), not a stack trace. */
export function parseFlags<T extends ParseArgsConfig['options']>(options: T, usage: string, args?: string[]) {
  try {
    return parseArgs({ options, strict: true, allowPositionals: false, args });
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    process.exit(2);
  }
}

/**
 * Go's boolean flags as Kubernetes' components take them: `--name`, `--name=true`, `--name=false`. Each of `names`
 * is rewritten to `--name=true|false` for a string-typed parseArgs option; read it back with goBool().
 */
export function goBoolArgs(args: string[], names: string[]): string[] {
  return args.map((a) => (names.some((n) => a === `--${n}`) ? `${a}=true` : a));
}

/** A flag rewritten by goBoolArgs: true, false, or undefined when not given; anything else goes to `errors`. */
export function goBool(name: string, v: string | undefined, errors: string[]): boolean | undefined {
  if (v === undefined) return undefined;
  if (/^(1|t|T|true|TRUE|True)$/.test(v)) return true;
  if (/^(0|f|F|false|FALSE|False)$/.test(v)) return false;
  errors.push(`--${name}: invalid boolean value ${JSON.stringify(v)}`);
  return undefined;
}
