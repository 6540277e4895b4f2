// DaemonSet: one pod per eligible node, pinned there by a node affinity on metadata.name (as the
// DaemonSet controller does since scheduling moved to kube-scheduler). A node is eligible when
// it matches the template's nodeSelector and required node affinity and the template, with the
// tolerations every daemon pod gets, tolerates its NoSchedule/NoExecute taints. Rolling updates
// honour maxUnavailable (or maxSurge); OnDelete replaces a pod only once it is deleted.
// Not emulated: ControllerRevision objects (pods carry the template hash directly).
import type { KubeObject } from '../../api/types.ts';
import { selectorFromLabelSelector, type Selector } from '../../api/selectors.ts';
import { keyOf } from '../../client/informer.ts';
import { recordEvent } from '../../client/events.ts';
import { effectiveTaints, matchesNodeSelectorAndAffinity, tolerates } from '../../scheduler/public.ts';
import { newQueue, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';
import { claimPods, controllerRef, Expectations, ignoreGone, inBatches, isPodAvailable, isPodReady, ownerRefTo, podFromTemplate, templateHash } from '../pods.ts';
import { scaledValue } from './deployment-util.ts';

type Obj = Record<string, any>;
export const HASH_LABEL = 'controller-revision-hash';
export const GENERATION_LABEL = 'pod-template-generation';

/** Added to every daemon pod (util.AddOrUpdateDaemonPodTolerations): daemons keep running on sick nodes. */
export const DAEMON_TOLERATIONS: Obj[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];
const NETWORK_UNAVAILABLE = { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' };

/** The pod template with the daemon tolerations added (only where the same key and effect is not already tolerated). */
export function daemonTemplate(ds: KubeObject): Obj {
  const t = structuredClone(ds.spec?.template ?? { metadata: {}, spec: {} });
  t.spec ??= {};
  const tols: Obj[] = t.spec.tolerations ?? [];
  const add = [...DAEMON_TOLERATIONS, ...(t.spec.hostNetwork ? [NETWORK_UNAVAILABLE] : [])];
  for (const a of add) if (!tols.some((x) => x.key === a.key && x.effect === a.effect)) tols.push(a);
  t.spec.tolerations = tols;
  return t;
}

/** The node a daemon pod is for: spec.nodeName, else its single metadata.name affinity (as GetTargetNodeName). */
export function targetNode(pod: KubeObject): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  for (const term of pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of term.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
  }
  return undefined;
}

/**
 * [shouldRun, shouldContinueRunning] as NodeShouldRunDaemonPod: an untolerated NoSchedule taint keeps
 * new pods off but lets a running one stay. Taints as the scheduler sees them (effectiveTaints): a
 * node not Ready counts as tainted not-ready/unreachable:NoSchedule, as the real node lifecycle
 * controller would taint it, so no daemon pod is made that the scheduler would leave Pending.
 */
export function nodeShouldRunDaemonPod(node: KubeObject, template: Obj): [boolean, boolean] {
  const pod = { metadata: {}, spec: template.spec } as KubeObject;
  if (pod.spec.nodeName && pod.spec.nodeName !== node.metadata.name) return [false, false];
  if (!matchesNodeSelectorAndAffinity(pod, node)) return [false, false];
  const untolerated = effectiveTaints(node).filter((t: Obj) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !pod.spec.tolerations.some((tol: Obj) => tolerates(tol, t)));
  if (!untolerated.length) return [true, true];
  return [false, !untolerated.some((t: Obj) => t.effect === 'NoExecute')];
}

/** Bound pods first, then oldest, then by name (as podByCreationTimestampAndPhase). */
const byAge = (a: KubeObject, b: KubeObject) => (b.spec?.nodeName ? 1 : 0) - (a.spec?.nodeName ? 1 : 0) || (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name! < b.metadata.name! ? -1 : 1);
const isFinished = (p: KubeObject) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';

export function newDaemonSetController(ctx: ControllerContext): Controller {
  const { client, logger } = ctx;
  const daemonSets = ctx.informers.get('daemonsets');
  const pods = ctx.informers.get('pods');
  const nodes = ctx.informers.get('nodes');
  const queue = newQueue();
  const expectations = new Expectations();
  const source = { component: 'daemonset-controller' };
  /** Per DaemonSet and node: when a failed pod may next be replaced (the real controller backs off too, or it fights a kubelet that rejects the pod). */
  const failedBackoff = new Map<string, { delayMs: number; until: number }>();

  daemonSets.addHandlers({
    onAdd: (o) => queue.add(keyOf(o)),
    onUpdate: (_o, n) => queue.add(keyOf(n)),
    onDelete: (o) => { expectations.forget(keyOf(o)); queue.add(keyOf(o)); },
  });
  const ownerKey = (p: KubeObject) => { const r = controllerRef(p); return r?.kind === 'DaemonSet' ? `${p.metadata.namespace}/${r.name}` : undefined; };
  const enqueueMatching = (p: KubeObject) => {
    for (const ds of daemonSets.byIndex('byNamespace', p.metadata.namespace ?? '')) {
      try { if (selectorFromLabelSelector(ds.spec?.selector).matches(p.metadata.labels)) queue.add(keyOf(ds)); } catch { /* bad selector */ }
    }
  };
  pods.addHandlers({
    onAdd: (p) => { const k = ownerKey(p); if (k) { expectations.observedAdd(k); queue.add(k); } else if (!controllerRef(p)) enqueueMatching(p); },
    onUpdate: (old, p) => {
      const k = ownerKey(p);
      if (k) queue.add(k);
      const ok = ownerKey(old);
      if (ok && ok !== k) queue.add(ok);
      if (!controllerRef(p)) enqueueMatching(p);
    },
    onDelete: (p) => { const k = ownerKey(p); if (k) { expectations.observedDelete(k); queue.add(k); } },
  });
  // Only what decides eligibility matters; heartbeats and status updates do not.
  const nodeShape = (n: KubeObject) => JSON.stringify([n.metadata.labels ?? {}, effectiveTaints(n), n.spec?.unschedulable ?? false]);
  const enqueueAll = () => { for (const ds of daemonSets.list()) queue.add(keyOf(ds)); };
  nodes.addHandlers({ onAdd: enqueueAll, onDelete: enqueueAll, onUpdate: (o, n) => { if (nodeShape(o) !== nodeShape(n)) enqueueAll(); } });

  async function reconcile(key: string): Promise<void> {
    const { name, namespace } = splitKey(key);
    const ds = daemonSets.get(name, namespace);
    if (!ds) { expectations.forget(key); return; }
    const ns = ds.metadata.namespace!;
    let selector: Selector;
    try { selector = selectorFromLabelSelector(ds.spec?.selector); } catch (err) { logger.warn({ key, err: String(err) }, 'invalid selector; skipped'); return; }
    if (selector.empty()) { recordEvent(client, logger, source, ds, 'Warning', 'SelectingAll', 'This daemon set is selecting all pods. A non-empty selector is required.'); return; }
    const ref = ownerRefTo(ds, 'apps/v1', 'DaemonSet');
    const claimed = await claimPods(client, ds, ref, selector, pods.byIndex('byNamespace', ns));
    const byNode = new Map<string, KubeObject[]>();
    for (const p of claimed) {
      const n = targetNode(p);
      if (n) byNode.set(n, [...(byNode.get(n) ?? []), p]);
    }
    const template = daemonTemplate(ds);
    const hash = templateHash(ds.spec?.template);
    const allNodes = nodes.list();

    if (expectations.satisfied(key) && !ds.metadata.deletionTimestamp) {
      const plan = manage(ds, key, template, allNodes, byNode, hash);
      if (!plan.create.length && !plan.del.length && (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
        Object.assign(plan, rollingUpdate(ds, template, allNodes, byNode, hash));
      }
      await syncNodes(ds, key, ref, template, hash, plan.create, plan.del);
    }
    await updateStatus(ds, template, allNodes, byNode, hash);
  }

  /** Nodes that need a pod and pods that must go (as manage/podsShouldBeOnNode). */
  function manage(ds: KubeObject, key: string, template: Obj, allNodes: KubeObject[], byNode: Map<string, KubeObject[]>, hash: string): { create: string[]; del: KubeObject[] } {
    const create: string[] = [];
    const del: KubeObject[] = [];
    const surge = maxSurgeOf(ds, allNodes.length) > 0;
    for (const node of allNodes) {
      const name = node.metadata.name!;
      const onNode = byNode.get(name) ?? [];
      const [shouldRun, shouldContinue] = nodeShouldRunDaemonPod(node, template);
      const live = onNode.filter((p) => !p.metadata.deletionTimestamp);
      if (shouldRun && !onNode.length) { create.push(name); continue; }
      if (!shouldContinue) { del.push(...live); continue; }
      const running: KubeObject[] = [];
      for (const p of live) {
        if (!isFinished(p)) { running.push(p); continue; }
        const bk = `${key}/${name}`;
        const b = failedBackoff.get(bk);
        if (b && b.until > Date.now()) { queue.addAfter(key, b.until - Date.now()); continue; }
        const delayMs = Math.min((b?.delayMs ?? 500) * 2, 15 * 60_000);
        failedBackoff.set(bk, { delayMs, until: Date.now() + delayMs });
        recordEvent(client, logger, source, ds, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${p.metadata.namespace}/${p.metadata.name} on node ${name}, will try to kill it`);
        del.push(p);
      }
      if (running.length <= 1) continue;
      running.sort(byAge);
      if (!surge) { del.push(...running.slice(1)); continue; } // keep the oldest
      // With surge, an old and a new pod may share a node until the new one is available.
      let oldestNew: KubeObject | undefined;
      let oldestOld: KubeObject | undefined;
      for (const p of running) {
        if (p.metadata.labels?.[HASH_LABEL] === hash) { if (!oldestNew) { oldestNew = p; continue; } } else if (!oldestOld) { oldestOld = p; continue; }
        del.push(p);
      }
      if (oldestNew && oldestOld && (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.spec?.minReadySeconds ?? 0))) del.push(oldestOld);
    }
    // Pods for nodes that no longer exist.
    const names = new Set(allNodes.map((n) => n.metadata.name));
    for (const [n, ps] of byNode) if (!names.has(n)) del.push(...ps.filter((p) => !p.metadata.deletionTimestamp));
    return { create, del };
  }

  const desiredOf = (template: Obj, allNodes: KubeObject[]) => allNodes.filter((n) => nodeShouldRunDaemonPod(n, template)[0]).length;
  function maxSurgeOf(ds: KubeObject, desired: number): number {
    const ru = ds.spec?.updateStrategy?.rollingUpdate;
    return ds.spec?.updateStrategy?.type === 'OnDelete' ? 0 : scaledValue(ru?.maxSurge, desired, true, 0);
  }

  /** Old pods to delete, and with surge nodes to add a new pod to (as rollingUpdate in update.go). */
  function rollingUpdate(ds: KubeObject, template: Obj, allNodes: KubeObject[], byNode: Map<string, KubeObject[]>, hash: string): { create: string[]; del: KubeObject[] } {
    const desired = desiredOf(template, allNodes);
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const maxSurge = maxSurgeOf(ds, desired);
    let maxUnavailable = scaledValue(ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable, desired, true, 1);
    if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    const avail = (p: KubeObject) => isPodAvailable(p, minReady);
    const perNode = [...byNode].map(([node, ps]) => {
      const live = ps.filter((p) => !p.metadata.deletionTimestamp);
      const fresh = live.filter((p) => p.metadata.labels?.[HASH_LABEL] === hash);
      const old = live.filter((p) => p.metadata.labels?.[HASH_LABEL] !== hash);
      return { node, ok: fresh.length <= 1 && old.length <= 1, fresh: fresh[0], old: old[0] };
    });
    if (maxSurge === 0) {
      let unavailable = 0;
      const must: KubeObject[] = [];
      const candidates: KubeObject[] = [];
      for (const { ok, fresh, old } of perNode) {
        if (!ok || (!fresh && !old) || (fresh && old)) { unavailable++; continue; } // manage settles these
        if (fresh) { if (!avail(fresh)) unavailable++; continue; }
        if (!avail(old!)) must.push(old!); // an unavailable old pod costs nothing to replace
        else if (unavailable < maxUnavailable) candidates.push(old!);
      }
      return { create: [], del: [...must, ...candidates.slice(0, Math.max(0, maxUnavailable - unavailable))] };
    }
    let surged = 0;
    const del: KubeObject[] = [];
    const must: string[] = [];
    const candidates: string[] = [];
    for (const { node, ok, fresh, old } of perNode) {
      if (!ok) { surged++; continue; }
      if (!old) continue;
      if (!fresh) {
        const n = nodes.get(node);
        if (!avail(old)) { if (n && nodeShouldRunDaemonPod(n, template)[0]) must.push(node); else del.push(old); } else if (surged < maxSurge) candidates.push(node);
        continue;
      }
      if (!avail(fresh)) surged++;
      else del.push(old);
    }
    return { create: [...must, ...candidates.slice(0, Math.max(0, maxSurge - surged))], del };
  }

  async function syncNodes(ds: KubeObject, key: string, ref: ReturnType<typeof ownerRefTo>, template: Obj, hash: string, create: string[], del: KubeObject[]): Promise<void> {
    if (!create.length && !del.length) return;
    expectations.expect(key, create.length, del.length);
    const ns = ds.metadata.namespace!;
    const labels = { [HASH_LABEL]: hash, [GENERATION_LABEL]: String(ds.metadata.generation ?? 1) };
    await inBatches(create, 50, async (nodeName) => {
      try {
        const made = await client.create(R.pods, ns, podFromTemplate(template as KubeObject, ref, ns, { nodeAffinityTo: nodeName, labels }));
        recordEvent(client, logger, source, ds, 'Normal', 'SuccessfulCreate', `Created pod: ${made.metadata.name}`);
      } catch (err) {
        expectations.lowerAdd(key);
        recordEvent(client, logger, source, ds, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
        throw err;
      }
    });
    await inBatches(del, 50, async (p) => {
      try {
        await client.delete(R.pods, ns, p.metadata.name!, { preconditions: { uid: p.metadata.uid } });
        recordEvent(client, logger, source, ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
      } catch (err) { expectations.lowerDelete(key); ignoreGone(err as { code?: string }); }
    });
  }

  async function updateStatus(ds: KubeObject, template: Obj, allNodes: KubeObject[], byNode: Map<string, KubeObject[]>, hash: string): Promise<void> {
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const s = { desiredNumberScheduled: 0, currentNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0, numberAvailable: 0, updatedNumberScheduled: 0 };
    let waitForAvailable = false;
    for (const node of allNodes) {
      const [shouldRun] = nodeShouldRunDaemonPod(node, template);
      const onNode = (byNode.get(node.metadata.name!) ?? []).filter((p) => !p.metadata.deletionTimestamp).sort(byAge);
      if (!shouldRun) { if (onNode.length) s.numberMisscheduled++; continue; }
      s.desiredNumberScheduled++;
      if (!onNode.length) continue;
      s.currentNumberScheduled++;
      const p = onNode[0]; // the oldest speaks for the node
      if (isPodReady(p)) { s.numberReady++; if (isPodAvailable(p, minReady)) s.numberAvailable++; else waitForAvailable = true; }
      if (p.metadata.labels?.[HASH_LABEL] === hash) s.updatedNumberScheduled++;
    }
    const status: Obj = { ...(ds.status ?? {}), ...s, numberUnavailable: s.desiredNumberScheduled - s.numberAvailable, observedGeneration: ds.metadata.generation };
    if (!status.numberUnavailable) delete status.numberUnavailable; // omitempty, as in the real API
    if (JSON.stringify(status) !== JSON.stringify(ds.status ?? {})) await client.updateStatus(R.daemonsets, ds.metadata.namespace, { ...ds, status });
    // A pod ready but not yet minReadySeconds old becomes available with no event: look again then.
    if (waitForAvailable) queue.addAfter(keyOf(ds), minReady * 1000);
  }

  return { name: 'daemonset', queue, reconcile, workers: 2 };
}
