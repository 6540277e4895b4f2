// What every cluster starts with: the initial namespaces, the `kubernetes` Service on the first address of
// the service range (kube-apiserver's bootstrap controller) and the default StorageClass `standard` of the
// kubemu.io/local-path provisioner (as kind and k3s ship one; docs/storage.md).
import { randomUUID } from 'node:crypto';
import { ApiError } from '../../api/errors.ts';
import { findResource, storageKey, type ResourceInfo } from '../../api/resources.ts';
import { LOCAL_PATH_PROVISIONER } from '../../api/storage.ts';
import { now, type KubeObject } from '../../api/types.ts';
import { kindFor } from '../kinds/index.ts';
import type { Store } from '../storage/store.ts';
import type { ServiceAllocator } from './allocator.ts';

const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const NS_INFO = findResource('', 'namespaces')!;
const SVC_INFO = findResource('', 'services')!;
const SC_INFO = findResource('storage.k8s.io', 'storageclasses')!;
const ignoreExists = (err: unknown) => { if (!(err instanceof ApiError && err.code === 'AlreadyExists')) throw err; };

export async function createInitialObjects(deps: { store: Store; allocator: ServiceAllocator; create(info: ResourceInfo, obj: KubeObject): Promise<unknown> }): Promise<void> {
  const { store, allocator } = deps;
  for (const name of INITIAL_NAMESPACES) {
    const obj: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } };
    await deps.create(NS_INFO, obj).catch(ignoreExists);
  }
  const sc: KubeObject = {
    apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
    metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: LOCAL_PATH_PROVISIONER, reclaimPolicy: 'Delete', volumeBindingMode: 'WaitForFirstConsumer', allowVolumeExpansion: true,
  } as KubeObject;
  await deps.create(SC_INFO, sc).catch(ignoreExists);
  const key = storageKey('/registry', SVC_INFO, 'default', 'kubernetes');
  if (await store.get(key)) return;
  const svc: KubeObject = {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { type: 'ClusterIP', clusterIP: allocator.apiServiceIP, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }], sessionAffinity: 'None' },
  };
  // The first address is outside the random pool, so take it explicitly.
  await store.create(`/registry/allocations/serviceips/${allocator.apiServiceIP}`, { metadata: { name: 'default/kubernetes' } }).catch(ignoreExists);
  const m = svc.metadata;
  m.uid = randomUUID(); m.creationTimestamp = now();
  svc.spec.clusterIPs = [svc.spec.clusterIP]; svc.spec.ipFamilies = ['IPv4']; svc.spec.ipFamilyPolicy = 'SingleStack';
  svc.status = { loadBalancer: {} };
  kindFor(SVC_INFO).defaults?.(svc);
  await store.create(key, svc).catch(ignoreExists);
}

const EP_INFO = findResource('', 'endpoints')!;

/**
 * The `kubernetes` Service's Endpoints: where this apiserver is reached (kube-apiserver's endpoint reconciler with
 * --advertise-address), so pods find the API at https://kubernetes.default.svc. Written straight to the store, as
 * the real one does: an apiserver on loopback is reached through the node's kube-proxy, which dials from the host.
 */
export async function reconcileKubernetesEndpoints(store: Store, ip: string, port: number): Promise<void> {
  const key = storageKey('/registry', EP_INFO, 'default', 'kubernetes');
  const subsets = [{ addresses: [{ ip }], ports: [{ name: 'https', port, protocol: 'TCP' }] }];
  const existing = await store.get(key);
  if (existing && JSON.stringify((existing as { subsets?: unknown }).subsets) === JSON.stringify(subsets)) return;
  const obj = {
    apiVersion: 'v1', kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' }, uid: existing?.metadata.uid ?? randomUUID(), creationTimestamp: existing?.metadata.creationTimestamp ?? now() },
    subsets,
  } as KubeObject;
  if (!existing) await store.create(key, obj).catch(ignoreExists);
  else await store.update(key, obj, Number(existing.metadata.resourceVersion));
}
