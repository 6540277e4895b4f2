// Node lifecycle (Kubernetes' node lifecycle controller with its NoExecute taint manager, and
// the pod GC's orphan sweep): a node whose kubelet stopped heartbeating (Lease and Ready
// condition both older than the grace period) gets its conditions set to Unknown and the
// unreachable NoExecute taint; a node whose kubelet reports Ready=False gets the not-ready one.
// Pods on a NoExecute-tainted node are evicted once their tolerations run out; pods on a node
// that no longer exists are deleted.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeObject } from '../../api/types.ts';
import { now } from '../../api/types.ts';
import { keyOf } from '../../client/informer.ts';
import { recordEvent } from '../../client/events.ts';
import { newQueue, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';
import { ignoreGone } from '../pods.ts';

type Obj = Record<string, any>;

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
const CONDITION_TYPES = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];
const source = { component: 'node-controller' };

const ms = (t: string | undefined): number => { const v = Date.parse(t ?? ''); return Number.isFinite(v) ? v : 0; };
const readyOf = (node: KubeObject): Obj | undefined => (node.status?.conditions ?? []).find((c: Obj) => c.type === 'Ready');

/** Does `tol` tolerate `taint` (same rules as the scheduler's TaintToleration)? */
export function tolerates(tol: Obj, taint: Obj): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false;
  if (!tol.key) return tol.operator === 'Exists';
  if (tol.key !== taint.key) return false;
  return tol.operator === 'Exists' || (tol.value ?? '') === (taint.value ?? '');
}

/**
 * The pod's tolerations plus what the DefaultTolerationSeconds admission plugin would have added:
 * kubemu's apiserver does not add them, so a pod with no toleration of the not-ready/unreachable
 * NoExecute taints tolerates them for `defaultSeconds`.
 */
export function effectiveTolerations(pod: KubeObject, defaultSeconds: number): Obj[] {
  const tols: Obj[] = [...(pod.spec?.tolerations ?? [])];
  for (const key of [TAINT_NOT_READY, TAINT_UNREACHABLE]) {
    const has = tols.some((t) => (t.key === key || !t.key) && (t.effect === 'NoExecute' || !t.effect));
    if (!has) tols.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: defaultSeconds });
  }
  return tols;
}

/**
 * When the pod must leave a node with these NoExecute taints: 0 = now, Infinity = never. A taint
 * with no matching toleration evicts at once; otherwise the smallest tolerationSeconds of the
 * tolerations used counts from the taint's timeAdded (tolerations without seconds: forever).
 */
export function evictionTime(tolerations: Obj[], taints: Obj[]): number {
  let at = Infinity;
  for (const taint of taints) {
    const used = tolerations.filter((t) => tolerates(t, taint));
    if (!used.length) return 0;
    const secs = used.filter((t) => typeof t.tolerationSeconds === 'number').map((t) => Math.max(0, t.tolerationSeconds));
    if (secs.length) at = Math.min(at, ms(taint.timeAdded) + Math.min(...secs) * 1000);
  }
  return at;
}

