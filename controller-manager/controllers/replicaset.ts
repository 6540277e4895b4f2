// ReplicaSet and ReplicationController: keep exactly spec.replicas active pods that match the
// selector. Orphans that match are adopted, owned pods that stop matching are released; creates
// and deletes in flight are remembered (Expectations) so a stale cache never doubles them.
import type { KubeObject } from '../../api/types.ts';
import { selectorFromLabelSelector, type Selector } from '../../api/selectors.ts';
import { keyOf } from '../../client/informer.ts';
import { recordEvent } from '../../client/events.ts';
import { newQueue, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';
import { claimPods, deletionOrder, Expectations, ignoreGone, inBatches, isPodActive, isPodAvailable, isPodReady, ownerRefTo, watchOwnersAndPods } from '../pods.ts';

interface Kind { name: string; res: typeof R.replicasets; apiVersion: string; kind: string; selector(o: KubeObject): Selector }

const RS: Kind = { name: 'replicaset', res: R.replicasets, apiVersion: 'apps/v1', kind: 'ReplicaSet', selector: (o) => selectorFromLabelSelector(o.spec?.selector) };
const RC: Kind = {
  name: 'replicationcontroller', res: R.replicationcontrollers, apiVersion: 'v1', kind: 'ReplicationController',
  selector: (o) => selectorFromLabelSelector({ matchLabels: o.spec?.selector ?? o.spec?.template?.metadata?.labels ?? {} }),
};

export const newReplicaSetController = (ctx: ControllerContext): Controller => newController(ctx, RS);
export const newReplicationController = (ctx: ControllerContext): Controller => newController(ctx, RC);

/** How many pods to create or delete at once. */
const BURST = 50;

function newController(ctx: ControllerContext, k: Kind): Controller {
  const { client, logger } = ctx;
  const owners = ctx.informers.get(k.res === R.replicasets ? 'replicasets' : 'replicationcontrollers');
  const pods = ctx.informers.get('pods');
  const queue = newQueue();
  const expectations = new Expectations();
  const source = { component: 'replicaset-controller' };

  watchOwnersAndPods({ owners, pods, queue, expectations, kind: k.kind, selector: k.selector });

  async function reconcile(key: string): Promise<void> {
    const owner = owners.get(splitKey(key).name, splitKey(key).namespace);
    if (!owner) { expectations.forget(key); return; }
    const ns = owner.metadata.namespace!;
    let selector: Selector;
    try { selector = k.selector(owner); } catch (err) { logger.warn({ key, err: String(err) }, 'invalid selector; skipped'); return; }
    if (selector.empty() && k === RS) { logger.warn({ key }, 'an empty selector would match every pod; skipped'); return; }
    const ref = ownerRefTo(owner, k.apiVersion, k.kind);
    const candidates = pods.byIndex('byNamespace', ns);
    const claimed = await claimPods(client, owner, ref, selector, candidates);
    const active = claimed.filter(isPodActive);
    const want = owner.spec?.replicas ?? 1;

    if (expectations.satisfied(key) && !owner.metadata.deletionTimestamp) {
      const diff = active.length - want;
      if (diff < 0) {
        const n = -diff;
        expectations.expect(key, n, 0);
        const template = owner.spec?.template;
        await inBatches([...Array(n).keys()], BURST, async () => {
          const pod = { ...structuredClone(template ?? {}), apiVersion: 'v1', kind: 'Pod' } as KubeObject;
          pod.metadata = { ...(pod.metadata ?? {}), generateName: `${owner.metadata.name}-`, namespace: ns, ownerReferences: [ref] };
          delete pod.metadata.name;
          try {
            const made = await client.create(R.pods, ns, pod);
            recordEvent(client, logger, source, owner, 'Normal', 'SuccessfulCreate', `Created pod: ${made.metadata.name}`);
          } catch (err) {
            expectations.lowerAdd(key);
            recordEvent(client, logger, source, owner, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
            throw err;
          }
        });
      } else if (diff > 0) {
        const victims = [...active].sort(deletionOrder).slice(0, diff);
        expectations.expect(key, 0, diff);
        await inBatches(victims, BURST, async (p) => {
          try {
            await client.delete(R.pods, ns, p.metadata.name!, { preconditions: { uid: p.metadata.uid } });
            recordEvent(client, logger, source, owner, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
          } catch (err) { expectations.lowerDelete(key); ignoreGone(err as { code?: string }); }
        });
      }
    }
    await updateStatus(owner, active);
  }

  async function updateStatus(owner: KubeObject, active: KubeObject[]): Promise<void> {
    const templateLabels = owner.spec?.template?.metadata?.labels ?? {};
    const minReady = owner.spec?.minReadySeconds ?? 0;
    const status = {
      ...(owner.status ?? {}),
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => Object.entries(templateLabels).every(([l, v]) => p.metadata.labels?.[l] === v)).length,
      readyReplicas: active.filter(isPodReady).length,
      availableReplicas: active.filter((p) => isPodAvailable(p, minReady)).length,
      observedGeneration: owner.metadata.generation,
    };
    if (JSON.stringify(status) === JSON.stringify(owner.status ?? {})) {
      requeueForAvailability(owner, active, minReady);
      return;
    }
    await client.updateStatus(k.res, owner.metadata.namespace, { ...owner, status });
    requeueForAvailability(owner, active, minReady);
  }

  // A pod ready but not yet minReadySeconds old becomes available with no event: look again then.
  function requeueForAvailability(owner: KubeObject, active: KubeObject[], minReady: number): void {
    if (minReady > 0 && active.some((p) => isPodReady(p) && !isPodAvailable(p, minReady))) queue.addAfter(keyOf(owner), minReady * 1000);
  }

  return { name: k.name, queue, reconcile, workers: 4 };
}
