// The Job controller against a real apiserver. No kubelet runs: the test plays it, writing pod
// phases (Running/Ready, Succeeded, Failed) through the status subresource.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import type { ApiClient } from '../../client/index.ts';
import { R, SharedInformers } from '../informers.ts';
import { isPodActive } from '../pods.ts';
import { newJobController } from './job.ts';
import type { ControllerContext } from '../controller.ts';
import { controllerTestbed, type ControllerTestbed } from '../test-helpers.ts';
import { until as poll } from '../../test/harness/until.ts';

const ns = 'default';

const until = <T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> => poll(what, fn, ms, { everyMs: 30, retryErrors: false });

const job = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'batch/v1', kind: 'Job', metadata: { name },
  spec: { template: { metadata: { labels: { app: name } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } }, ...spec },
});
const cond = (j: KubeObject, type: string) => (j.status?.conditions ?? []).find((c: { type: string }) => c.type === type);

describe('Job controller', () => {
  let bed: ControllerTestbed;
  let c: ApiClient;
  let informers: SharedInformers;
  const podsOf = async (name: string) => (await c.list(R.pods, ns, { labelSelector: `batch.kubernetes.io/job-name=${name}` })).items;
  const setPhase = (p: KubeObject, phase: string) => c.patch(R.pods, ns, p.metadata.name!, {
    status: { phase, conditions: [{ type: 'Ready', status: phase === 'Running' ? 'True' : 'False', lastTransitionTime: new Date().toISOString() }] },
  }, { subresource: 'status' });

  before(async () => {
    bed = await controllerTestbed((ctx: ControllerContext) => newJobController(ctx, { podFailureBackoffMs: 20 }));
    c = bed.client;
    informers = bed.informers;
  });
  after(() => bed.stop());

  test('completions 5, parallelism 2: never more than 2 running, then Complete with succeeded=5', async () => {
    const made = await c.create(R.jobs, ns, job('five', { completions: 5, parallelism: 2 }));
    // Count active pods on every change the shared cache sees.
    let maxActive = 0;
    informers.get('pods').addHandlers({ onAdd: count, onUpdate: count, onDelete: count });
    function count() {
      const n = informers.get('pods').byIndex('byControllerUid', made.metadata.uid!).filter(isPodActive).length;
      maxActive = Math.max(maxActive, n);
    }
    const done = await until('Job complete', async () => {
      for (const p of (await podsOf('five')).filter(isPodActive)) {
        await setPhase(p, 'Running');
        await new Promise((r) => setTimeout(r, 20));
        await setPhase(p, 'Succeeded');
      }
      const j = await c.get(R.jobs, ns, 'five');
      return cond(j, 'Complete')?.status === 'True' && j;
    });
    assert.equal(maxActive, 2, 'parallelism 2 was used and never exceeded');
    assert.equal(done.status.succeeded, 5);
    assert.equal(done.status.active, undefined);
    assert.equal(done.status.failed, undefined);
    assert.ok(done.status.startTime && done.status.completionTime);
    assert.equal(cond(done, 'Complete').reason, 'CompletionsReached');
    assert.ok(cond(done, 'Complete').lastTransitionTime && cond(done, 'Complete').lastProbeTime);
    await new Promise((r) => setTimeout(r, 300));
    const ps = await podsOf('five');
    assert.equal(ps.length, 5, 'exactly 5 pods were ever created');
    for (const p of ps) {
      assert.equal(p.metadata.labels?.['batch.kubernetes.io/controller-uid'], made.metadata.uid);
      assert.equal(p.metadata.labels?.['controller-uid'], made.metadata.uid);
      assert.equal(p.metadata.labels?.['job-name'], 'five');
      assert.equal(p.metadata.labels?.app, 'five', 'template labels are kept');
      assert.deepEqual(p.metadata.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'Job', name: 'five', uid: made.metadata.uid, controller: true, blockOwnerDeletion: true }]);
      assert.ok(p.metadata.name!.startsWith('five-'));
    }
  });

  test('backoffLimit 1: the second failed pod fails the Job with BackoffLimitExceeded', async () => {
    await c.create(R.jobs, ns, job('flaky', { backoffLimit: 1 }));
    const failedJob = await until('Job failed', async () => {
      for (const p of (await podsOf('flaky')).filter(isPodActive)) await setPhase(p, 'Failed');
      const j = await c.get(R.jobs, ns, 'flaky');
      return cond(j, 'Failed')?.status === 'True' && j;
    });
    assert.equal(cond(failedJob, 'Failed').reason, 'BackoffLimitExceeded');
    assert.equal(cond(failedJob, 'Failed').message, 'Job has reached the specified backoff limit');
    assert.equal(failedJob.status.failed, 2);
    assert.equal(cond(failedJob, 'Complete'), undefined);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await podsOf('flaky')).length, 2, 'no pod after the Job failed');
  });

  // status.startTime has whole-second precision, so a deadline of N seconds can come as early as
  // N-1 seconds after the Job starts: 3 s leaves the test at least 2 s to mark the pods Running.
  test('activeDeadlineSeconds 3: DeadlineExceeded, running pods deleted', async () => {
    await c.create(R.jobs, ns, job('slow', { activeDeadlineSeconds: 3, parallelism: 2, completions: 4 }));
    await until('2 pods', async () => (await podsOf('slow')).length === 2);
    for (const p of await podsOf('slow')) await setPhase(p, 'Running');
    const j = await until('Job failed', async () => {
      const j = await c.get(R.jobs, ns, 'slow');
      return cond(j, 'Failed')?.status === 'True' && j;
    });
    assert.equal(cond(j, 'Failed').reason, 'DeadlineExceeded');
    assert.ok(Date.parse(cond(j, 'Failed').lastTransitionTime) - Date.parse(j.status.startTime) >= 3000);
    assert.equal(j.status.active, undefined);
    assert.equal(j.status.failed, 2, 'the killed pods count as failed');
    await until('pods deleted', async () => (await podsOf('slow')).length === 0);
  });

  test('work queue (completions unset): no new pods after one succeeds; Complete when none is left running', async () => {
    await c.create(R.jobs, ns, job('queue', { parallelism: 3 }));
    const ps = await until('3 pods', async () => { const ps = await podsOf('queue'); return ps.length === 3 && ps; });
    await setPhase(ps[0], 'Succeeded');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await podsOf('queue')).length, 3, 'no replacement for the finished worker');
    assert.equal(cond(await c.get(R.jobs, ns, 'queue'), 'Complete'), undefined, 'not complete while 2 still run');
    await setPhase(ps[1], 'Succeeded');
    await setPhase(ps[2], 'Failed');
    const j = await until('Job complete', async () => { const j = await c.get(R.jobs, ns, 'queue'); return cond(j, 'Complete')?.status === 'True' && j; });
    assert.equal(j.status.succeeded, 2);
    assert.equal(j.status.failed, 1);
  });

  test('suspend: no pods while suspended; resuming creates them; suspending again deletes them', async () => {
    await c.create(R.jobs, ns, job('later', { suspend: true, parallelism: 2, completions: 2 }));
    let j = await until('Suspended condition', async () => { const j = await c.get(R.jobs, ns, 'later'); return cond(j, 'Suspended') && j; });
    assert.equal(cond(j, 'Suspended').status, 'True');
    assert.equal(cond(j, 'Suspended').reason, 'JobSuspended');
    assert.equal(j.status.startTime, undefined);
    assert.equal((await podsOf('later')).length, 0);
    await c.patch(R.jobs, ns, 'later', { spec: { suspend: false } });
    await until('2 pods', async () => (await podsOf('later')).length === 2);
    // The pods are created before the status is written: wait for the status too.
    j = await until('resumed status', async () => { const j = await c.get(R.jobs, ns, 'later'); return cond(j, 'Suspended')?.status === 'False' && j; });
    assert.equal(cond(j, 'Suspended').reason, 'JobResumed');
    assert.ok(j.status.startTime);
    await c.patch(R.jobs, ns, 'later', { spec: { suspend: true } });
    await until('pods deleted', async () => (await podsOf('later')).length === 0);
    j = await until('status', async () => { const j = await c.get(R.jobs, ns, 'later'); return cond(j, 'Suspended')?.status === 'True' && j; });
    assert.equal(j.status.active, undefined);
    assert.equal(cond(j, 'Failed'), undefined);
  });
});
