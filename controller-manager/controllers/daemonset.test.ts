// The DaemonSet controller against a real apiserver. No scheduler or kubelet runs: pods stay
// pinned by their node affinity, and a stand-in kubelet (fakeKubelets) marks them Running and
// Ready shortly after they are created.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import { now } from '../../api/types.ts';
import type { ApiClient } from '../../client/index.ts';
import { Informer } from '../../client/informer.ts';
import { R } from '../informers.ts';
import { isPodReady } from '../pods.ts';
import { fakeKubelets, until as poll, controllerTestbed, type ControllerTestbed } from '../test-helpers.ts';
import { GENERATION_LABEL, HASH_LABEL, newDaemonSetController, nodeShouldRunDaemonPod, daemonTemplate, targetNode } from './daemonset.ts';

type Obj = Record<string, any>;
const ns = 'default';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Poll until `fn` gives something truthy (30 s by default: the controller may be slow under load). */
const until = <T>(what: string, fn: () => T | Promise<T>, ms = 30_000): Promise<T> => poll(what, fn, ms);
const live = (ps: KubeObject[]) => ps.filter((p) => !p.metadata.deletionTimestamp);
const image = (p: KubeObject) => p.spec.containers[0].image;

const daemonSet = (name: string, extra: Obj = {}): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name },
  spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'agent:1' }] } }, ...extra },
});

