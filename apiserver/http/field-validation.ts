// The write options of a REST request (dryRun, fieldValidation, fieldManager, force) checked as
// kube-apiserver's ValidateCreateOptions/UpdateOptions/PatchOptions do, and the typed decoding of a
// POST or PUT body: unknown and duplicate fields are refused (Strict), returned as `Warning:` headers
// (Warn, the server's default) or dropped silently (Ignore); a wrong type is a 400 whatever the mode.
import type http from 'node:http';
import { ApiError, type FieldError } from '../../api/errors.ts';
import { apiVersionOf, type ResourceInfo } from '../../api/resources.ts';
import { checkObject, duplicateFields, rootType } from '../../api/schema/check.ts';
import type { KubeObject } from '../../api/types.ts';
import type { PatchType } from '../registry/types.ts';
import { customUnknown } from '../crd/objects.ts';
import { mediaType } from './body.ts';
import { fieldManagerErrors } from '../patch/managed-fields.ts';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';
type OptionsKind = 'CreateOptions' | 'UpdateOptions' | 'PatchOptions' | 'DeleteOptions';

/** Go's %#v of a []string, as field errors print a bad dryRun list. */
const goStrings = (v: string[]) => `[]string{${v.map((s) => JSON.stringify(s)).join(', ')}}`;

function optionsInvalid(kind: OptionsKind, errors: FieldError[]): ApiError {
  const parts = errors.map((e) => `${e.field}: ${e.detail}`);
  return new ApiError('Invalid', `${kind}.meta.k8s.io "" is invalid: ${parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`}`, {
    group: 'meta.k8s.io', kind, name: '', causes: errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field })),
  });
}

const dryRunError = (dryRun: string[]): FieldError[] => (dryRun.every((v) => v === 'All') ? [] : [{
  type: 'FieldValueNotSupported', field: 'dryRun', detail: `Unsupported value: ${goStrings(dryRun)}: supported values: "All"`,
}]);

/** DeleteOptions' dryRun (query and body together): only "All" is a dry-run value. */
export function checkDeleteDryRun(dryRun: string[]): void {
  const errors = dryRunError(dryRun);
  if (errors.length) throw optionsInvalid('DeleteOptions', errors);
}

export interface CheckedWriteOptions { dryRun: boolean; fieldValidation: FieldValidation }

/** The query's write options, refused as Kubernetes refuses them (422 on CreateOptions.meta.k8s.io …). */
export function writeOptions(q: URLSearchParams, method: 'POST' | 'PUT' | 'PATCH', patchType?: PatchType): CheckedWriteOptions {
  const kind: OptionsKind = method === 'POST' ? 'CreateOptions' : method === 'PUT' ? 'UpdateOptions' : 'PatchOptions';
  const errors: FieldError[] = [];
  if (method === 'PATCH') {
    if (patchType === 'apply') {
      if (!q.get('fieldManager')) errors.push({ type: 'FieldValueRequired', field: 'fieldManager', detail: 'Required value: is required for apply patch' });
    } else if (q.has('force')) {
      errors.push({ type: 'FieldValueForbidden', field: 'force', detail: 'Forbidden: may not be specified for non-apply patch' });
    }
  }
  errors.push(...fieldManagerErrors(q.get('fieldManager') ?? ''));
  const dryRun = q.getAll('dryRun');
  errors.push(...dryRunError(dryRun));
  const fv = q.get('fieldValidation') ?? '';
  if (!['', 'Ignore', 'Warn', 'Strict'].includes(fv)) {
    errors.push({ type: 'FieldValueNotSupported', field: 'fieldValidation', detail: `Unsupported value: ${JSON.stringify(fv)}: supported values: "", "Ignore", "Strict", "Warn"` });
  }
  if (errors.length) throw optionsInvalid(kind, errors);
  return { dryRun: dryRun.length > 0, fieldValidation: (fv || 'Warn') as FieldValidation };
}

/** Subresources whose body is the kind itself; the others (binding, eviction, scale) have their own types. */
const typedBody = (subresource: string | undefined) => !subresource || subresource === 'status';

/**
 * A POST/PUT body decoded as its kind: unknown fields removed from `body`; returns the warnings to send.
 * A protobuf body is typed already (its decoder knows only the kind's fields); duplicate fields can
 * only be seen in JSON text.
 */
export function decodeTyped(info: ResourceInfo, subresource: string | undefined, body: unknown, contentType: string | undefined, buf: Buffer, fv: FieldValidation): string[] {
  const root = info.custom ? undefined : rootType(apiVersionOf(info), info.kind);
  const type = mediaType(contentType);
  if ((!root && !info.custom) || !typedBody(subresource) || type === 'application/vnd.kubernetes.protobuf') return [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [];
  const obj = body as KubeObject;
  // A body of another kind or version is refused by the registry with its own message.
  if ((obj.kind !== undefined && obj.kind !== info.kind) || (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(info))) return [];
  const raw = ['', 'application/json', '*/*'].includes(type) ? buf.toString('utf8') : undefined;
  const prefix = `${info.kind} in version ${JSON.stringify(info.version)} cannot be handled as a ${info.kind}: `;
  const r = root ? checkObject(root, obj) : { unknown: customUnknown(info, obj), typeError: undefined };
  if (r.typeError) throw new ApiError('BadRequest', prefix + r.typeError);
  if (fv === 'Ignore') return [];
  const strict = [...r.unknown, ...(raw !== undefined ? duplicateFields(raw).filter((d) => !underUnknown(d, r.unknown)) : [])].slice(0, 100);
  if (!strict.length) return [];
  if (fv === 'Strict') throw new ApiError('BadRequest', `${prefix}strict decoding error: ${strict.join(', ')}`);
  return strict;
}

/** Go's decoder skips an unknown field's value, so it sees no duplicates inside it. */
function underUnknown(dup: string, unknown: string[]): boolean {
  const path: string = JSON.parse(dup.slice('duplicate field '.length));
  return unknown.some((u) => {
    const p: string = JSON.parse(u.slice('unknown field '.length));
    return path.startsWith(`${p}.`) || path.startsWith(`${p}[`);
  });
}

/** The strict errors of a patch body itself: duplicate fields (and, for a JSON patch, unknown keys of an operation). */
export function patchStrictErrors(type: PatchType, raw: string, patch: unknown, fv: FieldValidation): string[] {
  if (fv === 'Ignore' || type === 'apply') return [];
  if (type !== 'json') return duplicateFields(raw);
  const errs = duplicateFields(raw);
  if (Array.isArray(patch)) {
    patch.forEach((op, i) => {
      if (op && typeof op === 'object' && !Array.isArray(op)) {
        for (const k of Object.keys(op)) if (!['op', 'path', 'from', 'value'].includes(k)) errs.push(`unknown field ${JSON.stringify(`[${i}].${k}`)}`);
      }
    });
  }
  return errs.map((e) => `json patch ${e}`);
}

/** `Warning: 299 - "text"` headers, as kube-apiserver sends each warning (kubectl prints `Warning: text`). */
export function setWarnings(res: http.ServerResponse, warnings: string[]): void {
  const had = res.getHeader('Warning');
  const before = Array.isArray(had) ? had : had === undefined ? [] : [String(had)];
  const unique = [...new Set([...before, ...warnings.map((w) => `299 - ${JSON.stringify(w)}`)])];
  if (unique.length) res.setHeader('Warning', unique);
}
