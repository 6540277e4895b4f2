// DaemonSets (pkg/registry/apps/daemonset).
import { defaultRollingUpdate, defaultTemplate } from '../../api/defaults/index.ts';
import type { FieldError } from '../../api/errors.ts';
import { validateWorkload } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { age, containers, images, mapSelector, selector, WIDE_WORKLOAD } from './printing.ts';
import { immutableSelector, startsWithEmptyStatus } from './workload.ts';

export const daemonsets: Kind = {
  defaults(o) {
    const s = (o.spec ??= {});
    s.updateStrategy ??= { type: 'RollingUpdate' };
    if (s.updateStrategy.type === 'RollingUpdate') defaultRollingUpdate(s.updateStrategy, 1, 0);
    s.revisionHistoryLimit ??= 10;
    defaultTemplate(o);
  },
  prepareForCreate: startsWithEmptyStatus,
  statusZeros: { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 },
  validate(o) { const errs: FieldError[] = []; validateWorkload('daemonsets', o, errs); return errs; },
  validateUpdate: immutableSelector,
  tracksGeneration: true,
  printer: {
    columns: [{ name: 'Desired' }, { name: 'Current' }, { name: 'Ready' }, { name: 'Up-to-date' }, { name: 'Available' }, { name: 'Node Selector' }, { name: 'Age' }, ...WIDE_WORKLOAD],
    cells: (o) => [o.status?.desiredNumberScheduled ?? 0, o.status?.currentNumberScheduled ?? 0, o.status?.numberReady ?? 0,
      o.status?.updatedNumberScheduled ?? 0, o.status?.numberAvailable ?? 0, mapSelector(o.spec?.template?.spec?.nodeSelector),
      age(o.metadata.creationTimestamp), containers(o.spec?.template?.spec), images(o.spec?.template?.spec), selector(o.spec?.selector)],
  },
};
