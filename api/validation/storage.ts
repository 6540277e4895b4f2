// The rules a PersistentVolumeClaim spec follows wherever it appears (a claim, a StatefulSet's volumeClaimTemplates,
// a pod's ephemeral volume), and the access-mode, quantity and class-name checks PersistentVolumes share with it
// (pkg/apis/core/validation: ValidatePersistentVolumeClaimSpec and its helpers, with Kubernetes' messages).
import { fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../errors.ts';
import { dns1123Subdomain } from '../names.ts';
import { parseQuantity } from '../quantity.ts';

/** A JSON object (not an array, not null): the same test as ./index.ts, kept here so neither imports the other. */
const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

type Obj = Record<string, any>;

export const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];

/** ValidatePersistentVolumeClaimSpec's and the PV's access-mode rules (required, supported, RWOP alone). */
export function validateAccessModes(path: string, modes: unknown, errs: FieldError[], requiredDetail = ''): void {
  if (!Array.isArray(modes) || modes.length === 0) { errs.push(fieldRequired(path, requiredDetail)); return; }
  for (const m of modes) if (!ACCESS_MODES.includes(m)) errs.push(fieldNotSupported(path, m, ACCESS_MODES));
  if (modes.includes('ReadWriteOncePod') && modes.length > 1) errs.push(fieldForbidden(path, 'may not use ReadWriteOncePod with other access modes'));
}

/** ValidatePositiveQuantityValue. A quantity that does not parse is refused by the typed decoder before this. */
export function positiveQuantity(path: string, q: unknown, errs: FieldError[]): void {
  const n = parseQuantity(q);
  if (n === undefined) errs.push(fieldInvalid(path, q, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
  else if (n <= 0) errs.push(fieldInvalid(path, String(q), 'must be greater than zero'));
}

/** ValidateClassName: a storage class name is a DNS subdomain. */
export function validateClassName(path: string, name: unknown, errs: FieldError[]): void {
  if (name === undefined || name === '') return;
  for (const e of dns1123Subdomain(String(name))) errs.push(fieldInvalid(path, name, e));
}

export const VOLUME_MODES = ['Block', 'Filesystem'];

/** ValidatePersistentVolumeClaimSpec, also used for StatefulSet volumeClaimTemplates and ephemeral volumes. */
export function validateClaimSpec(path: string, s: unknown, errs: FieldError[]): void {
  if (!isObj(s)) { errs.push(fieldRequired(path)); return; }
  validateAccessModes(`${path}.accessModes`, s.accessModes, errs, 'at least 1 access mode is required');
  if (s.selector !== undefined && !isObj(s.selector)) errs.push(fieldInvalid(`${path}.selector`, s.selector, 'must be a label selector'));
  const storage = isObj(s.resources) && isObj(s.resources.requests) ? s.resources.requests.storage : undefined;
  if (storage === undefined) errs.push(fieldRequired(`${path}.resources[storage]`));
  else positiveQuantity(`${path}.resources[storage]`, storage, errs);
  validateClassName(`${path}.storageClassName`, s.storageClassName, errs);
  if (s.volumeMode !== undefined && !VOLUME_MODES.includes(s.volumeMode)) errs.push(fieldNotSupported(`${path}.volumeMode`, s.volumeMode, VOLUME_MODES));
  else if (s.volumeMode === 'Block') errs.push(fieldForbidden(`${path}.volumeMode`, 'kubemu mounts filesystem volumes only (Block is not supported)'));
  for (const f of ['dataSource', 'dataSourceRef']) if (s[f] !== undefined && s[f] !== null) errs.push(fieldForbidden(`${path}.${f}`, 'kubemu has no volume snapshots or populators: a claim starts empty'));
  if (s.volumeAttributesClassName) errs.push(fieldForbidden(`${path}.volumeAttributesClassName`, 'VolumeAttributesClasses are not served by kubemu'));
}

export const defaultClaimSpec = (s: Obj): void => { if (isObj(s)) s.volumeMode ??= 'Filesystem'; };
