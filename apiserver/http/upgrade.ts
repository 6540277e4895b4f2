// Connection upgrades (WebSocket/SPDY) arrive here, not in the request handler: kubectl exec,
// attach and port-forward. They are proxied to the kubelet, which kubemu does not run yet,
// so answer with a clear Status instead of leaving kubectl hanging.
import type http from 'node:http';
import type { Duplex } from 'node:stream';

export function handleUpgrade(req: http.IncomingMessage, socket: Duplex): void {
  const status = {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'ServiceUnavailable', code: 503,
    message: `${(req.url ?? '').split('?')[0]}: streaming subresources are served by the kubelet, which this kubemu cluster does not run yet`,
  };
  const body = JSON.stringify(status);
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
