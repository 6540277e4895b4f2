// An unused TCP port on an address. Ports come from 20000–29999, below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range, 32768–60999 by default) and the NodePort range: a port the kernel hands out
// with bind(0) can be taken a moment later by any outgoing connection of a busy machine (seen as EADDRINUSE when
// a component then listens on it); one outside that range cannot. Falls back to the kernel's choice.
import net from 'node:net';

const LOW = 20000, HIGH = 29999;

function tryListen(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen(port, host, () => {
      const got = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(got));
    });
  });
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await tryListen(LOW + Math.floor(Math.random() * (HIGH - LOW + 1)), host);
    if (port) return port;
  }
  const port = await tryListen(0, host);
  if (!port) throw new Error(`no free port on ${host}`);
  return port;
}
