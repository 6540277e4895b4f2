// Server-side apply, simplified: the applied object is merged into the live one with strategic merge
// semantics. Without managedFields we do not track field ownership, so fields the user stopped applying are
// NOT removed (real SSA would remove them) and there are no apply conflicts. A missing object is created from
// the body by the registry, not here.
import { ApiError } from '../../api/errors.ts';
import type { KubeObject } from '../../api/types.ts';
import { applyStrategicMergePatch } from './strategic-merge.ts';

export function applyServerSide(live: KubeObject, applied: unknown): KubeObject {
  if (typeof applied !== 'object' || applied === null || Array.isArray(applied)) {
    throw new ApiError('BadRequest', 'apply patch must be a JSON/YAML object');
  }
  const a = applied as Record<string, unknown>;
  if (typeof a.apiVersion !== 'string' || typeof a.kind !== 'string') {
    throw new ApiError('BadRequest', 'apply patch must set apiVersion and kind');
  }
  if (a.kind !== live.kind) throw new ApiError('BadRequest', `apply patch kind ${a.kind} does not match ${live.kind}`);
  return applyStrategicMergePatch(live, a) as KubeObject;
}
