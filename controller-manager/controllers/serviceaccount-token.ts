// serviceaccount-token (pkg/controller/serviceaccount/tokens_controller.go): a Secret of type
// kubernetes.io/service-account-token that names a ServiceAccount (annotation kubernetes.io/service-account.name) is
// filled with a legacy token signed with --service-account-private-key-file, the namespace and the cluster CA, and
// gets the account's uid annotation; one whose ServiceAccount is gone (or is another one of the same name) is
// deleted. The apiserver accepts such a token only while this Secret holds it (apiserver/auth/service-account-tokens.ts).
import type { KeyObject } from 'node:crypto';
import type { KubeObject } from '../../api/types.ts';
import { keyOf } from '../../client/informer.ts';
import { signLegacyToken } from '../../lib/service-account-key.ts';
import { newQueue, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';

export const TOKEN_SECRET_TYPE = 'kubernetes.io/service-account-token';
export const SA_NAME_ANNOTATION = 'kubernetes.io/service-account.name';
export const SA_UID_ANNOTATION = 'kubernetes.io/service-account.uid';

type Secret = KubeObject & { type?: string; data?: Record<string, string> };
const b64 = (s: string) => Buffer.from(s).toString('base64');

export function newServiceAccountTokenController(ctx: ControllerContext): Controller {
  const { client, logger } = ctx;
  const queue = newQueue();
  const key: KeyObject | undefined = ctx.options.serviceAccountPrivateKey;
  const rootCA = ctx.options.rootCA;
  const controller: Controller = { name: 'serviceaccount-token', queue, reconcile: async () => {}, workers: 1 };
  if (!key) {
    logger.warn('serviceaccount-token is disabled because there is no --service-account-private-key-file: Secrets of type kubernetes.io/service-account-token get no token');
    return controller;
  }
  const secrets = ctx.informers.get<Secret>('secrets');
  const accounts = ctx.informers.get('serviceaccounts');
  const mine = (s: Secret) => { if (s.type === TOKEN_SECRET_TYPE) queue.add(keyOf(s)); };
  secrets.addHandlers({ onAdd: mine, onUpdate: (_o, s) => mine(s) });
  // A ServiceAccount gone (or made again): its token Secrets are looked at.
  const account = (sa: KubeObject) => {
    for (const s of secrets.byIndex('byNamespace', sa.metadata.namespace!)) {
      if (s.type === TOKEN_SECRET_TYPE && s.metadata.annotations?.[SA_NAME_ANNOTATION] === sa.metadata.name) queue.add(keyOf(s));
    }
  };
  accounts.addHandlers({ onAdd: account, onDelete: account });

  controller.reconcile = async (k: string) => {
    const { namespace: ns, name } = splitKey(k);
    const secret = secrets.get(name, ns);
    if (!secret || secret.type !== TOKEN_SECRET_TYPE || secret.metadata.deletionTimestamp) return;
    const saName = secret.metadata.annotations?.[SA_NAME_ANNOTATION] ?? '';
    const saUid = secret.metadata.annotations?.[SA_UID_ANNOTATION];
    // Not in the cache may be not yet in it: asked for once before the Secret goes.
    const sa = accounts.get(saName, ns) ?? await client.get(R.serviceaccounts, ns, saName).catch((err) => {
      if ((err as { code?: string }).code === 'NotFound') return undefined;
      throw err;
    });
    if (!sa || (saUid && sa.metadata.uid !== saUid)) {
      await client.delete(R.secrets, ns, name, { preconditions: { uid: secret.metadata.uid } }).catch((err) => {
        if (!['NotFound', 'Conflict'].includes((err as { code?: string }).code ?? '')) throw err;
      });
      logger.info({ namespace: ns, secret: name, serviceAccount: saName }, 'deleted the token Secret of a ServiceAccount that is gone');
      return;
    }
    const data = { ...(secret.data ?? {}) };
    const needsToken = !data.token;
    const needsCA = rootCA !== undefined && data['ca.crt'] !== b64(rootCA);
    const needsNamespace = data.namespace !== b64(ns!);
    if (!needsToken && !needsCA && !needsNamespace && saUid) return;
    if (needsToken) data.token = b64(await signLegacyToken(key, { namespace: ns!, secretName: name, serviceAccountName: saName, serviceAccountUID: sa.metadata.uid! }));
    if (needsCA) data['ca.crt'] = b64(rootCA!);
    data.namespace = b64(ns!);
    await client.update(R.secrets, ns, {
      ...secret, data, metadata: { ...secret.metadata, annotations: { ...secret.metadata.annotations, [SA_NAME_ANNOTATION]: saName, [SA_UID_ANNOTATION]: sa.metadata.uid! } },
    } as KubeObject);
    if (needsToken) logger.info({ namespace: ns, secret: name, serviceAccount: saName }, 'filled a legacy token Secret');
  };
  return controller;
}
