// The autoscaling/v1 Scale subresource of deployments, replicasets, statefulsets and
// replication controllers: a view of spec.replicas, status.replicas and the selector.
import { labelSelectorToString } from '../../api/selectors.ts';
import type { ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import { customScale } from '../crd/objects.ts';

function selectorString(info: ResourceInfo, obj: KubeObject): string {
  const sel = obj.spec?.selector;
  if (!sel) return '';
  if (info.resource === 'replicationcontrollers') {
    return Object.entries(sel as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');
  }
  return labelSelectorToString(sel);
}

export function toScale(info: ResourceInfo, obj: KubeObject): KubeObject {
  if (info.custom) return customScale(info, obj);
  const m = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name, namespace: m.namespace, uid: m.uid,
      resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status: { replicas: obj.status?.replicas ?? 0, selector: selectorString(info, obj) },
  };
}
