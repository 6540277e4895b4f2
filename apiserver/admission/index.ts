// Admission: an ordered list of plugins each write passes after authorization and before it is stored, as
// kube-apiserver's --enable-admission-plugins. Each plugin is a small file here; the quota, LimitRange,
// ServiceAccount and NodeRestriction plugins slot into `defaultPlugins`.
import type { Store } from '../storage/store.ts';
import { defaultStorageClassPlugin } from './default-storage-class.ts';
import { limitRanger } from './limit-ranger.ts';
import { namespaceLifecycle, type NamespaceGate } from './namespace-lifecycle.ts';
import { persistentVolumeClaimResize } from './persistent-volume-claim-resize.ts';
import { resourceQuota } from './resource-quota.ts';
import { storageObjectInUseProtection } from './storage-object-in-use-protection.ts';
import type { AdmissionAttributes, AdmissionPlugin } from './types.ts';

export type { AdmissionAttributes, AdmissionPlugin } from './types.ts';

export interface AdmissionDeps { namespaces: NamespaceGate; store: Store }

/** The plugins kubemu runs, in order. */
export function defaultPlugins(deps: AdmissionDeps): AdmissionPlugin[] {
  return [
    namespaceLifecycle(deps.namespaces), limitRanger(deps.store), defaultStorageClassPlugin(deps.store), storageObjectInUseProtection(),
    persistentVolumeClaimResize(deps.store), resourceQuota(deps.store),
  ];
}

export async function admit(plugins: AdmissionPlugin[], attrs: AdmissionAttributes): Promise<void> {
  for (const p of plugins) await p.admit?.(attrs);
}

/** The validating phase of a create, once the object is defaulted and valid. */
export async function validateAdmission(plugins: AdmissionPlugin[], attrs: AdmissionAttributes): Promise<void> {
  for (const p of plugins) await p.validate?.(attrs);
}
