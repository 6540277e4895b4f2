// The tokencleaner controller (pkg/controller/bootstrap/tokencleaner.go): a kube-system Secret of type
// bootstrap.kubernetes.io/token whose expiration has passed is deleted, at its expiry.
import type { KubeObject } from '../../api/types.ts';
import { BOOTSTRAP_TOKEN_TYPE, bootstrapTokenExpired } from '../../api/bootstrap-token.ts';
import { enqueueSelf, newQueue, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { ignoreNotFound } from '../pods.ts';
import { R } from '../informers.ts';

type Obj = Record<string, any>;

export function newTokenCleanerController(ctx: ControllerContext): Controller {
  const { client, logger } = ctx;
  const secrets = ctx.informers.get('secrets');
  const queue = newQueue();
  enqueueSelf(secrets, queue);

  async function reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    if (namespace !== 'kube-system') return;
    const s = secrets.get(name, namespace) as (KubeObject & Obj) | undefined;
    if (!s || s.type !== BOOTSTRAP_TOKEN_TYPE || s.metadata.deletionTimestamp) return;
    if (!bootstrapTokenExpired(s.data)) {
      const exp = s.data?.expiration ? Date.parse(Buffer.from(s.data.expiration, 'base64').toString()) : NaN;
      if (Number.isFinite(exp)) queue.addAfter(key, Math.min(exp - Date.now() + 1000, 3_600_000));
      return;
    }
    const deleted = await client.delete(R.secrets, namespace, name, { preconditions: { uid: s.metadata.uid } }).then(() => true, ignoreNotFound);
    if (deleted) logger.info({ secret: name }, 'deleted an expired bootstrap token');
  }

  return { name: 'tokencleaner', queue, reconcile, workers: 1 };
}
