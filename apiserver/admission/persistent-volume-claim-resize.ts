// PersistentVolumeClaimResize (plugin/pkg/admission/storage/persistentvolume/resize): a claim's storage request may
// only grow when the claim is bound and its StorageClass sets allowVolumeExpansion.
import { ApiError } from '../../api/errors.ts';
import { findResource, storageKey } from '../../api/resources.ts';
import { parseQuantity } from '../../api/quantity.ts';
import type { Store } from '../storage/store.ts';
import type { AdmissionPlugin } from './types.ts';

const SC = findResource('storage.k8s.io', 'storageclasses')!;

export function persistentVolumeClaimResize(store: Store): AdmissionPlugin {
  return {
    name: 'PersistentVolumeClaimResize',
    async admit({ operation, info, object, oldObject }) {
      if (operation !== 'UPDATE' || !oldObject || info.group !== '' || info.resource !== 'persistentvolumeclaims') return;
      const size = (o: typeof object) => parseQuantity(o.spec?.resources?.requests?.storage) ?? 0;
      if (size(object) <= size(oldObject)) return;
      const forbid = (why: string) => new ApiError('Forbidden',
        `persistentvolumeclaims "${object.metadata.name}" is forbidden: ${why}`, { name: object.metadata.name, kind: 'persistentvolumeclaims' });
      if (oldObject.status?.phase !== 'Bound') throw forbid('Only bound persistent volume claims can be expanded');
      const className = oldObject.spec?.storageClassName;
      const sc = className ? await store.get(storageKey('/registry', SC, undefined, className)) : undefined;
      if (!sc?.allowVolumeExpansion) throw forbid('only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize');
    },
  };
}
