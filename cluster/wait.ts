// Waiting in tests for the cluster to reach a state, the way `kubectl wait` and `kubectl rollout
// status` decide it. On timeout the error says what was expected, for how long, and what the object
// looked like last (or that it was never found), which is usually the whole diagnosis.
import { setTimeout as sleep } from 'node:timers/promises';
import { isNotFound } from '../api/errors.ts';
import { resolveResource } from '../api/resources.ts';
import type { KubeObject } from '../api/types.ts';
import type { ApiClient, ResourceKey } from '../client/index.ts';

export interface WaitOptions {
  /** Default 60 s. */
  timeoutMs?: number;
  /** What is being waited for, in words, for the error message. */
  what?: string;
  /** Poll interval, default 200 ms. */
  intervalMs?: number;
}

function resourceKey(resource: ResourceKey | string): ResourceKey {
  if (typeof resource !== 'string') return resource;
  const info = resolveResource(resource);
  if (!info) throw new Error(`waitFor: unknown resource ${JSON.stringify(resource)} (use a plural, singular or short name, e.g. deployments, pod, cm)`);
  return info;
}

/** The object without what only adds noise to an error message. */
function compact(obj: KubeObject): string {
  const { managedFields: _m, annotations, ...meta } = obj.metadata as KubeObject['metadata'] & { managedFields?: unknown };
  const kept = annotations && Object.fromEntries(Object.entries(annotations).filter(([k]) => k !== 'kubectl.kubernetes.io/last-applied-configuration'));
  const text = JSON.stringify({ ...obj, metadata: { ...meta, ...(kept && Object.keys(kept).length ? { annotations: kept } : {}) } });
  return text.length > 4000 ? `${text.slice(0, 4000)}…` : text;
}

/**
 * Polls the object until `predicate` holds and returns it. A predicate that throws ends the wait at once
 * with that error (a Job that failed will not complete). Errors reading the object count as "not yet".
 */
export async function waitFor<T extends KubeObject = KubeObject>(client: ApiClient, resource: ResourceKey | string, namespace: string | undefined,
  name: string, predicate: (obj: T) => boolean, opts: WaitOptions = {}): Promise<T> {
  const key = resourceKey(resource);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    let obj: T | undefined;
    try {
      obj = last = await client.get<T>(key, namespace, name);
      lastError = undefined;
    } catch (err) {
      if (isNotFound(err)) last = undefined;
      lastError = err;
    }
    if (obj && predicate(obj)) return obj;
    if (Date.now() >= deadline) break;
    await sleep(Math.min(opts.intervalMs ?? 200, Math.max(0, deadline - Date.now())));
  }
  const where = namespace ? `${namespace}/${name}` : name;
  const seen = last ? compact(last) : lastError && !isNotFound(lastError) ? `not read (${(lastError as Error).message})` : 'not found';
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${key.resource} ${where}${opts.what ? ` to be ${opts.what}` : ''}; last seen: ${seen}`);
}

/** kubectl rollout status: the controller saw the latest spec, and every replica is updated, ready and available (no old ones left). */
export function waitForDeployment(client: ApiClient, namespace: string, name: string, opts: WaitOptions = {}): Promise<KubeObject> {
  return waitFor(client, { group: 'apps', resource: 'deployments' }, namespace, name, (d) => {
    const want = d.spec?.replicas ?? 1;
    const st = d.status ?? {};
    return (st.observedGeneration ?? 0) >= (d.metadata.generation ?? 1) && (st.replicas ?? 0) === want &&
      (st.updatedReplicas ?? 0) === want && (st.readyReplicas ?? 0) === want && (st.availableReplicas ?? 0) === want;
  }, { what: 'rolled out (all replicas updated, ready and available)', ...opts });
}

/** Every node that should run the daemon runs the current version, ready and available. */
export function waitForDaemonSet(client: ApiClient, namespace: string, name: string, opts: WaitOptions = {}): Promise<KubeObject> {
  return waitFor(client, { group: 'apps', resource: 'daemonsets' }, namespace, name, (ds) => {
    const st = ds.status ?? {};
    const want = st.desiredNumberScheduled ?? 0;
    return (st.observedGeneration ?? 0) >= (ds.metadata.generation ?? 1) && (st.updatedNumberScheduled ?? 0) === want &&
      (st.numberReady ?? 0) === want && (st.numberAvailable ?? 0) === want;
  }, { what: 'rolled out on every node (updated, ready and available)', ...opts });
}

/** The Job is Complete; a Failed one ends the wait at once with its reason. */
export function waitForJob(client: ApiClient, namespace: string, name: string, opts: WaitOptions = {}): Promise<KubeObject> {
  const condition = (job: KubeObject, type: string) => (job.status?.conditions ?? []).find((c: { type: string; status: string }) => c.type === type && c.status === 'True');
  return waitFor(client, { group: 'batch', resource: 'jobs' }, namespace, name, (job) => {
    const failed = condition(job, 'Failed');
    if (failed) throw new Error(`job ${namespace}/${name} failed: ${failed.reason ?? 'Failed'}${failed.message ? `: ${failed.message}` : ''}`);
    return !!condition(job, 'Complete');
  }, { what: 'Complete', ...opts });
}
