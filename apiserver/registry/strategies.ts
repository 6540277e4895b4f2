// Per-resource rules the generic registry applies (Kubernetes' REST "strategies"): what a
// create resets, which resources track generation, what a status write may change.
import type { ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';

/** Kinds whose metadata.generation counts spec changes (as their Kubernetes strategies do). */
const GENERATION = new Set(['deployments', 'replicasets', 'daemonsets', 'statefulsets', 'jobs', 'cronjobs', 'replicationcontrollers']);
const WORKLOADS = GENERATION;

export const tracksGeneration = (info: ResourceInfo): boolean => GENERATION.has(info.resource);
export const hasStatus = (info: ResourceInfo): boolean => info.subresources.includes('status');

/** Pod QoS class from its containers' requests and limits (Kubernetes' GetPodQOS, simplified to cpu/memory). */
export function podQOSClass(pod: KubeObject): string {
  const containers: any[] = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ['cpu', 'memory']) {
      if (lim[r] === undefined) guaranteed = false;
      else if (req[r] !== undefined && String(req[r]) !== String(lim[r])) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** Reset what a client may not set on create. */
export function prepareForCreate(info: ResourceInfo, obj: KubeObject): void {
  switch (info.resource) {
    case 'pods':
      obj.status = { phase: 'Pending', qosClass: podQOSClass(obj) };
      // As Kubernetes' pod strategy: a gated pod says so from the start (the scheduler never looks at it).
      if (Array.isArray(obj.spec?.schedulingGates) && obj.spec.schedulingGates.length) {
        obj.status.conditions = [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates', lastProbeTime: null, lastTransitionTime: null }];
      }
      break;
    case 'namespaces':
      obj.status = { phase: 'Active' };
      // As Kubernetes' namespace strategy: every namespace is selectable by name (namespaceSelector, NetworkPolicy).
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name! };
      obj.spec = { ...(obj.spec ?? {}), finalizers: ['kubernetes'] };
      break;
    case 'services':
      obj.status = { loadBalancer: {} };
      break;
    case 'jobs':
      obj.status = {};
      if (obj.spec?.manualSelector !== true) generateJobSelector(obj);
      break;
    default:
      if (WORKLOADS.has(info.resource)) obj.status = {};
  }
}

/**
 * As Kubernetes' Job strategy does unless spec.manualSelector: the pod template gets the controller-uid and
 * job-name labels (current and legacy spellings) and spec.selector matches the controller-uid one.
 */
function generateJobSelector(job: KubeObject): void {
  const { uid, name } = job.metadata;
  if (!job.spec || typeof job.spec !== 'object' || !uid || !name) return;
  const template = job.spec.template && typeof job.spec.template === 'object' ? job.spec.template : (job.spec.template = {});
  const meta = template.metadata && typeof template.metadata === 'object' ? template.metadata : (template.metadata = {});
  // Labels the client set are kept (a mismatch is then the selector validation's to refuse).
  meta.labels = {
    'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name,
    ...(meta.labels && typeof meta.labels === 'object' ? meta.labels : {}),
  };
  const selector = job.spec.selector && typeof job.spec.selector === 'object' ? job.spec.selector : (job.spec.selector = {});
  selector.matchLabels = { 'batch.kubernetes.io/controller-uid': uid, ...(selector.matchLabels && typeof selector.matchLabels === 'object' ? selector.matchLabels : {}) };
}

/** The part of an object whose change bumps generation. */
export function specOf(obj: KubeObject): string {
  return JSON.stringify(obj.spec ?? null);
}

/**
 * A status write (PUT/PATCH …/status) may change status only; the rest comes from the stored
 * object, as Kubernetes' status strategies do. Labels and annotations may change too.
 */
export function mergeStatusUpdate(stored: KubeObject, incoming: KubeObject): KubeObject {
  return {
    ...stored,
    metadata: {
      ...stored.metadata,
      labels: incoming.metadata?.labels ?? stored.metadata.labels,
      annotations: incoming.metadata?.annotations ?? stored.metadata.annotations,
    },
    status: incoming.status,
  };
}

/** The grace period a delete uses, or 0 for "delete at once" (Kubernetes' CheckGracefulDelete). */
export function gracePeriodFor(info: ResourceInfo, obj: KubeObject, requested: number | undefined): number {
  if (info.resource !== 'pods') return 0;
  if (!obj.spec?.nodeName) return 0; // never scheduled: no kubelet will finish it
  const phase = obj.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return 0;
  const grace = requested ?? obj.spec?.terminationGracePeriodSeconds ?? 30;
  return Math.max(0, grace);
}
