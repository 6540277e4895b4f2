// `kubectl port-forward` at the kubelet: /portForward/<ns>/<pod>, SPDY/3.1 (raw or inside a WebSocket,
// see spdy-upgrade.ts) with protocol portforward.k8s.io, or WebSocket channels (port-forward-channels.ts). For each local connection kubectl opens two
// streams with the same `requestid` and `port` headers: `error`, then `data`. We dial the pod IP on that
// port (the kubelet runs on the host, where the pod network is reachable) and join it with the data
// stream, FIN for FIN. A failed dial is reported as text on that request's error stream, as the real
// kubelet does; other requests on the session go on.
import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../lib/logger.ts';
import type { SpdySession, SpdyStream } from '../lib/spdy.ts';
import { LABELS, type RuntimeService } from './cri/types.ts';
import { acceptSpdy, isWebSocket, negotiate, rejectUpgrade } from './spdy-upgrade.ts';
import { CHANNEL_PROTOCOLS, channelPorts, serveChannels, wantsChannels } from './port-forward-channels.ts';
import { simulatedDial } from './fake-network.ts';

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';

export interface PortForwardDeps {
  runtime: RuntimeService;
  /** Hollow node: connections go to a simulated server (fake-network.ts), never to the pod address. */
  simulateNetwork?: boolean;
  pods(): Array<{ metadata: { name?: string; namespace?: string; uid?: string; annotations?: Record<string, string> }; status?: { podIP?: string } }>;
  logger: Logger;
}

/** The pod's IP: its ready sandbox's address, else what the pod status says. */
async function podIP(runtime: RuntimeService, uid: string, fallback?: string): Promise<string | undefined> {
  const sandboxes = await runtime.listPodSandbox({ labelSelector: { [LABELS.podUid]: uid }, state: 'SANDBOX_READY' });
  for (const s of sandboxes) {
    const ip = (await runtime.podSandboxStatus(s.id)).ip;
    if (ip) return ip;
  }
  return fallback || undefined;
}

export async function servePortForward(deps: PortForwardDeps, req: http.IncomingMessage, socket: Duplex, head: Buffer, ns: string, podName: string): Promise<void> {
  const reject = (code: number, message: string) => rejectUpgrade(socket, code, message);
  const pod = deps.pods().find((p) => p.metadata.namespace === ns && p.metadata.name === podName);
  if (!pod) return reject(404, `pod ${ns}/${podName} is not on this node`);
  const protocol = negotiate(req, [PORT_FORWARD_PROTOCOL]);
  if (!protocol && isWebSocket(req) && wantsChannels(req)) return forwardOverChannels(deps, req, socket, head, pod);
  if (!protocol) return reject(400, `port-forward needs SPDY/3.1 with ${PORT_FORWARD_PROTOCOL}, or a WebSocket with subprotocol SPDY/3.1+${PORT_FORWARD_PROTOCOL} or ${CHANNEL_PROTOCOLS.join(', ')}`);
  const ip = await podIP(deps.runtime, pod.metadata.uid!, pod.status?.podIP);
  if (!ip) return reject(400, `pod ${ns}/${podName} has no IP address yet`);
  const log = deps.logger.child({ pod: `${ns}/${podName}` });
  const session = await acceptSpdy(req, socket, head, protocol, (m) => log.warn(m));
  log.info({ podIP: ip }, 'port-forward session started');
  session.on('close', () => log.info('port-forward session ended'));
  const dial = deps.simulateNetwork ? (port: number) => simulatedDial(pod, port) : undefined;
  forwardStreams(session, { ip, describe: `${podName}, uid ${pod.metadata.uid}`, log, dial });
}

/** The WebSocket channel protocol (port-forward-channels.ts): the ports are named in the query. */
async function forwardOverChannels(deps: PortForwardDeps, req: http.IncomingMessage, socket: Duplex, head: Buffer, pod: ReturnType<PortForwardDeps['pods']>[number]): Promise<void> {
  const ports = channelPorts(new URL(req.url ?? '/', 'http://kubelet').searchParams);
  if (typeof ports === 'string') return rejectUpgrade(socket, 400, ports);
  const { namespace: ns, name, uid } = pod.metadata;
  const ip = await podIP(deps.runtime, uid!, pod.status?.podIP);
  if (!ip) return rejectUpgrade(socket, 400, `pod ${ns}/${name} has no IP address yet`);
  const log = deps.logger.child({ pod: `${ns}/${name}` });
  log.info({ podIP: ip, ports }, 'port-forward (WebSocket channels) started');
  serveChannels(req, socket, head, { ports, pod: name!, uid: uid!, ip, log, dial: deps.simulateNetwork ? (port) => simulatedDial(pod, port) : undefined });
}

/** Pair each request's error and data streams, then dial the pod for it. Exported for tests. */
interface Target { ip: string; describe: string; log: Logger; dial?: (port: number) => Duplex }

export function forwardStreams(session: SpdySession, target: Target): void {
  const pending = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
  session.on('stream', (stream) => {
    stream.on('error', () => {});
    const { streamtype: type, requestid: id } = stream.headers;
    if ((type !== 'error' && type !== 'data') || id === undefined) {
      target.log.warn({ headers: stream.headers }, 'port-forward: unexpected stream');
      return stream.resetStream();
    }
    stream.reply();
    const pair = pending.get(id) ?? {};
    pair[type] = stream;
    pending.set(id, pair);
    if (pair.error && pair.data) {
      pending.delete(id);
      forward(pair.data, pair.error, stream.headers.port ?? '', target);
    }
  });
}

function forward(data: SpdyStream, error: SpdyStream, portText: string, target: Target): void {
  // kubectl writes nothing on the error stream and FINs it at once: drain it so it can finish.
  error.resume();
  const port = Number(portText);
  const fail = (message: string) => {
    target.log.info({ port: portText }, `port-forward: ${message}`);
    error.end(`error forwarding port ${portText} to pod ${target.describe}: ${message}`);
    data.end();
    data.resume();
  };
  if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(`invalid port ${JSON.stringify(portText)}`);
  let conn: Duplex;
  try {
    conn = target.dial ? target.dial(port) : net.connect({ host: target.ip, port, allowHalfOpen: true });
  } catch (err) {
    return fail(`dial tcp ${target.ip}:${port}: connect: ${(err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'connection refused' : (err as Error).message}`);
  }
  if (target.dial) process.nextTick(() => conn.emit('connect'));
  let connected = false;
  conn.on('error', (err: NodeJS.ErrnoException) => {
    if (!connected) return fail(`dial tcp ${target.ip}:${port}: connect: ${err.code === 'ECONNREFUSED' ? 'connection refused' : err.message}`);
    if (!data.destroyed) data.resetStream(); // broken half way: there is no clean end to give
  });
  conn.once('connect', () => {
    connected = true;
    data.pipe(conn); // the client's FIN ends our side of the TCP connection
    conn.pipe(data); // the pod closing its side FINs the data stream
  });
  // Once the pod has said all it will (or the connection is gone), no error can follow: FIN the error
  // stream too. kubectl ≤ 1.30 waits for that before closing the local connection.
  const noMoreErrors = () => { if (!error.destroyed) error.end(); };
  conn.on('end', noMoreErrors);
  conn.on('close', noMoreErrors);
  // RST from kubectl (it is done with this connection) or the session going away.
  data.on('close', () => { if (data.reset) conn.destroy(); });
}
