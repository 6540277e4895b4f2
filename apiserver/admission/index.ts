// Admission: an ordered list of plugins each write passes after authorization and before it is stored, as
// kube-apiserver's --enable-admission-plugins. Each plugin is a small file here; the quota, LimitRange,
// ServiceAccount and NodeRestriction plugins slot into `defaultPlugins`.
import type { ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import type { RequestContext } from '../registry/types.ts';
import type { Store } from '../storage/store.ts';
import { defaultStorageClassPlugin } from './default-storage-class.ts';
import { namespaceLifecycle, type NamespaceGate } from './namespace-lifecycle.ts';
import { persistentVolumeClaimResize } from './persistent-volume-claim-resize.ts';
import { storageObjectInUseProtection } from './storage-object-in-use-protection.ts';

export interface AdmissionAttributes {
  operation: 'CREATE' | 'UPDATE';
  info: ResourceInfo;
  namespace: string | undefined;
  /** The object as it will be stored (a mutating plugin may change it). */
  object: KubeObject;
  /** UPDATE: the stored object. */
  oldObject?: KubeObject;
  /** Absent for writes the registry makes on its own behalf (a scale's update). */
  ctx?: RequestContext;
  dryRun: boolean;
}

export interface AdmissionPlugin {
  name: string;
  /** Throws the ApiError the request fails with; may change attrs.object. */
  admit(attrs: AdmissionAttributes): Promise<void> | void;
}

export interface AdmissionDeps { namespaces: NamespaceGate; store: Store }

/** The plugins kubemu runs, in order. */
export function defaultPlugins(deps: AdmissionDeps): AdmissionPlugin[] {
  return [namespaceLifecycle(deps.namespaces), defaultStorageClassPlugin(deps.store), storageObjectInUseProtection(), persistentVolumeClaimResize(deps.store)];
}

export async function admit(plugins: AdmissionPlugin[], attrs: AdmissionAttributes): Promise<void> {
  for (const p of plugins) await p.admit(attrs);
}
