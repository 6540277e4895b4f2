// Secrets (pkg/registry/core/secret): stringData folded into data, keys, base64 and total size validated, the type
// and an immutable Secret's data fixed, field selector type, kubectl's columns.
import { fieldForbidden, fieldInvalid, type FieldError } from '../../api/errors.ts';
import { configMapKey } from '../../api/names.ts';
import type { KubeObject } from '../../api/types.ts';
import { isObj, MAX_SECRET_SIZE } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { age } from './printing.ts';

type Obj = Record<string, any>;
const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

/** A ConfigMap or Secret marked immutable: neither the mark nor the data may change. */
export function immutableData(obj: KubeObject, old: KubeObject): FieldError[] {
  const o = obj as Obj, prev = old as Obj;
  if (prev.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (o.immutable !== true) errs.push(fieldForbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const f of ['data', 'binaryData', 'stringData']) {
    if (JSON.stringify(o[f] ?? null) !== JSON.stringify(prev[f] ?? null)) errs.push(fieldForbidden(f, 'field is immutable when `immutable` is set'));
  }
  return errs;
}

export const secrets: Kind = {
  defaults(o) {
    o.type ??= 'Opaque';
    // stringData is write-only: the apiserver folds it into data (base64) as Kubernetes does.
    if (o.stringData && typeof o.stringData === 'object') {
      o.data = { ...(o.data ?? {}) };
      for (const [k, v] of Object.entries(o.stringData)) o.data[k] = Buffer.from(String(v)).toString('base64');
      delete o.stringData;
    }
  },
  validate(o) {
    const errs: FieldError[] = [];
    let total = 0;
    for (const field of ['data', 'stringData']) {
      if (isObj(o[field])) for (const v of Object.values(o[field])) if (typeof v === 'string') total += field === 'data' ? Buffer.byteLength(v, 'base64') : Buffer.byteLength(v);
    }
    if (total > MAX_SECRET_SIZE) errs.push({ type: 'FieldValueTooLong', field: 'data', detail: `Too long: may not be more than ${MAX_SECRET_SIZE} bytes` });
    for (const field of ['data', 'stringData']) {
      if (o[field] === undefined) continue;
      if (!isObj(o[field])) { errs.push(fieldInvalid(field, o[field], 'must be a map of string keys to string values')); continue; }
      for (const [k, v] of Object.entries(o[field])) {
        for (const e of configMapKey(k)) errs.push(fieldInvalid(`${field}[${k}]`, k, e));
        if (typeof v !== 'string') errs.push(fieldInvalid(`${field}[${k}]`, v, 'must be a string'));
        else if (field === 'data' && !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) errs.push(fieldInvalid(`${field}[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
      }
    }
    return errs;
  },
  validateUpdate(obj, old) {
    const errs = immutableData(obj, old);
    if (obj.type !== old.type) errs.push(fieldInvalid('type', obj.type, 'field is immutable'));
    return errs;
  },
  fields: (o) => ({ type: str(o.type) }),
  printer: {
    columns: [{ name: 'Type' }, { name: 'Data' }, { name: 'Age' }],
    cells: (o) => [o.type ?? 'Opaque', Object.keys(o.data ?? {}).length, age(o.metadata.creationTimestamp)],
  },
};
