// ServiceAccounts, as kube-controller-manager's serviceaccount controller: every namespace that is not being
// deleted has a ServiceAccount named "default" (pods that name none run as it, `kubectl create token default`
// asks for its token). Deleting it brings it back.
import { keyOf } from '../../client/informer.ts';
import { newQueue, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';

const DEFAULT = 'default';

export function newServiceAccountsController(ctx: ControllerContext): Controller {
  const { client, logger } = ctx;
  const namespaces = ctx.informers.get('namespaces');
  const accounts = ctx.informers.get('serviceaccounts');
  const queue = newQueue();
  namespaces.addHandlers({ onAdd: (ns) => queue.add(keyOf(ns)), onUpdate: (_o, ns) => queue.add(keyOf(ns)) });
  accounts.addHandlers({ onDelete: (sa) => { if (sa.metadata.name === DEFAULT) queue.add(sa.metadata.namespace!); } });

  async function reconcile(name: string): Promise<void> {
    const ns = namespaces.get(name);
    if (!ns || ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating') return;
    if (accounts.get(DEFAULT, name)) return;
    try {
      await client.create(R.serviceaccounts, name, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT, namespace: name } });
      logger.info({ namespace: name }, 'created the default ServiceAccount');
    } catch (err) {
      // Already there (the cache was behind), or the namespace began terminating meanwhile: nothing to do.
      const code = (err as { code?: string }).code;
      if (code === 'AlreadyExists' || code === 'Forbidden') return;
      throw err;
    }
  }

  return { name: 'serviceaccount', queue, reconcile, workers: 1 };
}
