// PersistentVolumes (pkg/registry/core/persistentvolume, pkg/apis/core/validation's ValidatePersistentVolume):
// cluster-scoped; defaults (Retain, Filesystem, phase Pending), exactly one volume source of those kubemu mounts
// (hostPath, local), capacity, access modes, the immutable source, kubectl's columns.
import { fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../../api/errors.ts';
import { isObj } from '../../api/validation/index.ts';
import { positiveQuantity, validateAccessModes, validateClassName, VOLUME_MODES } from '../../api/validation/storage.ts';
import type { Kind } from './kind.ts';
import { age } from './printing.ts';

type Obj = Record<string, any>;

const SHORT: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };
/** kubectl's access-mode column (helper.GetAccessModesAsString): RWO,ROX,RWX,RWOP in that order. */
export const accessModesString = (modes: unknown): string =>
  Array.isArray(modes) ? ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'].filter((m) => modes.includes(m)).map((m) => SHORT[m]).join(',') : '';

/** The volume sources a PV may name. Kubernetes knows ~25; kubemu mounts these two and refuses the others. */
const SOURCES = ['hostPath', 'local'];
const OTHER_SOURCES = ['gcePersistentDisk', 'awsElasticBlockStore', 'nfs', 'iscsi', 'glusterfs', 'rbd', 'cinder', 'cephfs', 'fc', 'flocker',
  'flexVolume', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'storageos', 'csi'];





function validate(o: Obj): FieldError[] {
  const s = o.spec;
  if (!isObj(s)) return [fieldRequired('spec')];
  const errs: FieldError[] = [];
  validateAccessModes('spec.accessModes', s.accessModes, errs);
  if (!isObj(s.capacity) || Object.keys(s.capacity).length === 0) errs.push(fieldRequired('spec.capacity'));
  else if (s.capacity.storage === undefined || Object.keys(s.capacity).length > 1) errs.push(fieldNotSupported('spec.capacity', s.capacity, ['storage']));
  else positiveQuantity('spec.capacity[storage]', s.capacity.storage, errs);
  const reclaim = ['Delete', 'Recycle', 'Retain'];
  if (!reclaim.includes(s.persistentVolumeReclaimPolicy)) errs.push(fieldNotSupported('spec.persistentVolumeReclaimPolicy', s.persistentVolumeReclaimPolicy, reclaim));
  if (s.persistentVolumeReclaimPolicy === 'Recycle') errs.push(fieldForbidden('spec.persistentVolumeReclaimPolicy', 'kubemu does not recycle volumes (Kubernetes deprecated Recycle): use Delete or Retain'));
  validateClassName('spec.storageClassName', s.storageClassName, errs);
  if (!VOLUME_MODES.includes(s.volumeMode)) errs.push(fieldNotSupported('spec.volumeMode', s.volumeMode, VOLUME_MODES));
  else if (s.volumeMode === 'Block') errs.push(fieldForbidden('spec.volumeMode', 'kubemu mounts filesystem volumes only (Block is not supported)'));
  const named = [...SOURCES, ...OTHER_SOURCES].filter((k) => s[k] !== undefined);
  if (named.length === 0) errs.push(fieldRequired('spec', 'must specify a volume type'));
  for (const k of named.slice(1)) errs.push(fieldForbidden(`spec.${k}`, 'may not specify more than 1 volume type'));
  const src = named[0];
  if (src && OTHER_SOURCES.includes(src)) errs.push(fieldForbidden(`spec.${src}`, `kubemu mounts only ${SOURCES.join(' and ')} persistent volumes`));
  if (src === 'hostPath' || src === 'local') {
    const p = s[src]?.path;
    if (!p) errs.push(fieldRequired(`spec.${src}.path`));
    else if (String(p).split('/').includes('..')) errs.push(fieldInvalid(`spec.${src}.path`, p, "must not contain '..'"));
    else if (src === 'local' && !String(p).startsWith('/')) errs.push(fieldInvalid(`spec.${src}.path`, p, 'must be an absolute path'));
    if (src === 'hostPath' && s.hostPath?.type !== undefined) {
      const types = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];
      if (!types.includes(s.hostPath.type)) errs.push(fieldNotSupported('spec.hostPath.type', s.hostPath.type, types));
    }
    if (src === 'local' && !isObj(s.nodeAffinity)) errs.push(fieldRequired('spec.nodeAffinity', 'Local volume requires node affinity'));
  }
  if (s.nodeAffinity !== undefined && (!isObj(s.nodeAffinity) || !isObj(s.nodeAffinity.required) || !Array.isArray(s.nodeAffinity.required.nodeSelectorTerms) || s.nodeAffinity.required.nodeSelectorTerms.length === 0)) {
    errs.push(fieldRequired('spec.nodeAffinity.required', 'must have at least one node selector term'));
  }
  if (s.claimRef !== undefined) {
    if (!isObj(s.claimRef)) errs.push(fieldInvalid('spec.claimRef', s.claimRef, 'must be an object'));
    else if (!s.claimRef.name) errs.push(fieldRequired('spec.claimRef.name'));
  }
  return errs;
}

