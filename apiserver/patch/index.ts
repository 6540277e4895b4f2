// Entry point the registry calls for PATCH: dispatches on the patch type; never mutates its inputs.
import { ApiError } from '../../api/errors.ts';
import type { ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import type { PatchType } from '../registry/types.ts';
import { applyJsonPatch } from './json-patch.ts';
import { applyMergePatch } from './merge-patch.ts';
import { applyStrategicMergePatch } from './strategic-merge.ts';
import { applyScale, applyServerSide, checkScaleReplicas, type ApplyOptions } from './apply.ts';

export { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, applyServerSide, applyScale, checkScaleReplicas };

/** `apply`: who applies (managedFields) and whether conflicts are forced; without it an anonymous, unforced apply. */
export function applyPatch(type: PatchType, original: KubeObject, patch: unknown, info: ResourceInfo, apply?: ApplyOptions): KubeObject {
  let out: unknown;
  switch (type) {
    case 'json': out = applyJsonPatch(original, patch); break;
    case 'merge':
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw new ApiError('BadRequest', 'merge patch must be a JSON object');
      out = applyMergePatch(original, patch); break;
    case 'strategic': out = applyStrategicMergePatch(original, patch); break;
    case 'apply': out = applyServerSide(info, original, patch, apply ?? { manager: '', force: false }); break;
    default: throw new ApiError('UnsupportedMediaType', `unsupported patch type ${String(type)}`);
  }
  if (typeof out !== 'object' || out === null || Array.isArray(out)) {
    throw new ApiError('BadRequest', `patch result for ${info.kind} is not an object`);
  }
  return out as KubeObject;
}
