// PodDisruptionBudgets (pkg/registry/policy/poddisruptionbudget, pkg/apis/policy/validation): minAvailable or
// maxUnavailable (an int or a percent, never both), the unhealthy-pod eviction policy, a status the disruption
// controller keeps, kubectl's columns.
import { fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../../api/errors.ts';
import { isObj } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { age } from './printing.ts';

type Obj = Record<string, any>;

export const UNHEALTHY_POD_EVICTION_POLICIES = ['AlwaysAllow', 'IfHealthyBudget'];

/** apps validation's ValidatePositiveIntOrPercent and IsNotMoreThan100Percent. */
export function validateIntOrPercent(field: string, v: unknown, errs: FieldError[]): void {
  if (typeof v === 'string') {
    if (!/^[0-9]+%$/.test(v)) {
      errs.push(fieldInvalid(field, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"));
    } else if (Number(v.slice(0, -1)) > 100) errs.push(fieldInvalid(field, v, 'must not be greater than 100%'));
  } else if (typeof v === 'number' && Number.isInteger(v)) {
    if (v < 0) errs.push(fieldInvalid(field, v, 'must be greater than or equal to 0'));
  } else errs.push(fieldInvalid(field, v, "must be an integer or percentage (e.g '5%')"));
}

/** intstr.GetScaledValueFromIntOrPercent: an int as it is, a percent of total (rounded up or down). */
export function scaledValue(v: number | string, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  const pct = Number(v.slice(0, -1));
  return roundUp ? Math.ceil((pct * total) / 100) : Math.floor((pct * total) / 100);
}

const intOrString = (v: unknown) => (v === undefined || v === null ? 'N/A' : String(v));

export const poddisruptionbudgets: Kind = {
  prepareForCreate(obj) { obj.status = {}; },
  // Go writes these int32s even when zero (no omitempty), and strict clients require them.
  statusZeros: { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 },
  validate(o) {
    const s = o.spec;
    if (!isObj(s)) return [fieldRequired('spec')];
    const errs: FieldError[] = [];
    if (s.minAvailable !== undefined && s.minAvailable !== null && s.maxUnavailable !== undefined && s.maxUnavailable !== null) {
      errs.push(fieldInvalid('spec', s, 'minAvailable and maxUnavailable cannot be both set'));
    }
    if (s.minAvailable !== undefined && s.minAvailable !== null) validateIntOrPercent('spec.minAvailable', s.minAvailable, errs);
    if (s.maxUnavailable !== undefined && s.maxUnavailable !== null) validateIntOrPercent('spec.maxUnavailable', s.maxUnavailable, errs);
    if (s.selector !== undefined && s.selector !== null && !isObj(s.selector)) errs.push(fieldInvalid('spec.selector', s.selector, 'must be a label selector'));
    const policy = s.unhealthyPodEvictionPolicy;
    if (policy !== undefined && policy !== null && !UNHEALTHY_POD_EVICTION_POLICIES.includes(policy)) {
      errs.push(fieldNotSupported('spec.unhealthyPodEvictionPolicy', policy, UNHEALTHY_POD_EVICTION_POLICIES));
    }
    return errs;
  },
  validateStatus(o) {
    // ValidatePodDisruptionBudgetStatusUpdate: the counts are never negative.
    const errs: FieldError[] = [];
    for (const f of ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods']) {
      const v = (o as Obj).status?.[f];
      if (v !== undefined && v !== null && (typeof v !== 'number' || v < 0)) errs.push(fieldInvalid(`status.${f}`, v, 'must be greater than or equal to 0'));
    }
    return errs;
  },
  tracksGeneration: true,
  printer: {
    columns: [{ name: 'Min Available' }, { name: 'Max Unavailable' }, { name: 'Allowed Disruptions', type: 'integer' }, { name: 'Age' }],
    cells: (o: Obj) => [intOrString(o.spec?.minAvailable), intOrString(o.spec?.maxUnavailable), o.status?.disruptionsAllowed ?? 0, age(o.metadata.creationTimestamp)],
  },
};
