// POST pods/<name>/eviction, as pkg/registry/core/pod/storage/eviction.go: a delete that asks the pod's
// PodDisruptionBudget first. A budget with no disruption left refuses with 429 (kubectl drain retries those);
// an allowed eviction takes one from status.disruptionsAllowed and records the pod in status.disruptedPods
// (a compare-and-swap on the budget, so two evictions never spend one disruption), then deletes the pod.
import { ApiError, badRequest, isConflict, notFound } from '../../api/errors.ts';
import { findResource, storagePrefix } from '../../api/resources.ts';
import { selectorFromLabelSelector } from '../../api/selectors.ts';
import { now, type DeleteOptions, type KubeObject } from '../../api/types.ts';
import type { CreateSubresource } from './kind.ts';

const PDB = findResource('policy', 'poddisruptionbudgets')!;
/** The most pods an eviction may record that the disruption controller has not seen deleted yet (MaxDisruptedPodSize). */
const MAX_DISRUPTED_POD_SIZE = 2000;
const RETRIES = 5;

const CREATED = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } as unknown as KubeObject;
const VIOLATES = "Cannot evict pod as it would violate the pod's disruption budget.";

/** 429 with a DisruptionBudget cause saying why (createTooManyRequestsError and checkAndDecrement's). */
const tooManyRequests = (message: string, cause?: string) =>
  new ApiError('TooManyRequests', message, cause ? { causes: [{ reason: 'DisruptionBudget', message: cause }] } : {});

// Kubernetes names the resource in the singular here (policy.Resource("poddisruptionbudget")).
const forbidden = (name: string, why: string) =>
  new ApiError('Forbidden', `poddisruptionbudget.policy "${name}" is forbidden: ${why}`, { name, group: 'policy', kind: 'poddisruptionbudget' });

export const isPodReady = (pod: KubeObject): boolean =>
  (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');

/** Terminal, pending or already deleting: the pod disrupts nothing more, the budget is not asked (canIgnorePDB). */
const canIgnorePDB = (pod: KubeObject): boolean =>
  ['Succeeded', 'Failed', 'Pending'].includes(pod.status?.phase) || Boolean(pod.metadata.deletionTimestamp);

/** The budget after this eviction (checkAndDecrement), or the error refusing it. */
export function decrement(pdb: KubeObject, podName: string, dryRun: boolean): KubeObject {
  const name = pdb.metadata.name!;
  const st = pdb.status ?? {};
  if ((st.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0)) throw tooManyRequests(VIOLATES, `The disruption budget ${name} is still being processed by the server.`);
  const allowed = st.disruptionsAllowed ?? 0;
  if (allowed < 0) throw forbidden(name, 'pdb disruptions allowed is negative');
  if (Object.keys(st.disruptedPods ?? {}).length > MAX_DISRUPTED_POD_SIZE) throw forbidden(name, 'DisruptedPods map too big - too many evictions not confirmed by PDB controller');
  if (allowed === 0) throw tooManyRequests(VIOLATES, `The disruption budget ${name} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently`);
  const next = structuredClone(pdb);
  next.status = { ...st, disruptionsAllowed: allowed - 1 };
  if (allowed - 1 === 0) setDisruptionAllowed(next);
  if (!dryRun) next.status.disruptedPods = { ...(st.disruptedPods ?? {}), [podName]: now() };
  return next;
}

/** pdbhelper.UpdateDisruptionAllowedCondition: True/SufficientPods while a disruption is allowed, else False/InsufficientPods. */
export function setDisruptionAllowed(pdb: KubeObject, reason?: string, message = ''): void {
  const st = pdb.status ??= {};
  const allowed = (st.disruptionsAllowed ?? 0) > 0 && !reason;
  const cond = {
    type: 'DisruptionAllowed', status: allowed ? 'True' : 'False', observedGeneration: st.observedGeneration ?? 0,
    reason: reason ?? (allowed ? 'SufficientPods' : 'InsufficientPods'), message,
  };
  const conditions: Array<Record<string, any>> = Array.isArray(st.conditions) ? st.conditions : [];
  const old = conditions.find((c) => c.type === 'DisruptionAllowed');
  // As meta.SetStatusCondition: the transition time moves only when the status does.
  const lastTransitionTime = old && old.status === cond.status ? old.lastTransitionTime : now();
  st.conditions = [...conditions.filter((c) => c !== old), { ...cond, lastTransitionTime }];
}

export const eviction: CreateSubresource = async (env, ctx, ref, body) => {
  const { info, ns, name } = env.itemRef(ref);
  if (body?.metadata?.name && body.metadata.name !== name) throw badRequest('name in URL does not match name in Eviction object');
  const given: DeleteOptions = (body as any)?.deleteOptions ?? {};
  const dryRun = Array.isArray(given.dryRun) && given.dryRun.includes('All');
  for (let attempt = 0; ; attempt++) {
    let pod: KubeObject;
    try { pod = await env.load(info, ns, name); } catch (err) { if (err instanceof ApiError && err.code === 'NotFound') throw notFound('pods', name); throw err; }
    const opts: DeleteOptions = structuredClone(given);
    if (!canIgnorePDB(pod)) {
      // The pod must still be the one the budget was asked about when it is deleted.
      if (!opts.preconditions?.resourceVersion) opts.preconditions = { ...(opts.preconditions ?? {}), resourceVersion: pod.metadata.resourceVersion };
      await checkBudget(env, pod, dryRun);
    }
    try {
      if (!dryRun) await env.delete(ctx, { ...ref, subresource: undefined }, opts);
      return CREATED;
    } catch (err) {
      // The pod changed under us (our own precondition): ask again.
      if (!isConflict(err) || given.preconditions?.resourceVersion || attempt >= RETRIES) throw err;
    }
  }
};

async function checkBudget(env: Parameters<CreateSubresource>[0], pod: KubeObject, dryRun: boolean): Promise<void> {
  const ns = pod.metadata.namespace!;
  for (let attempt = 0; ; attempt++) {
    const { items } = await env.store.list(storagePrefix('/registry', PDB, ns));
    const pdbs = items.filter((p) => {
      try { return selectorFromLabelSelector(p.spec?.selector).matches(pod.metadata.labels ?? {}); } catch { return false; }
    });
    if (pdbs.length > 1) throw tooManyRequests('This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    const pdb = pdbs[0];
    if (!pdb) return;
    if (!isPodReady(pod)) {
      // An unhealthy pod counts for nothing: it may go when the policy says so, or while the budget is met anyway.
      if (pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow') return;
      const st = pdb.status ?? {};
      if ((st.currentHealthy ?? 0) >= (st.desiredHealthy ?? 0) && (st.desiredHealthy ?? 0) > 0) return;
    }
    const next = decrement(pdb, pod.metadata.name!, dryRun);
    if (dryRun) return;
    try {
      await env.store.update(env.key(PDB, ns, pdb.metadata.name!), next, Number(pdb.metadata.resourceVersion));
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= RETRIES) throw err;
    }
  }
}
