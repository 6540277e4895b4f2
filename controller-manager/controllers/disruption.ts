// The disruption controller (pkg/controller/disruption): keeps each PodDisruptionBudget's status — the pods it
// selects, how many are healthy (Ready, not deleting, not just evicted), how many must be (minAvailable, or the
// owners' scale minus maxUnavailable; percents of the owners' scale), and so how many disruptions the eviction
// subresource may allow. Pods an eviction recorded in disruptedPods stay counted as gone until they are seen
// deleting, or for two minutes. A budget it cannot compute (a pod whose owner is missing) fails safe: no
// disruption allowed, condition SyncFailed.
import type { KubeObject } from '../../api/types.ts';
import { now } from '../../api/types.ts';
import { selectorFromLabelSelector } from '../../api/selectors.ts';
import { recordEvent } from '../../client/events.ts';
import { keyOf, type Informer } from '../../client/informer.ts';
import { newQueue, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';
import { controllerRef, isPodReady } from '../pods.ts';

/** How long an eviction's pod may stay undeleted before it counts again (DeletionTimeout). */
export const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

type Obj = Record<string, any>;
/** The scale of a pod's controller, found from the controller reference (the controller's finders). */
export type ScaleFinder = (ref: { kind: string; name: string; uid: string }, namespace: string) => { uid: string; scale: number } | undefined;

/** intstr.GetScaledValueFromIntOrPercent. */
const scaled = (v: number | string, total: number, roundUp: boolean) => {
  if (typeof v === 'number') return v;
  const pct = Number(String(v).replace(/%$/, ''));
  return roundUp ? Math.ceil((pct * total) / 100) : Math.floor((pct * total) / 100);
};

export function podsForBudget(pdb: KubeObject, pods: KubeObject[]): KubeObject[] {
  let sel;
  try { sel = selectorFromLabelSelector(pdb.spec?.selector); } catch { return []; }
  return pods.filter((p) => p.metadata.namespace === pdb.metadata.namespace && sel.matches(p.metadata.labels ?? {}));
}

/** getExpectedScale: the sum of the scales of the pods' controllers (each once); pods without one are unmanaged. */
export function expectedScale(pods: KubeObject[], find: ScaleFinder): { expected: number; unmanaged: string[] } {
  const scales = new Map<string, number>();
  const unmanaged: string[] = [];
  for (const pod of pods) {
    const ref = controllerRef(pod);
    if (!ref) { unmanaged.push(pod.metadata.name!); continue; }
    if (scales.has(ref.uid)) continue;
    const found = find(ref, pod.metadata.namespace!);
    if (!found) throw new Error(`found no controllers for pod "${pod.metadata.name}"`);
    scales.set(found.uid, found.scale);
  }
  return { expected: [...scales.values()].reduce((a, b) => a + b, 0), unmanaged };
}

export interface BudgetState { status: Obj; recheckInMs?: number; unmanaged: string[] }

/** trySync's arithmetic: the status a budget should have for these pods at `nowMs`. Throws when it cannot tell. */
export function computeStatus(pdb: KubeObject, selected: KubeObject[], find: ScaleFinder, nowMs = Date.now()): BudgetState {
  const spec = pdb.spec ?? {};
  let expected = 0;
  let desired = 0;
  let unmanaged: string[] = [];
  if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
    ({ expected, unmanaged } = expectedScale(selected, find));
    desired = Math.max(0, expected - scaled(spec.maxUnavailable, expected, true));
  } else if (typeof spec.minAvailable === 'number') {
    desired = spec.minAvailable;
    expected = selected.length;
  } else if (typeof spec.minAvailable === 'string') {
    ({ expected, unmanaged } = expectedScale(selected, find));
    desired = scaled(spec.minAvailable, expected, true);
  }
  // buildDisruptedPodMap: an evicted pod stays "disrupted" until it is seen deleting, or the timeout passes.
  const recorded: Record<string, string> = pdb.status?.disruptedPods ?? {};
  const disrupted: Record<string, string> = {};
  let recheckAt: number | undefined;
  for (const pod of selected) {
    const at = recorded[pod.metadata.name!];
    if (pod.metadata.deletionTimestamp || !at) continue;
    const due = Date.parse(at) + DELETION_TIMEOUT_MS;
    if (due < nowMs) continue;
    disrupted[pod.metadata.name!] = at;
    recheckAt = Math.min(recheckAt ?? due, due);
  }
  const healthy = selected.filter((p) => !p.metadata.deletionTimestamp && !disrupted[p.metadata.name!] && isPodReady(p)).length;
  let allowed = healthy - desired;
  if (expected <= 0 || allowed <= 0) allowed = 0;
  const status: Obj = {
    ...(pdb.metadata.generation ? { observedGeneration: pdb.metadata.generation } : {}),
    ...(Object.keys(disrupted).length ? { disruptedPods: disrupted } : {}),
    disruptionsAllowed: allowed, currentHealthy: healthy, desiredHealthy: desired, expectedPods: expected,
    conditions: pdb.status?.conditions ?? [],
  };
  status.conditions = withCondition(status.conditions, allowed > 0 ? 'True' : 'False', allowed > 0 ? 'SufficientPods' : 'InsufficientPods', '', status.observedGeneration ?? 0);
  return { status, unmanaged, ...(recheckAt !== undefined ? { recheckInMs: Math.max(0, recheckAt - nowMs) } : {}) };
}

