// A CustomResourceDefinition's structural schema applied to custom objects as kube-apiextensions-apiserver does:
// unknown fields pruned (kept under x-kubernetes-preserve-unknown-fields, and apiVersion/kind/metadata at the root
// and in embedded resources), `default`s filled in, then the object validated — by ajv, on the schema translated
// to JSON Schema (nullable, int-or-string), with errors worded as Kubernetes words them.
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { FieldError } from '../../api/errors.ts';

type Obj = Record<string, any>;
export type Schema = Obj;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The schema of a property or an array item, or undefined where anything goes. */
export function childSchema(s: Schema | undefined, key: string | number): Schema | undefined {
  if (!s) return undefined;
  if (typeof key === 'number') return s.items;
  if (s.properties?.[key]) return s.properties[key];
  if (isObj(s.additionalProperties)) return s.additionalProperties;
  return undefined;
}

/** Remove what the schema does not declare; returns the removed fields' paths ("spec.foo"). */
export function prune(obj: Obj, schema: Schema): string[] {
  const removed: string[] = [];
  const walk = (v: unknown, s: Schema | undefined, path: string, root: boolean, embedded: boolean) => {
    if (!s || s['x-kubernetes-preserve-unknown-fields'] === true && !s.properties && !s.items && !isObj(s.additionalProperties)) return;
    if (Array.isArray(v)) { if (s.items) v.forEach((x, i) => walk(x, s.items, `${path}[${i}]`, false, Boolean(s.items['x-kubernetes-embedded-resource']))); return; }
    if (!isObj(v)) return;
    for (const k of Object.keys(v)) {
      const p = path ? `${path}.${k}` : k;
      if ((root || embedded) && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
      const cs = s.properties?.[k] ?? (isObj(s.additionalProperties) ? s.additionalProperties : s.additionalProperties === true ? {} : undefined);
      if (cs === undefined && s['x-kubernetes-preserve-unknown-fields'] !== true) { removed.push(p); delete v[k]; continue; }
      walk(v[k], cs, p, false, Boolean(cs?.['x-kubernetes-embedded-resource']));
    }
  };
  walk(obj, schema, '', true, false);
  return removed;
}

/** Fill in `default`s of absent properties, where their parent object is present (as Kubernetes defaults). */
export function applySchemaDefaults(obj: unknown, s: Schema | undefined): void {
  if (!s) return;
  if (Array.isArray(obj)) { for (const x of obj) applySchemaDefaults(x, s.items); return; }
  if (!isObj(obj)) return;
  for (const [k, ps] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
    if (obj[k] === undefined && ps.default !== undefined) obj[k] = structuredClone(ps.default);
    applySchemaDefaults(obj[k], ps);
  }
  if (isObj(s.additionalProperties)) for (const k of Object.keys(obj)) if (!s.properties?.[k]) applySchemaDefaults(obj[k], s.additionalProperties);
}

/** OpenAPI v3 (Kubernetes' dialect) → JSON Schema for ajv. */
function toJsonSchema(s: Schema, root = false): Obj {
  const out: Obj = {};
  const types = s['x-kubernetes-int-or-string'] ? ['integer', 'string'] : s.type ? [s.type] : undefined;
  if (types) out.type = s.nullable ? [...types, 'null'] : types.length === 1 ? types[0] : types;
  for (const k of ['enum', 'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems',
    'minProperties', 'maxProperties', 'multipleOf', 'uniqueItems', 'required']) if (s[k] !== undefined) out[k] = s[k];
  // OpenAPI v3.0's boolean exclusive bounds.
  if (s.exclusiveMinimum === true) { out.exclusiveMinimum = s.minimum; delete out.minimum; }
  if (s.exclusiveMaximum === true) { out.exclusiveMaximum = s.maximum; delete out.maximum; }
  if (s.exclusiveMinimum === false) delete out.exclusiveMinimum;
  if (s.exclusiveMaximum === false) delete out.exclusiveMaximum;
  if (s.enum && s.nullable) out.enum = [...s.enum, null];
  if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties as Record<string, Schema>)
    .filter(([k]) => !(root && k === 'metadata')).map(([k, v]) => [k, toJsonSchema(v)]));
  if (isObj(s.additionalProperties)) out.additionalProperties = toJsonSchema(s.additionalProperties);
  if (s.items) out.items = toJsonSchema(s.items);
  for (const k of ['allOf', 'anyOf', 'oneOf'] as const) if (Array.isArray(s[k])) out[k] = s[k].map((x: Schema) => toJsonSchema(x));
  if (isObj(s.not)) out.not = toJsonSchema(s.not);
  return out;
}

