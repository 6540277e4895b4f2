// root-ca-cert-publisher (pkg/controller/certificates/rootcacertpublisher): every namespace has the ConfigMap
// kube-root-ca.crt whose ca.crt is the cluster CA (--root-ca-file), the bundle a pod's mounted ServiceAccount volume
// carries to verify the apiserver. An edited or deleted one is put back. Without --root-ca-file nothing is
// published (said loudly at start): pods that mount a token then fail with FailedMount, configmap not found —
// as a Kubernetes cluster whose controller manager has no CA to publish.
import { keyOf } from '../../client/informer.ts';
import type { KubeObject } from '../../api/types.ts';
import { newQueue, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
export const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
export const DESCRIPTION = 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. '
  + 'No other usage is guaranteed across distributions of Kubernetes clusters.';

export function newRootCACertPublisher(ctx: ControllerContext): Controller {
  const { client, logger } = ctx;
  const queue = newQueue();
  const rootCA = ctx.options.rootCA;
  const controller: Controller = { name: 'root-ca-cert-publisher', queue, reconcile: async () => {}, workers: 1 };
  if (!rootCA) {
    logger.warn('no --root-ca-file: no kube-root-ca.crt ConfigMap is published, so pods that mount a ServiceAccount token fail to start (FailedMount: configmap "kube-root-ca.crt" not found)');
    return controller;
  }
  const namespaces = ctx.informers.get('namespaces');
  const configMaps = ctx.informers.get('configmaps');
  namespaces.addHandlers({
    onAdd: (ns) => queue.add(keyOf(ns)),
    onUpdate: (_o, ns) => { if (ns.status?.phase === 'Active') queue.add(keyOf(ns)); },
  });
  const mine = (cm: KubeObject) => { if (cm.metadata.name === ROOT_CA_CONFIGMAP) queue.add(cm.metadata.namespace!); };
  configMaps.addHandlers({ onUpdate: (_o, cm) => mine(cm), onDelete: mine });

  controller.reconcile = async (ns: string) => {
    const cm = configMaps.get(ROOT_CA_CONFIGMAP, ns);
    const data = { 'ca.crt': rootCA };
    if (!cm) {
      const namespace = namespaces.get(ns);
      if (!namespace || namespace.metadata.deletionTimestamp) return;
      try {
        await client.create(R.configmaps, ns, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROOT_CA_CONFIGMAP, namespace: ns, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } }, data } as KubeObject);
      } catch (err) {
        // Gone or terminating meanwhile: nothing to retry (as Kubernetes). Already there: the cache was behind.
        const code = (err as { code?: string }).code;
        if (code === 'NotFound' || code === 'Forbidden' || code === 'AlreadyExists') return;
        throw err;
      }
      return;
    }
    const have = (cm.data ?? {}) as Record<string, string>;
    const same = Object.keys(have).length === 1 && have['ca.crt'] === rootCA;
    if (same && cm.metadata.annotations?.[DESCRIPTION_ANNOTATION]) return;
    await client.update(R.configmaps, ns, { ...cm, data, metadata: { ...cm.metadata, annotations: { ...cm.metadata.annotations, [DESCRIPTION_ANNOTATION]: DESCRIPTION } } } as KubeObject);
    logger.info({ namespace: ns }, 'put kube-root-ca.crt back');
  };
  return controller;
}
