// Custom objects through the generic registry: what a write goes through (pruning, defaulting, the schema, the
// CEL rules), the scale subresource read and written at the CRD's paths, and the simple JSONPath
// (`.spec.replicas`, `.items[0].name`, `.conditions[?(@.type=="Ready")].status`) that printer columns and scale
// paths use.
import type { FieldError } from '../../api/errors.ts';
import type { ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import { ruleErrors } from './cel.ts';
import { applySchemaDefaults, prune, validateAgainstSchema } from './schema.ts';

type Obj = Record<string, any>;

/** Prune a custom object's unknown fields and fill in its schema's defaults, in place; it is stored as the storage version. */
export function pruneAndDefault(info: ResourceInfo, obj: KubeObject): void {
  const c = info.custom!;
  prune(obj as Obj, c.schema);
  applySchemaDefaults(obj, c.schema);
  obj.apiVersion = `${info.group}/${c.storageVersion}`;
}

/**
 * The schema's errors, then (if none) its CEL rules' (old: the stored object of an update, for transition rules;
 * onlyTransitions: just those, for an update's check beyond the create's).
 */
export function customValidation(info: ResourceInfo, obj: KubeObject, old?: KubeObject, onlyTransitions = false): FieldError[] {
  const errs = validateAgainstSchema(obj as Obj, info.custom!.schema);
  if (errs.length) return onlyTransitions ? [] : errs;
  return ruleErrors(withoutMeta(obj), old ? withoutMeta(old) : undefined, info.custom!.schema, onlyTransitions);
}

/** A custom object's unknown fields are those its schema prunes (wrong types are the schema validation's 422). */
export function customUnknown(info: ResourceInfo, obj: KubeObject): string[] {
  return prune(structuredClone(obj) as Obj, info.custom!.schema).map((p) => `unknown field ${JSON.stringify(p)}`);
}

/** The CEL rules see the object as the schema describes it (metadata is the apiserver's, not the schema's). */
function withoutMeta(o: KubeObject): Obj {
  const { metadata: _m, ...rest } = o as Obj;
  return rest;
}

type Step = { key: string } | { index: number } | { filter: [string, string] } | { all: true };

function steps(path: string): Step[] {
  const out: Step[] = [];
  const re = /\.([A-Za-z0-9_-]+)|\[(\d+)\]|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*["']([^"']*)["']\)\]|\[\*\]/g;
  let m: RegExpExecArray | null;
  const p = path.replace(/^\{|\}$/g, '');
  while ((m = re.exec(p))) {
    if (m[1] !== undefined) out.push({ key: m[1] });
    else if (m[2] !== undefined) out.push({ index: Number(m[2]) });
    else if (m[3] !== undefined) out.push({ filter: [m[3], m[4]!] });
    else out.push({ all: true });
  }
  return out;
}

/** The values a JSONPath selects (several after a filter or [*]). */
export function jsonPath(obj: unknown, path: string): unknown[] {
  let cur: unknown[] = [obj];
  for (const s of steps(path)) {
    const next: unknown[] = [];
    for (const v of cur) {
      if ('key' in s) { if (v && typeof v === 'object' && !Array.isArray(v) && (v as Obj)[s.key] !== undefined) next.push((v as Obj)[s.key]); }
      else if ('index' in s) { if (Array.isArray(v) && v[s.index] !== undefined) next.push(v[s.index]); }
      else if ('all' in s) { if (Array.isArray(v)) next.push(...v); }
      else if (Array.isArray(v)) {
        const [field, want] = s.filter;
        next.push(...v.filter((x) => String(field.split('.').reduce((a: any, k) => a?.[k], x)) === want));
      }
    }
    cur = next;
  }
  return cur;
}

/** Set a plain dotted path (`.spec.replicas`), making the objects on the way. */
export function setPath(obj: Obj, path: string, value: unknown): void {
  const keys = path.replace(/^\./, '').split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) cur = (cur[k] && typeof cur[k] === 'object') ? cur[k] : (cur[k] = {});
  cur[keys[keys.length - 1]!] = value;
}

/** The autoscaling/v1 Scale of a custom object, from the CRD's scale paths. */
export function customScale(info: ResourceInfo, obj: KubeObject): KubeObject {
  const sc = info.custom!.scale!;
  const num = (p: string) => { const v = jsonPath(obj, p)[0]; return typeof v === 'number' ? v : 0; };
  const selector = sc.labelSelectorPath ? jsonPath(obj, sc.labelSelectorPath)[0] : undefined;
  return {
    kind: 'Scale', apiVersion: 'autoscaling/v1',
    metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion, creationTimestamp: obj.metadata.creationTimestamp },
    spec: { replicas: num(sc.specReplicasPath) },
    status: { replicas: num(sc.statusReplicasPath), ...(typeof selector === 'string' ? { selector } : {}) },
  } as KubeObject;
}

/** A printer column's cell, formatted as kubectl's table printer shows the type. */
export function columnCell(obj: KubeObject, col: { type: string; jsonPath: string }): unknown {
  const vals = jsonPath(obj, col.jsonPath);
  if (!vals.length) return null;
  const v = vals.length === 1 ? vals[0] : vals.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(',');
  if (col.type === 'integer' && typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return v;
}
