// One UDP frontend (ip:port). UDP has no connections, so each client ip:port is a "flow":
// its first datagram picks a backend and gets its own upstream socket, whose source port
// tells the backend's replies apart; replies go back to the client from the frontend socket,
// the address the client sent to. Flows end after `idleMs` with no traffic either way, or at
// once when their backend leaves the balancer (as kube-proxy clears UDP conntrack entries),
// since a client that keeps its source port would otherwise talk to a dead pod forever.
import dgram from 'node:dgram';
import { backendKey, type Backend } from './service-map.ts';
import type { ListenerOptions } from './tcp-proxy.ts';

export interface UdpProxyOptions extends ListenerOptions {
  /** A flow with no datagram either way for this long is closed. */
  idleMs?: number;
}

export const DEFAULT_UDP_IDLE_MS = 30_000;

interface Flow {
  backend: Backend;
  upstream: dgram.Socket;
  timer: NodeJS.Timeout;
}

const family = (ip: string): dgram.SocketType => (ip.includes(':') ? 'udp6' : 'udp4');

export class UdpProxy {
  private socket: dgram.Socket | undefined;
  private readonly flows = new Map<string, Flow>();

  constructor(private readonly opts: UdpProxyOptions) {}

  /** Bind the frontend; rejects with the bind error. */
  listen(): Promise<void> {
    const { ip, port } = this.opts.frontend;
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket(family(ip));
      const onBindError = (err: Error) => { socket.close(); reject(err); };
      socket.once('error', onBindError);
      socket.bind({ address: ip, port, exclusive: true }, () => {
        socket.off('error', onBindError);
        socket.on('error', (err) => this.opts.logger.warn({ err, frontend: `${ip}:${port}` }, 'udp frontend error'));
        socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
        this.socket = socket;
        resolve();
      });
    });
  }

  /**
   * Close the frontend and every flow: replies could not reach their clients any more, so
   * there is nothing to drain (`destroy` is accepted for symmetry with TcpProxy).
   */
  async close(_opts: { destroy?: boolean } = {}): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    for (const key of [...this.flows.keys()]) this.endFlow(key);
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  /** Close flows whose backend the balancer no longer has; call after balancer.update(). */
  dropStaleFlows(): void {
    const live = new Set(this.opts.balancer.list().map(backendKey));
    for (const [key, f] of this.flows) if (!live.has(backendKey(f.backend))) this.endFlow(key);
  }

  get flowCount(): number { return this.flows.size; }

  private onMessage(msg: Buffer, client: dgram.RemoteInfo): void {
    const key = `${client.address}|${client.port}`;
    const flow = this.flows.get(key) ?? this.openFlow(key, client);
    if (!flow) return;
    flow.timer.refresh();
    this.opts.metrics.bytesIn(this.opts.labels, msg.length);
    flow.upstream.send(msg, flow.backend.port, flow.backend.ip);
  }

  private openFlow(key: string, client: dgram.RemoteInfo): Flow | undefined {
    const { balancer, labels, metrics, logger } = this.opts;
    const backend = balancer.next(client.address);
    if (!backend) {
      metrics.error(labels, 'rejected');
      return undefined;
    }
    const upstream = dgram.createSocket(family(backend.ip));
    const timer = setTimeout(() => this.endFlow(key), this.opts.idleMs ?? DEFAULT_UDP_IDLE_MS);
    timer.unref();
    const flow: Flow = { backend, upstream, timer };
    upstream.on('message', (reply, from) => {
      if (from.address !== backend.ip || from.port !== backend.port) return; // not our backend
      flow.timer.refresh();
      metrics.bytesOut(labels, reply.length);
      this.socket?.send(reply, client.port, client.address);
    });
    upstream.on('error', (err) => {
      metrics.error(labels, 'upstream_error');
      logger.debug({ err, backend: backendKey(backend), rule: labels }, 'udp upstream error');
      this.endFlow(key);
    });
    this.flows.set(key, flow);
    metrics.connectionOpened(labels);
    return flow;
  }

  private endFlow(key: string): void {
    const flow = this.flows.get(key);
    if (!flow) return;
    this.flows.delete(key);
    clearTimeout(flow.timer);
    flow.upstream.close();
    this.opts.metrics.connectionClosed(this.opts.labels);
  }
}
