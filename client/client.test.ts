// The ApiClient on both transports, the Informer and leader election, against a real
// apiserver over a real etcd.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject, WatchEvent } from '../api/types.ts';
import { EtcdStore } from '../apiserver/storage/etcd-store.ts';
import { startApiServer } from '../apiserver/server.ts';
import { freePort } from '../lib/free-port.ts';
import { testApiServer, type TestApiServer } from '../test/harness/apiserver.ts';
import { createApiClient, type ApiClient } from './index.ts';
import { Informer } from './informer.ts';
import { LeaderElector } from './leader-election.ts';
import { until as poll } from '../test/harness/until.ts';

const CM = { group: '', resource: 'configmaps' };
const PODS = { group: '', resource: 'pods' };
const cm = (name: string, data: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });

const until = (cond: () => boolean, ms = 30_000): Promise<true> => poll('the condition', () => cond(), ms, { everyMs: 20, retryErrors: false });

describe('client package against a real apiserver', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  const clients: Record<string, ApiClient> = {};
  before(async () => {
    api = await testApiServer({ after: (fn) => cleanups.push(fn) });
    clients.http = createApiClient({ transport: 'http', server: api.url });
    clients.grpc = createApiClient({ transport: 'grpc', server: api.grpcAddress });
  });
  after(async () => {
    for (const c of Object.values(clients)) await c.close();
    for (const fn of cleanups.reverse()) await fn();
  });

  for (const transport of ['http', 'grpc'] as const) {
    test(`${transport}: writes are recorded in managedFields under the client's User-Agent`, async () => {
      const c = createApiClient({ transport, server: transport === 'http' ? api.url : api.grpcAddress, userAgent: 'kube-controller-manager/v1.32.0 (kubemu)' });
      const made = await c.create(CM, 'default', cm(`ua-${transport}`, { k: 'v' }));
      const [entry] = made.metadata.managedFields as any[];
      assert.equal(entry.manager, 'kube-controller-manager');
      assert.equal(entry.operation, 'Update');
      assert.deepEqual(entry.fieldsV1, { 'f:data': { '.': {}, 'f:k': {} } });
    });

    test(`${transport}: CRUD, status, patch, bind, errors carry their codes`, async () => {
      const c = clients[transport];
      const ns = `crud-${transport}`;
      await c.create({ group: '', resource: 'namespaces' }, undefined, { metadata: { name: ns } });
      const made = await c.create(CM, ns, cm('a', { k: 'v' }));
      assert.equal(made.metadata.namespace, ns);
      const got = await c.get(CM, ns, 'a');
      assert.deepEqual(got.data, { k: 'v' });
      const upd = await c.update(CM, ns, { ...got, data: { k: 'w' } });
      await assert.rejects(c.update(CM, ns, got), { code: 'Conflict' });
      const patched = await c.patch(CM, ns, 'a', { data: { extra: '1' } });
      assert.deepEqual(patched.data, { k: 'w', extra: '1' });
      assert.ok(Number(upd.metadata.resourceVersion) < Number(patched.metadata.resourceVersion));
      assert.equal((await c.list(CM, ns)).items.length, 1);
      await assert.rejects(c.create(CM, ns, cm('a')), { code: 'AlreadyExists', message: 'configmaps "a" already exists' });
      await assert.rejects(c.get(CM, ns, 'zzz'), { code: 'NotFound' });
      await assert.rejects(c.create(PODS, ns, { metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] } }), (err: any) =>
        err.code === 'Invalid' && err.details.causes[0].field === 'spec.containers[0].image');
      const pod = await c.create(PODS, ns, { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } });
      await c.bind(ns, 'p', 'node-1', pod.metadata.uid);
      await assert.rejects(c.bind(ns, 'p', 'node-2'), { code: 'Conflict' });
      const st = await c.updateStatus(PODS, ns, { ...(await c.get(PODS, ns, 'p')), status: { phase: 'Running' } });
      assert.equal(st.status.phase, 'Running');
      assert.equal(st.spec.nodeName, 'node-1');
      await c.delete(CM, ns, 'a');
      await assert.rejects(c.get(CM, ns, 'a'), { code: 'NotFound' });
    });

    test(`${transport}: watch from a resourceVersion`, async () => {
      const c = clients[transport];
      const ns = `crud-${transport}`;
      const rv = (await c.list(CM, ns)).metadata.resourceVersion;
      const w = await c.watch(CM, ns, { resourceVersion: rv });
      await c.create(CM, ns, cm('w1'));
      await c.patch(CM, ns, 'w1', { data: { x: 'y' } });
      await c.delete(CM, ns, 'w1');
      const seen: WatchEvent[] = [];
      for await (const ev of w) { seen.push(ev); if (seen.length === 3) break; }
      w.close();
      assert.deepEqual(seen.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
    });

    test(`${transport}: informer sees adds, updates and deletes, with indexes`, async () => {
      const c = clients[transport];
      const ns = `inf-${transport}`;
      await c.create({ group: '', resource: 'namespaces' }, undefined, { metadata: { name: ns } });
      const events: string[] = [];
      const inf = new Informer(c, CM, { namespace: ns, indexers: { byColor: (o) => [(o.data as Record<string, string> | undefined)?.color ?? ''] }, minBackoffMs: 50 });
      inf.addHandlers({
        onAdd: (o) => events.push(`add ${o.metadata.name}`),
        onUpdate: (_o, n) => events.push(`update ${n.metadata.name}`),
        onDelete: (o) => events.push(`delete ${o.metadata.name}`),
      });
      const stop = new AbortController();
      const running = inf.run(stop.signal);
      await c.create(CM, ns, cm('pre'));
      await inf.waitForSync();
      await c.create(CM, ns, cm('x', { color: 'red' }));
      await c.patch(CM, ns, 'x', { data: { color: 'blue' } });
      await c.delete(CM, ns, 'pre');
      await until(() => events.includes('delete pre') && inf.byIndex('byColor', 'blue').length === 1);
      assert.ok(events.includes('add x') && events.includes('update x'));
      assert.equal(inf.byIndex('byColor', 'red').length, 0);
      assert.deepEqual(inf.list(ns).map((o) => o.metadata.name), ['x']);

      stop.abort();
      await running;
    });

    test(`${transport}: informer survives an apiserver restart and a 410 (compacted history)`, async () => {
      const etcd = api.etcd;
      const [port, grpcPort] = [await freePort(), await freePort()];
      let server = await startApiServer({ etcdEndpoints: [etcd.endpoint], port, grpcPort });
      const c = createApiClient({ transport, server: transport === 'http' ? server.url : server.grpcAddress });
      const ns = `restart-${transport}`;
      await c.create({ group: '', resource: 'namespaces' }, undefined, { metadata: { name: ns } });
      await c.create(CM, ns, cm('x'));
      const events: string[] = [];
      const inf = new Informer(c, CM, { namespace: ns, minBackoffMs: 50, maxBackoffMs: 200 });
      inf.addHandlers({ onAdd: (o) => events.push(`add ${o.metadata.name}`), onDelete: (o) => events.push(`delete ${o.metadata.name}`) });
      const stop = new AbortController();
      const running = inf.run(stop.signal);
      await until(() => events.includes('add x'));
      // While this apiserver is down, another one changes things, and etcd history is compacted.
      await server.close();
      const other = await startApiServer({ etcdEndpoints: [etcd.endpoint], port: 0, grpcPort: 0 });
      const oc = createApiClient({ transport: 'http', server: other.url });
      await oc.delete(CM, ns, 'x');
      await oc.create(CM, ns, cm('y'));
      const store = new EtcdStore({ endpoints: [etcd.endpoint] });
      await store.compact(await store.currentRevision());
      await store.close();
      await oc.close();
      await other.close();
      server = await startApiServer({ etcdEndpoints: [etcd.endpoint], port, grpcPort });
      // Resuming from its last resourceVersion gets 410 Expired; the informer re-lists and reports what it missed.
      await until(() => events.includes('delete x') && events.includes('add y'), 60_000);
      assert.deepEqual(inf.list(ns).map((o) => o.metadata.name), ['y']);
      stop.abort();
      await running;
      await c.close();
      await server.close();
    });
  }

  test('grpc: with two apiservers in --server, calls and an informer go on when the first one stops', async () => {
    const first = await startApiServer({ etcdEndpoints: [api.etcd.endpoint], port: 0, grpcPort: 0 });
    const second = await startApiServer({ etcdEndpoints: [api.etcd.endpoint], port: 0, grpcPort: 0 });
    const c = createApiClient({ transport: 'grpc', server: `${first.grpcAddress},${second.grpcAddress}` });
    const ns = 'failover';
    await c.create({ group: '', resource: 'namespaces' }, undefined, { metadata: { name: ns } });
    await c.create(CM, ns, cm('before'));
    const seen: string[] = [];
    const inf = new Informer(c, CM, { namespace: ns, minBackoffMs: 50, maxBackoffMs: 200 });
    inf.addHandlers({ onAdd: (o) => seen.push(o.metadata.name!) });
    const stop = new AbortController();
    const running = inf.run(stop.signal);
    await until(() => seen.includes('before'));
    await first.close();
    // The first call after the break may still fail (the broken connection); the next ones reach the second.
    let made = false;
    for (let i = 0; i < 50 && !made; i++) {
      made = await c.create(CM, ns, cm('after')).then(() => true, () => new Promise<boolean>((r) => setTimeout(() => r(false), 100)));
    }
    assert.ok(made, 'no call got through to the second apiserver');
    await until(() => seen.includes('after'));
    assert.equal((await c.get(CM, ns, 'after')).metadata.name, 'after');
    assert.throws(() => createApiClient({ transport: 'grpc', server: 'a.example:1,127.0.0.1:2' }), /several servers must each be IPv4:port, got a.example:1/);
    stop.abort();
    await running;
    await c.close();
    await second.close();
  });

  test('leader election: one leader; another takes over when it stops renewing', async () => {
    const c = clients.http;
    const leading: string[] = [];
    // The leader renews every 100 ms; a 2 s lease lets it miss renewals for a while on a loaded
    // machine without the other candidate rightly taking over while the test says it must not.
    const mk = (id: string) => new LeaderElector({
      client: id === 'a' ? clients.http : clients.grpc, namespace: 'kube-system', name: 'test-lock', identity: id,
      leaseDurationSeconds: 2, renewDeadlineMs: 1500, retryPeriodMs: 100,
      onStartedLeading: () => { leading.push(id); },
    });
    const a = mk('a');
    const stopA = new AbortController();
    const runA = a.run(stopA.signal);
    await until(() => a.isLeader());
    const b = mk('b');
    const stopB = new AbortController();
    const runB = b.run(stopB.signal);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(b.isLeader(), false);
    stopA.abort();
    await runA;
    await until(() => b.isLeader());
    const lease = await c.get({ group: 'coordination.k8s.io', resource: 'leases' }, 'kube-system', 'test-lock');
    assert.equal(lease.spec.holderIdentity, 'b');
    assert.equal(lease.spec.leaseTransitions, 1);
    stopB.abort();
    await runB;
    assert.deepEqual(leading, ['a', 'b']);
  });

  test('leader election: a holder known to be gone frees the lease at once; keepLeadingUntilAnotherHolder rides out failed renewals', async () => {
    const gone = new Set<string>();
    let down = false;
    // client.http whose calls fail while `down`, as while the apiserver restarts.
    const flaky = new Proxy(clients.http, {
      get: (t, k) => {
        const v = (t as unknown as Record<string | symbol, unknown>)[k];
        return typeof v !== 'function' ? v : (...args: unknown[]) => (down ? Promise.reject(new Error('connect ECONNREFUSED')) : v.apply(t, args));
      },
    });
    const mk = (id: string, client: typeof clients.http) => new LeaderElector({
      client, namespace: 'kube-system', name: 'test-lock-gone', identity: id,
      leaseDurationSeconds: 60, renewDeadlineMs: 300, retryPeriodMs: 100,
      holderGone: (h) => gone.has(h), keepLeadingUntilAnotherHolder: true, onStartedLeading: () => {},
    });
    const a = mk('a', flaky);
    const stopA = new AbortController();
    const runA = a.run(stopA.signal);
    await until(() => a.isLeader());
    down = true;
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(a.isLeader(), true, 'still leading although no renewal got through for longer than renewDeadline');
    down = false;
    const b = mk('b', clients.grpc);
    const stopB = new AbortController();
    const runB = b.run(stopB.signal);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(b.isLeader(), false, 'a 60 s lease held by a live leader');
    // a dies without a word; b knows it is gone and takes the lease now, not 60 s later.
    stopA.abort();
    await runA;
    gone.add('a');
    await until(() => b.isLeader(), 5000);
    stopB.abort();
    await runB;
  });
});
