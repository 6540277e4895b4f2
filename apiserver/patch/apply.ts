// Server-side apply: the applied configuration is checked for identity, then merged into the live object
// with field ownership (managed-fields.ts). A missing object is created from the body by the registry,
// through applyConfig with no live object.
import { ApiError } from '../../api/errors.ts';
import type { ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import { applyConfig, type ManagedWrite } from './managed-fields.ts';

export interface ApplyOptions extends ManagedWrite { force: boolean }

export function applyServerSide(info: ResourceInfo, live: KubeObject, applied: unknown, opts: ApplyOptions): KubeObject {
  if (typeof applied !== 'object' || applied === null || Array.isArray(applied)) {
    throw new ApiError('BadRequest', 'apply patch must be a JSON/YAML object');
  }
  const a = applied as KubeObject;
  if (typeof a.apiVersion !== 'string' || typeof a.kind !== 'string') {
    throw new ApiError('BadRequest', 'apply patch must set apiVersion and kind');
  }
  if (a.kind !== live.kind) throw new ApiError('BadRequest', `apply patch kind ${a.kind} does not match ${live.kind}`);
  return applyConfig(info, live, a, opts, opts.force);
}
