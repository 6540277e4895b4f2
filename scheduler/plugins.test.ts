import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/types.ts';
import { newCycle } from './cycle.ts';
import { NodeInfo } from './node-info.ts';
import { FILTERS, SCORES, unschedulableMessage } from './plugins.ts';
import { SchedulingQueue } from './queue.ts';

const node = (name: string, extra: { labels?: Record<string, string>; taints?: unknown[]; cpu?: string; memory?: string; pods?: string; ready?: string; unschedulable?: boolean } = {}): KubeObject => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(extra.labels ?? {}) } },
  spec: { taints: extra.taints, unschedulable: extra.unschedulable },
  status: {
    allocatable: { cpu: extra.cpu ?? '2', memory: extra.memory ?? '4Gi', pods: extra.pods ?? '110' },
    conditions: [{ type: 'Ready', status: extra.ready ?? 'True' }],
  },
});
const pod = (spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject =>
  ({ metadata: { name: 'p', namespace: 'default', ...meta }, spec: { containers: [{ name: 'c', image: 'img' }], ...spec } });
const why = (p: KubeObject, n: NodeInfo) => FILTERS.map((f) => f.filter(p, n)).find(Boolean);

test('filters: resources, selector, affinity, taints, readiness, ports, unschedulable', () => {
  const small = new NodeInfo(node('small', { cpu: '500m', memory: '256Mi', pods: '1' }));
  const big = pod({ containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '1', memory: '1Gi' } } }] });
  assert.equal(why(big, small), 'Insufficient cpu, Insufficient memory');
  small.addPod(pod());
  assert.match(why(pod(), small)!, /^Too many pods/);
  const gpu = new NodeInfo(node('gpu', { labels: { accel: 'gpu', zone: 'a' } }));
  assert.equal(why(pod({ nodeSelector: { accel: 'gpu' } }), gpu), undefined);
  assert.equal(why(pod({ nodeSelector: { accel: 'tpu' } }), gpu), "node(s) didn't match Pod's node affinity/selector");
  const aff = (op: string, values?: string[]) => pod({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: op, values }] }] } } } });
  assert.equal(why(aff('In', ['a', 'b']), gpu), undefined);
  assert.ok(why(aff('NotIn', ['a']), gpu));
  assert.equal(why(aff('Exists'), gpu), undefined);
  assert.ok(why(aff('DoesNotExist'), gpu));
  const tainted = new NodeInfo(node('t', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }));
  assert.equal(why(pod(), tainted), 'node(s) had untolerated taint {dedicated: db}');
  assert.equal(why(pod({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }] }), tainted), undefined);
  assert.equal(why(pod({ tolerations: [{ operator: 'Exists' }] }), tainted), undefined);
  assert.equal(why(pod(), new NodeInfo(node('nr', { ready: 'False' }))), 'node(s) had untolerated taint {node.kubernetes.io/not-ready: }');
  assert.equal(why(pod(), new NodeInfo(node('cordoned', { unschedulable: true }))), 'node(s) were unschedulable');
  const withPort = new NodeInfo(node('hp'));
  const hp = pod({ containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80, hostPort: 8080 }] }] });
  withPort.addPod(hp);
  assert.equal(why(hp, withPort), "node(s) didn't have free ports for the requested pod ports");
});

test('scores prefer the emptier node and spread pods of one owner', () => {
  const empty = new NodeInfo(node('empty'));
  const busy = new NodeInfo(node('busy'));
  busy.addPod(pod({ containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '1500m', memory: '3Gi' } } }] }));
  const total = (n: NodeInfo, all: NodeInfo[], p: KubeObject) => SCORES.reduce((s, x) => s + x.weight * x.score(p, n, all), 0);
  assert.ok(total(empty, [empty, busy], pod()) > total(busy, [empty, busy], pod()));
  const owner = { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true }] };
  const a = new NodeInfo(node('a'));
  const b = new NodeInfo(node('b'));
  a.addPod(pod({}, owner));
  const spread = SCORES.find((s) => s.name === 'SelectorSpread')!;
  assert.ok(spread.score(pod({}, owner), b, [a, b]) > spread.score(pod({}, owner), a, [a, b]));
});

