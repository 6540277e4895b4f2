// Jobs (pkg/registry/batch/job): defaults, a generated selector unless spec.manualSelector, the template fixed
// unless the Job is suspended, field selector status.successful, kubectl's columns.
import { defaultTemplate } from '../../api/defaults/index.ts';
import { fieldInvalid, fieldRequired, type FieldError } from '../../api/errors.ts';
import type { KubeObject } from '../../api/types.ts';
import { isObj, nonNegative, validateTemplate } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { age, containers, images, jobDuration, jobStatus, selector, WIDE_WORKLOAD } from './printing.ts';
import { immutableSelector } from './workload.ts';

type Obj = Record<string, any>;
const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

/**
 * As Kubernetes' Job strategy does unless spec.manualSelector: the pod template gets the controller-uid and
 * job-name labels (current and legacy spellings) and spec.selector matches the controller-uid one.
 */
function generateJobSelector(job: KubeObject): void {
  const { uid, name } = job.metadata;
  if (!job.spec || typeof job.spec !== 'object' || !uid || !name) return;
  const template = job.spec.template && typeof job.spec.template === 'object' ? job.spec.template : (job.spec.template = {});
  const meta = template.metadata && typeof template.metadata === 'object' ? template.metadata : (template.metadata = {});
  // Labels the client set are kept (a mismatch is then the selector validation's to refuse).
  meta.labels = {
    'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name,
    ...(meta.labels && typeof meta.labels === 'object' ? meta.labels : {}),
  };
  const sel = job.spec.selector && typeof job.spec.selector === 'object' ? job.spec.selector : (job.spec.selector = {});
  sel.matchLabels = { 'batch.kubernetes.io/controller-uid': uid, ...(sel.matchLabels && typeof sel.matchLabels === 'object' ? sel.matchLabels : {}) };
}

/** A Job spec's defaults (CronJobs default their jobTemplate's spec with it). */
export function defaultJobSpec(s: Obj): void {
  // Neither set: one pod to completion. Only parallelism set: completions stays unset (work queue).
  if (s.completions === undefined && s.parallelism === undefined) s.completions = 1;
  s.parallelism ??= 1;
  s.backoffLimit ??= 6;
  s.completionMode ??= 'NonIndexed';
  s.suspend ??= false;
  s.podReplacementPolicy ??= 'TerminatingOrFailed';
  defaultTemplate({ spec: s });
}

export const jobs: Kind = {
  defaults: (o) => defaultJobSpec(o.spec ??= {}),
  prepareForCreate(obj) {
    obj.status = {};
    if (obj.spec?.manualSelector !== true) generateJobSelector(obj);
  },
  validate(o) {
    const s = o.spec;
    if (!isObj(s)) return [fieldRequired('spec')];
    const errs: FieldError[] = [];
    for (const f of ['parallelism', 'completions', 'backoffLimit', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished']) nonNegative(`spec.${f}`, s[f], errs);
    validateTemplate('jobs', 'spec', s, errs, false);
    return errs;
  },
  validateUpdate(obj, old) {
    const errs = immutableSelector(obj, old);
    if (JSON.stringify(obj.spec?.template) !== JSON.stringify(old.spec?.template) && !old.spec?.suspend) {
      errs.push(fieldInvalid('spec.template', obj.spec?.template, 'field is immutable'));
    }
    return errs;
  },
  tracksGeneration: true,
  fields: (o) => ({ 'status.successful': str(o.status?.successful ?? 0) }),
  printer: {
    columns: [{ name: 'Status' }, { name: 'Completions' }, { name: 'Duration' }, { name: 'Age' }, ...WIDE_WORKLOAD],
    cells(o) {
      const done = o.status?.succeeded ?? 0;
      const completions = o.spec?.completions !== undefined && o.spec?.completions !== null
        ? `${done}/${o.spec.completions}` : `${done}/1 of ${o.spec?.parallelism ?? 1}`;
      return [jobStatus(o), completions, jobDuration(o), age(o.metadata.creationTimestamp),
        containers(o.spec?.template?.spec), images(o.spec?.template?.spec), selector(o.spec?.selector)];
    },
  },
};
