// The node lifecycle controller against a real apiserver. No kubelet runs: the test plays it,
// renewing the node's Lease and posting its Ready condition — and then stops, as a dead one would.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import { now } from '../../api/types.ts';
import type { ApiClient } from '../../client/index.ts';
import { R } from '../informers.ts';
import { until as poll, controllerTestbed, type ControllerTestbed } from '../test-helpers.ts';
import { effectiveTolerations, evictionTime, newNodeLifecycleController, NODE_LEASE_NAMESPACE, TAINT_NOT_READY, TAINT_UNREACHABLE } from './node-lifecycle.ts';

type Obj = Record<string, any>;
const ns = 'default';
/** Poll until `fn` gives something truthy, and return it (30 s by default: the controller may be slow under load). */
const until = <T>(what: string, fn: () => Promise<T | undefined | null | false | ''>, ms = 30_000): Promise<T> => poll(what, fn, ms) as Promise<T>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cond = (o: KubeObject, type: string): Obj | undefined => (o.status?.conditions ?? []).find((c: Obj) => c.type === type);
const taint = (n: KubeObject, key: string): Obj | undefined => (n.spec?.taints ?? []).find((t: Obj) => t.key === key && t.effect === 'NoExecute');
/**
 * How long the controller waits for a heartbeat. The test's "kubelet" renews every 200 ms, so this
 * is how long a stall (a loaded machine) it survives before the node is rightly called dead.
 */
const GRACE_MS = 3000;

describe('Node lifecycle controller', () => {
  let bed: ControllerTestbed;
  let c: ApiClient;

  const postReady = async (node: string, status: 'True' | 'False') => {
    const cur = await c.get(R.nodes, undefined, node);
    const t = now();
    const conditions = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready'].map((type) => ({
      type, status: type === 'Ready' ? status : 'False', reason: type === 'Ready' ? 'KubeletReady' : 'KubeletHasNoPressure', message: '', lastHeartbeatTime: t, lastTransitionTime: t,
    }));
    await c.updateStatus(R.nodes, undefined, { ...cur, status: { ...cur.status, conditions } });
  };
  const renew = async (node: string) => {
    const l = await c.get(R.leases, NODE_LEASE_NAMESPACE, node);
    await c.update(R.leases, NODE_LEASE_NAMESPACE, { ...l, spec: { ...l.spec, renewTime: new Date().toISOString() } });
  };
  const boundPod = async (name: string, node: string, spec: Obj = {}) => {
    await c.create(R.pods, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec } });
    await c.bind(ns, name, node);
  };
  const podExists = (name: string) => c.get(R.pods, ns, name).then(() => true, () => false);

  before(async () => {
    bed = await controllerTestbed(newNodeLifecycleController, { nodeMonitorGracePeriodMs: GRACE_MS, nodeMonitorPeriodMs: 200 });
    c = bed.client;
  });
  after(() => bed.stop());

  test('a node that stops heartbeating goes Unknown and tainted, its pods are evicted per toleration; it recovers', async () => {
    await c.create(R.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: {} });
    await postReady('n1', 'True');
    await c.create(R.leases, NODE_LEASE_NAMESPACE, {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'n1' }, spec: { holderIdentity: 'n1', leaseDurationSeconds: 1, renewTime: new Date().toISOString() },
    });
    const tol = (seconds?: number) => [{ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', ...(seconds === undefined ? {} : { tolerationSeconds: seconds }) }];
    await boundPod('short', 'n1', { tolerations: tol(1), terminationGracePeriodSeconds: 1 });
    await boundPod('forever', 'n1', { tolerations: tol() });
    await boundPod('defaulted', 'n1');
    await c.patch(R.pods, ns, 'forever', { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now() }] } }, { subresource: 'status' });

    // The Lease alone keeps the node alive, though its Ready heartbeat grows older than the grace period.
    for (const end = Date.now() + GRACE_MS + 600; Date.now() < end;) { await renew('n1'); await sleep(200); }
    let node = await c.get(R.nodes, undefined, 'n1');
    assert.equal(cond(node, 'Ready')!.status, 'True');
    assert.equal(taint(node, TAINT_UNREACHABLE), undefined);

    // Silence: Unknown everywhere, and the unreachable taint.
    node = await until('node Unknown and tainted', async () => {
      const n = await c.get(R.nodes, undefined, 'n1');
      return cond(n, 'Ready')?.status === 'Unknown' && taint(n, TAINT_UNREACHABLE) && n;
    });
    for (const type of ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure']) {
      assert.equal(cond(node, type)!.status, 'Unknown', type);
      assert.equal(cond(node, type)!.reason, 'NodeStatusUnknown');
      assert.equal(cond(node, type)!.message, 'Kubelet stopped posting node status.');
    }
    const added = Date.parse(taint(node, TAINT_UNREACHABLE)!.timeAdded);
    assert.ok(Number.isFinite(added));

    // MarkPodsNotReady.
    await until('pods marked not ready', async () => cond(await c.get(R.pods, ns, 'forever'), 'Ready')?.status === 'False');

    // tolerationSeconds 1: evicted (graceful delete), then force-deleted as no kubelet will confirm.
    const marked = await until('the pod tolerating 1 s marked for deletion', async () => (await c.get(R.pods, ns, 'short').catch(() => undefined))?.metadata.deletionTimestamp);
    // deletionTimestamp = eviction + the pod's 1 s grace; eviction came no earlier than timeAdded + 1 s.
    assert.ok(Date.parse(marked) >= added + 2000, 'not evicted before its toleration ran out');
    await until('the pod tolerating 1 s is gone', async () => !(await podExists('short')));
    assert.ok(await podExists('forever'), 'a toleration without tolerationSeconds keeps the pod');
    assert.ok(await podExists('defaulted'), 'the default 300 s toleration keeps the pod for now');

    // The kubelet is back.
    await renew('n1');
    await postReady('n1', 'True');
    const keepAlive = setInterval(() => void renew('n1').catch(() => {}), 200);
    try {
      node = await until('taint removed', async () => {
        const n = await c.get(R.nodes, undefined, 'n1');
        return !taint(n, TAINT_UNREACHABLE) && n;
      });
      assert.equal(cond(node, 'Ready')!.status, 'True');

      // The kubelet says NotReady: the not-ready taint instead.
      await postReady('n1', 'False');
      node = await until('not-ready taint', async () => {
        const n = await c.get(R.nodes, undefined, 'n1');
        return taint(n, TAINT_NOT_READY) && n;
      });
      assert.equal(taint(node, TAINT_UNREACHABLE), undefined);
    } finally {
      clearInterval(keepAlive);
    }
  });

  test('pods bound to a node that does not exist are deleted', async () => {
    await c.create(R.pods, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'orphan' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    await c.bind(ns, 'orphan', 'ghost');
    await until('orphaned pod deleted', async () => !(await podExists('orphan')));
  });

  test('evictionTime: untolerated now, tolerationSeconds from timeAdded, default tolerations added', () => {
    const t0 = '2024-01-01T00:00:00Z';
    const taints = [{ key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: t0 }];
    assert.equal(evictionTime([], taints), 0);
    assert.equal(evictionTime([{ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }], taints), Date.parse(t0) + 5000);
    assert.equal(evictionTime([{ operator: 'Exists' }], taints), Infinity);
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {} };
    assert.equal(evictionTime(effectiveTolerations(pod, 300), taints), Date.parse(t0) + 300_000);
    // A custom taint is not covered by the defaults.
    assert.equal(evictionTime(effectiveTolerations(pod, 300), [{ key: 'x', effect: 'NoExecute', timeAdded: t0 }]), 0);
  });
});
