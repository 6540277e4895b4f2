// One informer per resource, shared by every controller that needs it (as client-go's
// SharedInformerFactory): the controller manager lists and watches each kind once.
import type { KubeObject } from '../api/types.ts';
import type { ApiClient, ResourceKey } from '../client/api-client.ts';
import { Informer } from '../client/informer.ts';
import type { Logger } from '../lib/logger.ts';

export const R = {
  pods: { group: '', resource: 'pods' },
  nodes: { group: '', resource: 'nodes' },
  namespaces: { group: '', resource: 'namespaces' },
  services: { group: '', resource: 'services' },
  endpoints: { group: '', resource: 'endpoints' },
  replicationcontrollers: { group: '', resource: 'replicationcontrollers' },
  replicasets: { group: 'apps', resource: 'replicasets' },
  deployments: { group: 'apps', resource: 'deployments' },
  daemonsets: { group: 'apps', resource: 'daemonsets' },
  statefulsets: { group: 'apps', resource: 'statefulsets' },
  jobs: { group: 'batch', resource: 'jobs' },
  cronjobs: { group: 'batch', resource: 'cronjobs' },
  leases: { group: 'coordination.k8s.io', resource: 'leases' },
  serviceaccounts: { group: '', resource: 'serviceaccounts' },
  configmaps: { group: '', resource: 'configmaps' },
  secrets: { group: '', resource: 'secrets' },
  persistentvolumes: { group: '', resource: 'persistentvolumes' },
  persistentvolumeclaims: { group: '', resource: 'persistentvolumeclaims' },
  storageclasses: { group: 'storage.k8s.io', resource: 'storageclasses' },
  poddisruptionbudgets: { group: 'policy', resource: 'poddisruptionbudgets' },
  resourcequotas: { group: '', resource: 'resourcequotas' },
  limitranges: { group: '', resource: 'limitranges' },
  customresourcedefinitions: { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
  certificatesigningrequests: { group: 'certificates.k8s.io', resource: 'certificatesigningrequests' },
} satisfies Record<string, ResourceKey>;

export type ResourceName = keyof typeof R;

/** Index every namespaced object by the uid of its controller (ownerReferences[controller=true]). */
const byControllerUid = (o: KubeObject): string[] => {
  const ref = o.metadata.ownerReferences?.find((r) => r.controller);
  return ref ? [ref.uid] : [];
};
/** Index every object by the uids of all its owners (the garbage collector's graph). */
const byOwnerUid = (o: KubeObject): string[] => (o.metadata.ownerReferences ?? []).map((r) => r.uid);
const byNamespace = (o: KubeObject): string[] => [o.metadata.namespace ?? ''];

export class SharedInformers {
  private readonly informers = new Map<ResourceName, Informer>();

  constructor(private readonly client: ApiClient, private readonly logger: Logger) {}

  get<T extends KubeObject = KubeObject>(name: ResourceName): Informer<T> {
    let inf = this.informers.get(name);
    if (!inf) {
      inf = new Informer(this.client, R[name], {
        logger: this.logger.child({ informer: name }),
        indexers: name === 'pods' ? { byControllerUid, byOwnerUid, byNamespace, byNode: (o) => [o.spec?.nodeName ?? ''] } : { byControllerUid, byOwnerUid, byNamespace },
      });
      this.informers.set(name, inf);
    }
    return inf as unknown as Informer<T>;
  }

  all(): Array<[ResourceName, Informer]> { return [...this.informers]; }

  /** Start every informer asked for so far; resolves once all have listed. */
  async start(signal: AbortSignal): Promise<void> {
    for (const inf of this.informers.values()) void inf.run(signal);
    await Promise.all([...this.informers.values()].map((inf) => inf.waitForSync(signal)));
  }
}
