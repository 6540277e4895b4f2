// Turn an HTTP upgrade into a SPDY/3.1 session, the two ways kubectl asks for one:
// - raw: `Upgrade: SPDY/3.1` with `X-Stream-Protocol-Version: <offers>`; we answer 101 with the one we
//   chose and SPDY runs on the socket (kubectl ≤ 1.30, exec on 1.27–1.29, and every fallback);
// - tunnelled: a WebSocket with subprotocol `SPDY/3.1+<protocol>`, the SPDY bytes inside binary
//   messages (port-forward on kubectl 1.31+). Message boundaries mean nothing: it is a byte stream.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { SpdySession } from '../lib/spdy.ts';

export const SPDY_TUNNEL_PREFIX = 'SPDY/3.1+';

/** Comma-separated offers from one or several X-Stream-Protocol-Version headers. */
function offered(req: http.IncomingMessage): string[] {
  const raw = req.headers['x-stream-protocol-version'];
  return (Array.isArray(raw) ? raw : [raw ?? '']).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' };

/** Refuse an upgrade with a plain HTTP answer (kubectl prints its body). */
export function rejectUpgrade(socket: Duplex, code: number, message: string): void {
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${code} ${STATUS_TEXT[code] ?? 'Bad Request'}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`);
}

export function isWebSocket(req: http.IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** Which of our protocols the request can have, or undefined (then refuse the upgrade). */
export function negotiate(req: http.IncomingMessage, supported: string[]): string | undefined {
  if (isWebSocket(req)) {
    const offers = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    return supported.find((p) => offers.includes(SPDY_TUNNEL_PREFIX + p));
  }
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'spdy/3.1') return undefined;
  const offers = offered(req);
  return supported.find((p) => offers.includes(p));
}

/** Complete the upgrade for `protocol` (from negotiate) and start a server-side session on it. */
export function acceptSpdy(req: http.IncomingMessage, socket: Duplex, head: Buffer, protocol: string, onWarning?: (m: string) => void): Promise<SpdySession> {
  if (!isWebSocket(req)) {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
    return Promise.resolve(new SpdySession(socket, { role: 'server', onWarning }).start(head));
  }
  const tunnels = new WebSocketServer({ noServer: true, handleProtocols: () => SPDY_TUNNEL_PREFIX + protocol });
  return new Promise((resolve) => tunnels.handleUpgrade(req, socket, head, (ws) => {
    const stream = createWebSocketStream(ws);
    stream.on('error', () => {}); // the session sees the close
    resolve(new SpdySession(stream, { role: 'server', onWarning }).start());
  }));
}
