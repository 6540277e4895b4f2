// The StatefulSet controller against a real apiserver. No kubelet runs: the test plays it,
// writing pod phases and the Ready condition through the status subresource — by hand where the
// order matters, automatically (for sets listed in `autoReady`) where it does not.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import { now } from '../../api/types.ts';
import type { ApiClient } from '../../client/index.ts';
import { Informer } from '../../client/informer.ts';
import { R } from '../informers.ts';
import { isPodReady } from '../pods.ts';
import { until as poll, controllerTestbed, type ControllerTestbed } from '../test-helpers.ts';
import { newStatefulSetController, POD_INDEX_LABEL, POD_NAME_LABEL, REVISION_LABEL } from './statefulset.ts';

type Obj = Record<string, any>;
const ns = 'default';
/** Poll until `fn` gives something truthy, and return it (30 s by default: the controller may be slow under load). */
const until = <T>(what: string, fn: () => Promise<T | undefined | null | false | ''>, ms = 30_000): Promise<T> => poll(what, fn, ms) as Promise<T>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const image = (p: KubeObject) => p.spec.containers[0].image;

const statefulSet = (name: string, replicas: number, extra: Obj = {}): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name },
  spec: {
    replicas, serviceName: name, selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'img:1' }] } }, ...extra,
  },
});

