// Validation entry points used by the registry. STUB: the API-package work fills it in.
import type { FieldError } from '../errors.ts';
import type { ResourceInfo } from '../resources.ts';
import type { KubeObject } from '../types.ts';

/** Everything wrong with a new object (after defaulting). Empty = valid. */
export function validateCreate(_info: ResourceInfo, _obj: KubeObject): FieldError[] {
  return [];
}

/** Everything wrong with an update (after defaulting), incl. changes to immutable fields. */
export function validateUpdate(_info: ResourceInfo, _obj: KubeObject, _old: KubeObject): FieldError[] {
  return [];
}

/** Validation of a status update (PUT/PATCH …/status). */
export function validateStatusUpdate(_info: ResourceInfo, _obj: KubeObject, _old: KubeObject): FieldError[] {
  return [];
}
