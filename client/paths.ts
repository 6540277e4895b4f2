// REST paths and query strings for the HTTP client, from the resource table.
import { ApiError } from '../api/errors.ts';
import { findResource, type ResourceInfo } from '../api/resources.ts';
import type { ResourceKey } from './api-client.ts';

export function resourceInfo(res: ResourceKey): ResourceInfo {
  const info = findResource(res.group, res.resource);
  if (!info) throw new ApiError('NotFound', `unknown resource ${res.group ? `${res.resource}.${res.group}` : res.resource}`);
  return info;
}

export function resourcePath(res: ResourceKey, namespace: string | undefined, name?: string, subresource?: string): string {
  const info = resourceInfo(res);
  const base = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const item = name ? `/${encodeURIComponent(name)}` : '';
  const sub = name && subresource ? `/${subresource}` : '';
  return `${base}${ns}/${info.resource}${item}${sub}`;
}

export function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