describe('StatefulSet controller', () => {
  let bed: ControllerTestbed;
  let c: ApiClient;
  let watcher: Informer;
  const autoReady = new Set<string>();
  const names = async (app: string) => (await c.list(R.pods, ns, { labelSelector: `app=${app}` })).items.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name!).sort();
  const setPhase = (name: string, phase: string, ready: boolean) => c.patch(R.pods, ns, name, {
    status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now() }] },
  }, { subresource: 'status' });
  const markReady = (name: string) => setPhase(name, 'Running', true);
  const get = (name: string) => c.get(R.pods, ns, name);

  before(async () => {
    bed = await controllerTestbed(newStatefulSetController);
    c = bed.client;
    // The stand-in kubelet for sets in autoReady: Running and Ready 50 ms after creation.
    watcher = new Informer(c, R.pods);
    watcher.addHandlers({
      onAdd: (p) => {
        if (autoReady.has(p.metadata.labels?.app ?? '') && p.status?.phase === 'Pending') setTimeout(() => void markReady(p.metadata.name!).catch(() => {}), 50);
      },
    });
    void watcher.run(bed.signal);
    await watcher.waitForSync(bed.signal);
  });
  after(() => bed.stop());

  test('OrderedReady: web-0, web-1, web-2 one after another as each is Ready; scale down from the top; a lost pod comes back by name', async () => {
    await c.create(R.statefulsets, ns, statefulSet('web', 3));
    for (const [i, expected] of [['web-0'], ['web-0', 'web-1'], ['web-0', 'web-1', 'web-2']].entries()) {
      await until(`pods ${expected}`, async () => JSON.stringify(await names('web')) === JSON.stringify(expected));
      await sleep(300);
      assert.deepEqual(await names('web'), expected, `nothing more before web-${i} is Ready`);
      await markReady(`web-${i}`);
    }
    const p1 = await get('web-1');
    assert.equal(p1.spec.hostname, 'web-1');
    assert.equal(p1.spec.subdomain, 'web');
    assert.equal(p1.metadata.labels![POD_NAME_LABEL], 'web-1');
    assert.equal(p1.metadata.labels![POD_INDEX_LABEL], '1');
    const set = await until('status: 3 ready, revisions set', async () => {
      const s = await c.get(R.statefulsets, ns, 'web');
      return s.status?.readyReplicas === 3 && s.status.availableReplicas === 3 && s.status.currentReplicas === 3 && s.status.updatedReplicas === 3 && s.status.replicas === 3 && s;
    });
    assert.match(set.status.currentRevision, /^web-[a-z0-9]+$/);
    assert.equal(set.status.updateRevision, set.status.currentRevision);
    assert.equal(p1.metadata.labels![REVISION_LABEL], set.status.updateRevision);
    assert.equal(set.status.observedGeneration, set.metadata.generation);

    const deleted: string[] = [];
    watcher.addHandlers({ onDelete: (p) => { if (p.metadata.labels?.app === 'web') deleted.push(p.metadata.name!); } });
    await c.patch(R.statefulsets, ns, 'web', { spec: { replicas: 1 } });
    await until('only web-0', async () => JSON.stringify(await names('web')) === '["web-0"]');
    await until('both deletions seen', async () => deleted.length === 2);
    assert.deepEqual(deleted, ['web-2', 'web-1'], 'highest ordinal first');

    const old = await get('web-0');
    await c.delete(R.pods, ns, 'web-0');
    const back = await until('web-0 recreated', async () => { const p = await get('web-0').catch(() => undefined); return p && p.metadata.uid !== old.metadata.uid && p; });
    assert.equal(back.spec.hostname, 'web-0');
    await markReady('web-0');
    await setPhase('web-0', 'Failed', false);
    await until('a failed web-0 is replaced under the same name', async () => { const p = await get('web-0').catch(() => undefined); return p && p.metadata.uid !== back.metadata.uid && p.status?.phase === 'Pending'; });
  });

  test('OrderedReady scale-down waits while another pod is not Ready', async () => {
    autoReady.add('hold');
    await c.create(R.statefulsets, ns, statefulSet('hold', 3));
    await until('3 ready', async () => (await c.get(R.statefulsets, ns, 'hold')).status?.readyReplicas === 3);
    await setPhase('hold-0', 'Running', false);
    // The pod and the StatefulSet come on different watches: let the controller see hold-0 not
    // Ready (its status says 2 ready) before the scale-down, or it may act on the older view.
    await until('the controller saw hold-0 not Ready', async () => (await c.get(R.statefulsets, ns, 'hold')).status?.readyReplicas === 2);
    await c.patch(R.statefulsets, ns, 'hold', { spec: { replicas: 2 } });
    await sleep(400);
    assert.deepEqual(await names('hold'), ['hold-0', 'hold-1', 'hold-2'], 'hold-2 stays while hold-0 is not Ready');
    await markReady('hold-0');
    await until('hold-2 removed', async () => JSON.stringify(await names('hold')) === '["hold-0","hold-1"]');
  });

  test('RollingUpdate from the highest ordinal, one Ready pod at a time, down to the partition', async () => {
    autoReady.add('db');
    await c.create(R.statefulsets, ns, statefulSet('db', 3));
    await until('3 ready', async () => (await c.get(R.statefulsets, ns, 'db')).status?.readyReplicas === 3);
    const oldRev = (await c.get(R.statefulsets, ns, 'db')).status.currentRevision;
    const replaced: string[] = [];
    let maxDown = 0;
    const readyInWatcher = () => watcher.list(ns).filter((p) => p.metadata.labels?.app === 'db' && !p.metadata.deletionTimestamp).filter(isPodReady).length;
    const observe = () => { maxDown = Math.max(maxDown, 3 - readyInWatcher()); };
    // The watcher's cache may lag the apiserver: start counting once it has seen all three Ready.
    await until('the watcher sees 3 ready', async () => readyInWatcher() === 3);
    watcher.addHandlers({ onDelete: (p) => { if (p.metadata.labels?.app === 'db') replaced.push(p.metadata.name!); observe(); }, onAdd: observe, onUpdate: observe });

    await c.patch(R.statefulsets, ns, 'db', { spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } }, template: { spec: { containers: [{ name: 'c', image: 'img:2' }] } } } });
    const s = await until('db-1 and db-2 updated', async () => {
      const st = await c.get(R.statefulsets, ns, 'db');
      return st.status?.updatedReplicas === 2 && st.status.readyReplicas === 3 && st.status.currentReplicas === 1 && st;
    }, 60_000);
    // The watcher may be behind the status just read: wait until it has seen both deletions.
    await until('the watcher saw both replacements', async () => replaced.length >= 2);
    assert.deepEqual(replaced, ['db-2', 'db-1']);
    assert.equal(maxDown, 1, 'one pod at a time');
    assert.equal(s.status.currentRevision, oldRev);
    assert.notEqual(s.status.updateRevision, oldRev);
    assert.equal(image(await get('db-0')), 'img:1', 'below the partition');
    assert.equal(image(await get('db-2')), 'img:2');

    // A pod below the partition comes back at the current revision.
    await c.delete(R.pods, ns, 'db-0');
    const db0 = await until('db-0 back', async () => { const p = await get('db-0').catch(() => undefined); return p && isPodReady(p) && p; });
    assert.equal(image(db0), 'img:1');
    assert.equal(db0.metadata.labels![REVISION_LABEL], oldRev);

    await c.patch(R.statefulsets, ns, 'db', { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } });
    const done = await until('all updated, revision current', async () => {
      const st = await c.get(R.statefulsets, ns, 'db');
      return st.status?.updatedReplicas === 3 && st.status.readyReplicas === 3 && st.status.currentRevision === st.status.updateRevision && st;
    }, 60_000);
    assert.equal(done.status.currentReplicas, 3);
    assert.equal(image(await get('db-0')), 'img:2');
  });

  test('Parallel creates and deletes all at once, Ready or not; OnDelete leaves pods alone', async () => {
    await c.create(R.statefulsets, ns, statefulSet('par', 3, { podManagementPolicy: 'Parallel', updateStrategy: { type: 'OnDelete' } }));
    await until('3 pods, none Ready', async () => (await names('par')).length === 3);
    await c.patch(R.statefulsets, ns, 'par', { spec: { template: { spec: { containers: [{ name: 'c', image: 'img:2' }] } } } });
    await until('observed', async () => { const s = await c.get(R.statefulsets, ns, 'par'); return s.status?.observedGeneration === s.metadata.generation; });
    await sleep(300);
    for (const n of await names('par')) assert.equal(image(await get(n)), 'img:1', 'OnDelete: not replaced');
    await c.delete(R.pods, ns, 'par-1');
    await until('par-1 on the new template', async () => { const p = await get('par-1').catch(() => undefined); return p && image(p) === 'img:2'; });
    await c.patch(R.statefulsets, ns, 'par', { spec: { replicas: 0 } });
    await until('all gone', async () => (await names('par')).length === 0);
  });
});
