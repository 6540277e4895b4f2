// Leases (coordination.k8s.io): durations validated, kubectl's columns.
import { fieldInvalid, type FieldError } from '../../api/errors.ts';
import { isObj, nonNegative } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { age } from './printing.ts';

export const leases: Kind = {
  validate(o) {
    const errs: FieldError[] = [];
    const s = o.spec;
    if (s === undefined) return errs;
    if (!isObj(s)) return [fieldInvalid('spec', s, 'must be an object')];
    if (s.leaseDurationSeconds !== undefined && !(Number.isInteger(s.leaseDurationSeconds) && s.leaseDurationSeconds > 0)) {
      errs.push(fieldInvalid('spec.leaseDurationSeconds', s.leaseDurationSeconds, 'must be greater than 0'));
    }
    nonNegative('spec.leaseTransitions', s.leaseTransitions, errs);
    return errs;
  },
  printer: { columns: [{ name: 'Holder' }, { name: 'Age' }], cells: (o) => [o.spec?.holderIdentity ?? '', age(o.metadata.creationTimestamp)] },
};
