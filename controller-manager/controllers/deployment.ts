// Deployment: one ReplicaSet per pod template (named by the template's hash), scaled so that a
// rollout honours maxSurge and maxUnavailable (RollingUpdate) or stops every old pod first
// (Recreate). Revisions, rollbacks (kubectl rollout undo writes an old template back; its
// ReplicaSet becomes the new one again), pause, proportional scaling mid-rollout, history
// limits, and the Progressing/Available conditions kubectl rollout status reads.
import type { KubeObject } from '../../api/types.ts';
import { selectorFromLabelSelector } from '../../api/selectors.ts';
import { keyOf } from '../../client/informer.ts';
import { recordEvent } from '../../client/events.ts';
import { newQueue, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';
import { controllerRef, ignoreGone, isPodActive, ownerRefTo, templateHash } from '../pods.ts';
import {
  HASH_LABEL, getCondition, proportion, replicasOf, revisionOf, rsAnnotations, sameTemplate, setCondition,
  surgeAndUnavailable, DESIRED_REPLICAS, type Condition,
} from './deployment-util.ts';

const sum = (rss: KubeObject[], f: (rs: KubeObject) => number) => rss.reduce((n, rs) => n + f(rs), 0);
/** Available pods of a ReplicaSet, never more than it is asked to keep (its status lags a scale-down). */
const available = (rs: KubeObject) => Math.min(rs.status?.availableReplicas ?? 0, replicasOf(rs));
const byAge = (a: KubeObject, b: KubeObject) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name! < b.metadata.name! ? -1 : 1);

