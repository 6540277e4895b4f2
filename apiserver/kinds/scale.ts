// The autoscaling/v1 Scale subresource of the workload kinds: a view of spec.replicas, status.replicas and the
// selector (a ReplicationController's is a plain map, the others' a LabelSelector).
import { labelSelectorToString } from '../../api/selectors.ts';
import type { KubeObject } from '../../api/types.ts';
import type { Kind } from './kind.ts';

export function workloadScale(mapSelector = false): NonNullable<Kind['scale']> {
  const selectorString = (obj: KubeObject): string => {
    const sel = obj.spec?.selector;
    if (!sel) return '';
    if (mapSelector) return Object.entries(sel as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');
    return labelSelectorToString(sel);
  };
  return {
    read(obj) {
      const m = obj.metadata;
      return {
        kind: 'Scale', apiVersion: 'autoscaling/v1',
        metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
        spec: { replicas: obj.spec?.replicas ?? 0 },
        status: { replicas: obj.status?.replicas ?? 0, selector: selectorString(obj) },
      };
    },
    write(obj, replicas) { obj.spec = { ...(obj.spec ?? {}), replicas }; },
  };
}
