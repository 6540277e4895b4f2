// The fields an object can be selected by (Kubernetes' GetAttrs): metadata.name and metadata.namespace for every
// kind, and what the kind's own file adds (apiserver/kinds/<kind>.ts `fields`).
import { ApiError } from '../../api/errors.ts';
import type { ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import { kindFor } from '../kinds/index.ts';

/** Field name → value for one object, e.g. {'metadata.name': 'web', 'spec.nodeName': 'node-1'}. */
export function objectFields(info: ResourceInfo, obj: KubeObject): Record<string, string> {
  const base: Record<string, string> = { 'metadata.name': obj.metadata?.name ?? '' };
  if (info.namespaced) base['metadata.namespace'] = obj.metadata?.namespace ?? '';
  const extra = kindFor(info).fields;
  return extra ? { ...base, ...extra(obj) } : base;
}

/** Throws ApiError BadRequest (`field label not supported: x`) for a field this resource cannot select on. */
export function checkFieldSelectorSupported(info: ResourceInfo, fields: string[]): void {
  const supported = new Set(Object.keys(objectFields(info, { metadata: {} })));
  if (!info.namespaced) supported.add('metadata.namespace'); // Kubernetes accepts it (always "")
  for (const f of fields) {
    if (!supported.has(f)) throw new ApiError('BadRequest', `field label not supported: ${f}`);
  }
}
