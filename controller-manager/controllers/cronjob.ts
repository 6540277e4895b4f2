// CronJob (batch/v1), as Kubernetes' cronjob_controllerv2: at each scheduled time create a Job
// `<cronjob>-<scheduled time in minutes since the epoch>` from spec.jobTemplate. The name is the
// lock that keeps a stale cache from creating the same run twice. Only the most recent missed
// time is run (and only within startingDeadlineSeconds); concurrencyPolicy decides what happens
// when the last run is still going; finished Jobs beyond the history limits are deleted.
// A reconcile re-queues itself for the next scheduled time; a periodic check catches the rest.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeObject } from '../../api/types.ts';
import { keyOf } from '../../client/informer.ts';
import { recordEvent } from '../../client/events.ts';
import { enqueueOwner, enqueueSelf, newQueue, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';
import { ownerRefTo } from '../pods.ts';
import { parseCron, type CronSchedule } from './cron-schedule.ts';
import { isJobFinished } from './job.ts';

export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

export interface CronJobControllerOptions {
  /** The clock schedules are read against (tests move it). */
  now?: () => Date;
}

interface JobRef { apiVersion: string; kind: string; name: string; namespace: string; uid: string; resourceVersion?: string }
interface Condition { type: string; status: string }

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const hasCondition = (j: KubeObject, type: string) => (j.status?.conditions ?? []).some((c: Condition) => c.type === type && c.status === 'True');
/** Kubernetes' getJobName: the scheduled time in minutes, so every run has its own fixed name. */
export const jobNameFor = (cronJobName: string, scheduled: Date): string => `${cronJobName}-${Math.floor(scheduled.getTime() / 60_000)}`;

export function newCronJobController(ctx: ControllerContext, opts: CronJobControllerOptions = {}): Controller {
  const { client, logger } = ctx;
  const clock = opts.now ?? (() => new Date());
  const cronjobs = ctx.informers.get('cronjobs');
  const jobs = ctx.informers.get('jobs');
  const queue = newQueue();
  const source = { component: 'cronjob-controller' };
  const event = (cj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string) =>
    recordEvent(client, logger, source, { ...cj, apiVersion: 'batch/v1', kind: 'CronJob' }, type, reason, message);

  enqueueSelf(cronjobs, queue);
  enqueueOwner(jobs, queue, 'CronJob');

  async function reconcile(key: string): Promise<void> {
    const { name, namespace } = splitKey(key);
    const cached = cronjobs.get(name, namespace);
    if (!cached) return;
    const cj = structuredClone(cached);
    const ns = cj.metadata.namespace!;
    const spec = cj.spec ?? {};
    const status = structuredClone(cj.status ?? {});
    let active: JobRef[] = [...(status.active ?? [])];
    const children = jobs.byIndex('byControllerUid', cj.metadata.uid!).filter((j) => j.metadata.namespace === ns);

    // Finished and vanished Jobs leave the active list. A running Job missing from it is left
    // alone (as Kubernetes does): if it is this run's, creating it again meets AlreadyExists and
    // adds it then.
    for (const j of children) {
      if (isJobFinished(j) && active.some((r) => r.uid === j.metadata.uid)) {
        active = active.filter((r) => r.uid !== j.metadata.uid);
        event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata.name}, condition: ${hasCondition(j, 'Complete') ? 'Complete' : 'Failed'}`);
      }
      const done = j.status?.completionTime;
      if (hasCondition(j, 'Complete') && done && (!status.lastSuccessfulTime || Date.parse(done) > Date.parse(status.lastSuccessfulTime))) status.lastSuccessfulTime = done;
    }
    for (const r of active.filter((r) => !children.some((j) => j.metadata.uid === r.uid))) {
      // The Jobs cache may be behind our own create: ask the apiserver before dropping it.
      const live = await client.get(R.jobs, ns, r.name).catch((err) => { if (err?.code === 'NotFound') return undefined; throw err; });
      if (live?.metadata.uid === r.uid) continue;
      active = active.filter((x) => x.uid !== r.uid);
      event(cj, 'Normal', 'MissingJob', `Active job went missing: ${r.name}`);
    }

    const now = clock();
    let next: Date | undefined;
    if (!cj.metadata.deletionTimestamp && !spec.suspend) {
      let sched: CronSchedule | undefined;
      try { sched = parseCron(String(spec.schedule ?? ''), spec.timeZone); } catch (err) {
        const reason = /time zone/.test((err as Error).message) ? 'UnknownTimeZone' : 'UnparseableSchedule';
        event(cj, 'Warning', reason, `unparseable schedule: ${JSON.stringify(spec.schedule)} : ${(err as Error).message}`);
      }
      try {
        const scheduled = sched && mostRecentScheduleTime(cj, status, sched, now);
        next = sched?.next(now);
        if (scheduled) active = await runAt(cj, status, active, scheduled);
      } catch (err) {
        if ((err as { code?: string }).code) throw err; // an API error: retry
        event(cj, 'Warning', 'InvalidSchedule', `invalid schedule: ${spec.schedule} : ${(err as Error).message}`);
      }
    }
    if (!cj.metadata.deletionTimestamp) await cleanupFinishedJobs(cj, children);

    if (active.length) status.active = active; else delete status.active;
    if (JSON.stringify(status) !== JSON.stringify(cached.status ?? {})) await client.updateStatus(R.cronjobs, ns, { ...cached, status });
    // Look again just after the next scheduled time (Kubernetes adds 100 ms too).
    if (next) queue.addAfter(key, next.getTime() - now.getTime() + 100);
  }

  /** Start the run for `scheduled` unless it already ran or concurrencyPolicy forbids it; the new active list. */
  async function runAt(cj: KubeObject, status: Record<string, any>, active: JobRef[], scheduled: Date): Promise<JobRef[]> {
    const ns = cj.metadata.namespace!;
    const jobName = jobNameFor(cj.metadata.name!, scheduled);
    if (active.some((r) => r.name === jobName) || (status.lastScheduleTime && Date.parse(status.lastScheduleTime) === scheduled.getTime())) return active;
    const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && active.length) {
      event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return active;
    }
    if (policy === 'Replace') {
      for (const r of active) {
        await client.delete(R.jobs, ns, r.name, { propagationPolicy: 'Background', preconditions: { uid: r.uid } }).catch((err) => { if (err?.code !== 'NotFound' && err?.code !== 'Conflict') throw err; });
        event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${r.name}`);
      }
      active = [];
    }
    const jt = cj.spec?.jobTemplate ?? {};
    const job: KubeObject = {
      apiVersion: 'batch/v1', kind: 'Job',
      metadata: {
        name: jobName, namespace: ns,
        labels: { ...(jt.metadata?.labels ?? {}) },
        annotations: { ...(jt.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP_ANNOTATION]: rfc3339(scheduled.getTime()) },
        ownerReferences: [ownerRefTo(cj, 'batch/v1', 'CronJob')],
      },
      spec: structuredClone(jt.spec ?? {}),
    };
    let made: KubeObject;
    try {
      made = await client.create(R.jobs, ns, job);
      event(cj, 'Normal', 'SuccessfulCreate', `Created job ${jobName}`);
    } catch (err) {
      if ((err as { code?: string }).code !== 'AlreadyExists') {
        event(cj, 'Warning', 'FailedCreate', `Error creating job: ${(err as Error).message}`);
        throw err;
      }
      // Someone (we, with a stale cache) made it already. Only a Job we control counts as this run.
      made = await client.get(R.jobs, ns, jobName);
      if (!made.metadata.ownerReferences?.some((r) => r.controller && r.uid === cj.metadata.uid)) return active;
    }
    status.lastScheduleTime = rfc3339(scheduled.getTime());
    return active.some((r) => r.uid === made.metadata.uid) ? active : [...active, refTo(made)];
  }

  /** Delete the oldest finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit. */
  async function cleanupFinishedJobs(cj: KubeObject, children: KubeObject[]): Promise<void> {
    const limits: Array<[string, number | undefined]> = [['Complete', cj.spec?.successfulJobsHistoryLimit], ['Failed', cj.spec?.failedJobsHistoryLimit]];
    for (const [type, limit] of limits) {
      if (limit == null) continue;
      const finished = children.filter((j) => hasCondition(j, type) && !j.metadata.deletionTimestamp).sort(byStartTime);
      for (const j of finished.slice(0, Math.max(0, finished.length - limit))) {
        await client.delete(R.jobs, j.metadata.namespace, j.metadata.name!, { propagationPolicy: 'Background', preconditions: { uid: j.metadata.uid } })
          .then(() => event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata.name}`))
          .catch((err) => { if (err?.code !== 'NotFound' && err?.code !== 'Conflict') throw err; });
      }
    }
  }

  // The periodic check: every CronJob is looked at again, whatever was missed.
  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try { await sleep(ctx.options.cronJobCheckPeriodMs, undefined, { signal }); } catch { return; }
      for (const cj of cronjobs.list()) queue.add(keyOf(cj));
    }
  }

  return { name: 'cronjob', queue, reconcile, run, workers: 2 };
}

/**
 * The latest scheduled time in (lastScheduleTime or creation, now], no earlier than
 * startingDeadlineSeconds ago; undefined if none. Searches back from now in doubling windows so a
 * CronJob that missed a year of minutes costs a few steps, not half a million.
 */
export function mostRecentScheduleTime(cj: KubeObject, status: Record<string, any>, sched: CronSchedule, now: Date): Date | undefined {
  let earliest = Date.parse(status.lastScheduleTime ?? cj.metadata.creationTimestamp ?? '');
  if (!Number.isFinite(earliest)) earliest = now.getTime();
  const deadline = cj.spec?.startingDeadlineSeconds;
  if (deadline != null) earliest = Math.max(earliest, now.getTime() - deadline * 1000);
  if (earliest >= now.getTime()) return undefined;
  for (let window = 60_000; ; window *= 2) {
    const from = Math.max(earliest, now.getTime() - window);
    let t = sched.next(new Date(from));
    if (t <= now) {
      for (let n = sched.next(t); n <= now; n = sched.next(n)) t = n;
      return t;
    }
    if (from === earliest) return undefined;
  }
}

function refTo(j: KubeObject): JobRef {
  return { apiVersion: 'batch/v1', kind: 'Job', name: j.metadata.name!, namespace: j.metadata.namespace!, uid: j.metadata.uid!, resourceVersion: j.metadata.resourceVersion };
}

/** Oldest first; Jobs that never started last; ties by name (as Kubernetes' byJobStartTime). */
function byStartTime(a: KubeObject, b: KubeObject): number {
  const [sa, sb] = [a.status?.startTime, b.status?.startTime];
  if (!sa !== !sb) return sa ? -1 : 1;
  if (sa !== sb) return Date.parse(sa) - Date.parse(sb);
  return (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}
