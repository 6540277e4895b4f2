// The kubelet's port-forward over a real SPDY session on loopback, speaking to a real TCP server:
// kubectl's stream pattern (error + data per requestid), a failed dial reported on the error stream
// while other requests on the same session go on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { SpdySession, type SpdyStream } from '../lib/spdy.ts';
import { silentLogger } from '../lib/logger.ts';
import { forwardStreams } from './port-forward.ts';

const readAll = (s: SpdyStream) => new Promise<string>((resolve) => {
  let text = '';
  s.on('data', (d: Buffer) => { text += d; }).on('end', () => resolve(text)).resume();
});

test('each requestid is forwarded on its own; a refused port is reported on its error stream only', async (t) => {
  // The "pod": an upper-casing echo server; and a port nothing listens on.
  const pod = net.createServer((c) => c.on('data', (d) => c.write(d.toString().toUpperCase())).on('end', () => c.end()));
  pod.listen(0, '127.0.0.1');
  await once(pod, 'listening');
  const port = (pod.address() as net.AddressInfo).port;
  const closed = net.createServer().listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const closedPort = (closed.address() as net.AddressInfo).port;
  await new Promise((r) => closed.close(r));

  const kubelet = net.createServer((sock) => forwardStreams(new SpdySession(sock, { role: 'server' }).start(), { ip: '127.0.0.1', describe: 'web, uid 1', log: silentLogger() }));
  kubelet.listen(0, '127.0.0.1');
  await once(kubelet, 'listening');
  const sock = net.connect((kubelet.address() as net.AddressInfo).port, '127.0.0.1');
  const client = new SpdySession(sock, { role: 'client' }).start();
  t.after(() => { client.close(); kubelet.close(); pod.close(); });

  // As kubectl does: open the error stream (and FIN it, nothing to say), then the data stream.
  const request = (id: number, p: number) => {
    const error = client.openStream({ streamtype: 'error', port: String(p), requestid: String(id) }, { fin: true });
    const data = client.openStream({ streamtype: 'data', port: String(p), requestid: String(id) });
    return { error: readAll(error), data, dataText: readAll(data) };
  };
  const good = request(0, port);
  const bad = request(1, closedPort);
  const good2 = request(2, port);
  good.data.write('hello ');
  good2.data.end('second');
  assert.match(await bad.error, new RegExp(`^error forwarding port ${closedPort} to pod web, uid 1: dial tcp 127.0.0.1:${closedPort}: connect: connection refused$`));
  assert.equal(await bad.dataText, '');
  // The first request is still open after the failure beside it, and finishes normally.
  good.data.end('world');
  assert.equal(await good.dataText, 'HELLO WORLD');
  assert.equal(await good.error, '');
  assert.equal(await good2.dataText, 'SECOND');
  assert.equal(client.closed, false);
});
