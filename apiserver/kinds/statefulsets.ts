// StatefulSets (pkg/registry/apps/statefulset).
import { defaultTemplate } from '../../api/defaults/index.ts';
import { fieldForbidden, type FieldError } from '../../api/errors.ts';
import type { KubeObject } from '../../api/types.ts';
import { defaultClaimSpec } from '../../api/validation/storage.ts';
import { validateWorkload } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { age, containers, images } from './printing.ts';
import { workloadScale } from './scale.ts';
import { immutableSelector, startsWithEmptyStatus } from './workload.ts';

export const statefulsets: Kind = {
  defaults(o) {
    const s = (o.spec ??= {});
    s.replicas ??= 1;
    s.podManagementPolicy ??= 'OrderedReady';
    s.updateStrategy ??= { type: 'RollingUpdate' };
    if (s.updateStrategy.type === 'RollingUpdate') { s.updateStrategy.rollingUpdate ??= {}; s.updateStrategy.rollingUpdate.partition ??= 0; }
    s.revisionHistoryLimit ??= 10;
    s.persistentVolumeClaimRetentionPolicy ??= {};
    s.persistentVolumeClaimRetentionPolicy.whenDeleted ??= 'Retain';
    s.persistentVolumeClaimRetentionPolicy.whenScaled ??= 'Retain';
    for (const t of Array.isArray(s.volumeClaimTemplates) ? s.volumeClaimTemplates : []) {
      if (!t || typeof t !== 'object') continue;
      t.apiVersion ??= 'v1'; t.kind ??= 'PersistentVolumeClaim';
      defaultClaimSpec(t.spec ??= {});
      (t.status ??= {}).phase ??= 'Pending';
    }
    defaultTemplate(o);
  },
  prepareForCreate: startsWithEmptyStatus,
  statusZeros: { replicas: 0, availableReplicas: 0 },
  validate(o) { const errs: FieldError[] = []; validateWorkload('statefulsets', o, errs); return errs; },
  validateUpdate(obj, old) {
    const errs = immutableSelector(obj, old);
    // ValidateStatefulSetUpdate: beyond these fields the spec is fixed (volumeClaimTemplates among them).
    const fixed = (o: KubeObject) => { const { replicas: _r, ordinals: _o, template: _t, updateStrategy: _u, persistentVolumeClaimRetentionPolicy: _p, minReadySeconds: _m, selector: _s, ...rest } = o.spec ?? {}; return JSON.stringify(rest); };
    if (fixed(obj) !== fixed(old)) errs.push(fieldForbidden('spec', "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
    return errs;
  },
  tracksGeneration: true,
  scale: workloadScale(),
  printer: {
    columns: [{ name: 'Ready' }, { name: 'Age' }, { name: 'Containers', priority: 1 }, { name: 'Images', priority: 1 }],
    cells: (o) => [`${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, age(o.metadata.creationTimestamp),
      containers(o.spec?.template?.spec), images(o.spec?.template?.spec)],
  },
};
