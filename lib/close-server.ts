// Closing a node:http server only stops new connections; keep-alive, watch and upgraded
// (WebSocket) sockets keep it open forever. trackSockets() remembers every socket so that
// closeServer() can stop listening first and then destroy them all, which always finishes.
import type { Server } from 'node:net';
import type { Socket } from 'node:net';

const tracked = new WeakMap<Server, Set<Socket>>();

export function trackSockets<S extends Server>(server: S): S {
  const sockets = new Set<Socket>();
  tracked.set(server, sockets);
  server.on('connection', (s: Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
  return server;
}

export async function closeServer(server: Server): Promise<void> {
  if (!server.listening) { for (const s of tracked.get(server) ?? []) s.destroy(); return; }
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const s of tracked.get(server) ?? []) s.destroy();
  await closed;
}
