// EtcdStore against a real etcd: one test per storage rule.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import { testEtcd } from '../../test/harness/etcd.ts';
import type { EtcdProcess } from '../../lib/etcd-process.ts';
import { EtcdStore } from './etcd-store.ts';
import type { StoreWatchEvent, StoreWatcher } from './store.ts';

const cm = (name: string, data: Record<string, string> = {}, ns = 'default'): KubeObject =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data });

/** Take the next n events (bookmarks included) from a watcher, or fail after a while. */
async function take(w: StoreWatcher, n: number, ms = 30_000): Promise<StoreWatchEvent[]> {
  const out: StoreWatchEvent[] = [];
  const it = w[Symbol.asyncIterator]();
  const deadline = setTimeout(() => w.close(), ms);
  try {
    while (out.length < n) {
      const r = await it.next();
      if (r.done) break;
      out.push(r.value);
    }
  } finally { clearTimeout(deadline); }
  return out;
}

describe('EtcdStore on a real etcd', () => {
  let etcd: EtcdProcess;
  let store: EtcdStore;
  const cleanups: Array<() => unknown> = [];
  before(async () => {
    etcd = await testEtcd({ after: (fn) => cleanups.push(fn) });
    store = new EtcdStore({ endpoints: [etcd.endpoint], watchCacheCapacity: 50 });
  });
  after(async () => {
    await store?.close();
    for (const fn of cleanups) await fn();
  });

  test('create then get: resourceVersion is the etcd revision', async () => {
    const created = await store.create('/registry/configmaps/default/a', cm('a', { k: 'v' }));
    const rv = Number(created.metadata.resourceVersion);
    assert.ok(rv > 0);
    const got = await store.get('/registry/configmaps/default/a');
    assert.equal(got?.metadata.resourceVersion, String(rv));
    assert.deepEqual(got?.data, { k: 'v' });
    assert.equal(await store.get('/registry/configmaps/default/missing'), undefined);
  });

  test('a stored resourceVersion is never trusted', async () => {
    const obj = cm('rvx');
    obj.metadata.resourceVersion = '999999';
    const created = await store.create('/registry/configmaps/default/rvx', obj);
    assert.notEqual(created.metadata.resourceVersion, '999999');
    const raw = await store.client.get('/registry/configmaps/default/rvx').string();
    assert.ok(raw && !raw.includes('resourceVersion'));
  });

  test('create of an existing key → AlreadyExists', async () => {
    await store.create('/registry/configmaps/default/dup', cm('dup'));
    await assert.rejects(store.create('/registry/configmaps/default/dup', cm('dup')), { code: 'AlreadyExists' });
  });

  test('update is compare-and-swap: stale revision → Conflict, missing → NotFound', async () => {
    const v1 = await store.create('/registry/configmaps/default/cas', cm('cas', { n: '1' }));
    const v2 = await store.update('/registry/configmaps/default/cas', cm('cas', { n: '2' }), Number(v1.metadata.resourceVersion));
    assert.ok(Number(v2.metadata.resourceVersion) > Number(v1.metadata.resourceVersion));
    await assert.rejects(store.update('/registry/configmaps/default/cas', cm('cas', { n: '3' }), Number(v1.metadata.resourceVersion)), { code: 'Conflict' });
    await assert.rejects(store.update('/registry/configmaps/default/nope', cm('nope'), 1), { code: 'NotFound' });
    assert.deepEqual((await store.get('/registry/configmaps/default/cas'))?.data, { n: '2' });
  });

  test('guaranteedUpdate under 20 concurrent writers loses no increment', async () => {
    await store.create('/registry/configmaps/default/counter', cm('counter', { n: '0' }));
    await Promise.all(Array.from({ length: 20 }, () => store.guaranteedUpdate('/registry/configmaps/default/counter', (cur) => {
      cur.data = { n: String(Number((cur.data as any).n) + 1) };
      return cur;
    })));
    assert.deepEqual((await store.get('/registry/configmaps/default/counter'))?.data, { n: '20' });
  });

  test('delete returns the last state at the delete revision; missing → NotFound', async () => {
    const c = await store.create('/registry/configmaps/default/del', cm('del', { x: 'y' }));
    const gone = await store.delete('/registry/configmaps/default/del');
    assert.deepEqual(gone.data, { x: 'y' });
    assert.ok(Number(gone.metadata.resourceVersion) > Number(c.metadata.resourceVersion));
    await assert.rejects(store.delete('/registry/configmaps/default/del'), { code: 'NotFound' });
    const d2 = await store.create('/registry/configmaps/default/del2', cm('del2'));
    await assert.rejects(store.delete('/registry/configmaps/default/del2', Number(d2.metadata.resourceVersion) - 1), { code: 'Conflict' });
  });

  test('list is sorted, carries the revision, and pages at one revision', async () => {
    for (const n of ['p3', 'p1', 'p2', 'p5', 'p4']) await store.create(`/registry/configmaps/paging/${n}`, cm(n, {}, 'paging'));
    const all = await store.list('/registry/configmaps/paging/');
    assert.deepEqual(all.items.map((o) => o.metadata.name), ['p1', 'p2', 'p3', 'p4', 'p5']);
    assert.ok(all.revision >= Math.max(...all.items.map((o) => Number(o.metadata.resourceVersion))));
    const page1 = await store.list('/registry/configmaps/paging/', { limit: 2 });
    assert.deepEqual(page1.items.map((o) => o.metadata.name), ['p1', 'p2']);
    assert.equal(page1.continueKey, '/registry/configmaps/paging/p2');
    // A write after the first page is not seen by later pages read at the first page's revision.
    await store.create('/registry/configmaps/paging/p25', cm('p25', {}, 'paging'));
    const page2 = await store.list('/registry/configmaps/paging/', { limit: 2, continueKey: page1.continueKey, revision: page1.revision });
    assert.deepEqual(page2.items.map((o) => o.metadata.name), ['p3', 'p4']);
    const page3 = await store.list('/registry/configmaps/paging/', { limit: 2, continueKey: page2.continueKey, revision: page1.revision });
    assert.deepEqual(page3.items.map((o) => o.metadata.name), ['p5']);
    assert.equal(page3.continueKey, undefined);
  });

  test('watch from a revision delivers exactly what came after: ADDED, MODIFIED, DELETED', async () => {
    const start = await store.currentRevision();
    const a = await store.create('/registry/configmaps/w1/a', cm('a', { v: '1' }, 'w1'));
    await store.update('/registry/configmaps/w1/a', cm('a', { v: '2' }, 'w1'), Number(a.metadata.resourceVersion));
    await store.delete('/registry/configmaps/w1/a');
    const w = store.watch('/registry/configmaps/w1/', { fromRevision: start });
    const evs = await take(w, 3);
    w.close();
    assert.deepEqual(evs.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
    assert.deepEqual(evs[1].prevObject?.data, { v: '1' });
    assert.deepEqual(evs[2].object.data, { v: '2' });
    const revs = evs.map((e) => e.revision);
    assert.deepEqual(revs, [...revs].sort((x, y) => x - y));
    assert.equal(evs[2].object.metadata.resourceVersion, String(evs[2].revision));
  });

  test('a namespace watcher only sees its namespace; live events arrive in order', async () => {
    const from = await store.currentRevision();
    const w = store.watch('/registry/configmaps/only/', { fromRevision: from });
    await store.create('/registry/configmaps/other/x', cm('x', {}, 'other'));
    await store.create('/registry/configmaps/only/y', cm('y', {}, 'only'));
    await store.create('/registry/configmaps/only/z', cm('z', {}, 'only'));
    const evs = await take(w, 2);
    w.close();
    assert.deepEqual(evs.map((e) => e.object.metadata.name), ['y', 'z']);
  });

  test('a new store (an apiserver restart) resuming from an old revision misses nothing', async () => {
    const from = await store.currentRevision();
    for (let i = 0; i < 80; i++) await store.create(`/registry/configmaps/resume/c${i}`, cm(`c${i}`, {}, 'resume'));
    const fresh = new EtcdStore({ endpoints: [etcd.endpoint], watchCacheCapacity: 10 });
    try {
      const w = fresh.watch('/registry/configmaps/resume/', { fromRevision: from });
      const evs = await take(w, 80);
      w.close();
      assert.equal(evs.length, 80);
      assert.deepEqual(evs.map((e) => e.object.metadata.name), Array.from({ length: 80 }, (_, i) => `c${i}`));
    } finally { await fresh.close(); }
  });

  test('100 watchers share one etcd watch and each sees every event', async () => {
    const other = new EtcdStore({ endpoints: [etcd.endpoint] });
    try {
      const from = await other.currentRevision();
      const ws = Array.from({ length: 100 }, () => other.watch('/registry/secrets/', { fromRevision: from }));
      for (let i = 0; i < 5; i++) await other.create(`/registry/secrets/fan/s${i}`, { kind: 'Secret', apiVersion: 'v1', metadata: { name: `s${i}` } });
      const results = await Promise.all(ws.map((w) => take(w, 5)));
      assert.ok(results.every((r) => r.length === 5));
      assert.equal(other.metrics().etcdWatches, 1);
      assert.equal(other.metrics().watchers, 100);
      ws.forEach((w) => w.close());
      assert.equal(other.metrics().watchers, 0);
    } finally { await other.close(); }
  });

  test('watching from a compacted revision → Expired (410)', async () => {
    const old = await store.currentRevision();
    await store.create('/registry/configmaps/compact/a', cm('a', {}, 'compact'));
    await store.create('/registry/configmaps/compact/b', cm('b', {}, 'compact'));
    await store.compact(await store.currentRevision());
    const fresh = new EtcdStore({ endpoints: [etcd.endpoint] });
    try {
      const w = fresh.watch('/registry/configmaps/compact/', { fromRevision: old - 1 });
      await assert.rejects(take(w, 1), { code: 'Expired' });
    } finally { await fresh.close(); }
  });

  test('an idle watcher gets bookmarks at the latest known revision', async () => {
    const from = await store.currentRevision();
    const w = store.watch('/registry/leases/', { fromRevision: from, bookmarkIntervalMs: 100 });
    const evs = await take(w, 2);
    w.close();
    assert.deepEqual(evs.map((e) => e.type), ['BOOKMARK', 'BOOKMARK']);
    assert.ok(Number(evs[0].object.metadata.resourceVersion) >= from);
  });

  test('a watcher that never reads is cut off instead of buffering without bound', async () => {
    const small = new EtcdStore({ endpoints: [etcd.endpoint], watcherQueueCapacity: 100 });
    try {
      const from = await small.currentRevision();
      const w = small.watch('/registry/events/', { fromRevision: from });
      // Fill past the per-watcher cap of 100 with a few transactions.
      for (let b = 0; b < 3; b++) {
        const ops = Array.from({ length: 50 }, (_, i) => small.client.put(`/registry/events/slow/e${b}-${i}`).value('{"metadata":{}}'));
        await small.client.if('/registry/none', 'Version', '==', 0).then(...ops).commit();
      }
      // Wait for the store to cut it off (its watcher count drops), however long the events take
      // to arrive; reading before that would drain the queue and keep it from overflowing.
      for (const end = Date.now() + 30_000; small.metrics().watchers > 0;) {
        assert.ok(Date.now() < end, 'the slow watcher was not cut off');
        await new Promise((r) => setTimeout(r, 50));
      }
      await assert.rejects(async () => { for await (const _ of w) { /* drain */ } }, { code: 'Expired' });
    } finally { await small.close(); }
  });
});
