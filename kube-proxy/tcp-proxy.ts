// One TCP frontend (ip:port): every accepted connection is spliced to the backend the
// balancer picks. Streams are piped both ways, so back-pressure holds (a slow reader stops
// the other side's reads instead of growing buffers) and a FIN from either side is passed on
// (allowHalfOpen) while the other direction keeps flowing. An error on either side resets both.
import net from 'node:net';
import type { Logger } from '../lib/logger.ts';
import type { Balancer } from './balancer.ts';
import type { ProxyMetrics, ServiceLabels } from './metrics.ts';
import { backendKey, type Frontend } from './service-map.ts';

export interface ListenerOptions {
  frontend: Frontend;
  balancer: Balancer;
  labels: ServiceLabels;
  metrics: ProxyMetrics;
  logger: Logger;
}

export interface TcpProxyOptions extends ListenerOptions {
  /**
   * Give up on a backend that has not answered the SYN by then and try the next one. A dead
   * pod's IP on a local network fails slowly (ARP), not with a refusal.
   */
  connectTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 3000;

/** Reset (RST) a socket unless it is gone already (resetAndDestroy on a closed socket emits an error). */
const reset = (s: net.Socket | undefined) => { if (s && !s.destroyed) s.resetAndDestroy(); };

export class TcpProxy {
  private server: net.Server | undefined;
  /** Client and upstream sockets, so close({ destroy: true }) can end them all. */
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly opts: TcpProxyOptions) {}

  /** Bind the frontend; rejects with the bind error (EADDRINUSE, EADDRNOTAVAIL, EACCES…). */
  listen(): Promise<void> {
    const { ip, port } = this.opts.frontend;
    return new Promise((resolve, reject) => {
      const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.onConnection(s));
      server.once('error', reject);
      server.listen({ host: ip, port }, () => {
        server.off('error', reject);
        // Accept errors (EMFILE…) hit one connection, not the listener: log and carry on.
        server.on('error', (err) => this.opts.logger.warn({ err, frontend: `${ip}:${port}` }, 'accept failed'));
        this.server = server;
        resolve();
      });
    });
  }

  /**
   * Stop listening (the port is free when this returns). Open connections are left to finish
   * unless `destroy`, which also ends those left from an earlier close.
   */
  async close(opts: { destroy?: boolean } = {}): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    if (!opts.destroy) return;
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Closed and no connection left: nothing to keep track of. */
  get idle(): boolean { return !this.server && this.sockets.size === 0; }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  private onConnection(client: net.Socket): void {
    const { balancer, labels, metrics, logger } = this.opts;
    const timeoutMs = this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.track(client);
    metrics.connectionOpened(labels);
    client.once('close', () => metrics.connectionClosed(labels));

    const tried = new Set<string>();
    let dialing: net.Socket | undefined;
    let upstream: net.Socket | undefined;
    client.on('error', (err) => {
      logger.debug({ err, client: client.remoteAddress, rule: labels }, 'client connection error');
      reset(dialing);
      reset(upstream);
    });
    // Only a connection still being dialed is abandoned with the client; an established one
    // may still be flushing the client's last bytes to the backend.
    client.once('close', () => dialing?.destroy());

    const dial = (): void => {
      // Each backend at most once per connection: a refusal moves on to the next one.
      const b = balancer.next(client.remoteAddress, tried);
      if (!b) {
        metrics.error(labels, 'rejected');
        reset(client);
        return;
      }
      tried.add(backendKey(b));
      const up = net.connect({ host: b.ip, port: b.port, allowHalfOpen: true, noDelay: true, timeout: timeoutMs });
      dialing = up;
      this.track(up);
      const onTimeout = () => up.destroy(Object.assign(new Error(`connect to ${b.ip}:${b.port} timed out`), { code: 'ETIMEDOUT' }));
      const onDialError = (err: Error) => {
        dialing = undefined;
        metrics.error(labels, 'connect_failed');
        logger.debug({ err, backend: backendKey(b), rule: labels }, 'backend connect failed');
        if (!client.destroyed) dial();
      };
      up.once('timeout', onTimeout);
      up.once('error', onDialError);
      up.once('connect', () => {
        up.setTimeout(0);
        up.off('timeout', onTimeout);
        up.off('error', onDialError);
        dialing = undefined;
        upstream = up;
        up.on('error', (err) => {
          metrics.error(labels, 'upstream_error');
          logger.debug({ err, backend: backendKey(b), rule: labels }, 'backend connection error');
          reset(client);
        });
        client.pipe(up);
        up.pipe(client);
        client.on('data', (chunk: Buffer) => metrics.bytesIn(labels, chunk.length));
        up.on('data', (chunk: Buffer) => metrics.bytesOut(labels, chunk.length));
      });
    };
    dial();
  }
}
