// The ephemeral volume controller (pkg/controller/volume/ephemeral): for each `ephemeral` volume of a pod, the claim
// `<pod>-<volume>` from its volumeClaimTemplate, owned by the pod, so the garbage collector deletes it with the pod.
// A claim of that name that the pod does not own is not taken over: the pod waits with a Warning saying so.
import type { KubeObject } from '../../api/types.ts';
import { recordEvent } from '../../client/events.ts';
import { enqueueSelf, newQueue, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';
import { ownerRefTo } from '../pods.ts';

type Obj = Record<string, any>;
const source = { component: 'ephemeral-volume-controller' };

export function newEphemeralVolumeController(ctx: ControllerContext): Controller {
  const { client, logger } = ctx;
  const pods = ctx.informers.get('pods');
  const claims = ctx.informers.get('persistentvolumeclaims');
  const queue = newQueue();
  enqueueSelf(pods, queue);

  async function reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pod = pods.get(name, namespace);
    if (!pod || pod.metadata.deletionTimestamp) return;
    for (const v of (pod.spec?.volumes ?? []) as Obj[]) {
      if (!v?.ephemeral?.volumeClaimTemplate) continue;
      const claimName = `${name}-${v.name}`;
      const have = claims.get(claimName, namespace);
      if (have) {
        if (!have.metadata.ownerReferences?.some((r) => r.uid === pod.metadata.uid)) {
          recordEvent(client, logger, source, pod, 'Warning', 'FailedBinding', `PVC ${namespace}/${claimName} was not created for pod ${namespace}/${name} (pod is not owner)`);
        }
        continue;
      }
      const t = v.ephemeral.volumeClaimTemplate;
      const claim: KubeObject = {
        apiVersion: 'v1', kind: 'PersistentVolumeClaim',
        metadata: { name: claimName, namespace, labels: t.metadata?.labels, annotations: t.metadata?.annotations, ownerReferences: [ownerRefTo(pod, 'v1', 'Pod')] },
        spec: structuredClone(t.spec ?? {}),
      };
      await client.create(R.persistentvolumeclaims, namespace, claim).catch((err) => { if ((err as { code?: string }).code !== 'AlreadyExists') throw err; });
      logger.info({ pod: key, claim: claimName }, 'ephemeral volume claim created');
    }
  }

  return { name: 'ephemeral-volume', queue, reconcile };
}
