// Admission: an ordered list of plugins each write passes after authorization and before it is stored, as
// kube-apiserver's --enable-admission-plugins. Each plugin is a small file here; the quota, LimitRange,
// ServiceAccount and NodeRestriction plugins slot into `defaultPlugins`.
import type { Store } from '../storage/store.ts';
import { defaultStorageClassPlugin } from './default-storage-class.ts';
import { limitRanger } from './limit-ranger.ts';
import { namespaceLifecycle, type NamespaceGate } from './namespace-lifecycle.ts';
import { persistentVolumeClaimResize } from './persistent-volume-claim-resize.ts';
import { resourceQuota } from './resource-quota.ts';
import { serviceAccountPlugin } from './service-account.ts';
import { storageObjectInUseProtection } from './storage-object-in-use-protection.ts';
import type { AdmissionAttributes, AdmissionPlugin } from './types.ts';

export type { AdmissionAttributes, AdmissionPlugin } from './types.ts';

export interface AdmissionDeps {
  namespaces: NamespaceGate;
  store: Store;
  /** Plugins turned off by name, as kube-apiserver's --disable-admission-plugins. */
  disabled?: string[];
}

/** The plugin names --disable-admission-plugins accepts. */
export const PLUGIN_NAMES = ['NamespaceLifecycle', 'LimitRanger', 'ServiceAccount', 'DefaultStorageClass', 'StorageObjectInUseProtection', 'PersistentVolumeClaimResize', 'ResourceQuota'];

/** The plugins kubemu runs, in order (kube-apiserver's order). */
export function defaultPlugins(deps: AdmissionDeps): AdmissionPlugin[] {
  const all = [
    namespaceLifecycle(deps.namespaces), limitRanger(deps.store), serviceAccountPlugin(deps.store), defaultStorageClassPlugin(deps.store),
    storageObjectInUseProtection(), persistentVolumeClaimResize(deps.store), resourceQuota(deps.store),
  ];
  return all.filter((p) => !deps.disabled?.includes(p.name));
}

export async function admit(plugins: AdmissionPlugin[], attrs: AdmissionAttributes): Promise<void> {
  for (const p of plugins) await p.admit?.(attrs);
}

/** The validating phase of a create, once the object is defaulted and valid. */
export async function validateAdmission(plugins: AdmissionPlugin[], attrs: AdmissionAttributes): Promise<void> {
  for (const p of plugins) await p.validate?.(attrs);
}
