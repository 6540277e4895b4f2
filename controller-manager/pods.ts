// Helpers shared by the workload controllers: owner references, pods from templates,
// pod readiness/availability, adoption and release (as Kubernetes' controller_utils and
// ControllerRefManager), and the pod-template hash.
import type { KubeObject, OwnerReference } from '../api/types.ts';
import type { Selector } from '../api/selectors.ts';
import type { ApiClient } from '../client/api-client.ts';
import { keyOf, type Informer } from '../client/informer.ts';
import type { WorkQueue } from '../client/workqueue.ts';
import { R } from './informers.ts';

export const controllerRef = (o: KubeObject): OwnerReference | undefined => o.metadata.ownerReferences?.find((r) => r.controller);

export function ownerRefTo(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

/** A pod for `owner` from its template: labels and annotations copied, generateName `<owner>-`. */
export function podFromTemplate(template: KubeObject | undefined, ref: OwnerReference, namespace: string, extra: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string>; hostname?: string; nodeAffinityTo?: string } = {}): KubeObject {
  const t = structuredClone(template ?? { metadata: {} }) as KubeObject;
  const spec = t.spec ?? {};
  if (extra.hostname) spec.hostname = extra.hostname;
  if (extra.nodeAffinityTo) {
    // DaemonSet pods are pinned with a node affinity on metadata.name (as the DaemonSet controller does).
    spec.affinity = { ...(spec.affinity ?? {}), nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [extra.nodeAffinityTo] }] }] } } };
  }
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      ...(extra.name ? { name: extra.name } : { generateName: `${ref.name}-` }),
      namespace,
      labels: { ...(t.metadata?.labels ?? {}), ...(extra.labels ?? {}) },
      annotations: { ...(t.metadata?.annotations ?? {}), ...(extra.annotations ?? {}) },
      ownerReferences: [ref],
    },
    spec,
  };
}

export const isTerminated = (p: KubeObject): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
/** Counts toward a controller's replicas: not finished and not being deleted. */
export const isPodActive = (p: KubeObject): boolean => !isTerminated(p) && !p.metadata.deletionTimestamp;

export function isPodReady(p: KubeObject): boolean {
  return (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

/** Ready for at least minReadySeconds (as podutil.IsPodAvailable). */
export function isPodAvailable(p: KubeObject, minReadySeconds = 0, nowMs = Date.now()): boolean {
  if (!isPodReady(p)) return false;
  if (!minReadySeconds) return true;
  const c = (p.status?.conditions ?? []).find((x: { type: string }) => x.type === 'Ready');
  const since = Date.parse(c?.lastTransitionTime ?? '');
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= nowMs;
}

/**
 * The pods `owner` controls after adoption and release: orphans that match its selector are
 * adopted (a controller ownerReference is added), owned pods that no longer match are released.
 * Conflicts are left to the next reconcile.
 */
export async function claimPods(client: ApiClient, owner: KubeObject, ref: OwnerReference, selector: Selector, candidates: KubeObject[]): Promise<KubeObject[]> {
  const mine: KubeObject[] = [];
  for (const pod of candidates) {
    const cref = controllerRef(pod);
    const matches = selector.matches(pod.metadata.labels);
    if (cref) {
      if (cref.uid !== owner.metadata.uid) continue;
      if (matches) { mine.push(pod); continue; }
      if (owner.metadata.deletionTimestamp) continue;
      await client.patch(R.pods, pod.metadata.namespace, pod.metadata.name!, [
        { op: 'test', path: '/metadata/uid', value: pod.metadata.uid },
        { op: 'replace', path: '/metadata/ownerReferences', value: (pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== owner.metadata.uid) },
      ], { type: 'json' }).catch(ignoreGone);
      continue;
    }
    if (!matches || owner.metadata.deletionTimestamp || pod.metadata.deletionTimestamp || isTerminated(pod)) continue;
    const adopted = await client.patch(R.pods, pod.metadata.namespace, pod.metadata.name!, {
      metadata: { ownerReferences: [...(pod.metadata.ownerReferences ?? []), ref], uid: pod.metadata.uid },
    }).catch(ignoreGone);
    if (adopted) mine.push(adopted as KubeObject);
  }
  return mine;
}

/** For a `.catch()`: an object already gone is fine, anything else is thrown on. */
export function ignoreNotFound(err: unknown): undefined {
  if ((err as { code?: string })?.code !== 'NotFound') throw err;
  return undefined;
}

export function ignoreGone(err: { code?: string }): undefined {
  if (err?.code === 'NotFound' || err?.code === 'Conflict' || err?.code === 'Invalid') return undefined;
  throw err;
}

/** Sort for scale-down, most expendable first (as controller.ActivePods ordering). */
export function deletionOrder(a: KubeObject, b: KubeObject): number {
  const rank = (p: KubeObject) => [
    p.spec?.nodeName ? 1 : 0,
    ({ Pending: 0, Unknown: 1, Running: 2 } as Record<string, number>)[p.status?.phase] ?? 0,
    isPodReady(p) ? 1 : 0,
  ];
  const [ra, rb] = [rank(a), rank(b)];
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
  const restarts = (p: KubeObject) => (p.status?.containerStatuses ?? []).reduce((s: number, c: { restartCount?: number }) => s + (c.restartCount ?? 0), 0);
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
  // Newer pods go first.
  return (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '');
}

/** FNV-1a 32-bit of the template (and collision count), written in Kubernetes' safe alphabet. */
export function templateHash(template: unknown, collisionCount = 0): string {
  let h = 0x811c9dc5;
  const s = stableJson(template) + (collisionCount ? String(collisionCount) : '');
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (const ch of String(h)) out += alphabet[ch.charCodeAt(0) % alphabet.length];
  return out;
}

export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/**
 * Creates and deletes in flight per controller key (as ControllerExpectations): until the
 * informer has seen them, a reconcile must not act on a cache that does not show them yet,
 * or it would create a pod twice. Expectations lapse after a timeout so nothing waits forever.
 */
export class Expectations {
  private readonly m = new Map<string, { add: number; del: number; at: number }>();
  constructor(private readonly ttlMs = 60_000) {}
  expect(key: string, add: number, del: number): void { this.m.set(key, { add, del, at: Date.now() }); }
  observedAdd(key: string): void { const e = this.m.get(key); if (e) e.add--; }
  observedDelete(key: string): void { const e = this.m.get(key); if (e) e.del--; }
  /** A create or delete that failed will never be observed. */
  lowerAdd(key: string, n = 1): void { const e = this.m.get(key); if (e) e.add -= n; }
  lowerDelete(key: string, n = 1): void { const e = this.m.get(key); if (e) e.del -= n; }
  satisfied(key: string): boolean {
    const e = this.m.get(key);
    return !e || (e.add <= 0 && e.del <= 0) || Date.now() - e.at > this.ttlMs;
  }
  forget(key: string): void { this.m.delete(key); }
}

/** Run `fn` over items with at most `limit` at once; results in order; first error thrown after all settle. */
export async function inBatches<T, U>(items: T[], limit: number, fn: (t: T) => Promise<U>): Promise<U[]> {
  const out: U[] = new Array(items.length);
  let next = 0;
  let firstErr: unknown;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try { out[i] = await fn(items[i]); } catch (err) { firstErr ??= err; }
    }
  };
  await Promise.all([...Array(Math.min(limit, items.length))].map(worker));
  if (firstErr) throw firstErr;
  return out;
}

