// What the workload kinds (Deployments, ReplicaSets, StatefulSets, DaemonSets, ReplicationControllers, Jobs,
// CronJobs) share: a new one starts with an empty status, generation counts spec changes, and the selector
// may not change.
import { fieldInvalid, type FieldError } from '../../api/errors.ts';
import type { KubeObject } from '../../api/types.ts';

export const startsWithEmptyStatus = (obj: KubeObject): void => { obj.status = {}; };

export function immutableSelector(obj: KubeObject, old: KubeObject): FieldError[] {
  return JSON.stringify(obj.spec?.selector ?? null) !== JSON.stringify(old.spec?.selector ?? null)
    ? [fieldInvalid('spec.selector', obj.spec?.selector, 'field is immutable')] : [];
}
