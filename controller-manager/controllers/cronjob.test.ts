// The CronJob controller against a real apiserver. Each test runs its own controller on a clock
// it moves by hand (the periodic check runs every 50 ms of real time), and plays the Job
// controller by writing Job conditions itself. The cron arithmetic is tested in cron-schedule.test.ts.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import { createApiClient, type ApiClient } from '../../client/index.ts';
import { silentLogger } from '../../lib/logger.ts';
import { testApiServer } from '../../test/harness/apiserver.ts';
import { DEFAULT_TIMINGS, runWorkers } from '../controller.ts';
import { R, SharedInformers } from '../informers.ts';
import { parseCron } from './cron-schedule.ts';
import { mostRecentScheduleTime, newCronJobController } from './cronjob.ts';
import { until as poll } from '../test-helpers.ts';

const ns = 'default';
const MIN = 60_000;

const until = <T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> => poll(what, fn, ms) as Promise<T>;
const settle = () => new Promise((r) => setTimeout(r, 400));

const cronJob = (name: string, schedule: string, spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name },
  spec: {
    schedule, ...spec,
    jobTemplate: {
      metadata: { labels: { app: name }, annotations: { note: 'from-template' } },
      spec: { backoffLimit: 2, template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox' }] } } },
    },
  },
});