test('the FailedScheduling message counts reasons like kube-scheduler', () => {
  const reasons = new Map([['a', 'Insufficient cpu'], ['b', "node(s) didn't match Pod's node affinity/selector"], ['c', "node(s) didn't match Pod's node affinity/selector"]]);
  assert.equal(unschedulableMessage(3, reasons), "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector.");
  assert.equal(unschedulableMessage(0, new Map()), '0/0 nodes are available.');
});

test('queue: priority order, back-off, move to active on cluster change', async () => {
  let t = 1000;
  const q = new SchedulingQueue({ initialBackoffMs: 1000, maxBackoffMs: 4000, unschedulableFlushMs: 60_000, now: () => t });
  q.add('ns/low', pod({ priority: 0 }, { creationTimestamp: '2026-01-01T00:00:00Z' }));
  q.add('ns/high', pod({ priority: 10 }, { creationTimestamp: '2026-01-02T00:00:00Z' }));
  assert.equal((await q.pop())!.key, 'ns/high');
  assert.equal((await q.pop())!.key, 'ns/low');
  q.requeueUnschedulable('ns/low', pod());
  assert.deepEqual(q.size, { active: 0, waiting: 1 });
  t += 2000;
  q.moveAllToActive(); // back-off (1 s) has passed and the cluster changed
  assert.deepEqual(q.size, { active: 1, waiting: 0 });
  assert.equal((await q.pop())!.key, 'ns/low');
  q.requeueUnschedulable('ns/low', pod());
  q.moveAllToActive(); // second failure: 2 s back-off not yet passed
  assert.deepEqual(q.size, { active: 0, waiting: 1 });
  q.close();
  assert.equal(await q.pop(), undefined);
});

// ---- inter-pod affinity, topology spread ------------------------------------------------------

const zoned = (name: string, zone: string, extra: Parameters<typeof node>[1] = {}) =>
  new NodeInfo(node(name, { ...extra, labels: { 'topology.kubernetes.io/zone': zone, ...(extra.labels ?? {}) } }));
const labelled = (name: string, labels: Record<string, string>, spec: Record<string, unknown> = {}, ns = 'default') =>
  pod(spec, { name, namespace: ns, labels });
/** Every node's first failing filter, with a cycle over all of them, and the message kube-scheduler would give. */
function place(p: KubeObject, infos: NodeInfo[], nsLabels: Record<string, Record<string, string>> = {}) {
  const cycle = newCycle(infos, (ns) => nsLabels[ns]);
  const reasons = new Map<string, string>();
  const fits: string[] = [];
  for (const n of infos) {
    const r = FILTERS.map((f) => f.filter(p, n, cycle)).find(Boolean);
    if (r) reasons.set(n.name, r); else fits.push(n.name);
  }
  cycle.feasible = infos.filter((n) => fits.includes(n.name));
  const score = (name: string) => SCORES.filter((s) => ['InterPodAffinity', 'PodTopologySpread'].includes(s.name))
    .reduce((sum, s) => sum + s.score(p, infos.find((n) => n.name === name)!, infos, cycle), 0);
  return { fits, message: unschedulableMessage(infos.length, reasons), score };
}
const term = (labels: Record<string, string>, topologyKey = 'kubernetes.io/hostname', extra: Record<string, unknown> = {}) =>
  ({ labelSelector: { matchLabels: labels }, topologyKey, ...extra });
const antiAffinity = (...terms: unknown[]) => ({ affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: terms } } });
const affinity = (...terms: unknown[]) => ({ affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: terms } } });

