// The typed decoding of a patched object, as kube-apiserver's PATCH handler does it: the patch is
// applied to the stored object, and the result is decoded into the kind's type. Unknown fields are
// dropped in every mode; with fieldValidation Strict they (and duplicate fields of the patch body) are
// a 422 naming the patch, with Warn they come back as warnings; a wrong type is a 422 in every mode.
// Server-side apply checks the applied configuration itself against the schema, always strictly.
import { ApiError, fieldInvalid, invalid } from '../../api/errors.ts';
import { apiVersionOf, type ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import { checkObject, rootType } from '../../api/schema/check.ts';
import { customUnknown } from '../crd/objects.ts';
import type { PatchOptions, PatchType } from './types.ts';

/** `%+v` of a decoded JSON value in Go (map keys sorted), which Kubernetes prints for a strategic patch. */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (typeof v === 'object') {
    return `map[${Object.keys(v).sort().map((k) => `${k}:${goFormat((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  }
  return String(v);
}

/** The Invalid error Kubernetes returns for a patch whose result does not decode. */
const patchInvalid = (shown: string, detail: string) => invalid('', '', [fieldInvalid('patch', shown, detail)]);

/**
 * Check `patched` (the patch applied to the stored object) in place. Returns the warnings to send;
 * throws for what the request's fieldValidation refuses. Without opts.fieldValidation (gRPC callers)
 * nothing is checked.
 */
export function checkPatched(info: ResourceInfo, type: PatchType, patch: unknown, patched: KubeObject, opts: PatchOptions): string[] {
  const directive = opts.fieldValidation;
  const root = info.custom ? undefined : rootType(apiVersionOf(info), info.kind);
  if (!directive || (!root && !info.custom) || type === 'apply') return [];
  const r = root ? checkObject(root, patched) : { unknown: customUnknown(info, patched), typeError: undefined };
  const shown = () => (type === 'strategic' ? goFormat(patch) : JSON.stringify(patched));
  if (r.typeError) throw patchInvalid(shown(), r.typeError);
  const strict = [...(opts.patchStrictErrors ?? []), ...r.unknown];
  if (!strict.length || directive === 'Ignore') return [];
  if (directive === 'Warn') return strict;
  throw patchInvalid(shown(), `strict decoding error: ${strict.join(', ')}`);
}

/**
 * Server-side apply: the applied configuration must fit the schema whatever fieldValidation says
 * (structured-merge-diff refuses it as kube-apiserver's field manager does, a 500). Paths are written
 * as structured-merge-diff writes them for fields and list indexes.
 */
export function checkApplied(info: ResourceInfo, patch: unknown, name: string): void {
  const root = rootType(apiVersionOf(info), info.kind);
  if (!root || typeof patch !== 'object' || patch === null || Array.isArray(patch)) return;
  // The kind is read first (a 400 as Kubernetes' decoder gives), before any field is typed.
  const { apiVersion, kind } = patch as Record<string, unknown>;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    throw new ApiError('BadRequest', `couldn't get version/kind; json parse error: json: cannot unmarshal ${typeof (typeof apiVersion !== 'string' ? apiVersion : kind) === 'object' ? 'object' : 'number'} into Go struct field .${typeof apiVersion !== 'string' ? 'apiVersion' : 'kind'} of type string`);
  }
  const probe = structuredClone(patch) as KubeObject;
  const r = checkObject(root, probe);
  const errs = [...r.unknown.map((u) => `.${JSON.parse(u.slice('unknown field '.length))}: field not declared in schema`),
    ...(r.typeError ? [r.typeError] : [])];
  if (!errs.length) return;
  const ns = (patch as KubeObject).metadata?.namespace ?? '';
  const gvk = `${info.group}/${info.version}, Kind=${info.kind}`;
  const text = errs.length === 1 ? errs[0] : ['errors:', ...errs.map((e) => `  ${e}`)].join('\n');
  throw new ApiError('InternalError', `failed to create typed patch object (${ns}/${(patch as KubeObject).metadata?.name ?? name}; ${gvk}): ${text}`);
}
