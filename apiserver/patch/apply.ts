// Server-side apply: the applied configuration is checked for identity, then merged into the live object
// with field ownership (managed-fields.ts). A missing object is created from the body by the registry,
// through applyConfig with no live object.
import { ApiError, invalid } from '../../api/errors.ts';
import { apiVersionOf, type ResourceInfo } from '../../api/resources.ts';
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

/** A Scale's spec.replicas, refused as Kubernetes' Scale validation does when it is not a count. */
export function checkScaleReplicas(name: string, replicas: unknown): void {
  if (replicas !== undefined && (!Number.isInteger(replicas) || (replicas as number) < 0)) {
    throw invalid('Scale', name, [{ type: 'FieldValueInvalid', field: 'spec.replicas', detail: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` }], 'autoscaling');
  }
}

/**
 * An apply to the scale subresource: the Scale's replicas applied to the object itself by a manager recorded with
 * subresource scale, so it conflicts with (and is conflicted by) whoever owns the object's replicas, as
 * kube-apiserver's scale handler maps the Scale's managed fields onto the object's.
 */
export function applyScale(info: ResourceInfo, live: KubeObject, applied: unknown, write: (obj: KubeObject, replicas: number) => void, opts: ApplyOptions): KubeObject {
  const a = applied as KubeObject;
  if (typeof applied !== 'object' || applied === null || Array.isArray(applied) || a.kind !== 'Scale' || a.apiVersion !== 'autoscaling/v1') {
    throw new ApiError('BadRequest', 'apply patch to the scale subresource must be an autoscaling/v1 Scale');
  }
  const name = live.metadata.name!;
  const replicas = a.spec?.replicas;
  checkScaleReplicas(name, replicas);
  const config = { apiVersion: apiVersionOf(info), kind: info.kind, metadata: { name } } as KubeObject;
  if (replicas !== undefined) write(config, replicas);
  return applyConfig(info, live, config, { manager: opts.manager, subresource: 'scale' }, opts.force);
}
