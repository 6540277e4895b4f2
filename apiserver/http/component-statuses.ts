// v1 ComponentStatus (`kubectl get cs`), list and get only, computed on each request as kube-apiserver
// does. etcd-N: each etcd server's own /health answer. The scheduler and the controller manager run
// elsewhere on ports the apiserver is not told, so their health is read from their leader Leases
// (kube-system/kube-scheduler, kube-system/kube-controller-manager): healthy while the leader renews.
import { ApiError, isNotFound } from '../../api/errors.ts';
import { findResource, type ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import type { Registry, RequestContext } from '../registry/types.ts';
import type { EtcdClientTls } from '../storage/etcd-store.ts';
import { tlsFetch } from '../../lib/tls-fetch.ts';

export const COMPONENT_STATUSES: ResourceInfo = {
  group: '', version: 'v1', kind: 'ComponentStatus', resource: 'componentstatuses', singular: 'componentstatus',
  namespaced: false, shortNames: ['cs'], categories: [], subresources: [],
};
export const COMPONENT_STATUS_VERBS = ['get', 'list'];
/** kube-apiserver's deprecation warning for this API. */
export const COMPONENT_STATUS_WARNING = 'v1 ComponentStatus is deprecated in v1.19+';

const LEASES = findResource('coordination.k8s.io', 'leases')!;
const LEASE_COMPONENTS: Array<[string, string]> = [['scheduler', 'kube-scheduler'], ['controller-manager', 'kube-controller-manager']];

function status(name: string, healthy: boolean, message: string, error?: string): KubeObject {
  return {
    kind: 'ComponentStatus', apiVersion: 'v1', metadata: { name, creationTimestamp: null } as unknown as KubeObject['metadata'], // as kube-apiserver prints it
    conditions: [{ type: 'Healthy', status: healthy ? 'True' : 'False', ...(message ? { message } : {}), ...(error ? { error } : {}) }],
  };
}

async function leaseStatus(registry: Registry, ctx: RequestContext, name: string, lease: string): Promise<KubeObject> {
  let obj: KubeObject;
  try {
    obj = await registry.get(ctx, { info: LEASES, namespace: 'kube-system', name: lease });
  } catch (err) {
    if (isNotFound(err)) return status(name, false, '', `no leader: Lease kube-system/${lease} does not exist (kubemu reads ${name} health from its leader Lease)`);
    throw err;
  }
  const renewed = Date.parse(obj.spec?.renewTime ?? obj.spec?.acquireTime ?? '');
  const duration = Number(obj.spec?.leaseDurationSeconds ?? 0);
  if (!obj.spec?.holderIdentity || !Number.isFinite(renewed)) return status(name, false, '', `no leader: Lease kube-system/${lease} has no holder`);
  if (Date.now() > renewed + duration * 1000) {
    return status(name, false, '', `no leader: Lease kube-system/${lease} of ${obj.spec.holderIdentity} was last renewed at ${obj.spec.renewTime}, over ${duration}s ago`);
  }
  return status(name, true, 'ok');
}

async function etcdStatus(name: string, endpoint: string, tls?: EtcdClientTls): Promise<KubeObject> {
  try {
    // With TLS, the apiserver's own etcd client certificate, verified against the etcd CA as its storage does.
    const res = await tlsFetch(`${endpoint.replace(/\/+$/, '')}/health`, { signal: AbortSignal.timeout(2000) }, tls);
    const body = (await res.text()).trim();
    return res.ok && /"health":\s*"true"/.test(body) ? status(name, true, body) : status(name, false, '', `unhealthy: ${res.status} ${body}`);
  } catch (err) {
    return status(name, false, '', `Get "${endpoint}/health": ${(err as Error).message}`);
  }
}

export async function listComponentStatuses(registry: Registry, ctx: RequestContext, etcdEndpoints: string[], etcdTls?: EtcdClientTls): Promise<KubeObject[]> {
  return Promise.all([
    ...LEASE_COMPONENTS.map(([name, lease]) => leaseStatus(registry, ctx, name, lease)),
    ...etcdEndpoints.map((e, i) => etcdStatus(`etcd-${i}`, e, etcdTls)),
  ]);
}

export async function getComponentStatus(registry: Registry, ctx: RequestContext, etcdEndpoints: string[], name: string, etcdTls?: EtcdClientTls): Promise<KubeObject> {
  const found = (await listComponentStatuses(registry, ctx, etcdEndpoints, etcdTls)).find((s) => s.metadata.name === name);
  if (!found) throw new ApiError('NotFound', `componentstatuses "${name}" not found`, { name, kind: 'componentstatuses' });
  return found;
}
