// The garbage collector (Kubernetes' garbage collector, over the shared informers instead of a
// separate graph): an object whose owners are all gone is deleted; an owner deleted with
// propagationPolicy Foreground (finalizer foregroundDeletion) has its dependents deleted first
// and goes once no blocking dependent remains; one deleted with Orphan (finalizer orphan) has its
// ownerReference removed from every dependent, then goes. Owners may be custom objects: the kinds of the
// established CRDs are learnt from a CRD informer, and since no informer watches those owners, the dependents
// that name one are looked at again every few seconds (Kubernetes' collector watches every kind instead).
import { kindsOf } from '../../api/custom-kinds.ts';
import type { DeletionPropagation, KubeObject, OwnerReference } from '../../api/types.ts';
import { RESOURCES, findByKind, setCustomKinds, type ResourceInfo } from '../../api/resources.ts';
import { keyOf, type Informer } from '../../client/informer.ts';
import { newQueue, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { ignoreNotFound } from '../pods.ts';
import { R, type ResourceName } from '../informers.ts';

export const FINALIZER_FOREGROUND = 'foregroundDeletion';
export const FINALIZER_ORPHAN = 'orphan';

/** The resources whose objects are watched as owners and dependents. */
const WATCHED: ResourceName[] = ['pods', 'replicasets', 'replicationcontrollers', 'deployments', 'daemonsets', 'statefulsets', 'jobs', 'cronjobs', 'persistentvolumeclaims'];

type OwnerState = 'solid' | 'dangling' | 'waiting';

const deleting = (o: KubeObject, finalizer: string) => Boolean(o.metadata.deletionTimestamp && o.metadata.finalizers?.includes(finalizer));
/** How often dependents of custom owners are checked again. */
const CUSTOM_OWNER_RECHECK_MS = 3000;

const established = (crd: KubeObject) => Boolean(crd.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True'));


export function newGarbageCollector(ctx: ControllerContext): Controller {
  const { client, logger } = ctx;
  const informers = new Map<ResourceName, Informer>(WATCHED.map((r) => [r, ctx.informers.get(r)]));
  const queue = newQueue();
  const resourceOf = (ref: Pick<OwnerReference, 'apiVersion' | 'kind'>): ResourceName | undefined => {
    const info = findByKind(ref.apiVersion, ref.kind);
    return WATCHED.find((r) => info && R[r].group === info.group && R[r].resource === info.resource);
  };
  const enqueue = (res: ResourceName, o: KubeObject) => queue.add(`${res}|${keyOf(o)}`);
  const enqueueOwners = (o: KubeObject, refs = o.metadata.ownerReferences ?? []) => {
    for (const ref of refs) {
      const res = resourceOf(ref);
      if (res) queue.add(`${res}|${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${ref.name}`);
    }
  };
  const dependentsOf = (uid: string): Array<[ResourceName, KubeObject]> =>
    [...informers].flatMap(([res, inf]) => inf.byIndex('byOwnerUid', uid).map((d): [ResourceName, KubeObject] => [res, d]));

  const warnedKinds = new Set<string>(); // an unknown owner kind is logged once, not at every recheck
  const crds = ctx.informers.get('customresourcedefinitions');
  // Learn an established CRD's kinds when they are new or their versions changed (an apiserver in this same
  // process, as in tests, keeps its own entries: they carry its state, e.g. the CRD being terminating).
  const learn = (crd: KubeObject) => {
    if (!established(crd)) return;
    let kinds: ResourceInfo[];
    try { kinds = kindsOf(crd); } catch { return; /* the apiserver refused such a CRD */ }
    const versions = (list: ResourceInfo[]) => list.map((k) => k.version).sort().join(',');
    if (versions(RESOURCES.filter((r) => r.custom?.crd === crd.metadata.name)) !== versions(kinds)) setCustomKinds(crd.metadata.name!, kinds);
  };
  crds.addHandlers({ onAdd: learn, onUpdate: (_old, crd) => learn(crd), onDelete: (crd) => setCustomKinds(crd.metadata.name!, []) });

  for (const [res, inf] of informers) {
    const interesting = (o: KubeObject) => Boolean(o.metadata.ownerReferences?.length || deleting(o, FINALIZER_FOREGROUND) || deleting(o, FINALIZER_ORPHAN));
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    inf.addHandlers({
      onAdd: (o) => { if (interesting(o)) enqueue(res, o); },
      onUpdate: (old, o) => {
        const m = o.metadata, om = old.metadata;
        if (!same(m.ownerReferences, om.ownerReferences)) enqueueOwners(old); // a waiting owner may be free now
        if (!same(m.ownerReferences, om.ownerReferences) || !same(m.finalizers, om.finalizers) || m.deletionTimestamp !== om.deletionTimestamp) {
          if (interesting(o)) enqueue(res, o);
        }
      },
      onDelete: (o) => {
        // Its dependents may be orphans now; its owners may be waiting for it to go.
        for (const [dres, d] of dependentsOf(o.metadata.uid!)) enqueue(dres, d);
        enqueueOwners(o);
      },
    });
  }

  /** Is the owner there (solid), gone or replaced (dangling), or waiting for its dependents (foreground)? */
  async function ownerState(dependent: KubeObject, ref: OwnerReference): Promise<OwnerState> {
    const info = findByKind(ref.apiVersion, ref.kind);
    if (!info) {
      if (warnedKinds.has(`${ref.apiVersion}/${ref.kind}`)) return 'solid';
      warnedKinds.add(`${ref.apiVersion}/${ref.kind}`);
      logger.warn({ dependent: keyOf(dependent), owner: `${ref.apiVersion}/${ref.kind}` }, 'owner kind unknown; treated as present');
      return 'solid';
    }
    const ns = info.namespaced ? dependent.metadata.namespace : undefined;
    const res = resourceOf(ref);
    let owner = res ? informers.get(res)!.get(ref.name, ns) : undefined;
    // The cache may be behind (an owner created a moment ago): only the apiserver can say it is gone.
    if (owner?.metadata.uid !== ref.uid) owner = await client.get(info, ns, ref.name).catch(ignoreNotFound);
    if (!owner || owner.metadata.uid !== ref.uid) return 'dangling';
    return deleting(owner, FINALIZER_FOREGROUND) ? 'waiting' : 'solid';
  }

  /** Drop the references to `uids` from a dependent (pinned to the version we looked at). */
  async function removeRefs(res: ResourceName, d: KubeObject, uids: Set<string>): Promise<void> {
    const keep = (d.metadata.ownerReferences ?? []).filter((r) => !uids.has(r.uid));
    await client.patch(R[res], d.metadata.namespace, d.metadata.name!, { metadata: { resourceVersion: d.metadata.resourceVersion, ownerReferences: keep.length ? keep : null } }).catch(ignoreNotFound);
  }

  async function deleteObject(res: ResourceName, o: KubeObject, propagationPolicy: DeletionPropagation): Promise<void> {
    logger.info({ resource: res, object: keyOf(o), propagationPolicy }, 'deleting object whose owners are gone');
    await client.delete(R[res], o.metadata.namespace, o.metadata.name!, { propagationPolicy, preconditions: { uid: o.metadata.uid } }).catch(ignoreNotFound);
  }

  async function removeFinalizer(res: ResourceName, o: KubeObject, finalizer: string): Promise<void> {
    const rest = (o.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    await client.patch(R[res], o.metadata.namespace, o.metadata.name!, { metadata: { resourceVersion: o.metadata.resourceVersion, finalizers: rest.length ? rest : null } }).catch(ignoreNotFound);
  }

  /** A dependent: delete it when no owner remains, or drop the references to owners that are gone. */
  async function attemptToDelete(res: ResourceName, o: KubeObject): Promise<void> {
    if (o.metadata.deletionTimestamp && !deleting(o, FINALIZER_FOREGROUND)) return; // already going
    const states = new Map<string, OwnerState>();
    for (const ref of o.metadata.ownerReferences ?? []) states.set(ref.uid, await ownerState(o, ref));
    const uidsIn = (s: OwnerState) => [...states].filter(([, v]) => v === s).map(([uid]) => uid);
    const [solid, dangling, waiting] = [uidsIn('solid'), uidsIn('dangling'), uidsIn('waiting')];
    if (!dangling.length && !waiting.length) return;
    if (solid.length) {
      // Someone still owns it: it stays, only the references to departed owners go.
      await removeRefs(res, o, new Set([...dangling, ...waiting]));
      return;
    }
    // An owner is waiting for it and it has dependents of its own: they go first (foreground too).
    if (waiting.length && dependentsOf(o.metadata.uid!).length) { await deleteObject(res, o, 'Foreground'); return; }
    const fins = o.metadata.finalizers ?? [];
    await deleteObject(res, o, fins.includes(FINALIZER_ORPHAN) ? 'Orphan' : fins.includes(FINALIZER_FOREGROUND) ? 'Foreground' : 'Background');
  }

  /** Foreground: delete the dependents, and remove the finalizer once no blocking dependent remains. */
  async function deleteDependentsFirst(res: ResourceName, owner: KubeObject): Promise<void> {
    const deps = dependentsOf(owner.metadata.uid!);
    for (const [dres, d] of deps) if (!d.metadata.deletionTimestamp) await attemptToDelete(dres, d);
    const blocking = deps.filter(([, d]) => d.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid && r.blockOwnerDeletion));
    // Their deletions re-queue us (onDelete enqueues owners); until then we wait.
    if (!blocking.length) await removeFinalizer(res, owner, FINALIZER_FOREGROUND);
  }

  /** Orphan: every dependent loses its reference to the owner, then the owner goes. */
  async function orphanDependents(res: ResourceName, owner: KubeObject): Promise<void> {
    const uid = new Set([owner.metadata.uid!]);
    for (const [dres, d] of dependentsOf(owner.metadata.uid!)) await removeRefs(dres, d, uid);
    await removeFinalizer(res, owner, FINALIZER_ORPHAN);
  }

  async function reconcile(key: string): Promise<void> {
    const bar = key.indexOf('|');
    const res = key.slice(0, bar) as ResourceName;
    const { namespace, name } = splitKey(key.slice(bar + 1));
    const o = informers.get(res)?.get(name, namespace);
    if (!o) return;
    if (deleting(o, FINALIZER_ORPHAN)) { await orphanDependents(res, o); return; }
    if (deleting(o, FINALIZER_FOREGROUND)) await deleteDependentsFirst(res, o);
    if (o.metadata.ownerReferences?.length) await attemptToDelete(res, o);
  }

  /** Dependents whose owners include a kind no informer watches (custom objects): enqueued again periodically. */
  async function recheckCustomOwners(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await new Promise((r) => setTimeout(r, CUSTOM_OWNER_RECHECK_MS));
      for (const [res, inf] of informers) {
        for (const o of inf.list()) if (o.metadata.ownerReferences?.some((ref) => !resourceOf(ref))) enqueue(res, o);
      }
    }
  }

  return { name: 'garbagecollector', queue, reconcile, workers: 4, run: recheckCustomOwners };
}
