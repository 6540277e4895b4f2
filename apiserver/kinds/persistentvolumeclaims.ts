// PersistentVolumeClaims (pkg/registry/core/persistentvolumeclaim, ValidatePersistentVolumeClaim{,Update}):
// defaults (Filesystem, phase Pending), access modes and the storage request, a spec that only the PV controller's
// volumeName and a bound claim's growing storage request may change, kubectl's columns.
import { fieldForbidden, fieldNotSupported, type FieldError } from '../../api/errors.ts';
import { parseQuantity } from '../../api/quantity.ts';
import type { KubeObject } from '../../api/types.ts';
import { isObj } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { defaultClaimSpec, validateClaimSpec } from '../../api/validation/storage.ts';
import { accessModesString } from './persistentvolumes.ts';
import { age } from './printing.ts';



const storageOf = (o: KubeObject, where: 'spec' | 'status') => (where === 'spec' ? o.spec?.resources?.requests?.storage : o.status?.capacity?.storage);

export const persistentvolumeclaims: Kind = {
  defaults(o) {
    defaultClaimSpec(o.spec ??= {});
    (o.status ??= {}).phase ??= 'Pending';
  },
  prepareForCreate(obj) { obj.status = { phase: 'Pending' }; },
  validate(o) {
    const errs: FieldError[] = [];
    validateClaimSpec('spec', o.spec, errs);
    return errs;
  },
  /** ValidatePersistentVolumeClaimUpdate, with RecoverVolumeExpansionFailure on (beta and on in 1.32). */
  validateUpdate(obj, old) {
    const errs: FieldError[] = [];
    const next = structuredClone(obj.spec ?? {});
    const prev = structuredClone(old.spec ?? {});
    // The PV controller sets volumeName once.
    if (!prev.volumeName) prev.volumeName = next.volumeName;
    const bound = old.status?.phase === 'Bound';
    if (bound && isObj(next.resources?.requests)) next.resources.requests.storage = prev.resources?.requests?.storage;
    if (JSON.stringify(next) !== JSON.stringify(prev)) {
      errs.push(fieldForbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'));
    }
    const newSize = parseQuantity(storageOf(obj, 'spec')) ?? 0;
    const oldSize = parseQuantity(storageOf(old, 'spec')) ?? 0;
    const statusSize = parseQuantity(storageOf(old, 'status')) ?? 0;
    if (newSize < oldSize && newSize <= statusSize) errs.push(fieldForbidden('spec.resources.requests.storage', 'field can not be less than status.capacity'));
    return errs;
  },
  validateStatus(obj) {
    const phases = ['Bound', 'Lost', 'Pending'];
    return obj.status?.phase !== undefined && !phases.includes(obj.status.phase) ? [fieldNotSupported('status.phase', obj.status.phase, phases)] : [];
  },
  printer: {
    columns: [{ name: 'Status' }, { name: 'Volume' }, { name: 'Capacity' }, { name: 'Access Modes' }, { name: 'StorageClass' },
      { name: 'VolumeAttributesClass' }, { name: 'Age' }, { name: 'VolumeMode', priority: 1 }],
    cells(o) {
      const phase = o.metadata.deletionTimestamp ? 'Terminating' : o.status?.phase ?? '';
      const bound = Boolean(o.spec?.volumeName);
      return [phase, o.spec?.volumeName ?? '', bound ? String(o.status?.capacity?.storage ?? '') : '', bound ? accessModesString(o.status?.accessModes) : '',
        o.spec?.storageClassName ?? '', o.spec?.volumeAttributesClassName || '<unset>', age(o.metadata.creationTimestamp), o.spec?.volumeMode ?? '<unset>'];
    },
  },
};