export const persistentvolumes: Kind = {
  defaults(o) {
    const s = (o.spec ??= {});
    s.persistentVolumeReclaimPolicy ??= 'Retain';
    s.volumeMode ??= 'Filesystem';
    if (s.hostPath && typeof s.hostPath === 'object') s.hostPath.type ??= '';
    (o.status ??= {}).phase ??= 'Pending';
  },
  prepareForCreate(obj) { obj.status = { phase: 'Pending' }; },
  validate,
  validateUpdate(obj, old) {
    const errs: FieldError[] = [];
    const src = (x: Obj) => JSON.stringify([...SOURCES, ...OTHER_SOURCES].map((k) => x?.[k]));
    if (src(obj.spec) !== src(old.spec)) errs.push(fieldForbidden('spec.persistentvolumesource', 'spec.persistentvolumesource is immutable after creation'));
    if (obj.spec?.volumeMode !== old.spec?.volumeMode) errs.push(fieldInvalid('spec.volumeMode', obj.spec?.volumeMode, 'field is immutable'));
    if (old.spec?.nodeAffinity && JSON.stringify(obj.spec?.nodeAffinity) !== JSON.stringify(old.spec.nodeAffinity)) errs.push(fieldInvalid('spec.nodeAffinity', obj.spec?.nodeAffinity, 'field is immutable'));
    return errs;
  },
  validateStatus(obj) {
    const phases = ['Available', 'Bound', 'Failed', 'Pending', 'Released'];
    return obj.status?.phase !== undefined && !phases.includes(obj.status.phase) ? [fieldNotSupported('status.phase', obj.status.phase, phases)] : [];
  },
  printer: {
    columns: [{ name: 'Capacity' }, { name: 'Access Modes' }, { name: 'Reclaim Policy' }, { name: 'Status' }, { name: 'Claim' },
      { name: 'StorageClass' }, { name: 'VolumeAttributesClass' }, { name: 'Reason' }, { name: 'Age' }, { name: 'VolumeMode', priority: 1 }],
    cells(o) {
      const s = o.spec ?? {};
      const claim = s.claimRef ? `${s.claimRef.namespace ?? ''}/${s.claimRef.name ?? ''}` : '';
      return [String(s.capacity?.storage ?? ''), accessModesString(s.accessModes), s.persistentVolumeReclaimPolicy ?? '', o.metadata.deletionTimestamp ? 'Terminating' : o.status?.phase ?? '', claim,
        s.storageClassName ?? '', s.volumeAttributesClassName || '<unset>', o.status?.reason ?? '', age(o.metadata.creationTimestamp), s.volumeMode ?? '<unset>'];
    },
  },
};
