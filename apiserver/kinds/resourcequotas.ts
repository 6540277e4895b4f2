// ResourceQuotas (pkg/registry/core/resourcequota, ValidateResourceQuota): spec.hard quantities, scopes, a
// status the resourcequota controller and the ResourceQuota admission plugin keep, kubectl's columns.
import { fieldInvalid, fieldNotSupported, type FieldError } from '../../api/errors.ts';
import { parseQuantity } from '../../api/quantity.ts';
import { SCOPES } from '../../api/quota/evaluators.ts';
import { isObj } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { age } from './printing.ts';

type Obj = Record<string, any>;

export function validateResourceList(path: string, list: unknown, errs: FieldError[]): void {
  if (list === undefined || list === null) return;
  if (!isObj(list)) { errs.push(fieldInvalid(path, list, 'must be a map of resource names to quantities')); return; }
  for (const [k, v] of Object.entries(list)) {
    const n = parseQuantity(v);
    if (n === undefined) errs.push(fieldInvalid(`${path}[${k}]`, v, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
    else if (n < 0) errs.push(fieldInvalid(`${path}[${k}]`, v, 'must be greater than or equal to 0'));
  }
}

/** printResourceQuota: `name: used/hard` sorted, limits.* in the Limit column, the rest in Request. */
function columns(o: Obj): [string, string] {
  const hard: Obj = o.status?.hard ?? {};
  const used: Obj = o.status?.used ?? {};
  const req: string[] = [];
  const lim: string[] = [];
  for (const r of Object.keys(hard).sort()) (r.split('.')[0] === 'limits' && r.includes('.') ? lim : req).push(`${r}: ${used[r] ?? '0'}/${hard[r]}`);
  return [req.join(', '), lim.join(', ')];
}

export const resourcequotas: Kind = {
  prepareForCreate(obj) { obj.status = {}; },
  validate(o) {
    const errs: FieldError[] = [];
    const s = o.spec;
    if (s === undefined || s === null) return errs;
    if (!isObj(s)) return [fieldInvalid('spec', s, 'must be an object')];
    validateResourceList('spec.hard', s.hard, errs);
    (Array.isArray(s.scopes) ? s.scopes : []).forEach((sc: unknown, i: number) => {
      if (!SCOPES.includes(sc as string)) errs.push(fieldNotSupported(`spec.scopes[${i}]`, sc, SCOPES));
    });
    if (s.scopeSelector !== undefined) errs.push(fieldInvalid('spec.scopeSelector', s.scopeSelector, 'not supported by kubemu: use spec.scopes'));
    return errs;
  },
  validateStatus(o) {
    const errs: FieldError[] = [];
    validateResourceList('status.hard', (o as Obj).status?.hard, errs);
    validateResourceList('status.used', (o as Obj).status?.used, errs);
    return errs;
  },
  printer: {
    columns: [{ name: 'Age' }, { name: 'Request' }, { name: 'Limit' }],
    cells: (o) => [age(o.metadata.creationTimestamp), ...columns(o)],
  },
};
