// StorageClasses (storage.k8s.io/v1, pkg/registry/storage/storageclass and pkg/apis/storage/validation): defaults
// (reclaimPolicy Delete, volumeBindingMode Immediate), a provisioner that names who provisions, the fields that never
// change, and kubectl's columns with "(default)" after the default class's name.
import { fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../../api/errors.ts';
import { qualifiedName } from '../../api/names.ts';
import { isObj } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { age } from './printing.ts';

export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
export const isDefaultClass = (sc: { metadata: { annotations?: Record<string, string> } }): boolean =>
  sc.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true' || sc.metadata.annotations?.['storageclass.beta.kubernetes.io/is-default-class'] === 'true';

export const storageclasses: Kind = {
  defaults(o) {
    o.reclaimPolicy ??= 'Delete';
    o.volumeBindingMode ??= 'Immediate';
  },
  validate(o) {
    const errs: FieldError[] = [];
    if (!o.provisioner) errs.push(fieldRequired('provisioner'));
    else for (const e of qualifiedName(String(o.provisioner))) errs.push(fieldInvalid('provisioner', o.provisioner, e));
    if (o.parameters !== undefined && !isObj(o.parameters)) errs.push(fieldInvalid('parameters', o.parameters, 'must be a map of string keys to string values'));
    const reclaim = ['Delete', 'Retain'];
    if (!reclaim.includes(o.reclaimPolicy)) errs.push(fieldNotSupported('reclaimPolicy', o.reclaimPolicy, reclaim));
    const modes = ['Immediate', 'WaitForFirstConsumer'];
    if (!modes.includes(o.volumeBindingMode)) errs.push(fieldNotSupported('volumeBindingMode', o.volumeBindingMode, modes));
    if (o.allowVolumeExpansion !== undefined && typeof o.allowVolumeExpansion !== 'boolean') errs.push(fieldInvalid('allowVolumeExpansion', o.allowVolumeExpansion, 'must be a boolean'));
    if (Array.isArray(o.allowedTopologies) && o.allowedTopologies.length) errs.push(fieldForbidden('allowedTopologies', 'kubemu provisions on the node the scheduler chose; allowedTopologies is not supported'));
    return errs;
  },
  validateUpdate(obj, old) {
    const errs: FieldError[] = [];
    const same = (a: unknown, b: unknown) => JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
    if (!same(obj.parameters, old.parameters)) errs.push(fieldForbidden('parameters', 'updates to parameters are forbidden.'));
    if (obj.provisioner !== old.provisioner) errs.push(fieldForbidden('provisioner', 'updates to provisioner are forbidden.'));
    if (obj.reclaimPolicy !== old.reclaimPolicy) errs.push(fieldForbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
    if (obj.volumeBindingMode !== old.volumeBindingMode) errs.push(fieldInvalid('volumeBindingMode', obj.volumeBindingMode, 'field is immutable'));
    return errs;
  },
  printer: {
    withoutName: true,
    columns: [{ name: 'Name', format: 'name', description: 'Name must be unique within a namespace.' }, { name: 'Provisioner' }, { name: 'ReclaimPolicy' },
      { name: 'VolumeBindingMode' }, { name: 'AllowVolumeExpansion' }, { name: 'Age' }],
    cells: (o) => [isDefaultClass(o as never) ? `${o.metadata.name} (default)` : o.metadata.name, o.provisioner ?? '', o.reclaimPolicy ?? 'Delete',
      o.volumeBindingMode ?? 'Immediate', Boolean(o.allowVolumeExpansion), age(o.metadata.creationTimestamp)],
  },
};
