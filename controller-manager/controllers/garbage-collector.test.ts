// The garbage collector against a real apiserver. No ReplicaSet controller and no kubelet run:
// the test makes the owner and its pods itself. Foreground and Orphan deletion are emulated as
// the apiserver does them (the owner carries the finalizer and is kept, deletionTimestamp set,
// until the collector removes it).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import type { ApiClient } from '../../client/index.ts';
import { R, SharedInformers } from '../informers.ts';
import { until as poll, controllerTestbed, type ControllerTestbed } from '../test-helpers.ts';
import { FINALIZER_FOREGROUND, FINALIZER_ORPHAN, newGarbageCollector } from './garbage-collector.ts';

const ns = 'default';
/** Poll until `fn` gives something truthy, and return it (30 s by default: the controller may be slow under load). */
const until = <T>(what: string, fn: () => Promise<T | undefined | null | false | ''>, ms = 30_000): Promise<T> => poll(what, fn, ms) as Promise<T>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const rs = (name: string, finalizers?: string[]): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name, ...(finalizers ? { finalizers } : {}) },
  spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
});
const refTo = (o: KubeObject) => ({ apiVersion: o.apiVersion!, kind: o.kind!, name: o.metadata.name!, uid: o.metadata.uid!, controller: true, blockOwnerDeletion: true });