describe('CronJob controller', () => {
  const cleanups: Array<() => unknown> = [];
  let c: ApiClient;
  const jobsOf = async (cj: KubeObject) => (await c.list(R.jobs, ns)).items
    .filter((j) => j.metadata.ownerReferences?.some((r) => r.uid === cj.metadata.uid)).sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  const finish = async (j: KubeObject, type: 'Complete' | 'Failed', at: number) => {
    const t = new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await c.patch(R.jobs, ns, j.metadata.name!, { status: {
      startTime: t, ...(type === 'Complete' ? { completionTime: t, succeeded: 1 } : { failed: 1 }),
      conditions: [{ type, status: 'True', lastProbeTime: t, lastTransitionTime: t }],
    } }, { subresource: 'status' });
  };

  /** A controller for this test on a clock starting at `start`; returns a way to set the clock, and its informers. */
  function startController(t: TestContext, start: number): { set(ms: number): void; informers: SharedInformers } {
    let now = start;
    const stop = new AbortController();
    t.after(() => stop.abort());
    const informers = new SharedInformers(c, silentLogger());
    const ctrl = newCronJobController({ client: c, informers, logger: silentLogger(), options: { ...DEFAULT_TIMINGS, cronJobCheckPeriodMs: 50 } }, { now: () => new Date(now) });
    void informers.start(stop.signal);
    void runWorkers(ctrl, stop.signal, silentLogger());
    return { set: (ms) => { now = ms; }, informers };
  }

  before(async () => {
    const api = await testApiServer({ after: (fn) => cleanups.push(fn) });
    c = createApiClient({ transport: 'grpc', server: api.grpcAddress });
  });
  after(async () => {
    await c.close();
    for (const fn of cleanups.reverse()) await fn();
  });

  test('*/1: a Job <name>-<minutes> from the template once a minute has passed, none before', async (t) => {
    const cj = await c.create(R.cronjobs, ns, cronJob('every', '*/1 * * * *'));
    const created = Date.parse(cj.metadata.creationTimestamp!);
    const firstMinute = (Math.floor(created / MIN) + 1) * MIN;
    const clock = startController(t, firstMinute - 1000);
    await settle();
    assert.equal((await jobsOf(cj)).length, 0, 'nothing before the first scheduled time');
    clock.set(firstMinute + 5000);
    const [job] = await until('a job', async () => { const js = await jobsOf(cj); return js.length > 0 && js; });
    assert.equal(job.metadata.name, `every-${firstMinute / MIN}`);
    assert.deepEqual(job.metadata.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'every', uid: cj.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    assert.equal(job.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'], new Date(firstMinute).toISOString().replace('.000Z', 'Z'));
    assert.equal(job.metadata.annotations?.note, 'from-template');
    assert.equal(job.metadata.labels?.app, 'every');
    assert.equal(job.spec.backoffLimit, 2);
    assert.equal(job.spec.template.spec.containers[0].image, 'busybox');
    const s = await until('status', async () => { const s = (await c.get(R.cronjobs, ns, 'every')).status; return s?.active?.length && s; });
    assert.equal(Date.parse(s.lastScheduleTime), firstMinute);
    assert.deepEqual(s.active.map((r: { name: string; kind: string; uid: string }) => [r.kind, r.name, r.uid]), [['Job', job.metadata.name, job.metadata.uid]]);

    // Three minutes later only the most recent missed time runs (Allow: alongside the first).
    clock.set(firstMinute + 3 * MIN + 5000);
    await until('second job', async () => (await jobsOf(cj)).length === 2);
    await settle();
    assert.deepEqual((await jobsOf(cj)).map((j) => j.metadata.name), [`every-${firstMinute / MIN}`, `every-${firstMinute / MIN + 3}`]);
  });

  test('Forbid: no second Job while one is active; the missed run starts once it finishes', async (t) => {
    const cj = await c.create(R.cronjobs, ns, cronJob('forbid', '* * * * *', { concurrencyPolicy: 'Forbid' }));
    const first = (Math.floor(Date.parse(cj.metadata.creationTimestamp!) / MIN) + 1) * MIN;
    const clock = startController(t, first + 1000);
    const [job1] = await until('first job', async () => { const js = await jobsOf(cj); return js.length === 1 && js; });
    // The status (written after the Job) must be in the controller's cache before the clock moves:
    // a reconcile on a cache without it would not know the first run is active.
    await until('the first run in the controller\'s cache', async () => {
      const s = clock.informers.get('cronjobs').get('forbid', ns)?.status;
      return s?.active?.length === 1 && Date.parse(s.lastScheduleTime) === first;
    });
    clock.set(first + MIN + 1000);
    await settle();
    assert.equal((await jobsOf(cj)).length, 1, 'Forbid kept the second run from starting');
    assert.equal(Date.parse((await c.get(R.cronjobs, ns, 'forbid')).status.lastScheduleTime), first);

    await finish(job1, 'Complete', first + 30_000);
    const s = await until('second job and status', async () => {
      const s = (await c.get(R.cronjobs, ns, 'forbid')).status;
      return (await jobsOf(cj)).length === 2 && s?.lastSuccessfulTime && s.active?.length === 1 && s;
    });
    assert.equal(s.active[0].name, `forbid-${first / MIN + 1}`);
    assert.equal(Date.parse(s.lastSuccessfulTime), first + 30_000);
    assert.equal(Date.parse(s.lastScheduleTime), first + MIN);
  });

  test('Replace: the running Job is deleted and the new one takes its place', async (t) => {
    const cj = await c.create(R.cronjobs, ns, cronJob('replace', '* * * * *', { concurrencyPolicy: 'Replace' }));
    const first = (Math.floor(Date.parse(cj.metadata.creationTimestamp!) / MIN) + 1) * MIN;
    const clock = startController(t, first + 1000);
    await until('first job', async () => (await jobsOf(cj)).length === 1);
    clock.set(first + MIN + 1000);
    const s = await until('replaced', async () => {
      const js = await jobsOf(cj);
      const s = (await c.get(R.cronjobs, ns, 'replace')).status;
      return js.length === 1 && js[0].metadata.name === `replace-${first / MIN + 1}` && s?.active?.length === 1 && s.active[0].name === js[0].metadata.name && s;
    });
    assert.equal(Date.parse(s.lastScheduleTime), first + MIN);
  });

  test('history limits: only the newest successful and failed Jobs are kept', async (t) => {
    const cj = await c.create(R.cronjobs, ns, cronJob('hist', '* * * * *', { successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 1 }));
    const first = (Math.floor(Date.parse(cj.metadata.creationTimestamp!) / MIN) + 1) * MIN;
    const clock = startController(t, first);
    const outcomes = ['Complete', 'Complete', 'Failed', 'Complete', 'Failed'] as const;
    for (const [i, outcome] of outcomes.entries()) {
      clock.set(first + i * MIN + 1000);
      const job = await until(`job ${i}`, async () => (await jobsOf(cj)).find((j) => j.metadata.name === `hist-${first / MIN + i}`));
      await finish(job, outcome, first + i * MIN + 2000);
    }
    await until('old jobs deleted', async () => (await jobsOf(cj)).length === 2);
    await settle();
    assert.deepEqual((await jobsOf(cj)).map((j) => j.metadata.name), [`hist-${first / MIN + 3}`, `hist-${first / MIN + 4}`]);
    // The status is written after the deletions (same reconcile): wait for it.
    const s = await until('no active run in the status', async () => { const s = (await c.get(R.cronjobs, ns, 'hist')).status; return s && s.active === undefined && s; });
    assert.equal(Date.parse(s.lastSuccessfulTime), first + 3 * MIN + 2000);
  });

  test('suspend and startingDeadlineSeconds: no run while suspended, none too late to start', async (t) => {
    const cj = await c.create(R.cronjobs, ns, cronJob('late', '* * * * *', { suspend: true, startingDeadlineSeconds: 10 }));
    const first = (Math.floor(Date.parse(cj.metadata.creationTimestamp!) / MIN) + 1) * MIN;
    const clock = startController(t, first + 1000);
    await settle();
    assert.equal((await jobsOf(cj)).length, 0, 'suspended');
    clock.set(first + 30_000);
    await c.patch(R.cronjobs, ns, 'late', { spec: { suspend: false } });
    await settle();
    assert.equal((await jobsOf(cj)).length, 0, 'the run at `first` is 30 s late, past the 10 s deadline');
    clock.set(first + MIN + 5000);
    const [job] = await until('a job within the deadline', async () => { const js = await jobsOf(cj); return js.length > 0 && js; });
    assert.equal(job.metadata.name, `late-${first / MIN + 1}`);
  });

  test('mostRecentScheduleTime: latest missed time, bounded by lastScheduleTime and the deadline', () => {
    const sched = parseCron('0 * * * *', 'UTC');
    const cj = (spec: Record<string, unknown> = {}): KubeObject => ({ metadata: { creationTimestamp: '2020-01-01T00:30:00Z' }, spec });
    const at = (s: string) => new Date(s);
    assert.equal(mostRecentScheduleTime(cj(), {}, sched, at('2020-01-01T00:59:00Z')), undefined);
    assert.deepEqual(mostRecentScheduleTime(cj(), {}, sched, at('2020-01-01T01:00:00Z')), at('2020-01-01T01:00:00Z'));
    // A year of missed hours: the last one, found quickly.
    assert.deepEqual(mostRecentScheduleTime(cj(), {}, sched, at('2021-01-01T05:17:00Z')), at('2021-01-01T05:00:00Z'));
    assert.equal(mostRecentScheduleTime(cj(), { lastScheduleTime: '2021-01-01T05:00:00Z' }, sched, at('2021-01-01T05:17:00Z')), undefined);
    assert.equal(mostRecentScheduleTime(cj({ startingDeadlineSeconds: 600 }), {}, sched, at('2021-01-01T05:17:00Z')), undefined);
    assert.deepEqual(mostRecentScheduleTime(cj({ startingDeadlineSeconds: 1200 }), {}, sched, at('2021-01-01T05:17:00Z')), at('2021-01-01T05:00:00Z'));
  });
});
