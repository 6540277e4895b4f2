// Which fields each resource supports in field selectors, and their values for one object
// (Kubernetes' GetAttrs / field label conversion). STUB: the API-package work fills it in.
import type { ResourceInfo } from './resources.ts';
import type { KubeObject } from './types.ts';

/** Field name → value for one object, e.g. {'metadata.name': 'web', 'spec.nodeName': 'node-1'}. */
export function objectFields(_info: ResourceInfo, obj: KubeObject): Record<string, string> {
  return { 'metadata.name': obj.metadata.name ?? '', 'metadata.namespace': obj.metadata.namespace ?? '' };
}

/** Throws ApiError BadRequest (`field label not supported: x`) for a field this resource cannot select on. */
export function checkFieldSelectorSupported(_info: ResourceInfo, _fields: string[]): void {}
