// ReplicaSets (pkg/registry/apps/replicaset).
import { defaultTemplate } from '../../api/defaults/index.ts';
import type { FieldError } from '../../api/errors.ts';
import { validateWorkload } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { age, containers, images, selector, WIDE_WORKLOAD } from './printing.ts';
import { workloadScale } from './scale.ts';
import { immutableSelector, startsWithEmptyStatus } from './workload.ts';

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

export const replicasets: Kind = {
  defaults(o) { (o.spec ??= {}).replicas ??= 1; defaultTemplate(o); },
  prepareForCreate: startsWithEmptyStatus,
  statusZeros: { replicas: 0 },
  validate(o) { const errs: FieldError[] = []; validateWorkload('replicasets', o, errs); return errs; },
  validateUpdate: immutableSelector,
  tracksGeneration: true,
  scale: workloadScale(),
  fields: (o) => ({ 'status.replicas': str(o.status?.replicas ?? 0) }),
  printer: {
    columns: [{ name: 'Desired' }, { name: 'Current' }, { name: 'Ready' }, { name: 'Age' }, ...WIDE_WORKLOAD],
    cells: (o) => [o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, age(o.metadata.creationTimestamp),
      containers(o.spec?.template?.spec), images(o.spec?.template?.spec), selector(o.spec?.selector)],
  },
};