// ajv is CommonJS: under ESM its class is the default export's `default`.
const Ajv = (AjvModule as unknown as { default: typeof AjvModule }).default ?? AjvModule;
const ajv = new (Ajv as any)({ allErrors: true, strict: false, validateFormats: false });
const compiled = new WeakMap<Schema, ValidateFunction>();

/** Kubernetes' field path of an ajv error ("spec.replicas", "spec.items[0]"). */
function fieldOf(e: ErrorObject): string {
  const parts = e.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

const goValue = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v));
const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v === 'number' ? 'number' : typeof v);

function valueAt(obj: unknown, e: ErrorObject): unknown {
  let v: any = obj;
  for (const p of e.instancePath.split('/').slice(1)) v = v?.[p.replace(/~1/g, '/').replace(/~0/g, '~')];
  return v;
}

/** The object checked against the schema: Kubernetes-worded field errors (none when valid). */
export function validateAgainstSchema(obj: Obj, schema: Schema): FieldError[] {
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, validate = ajv.compile(toJsonSchema(schema, true)) as ValidateFunction);
  if (validate(obj)) return [];
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    const base = fieldOf(e);
    const v = valueAt(obj, e);
    const p = e.params as Obj;
    const inBody = `${base || '<root>'} in body`;
    let err: FieldError | undefined;
    switch (e.keyword) {
      case 'required': {
        const f = base ? `${base}.${p.missingProperty}` : p.missingProperty;
        err = { type: 'FieldValueRequired', field: f, detail: 'Required value' };
        break;
      }
      case 'type': err = { type: 'FieldValueTypeInvalid', field: base, detail: `Invalid value: ${goValue(typeName(v))}: ${inBody} must be of type ${String(p.type).split(',')[0]}: ${goValue(typeName(v))}` }; break;
      case 'enum': err = { type: 'FieldValueNotSupported', field: base, detail: `Unsupported value: ${goValue(v)}: supported values: ${((p.allowedValues ?? e.schema ?? []) as unknown[]).map(goValue).join(', ')}` }; break;
      case 'maximum': err = { type: 'FieldValueInvalid', field: base, detail: `Invalid value: ${goValue(v)}: ${inBody} should be less than or equal to ${p.limit}` }; break;
      case 'minimum': err = { type: 'FieldValueInvalid', field: base, detail: `Invalid value: ${goValue(v)}: ${inBody} should be greater than or equal to ${p.limit}` }; break;
      case 'exclusiveMaximum': err = { type: 'FieldValueInvalid', field: base, detail: `Invalid value: ${goValue(v)}: ${inBody} should be less than ${p.limit}` }; break;
      case 'exclusiveMinimum': err = { type: 'FieldValueInvalid', field: base, detail: `Invalid value: ${goValue(v)}: ${inBody} should be greater than ${p.limit}` }; break;
      case 'pattern': err = { type: 'FieldValueInvalid', field: base, detail: `Invalid value: ${goValue(v)}: ${inBody} should match '${p.pattern}'` }; break;
      case 'maxLength': err = { type: 'FieldValueTooLong', field: base, detail: `Too long: may not be more than ${p.limit} bytes` }; break;
      case 'minLength': err = { type: 'FieldValueInvalid', field: base, detail: `Invalid value: ${goValue(v)}: ${inBody} should be at least ${p.limit} chars long` }; break;
      case 'maxItems': err = { type: 'FieldValueTooMany', field: base, detail: `Too many: ${Array.isArray(v) ? v.length : '?'}: must have at most ${p.limit} items` }; break;
      case 'minItems': err = { type: 'FieldValueInvalid', field: base, detail: `Invalid value: ${Array.isArray(v) ? v.length : '?'}: ${inBody} should have at least ${p.limit} items` }; break;
      case 'uniqueItems': err = { type: 'FieldValueDuplicate', field: `${base}[${p.i}]`, detail: `Duplicate value: ${goValue(Array.isArray(v) ? v[p.i] : v)}` }; break;
      case 'multipleOf': err = { type: 'FieldValueInvalid', field: base, detail: `Invalid value: ${goValue(v)}: ${inBody} should be a multiple of ${p.multipleOf}` }; break;
      default: err = { type: 'FieldValueInvalid', field: base, detail: `Invalid value: ${goValue(v)}: ${inBody} ${e.message ?? 'is invalid'}` };
    }
    const key = `${err.field}\0${err.detail}`;
    if (!seen.has(key)) { seen.add(key); errs.push(err); }
  }
  return errs;
}