/**
 * The event handlers of a controller that owns pods directly (ReplicaSet, ReplicationController,
 * Job), as Kubernetes' controllers have them: the owner's own changes enqueue it; a pod's changes
 * enqueue its controlling owner of `kind` and settle that owner's expectations; an orphan enqueues
 * every owner in its namespace whose selector matches it, which may adopt it.
 */
export function watchOwnersAndPods(o: {
  owners: Informer; pods: Informer; queue: WorkQueue<string>; expectations: Expectations; kind: string; selector: (owner: KubeObject) => Selector;
}): void {
  const { owners, pods, queue, expectations, kind } = o;
  owners.addHandlers({
    onAdd: (x) => queue.add(keyOf(x)),
    onUpdate: (_old, x) => queue.add(keyOf(x)),
    onDelete: (x) => { expectations.forget(keyOf(x)); queue.add(keyOf(x)); },
  });
  const ownerKey = (p: KubeObject): string | undefined => {
    const ref = controllerRef(p);
    return ref?.kind === kind ? `${p.metadata.namespace}/${ref.name}` : undefined;
  };
  const enqueueMatchingOwners = (p: KubeObject) => {
    for (const owner of owners.byIndex('byNamespace', p.metadata.namespace ?? '')) {
      try { if (o.selector(owner).matches(p.metadata.labels)) queue.add(keyOf(owner)); } catch { /* bad selector: ignored */ }
    }
  };
  pods.addHandlers({
    onAdd: (p) => {
      const key = ownerKey(p);
      if (key) { expectations.observedAdd(key); queue.add(key); } else if (!controllerRef(p)) enqueueMatchingOwners(p);
    },
    onUpdate: (old, p) => {
      const key = ownerKey(p);
      if (key && p.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) expectations.observedDelete(key);
      if (key) queue.add(key);
      const oldKey = ownerKey(old);
      if (oldKey && oldKey !== key) queue.add(oldKey);
      if (!controllerRef(p)) enqueueMatchingOwners(p);
    },
    onDelete: (p) => {
      const key = ownerKey(p);
      if (key) { if (!p.metadata.deletionTimestamp) expectations.observedDelete(key); queue.add(key); }
    },
  });
}
