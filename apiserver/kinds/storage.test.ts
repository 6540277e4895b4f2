// The storage kinds' rules: PersistentVolumeClaim and PersistentVolume validation with Kubernetes' messages,
// defaults, a bound claim's immutable spec (growing allowed, shrinking refused), StorageClass defaults and
// immutable fields, and kubectl's columns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import { persistentvolumeclaims as pvcs } from './persistentvolumeclaims.ts';
import { persistentvolumes as pvs } from './persistentvolumes.ts';
import { storageclasses as scs } from './storageclasses.ts';

const messages = (errs: Array<{ field: string; detail?: string }>) => errs.map((e) => `${e.field}: ${e.detail ?? ''}`);
const claim = (spec: Record<string, unknown>, status: Record<string, unknown> = {}): KubeObject => {
  const o: KubeObject = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c', namespace: 'default' }, spec, status };
  pvcs.defaults!(o);
  return o;
};
const volume = (spec: Record<string, unknown>): KubeObject => {
  const o: KubeObject = { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'v' }, spec };
  pvs.defaults!(o);
  return o;
};

test('a claim needs an access mode and a positive storage request', () => {
  assert.deepEqual(messages(pvcs.validate!(claim({ resources: { requests: {} } }))), [
    'spec.accessModes: Required value: at least 1 access mode is required', 'spec.resources[storage]: Required value']);
  assert.deepEqual(messages(pvcs.validate!(claim({ accessModes: ['ReadWriteSometimes'], resources: { requests: { storage: '0' } } }))), [
    'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
    'spec.resources[storage]: Invalid value: "0": must be greater than zero']);
  assert.deepEqual(messages(pvcs.validate!(claim({ accessModes: ['ReadWriteOncePod', 'ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }))),
    ['spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes']);
  const ok = claim({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } });
  assert.deepEqual(pvcs.validate!(ok), []);
  assert.equal(ok.spec.volumeMode, 'Filesystem');
  assert.equal(ok.status.phase, 'Pending');
});

test('a bound claim may grow its request, never shrink below its capacity, and nothing else changes', () => {
  const spec = { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeName: 'pv-1', storageClassName: 'standard' };
  const bound = claim(spec, { phase: 'Bound', capacity: { storage: '1Gi' } });
  const next = (s: Record<string, unknown>) => claim({ ...spec, ...s });
  assert.deepEqual(pvcs.validateUpdate!(next({ resources: { requests: { storage: '2Gi' } } }), bound), []);
  assert.deepEqual(messages(pvcs.validateUpdate!(next({ resources: { requests: { storage: '500Mi' } } }), bound)),
    ['spec.resources.requests.storage: Forbidden: field can not be less than status.capacity']);
  assert.deepEqual(messages(pvcs.validateUpdate!(next({ accessModes: ['ReadWriteMany'] }), bound)),
    ['spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims']);
  // The PV controller sets volumeName once on a pending claim; a pending claim's request is fixed.
  const pending = claim({ ...spec, volumeName: undefined });
  assert.deepEqual(pvcs.validateUpdate!(next({}), pending), []);
  assert.equal(pvcs.validateUpdate!(claim({ ...spec, volumeName: undefined, resources: { requests: { storage: '2Gi' } } }), pending).length, 1);
});

test('a volume: capacity, one source, Retain and Filesystem by default, local needs node affinity', () => {
  const v = volume({ accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' }, hostPath: { path: '/tmp/x' } });
  assert.deepEqual(pvs.validate!(v), []);
  assert.equal(v.spec.persistentVolumeReclaimPolicy, 'Retain');
  assert.equal(v.spec.volumeMode, 'Filesystem');
  assert.deepEqual(messages(pvs.validate!(volume({ accessModes: ['ReadWriteOnce'] }))), ['spec.capacity: Required value', 'spec: Required value: must specify a volume type']);
  assert.deepEqual(messages(pvs.validate!(volume({ accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' }, local: { path: '/data' } }))),
    ['spec.nodeAffinity: Required value: Local volume requires node affinity']);
  assert.deepEqual(messages(pvs.validate!(volume({ capacity: { storage: '1Gi' }, hostPath: { path: '/a/../b' } }))),
    ['spec.accessModes: Required value', 'spec.hostPath.path: Invalid value: "/a/../b": must not contain \'..\'']);
  assert.deepEqual(messages(pvs.validateUpdate!(volume({ ...v.spec, hostPath: { path: '/tmp/y', type: '' } }), v)),
    ['spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation']);
});

test('StorageClass defaults, immutable fields and columns', () => {
  const sc: KubeObject = { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'kubemu.io/local-path' } as KubeObject;
  scs.defaults!(sc);
  assert.equal((sc as any).reclaimPolicy, 'Delete');
  assert.equal((sc as any).volumeBindingMode, 'Immediate');
  assert.deepEqual(scs.validate!(sc), []);
  assert.deepEqual(messages(scs.validate!({ ...sc, provisioner: undefined, reclaimPolicy: 'Recycle' })), [
    'provisioner: Required value', 'reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"']);
  assert.deepEqual(messages(scs.validateUpdate!({ ...sc, reclaimPolicy: 'Retain' } as KubeObject, sc)), ['reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.']);
  assert.deepEqual(scs.printer!.cells(sc).slice(0, 5), ['standard (default)', 'kubemu.io/local-path', 'Delete', 'Immediate', false]);
});

test('kubectl get pv,pvc columns', () => {
  const v = volume({ accessModes: ['ReadWriteMany', 'ReadWriteOnce'], capacity: { storage: '1Gi' }, hostPath: { path: '/x' }, claimRef: { namespace: 'default', name: 'c' }, storageClassName: 'manual' });
  v.status = { phase: 'Bound' };
  assert.deepEqual(pvs.printer!.columns.map((c) => c.name), ['Capacity', 'Access Modes', 'Reclaim Policy', 'Status', 'Claim', 'StorageClass', 'VolumeAttributesClass', 'Reason', 'Age', 'VolumeMode']);
  assert.deepEqual(pvs.printer!.cells(v).slice(0, 8), ['1Gi', 'RWO,RWX', 'Retain', 'Bound', 'default/c', 'manual', '<unset>', '']);
  const c = claim({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeName: 'v', storageClassName: 'manual' }, { phase: 'Bound', capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'] });
  assert.deepEqual(pvcs.printer!.cells(c).slice(0, 6), ['Bound', 'v', '1Gi', 'RWO', 'manual', '<unset>']);
});
