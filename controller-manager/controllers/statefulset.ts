// StatefulSet: pods with stable identities `<set>-<ordinal>` (hostname = pod name, subdomain =
// spec.serviceName). OrderedReady creates ordinal i only once 0..i-1 are Running and Ready and
// removes from the highest ordinal, one at a time; Parallel creates and deletes all at once.
// A failed or deleted pod comes back under the same name. RollingUpdate replaces outdated pods
// from the highest ordinal down to spec.updateStrategy.rollingUpdate.partition, one at a time,
// each waiting for the last to be Ready (as updateStatefulSet in stateful_set_control.go).
// volumeClaimTemplates: before a pod is made, its claims `<template>-<set>-<ordinal>` are (createPersistentVolumeClaims),
// kept when the pod goes so the next pod of that ordinal finds its data, and removed per
// persistentVolumeClaimRetentionPolicy: whenDeleted Delete gives them the set as owner (the garbage collector removes
// them with it), whenScaled Delete removes those of ordinals above replicas once their pod is gone.
// Not emulated: ControllerRevision objects —
// revisions are named `<set>-<templateHash>` as real ones are, and the template of the current
// revision is remembered in memory (needed only to recreate pods below a partition).
import type { KubeObject } from '../../api/types.ts';
import { selectorFromLabelSelector, type Selector } from '../../api/selectors.ts';
import { keyOf } from '../../client/informer.ts';
import { recordEvent } from '../../client/events.ts';
import { newQueue, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';
import { claimPods, controllerRef, ignoreGone, inBatches, isPodAvailable, isPodReady, isTerminated, ownerRefTo, podFromTemplate, templateHash } from '../pods.ts';

type Obj = Record<string, any>;
export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
export const REVISION_LABEL = 'controller-revision-hash';

/** The ordinal of a pod of `set` (`web-3` → 3), or -1 when it is not named `<set>-<n>` (as getParentNameAndOrdinal). */
export function ordinalOf(setName: string, pod: KubeObject): number {
  const m = /^(.*)-(\d+)$/.exec(pod.metadata.name ?? '');
  return m && m[1] === setName ? Number(m[2]) : -1;
}

/** The revision a template belongs to: named like the ControllerRevision Kubernetes would make. */
export const revisionName = (set: KubeObject): string => `${set.metadata.name}-${templateHash(set.spec?.template)}`;

const isRunningAndReady = (p: KubeObject) => p.status?.phase === 'Running' && isPodReady(p);
const terminating = (p: KubeObject) => !!p.metadata.deletionTimestamp;

export function newStatefulSetController(ctx: ControllerContext): Controller {
  const { client, logger } = ctx;
  const sets = ctx.informers.get('statefulsets');
  const pods = ctx.informers.get('pods');
  const claims = ctx.informers.get('persistentvolumeclaims');
  const queue = newQueue();
  const source = { component: 'statefulset-controller' };
  /** Templates by revision name, seen since start: what a pod below the partition is recreated from. */
  const templates = new Map<string, Obj>();

  sets.addHandlers({ onAdd: (o) => queue.add(keyOf(o)), onUpdate: (_o, n) => queue.add(keyOf(n)), onDelete: (o) => queue.add(keyOf(o)) });
  const ownerKey = (p: KubeObject) => { const r = controllerRef(p); return r?.kind === 'StatefulSet' ? `${p.metadata.namespace}/${r.name}` : undefined; };
  const enqueueMatching = (p: KubeObject) => {
    for (const s of sets.byIndex('byNamespace', p.metadata.namespace ?? '')) {
      try { if (ordinalOf(s.metadata.name!, p) >= 0 && selectorFromLabelSelector(s.spec?.selector).matches(p.metadata.labels)) queue.add(keyOf(s)); } catch { /* bad selector */ }
    }
  };
  const onPod = (p: KubeObject) => { const k = ownerKey(p); if (k) queue.add(k); else if (!controllerRef(p)) enqueueMatching(p); };
  pods.addHandlers({ onAdd: onPod, onUpdate: (o, n) => { const k = ownerKey(o); if (k && k !== ownerKey(n)) queue.add(k); onPod(n); }, onDelete: onPod });

  async function reconcile(key: string): Promise<void> {
    const { name, namespace } = splitKey(key);
    const set = sets.get(name, namespace);
    if (!set) return;
    let selector: Selector;
    try { selector = selectorFromLabelSelector(set.spec?.selector); } catch (err) { logger.warn({ key, err: String(err) }, 'invalid selector; skipped'); return; }
    if (selector.empty()) { logger.warn({ key }, 'an empty selector would match every pod; skipped'); return; }
    const ref = ownerRefTo(set, 'apps/v1', 'StatefulSet');
    // Only pods named like members may be adopted (isMemberOf).
    const candidates = pods.byIndex('byNamespace', set.metadata.namespace!).filter((p) => ordinalOf(name, p) >= 0);
    const claimed = await claimPods(client, set, ref, selector, candidates);

    const updateRevision = revisionName(set);
    templates.set(updateRevision, set.spec?.template);
    const currentRevision = set.status?.currentRevision || updateRevision;
    const start = set.spec?.ordinals?.start ?? 0;
    const count = set.spec?.replicas ?? 1;
    const replicas: Array<KubeObject | undefined> = new Array(count).fill(undefined);
    const condemned: KubeObject[] = [];
    for (const p of claimed) {
      const ord = ordinalOf(name, p);
      if (ord >= start && ord < start + count) replicas[ord - start] = p;
      else condemned.push(p);
    }
    condemned.sort((a, b) => ordinalOf(name, b) - ordinalOf(name, a)); // highest first

    if (!set.metadata.deletionTimestamp) {
      await sync(set, ref, replicas, condemned, currentRevision, updateRevision);
      await deleteScaledClaims(set, start + count, claimed);
    }
    await updateStatus(set, claimed, currentRevision, updateRevision);
  }

  async function sync(set: KubeObject, ref: ReturnType<typeof ownerRefTo>, replicas: Array<KubeObject | undefined>, condemned: KubeObject[], cur: string, upd: string): Promise<void> {
    const monotonic = set.spec?.podManagementPolicy !== 'Parallel';
    const minReady = set.spec?.minReadySeconds ?? 0;
    const start = set.spec?.ordinals?.start ?? 0;
    const healthy = (p: KubeObject | undefined) => !!p && !terminating(p) && isRunningAndReady(p) && isPodAvailable(p, minReady);
    // The first pod not healthy, in ordinal order, then condemned from the lowest: the one scale-down may remove anyway.
    const firstUnhealthy = [...replicas, ...[...condemned].reverse()].find((p) => !healthy(p));

    /** Settle replica i; true means stop here (in OrderedReady). */
    const replica = async (i: number): Promise<boolean> => {
      const p = replicas[i];
      if (!p) { await createPod(set, ref, start + i, cur, upd); return monotonic; }
      // Failed or Succeeded: delete it; the next sync recreates it once it is gone.
      if (isTerminated(p)) { if (!terminating(p)) await deletePod(set, p); return true; }
      if (monotonic && (terminating(p) || !isRunningAndReady(p) || !isPodAvailable(p, minReady))) return true;
      await fixIdentity(p, start + i);
      return false;
    };
    const condemn = async (i: number): Promise<boolean> => {
      const p = condemned[i];
      if (terminating(p)) return monotonic;
      if (monotonic && !healthy(p) && p !== firstUnhealthy) return true;
      await deletePod(set, p);
      return true;
    };
    if (monotonic) {
      for (let i = 0; i < replicas.length; i++) if (await replica(i)) return;
      for (let i = 0; i < condemned.length; i++) if (await condemn(i)) return;
    } else {
      await inBatches([...replicas.keys()], 50, replica);
      await inBatches([...condemned.keys()], 50, condemn);
    }

    if (set.spec?.updateStrategy?.type === 'OnDelete') return;
    // Replace the highest outdated pod at or above the partition; wait while any of those is unhealthy.
    const partition = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    for (let i = replicas.length - 1; i >= partition; i--) {
      const p = replicas[i];
      if (p && p.metadata.labels?.[REVISION_LABEL] !== upd && !terminating(p)) { await deletePod(set, p); return; }
      if (!healthy(p)) return;
    }
  }

  async function createPod(set: KubeObject, ref: ReturnType<typeof ownerRefTo>, ord: number, cur: string, upd: string): Promise<void> {
    // Below the partition a pod keeps the current revision (newVersionedStatefulSetPod).
    const su = set.spec?.updateStrategy;
    const start = set.spec?.ordinals?.start ?? 0;
    const atCurrent = su?.type !== 'OnDelete' && ord < start + (su?.rollingUpdate?.partition ?? 0) && templates.has(cur);
    const [template, revision] = atCurrent ? [templates.get(cur), cur] : [set.spec?.template, upd];
    const name = `${set.metadata.name}-${ord}`;
    const ns = set.metadata.namespace!;
    const pod = podFromTemplate(template, ref, ns, { name, hostname: name, labels: { [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ord), [REVISION_LABEL]: revision } });
    if (set.spec?.serviceName) pod.spec.subdomain = set.spec.serviceName;
    const claimVolumes = await createClaims(set, name);
    pod.spec.volumes = [...(pod.spec.volumes ?? []).filter((v: Obj) => !claimVolumes.some((c) => c.name === v.name)), ...claimVolumes];
    try {
      await client.create(R.pods, ns, pod);
      recordEvent(client, logger, source, set, 'Normal', 'SuccessfulCreate', `create Pod ${name} in StatefulSet ${set.metadata.name} successful`);
    } catch (err) {
      // AlreadyExists: our cache is behind (or the old pod is still there); the retry sees it.
      if ((err as { code?: string }).code !== 'AlreadyExists') recordEvent(client, logger, source, set, 'Warning', 'FailedCreate', `create Pod ${name} in StatefulSet ${set.metadata.name} failed error: ${(err as Error).message}`);
      throw err;
    }
  }

  /** createPersistentVolumeClaims: each template's claim for the pod, if missing; the pod's volumes that use them. */
  async function createClaims(set: KubeObject, podName: string): Promise<Obj[]> {
    const ns = set.metadata.namespace!;
    const out: Obj[] = [];
    for (const t of (set.spec?.volumeClaimTemplates ?? []) as Obj[]) {
      const claimName = `${t.metadata?.name}-${podName}`;
      out.push({ name: t.metadata?.name, persistentVolumeClaim: { claimName } });
      if (claims.get(claimName, ns)) continue;
      const owners = set.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted === 'Delete' ? [ownerRefTo(set, 'apps/v1', 'StatefulSet')] : undefined;
      const claim: KubeObject = {
        apiVersion: 'v1', kind: 'PersistentVolumeClaim',
        metadata: { name: claimName, namespace: ns, labels: { ...(t.metadata?.labels ?? {}), ...(set.spec?.selector?.matchLabels ?? {}) }, annotations: t.metadata?.annotations, ...(owners ? { ownerReferences: owners } : {}) },
        spec: structuredClone(t.spec ?? {}),
      };
      try {
        await client.create(R.persistentvolumeclaims, ns, claim);
        recordEvent(client, logger, source, set, 'Normal', 'SuccessfulCreate', `create Claim ${claimName} Pod ${podName} in StatefulSet ${set.metadata.name} success`);
      } catch (err) {
        if ((err as { code?: string }).code === 'AlreadyExists') continue;
        recordEvent(client, logger, source, set, 'Warning', 'FailedCreate', `create Claim ${claimName} for Pod ${podName} in StatefulSet ${set.metadata.name} failed error: ${(err as Error).message}`);
        throw err;
      }
    }
    return out;
  }

  /** whenScaled: Delete — the claims of ordinals at or above `end` whose pod is gone. */
  async function deleteScaledClaims(set: KubeObject, end: number, members: KubeObject[]): Promise<void> {
    if (set.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled !== 'Delete') return;
    const ns = set.metadata.namespace!;
    for (const t of (set.spec?.volumeClaimTemplates ?? []) as Obj[]) {
      const prefix = `${t.metadata?.name}-${set.metadata.name}-`;
      for (const c of claims.byIndex('byNamespace', ns)) {
        const ord = c.metadata.name!.startsWith(prefix) ? Number(c.metadata.name!.slice(prefix.length)) : NaN;
        if (!Number.isInteger(ord) || ord < end || c.metadata.deletionTimestamp) continue;
        if (members.some((p) => p.metadata.name === `${set.metadata.name}-${ord}`)) continue;
        await client.delete(R.persistentvolumeclaims, ns, c.metadata.name!, { preconditions: { uid: c.metadata.uid } }).catch(ignoreGone);
        recordEvent(client, logger, source, set, 'Normal', 'SuccessfulDelete', `delete Claim ${c.metadata.name} in StatefulSet ${set.metadata.name} successful`);
      }
    }
  }

  async function deletePod(set: KubeObject, p: KubeObject): Promise<void> {
    try {
      // The uid precondition keeps a stale cache from deleting the pod's successor of the same name.
      await client.delete(R.pods, p.metadata.namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } });
      recordEvent(client, logger, source, set, 'Normal', 'SuccessfulDelete', `delete Pod ${p.metadata.name} in StatefulSet ${set.metadata.name} successful`);
    } catch (err) { ignoreGone(err as { code?: string }); }
  }

  /** Restore identity labels someone removed (as identityMatches/updateIdentity). */
  async function fixIdentity(p: KubeObject, ord: number): Promise<void> {
    const l = p.metadata.labels ?? {};
    if (l[POD_NAME_LABEL] === p.metadata.name && l[POD_INDEX_LABEL] === String(ord)) return;
    await client.patch(R.pods, p.metadata.namespace, p.metadata.name!, { metadata: { labels: { [POD_NAME_LABEL]: p.metadata.name, [POD_INDEX_LABEL]: String(ord) } } }).catch(ignoreGone);
  }

  async function updateStatus(set: KubeObject, all: KubeObject[], cur: string, upd: string): Promise<void> {
    const minReady = set.spec?.minReadySeconds ?? 0;
    const s: Obj = { observedGeneration: set.metadata.generation, replicas: 0, readyReplicas: 0, currentReplicas: 0, updatedReplicas: 0, availableReplicas: 0, currentRevision: cur, updateRevision: upd, collisionCount: 0 };
    let waitForAvailable = false;
    for (const p of all) {
      const created = !!p.status?.phase;
      if (created) s.replicas++;
      if (isRunningAndReady(p)) { s.readyReplicas++; if (isPodAvailable(p, minReady)) s.availableReplicas++; else waitForAvailable = true; }
      if (created && !terminating(p)) {
        if (p.metadata.labels?.[REVISION_LABEL] === cur) s.currentReplicas++;
        if (p.metadata.labels?.[REVISION_LABEL] === upd) s.updatedReplicas++;
      }
    }
    // A finished rolling update makes the update revision current (completeRollingUpdate).
    const want = set.spec?.replicas ?? 1;
    if (set.spec?.updateStrategy?.type !== 'OnDelete' && s.updatedReplicas === want && s.readyReplicas === want && s.replicas === want) {
      s.currentReplicas = s.updatedReplicas;
      s.currentRevision = upd;
    }
    const status = { ...(set.status ?? {}), ...s };
    if (JSON.stringify(status) !== JSON.stringify(set.status ?? {})) await client.updateStatus(R.statefulsets, set.metadata.namespace, { ...set, status });
    // A pod ready but not yet minReadySeconds old becomes available with no event: look again then.
    if (waitForAvailable) queue.addAfter(keyOf(set), minReady * 1000);
  }

  return { name: 'statefulset', queue, reconcile, workers: 2 };
}
