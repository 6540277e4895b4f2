// HTTP transport of the apiserver. Placeholder seam: health endpoints answer, every other
// route answers a 503 Status until the REST router lands (API machinery, part 4).
import http from 'node:http';
import type { Registry } from '../registry/types.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { Logger } from '../../lib/logger.ts';

export interface HttpServerOptions {
  registry: Registry;
  authenticator: Authenticator;
  logger: Logger;
  maxBodyBytes?: number;
}

export function createHttpServer(opts: HttpServerOptions): http.Server {
  if (!opts?.registry || !opts.authenticator || !opts.logger) throw new TypeError('createHttpServer: registry, authenticator and logger are required');
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return;
    }
    const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
      message: 'the REST API is not implemented yet', reason: 'ServiceUnavailable', code: 503 };
    res.writeHead(503, { 'Content-Type': 'application/json' }).end(JSON.stringify(status));
  });
}