export function newNodeLifecycleController(ctx: ControllerContext): Controller {
  const { client, logger, options } = ctx;
  const nodes = ctx.informers.get('nodes');
  const leases = ctx.informers.get('leases');
  const pods = ctx.informers.get('pods');
  const queue = newQueue();
  // As Kubernetes, which only trusts heartbeats it observed: after a (re)start every node gets a
  // full grace period, so a controller manager coming up late does not evict a whole cluster.
  const startedAt = Date.now();
  // One pending wake-up per node (the earliest): reconciles run on every pod change, timers should not pile up.
  const wakeups = new Map<string, number>();
  const recheckAt = (name: string, at: number) => {
    const pending = wakeups.get(name);
    if (pending !== undefined && pending > Date.now() && pending <= at) return;
    wakeups.set(name, at);
    queue.addAfter(name, Math.max(0, at - Date.now()) + 5);
  };

  nodes.addHandlers({ onAdd: (n) => queue.add(keyOf(n)), onUpdate: (_o, n) => queue.add(keyOf(n)), onDelete: (n) => queue.add(keyOf(n)) });
  const lease = (l: KubeObject) => { if (l.metadata.namespace === NODE_LEASE_NAMESPACE) queue.add(l.metadata.name!); };
  leases.addHandlers({ onAdd: lease, onUpdate: (_o, l) => lease(l), onDelete: lease });
  const pod = (p: KubeObject) => { if (p.spec?.nodeName) queue.add(p.spec.nodeName); };
  pods.addHandlers({ onAdd: pod, onUpdate: (o, n) => { pod(o); pod(n); }, onDelete: pod });

  async function reconcile(name: string): Promise<void> {
    let node = nodes.get(name);
    if (!node) { wakeups.delete(name); await deleteOrphanedPods(name); return; }
    node = await monitorHealth(node);
    node = await syncTaints(node);
    const ready = readyOf(node);
    if (ready && ready.status !== 'True') await markPodsNotReady(node);
    await evictPods(node);
  }

  /** Ready (and the pressure conditions) to Unknown when no heartbeat came for the grace period. */
  async function monitorHealth(node: KubeObject): Promise<KubeObject> {
    const name = node.metadata.name!;
    const l = leases.get(name, NODE_LEASE_NAMESPACE);
    const last = Math.max(startedAt, ms(node.metadata.creationTimestamp), ms(l?.spec?.renewTime), ms(readyOf(node)?.lastHeartbeatTime));
    const staleAt = last + options.nodeMonitorGracePeriodMs;
    if (Date.now() < staleAt) { recheckAt(name, staleAt); return node; }
    const t = now();
    let changed = false;
    const conditions: Obj[] = structuredClone(node.status?.conditions ?? []);
    for (const type of CONDITION_TYPES) {
      const c = conditions.find((x) => x.type === type);
      if (!c) {
        conditions.push({ type, status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: node.metadata.creationTimestamp, lastTransitionTime: t });
        changed = true;
      } else if (c.status !== 'Unknown') {
        // lastHeartbeatTime stays: it is the kubelet's, and tells when it was last heard from.
        Object.assign(c, { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: t });
        changed = true;
      }
    }
    if (!changed) return node;
    // resourceVersion pinned: a kubelet posting status meanwhile wins, and we look again.
    const updated = await client.patch(R.nodes, undefined, name, { metadata: { resourceVersion: node.metadata.resourceVersion }, status: { conditions } }, { subresource: 'status' });
    logger.info({ node: name }, 'node stopped heartbeating; conditions set to Unknown');
    recordEvent(client, logger, source, node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
    return updated;
  }

  /** unreachable:NoExecute while Ready is Unknown, not-ready:NoExecute while False, neither when True. */
  async function syncTaints(node: KubeObject): Promise<KubeObject> {
    const status = readyOf(node)?.status;
    if (!status) return node; // never reported and still in its grace period
    const want = status === 'Unknown' ? TAINT_UNREACHABLE : status === 'False' ? TAINT_NOT_READY : undefined;
    const taints: Obj[] = node.spec?.taints ?? [];
    const ours = (t: Obj) => t.effect === 'NoExecute' && (t.key === TAINT_UNREACHABLE || t.key === TAINT_NOT_READY);
    const next = taints.filter((t) => !ours(t) || t.key === want);
    if (want && !next.some((t) => t.key === want && t.effect === 'NoExecute')) next.push({ key: want, effect: 'NoExecute', timeAdded: now() });
    if (next.length === taints.length && next.every((t, i) => t === taints[i])) return node;
    const obj = structuredClone(node);
    obj.spec = { ...(obj.spec ?? {}), taints: next };
    if (!next.length) delete obj.spec.taints;
    logger.info({ node: node.metadata.name, taints: next.map((t) => `${t.key}:${t.effect}`) }, 'node taints updated');
    return client.update(R.nodes, undefined, obj);
  }

  /** As MarkPodsNotReady: the node cannot vouch for its pods, so none of them is Ready. */
  async function markPodsNotReady(node: KubeObject): Promise<void> {
    for (const p of pods.byIndex('byNode', node.metadata.name!)) {
      const conds: Obj[] = p.status?.conditions ?? [];
      if (!conds.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
      const obj = structuredClone(p);
      obj.status.conditions = conds.map((c) => (c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: now() } : c));
      await client.updateStatus(R.pods, p.metadata.namespace, obj).catch(ignoreGone);
    }
  }

  /** The taint manager: delete pods that do not (or no longer) tolerate the node's NoExecute taints. */
  async function evictPods(node: KubeObject): Promise<void> {
    const name = node.metadata.name!;
    const taints: Obj[] = (node.spec?.taints ?? []).filter((t: Obj) => t.effect === 'NoExecute');
    const unreachable = readyOf(node)?.status === 'Unknown';
    for (const p of pods.byIndex('byNode', name)) {
      if (p.metadata.deletionTimestamp) {
        // No kubelet will confirm the deletion of a pod on an unreachable node: once its grace
        // period is over, finish it (as the pod GC does for such pods).
        if (!unreachable) continue;
        const due = ms(p.metadata.deletionTimestamp) - Date.now();
        if (due > 0) { recheckAt(name, ms(p.metadata.deletionTimestamp)); continue; }
        await client.delete(R.pods, p.metadata.namespace, p.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: p.metadata.uid } }).catch(ignoreGone);
        logger.info({ pod: keyOf(p), node: name }, 'force-deleted a pod on an unreachable node');
        continue;
      }
      if (!taints.length) continue;
      const at = evictionTime(effectiveTolerations(p, options.defaultTolerationSeconds), taints);
      if (at === Infinity) continue;
      if (at > Date.now()) { recheckAt(name, at); continue; }
      recordEvent(client, logger, source, p, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${keyOf(p)}`);
      await client.delete(R.pods, p.metadata.namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } }).catch(ignoreGone);
      logger.info({ pod: keyOf(p), node: name }, 'evicted a pod that does not tolerate the node\'s NoExecute taints');
    }
  }

  /** Pods bound to a node that is gone (the pod GC's gcOrphaned); the cache is confirmed by a live get. */
  async function deleteOrphanedPods(name: string): Promise<void> {
    const orphans = pods.byIndex('byNode', name);
    if (!orphans.length) return;
    try {
      await client.get(R.nodes, undefined, name);
      return; // the node exists; our cache is behind
    } catch (err) {
      if ((err as { code?: string }).code !== 'NotFound') throw err;
    }
    for (const p of orphans) {
      await client.delete(R.pods, p.metadata.namespace, p.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: p.metadata.uid } }).catch(ignoreGone);
      logger.info({ pod: keyOf(p), node: name }, 'deleted a pod bound to a node that does not exist');
    }
  }

  // The periodic pass (nodeMonitorPeriod): every node, and every node some pod is bound to.
  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      for (const n of nodes.list()) queue.add(keyOf(n));
      for (const name of new Set(pods.list().map((p) => p.spec?.nodeName).filter(Boolean))) queue.add(name);
      try { await sleep(options.nodeMonitorPeriodMs, undefined, { signal }); } catch { return; }
    }
  }

  return { name: 'nodelifecycle', queue, reconcile, run, workers: 2 };
}