test('required anti-affinity: one per node, then the Kubernetes message', () => {
  const nodes = [zoned('n1', 'a'), zoned('n2', 'a'), zoned('n3', 'b')];
  const web = (i: number) => labelled(`web-${i}`, { app: 'web' }, antiAffinity(term({ app: 'web' })));
  for (let i = 0; i < 3; i++) {
    const { fits } = place(web(i), nodes);
    assert.equal(fits.length, 3 - i);
    nodes.find((n) => n.name === fits[0])!.addPod({ ...web(i), spec: { ...web(i).spec, nodeName: fits[0] } });
  }
  assert.equal(place(web(3), nodes).message, "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.");
  // By zone: n1 and n2 share zone a, so a pod there blocks both.
  const zonal = [zoned('n1', 'a'), zoned('n2', 'a'), zoned('n3', 'b')];
  zonal[0].addPod(labelled('db-0', { app: 'db' }));
  assert.deepEqual(place(labelled('db-1', { app: 'db' }, antiAffinity(term({ app: 'db' }, 'topology.kubernetes.io/zone'))), zonal).fits, ['n3']);
  // Another namespace's pods do not count, unless named or selected.
  const other = [zoned('n1', 'a')];
  other[0].addPod(labelled('db-0', { app: 'db' }, {}, 'prod'));
  assert.deepEqual(place(labelled('x', {}, antiAffinity(term({ app: 'db' }))), other).fits, ['n1']);
  assert.deepEqual(place(labelled('x', {}, antiAffinity(term({ app: 'db' }, undefined, { namespaces: ['prod'] }))), other).fits, []);
  assert.deepEqual(place(labelled('x', {}, antiAffinity(term({ app: 'db' }, undefined, { namespaceSelector: { matchLabels: { env: 'prod' } } }))), other, { prod: { env: 'prod' } }).fits, []);
  assert.deepEqual(place(labelled('x', {}, antiAffinity(term({ app: 'db' }, undefined, { namespaceSelector: {} }))), other).fits, []);
});

test("existing pods' anti-affinity keeps a matching pod away (the symmetric check)", () => {
  const nodes = [zoned('n1', 'a'), zoned('n2', 'b')];
  nodes[0].addPod(labelled('loner', { app: 'loner' }, antiAffinity(term({ app: 'web' }))));
  const r = place(labelled('web', { app: 'web' }), nodes);
  assert.deepEqual(r.fits, ['n2']);
  assert.equal(place(labelled('web', { app: 'web' }), [nodes[0]]).message, "0/1 nodes are available: 1 node(s) didn't satisfy existing pods anti-affinity rules.");
  assert.deepEqual(place(labelled('other', { app: 'other' }), nodes).fits, ['n1', 'n2']);
});

test('required affinity: with a matching pod in the topology; the first of a self-affine group goes anywhere', () => {
  const nodes = [zoned('n1', 'a'), zoned('n2', 'b'), new NodeInfo(node('bare'))];
  const cache = labelled('cache', { app: 'cache' }, affinity(term({ app: 'db' }, 'topology.kubernetes.io/zone')));
  assert.equal(place(cache, nodes).message, "0/3 nodes are available: 3 node(s) didn't match pod affinity rules.");
  nodes[1].addPod(labelled('db', { app: 'db' }));
  assert.deepEqual(place(cache, nodes).fits, ['n2']);
  // Affinity to its own kind: nothing matches yet and it matches itself, so any node with the key.
  const self = labelled('w-0', { app: 'w' }, affinity(term({ app: 'w' }, 'topology.kubernetes.io/zone')));
  assert.deepEqual(place(self, [zoned('n1', 'a'), zoned('n2', 'b'), new NodeInfo(node('bare'))]).fits, ['n1', 'n2']);
  // matchLabelKeys: only pods with the incoming pod's value count.
  const v2 = [zoned('n1', 'a'), zoned('n2', 'b')];
  v2[0].addPod(labelled('db-v1', { app: 'db', version: 'v1' }));
  v2[1].addPod(labelled('db-v2', { app: 'db', version: 'v2' }));
  const follower = labelled('f', { app: 'f', version: 'v2' }, affinity(term({ app: 'db' }, 'kubernetes.io/hostname', { matchLabelKeys: ['version'] })));
  assert.deepEqual(place(follower, v2).fits, ['n2']);
});

