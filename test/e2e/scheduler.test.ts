// The scheduler against a real apiserver, on both transports: three Node objects (one tainted,
// one labelled, one small); pods land where their selector, tolerations and requests allow, or
// stay Pending with PodScheduled=False and a FailedScheduling event saying why; a gated pod waits for its gates.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import { createApiClient, type ApiClient } from '../../client/index.ts';
import { Scheduler } from '../../scheduler/scheduler.ts';
import { testApiServer, type TestApiServer } from '../harness/apiserver.ts';
import { until as poll } from '../harness/until.ts';

const NODES = { group: '', resource: 'nodes' };
const PODS = { group: '', resource: 'pods' };
const EVENTS = { group: '', resource: 'events' };

const node = (name: string, opts: { labels?: Record<string, string>; taints?: unknown[]; cpu?: string } = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'Node',
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(opts.labels ?? {}) } },
  spec: opts.taints ? { taints: opts.taints } : {},
  status: { allocatable: { cpu: opts.cpu ?? '2', memory: '4Gi', pods: '110' }, capacity: { cpu: opts.cpu ?? '2', memory: '4Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
});
const pod = (name: string, spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'kubemu/hello:1' }], ...spec },
});

/** Any value but undefined is done; an error is "not yet". */
const until = <T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> => poll(what, fn, ms, { everyMs: 100, done: (v) => v !== undefined });

describe('scheduler', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  let admin: ApiClient;
  before(async () => {
    api = await testApiServer({ after: (fn) => cleanups.push(fn) });
    admin = createApiClient({ transport: 'http', server: api.url });
    await admin.create(NODES, undefined, node('n-gpu', { labels: { accel: 'gpu' } }));
    await admin.create(NODES, undefined, node('n-db', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }));
    await admin.create(NODES, undefined, node('n-small', { cpu: '500m' }));
  });
  after(async () => { await admin.close(); for (const fn of cleanups.reverse()) await fn(); });

  for (const transport of ['grpc', 'http'] as const) {
    test(`${transport}: pods land on the right node or stay Pending with the reason`, async () => {
      const ns = `sched-${transport}`;
      await admin.create({ group: '', resource: 'namespaces' }, undefined, { metadata: { name: ns } });
      const client = createApiClient({ transport, server: transport === 'grpc' ? api.grpcAddress : api.url });
      const stop = new AbortController();
      const scheduler = new Scheduler({ client, queue: { initialBackoffMs: 100, maxBackoffMs: 500, unschedulableFlushMs: 2000 } });
      const running = scheduler.run(stop.signal);
      try {
        await admin.create(PODS, ns, pod('wants-gpu', { nodeSelector: { accel: 'gpu' } }));
        await admin.create(PODS, ns, pod('tolerates-db', {
          tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }],
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n-db'] }] }] } } },
        }));
        await admin.create(PODS, ns, pod('needs-1500m', { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '1500m' } } }], nodeSelector: { 'kubernetes.io/hostname': 'n-gpu' } }));
        await admin.create(PODS, ns, pod('too-big', { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '8' } } }] }));
        const nodeOf = (name: string) => until(`${name} bound`, async () => (await admin.get(PODS, ns, name)).spec.nodeName);
        assert.equal(await nodeOf('wants-gpu'), 'n-gpu');
        assert.equal(await nodeOf('tolerates-db'), 'n-db');
        assert.equal(await nodeOf('needs-1500m'), 'n-gpu');
        const cond = await until('PodScheduled=False on too-big', async () => {
          const p = await admin.get(PODS, ns, 'too-big');
          return p.status?.conditions?.find((c: any) => c.type === 'PodScheduled' && c.status === 'False');
        });
        assert.equal(cond.reason, 'Unschedulable');
        assert.equal(cond.message, '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 2 Insufficient cpu.');
        const events = await until('events', async () => {
          const l = await admin.list(EVENTS, ns);
          return l.items.some((e: any) => e.reason === 'FailedScheduling') && l.items.filter((e: any) => e.reason === 'Scheduled').length >= 3 ? l.items : undefined;
        });
        assert.ok(events.some((e: any) => e.reason === 'Scheduled' && e.message === `Successfully assigned ${ns}/wants-gpu to n-gpu` && e.involvedObject.name === 'wants-gpu'));
        assert.equal((await admin.get(PODS, ns, 'too-big')).spec.nodeName, undefined);
        // The cluster changes: a big enough node joins, and the waiting pod is scheduled onto it.
        await admin.create(NODES, undefined, node(`n-big-${transport}`, { cpu: '16' }));
        assert.equal(await nodeOf('too-big'), `n-big-${transport}`);
        // The scheduler counts a binding once its reply is back, which can be after we saw the pod bound.
        assert.ok(await until('4 bindings counted', async () => scheduler.metrics.attempts.scheduled >= 4 || undefined));
      } finally {
        stop.abort();
        await running;
        await client.close();
        await admin.delete(NODES, undefined, `n-big-${transport}`).catch(() => {});
        // No kubelet will finish a graceful delete of these bound pods: remove them at once.
        for (const p of (await admin.list(PODS, ns)).items) await admin.delete(PODS, ns, p.metadata.name!, { gracePeriodSeconds: 0 });
      }
    });
  }

  test('a gated pod: SchedulingGated from the apiserver, no binding, not scheduled until the last gate goes', async () => {
    const ns = 'sched-gates';
    await admin.create({ group: '', resource: 'namespaces' }, undefined, { metadata: { name: ns } });
    const client = createApiClient({ transport: 'grpc', server: api.grpcAddress });
    const stop = new AbortController();
    const scheduler = new Scheduler({ client, queue: { initialBackoffMs: 100, maxBackoffMs: 500, unschedulableFlushMs: 2000 } });
    const running = scheduler.run(stop.signal);
    try {
      const created = await admin.create(PODS, ns, pod('gated', { schedulingGates: [{ name: 'example.com/a' }, { name: 'example.com/b' }], nodeSelector: { accel: 'gpu' } }));
      assert.deepEqual(created.status.conditions, [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates', lastProbeTime: null, lastTransitionTime: null }]);
      await assert.rejects(admin.bind(ns, 'gated', 'n-gpu'), (err: any) => err.code === 'Conflict' && /has non-empty .spec.schedulingGates/.test(err.message));
      await admin.patch(PODS, ns, 'gated', { spec: { schedulingGates: [{ name: 'example.com/b' }] } }, { type: 'merge' });
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal((await admin.get(PODS, ns, 'gated')).spec.nodeName, undefined, 'one gate left: still waiting');
      await admin.patch(PODS, ns, 'gated', { spec: { schedulingGates: null } }, { type: 'merge' });
      assert.equal(await until('bound', async () => (await admin.get(PODS, ns, 'gated')).spec.nodeName), 'n-gpu');
    } finally {
      stop.abort();
      await running;
      await client.close();
      for (const p of (await admin.list(PODS, ns)).items) await admin.delete(PODS, ns, p.metadata.name!, { gracePeriodSeconds: 0 });
    }
  });
});
