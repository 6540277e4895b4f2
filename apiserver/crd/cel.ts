// x-kubernetes-validations: CEL rules on a schema node, evaluated with `self` (the node's value) and, for transition
// rules, `oldSelf` (its value before an update; a rule using oldSelf is skipped on create). Values are handed to CEL
// by their schema type — integers as CEL ints, objects as maps — so `self.replicas <= 10` compares ints. Rules are
// parsed when the CRD is written, so a rule that does not compile is refused with the parser's message.
import { isCelError, parse, run } from '@bufbuild/cel';
import type { FieldError } from '../../api/errors.ts';
import { childSchema, type Schema } from './schema.ts';

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Rule { rule: string; message?: string; messageExpression?: string; reason?: string; fieldPath?: string }

/** Compile errors of every rule in the schema, under `path` (Kubernetes' field paths of the CRD). */
export function ruleCompileErrors(schema: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const walk = (s: unknown, p: string) => {
    if (!isObj(s)) return;
    (Array.isArray(s['x-kubernetes-validations']) ? s['x-kubernetes-validations'] : []).forEach((r: Obj, i: number) => {
      const at = `${p}.x-kubernetes-validations[${i}]`;
      if (typeof r?.rule !== 'string' || !r.rule.trim()) { errs.push({ type: 'FieldValueRequired', field: `${at}.rule`, detail: 'Required value' }); return; }
      try { parse(r.rule); } catch (e) {
        errs.push({ type: 'FieldValueInvalid', field: `${at}.rule`, detail: `Invalid value: ${JSON.stringify(r.rule)}: compilation failed: ERROR: ${(e as Error).message}` });
      }
      if (r.messageExpression !== undefined) {
        try { parse(String(r.messageExpression)); } catch (e) {
          errs.push({ type: 'FieldValueInvalid', field: `${at}.messageExpression`, detail: `Invalid value: ${JSON.stringify(r.messageExpression)}: messageExpression compilation failed: ERROR: ${(e as Error).message}` });
        }
      }
    });
    for (const [k, v] of Object.entries((s.properties ?? {}) as Obj)) walk(v, `${p}.properties[${k}]`);
    if (isObj(s.items)) walk(s.items, `${p}.items`);
    if (isObj(s.additionalProperties)) walk(s.additionalProperties, `${p}.additionalProperties`);
  };
  walk(schema, path);
  return errs;
}

/** A JSON value as CEL sees it under its schema. */
function toCel(v: unknown, s: Schema | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.map((x) => toCel(x, s?.items));
  if (isObj(v)) return new Map(Object.entries(v).map(([k, x]) => [k, toCel(x, childSchema(s, k))]));
  if (typeof v === 'number') {
    const type = s?.type ?? (s?.['x-kubernetes-int-or-string'] ? 'integer' : undefined);
    if (type === 'integer' || (type === undefined && Number.isInteger(v))) return BigInt(Math.trunc(v));
    return v;
  }
  return v;
}

const TYPE_NAME: Record<string, string> = { object: 'object', array: 'array', string: 'string', integer: 'integer', number: 'number', boolean: 'boolean' };

function evalRule(r: Rule, self: unknown, oldSelf: unknown, s: Schema): boolean | string {
  const vars: Record<string, unknown> = { self: toCel(self, s) };
  if (oldSelf !== undefined) vars.oldSelf = toCel(oldSelf, s);
  const out = run(r.rule, vars as never);
  if (isCelError(out)) return `${r.rule}: ${(out as Error).message}`;
  return out === true;
}

/** The object's values checked against every rule on their schema nodes; `old` is the object before an update. */
/** The rules' errors; `onlyTransitions`: just the rules that compare with oldSelf (an update's own check). */
export function ruleErrors(obj: unknown, old: unknown, schema: Schema, onlyTransitions = false): FieldError[] {
  const errs: FieldError[] = [];
  const walk = (v: unknown, o: unknown, s: Schema | undefined, path: string) => {
    if (!s || v === undefined) return;
    for (const r of (Array.isArray(s['x-kubernetes-validations']) ? s['x-kubernetes-validations'] : []) as Rule[]) {
      const transition = /\boldSelf\b/.test(r.rule);
      if (transition && o === undefined) continue; // a transition rule needs the old value
      if (onlyTransitions && !transition) continue;
      const field = r.fieldPath ? `${path}${r.fieldPath.startsWith('.') || !path ? '' : '.'}${r.fieldPath.replace(/^\./, path ? '.' : '')}` : path || '<nil>';
      let ok: boolean | string;
      try { ok = evalRule(r, v, transition ? o : undefined, s); } catch (e) { ok = `${r.rule}: ${(e as Error).message}`; }
      if (ok === true) continue;
      const shown = JSON.stringify(TYPE_NAME[s.type] ?? 'object');
      const message = typeof ok === 'string' ? `${r.message ?? 'failed rule'}: ${ok}` : r.message ?? `failed rule: ${r.rule}`;
      const type = r.reason === 'FieldValueRequired' ? 'FieldValueRequired' : r.reason === 'FieldValueForbidden' ? 'FieldValueForbidden'
        : r.reason === 'FieldValueDuplicate' ? 'FieldValueDuplicate' : 'FieldValueInvalid';
      const detail = type === 'FieldValueInvalid' ? `Invalid value: ${shown}: ${message}` : type === 'FieldValueRequired' ? `Required value: ${message}`
        : type === 'FieldValueForbidden' ? `Forbidden: ${message}` : `Duplicate value: ${message}`;
      errs.push({ type, field, detail });
    }
    if (Array.isArray(v)) { v.forEach((x, i) => walk(x, Array.isArray(o) ? o[i] : undefined, s.items, `${path}[${i}]`)); return; }
    if (isObj(v)) for (const [k, x] of Object.entries(v)) walk(x, isObj(o) ? o[k] : undefined, childSchema(s, k), path ? `${path}.${k}` : k);
  };
  walk(obj, old, schema, '');
  return errs;
}