/**
 * Why a schema is not structural (Kubernetes' messages, under `path`): every object field and array item has a
 * type, the root is an object, properties and additionalProperties do not mix, no uniqueItems, no $ref.
 */
export function structuralErrors(s: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const walk = (n: unknown, p: string, root: boolean) => {
    if (!isObj(n)) { errs.push({ type: 'FieldValueInvalid', field: p, detail: 'Invalid value: must be an object' }); return; }
    const intOrString = n['x-kubernetes-int-or-string'] === true;
    const preserve = n['x-kubernetes-preserve-unknown-fields'] === true;
    if (root && n.type !== 'object') errs.push(n.type ? { type: 'FieldValueInvalid', field: `${p}.type`, detail: `Invalid value: ${JSON.stringify(n.type)}: must be object at the root` }
      : { type: 'FieldValueRequired', field: `${p}.type`, detail: 'Required value: must not be empty at the root' });
    else if (!n.type && !intOrString && !preserve) errs.push({ type: 'FieldValueRequired', field: `${p}.type`, detail: 'Required value: must not be empty for specified object fields' });
    if (n.type && !['object', 'array', 'string', 'integer', 'number', 'boolean'].includes(n.type)) {
      errs.push({ type: 'FieldValueNotSupported', field: `${p}.type`, detail: `Unsupported value: ${JSON.stringify(n.type)}: supported values: "array", "boolean", "integer", "number", "object", "string"` });
    }
    if (intOrString && n.type) errs.push({ type: 'FieldValueForbidden', field: `${p}.type`, detail: 'Forbidden: must be empty to be structural' });
    if (n.$ref !== undefined) errs.push({ type: 'FieldValueForbidden', field: `${p}.$ref`, detail: 'Forbidden: $ref is not supported' });
    if (n.uniqueItems === true) errs.push({ type: 'FieldValueForbidden', field: `${p}.uniqueItems`, detail: 'Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic' });
    if (n.properties && n.additionalProperties !== undefined && n.additionalProperties !== false) {
      errs.push({ type: 'FieldValueForbidden', field: `${p}.additionalProperties`, detail: 'Forbidden: additionalProperties and properties are mutual exclusive' });
    }
    if (n.type === 'array' && !n.items) errs.push({ type: 'FieldValueRequired', field: `${p}.items`, detail: 'Required value: must be specified' });
    if (n.default !== undefined && root) errs.push({ type: 'FieldValueForbidden', field: `${p}.default`, detail: 'Forbidden: must not be set at the root' });
    for (const [k, v] of Object.entries((n.properties ?? {}) as Obj)) {
      if (root && k === 'metadata' && isObj(v) && Object.keys(v.properties ?? {}).some((x) => x !== 'name' && x !== 'generateName')) {
        errs.push({ type: 'FieldValueForbidden', field: `${p}.properties[metadata]`, detail: 'Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified' });
        continue;
      }
      walk(v, `${p}.properties[${k}]`, false);
    }
    if (isObj(n.items)) walk(n.items, `${p}.items`, false);
    if (isObj(n.additionalProperties)) walk(n.additionalProperties, `${p}.additionalProperties`, false);
  };
  walk(s, path, true);
  return errs;
}
