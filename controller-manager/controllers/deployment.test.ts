// ReplicaSet and Deployment controllers against a real apiserver; pods are made Ready by a
// stand-in for the kubelets (the e2e tests do the same with real Docker nodes).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import { createApiClient, type ApiClient } from '../../client/index.ts';
import { silentLogger } from '../../lib/logger.ts';
import { testApiServer } from '../../test/harness/apiserver.ts';
import { ControllerManager } from '../manager.ts';
import { R } from '../informers.ts';
import { fakeKubelets, until as poll } from '../test-helpers.ts';

/** Poll until `fn` gives something truthy (30 s by default: the controllers may be slow under load). */
const until = <T>(what: string, fn: () => T | Promise<T>, ms = 30_000): Promise<T> => poll(what, fn, ms);

const deployment = (name: string, replicas: number, image: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
  spec: {
    replicas, selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image }] } }, ...extra,
  },
});

describe('ReplicaSet and Deployment controllers', () => {
  const cleanups: Array<() => unknown> = [];
  const stop = new AbortController();
  let c: ApiClient;
  const ns = 'default';
  const podsOf = async (app: string) => (await c.list(R.pods, ns, { labelSelector: `app=${app}` })).items;
  const live = (ps: KubeObject[]) => ps.filter((p) => !p.metadata.deletionTimestamp);
  const readyLive = (ps: KubeObject[]) => live(ps).filter((p) => p.status?.conditions?.some((x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True'));

  before(async () => {
    const api = await testApiServer({ after: (fn) => cleanups.push(fn) });
    c = createApiClient({ transport: 'grpc', server: api.grpcAddress });
    fakeKubelets(c, stop.signal, { delayMs: 100 });
    const cm = new ControllerManager({ client: c, logger: silentLogger(), controllers: ['replicaset', 'deployment', 'replicationcontroller'] });
    void cm.run(stop.signal);
  });
  after(async () => {
    stop.abort();
    await c.close();
    for (const fn of cleanups.reverse()) await fn();
  });

  test('a ReplicaSet keeps its replicas: creates, replaces a deleted pod, adopts an orphan, scales down', async () => {
    await c.create(R.pods, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'orphan', labels: { app: 'rs1' } }, spec: { containers: [{ name: 'c', image: 'x' }] } });
    await until('the orphan runs', async () => readyLive(await podsOf('rs1')).length === 1);
    const rs = await c.create(R.replicasets, ns, { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs1' },
      spec: { replicas: 3, selector: { matchLabels: { app: 'rs1' } }, template: { metadata: { labels: { app: 'rs1' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } });
    await until('3 pods', async () => live(await podsOf('rs1')).length === 3 && (await podsOf('rs1')).every((p) => p.metadata.ownerReferences?.[0]?.uid === rs.metadata.uid));
    assert.ok((await podsOf('rs1')).some((p) => p.metadata.name === 'orphan'), 'the orphan was adopted, not replaced');
    const victim = (await podsOf('rs1'))[0];
    await c.delete(R.pods, ns, victim.metadata.name!);
    await until('a replacement', async () => { const ps = live(await podsOf('rs1')); return ps.length === 3 && !ps.some((p) => p.metadata.uid === victim.metadata.uid); });
    await until('status', async () => (await c.get(R.replicasets, ns, 'rs1')).status?.readyReplicas === 3);
    await c.patch(R.replicasets, ns, 'rs1', { spec: { replicas: 1 } });
    await until('1 pod', async () => live(await podsOf('rs1')).length === 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(live(await podsOf('rs1')).length, 1, 'no pod created twice');
  });

  test('Deployment: 3 → scale to 5 → new image rolls every pod within maxUnavailable → undo brings the old template back', async () => {
    await c.create(R.deployments, ns, deployment('web', 3, 'img:1', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }));
    await until('3 ready', async () => readyLive(await podsOf('web')).length === 3);
    await c.patch(R.deployments, ns, 'web', { spec: { replicas: 5 } });
    await until('5 available', async () => (await c.get(R.deployments, ns, 'web')).status?.availableReplicas === 5);

    await c.patch(R.deployments, ns, 'web', { spec: { template: { spec: { containers: [{ name: 'c', image: 'img:2' }] } } } });
    let minReady = Infinity;
    let maxLive = 0;
    await until('all pods on img:2', async () => {
      const ps = await podsOf('web');
      minReady = Math.min(minReady, readyLive(ps).length);
      maxLive = Math.max(maxLive, live(ps).length);
      const d = await c.get(R.deployments, ns, 'web');
      // The pods can be all new and Ready before the status says so, and the status can count 5
      // available before the rollout is complete (NewReplicaSetAvailable): wait for that too.
      return live(ps).length === 5 && readyLive(ps).every((p) => p.spec.containers[0].image === 'img:2') && readyLive(ps).length === 5
        && d.status?.updatedReplicas === 5 && d.status?.availableReplicas === 5 && d.status.observedGeneration === d.metadata.generation
        && d.status.conditions?.some((x: { type: string; reason: string }) => x.type === 'Progressing' && x.reason === 'NewReplicaSetAvailable');
    }, 60_000);
    assert.ok(minReady >= 4, `available pods dropped to ${minReady}, below replicas - maxUnavailable = 4`);
    assert.ok(maxLive <= 6, `${maxLive} pods at once, more than replicas + maxSurge = 6`);
    const d = await c.get(R.deployments, ns, 'web');
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    assert.ok(d.status.conditions.some((x: { type: string; reason: string }) => x.type === 'Progressing' && x.reason === 'NewReplicaSetAvailable'));
    const rss = (await c.list(R.replicasets, ns, { labelSelector: 'app=web' })).items;
    assert.equal(rss.length, 2);
    assert.deepEqual(rss.map((r) => r.spec.replicas).sort(), [0, 5]);

    // kubectl rollout undo writes the previous template back.
    const old = rss.find((r) => r.spec.replicas === 0)!;
    const template = structuredClone(old.spec.template);
    delete template.metadata.labels['pod-template-hash'];
    await c.patch(R.deployments, ns, 'web', [{ op: 'replace', path: '/spec/template', value: template }], { type: 'json' });
    await until('back on img:1', async () => {
      const ps = readyLive(await podsOf('web'));
      return ps.length === 5 && ps.every((p) => p.spec.containers[0].image === 'img:1') && live(await podsOf('web')).length === 5;
    }, 60_000);
    const back = await c.get(R.replicasets, ns, old.metadata.name!);
    assert.equal(back.metadata.annotations?.['deployment.kubernetes.io/revision'], '3', 'the old ReplicaSet is revision 3 now');
    assert.equal(back.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1');
  });

  test('Recreate stops every old pod before a new one starts; revisionHistoryLimit prunes', async () => {
    await c.create(R.deployments, ns, deployment('rec', 2, 'img:1', { strategy: { type: 'Recreate' }, revisionHistoryLimit: 1 }));
    await until('2 ready', async () => readyLive(await podsOf('rec')).length === 2);
    let mixed = false;
    for (const img of ['img:2', 'img:3']) {
      await c.patch(R.deployments, ns, 'rec', { spec: { template: { spec: { containers: [{ name: 'c', image: img }] } } } });
      await until(`all on ${img}`, async () => {
        const ps = live(await podsOf('rec'));
        if (new Set(ps.map((p) => p.spec.containers[0].image)).size > 1) mixed = true;
        return readyLive(ps).length === 2 && ps.every((p) => p.spec.containers[0].image === img);
      }, 60_000);
    }
    assert.equal(mixed, false, 'old and new pods never ran together');
    await until('history pruned to 1 old ReplicaSet', async () => (await c.list(R.replicasets, ns, { labelSelector: 'app=rec' })).items.length === 2);
  });

  test('a paused Deployment does not roll out until resumed', async () => {
    await c.create(R.deployments, ns, deployment('p', 2, 'img:1'));
    await until('2 ready', async () => readyLive(await podsOf('p')).length === 2);
    await c.patch(R.deployments, ns, 'p', { spec: { paused: true, template: { spec: { containers: [{ name: 'c', image: 'img:2' }] } } } });
    await until('paused condition', async () => (await c.get(R.deployments, ns, 'p')).status?.conditions?.some((x: { reason: string }) => x.reason === 'DeploymentPaused'));
    await new Promise((r) => setTimeout(r, 300));
    assert.ok((await podsOf('p')).every((p) => p.spec.containers[0].image === 'img:1'));
    await c.patch(R.deployments, ns, 'p', { spec: { paused: false } });
    await until('rolled', async () => { const ps = readyLive(await podsOf('p')); return ps.length === 2 && ps.every((p) => p.spec.containers[0].image === 'img:2'); }, 60_000);
  });
});
