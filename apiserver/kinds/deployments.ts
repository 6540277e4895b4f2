// Deployments (pkg/registry/apps/deployment).
import { defaultRollingUpdate, defaultTemplate } from '../../api/defaults/index.ts';
import type { FieldError } from '../../api/errors.ts';
import { validateWorkload } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { age, containers, images, selector, WIDE_WORKLOAD } from './printing.ts';
import { workloadScale } from './scale.ts';
import { immutableSelector, startsWithEmptyStatus } from './workload.ts';

export const deployments: Kind = {
  defaults(o) {
    const s = (o.spec ??= {});
    s.replicas ??= 1;
    s.strategy ??= { type: 'RollingUpdate' };
    s.strategy.type ??= 'RollingUpdate';
    if (s.strategy.type === 'RollingUpdate') defaultRollingUpdate(s.strategy, '25%', '25%');
    s.revisionHistoryLimit ??= 10;
    s.progressDeadlineSeconds ??= 600;
    defaultTemplate(o);
  },
  prepareForCreate: startsWithEmptyStatus,
  validate(o) { const errs: FieldError[] = []; validateWorkload('deployments', o, errs); return errs; },
  validateUpdate: immutableSelector,
  tracksGeneration: true,
  scale: workloadScale(),
  printer: {
    columns: [{ name: 'Ready' }, { name: 'Up-to-date' }, { name: 'Available' }, { name: 'Age' }, ...WIDE_WORKLOAD],
    cells: (o) => [`${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, o.status?.updatedReplicas ?? 0, o.status?.availableReplicas ?? 0,
      age(o.metadata.creationTimestamp), containers(o.spec?.template?.spec), images(o.spec?.template?.spec), selector(o.spec?.selector)],
  },
};
