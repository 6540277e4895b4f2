// ReplicationControllers (pkg/registry/core/replicationcontroller): the selector and labels default to the
// template's labels; its selector is a plain map.
import { defaultTemplate } from '../../api/defaults/index.ts';
import type { FieldError } from '../../api/errors.ts';
import { validateWorkload } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { age, containers, images, mapSelector, WIDE_WORKLOAD } from './printing.ts';
import { workloadScale } from './scale.ts';
import { startsWithEmptyStatus } from './workload.ts';

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

export const replicationcontrollers: Kind = {
  defaults(o) {
    const s = (o.spec ??= {});
    s.replicas ??= 1;
    s.minReadySeconds ??= 0;
    // An RC without a selector selects its template's labels.
    if (!s.selector && s.template?.metadata?.labels) s.selector = { ...s.template.metadata.labels };
    if (!o.metadata.labels && s.template?.metadata?.labels) o.metadata.labels = { ...s.template.metadata.labels };
    defaultTemplate(o);
  },
  prepareForCreate: startsWithEmptyStatus,
  statusZeros: { replicas: 0 },
  validate(o) { const errs: FieldError[] = []; validateWorkload('replicationcontrollers', o, errs); return errs; },
  tracksGeneration: true,
  scale: workloadScale(true),
  fields: (o) => ({ 'status.replicas': str(o.status?.replicas ?? 0) }),
  printer: {
    columns: [{ name: 'Desired' }, { name: 'Current' }, { name: 'Ready' }, { name: 'Age' }, ...WIDE_WORKLOAD],
    cells: (o) => [o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, age(o.metadata.creationTimestamp),
      containers(o.spec?.template?.spec), images(o.spec?.template?.spec), mapSelector(o.spec?.selector)],
  },
};
