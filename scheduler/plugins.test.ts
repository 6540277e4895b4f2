import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/types.ts';
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