describe('Garbage collector', () => {
  let bed: ControllerTestbed;
  let c: ApiClient;
  let informers: SharedInformers;

  const exists = (res: typeof R.pods, name: string) => c.get(res, ns, name).then((o) => o, () => undefined);
  /**
   * Wait until the collector's cache holds these objects: the owner's deletion and its dependents
   * come on different watches, and a collector that does not know a dependent yet would let the
   * owner go without it (and then collect it as dangling).
   */
  const known = (res: 'pods' | 'replicasets', ...names: string[]) =>
    until(`the collector's cache to have ${res} ${names.join(', ')}`, async () => names.every((n) => informers.get(res).get(n, ns)));
  /** An owner and two pods it owns, known to the collector. */
  const family = async (name: string, finalizers?: string[]) => {
    const owner = await c.create(R.replicasets, ns, rs(name, finalizers));
    for (const i of [1, 2]) {
      await c.create(R.pods, ns, {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: `${name}-${i}`, labels: { app: name }, ownerReferences: [refTo(owner)] },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      });
    }
    await known('pods', `${name}-1`, `${name}-2`);
    return owner;
  };

  before(async () => {
    bed = await controllerTestbed(newGarbageCollector);
    c = bed.client;
    informers = bed.informers;
  });
  after(() => bed.stop());

  test('background: the owner goes at once, its pods follow', async () => {
    await family('bg');
    await sleep(200); // owned pods whose owner exists stay
    assert.ok(await exists(R.pods, 'bg-1'));
    await c.delete(R.replicasets, ns, 'bg');
    assert.equal(await exists(R.replicasets, 'bg'), undefined);
    await until('pods collected', async () => !(await exists(R.pods, 'bg-1')) && !(await exists(R.pods, 'bg-2')));
  });

  test('orphan: the pods stay without the ownerReference, then the owner goes', async () => {
    await family('orph', [FINALIZER_ORPHAN]);
    await c.delete(R.replicasets, ns, 'orph');
    await until('owner gone', async () => !(await exists(R.replicasets, 'orph')));
    for (const name of ['orph-1', 'orph-2']) {
      const p = await exists(R.pods, name);
      assert.ok(p, `${name} kept`);
      assert.equal(p.metadata.ownerReferences, undefined);
      assert.equal(p.metadata.deletionTimestamp, undefined);
    }
    await sleep(200);
    assert.ok(await exists(R.pods, 'orph-1'), 'an orphaned pod is not collected later');
  });

  test('foreground: the pods go first, the owner waits for them, then goes', async () => {
    await family('fg', [FINALIZER_FOREGROUND]);
    // A bound pod is deleted gracefully: it stays (terminating) until its kubelet confirms.
    await c.bind(ns, 'fg-1', 'node-a');
    await c.delete(R.replicasets, ns, 'fg');
    await until('the unbound pod deleted', async () => !(await exists(R.pods, 'fg-2')));
    const terminating = await until('the bound pod terminating', async () => (await exists(R.pods, 'fg-1'))?.metadata.deletionTimestamp);
    assert.ok(terminating);
    await sleep(300);
    const waiting = await exists(R.replicasets, 'fg');
    assert.ok(waiting?.metadata.deletionTimestamp, 'the owner waits for its blocking dependent');
    assert.deepEqual(waiting.metadata.finalizers, [FINALIZER_FOREGROUND]);
    // The kubelet's part: finish the pod.
    await c.delete(R.pods, ns, 'fg-1', { gracePeriodSeconds: 0 });
    await until('owner gone after its pods', async () => !(await exists(R.replicasets, 'fg')));
  });

  test('foreground through two levels: Deployment → ReplicaSet → pods, bottom up', async () => {
    const d = await c.create(R.deployments, ns, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'chain', finalizers: [FINALIZER_FOREGROUND] },
      spec: { selector: { matchLabels: { app: 'chain' } }, template: { metadata: { labels: { app: 'chain' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
    });
    const owner = await c.create(R.replicasets, ns, { ...rs('chain'), metadata: { name: 'chain', ownerReferences: [refTo(d)] } });
    await c.create(R.pods, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'chain-1', ownerReferences: [refTo(owner)] }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    await c.bind(ns, 'chain-1', 'node-a');
    await known('replicasets', 'chain');
    await known('pods', 'chain-1');
    await c.delete(R.deployments, ns, 'chain');
    // The ReplicaSet is deleted in the foreground too, since the Deployment waits for it and it has a dependent.
    const rsWaiting = await until('ReplicaSet deleting in the foreground', async () => {
      const x = await exists(R.replicasets, 'chain');
      return x?.metadata.deletionTimestamp && x;
    });
    assert.deepEqual(rsWaiting.metadata.finalizers, [FINALIZER_FOREGROUND]);
    await until('pod terminating', async () => (await exists(R.pods, 'chain-1'))?.metadata.deletionTimestamp);
    assert.ok(await exists(R.deployments, 'chain'), 'the Deployment waits');
    await c.delete(R.pods, ns, 'chain-1', { gracePeriodSeconds: 0 });
    await until('ReplicaSet and Deployment gone', async () => !(await exists(R.replicasets, 'chain')) && !(await exists(R.deployments, 'chain')));
  });

  test('a pod with two owners loses only the reference to the one that is gone', async () => {
    const a = await c.create(R.replicasets, ns, rs('two-a'));
    const b = await c.create(R.replicasets, ns, rs('two-b'));
    await c.create(R.pods, ns, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'shared', ownerReferences: [refTo(a), { ...refTo(b), controller: false }] },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    await c.delete(R.replicasets, ns, 'two-a');
    const p = await until('reference dropped', async () => {
      const x = await exists(R.pods, 'shared');
      return x?.metadata.ownerReferences?.length === 1 && x;
    });
    assert.equal(p.metadata.ownerReferences![0].uid, b.metadata.uid);
    await c.delete(R.replicasets, ns, 'two-b');
    await until('collected once the last owner is gone', async () => !(await exists(R.pods, 'shared')));
  });

  test('an owner may be a custom object: its dependents go once it is deleted', async () => {
    const crd = await c.create(R.customresourcedefinitions, undefined, {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.gc.kubemu.io' },
      spec: { group: 'gc.kubemu.io', scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
    });
    assert.ok(crd.metadata.uid);
    await until('the CRD established', async () => (await c.get(R.customresourcedefinitions, undefined, 'widgets.gc.kubemu.io')).status?.conditions?.some((x: { type: string; status: string }) => x.type === 'Established' && x.status === 'True'));
    await until('the kind known to this process', async () => findResource('gc.kubemu.io', 'widgets'));
    const widgets = { group: 'gc.kubemu.io', resource: 'widgets' };
    const owner = await c.create(widgets, ns, { apiVersion: 'gc.kubemu.io/v1', kind: 'Widget', metadata: { name: 'w' } });
    await c.create(R.pods, ns, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'widget-pod', ownerReferences: [refTo(owner)] },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    await known('pods', 'widget-pod');
    await sleep(4000); // past a recheck: an owner that exists keeps its dependent
    assert.ok(await exists(R.pods, 'widget-pod'));
    await c.delete(widgets, ns, 'w');
    await until('the pod of the custom owner collected', async () => !(await exists(R.pods, 'widget-pod')));
  });
});
