// Typed decoding of a request body, as kube-apiserver's strict JSON decoder does it: walk the object
// against its kind's schema (schemas.json), drop and report unknown fields, and report the first value
// of the wrong type in Go's encoding/json words (sigs.k8s.io/json's paths), e.g.
//   unknown field "spec.template.spec.containers[0].imagee"
//   json: cannot unmarshal array into Go struct field Secret.stringData of type map[string]string
import { QUANTITY_FORMAT } from '../quantity.ts';
import { RFC3339, RFC3339_MICRO, goBase64Error, goTimeParseError } from './go-formats.ts';
// Imported, not read from disk: the component bundles (launcher/bundle.ts) carry it inside.
import schemasJson from './schemas.json' with { type: 'json' };
// Go's name of each field whose type is a named string or list type (v1.PullPolicy, []v1.Capability,
// types.UID…), which client-node types as plain strings: read from k8s.io/api and apimachinery v0.32's
// types.go, for the type in a decoding error.
import goTypesJson from './go-types.json' with { type: 'json' };

interface Schemas { kinds: Record<string, string>; types: Record<string, Record<string, string>> }

export const schemas = (): Schemas => schemasJson as Schemas;
const GO_TYPES = goTypesJson as Record<string, string>;

/** The schema type of a kind (`apps/v1`, `Deployment` → `V1Deployment`), or undefined for kinds without one. */
export const rootType = (apiVersion: string, kind: string): string | undefined => schemas().kinds[`${apiVersion}/${kind}`];

/** Kubernetes keeps at most this many strict decoding errors. */
const MAX_STRICT = 100;

export interface CheckResult {
  /** `unknown field "…"` for each unknown field, in Kubernetes' path notation. */
  unknown: string[];
  /** The typed-decoding error Kubernetes reports, if any. */
  typeError?: string;
}

/** The Go type name of a struct: V1PodSpec → PodSpec in package v1, CoreV1Event → Event. */
export function goStruct(type: string): { pkg: string; name: string } {
  const m = /^[A-Z][a-z]*?(V\d+(?:alpha\d+|beta\d+)?)([A-Z]\w*)$/.exec(type) ?? /^(V\d+(?:alpha\d+|beta\d+)?)([A-Z]\w*)$/.exec(type);
  return m ? { pkg: m[1].toLowerCase(), name: m[2] } : { pkg: 'v1', name: type };
}

/** The Go type of a field type, as reflect prints it in a decoding error. */
export function goType(t: string): string {
  if (t.startsWith('[]')) return `[]${goType(t.slice(2))}`;
  if (t === 'map[quantity]') return 'v1.ResourceList';
  if (t.startsWith('map[')) return `map[string]${goType(t.slice(4, -1))}`;
  switch (t) {
    case 'string': case 'date-time': case 'date-time-micro': return 'string';
    case 'boolean': return 'bool';
    case 'int32': case 'int-or-string': return 'int32';
    case 'int64': return 'int64';
    case 'double': return 'float64';
    case 'byte': return '[]uint8';
    case 'quantity': return 'resource.Quantity';
    case 'object': return 'interface {}';
  }
  const s = goStruct(t);
  return `${s.pkg}.${s.name}`;
}

/** How Go's decoder names a JSON value in "cannot unmarshal X". */
const jsonKind = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v);

class Fatal { constructor(readonly message: string) {} }

interface Ctx { unknown: string[]; seen: Set<string>; saved?: string }
/** Where a value sits: the Go struct holding the innermost field, the field names from the root, and the value's Go type when named. */
interface Where { struct: string; fields: string[]; path: string; go?: string }

const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)/;

function typeError(value: unknown, t: string, at: Where, literal = false): string {
  const what = literal && typeof value === 'number' ? `number ${String(value)}` : jsonKind(value);
  const type = at.go ?? goType(t);
  return at.fields.length
    ? `json: cannot unmarshal ${what} into Go struct field ${at.struct}.${at.fields.join('.')} of type ${type}`
    : `json: cannot unmarshal ${what} into Go value of type ${type}`;
}

