// Pure helpers of the Deployment controller (as Kubernetes' deployment/util): surge and
// unavailability bounds, revisions, template equality, conditions and rollout arithmetic.
import type { KubeObject } from '../../api/types.ts';
import { now } from '../../api/types.ts';
import { stableJson } from '../pods.ts';

export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const HASH_LABEL = 'pod-template-hash';

/** Annotations a Deployment does not pass on to its ReplicaSets. */
const NOT_COPIED = new Set([REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, 'kubectl.kubernetes.io/last-applied-configuration']);

export const replicasOf = (o: KubeObject): number => o.spec?.replicas ?? 0;
export const revisionOf = (o: KubeObject): number => Number(o.metadata.annotations?.[REVISION] ?? 0) || 0;

/** "25%" of total (rounded up or down) or a plain number. */
export function scaledValue(v: number | string | undefined, total: number, roundUp: boolean, dflt: number | string): number {
  const x = v ?? dflt;
  if (typeof x === 'number') return x;
  const m = /^(\d+)%$/.exec(x);
  if (!m) return Number(x) || 0;
  const f = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(f) : Math.floor(f);
}

/** [maxSurge, maxUnavailable] resolved against spec.replicas; both 0 is read as unavailable 1. */
export function surgeAndUnavailable(d: KubeObject): [number, number] {
  if (d.spec?.strategy?.type === 'Recreate') return [0, replicasOf(d)];
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  const replicas = replicasOf(d);
  const surge = scaledValue(ru.maxSurge, replicas, true, '25%');
  let unavailable = scaledValue(ru.maxUnavailable, replicas, false, '25%');
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return [surge, Math.min(unavailable, replicas)];
}

/** Templates equal apart from the pod-template-hash label (as EqualIgnoreHash). */
export function sameTemplate(a: KubeObject | undefined, b: KubeObject | undefined): boolean {
  const strip = (t: KubeObject | undefined) => {
    const c = structuredClone(t ?? { metadata: {} });
    if (c.metadata?.labels) { delete c.metadata.labels[HASH_LABEL]; if (!Object.keys(c.metadata.labels).length) delete c.metadata.labels; }
    if (c.metadata && !Object.keys(c.metadata).length) delete (c as Partial<KubeObject>).metadata;
    return stableJson(dropNulls(c));
  };
  return strip(a) === strip(b);
}

/** kubectl sends `creationTimestamp: null` inside templates; Kubernetes reads a null as absent. */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, dropNulls(x)]));
  return v;
}

/** Annotations the new ReplicaSet carries: the Deployment's own (change-cause…) plus bookkeeping. */
export function rsAnnotations(d: KubeObject, rs: KubeObject | undefined, revision: number): Record<string, string> {
  const out: Record<string, string> = { ...(rs?.metadata.annotations ?? {}) };
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!NOT_COPIED.has(k)) out[k] = v;
  const old = revisionOf(rs ?? { metadata: {} });
  if (old && old < revision) {
    // A rollback brings an old ReplicaSet back: remember which revisions it has been.
    const hist = out[REVISION_HISTORY] ? out[REVISION_HISTORY].split(',') : [];
    out[REVISION_HISTORY] = [...hist, String(old)].join(',');
  }
  if (!old || old < revision) out[REVISION] = String(revision);
  const [surge] = surgeAndUnavailable(d);
  out[DESIRED_REPLICAS] = String(replicasOf(d));
  out[MAX_REPLICAS] = String(replicasOf(d) + surge);
  return out;
}

export interface Condition { type: string; status: string; reason?: string; message?: string; lastUpdateTime?: string; lastTransitionTime?: string }

/** Set a condition, keeping lastTransitionTime when the status does not change (as SetDeploymentCondition). */
export function setCondition(conds: Condition[], c: Omit<Condition, 'lastUpdateTime' | 'lastTransitionTime'>): Condition[] {
  const old = conds.find((x) => x.type === c.type);
  if (old && old.status === c.status && old.reason === c.reason && old.message === c.message) return conds;
  const t = now();
  const next: Condition = { ...c, lastUpdateTime: t, lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : t };
  return [...conds.filter((x) => x.type !== c.type), next];
}

export const getCondition = (d: KubeObject, type: string): Condition | undefined =>
  (d.status?.conditions ?? []).find((c: Condition) => c.type === type);

/** Proportional share of `toAdd` for one ReplicaSet when a Deployment is scaled mid-rollout. */
export function proportion(rs: KubeObject, toAdd: number, deploymentMaxReplicas: number): number {
  const annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS] ?? 0);
  if (!annotated || !toAdd) return 0;
  const share = Math.round((replicasOf(rs) * deploymentMaxReplicas) / annotated) - replicasOf(rs);
  return toAdd > 0 ? Math.min(share, toAdd) : Math.max(share, toAdd);
}