/** meta.SetStatusCondition for DisruptionAllowed: the transition time moves only with the status. */
export function withCondition(conditions: Obj[], status: string, reason: string, message: string, observedGeneration: number): Obj[] {
  const old = conditions.find((c) => c.type === 'DisruptionAllowed');
  const lastTransitionTime = old && old.status === status ? old.lastTransitionTime : now();
  return [...conditions.filter((c) => c !== old), { type: 'DisruptionAllowed', status, observedGeneration, lastTransitionTime, reason, message }];
}

const same = (a: Obj | undefined, b: Obj) => {
  const strip = (s: Obj | undefined) => JSON.stringify({ ...s, conditions: (s?.conditions ?? []).map((c: Obj) => ({ ...c, lastTransitionTime: undefined })) });
  return strip(a) === strip(b);
};

export function newDisruptionController(ctx: ControllerContext): Controller {
  const { client, logger } = ctx;
  const pdbs = ctx.informers.get('poddisruptionbudgets');
  const pods = ctx.informers.get('pods');
  const replicasets = ctx.informers.get('replicasets');
  const deployments = ctx.informers.get('deployments');
  const statefulsets = ctx.informers.get('statefulsets');
  const rcs = ctx.informers.get('replicationcontrollers');
  const queue = newQueue();
  const source = { component: 'controllermanager' };

  pdbs.addHandlers({ onAdd: (o) => queue.add(keyOf(o)), onUpdate: (_o, n) => queue.add(keyOf(n)), onDelete: (o) => queue.add(keyOf(o)) });
  const forPod = (pod: KubeObject) => { for (const b of podsOwnersOf(pod)) queue.add(keyOf(b)); };
  const podsOwnersOf = (pod: KubeObject) => pdbs.byIndex('byNamespace', pod.metadata.namespace ?? '').filter((b) => podsForBudget(b, [pod]).length);
  pods.addHandlers({ onAdd: forPod, onUpdate: (o, n) => { forPod(o); forPod(n); }, onDelete: forPod });
  // A controller's scale change moves percent budgets: every budget of its namespace is looked at again.
  const forNamespace = (o: KubeObject) => { for (const b of pdbs.byIndex('byNamespace', o.metadata.namespace ?? '')) queue.add(keyOf(b)); };
  for (const inf of [replicasets, deployments, statefulsets, rcs]) inf.addHandlers({ onAdd: forNamespace, onUpdate: (_o, n) => forNamespace(n), onDelete: forNamespace });

  const byUid = (inf: Informer, name: string, ns: string, uid: string) => { const o = inf.get(name, ns); return o && o.metadata.uid === uid ? o : undefined; };
  // The finders: a ReplicaSet a Deployment owns answers with the Deployment's scale.
  const find: ScaleFinder = (ref, ns) => {
    if (ref.kind === 'ReplicaSet') {
      const rs = byUid(replicasets, ref.name, ns, ref.uid);
      if (!rs) return undefined;
      const owner = controllerRef(rs);
      if (owner?.kind === 'Deployment') {
        const d = byUid(deployments, owner.name, ns, owner.uid);
        return d ? { uid: d.metadata.uid!, scale: d.spec?.replicas ?? 1 } : undefined;
      }
      return { uid: rs.metadata.uid!, scale: rs.spec?.replicas ?? 1 };
    }
    const inf = ref.kind === 'StatefulSet' ? statefulsets : ref.kind === 'ReplicationController' ? rcs : undefined;
    const o = inf && byUid(inf, ref.name, ns, ref.uid);
    return o ? { uid: o.metadata.uid!, scale: o.spec?.replicas ?? 1 } : undefined;
  };

  async function writeStatus(pdb: KubeObject, status: Obj): Promise<void> {
    if (same(pdb.status, status)) return;
    await client.updateStatus(R.poddisruptionbudgets, pdb.metadata.namespace, { ...pdb, status });
  }

  async function reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pdb = pdbs.get(name, namespace);
    if (!pdb) return;
    const selected = podsForBudget(pdb, pods.byIndex('byNamespace', namespace ?? ''));
    const ref = { ...pdb, apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' };
    if (!selected.length) recordEvent(client, logger, source, ref, 'Normal', 'NoPods', 'No matching pods found');
    let state: BudgetState;
    try {
      state = computeStatus(pdb, selected, find);
    } catch (err) {
      // failSafe: nothing may be disrupted while the budget cannot be computed.
      const message = (err as Error).message;
      recordEvent(client, logger, source, ref, 'Warning', 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${message}`);
      const status = { ...pdb.status, disruptionsAllowed: 0 };
      status.conditions = withCondition(status.conditions ?? [], 'False', 'SyncFailed', message, pdb.status?.observedGeneration ?? 0);
      await writeStatus(pdb, status);
      throw err;
    }
    if (state.unmanaged.length) {
      recordEvent(client, logger, source, ref, 'Warning', 'UnmanagedPods',
        `Pods selected by this PodDisruptionBudget (selector: ${JSON.stringify(pdb.spec?.selector)}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.`);
    }
    await writeStatus(pdb, state.status);
    if (state.recheckInMs !== undefined) queue.addAfter(key, state.recheckInMs + 1);
  }

  return { name: 'disruption', queue, reconcile, workers: 2 };
}
