// Restart safety: kill -9 the apiserver process and start it again — every object is still
// there, and a watch that resumes from the last resourceVersion it saw misses no event,
// including events written before the kill that the client had not seen yet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testEtcd } from '../harness/etcd.ts';
import { spawnApiServer } from '../harness/apiserver-process.ts';

async function api(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(url + path, {
    method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const configMap = (name: string, v: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v } });

/** Read watch events until `count` non-bookmark events have arrived (or 30 s pass). */
async function watchEvents(url: string, path: string, count: number): Promise<{ type: string; object: any }[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 30_000);
  const events: { type: string; object: any }[] = [];
  try {
    const res = await fetch(url + path, { signal: ac.signal });
    assert.equal(res.status, 200);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const ev = JSON.parse(line);
        if (ev.type !== 'BOOKMARK') events.push(ev);
        if (events.length >= count) return events;
      }
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return events;
}

test('kill -9 the apiserver: objects survive and a resumed watch misses nothing', async (t) => {
  const etcd = await testEtcd(t);
  let server = await spawnApiServer(etcd.endpoint);
  t.after(() => server.kill('SIGKILL'));
  const ns = '/api/v1/namespaces/default/configmaps';

  for (let i = 0; i < 5; i++) await api(server.url, 'POST', ns, configMap(`before-${i}`, String(i)));
  const list = await api(server.url, 'GET', ns);
  const seenRV = list.metadata.resourceVersion as string;

  // Changes the client has not seen yet: made before the crash.
  await api(server.url, 'POST', ns, configMap('unseen-create', 'a'));
  const upd = await api(server.url, 'GET', `${ns}/before-0`);
  upd.data.v = 'changed';
  await api(server.url, 'PUT', `${ns}/before-0`, upd);
  await api(server.url, 'DELETE', `${ns}/before-1`);

  await server.kill('SIGKILL');
  // While it is down, another apiserver on the same etcd changes something.
  const other = await spawnApiServer(etcd.endpoint);
  await api(other.url, 'POST', ns, configMap('while-down', 'c'));
  await other.kill('SIGKILL');
  // Restart the first one on its original ports.
  const port = Number(new URL(server.url).port);
  const grpcPort = Number(server.grpcAddress.split(':').pop());
  server = await spawnApiServer(etcd.endpoint, { port, grpcPort });

  const after = await api(server.url, 'GET', ns);
  const names = after.items.map((o: any) => o.metadata.name).sort();
  assert.deepEqual(names, ['before-0', 'before-2', 'before-3', 'before-4', 'unseen-create', 'while-down']);
  assert.equal(after.items.find((o: any) => o.metadata.name === 'before-0').data.v, 'changed');

  // And one change after the restart.
  await api(server.url, 'POST', ns, configMap('after-restart', 'b'));
  const events = await watchEvents(server.url, `${ns}?watch=true&resourceVersion=${seenRV}`, 5);
  assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), [
    'ADDED unseen-create', 'MODIFIED before-0', 'DELETED before-1', 'ADDED while-down', 'ADDED after-restart',
  ]);
  // Resource versions strictly increase: nothing replayed twice.
  const rvs = events.map((e) => Number(e.object.metadata.resourceVersion));
  assert.deepEqual([...rvs].sort((a, b) => a - b), rvs);
  assert.ok(rvs[0] > Number(seenRV));
});