function walk(value: unknown, t: string, at: Where, ctx: Ctx): void {
  if (value === null || t === 'object') return; // null decodes as the zero value; free-form takes anything
  const save = (msg: string) => { ctx.saved ??= msg; };
  if (t.startsWith('[]')) {
    if (!Array.isArray(value)) return save(typeError(value, t, at));
    const elem = t.slice(2);
    const go = at.go?.startsWith('[]') ? at.go.slice(2) : undefined;
    value.forEach((v, i) => {
      // encoding/json decodes a null element of a list of structs as the zero struct: later code sees {}.
      if (v === null && schemas().types[elem]) value[i] = {};
      walk(value[i], elem, { ...at, path: `${at.path}[${i}]`, go }, ctx);
    });
    return;
  }
  if (t.startsWith('map[')) {
    if (typeof value !== 'object' || Array.isArray(value)) return save(typeError(value, t, at));
    const elem = t.slice(4, -1);
    const go = at.go ? /^map\[[^\]]*\](.+)$/.exec(at.go)?.[1] : undefined;
    for (const [k, v] of Object.entries(value as object)) walk(v, elem, { ...at, path: `${at.path}.${k}`, go }, ctx);
    return;
  }
  switch (t) {
    case 'string':
      if (typeof value !== 'string') save(typeError(value, t, at));
      return;
    case 'boolean':
      if (typeof value !== 'boolean') save(typeError(value, t, at));
      return;
    case 'int32': case 'int64': case 'double': {
      if (typeof value !== 'number') return save(typeError(value, t, at));
      const bits = t === 'int32' ? 31 : 63;
      if (t !== 'double' && (!Number.isInteger(value) || value < -(2 ** bits) || value >= 2 ** bits)) save(typeError(value, t, at, true));
      return;
    }
    case 'int-or-string': // IntOrString.UnmarshalJSON: a string, else an int32; its error ends decoding
      if (typeof value === 'string') return;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) throw new Fatal(typeError(value, t, at, true));
      return;
    case 'quantity': { // Quantity.UnmarshalJSON: a string or a bare number; its error ends decoding
      const text = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : JSON.stringify(value);
      const m = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/.exec(text);
      if (!m) throw new Fatal(QUANTITY_FORMAT);
      if (NUMERIC.exec(m[1])?.[0] !== m[1]) throw new Fatal('unable to parse numeric part of quantity');
      if (!/^(?:|[numkMGTPE]|[KMGTPE]i|[eE][+-]?\d+)$/.test(m[2])) throw new Fatal("unable to parse quantity's suffix");
      return;
    }
    case 'date-time': case 'date-time-micro': { // metav1.Time / MicroTime.UnmarshalJSON; their errors end decoding
      if (typeof value !== 'string') throw new Fatal(typeError(value, t, at));
      const err = goTimeParseError(value, t === 'date-time' ? RFC3339 : RFC3339_MICRO);
      if (err) throw new Fatal(err);
      return;
    }
    case 'byte':
      if (typeof value !== 'string') return save(typeError(value, t, at));
      { const err = goBase64Error(value); if (err) save(err); }
      return;
  }
  const fields = schemas().types[t];
  if (!fields) return; // a type the generator did not record: take it as it is
  if (typeof value !== 'object' || Array.isArray(value)) return save(typeError(value, t, at));
  const obj = value as Record<string, unknown>;
  const struct = goStruct(t).name;
  for (const k of Object.keys(obj)) {
    const path = at.path ? `${at.path}.${k}` : k;
    const ft = Object.hasOwn(fields, k) ? fields[k] : undefined;
    if (ft === undefined) {
      const msg = `unknown field ${JSON.stringify(path)}`;
      if (!ctx.seen.has(msg) && ctx.unknown.length < MAX_STRICT) { ctx.seen.add(msg); ctx.unknown.push(msg); }
      delete obj[k]; // the typed decode drops what it does not know, in every mode
      continue;
    }
    walk(obj[k], ft, { struct, fields: [...at.fields, k], path, go: GO_TYPES[`${t}.${k}`] }, ctx);
  }
}

/**
 * Decode `obj` as its kind's root type: unknown fields are removed from `obj` and listed; the first
 * wrong-typed value gives `typeError` (as in Go, a custom unmarshaller's error — Quantity, IntOrString,
 * Time — ends decoding and wins over an earlier type error).
 */
export function checkObject(root: string, obj: unknown): CheckResult {
  const ctx: Ctx = { unknown: [], seen: new Set() };
  try {
    walk(obj, root, { struct: goStruct(root).name, fields: [], path: '' }, ctx);
  } catch (err) {
    if (err instanceof Fatal) return { unknown: ctx.unknown, typeError: err.message };
    throw err;
  }
  return { unknown: ctx.unknown, typeError: ctx.saved };
}

/**
 * `duplicate field "metadata.name"` for each key that appears twice in one JSON object of `text`
 * (JSON.parse keeps the last silently). One pass over the text; paths as Kubernetes writes them.
 */
export function duplicateFields(text: string): string[] {
  const out: string[] = [];
  type Frame = { keys?: Set<string>; expectKey: boolean; key: string; index: number; path: string };
  const stack: Frame[] = [];
  const childPath = (f: Frame | undefined) => (!f ? '' : f.keys ? f.key : `${f.path}[${f.index}]`);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // a string: a key when its object expects one
      const start = i;
      let escaped = false;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) { escaped = true; i++; } else if (d === 0x22) break;
      }
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const key: string = escaped ? JSON.parse(text.slice(start, i + 1)) : text.slice(start + 1, i);
        top.key = top.path ? `${top.path}.${key}` : key;
        if (top.keys.has(key)) {
          const msg = `duplicate field ${JSON.stringify(top.key)}`;
          if (!out.includes(msg) && out.length < MAX_STRICT) out.push(msg);
        } else top.keys.add(key);
        top.expectKey = false;
      }
    } else if (c === 0x7b) { // {
      stack.push({ keys: new Set(), expectKey: true, key: '', index: 0, path: childPath(stack[stack.length - 1]) });
    } else if (c === 0x5b) { // [
      stack.push({ expectKey: false, key: '', index: 0, path: childPath(stack[stack.length - 1]) });
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c) { // ,
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true; else if (top) top.index++;
    }
  }
  return out;
}
