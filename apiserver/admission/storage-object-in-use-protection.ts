// StorageObjectInUseProtection (plugin/pkg/admission/storage/storageobjectinuseprotection): every new claim gets the
// kubernetes.io/pvc-protection finalizer and every new volume kubernetes.io/pv-protection, so neither disappears
// while in use; the PV controller (controller-manager/controllers/persistentvolume.ts) removes them once it is safe.
import type { AdmissionPlugin } from './types.ts';

export const PVC_PROTECTION = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION = 'kubernetes.io/pv-protection';

export function storageObjectInUseProtection(): AdmissionPlugin {
  return {
    name: 'StorageObjectInUseProtection',
    admit({ operation, info, object }) {
      if (operation !== 'CREATE' || info.group !== '') return;
      const f = info.resource === 'persistentvolumeclaims' ? PVC_PROTECTION : info.resource === 'persistentvolumes' ? PV_PROTECTION : undefined;
      if (!f) return;
      const m = object.metadata;
      if (!m.finalizers?.includes(f)) m.finalizers = [...(m.finalizers ?? []), f];
    },
  };
}
