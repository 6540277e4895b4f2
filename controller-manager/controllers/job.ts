// Job (batch/v1): run pods from spec.template until spec.completions of them have succeeded
// (or, with completions unset, until one has and none is left running), at most
// spec.parallelism at once. Too many failed pods (backoffLimit) or too long a run
// (activeDeadlineSeconds) fail the Job; suspend deletes its running pods. A finished Job is left
// alone. Pods are counted from the pods themselves (the pre-1.26 way): there is no
// batch.kubernetes.io/job-tracking finalizer, so a finished pod deleted by hand is not counted.
import type { KubeObject } from '../../api/types.ts';
import { selectorFromLabelSelector, type Selector } from '../../api/selectors.ts';
import { recordEvent } from '../../client/events.ts';
import { newQueue, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';
import { claimPods, deletionOrder, Expectations, ignoreGone, inBatches, isPodActive, isPodReady, ownerRefTo, podFromTemplate, watchOwnersAndPods } from '../pods.ts';

// The labels Kubernetes puts on a Job's pods (the API adds them to the template; ours does not).
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
const LEGACY_JOB_NAME_LABEL = 'job-name';
const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';

export interface JobControllerOptions {
  /** Delay before replacing a failed pod, doubled per failure since the last success (Kubernetes: 10 s). */
  podFailureBackoffMs?: number;
  /** Cap on that delay (Kubernetes: 10 min). */
  maxPodFailureBackoffMs?: number;
}

interface Condition { type: string; status: string; lastProbeTime?: string; lastTransitionTime?: string; reason?: string; message?: string }

const BURST = 50;
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export const isJobFinished = (job: KubeObject): boolean =>
  (job.status?.conditions ?? []).some((c: Condition) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');

export function newJobController(ctx: ControllerContext, opts: JobControllerOptions = {}): Controller {
  const { client, logger } = ctx;
  const backoffBase = opts.podFailureBackoffMs ?? 10_000;
  const backoffMax = opts.maxPodFailureBackoffMs ?? 600_000;
  const jobs = ctx.informers.get('jobs');
  const pods = ctx.informers.get('pods');
  const queue = newQueue();
  const expectations = new Expectations();
  const source = { component: 'job-controller' };
  const event = (job: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string) =>
    recordEvent(client, logger, source, { ...job, apiVersion: 'batch/v1', kind: 'Job' }, type, reason, message);

  watchOwnersAndPods({ owners: jobs, pods, queue, expectations, kind: 'Job', selector: selectorOf });

  async function reconcile(key: string): Promise<void> {
    const { name, namespace } = splitKey(key);
    const job = jobs.get(name, namespace);
    if (!job) { expectations.forget(key); return; }
    if (isJobFinished(job) || job.metadata.deletionTimestamp) return;
    const ns = job.metadata.namespace!;
    let selector: Selector;
    try { selector = selectorOf(job); } catch (err) { logger.warn({ key, err: String(err) }, 'invalid selector; skipped'); return; }
    const ref = ownerRefTo(job, 'batch/v1', 'Job');
    const claimed = await claimPods(client, job, ref, selector, pods.byIndex('byNamespace', ns));
    const activePods = claimed.filter(isPodActive);
    const succeeded = claimed.filter((p) => p.status?.phase === 'Succeeded').length;
    const failedPods = claimed.filter((p) => p.status?.phase === 'Failed');
    let failed = failedPods.length;
    let active = activePods.length;
    const spec = job.spec ?? {};
    const status = structuredClone(job.status ?? {});
    const nowMs = Date.now();
    const now = rfc3339(nowMs);
    if (!spec.suspend && !status.startTime) status.startTime = now;

    const deadlineMs = spec.activeDeadlineSeconds && status.startTime ? Date.parse(status.startTime) + spec.activeDeadlineSeconds * 1000 : undefined;
    let failure: { reason: string; message: string } | undefined;
    if (failed > (spec.backoffLimit ?? 6) || pastBackoffLimitOnFailure(spec, activePods)) {
      failure = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
    } else if (!spec.suspend && deadlineMs !== undefined && deadlineMs <= nowMs) {
      failure = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
    }

    if (failure || spec.suspend) {
      // A failed or suspended Job keeps no pod running; pods killed by a failure count as failed.
      const deleted = await deletePods(key, job, activePods);
      active -= deleted;
      if (failure) {
        failed += deleted;
        setCondition(status, 'Failed', 'True', failure.reason, failure.message, now);
        event(job, 'Warning', failure.reason, failure.message);
      } else if (setCondition(status, 'Suspended', 'True', 'JobSuspended', 'Job suspended', now)) {
        event(job, 'Normal', 'Suspended', 'Job suspended');
      }
    } else {
      if (setCondition(status, 'Suspended', 'False', 'JobResumed', 'Job resumed', now, true)) {
        // activeDeadlineSeconds counts from the resume.
        status.startTime = now;
        event(job, 'Normal', 'Resumed', 'Job resumed');
      }
      const parallelism = spec.parallelism ?? 1;
      const want = spec.completions == null
        ? (succeeded > 0 ? active : parallelism) // work queue: once one pod succeeded, start no more
        : Math.max(0, Math.min(parallelism, spec.completions - succeeded));
      if (expectations.satisfied(key)) {
        if (active > want) {
          active -= await deletePods(key, job, [...activePods].sort(deletionOrder).slice(0, active - want));
        } else if (active < want) {
          const wait = backoffRemaining(claimed, nowMs);
          if (wait > 0) queue.addAfter(key, wait);
          else active += await createPods(key, job, ref, want - active);
        }
      }
      const complete = spec.completions == null ? succeeded > 0 && active === 0 : succeeded >= spec.completions && active === 0;
      if (complete) {
        setCondition(status, 'Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods', now);
        status.completionTime = now;
        event(job, 'Normal', 'Completed', 'Job completed');
      } else if (deadlineMs !== undefined && !spec.suspend) {
        queue.addAfter(key, Math.max(0, deadlineMs - nowMs) + 10);
      }
    }

    for (const [field, n] of [['active', active], ['succeeded', succeeded], ['failed', failed]] as const) {
      if (n > 0) status[field] = n; else delete status[field];
    }
    status.ready = active > 0 ? activePods.filter(isPodReady).length : 0; // none left once all were deleted
    if (JSON.stringify(status) !== JSON.stringify(job.status ?? {})) {
      await client.updateStatus(R.jobs, ns, { ...job, status });
    }
  }

  async function createPods(key: string, job: KubeObject, ref: ReturnType<typeof ownerRefTo>, n: number): Promise<number> {
    const ns = job.metadata.namespace!;
    const labels = {
      [CONTROLLER_UID_LABEL]: job.metadata.uid!, [JOB_NAME_LABEL]: job.metadata.name!,
      [LEGACY_CONTROLLER_UID_LABEL]: job.metadata.uid!, [LEGACY_JOB_NAME_LABEL]: job.metadata.name!,
    };
    expectations.expect(key, n, 0);
    let created = 0;
    await inBatches([...Array(n).keys()], BURST, async () => {
      try {
        const pod = await client.create(R.pods, ns, podFromTemplate(job.spec?.template, ref, ns, { labels }));
        created++;
        event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      } catch (err) {
        expectations.lowerAdd(key);
        event(job, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
        throw err;
      }
    });
    return created;
  }

  async function deletePods(key: string, job: KubeObject, victims: KubeObject[]): Promise<number> {
    if (!victims.length) return 0;
    expectations.expect(key, 0, victims.length);
    await inBatches(victims, BURST, async (p) => {
      try {
        await client.delete(R.pods, p.metadata.namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } });
        event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
      } catch (err) { expectations.lowerDelete(key); ignoreGone(err as { code?: string }); }
    });
    return victims.length;
  }

  // The delay before replacing failed pods: base · 2^(failures since the last success − 1), from the last failure.
  function backoffRemaining(claimed: KubeObject[], nowMs: number): number {
    const lastSuccess = Math.max(-Infinity, ...claimed.filter((p) => p.status?.phase === 'Succeeded').map(finishedAt));
    const failures = claimed.filter((p) => p.status?.phase === 'Failed').map(finishedAt).filter((t) => t >= lastSuccess);
    if (!failures.length) return 0;
    const delay = Math.min(backoffMax, backoffBase * 2 ** (failures.length - 1));
    return Math.max(...failures) + delay - nowMs;
  }

  return { name: 'job', queue, reconcile, workers: 4 };
}

/** spec.selector if set (manualSelector); else the controller-uid label Kubernetes would have put there. */
function selectorOf(job: KubeObject): Selector {
  return selectorFromLabelSelector(job.spec?.selector ?? { matchLabels: { [CONTROLLER_UID_LABEL]: job.metadata.uid! } });
}

/** With restartPolicy OnFailure failures are container restarts: their sum reaching backoffLimit fails the Job. */
function pastBackoffLimitOnFailure(spec: KubeObject['spec'], active: KubeObject[]): boolean {
  if (spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
  const limit = spec.backoffLimit ?? 6;
  let restarts = 0;
  for (const p of active) {
    for (const c of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) restarts += c.restartCount ?? 0;
  }
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

/** When a pod finished: its last container's finishedAt, else when it stopped being ready, else its creation. */
function finishedAt(p: KubeObject): number {
  const ends = [...(p.status?.containerStatuses ?? [])].map((c) => Date.parse(c.state?.terminated?.finishedAt ?? '')).filter(Number.isFinite);
  if (ends.length) return Math.max(...ends);
  const ready = (p.status?.conditions ?? []).find((c: Condition) => c.type === 'Ready' && c.status === 'False');
  const t = Date.parse(ready?.lastTransitionTime ?? p.metadata.creationTimestamp ?? '');
  return Number.isFinite(t) ? t : 0;
}

/**
 * Set a condition (as Kubernetes' ensureJobConditionStatus): times change only when its status
 * does. `onlyIfPresent` updates an existing condition but never adds one. True when it changed.
 */
function setCondition(status: Record<string, any>, type: string, value: string, reason: string, message: string, now: string, onlyIfPresent = false): boolean {
  const conds: Condition[] = (status.conditions ??= []);
  const c = conds.find((x) => x.type === type);
  if (!c) {
    if (onlyIfPresent) { if (!conds.length) delete status.conditions; return false; }
    conds.push({ type, status: value, lastProbeTime: now, lastTransitionTime: now, reason, message });
    return true;
  }
  if (c.status === value) return false;
  Object.assign(c, { status: value, lastProbeTime: now, lastTransitionTime: now, reason, message });
  return true;
}
