// Which fields each resource supports in field selectors, and their values for one object
// (Kubernetes' GetAttrs / field label conversion functions per kind).
import { ApiError } from './errors.ts';
import type { ResourceInfo } from './resources.ts';
import type { KubeObject } from './types.ts';

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

/** Per resource: the extra selectable fields beyond metadata.name and metadata.namespace. */
const EXTRA: Record<string, (o: any) => Record<string, string>> = {
  pods: (o) => ({
    'spec.nodeName': str(o.spec?.nodeName),
    'spec.restartPolicy': str(o.spec?.restartPolicy),
    'spec.schedulerName': str(o.spec?.schedulerName),
    'spec.serviceAccountName': str(o.spec?.serviceAccountName),
    'spec.hostNetwork': str(o.spec?.hostNetwork ?? false),
    'status.phase': str(o.status?.phase),
    'status.podIP': str(o.status?.podIP),
    'status.nominatedNodeName': str(o.status?.nominatedNodeName),
  }),
  events: (o) => ({
    'involvedObject.kind': str(o.involvedObject?.kind),
    'involvedObject.namespace': str(o.involvedObject?.namespace),
    'involvedObject.name': str(o.involvedObject?.name),
    'involvedObject.uid': str(o.involvedObject?.uid),
    'involvedObject.apiVersion': str(o.involvedObject?.apiVersion),
    'involvedObject.resourceVersion': str(o.involvedObject?.resourceVersion),
    'involvedObject.fieldPath': str(o.involvedObject?.fieldPath),
    reason: str(o.reason),
    reportingComponent: str(o.reportingComponent),
    source: str(o.source?.component),
    type: str(o.type),
  }),
  secrets: (o) => ({ type: str(o.type) }),
  nodes: (o) => ({ 'spec.unschedulable': str(o.spec?.unschedulable ?? false) }),
  namespaces: (o) => ({ 'status.phase': str(o.status?.phase) }),
  replicasets: (o) => ({ 'status.replicas': str(o.status?.replicas ?? 0) }),
  replicationcontrollers: (o) => ({ 'status.replicas': str(o.status?.replicas ?? 0) }),
  jobs: (o) => ({ 'status.successful': str(o.status?.successful ?? 0) }),
};

/** Field name → value for one object, e.g. {'metadata.name': 'web', 'spec.nodeName': 'node-1'}. */
export function objectFields(info: ResourceInfo, obj: KubeObject): Record<string, string> {
  const base: Record<string, string> = { 'metadata.name': obj.metadata?.name ?? '' };
  if (info.namespaced) base['metadata.namespace'] = obj.metadata?.namespace ?? '';
  if (info.custom) {
    // A CRD's selectableFields (dotted paths of scalar fields).
    for (const f of info.custom.selectableFields) {
      const v = f.split('.').reduce((a: any, k) => (a && typeof a === 'object' ? a[k] : undefined), obj);
      base[f] = v === undefined || v === null ? '' : String(v);
    }
    return base;
  }
  const extra = EXTRA[info.resource];
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