export function newDeploymentController(ctx: ControllerContext): Controller {
  const { client, logger } = ctx;
  const deployments = ctx.informers.get('deployments');
  const replicaSets = ctx.informers.get('replicasets');
  const pods = ctx.informers.get('pods');
  const queue = newQueue();
  const source = { component: 'deployment-controller' };
  /** ReplicaSet writes not yet seen in the cache: acting on an older view could scale twice. */
  const written = new Map<string, number>();

  deployments.addHandlers({ onAdd: (d) => queue.add(keyOf(d)), onUpdate: (_o, d) => queue.add(keyOf(d)), onDelete: (d) => queue.add(keyOf(d)) });
  const enqueueOwner = (rs: KubeObject) => {
    const ref = controllerRef(rs);
    if (ref?.kind === 'Deployment') queue.add(`${rs.metadata.namespace}/${ref.name}`);
  };
  replicaSets.addHandlers({ onAdd: enqueueOwner, onUpdate: (_o, n) => enqueueOwner(n), onDelete: enqueueOwner });
  // Recreate waits for old pods to be gone: their deletion must wake it.
  pods.addHandlers({
    onDelete: (p) => {
      const ref = controllerRef(p);
      const rs = ref?.kind === 'ReplicaSet' ? replicaSets.get(ref.name, p.metadata.namespace) : undefined;
      if (rs) enqueueOwner(rs);
    },
  });

  const cacheBehind = (rss: KubeObject[]) => rss.some((rs) => Number(rs.metadata.resourceVersion) < (written.get(keyOf(rs)) ?? 0));

  async function writeRS(rs: KubeObject): Promise<KubeObject> {
    const out = await client.update<KubeObject>(R.replicasets, rs.metadata.namespace, rs);
    written.set(keyOf(out), Number(out.metadata.resourceVersion));
    return out;
  }

  async function scaleRS(d: KubeObject, rs: KubeObject, replicas: number, newRevision?: number): Promise<boolean> {
    const annotations = newRevision ? rsAnnotations(d, rs, newRevision) : { ...(rs.metadata.annotations ?? {}), ...rsAnnotations(d, rs, revisionOf(rs)) };
    const sizeChanged = replicasOf(rs) !== replicas;
    if (!sizeChanged && JSON.stringify(annotations) === JSON.stringify(rs.metadata.annotations ?? {})) return false;
    const next = structuredClone(rs);
    next.spec.replicas = replicas;
    next.metadata.annotations = annotations;
    await writeRS(next);
    if (sizeChanged) {
      const verb = replicas > replicasOf(rs) ? 'up' : 'down';
      recordEvent(client, logger, source, d, 'Normal', 'ScalingReplicaSet', `Scaled ${verb} replica set ${rs.metadata.name} from ${replicasOf(rs)} to ${replicas}`);
    }
    return sizeChanged;
  }

  /** The ReplicaSets this Deployment controls, adopting orphans that match its selector. */
  async function ownedReplicaSets(d: KubeObject): Promise<KubeObject[]> {
    const selector = selectorFromLabelSelector(d.spec?.selector);
    const out: KubeObject[] = [];
    for (const rs of replicaSets.byIndex('byNamespace', d.metadata.namespace!)) {
      const ref = controllerRef(rs);
      if (ref?.uid === d.metadata.uid) { out.push(rs); continue; }
      if (ref || !selector.matches(rs.metadata.labels) || d.metadata.deletionTimestamp) continue;
      const adopted = await client.patch<KubeObject>(R.replicasets, rs.metadata.namespace, rs.metadata.name!,
        { metadata: { ownerReferences: [...(rs.metadata.ownerReferences ?? []), ownerRefTo(d, 'apps/v1', 'Deployment')] } }).catch(ignoreGone);
      if (adopted) out.push(adopted);
    }
    return out;
  }

  /** Find the ReplicaSet of the current template, or create it; bump its revision past every old one. */
  async function newReplicaSet(d: KubeObject, all: KubeObject[], old: KubeObject[], create: boolean, initialReplicas: number): Promise<KubeObject | undefined> {
    const revision = Math.max(0, ...old.map(revisionOf)) + 1;
    const existing = all.find((rs) => sameTemplate(rs.spec?.template, d.spec?.template));
    if (existing) {
      if (revisionOf(existing) < revision || existing.metadata.annotations?.[DESIRED_REPLICAS] !== String(replicasOf(d))) {
        await scaleRS(d, existing, replicasOf(existing), revision);
        return replicaSets.get(existing.metadata.name!, existing.metadata.namespace) ?? existing;
      }
      return existing;
    }
    if (!create) return undefined;
    const collisions = d.status?.collisionCount ?? 0;
    const hash = templateHash(d.spec.template, collisions);
    const template = structuredClone(d.spec.template);
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [HASH_LABEL]: hash } };
    const rs: KubeObject = {
      apiVersion: 'apps/v1', kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`, namespace: d.metadata.namespace, labels: template.metadata.labels,
        annotations: rsAnnotations(d, undefined, revision), ownerReferences: [ownerRefTo(d, 'apps/v1', 'Deployment')],
      },
      spec: {
        replicas: initialReplicas, minReadySeconds: d.spec.minReadySeconds ?? 0, template,
        selector: { ...d.spec.selector, matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), [HASH_LABEL]: hash } },
      },
    };
    try {
      const made = await client.create<KubeObject>(R.replicasets, d.metadata.namespace, rs);
      written.set(keyOf(made), Number(made.metadata.resourceVersion));
      recordEvent(client, logger, source, d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${rs.metadata.name} from 0 to ${initialReplicas}`);
      await writeStatus(d, all, made, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "${rs.metadata.name}"` });
      return undefined; // wait for the cache to show it
    } catch (err) {
      if ((err as { code?: string }).code !== 'AlreadyExists') throw err;
      // Same name, different template: a hash collision. Count it so the next hash differs.
      const other = await client.get<KubeObject>(R.replicasets, d.metadata.namespace, rs.metadata.name!);
      if (!sameTemplate(other.spec?.template, d.spec.template)) {
        await client.updateStatus(R.deployments, d.metadata.namespace, { ...d, status: { ...(d.status ?? {}), collisionCount: collisions + 1 } });
      }
      throw err;
    }
  }

  async function reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const d = deployments.get(name, namespace);
    if (!d) return;
    const all = await ownedReplicaSets(d);
    if (cacheBehind(all)) return; // our own write's event will bring us back
    if (d.metadata.deletionTimestamp) return;
    let selectorOk = true;
    try { selectorOk = !selectorFromLabelSelector(d.spec?.selector).empty(); } catch { selectorOk = false; }
    if (!selectorOk) { logger.warn({ key }, 'a selector that selects everything or is invalid: skipped'); return; }

    const replicas = replicasOf(d);
    const [surge, maxUnavailable] = surgeAndUnavailable(d);
    const recreate = d.spec?.strategy?.type === 'Recreate';
    const existingNew = all.find((rs) => sameTemplate(rs.spec?.template, d.spec?.template));
    const oldOf = (n?: KubeObject) => all.filter((rs) => rs !== n && rs.metadata.uid !== n?.metadata.uid);

    // Paused, or only the size changed: scale without starting a rollout.
    const activeRSs = all.filter((rs) => replicasOf(rs) > 0);
    const scaling = activeRSs.some((rs) => rs.metadata.annotations?.[DESIRED_REPLICAS] !== String(replicas));
    if (d.spec?.paused || (scaling && existingNew && !recreate)) {
      await scaleProportionally(d, all, existingNew, replicas + surge);
      return writeStatus(d, all, existingNew, d.spec?.paused ? { type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' } : undefined);
    }

    if (recreate) {
      const old = oldOf(existingNew);
      for (const rs of old) if (replicasOf(rs) > 0) { await scaleRS(d, rs, 0); return; }
      const oldPodsRunning = old.some((rs) => pods.byIndex('byControllerUid', rs.metadata.uid!).some((p) => isPodActive(p) || (p.status?.phase === 'Running')));
      if (oldPodsRunning) return writeStatus(d, all, existingNew);
      const nrs = await newReplicaSet(d, all, old, true, replicas);
      if (!nrs) return;
      if (await scaleRS(d, nrs, replicas)) return;
      await cleanup(d, old);
      return writeStatus(d, all, nrs);
    }

    // RollingUpdate: first scale the new ReplicaSet up within maxSurge …
    const old = oldOf(existingNew);
    const total = sum(all, replicasOf);
    const firstSize = existingNew ? 0 : Math.max(0, Math.min(replicas, replicas + surge - total));
    const nrs = await newReplicaSet(d, all, old, true, firstSize);
    if (!nrs) return;
    if (replicasOf(nrs) > replicas) { await scaleRS(d, nrs, replicas); return; }
    if (replicasOf(nrs) < replicas && total < replicas + surge) {
      const up = Math.min(replicas + surge - total, replicas - replicasOf(nrs));
      await scaleRS(d, nrs, replicasOf(nrs) + up);
      return writeStatus(d, all, nrs, progressing(nrs));
    }
    // … then old ones down while at least replicas - maxUnavailable stay available.
    const minAvailable = replicas - maxUnavailable;
    const newUnavailable = replicasOf(nrs) - available(nrs);
    let budget = total - minAvailable - newUnavailable;
    let scaledDown = false;
    if (budget > 0) {
      // Unhealthy old pods go first: removing them costs no availability.
      for (const rs of [...old].sort(byAge)) {
        const unhealthy = replicasOf(rs) - available(rs);
        const n = Math.min(unhealthy, budget);
        if (n <= 0) continue;
        await scaleRS(d, rs, replicasOf(rs) - n);
        budget -= n; scaledDown = true;
      }
      let spare = sum([...old, nrs], available) - minAvailable;
      if (!scaledDown) {
        for (const rs of [...old].sort(byAge)) {
          const n = Math.min(replicasOf(rs), spare, budget);
          if (n <= 0) continue;
          await scaleRS(d, rs, replicasOf(rs) - n);
          spare -= n; budget -= n; scaledDown = true;
        }
      }
    }
    if (scaledDown) return writeStatus(d, all, nrs, progressing(nrs));
    if (complete(d, all, nrs)) await cleanup(d, old);
    return writeStatus(d, all, nrs);
  }

  const progressing = (nrs: KubeObject) => ({ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${nrs.metadata.name}" is progressing.` });

  function complete(d: KubeObject, all: KubeObject[], nrs: KubeObject | undefined): boolean {
    const replicas = replicasOf(d);
    return !!nrs && (nrs.status?.replicas ?? 0) === replicas && sum(all, (rs) => rs.status?.replicas ?? 0) === replicas
      && available(nrs) === replicas && replicasOf(nrs) === replicas && all.every((rs) => rs === nrs || replicasOf(rs) === 0);
  }

  /** Spread a size change over the active ReplicaSets in proportion to their sizes (new one gets the rest). */
  async function scaleProportionally(d: KubeObject, all: KubeObject[], nrs: KubeObject | undefined, allowed: number): Promise<void> {
    const active = all.filter((rs) => replicasOf(rs) > 0);
    if (active.length <= 1 || d.spec?.strategy?.type === 'Recreate') {
      const target = active[0] ?? nrs;
      if (target) await scaleRS(d, target, replicasOf(d));
      return;
    }
    let toAdd = allowed - sum(active, replicasOf);
    const sizes = new Map(active.map((rs) => [rs, replicasOf(rs)] as const));
    for (const rs of [...active].sort((a, b) => replicasOf(b) - replicasOf(a))) {
      const n = proportion(rs, toAdd, allowed);
      sizes.set(rs, replicasOf(rs) + n);
      toAdd -= n;
    }
    const rest = nrs && sizes.has(nrs) ? nrs : active[0];
    sizes.set(rest, Math.max(0, sizes.get(rest)! + toAdd));
    for (const [rs, n] of sizes) await scaleRS(d, rs, n);
  }

  /** Keep revisionHistoryLimit old, empty ReplicaSets; delete older ones. */
  async function cleanup(d: KubeObject, old: KubeObject[]): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const empty = old.filter((rs) => replicasOf(rs) === 0 && (rs.status?.replicas ?? 0) === 0 && !rs.metadata.deletionTimestamp).sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of empty.slice(0, Math.max(0, empty.length - limit))) {
      await client.delete(R.replicasets, rs.metadata.namespace, rs.metadata.name!, { preconditions: { uid: rs.metadata.uid } }).catch(ignoreGone);
    }
  }

  async function writeStatus(d: KubeObject, all: KubeObject[], nrs: KubeObject | undefined, cond?: Omit<Condition, 'lastUpdateTime' | 'lastTransitionTime'>): Promise<void> {
    const replicas = replicasOf(d);
    const [, maxUnavailable] = surgeAndUnavailable(d);
    const availableReplicas = sum(all, (rs) => rs.status?.availableReplicas ?? 0);
    let conditions: Condition[] = d.status?.conditions ?? [];
    conditions = setCondition(conditions, availableReplicas >= replicas - maxUnavailable
      ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
      : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' });
    const prog = getCondition(d, 'Progressing');
    if (cond) conditions = setCondition(conditions, cond);
    else if (!d.spec?.paused && nrs && complete(d, all, nrs)) {
      conditions = setCondition(conditions, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${nrs.metadata.name}" has successfully progressed.` });
    } else if (!d.spec?.paused && prog?.reason === 'DeploymentPaused') {
      conditions = setCondition(conditions, { type: 'Progressing', status: 'Unknown', reason: 'DeploymentResumed', message: 'Deployment is resumed' });
    } else if (!d.spec?.paused && nrs && prog?.status === 'True' && prog.reason !== 'NewReplicaSetAvailable' && d.spec?.progressDeadlineSeconds) {
      // No progress within progressDeadlineSeconds: say so (kubectl rollout status then fails).
      const deadline = Date.parse(prog.lastUpdateTime ?? '') + d.spec.progressDeadlineSeconds * 1000;
      if (Date.now() > deadline) conditions = setCondition(conditions, { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${nrs.metadata.name}" has timed out progressing.` });
      else queue.addAfter(keyOf(d), deadline - Date.now() + 100);
    }
    const status = {
      observedGeneration: d.metadata.generation,
      replicas: sum(all, (rs) => rs.status?.replicas ?? 0),
      updatedReplicas: nrs?.status?.replicas ?? 0,
      readyReplicas: sum(all, (rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas,
      unavailableReplicas: Math.max(0, replicas - availableReplicas),
      conditions,
      ...(d.status?.collisionCount ? { collisionCount: d.status.collisionCount } : {}),
    };
    const annotations = { ...(d.metadata.annotations ?? {}) };
    if (nrs && annotations['deployment.kubernetes.io/revision'] !== String(revisionOf(nrs)) && revisionOf(nrs)) {
      annotations['deployment.kubernetes.io/revision'] = String(revisionOf(nrs));
      await client.patch(R.deployments, d.metadata.namespace, d.metadata.name!, { metadata: { annotations: { 'deployment.kubernetes.io/revision': String(revisionOf(nrs)) } } });
      return; // the update brings us back with a fresh object
    }
    if (JSON.stringify(status) === JSON.stringify(d.status ?? {})) return;
    await client.updateStatus(R.deployments, d.metadata.namespace, { ...d, status });
  }

  return { name: 'deployment', queue, reconcile, workers: 4 };
}
