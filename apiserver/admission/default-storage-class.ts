// DefaultStorageClass (plugin/pkg/admission/storage/storageclass/setdefault): a claim created without
// spec.storageClassName gets the default class's name — the newest one if several are marked default. A claim
// that sets "" asks for no class and is left alone; with no default class the claim is left as it is.
import { findResource, storagePrefix } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import type { Store } from '../storage/store.ts';
import { isDefaultClass } from '../kinds/storageclasses.ts';
import type { AdmissionPlugin } from './types.ts';

const SC = findResource('storage.k8s.io', 'storageclasses')!;

/** The default StorageClass (newest first, then by name, as Kubernetes' GetDefaultClass), if any. */
export async function defaultStorageClass(store: Store): Promise<KubeObject | undefined> {
  const { items } = await store.list(storagePrefix('/registry', SC));
  return items.filter(isDefaultClass)
    .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || a.metadata.name!.localeCompare(b.metadata.name!))[0];
}

export function defaultStorageClassPlugin(store: Store): AdmissionPlugin {
  return {
    name: 'DefaultStorageClass',
    async admit({ operation, info, object }) {
      if (operation !== 'CREATE' || info.group !== '' || info.resource !== 'persistentvolumeclaims') return;
      const spec = object.spec;
      if (!spec || typeof spec !== 'object' || spec.storageClassName !== undefined && spec.storageClassName !== null) return;
      const sc = await defaultStorageClass(store);
      if (sc) spec.storageClassName = sc.metadata.name;
    },
  };
}