describe('DaemonSet controller', () => {
  let bed: ControllerTestbed;
  let c: ApiClient;
  let watcher: Informer;
  const podsOf = async (app: string) => live((await c.list(R.pods, ns, { labelSelector: `app=${app}` })).items);
  const nodesOf = async (app: string) => (await podsOf(app)).map((p) => targetNode(p)).sort();
  const addNode = async (name: string, taints?: Obj[]) => {
    await c.create(R.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: taints ? { taints } : {} });
    const cur = await c.get(R.nodes, undefined, name);
    await c.updateStatus(R.nodes, undefined, { ...cur, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now(), lastTransitionTime: now() }] } });
  };

  before(async () => {
    bed = await controllerTestbed(newDaemonSetController);
    c = bed.client;
    watcher = fakeKubelets(c, bed.signal, { delayMs: 100 });
  });
  after(() => bed.stop());

  test('eligibility: selector, affinity and taints, with the daemon tolerations added', () => {
    const node = (taints: Obj[], labels: Obj = {}, ready = 'True') => ({ metadata: { name: 'n', labels }, spec: { taints }, status: { conditions: [{ type: 'Ready', status: ready }] } }) as KubeObject;
    const t = daemonTemplate(daemonSet('x'));
    assert.deepEqual(nodeShouldRunDaemonPod(node([]), t), [true, true]);
    assert.deepEqual(nodeShouldRunDaemonPod(node([{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]), t), [true, true]);
    assert.deepEqual(nodeShouldRunDaemonPod(node([{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]), t), [false, true], 'a running pod may stay');
    assert.deepEqual(nodeShouldRunDaemonPod(node([{ key: 'dedicated', value: 'db', effect: 'NoExecute' }]), t), [false, false]);
    assert.deepEqual(nodeShouldRunDaemonPod(node([], {}, 'False'), t), [false, true], 'not Ready: no new pod (the scheduler would not place it), the running one stays');
    const sel = daemonTemplate(daemonSet('x', { template: { metadata: { labels: { app: 'x' } }, spec: { nodeSelector: { disk: 'ssd' }, containers: [] } } }));
    assert.deepEqual(nodeShouldRunDaemonPod(node([], { disk: 'ssd' }), sel), [true, true]);
    assert.deepEqual(nodeShouldRunDaemonPod(node([], { disk: 'hdd' }), sel), [false, false]);
  });

  test('one pod per eligible node, following nodes as they come and go; rolls a new image one node at a time', async () => {
    await addNode('n1');
    await addNode('n2');
    const ds = await c.create(R.daemonsets, ns, daemonSet('agent'));
    await until('a pod on n1 and n2', async () => JSON.stringify(await nodesOf('agent')) === '["n1","n2"]');
    const pod = (await podsOf('agent'))[0];
    const terms = pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    assert.equal(terms[0].matchFields[0].key, 'metadata.name');
    assert.equal(pod.spec.nodeName, undefined, 'pinned by affinity, left to the scheduler to bind');
    assert.equal(pod.metadata.labels![GENERATION_LABEL], '1');
    assert.ok(pod.metadata.labels![HASH_LABEL]);
    assert.equal(pod.metadata.ownerReferences![0].uid, ds.metadata.uid);
    assert.ok(pod.spec.tolerations.some((t: Obj) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute' && t.tolerationSeconds === undefined));

    await addNode('n3');
    await until('a pod on n3', async () => JSON.stringify(await nodesOf('agent')) === '["n1","n2","n3"]');
    await addNode('tainted', [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]);
    await until('status counts 3 desired, 3 ready', async () => {
      const s = (await c.get(R.daemonsets, ns, 'agent')).status;
      return s?.desiredNumberScheduled === 3 && s.currentNumberScheduled === 3 && s.numberReady === 3 && s.numberAvailable === 3 && s.updatedNumberScheduled === 3 && s.numberMisscheduled === 0;
    });
    await sleep(200);
    assert.deepEqual(await nodesOf('agent'), ['n1', 'n2', 'n3'], 'no pod on the node with an untolerated taint');

    await c.delete(R.nodes, undefined, 'n2');
    await until('the pod on n2 is gone', async () => JSON.stringify(await nodesOf('agent')) === '["n1","n3"]');
    await addNode('n4');
    // numberReady may still be 3 from before n2 went: wait for the pods themselves to be ready too.
    await until('a pod on n4, all ready', async () => {
      const ps = await podsOf('agent');
      return (await c.get(R.daemonsets, ns, 'agent')).status?.numberReady === 3 && ps.length === 3 && ps.every(isPodReady)
        && JSON.stringify(ps.map((p) => targetNode(p)).sort()) === '["n1","n3","n4"]';
    });

    // Roll: count, on every pod change, the eligible nodes without a ready pod.
    const eligible = ['n1', 'n3', 'n4'];
    let maxMissing = 0;
    const readyNodes = (app: string) => new Set(live(watcher.list(ns)).filter((p) => p.metadata.labels?.app === app && isPodReady(p)).map((p) => targetNode(p)));
    const observe = () => {
      const ready = readyNodes('agent');
      maxMissing = Math.max(maxMissing, eligible.filter((n) => !ready.has(n)).length);
    };
    // The watcher's cache may lag the apiserver: start counting once it has seen every node ready.
    await until('the watcher sees a ready pod on every eligible node', () => eligible.every((n) => readyNodes('agent').has(n)));
    watcher.addHandlers({ onAdd: observe, onUpdate: observe, onDelete: observe });
    const oldHash = pod.metadata.labels![HASH_LABEL];
    await c.patch(R.daemonsets, ns, 'agent', { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } });
    await until('every node on agent:2', async () => {
      const ps = await podsOf('agent');
      const s = (await c.get(R.daemonsets, ns, 'agent'));
      return ps.length === 3 && ps.every((p) => image(p) === 'agent:2' && isPodReady(p) && p.metadata.labels![HASH_LABEL] !== oldHash && p.metadata.labels![GENERATION_LABEL] === '2')
        && s.status.updatedNumberScheduled === 3 && s.status.numberAvailable === 3 && s.status.observedGeneration === s.metadata.generation;
    }, 60_000);
    assert.equal(maxMissing, 1, 'exactly one node at a time lacked a ready pod (maxUnavailable 1)');
  });

  test('OnDelete: a new template reaches a node only when its pod is deleted', async () => {
    await c.create(R.daemonsets, ns, daemonSet('od', { updateStrategy: { type: 'OnDelete' } }));
    await until('3 ready', async () => (await podsOf('od')).filter(isPodReady).length === 3);
    await c.patch(R.daemonsets, ns, 'od', { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } });
    await until('observed', async () => { const d = await c.get(R.daemonsets, ns, 'od'); return d.status?.observedGeneration === d.metadata.generation; });
    await sleep(300);
    assert.ok((await podsOf('od')).every((p) => image(p) === 'agent:1'), 'nothing replaced on its own');
    const victim = (await podsOf('od')).find((p) => targetNode(p) === 'n1')!;
    await c.delete(R.pods, ns, victim.metadata.name!);
    await until('n1 on the new image', async () => (await podsOf('od')).some((p) => targetNode(p) === 'n1' && image(p) === 'agent:2'));
    const ps = await podsOf('od');
    assert.equal(ps.length, 3);
    assert.equal(ps.filter((p) => image(p) === 'agent:1').length, 2);
    await until('updatedNumberScheduled 1', async () => (await c.get(R.daemonsets, ns, 'od')).status?.updatedNumberScheduled === 1);
  });

  test('extra pods on a node are deleted, the oldest kept; a pod on an ineligible node is deleted', async () => {
    await c.create(R.daemonsets, ns, daemonSet('ssd', { template: { metadata: { labels: { app: 'ssd' } }, spec: { nodeSelector: { disk: 'ssd' }, containers: [{ name: 'c', image: 'x' }] } } }));
    await c.patch(R.nodes, undefined, 'n1', { metadata: { labels: { disk: 'ssd' } } });
    await until('one pod on n1', async () => JSON.stringify(await nodesOf('ssd')) === '["n1"]');
    const kept = (await podsOf('ssd'))[0];
    // An orphan pinned to n1 that matches the selector is adopted, then deleted as a duplicate.
    await sleep(1100); // creationTimestamp has second resolution
    const dup = structuredClone(kept);
    dup.metadata = { name: 'zz-dup', labels: { app: 'ssd' } };
    delete dup.status;
    await c.create(R.pods, ns, dup);
    await until('the duplicate is gone', async () => { const ps = await podsOf('ssd'); return ps.length === 1 && ps[0].metadata.uid === kept.metadata.uid; });
    await c.patch(R.nodes, undefined, 'n1', { metadata: { labels: { disk: null } } });
    await until('no pods', async () => (await podsOf('ssd')).length === 0);
    await until('nothing desired', async () => (await c.get(R.daemonsets, ns, 'ssd')).status?.desiredNumberScheduled === 0);
  });

  test('maxSurge 1: a new pod starts beside the old one, which goes once the new one is ready', async () => {
    await c.create(R.daemonsets, ns, daemonSet('surge', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }));
    await until('3 ready', async () => (await c.get(R.daemonsets, ns, 'surge')).status?.numberAvailable === 3);
    // The watcher's cache may lag the apiserver: start counting once it has seen all three ready.
    await until('the watcher sees 3 ready nodes', () => {
      const ps = live(watcher.list(ns)).filter((p) => p.metadata.labels?.app === 'surge');
      return ps.length === 3 && new Set(ps.filter(isPodReady).map((p) => targetNode(p))).size === 3;
    });
    let minReadyNodes = Infinity;
    let maxPods = 0;
    const observe = () => {
      const ps = live(watcher.list(ns)).filter((p) => p.metadata.labels?.app === 'surge');
      minReadyNodes = Math.min(minReadyNodes, new Set(ps.filter(isPodReady).map((p) => targetNode(p))).size);
      maxPods = Math.max(maxPods, ps.length);
    };
    watcher.addHandlers({ onAdd: observe, onUpdate: observe, onDelete: observe });
    await c.patch(R.daemonsets, ns, 'surge', { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } });
    await until('all on agent:2', async () => {
      const ps = await podsOf('surge');
      return ps.length === 3 && ps.every((p) => image(p) === 'agent:2' && isPodReady(p));
    }, 60_000);
    assert.equal(minReadyNodes, 3, 'every node kept a ready pod');
    assert.equal(maxPods, 4, 'one surge pod at a time');
  });
});
