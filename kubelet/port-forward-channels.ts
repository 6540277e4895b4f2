// port-forward over a WebSocket with channels, the protocol @kubernetes/client-node and the Python client speak
// (Kubernetes' kubelet portforward/websocket.go): the ports come in the `port` query parameter (the apiserver
// turns PodPortForwardOptions' `ports` into it); each port i has channel 2i for data (both ways) and 2i+1 for
// errors (to the client), and each channel's first message is the port as two little-endian bytes. Every binary
// message leads with its channel byte. Each port is dialled once; the socket closes once every port is done.
import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../lib/logger.ts';

/** The binary subprotocols Kubernetes' kubelet accepts here ("" is a client that offers none). */
export const CHANNEL_PROTOCOLS = ['v4.channel.k8s.io'];

/** The ports of the query as Kubernetes' NewV4Options reads them, or its error message. */
export function channelPorts(q: URLSearchParams): number[] | string {
  const values = q.getAll('port');
  if (!values.length) return 'query parameter "port" is required';
  const ports: number[] = [];
  for (const v of values) {
    if (!v) return 'query parameter "port" cannot be empty';
    for (const p of v.split(',')) {
      if (!/^\d+$/.test(p) || Number(p) > 65535) return `unable to parse "${v}" as a port: strconv.ParseUint: parsing "${p}": ${/^\d+$/.test(p) ? 'value out of range' : 'invalid syntax'}`;
      if (Number(p) < 1) return `port "${v}" must be > 0`;
      ports.push(Number(p));
    }
  }
  return ports;
}

/** Whether a WebSocket upgrade asks for the channel protocol (none offered counts, as in wsstream). */
export function wantsChannels(req: http.IncomingMessage): boolean {
  const offers = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  return !offers.length || offers.some((p) => CHANNEL_PROTOCOLS.includes(p));
}

export interface ChannelTarget {
  ports: number[];
  /** `pod, uid …` for the error text, as the kubelet writes it. */
  pod: string;
  uid: string;
  ip: string;
  /** Hollow nodes: a simulated server instead of the pod address. */
  dial?: (port: number) => Duplex;
  log: Logger;
}

const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => CHANNEL_PROTOCOLS.find((p) => offered.has(p)) ?? false });

export function serveChannels(req: http.IncomingMessage, socket: Duplex, head: Buffer, target: ChannelTarget): void {
  wss.handleUpgrade(req, socket, head, (ws) => forwardChannels(ws, socket, target));
}

function forwardChannels(ws: WebSocket, socket: Duplex, target: ChannelTarget): void {
  const send = (channel: number, data: Buffer | string) => {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]));
  };
  const conns: Duplex[] = [];
  let open = target.ports.length;
  // The close frame, then the connection closed at once (Kubernetes' wsstream does not wait for the reply).
  const done = () => { if (--open === 0) { ws.close(1000); socket.end(); } };
  target.ports.forEach((port, i) => {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(port);
    send(2 * i, prefix);
    send(2 * i + 1, prefix);
    let finished = false;
    const finish = (err?: string) => {
      if (finished) return;
      finished = true;
      if (err) send(2 * i + 1, `error forwarding port ${port} to pod ${target.pod}, uid ${target.uid}: ${err}`);
      done();
    };
    const conn = target.dial ? target.dial(port) : net.connect({ host: target.ip, port });
    conns[i] = conn;
    conn.on('data', (d: Buffer) => send(2 * i, d));
    conn.on('error', (e: NodeJS.ErrnoException) => {
      target.log.info({ port }, `port-forward: ${e.message}`);
      finish(`dial tcp ${target.ip}:${port}: connect: ${e.code === 'ECONNREFUSED' ? 'connection refused' : e.message}`);
    });
    // The pod said all it will: this port is done (there is no half-close on a channel).
    conn.on('end', () => finish());
    conn.on('close', () => finish());
  });
  ws.on('message', (data: Buffer) => {
    const channel = data[0];
    if (channel % 2 === 0 && conns[channel / 2]) conns[channel / 2].write(data.subarray(1));
  });
  ws.on('close', () => { for (const c of conns) c.destroy(); });
}
