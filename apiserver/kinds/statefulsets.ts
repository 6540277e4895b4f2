// StatefulSets (pkg/registry/apps/statefulset).
import { defaultTemplate } from '../../api/defaults/index.ts';
import type { FieldError } from '../../api/errors.ts';
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
    s.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
    defaultTemplate(o);
  },
  prepareForCreate: startsWithEmptyStatus,
  statusZeros: { replicas: 0, availableReplicas: 0 },
  validate(o) { const errs: FieldError[] = []; validateWorkload('statefulsets', o, errs); return errs; },
  validateUpdate: immutableSelector,
  tracksGeneration: true,
  scale: workloadScale(),
  printer: {
    columns: [{ name: 'Ready' }, { name: 'Age' }, { name: 'Containers', priority: 1 }, { name: 'Images', priority: 1 }],
    cells: (o) => [`${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, age(o.metadata.creationTimestamp),
      containers(o.spec?.template?.spec), images(o.spec?.template?.spec)],
  },
};
