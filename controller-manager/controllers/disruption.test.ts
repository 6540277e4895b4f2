// The disruption controller and the eviction subresource against a real apiserver (pods made Ready by a stand-in
// for the kubelets): a budget's status from a Deployment's pods, an eviction that takes the one allowed
// disruption, the next refused with 429 and Kubernetes' message until a replacement is Ready, percents of the
// owners' scale, unhealthyPodEvictionPolicy, and the fail-safe when a pod's owner cannot be found.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import { createApiClient, type ApiClient } from '../../client/index.ts';
import { silentLogger } from '../../lib/logger.ts';
import { testApiServer, type TestApiServer } from '../../test/harness/apiserver.ts';
import { ControllerManager } from '../manager.ts';
import { R } from '../informers.ts';
import { fakeKubelets, until } from '../test-helpers.ts';
import { computeStatus } from './disruption.ts';

const pdb = (name: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name }, spec }) as KubeObject;

describe('disruption controller and pods/eviction', () => {
  const cleanups: Array<() => unknown> = [];
  const stop = new AbortController();
  let c: ApiClient;
  let api: TestApiServer;
  const ns = 'default';
  const evict = async (name: string, deleteOptions?: object) => {
    const res = await fetch(`${api.url}/api/v1/namespaces/${ns}/pods/${name}/eviction`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer test' },
      body: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: ns }, ...(deleteOptions ? { deleteOptions } : {}) }),
    });
    return { code: res.status, body: await res.json() as Record<string, any> };
  };
  const live = async (app: string) => (await c.list(R.pods, ns, { labelSelector: `app=${app}` })).items.filter((p) => !p.metadata.deletionTimestamp);
  const status = async (name: string) => (await c.get(R.poddisruptionbudgets, ns, name)).status ?? {};

  before(async () => {
    api = await testApiServer({ after: (fn) => cleanups.push(fn) });
    c = createApiClient({ transport: 'grpc', server: api.grpcAddress });
    fakeKubelets(c, stop.signal, { delayMs: 50, ready: (p) => p.metadata.labels?.ready !== 'false' });
    void new ControllerManager({ client: c, logger: silentLogger(), controllers: ['replicaset', 'deployment', 'disruption'] }).run(stop.signal);
  });
  after(async () => { stop.abort(); await c.close(); for (const fn of cleanups.reverse()) await fn(); });

  test('minAvailable 2 over a Deployment of 3: one eviction allowed, the next refused with 429 until a replacement is Ready', async () => {
    await c.create(R.deployments, ns, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    } as KubeObject);
    await c.create(R.poddisruptionbudgets, ns, pdb('web', { minAvailable: 2, selector: { matchLabels: { app: 'web' } } }));
    const st = await until('the budget computed', async () => { const s = await status('web'); return s.currentHealthy === 3 ? s : undefined; });
    assert.deepEqual({ ...st, conditions: undefined }, { observedGeneration: 1, disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2, expectedPods: 3, conditions: undefined });
    assert.deepEqual(st.conditions.map((x: any) => [x.type, x.status, x.reason]), [['DisruptionAllowed', 'True', 'SufficientPods']]);

    const [a, b] = await live('web');
    assert.equal((await evict(a!.metadata.name!)).code, 201);
    const refused = await evict(b!.metadata.name!);
    assert.equal(refused.code, 429);
    assert.equal(refused.body.reason, 'TooManyRequests');
    assert.equal(refused.body.message, "Cannot evict pod as it would violate the pod's disruption budget.");
    assert.equal(refused.body.details.causes[0].reason, 'DisruptionBudget');
    assert.match(refused.body.details.causes[0].message, /^The disruption budget web needs 2 healthy pods and has [23] currently$/);
    await until('a replacement Ready and the disruption back', async () => (await status('web')).disruptionsAllowed === 1);
    assert.equal((await evict(b!.metadata.name!)).code, 201);
  });

  test('maxUnavailable as a percent of the owners\' scale; a dry-run eviction deletes nothing', async () => {
    await c.create(R.deployments, ns, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'pct' },
      spec: { replicas: 4, selector: { matchLabels: { app: 'pct' } }, template: { metadata: { labels: { app: 'pct' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    } as KubeObject);
    await c.create(R.poddisruptionbudgets, ns, pdb('pct', { maxUnavailable: '50%', selector: { matchLabels: { app: 'pct' } } }));
    const st = await until('computed', async () => { const s = await status('pct'); return s.currentHealthy === 4 ? s : undefined; });
    assert.equal(st.expectedPods, 4);
    assert.equal(st.desiredHealthy, 2);
    assert.equal(st.disruptionsAllowed, 2);
    const [p] = await live('pct');
    assert.equal((await evict(p!.metadata.name!, { dryRun: ['All'] })).code, 201);
    assert.equal((await live('pct')).length, 4);
    assert.equal((await status('pct')).disruptionsAllowed, 2);
  });

  test('an unready pod: refused under IfHealthyBudget while the budget is short, allowed under AlwaysAllow', async () => {
    for (const [name, ready] of [['u1', 'true'], ['u2', 'false']]) {
      await c.create(R.pods, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'u', ready } }, spec: { containers: [{ name: 'c', image: 'x' }] } } as KubeObject);
    }
    await c.create(R.poddisruptionbudgets, ns, pdb('u', { minAvailable: 2, selector: { matchLabels: { app: 'u' } } }));
    await until('computed', async () => (await status('u')).expectedPods === 2 && (await status('u')).currentHealthy === 1);
    assert.equal((await evict('u2')).code, 429);
    await c.patch(R.poddisruptionbudgets, ns, 'u', { spec: { unhealthyPodEvictionPolicy: 'AlwaysAllow' } });
    await until('observed', async () => (await status('u')).observedGeneration === 2);
    assert.equal((await evict('u2')).code, 201);
    assert.equal((await evict('u1')).code, 429, 'the healthy one is still protected');
  });

  test('a pod whose owner is missing: the budget fails safe', async () => {
    await c.create(R.pods, ns, {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'lost', labels: { app: 'lost' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'gone', uid: '00000000-0000-0000-0000-000000000000', controller: true }] },
      spec: { containers: [{ name: 'c', image: 'x' }] },
    } as KubeObject);
    await c.create(R.poddisruptionbudgets, ns, pdb('lost', { maxUnavailable: 1, selector: { matchLabels: { app: 'lost' } } }));
    const cond = await until('SyncFailed', async () => (await status('lost')).conditions?.find((x: any) => x.reason === 'SyncFailed'));
    assert.equal(cond.status, 'False');
    assert.equal(cond.message, 'found no controllers for pod "lost"');
    assert.equal((await status('lost')).disruptionsAllowed, 0);
  });

  test('refused budgets: both minAvailable and maxUnavailable, a bad percent, an unknown policy', async () => {
    const bad = async (spec: Record<string, unknown>) => { try { await c.create(R.poddisruptionbudgets, ns, pdb('bad', spec)); } catch (err) { return (err as Error).message; } assert.fail('accepted'); };
    assert.match(await bad({ minAvailable: 1, maxUnavailable: 1, selector: {} }), /spec: Invalid value: .*minAvailable and maxUnavailable cannot be both set/);
    assert.match(await bad({ minAvailable: '120%', selector: {} }), /spec\.minAvailable: Invalid value: "120%": must not be greater than 100%/);
    assert.match(await bad({ maxUnavailable: 'x', selector: {} }), /spec\.maxUnavailable: Invalid value: "x": a valid percent string must be/);
    assert.match(await bad({ minAvailable: 1, unhealthyPodEvictionPolicy: 'Never' }), /spec\.unhealthyPodEvictionPolicy: Unsupported value: "Never": supported values: "AlwaysAllow", "IfHealthyBudget"/);
  });
});

test('computeStatus: an evicted pod counts as gone until seen deleting or two minutes pass', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const ready = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'd', labels: { a: 'b' } }, status: { conditions: [{ type: 'Ready', status: 'True' }] } }) as KubeObject;
  const budget = { ...pdb('b', { minAvailable: 1, selector: { matchLabels: { a: 'b' } } }), metadata: { name: 'b', namespace: 'd', generation: 1 }, status: { disruptedPods: { p1: '2026-01-01T00:00:00Z' } } } as KubeObject;
  const none = () => undefined;
  const s = computeStatus(budget, [ready('p1'), ready('p2')], none, t0 + 1000);
  assert.equal(s.status.currentHealthy, 1);
  assert.equal(s.status.disruptionsAllowed, 0);
  assert.deepEqual(s.status.disruptedPods, { p1: '2026-01-01T00:00:00Z' });
  assert.equal(s.recheckInMs, 119_000);
  const later = computeStatus(budget, [ready('p1'), ready('p2')], none, t0 + 121_000);
  assert.equal(later.status.currentHealthy, 2);
  assert.equal(later.status.disruptedPods, undefined);
});
