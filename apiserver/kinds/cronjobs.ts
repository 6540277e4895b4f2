// CronJobs (pkg/registry/batch/cronjob): defaults (the jobTemplate's spec as a Job's), the schedule and the
// jobTemplate validated, kubectl's columns.
import { fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../../api/errors.ts';
import { cronScheduleError, isObj, validateTemplate } from '../../api/validation/index.ts';
import { defaultJobSpec } from './jobs.ts';
import type { Kind } from './kind.ts';
import { age, containers, images, selector } from './printing.ts';
import { startsWithEmptyStatus } from './workload.ts';

export const cronjobs: Kind = {
  defaults(o) {
    const s = (o.spec ??= {});
    s.concurrencyPolicy ??= 'Allow';
    s.suspend ??= false;
    s.successfulJobsHistoryLimit ??= 3;
    s.failedJobsHistoryLimit ??= 1;
    if (s.jobTemplate?.spec) defaultJobSpec(s.jobTemplate.spec);
  },
  prepareForCreate: startsWithEmptyStatus,
  validate(o) {
    const s = o.spec;
    if (!isObj(s)) return [fieldRequired('spec')];
    const errs: FieldError[] = [];
    if (!s.schedule) errs.push(fieldRequired('spec.schedule'));
    else {
      const e = cronScheduleError(String(s.schedule));
      if (e) errs.push(fieldInvalid('spec.schedule', s.schedule, e));
    }
    const cp = ['Allow', 'Forbid', 'Replace'];
    if (!cp.includes(s.concurrencyPolicy)) errs.push(fieldNotSupported('spec.concurrencyPolicy', s.concurrencyPolicy, cp));
    if (!isObj(s.jobTemplate) || !isObj(s.jobTemplate.spec)) errs.push(fieldRequired('spec.jobTemplate'));
    else validateTemplate('jobs', 'spec.jobTemplate.spec', s.jobTemplate.spec, errs, false);
    return errs;
  },
  tracksGeneration: true,
  printer: {
    columns: [{ name: 'Schedule' }, { name: 'Timezone' }, { name: 'Suspend' }, { name: 'Active' }, { name: 'Last Schedule' }, { name: 'Age' },
      { name: 'Containers', priority: 1 }, { name: 'Images', priority: 1 }, { name: 'Selector', priority: 1 }],
    cells: (o) => [o.spec?.schedule ?? '', o.spec?.timeZone ?? '<none>', Boolean(o.spec?.suspend), (o.status?.active ?? []).length,
      o.status?.lastScheduleTime ? age(o.status.lastScheduleTime) : '<none>', age(o.metadata.creationTimestamp),
      containers(o.spec?.jobTemplate?.spec?.template?.spec), images(o.spec?.jobTemplate?.spec?.template?.spec), selector(o.spec?.jobTemplate?.spec?.selector)],
  },
};
