// LimitRanges (pkg/registry/core/limitrange, ValidateLimitRange): per-type min/max/default/defaultRequest/
// maxLimitRequestRatio with Kubernetes' defaults (SetDefaults_LimitRangeItem) and consistency checks.
import { fieldForbidden, fieldInvalid, fieldRequired, type FieldError } from '../../api/errors.ts';
import { parseQuantity } from '../../api/quantity.ts';
import { isObj } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { validateResourceList } from './resourcequotas.ts';

type Obj = Record<string, any>;
const LISTS = ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio'];

/** For containers: a max is the default limit, a default limit the default request, else the min. */
function defaultItem(item: Obj): void {
  if (!isObj(item) || item.type !== 'Container') return;
  const def: Obj = item.default = isObj(item.default) ? item.default : {};
  const req: Obj = item.defaultRequest = isObj(item.defaultRequest) ? item.defaultRequest : {};
  for (const [k, v] of Object.entries(isObj(item.max) ? item.max : {})) def[k] ??= v;
  for (const [k, v] of Object.entries(def)) req[k] ??= v;
  for (const [k, v] of Object.entries(isObj(item.min) ? item.min : {})) req[k] ??= v;
}

function validateItem(item: Obj, i: number, errs: FieldError[]): void {
  const p = `spec.limits[${i}]`;
  if (!isObj(item)) { errs.push(fieldInvalid(p, item, 'must be an object')); return; }
  if (!item.type) errs.push(fieldRequired(`${p}.type`));
  for (const l of LISTS) validateResourceList(`${p}.${l}`, item[l], errs);
  if (item.type === 'Pod') {
    if (Object.keys(item.default ?? {}).length) errs.push(fieldForbidden(`${p}.default`, "may not be specified when `type` is 'Pod'"));
    if (Object.keys(item.defaultRequest ?? {}).length) errs.push(fieldForbidden(`${p}.defaultRequest`, "may not be specified when `type` is 'Pod'"));
  }
  if (item.type === 'PersistentVolumeClaim' && item.min?.storage === undefined && item.max?.storage === undefined) {
    errs.push(fieldRequired(`${p}.limits`, 'either minimum or maximum storage value is required, but neither was provided'));
  }
  const q = (l: string, k: string) => (isObj(item[l]) && item[l][k] !== undefined ? parseQuantity(item[l][k]) : undefined);
  const keys = new Set(LISTS.flatMap((l) => Object.keys(isObj(item[l]) ? item[l] : {})));
  for (const k of keys) {
    const [max, min, def, defReq, ratio] = LISTS.map((l) => q(l, k));
    const s = (l: string) => String(item[l][k]);
    if (min !== undefined && max !== undefined && min > max) errs.push(fieldInvalid(`${p}.min[${k}]`, s('min'), `min value ${s('min')} is greater than max value ${s('max')}`));
    if (defReq !== undefined && min !== undefined && min > defReq) errs.push(fieldInvalid(`${p}.defaultRequest[${k}]`, s('defaultRequest'), `min value ${s('min')} is greater than default request value ${s('defaultRequest')}`));
    if (defReq !== undefined && max !== undefined && defReq > max) errs.push(fieldInvalid(`${p}.defaultRequest[${k}]`, s('defaultRequest'), `default request value ${s('defaultRequest')} is greater than max value ${s('max')}`));
    if (defReq !== undefined && def !== undefined && defReq > def) errs.push(fieldInvalid(`${p}.defaultRequest[${k}]`, s('defaultRequest'), `default request value ${s('defaultRequest')} is greater than default limit value ${s('default')}`));
    if (def !== undefined && min !== undefined && min > def) errs.push(fieldInvalid(`${p}.default[${k}]`, s('default'), `min value ${s('min')} is greater than default value ${s('default')}`));
    if (def !== undefined && max !== undefined && def > max) errs.push(fieldInvalid(`${p}.default[${k}]`, s('default'), `default value ${s('default')} is greater than max value ${s('max')}`));
    if (ratio !== undefined && ratio < 1) errs.push(fieldInvalid(`${p}.maxLimitRequestRatio[${k}]`, s('maxLimitRequestRatio'), `ratio ${s('maxLimitRequestRatio')} is less than 1`));
    if (ratio !== undefined && min !== undefined && max !== undefined && min > 0 && ratio > max / min) {
      errs.push(fieldInvalid(`${p}.maxLimitRequestRatio[${k}]`, s('maxLimitRequestRatio'), `ratio ${s('maxLimitRequestRatio')} is greater than max/min = ${(max / min).toFixed(6)}`));
    }
  }
}

export const limitranges: Kind = {
  defaults(o) { for (const item of Array.isArray(o.spec?.limits) ? o.spec.limits : []) defaultItem(item); },
  validate(o) {
    const errs: FieldError[] = [];
    if (!isObj(o.spec)) return [fieldRequired('spec')];
    if (!Array.isArray(o.spec.limits)) return o.spec.limits === undefined ? [] : [fieldInvalid('spec.limits', o.spec.limits, 'must be a list')];
    o.spec.limits.forEach((item: Obj, i: number) => validateItem(item, i, errs));
    return errs;
  },
  printer: {
    // printLimitRange: the creation time itself, not an age.
    columns: [{ name: 'Created At', type: 'date' }],
    cells: (o) => [o.metadata.creationTimestamp ?? ''],
  },
};