test('preferred (anti-)affinity moves the score, weights included', () => {
  const nodes = [zoned('n1', 'a'), zoned('n2', 'b')];
  nodes[0].addPod(labelled('db', { app: 'db' }));
  const near = labelled('near', {}, { affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: term({ app: 'db' }, 'topology.kubernetes.io/zone') }] } } });
  const r = place(near, nodes);
  assert.ok(r.score('n1') > r.score('n2'), `${r.score('n1')} > ${r.score('n2')}`);
  const far = labelled('far', {}, { affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: term({ app: 'db' }) }] } } });
  const f = place(far, nodes);
  assert.ok(f.score('n2') > f.score('n1'));
  assert.deepEqual(f.fits, ['n1', 'n2']); // preferred never filters
});

const spread = (maxSkew: number, extra: Record<string, unknown> = {}) => ({
  topologySpreadConstraints: [{ maxSkew, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, ...extra }],
});

test('topology spread, DoNotSchedule: maxSkew across zones, missing labels, minDomains, node affinity policy', () => {
  const nodes = [zoned('a1', 'a'), zoned('a2', 'a'), zoned('b1', 'b'), new NodeInfo(node('nozone'))];
  const web = (i: number, extra = {}) => labelled(`web-${i}`, { app: 'web' }, spread(1, extra));
  nodes[0].addPod(web(0));
  // Zone a has 1, b has 0: another in a would make the skew 2.
  const r = place(web(1), nodes);
  assert.deepEqual(r.fits, ['b1']);
  assert.equal(r.message, "0/4 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label), 2 node(s) didn't match pod topology spread constraints.");
  nodes[2].addPod(web(1));
  assert.deepEqual(place(web(2), nodes).fits, ['a1', 'a2', 'b1']); // 1 and 1: either zone
  // A pod the selector does not match still may not skew it (self 0): fits everywhere with a label.
  assert.deepEqual(place(labelled('other', { app: 'other' }, spread(1)), nodes).fits, ['a1', 'a2', 'b1']);
  // minDomains 3 with only two zones: the minimum counts as 0, so a zone with one already is full.
  assert.deepEqual(place(web(3, { minDomains: 3 }), nodes).fits, []);
  // nodeAffinityPolicy Honor (default): zones the pod cannot go to are not domains.
  const two = [zoned('a1', 'a'), zoned('b1', 'b', { labels: { disk: 'hdd' } })];
  two[0].addPod(web(0));
  two[0].addPod(web(1));
  const ssd = (policy?: string) => labelled('w', { app: 'web' }, { nodeSelector: { 'topology.kubernetes.io/zone': 'a' }, ...spread(1, policy ? { nodeAffinityPolicy: policy } : {}) });
  assert.deepEqual(place(ssd(), two).fits, ['a1']);
  assert.equal(place(ssd('Ignore'), two).fits.length, 0); // b counts with 0: a would be 3 − 0
});

test('topology spread, ScheduleAnyway: the emptier zone scores higher, nothing is filtered', () => {
  const nodes = [zoned('a1', 'a'), zoned('b1', 'b')];
  nodes[0].addPod(labelled('web-0', { app: 'web' }));
  nodes[0].addPod(labelled('web-1', { app: 'web' }));
  const p = labelled('web-2', { app: 'web' }, spread(1, { whenUnsatisfiable: 'ScheduleAnyway' }));
  const r = place(p, nodes);
  assert.deepEqual(r.fits, ['a1', 'b1']);
  assert.ok(r.score('b1') > r.score('a1'), `${r.score('b1')} > ${r.score('a1')}`);
});

