// What an object costs a ResourceQuota, as Kubernetes' evaluators (pkg/quota/v1/evaluator/core): a pod its
// compute requests and limits (nothing once terminal, but always count/pods), a Service its node ports and load
// balancers, a claim its storage, and every object its count/<resource>[.<group>]. Also which pods a scoped
// quota covers, and the per-container requests a quota on cpu or memory requires.
import type { KubeObject } from '../types.ts';
import { add1, emptyAmounts, type Amounts } from './resources.ts';

type Obj = Record<string, any>;

/** The kinds whose plain names (`pods`, `services` …) a quota may use besides count/<resource>. */
const LEGACY_COUNTS: Record<string, string> = {
  pods: 'pods', services: 'services', configmaps: 'configmaps', secrets: 'secrets', replicationcontrollers: 'replicationcontrollers',
  resourcequotas: 'resourcequotas', persistentvolumeclaims: 'persistentvolumeclaims',
};

/** DefaultIgnoredResources: never charged nor counted (events have never been quota-ed; reviews are not stored). */
const IGNORED = new Set(['/events', 'events.k8s.io/events', '/bindings', '/componentstatuses', 'authentication.k8s.io/tokenreviews',
  'authentication.k8s.io/selfsubjectreviews', 'authorization.k8s.io/subjectaccessreviews', 'authorization.k8s.io/selfsubjectaccessreviews',
  'authorization.k8s.io/localsubjectaccessreviews', 'authorization.k8s.io/selfsubjectrulesreviews']);
export const ignoredByQuota = (group: string, resource: string): boolean => IGNORED.has(`${group}/${resource}`);

export const countName = (group: string, resource: string): string => (group ? `count/${resource}.${group}` : `count/${resource}`);

/** count/deployments.apps → { group: 'apps', resource: 'deployments' }. */
export function parseCountName(name: string): { group: string; resource: string } | undefined {
  if (!name.startsWith('count/')) return undefined;
  const rest = name.slice(6);
  const dot = rest.indexOf('.');
  return dot < 0 ? { group: '', resource: rest } : { group: rest.slice(dot + 1), resource: rest.slice(0, dot) };
}

/** Legacy name of a kind's count (`pods` for pods) or undefined. */
export function legacyCountResource(name: string): string | undefined {
  return Object.entries(LEGACY_COUNTS).find(([, n]) => n === name)?.[0];
}

const isTerminal = (pod: KubeObject) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

/** QuotaV1Pod: a pod is charged compute until it is terminal or past its deletion grace period. */
export function chargesCompute(pod: KubeObject, nowMs = Date.now()): boolean {
  if (isTerminal(pod)) return false;
  const del = pod.metadata.deletionTimestamp;
  if (del) {
    const grace = (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
    if (Date.parse(del) + grace < nowMs) return false;
  }
  return true;
}

/** A container's requests, with a limit standing in for a missing request (as API defaulting does). */
export function containerRequests(c: Obj): Record<string, unknown> {
  return { ...(c?.resources?.limits ?? {}), ...(c?.resources?.requests ?? {}) };
}

/** resourcehelper.PodRequests/PodLimits: the containers' sum, at least the largest init container, plus overhead. */
export function podTotals(pod: KubeObject, which: 'requests' | 'limits'): Amounts {
  const spec = pod.spec ?? {};
  const of = (c: Obj) => (which === 'requests' ? containerRequests(c) : c?.resources?.limits ?? {});
  const sum = emptyAmounts();
  for (const c of Array.isArray(spec.containers) ? spec.containers : []) for (const [k, v] of Object.entries(of(c))) add1(sum, k, v);
  for (const c of Array.isArray(spec.initContainers) ? spec.initContainers : []) {
    const one = emptyAmounts();
    for (const [k, v] of Object.entries(of(c))) add1(one, k, v);
    for (const [k, v] of Object.entries(one.values)) {
      if ((sum.values[k] ?? 0) < v) { sum.values[k] = v; if (one.binary.has(k)) sum.binary.add(k); }
    }
  }
  for (const [k, v] of Object.entries(spec.overhead ?? {})) add1(sum, k, v);
  return sum;
}

function copy(from: Amounts, name: string, to: Amounts, as: string): void {
  if (from.values[name] === undefined) return;
  to.values[as] = (to.values[as] ?? 0) + from.values[name]!;
  if (from.binary.has(name)) to.binary.add(as);
}

/** podComputeUsageHelper: pods=1 and the compute names of a pod's requests and limits. */
export function podComputeUsage(requests: Amounts, limits: Amounts): Amounts {
  const u = emptyAmounts();
  u.values.pods = 1;
  for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
    copy(requests, r, u, r);
    copy(requests, r, u, `requests.${r}`);
    copy(limits, r, u, `limits.${r}`);
  }
  for (const k of Object.keys(requests.values)) if (k.startsWith('hugepages-')) copy(requests, k, u, `requests.${k}`);
  return u;
}

/** What one object of a resource costs. */
export function usageOf(group: string, resource: string, obj: KubeObject, nowMs = Date.now()): Amounts {
  const u = emptyAmounts();
  u.values[countName(group, resource)] = 1;
  if (group !== '') return u;
  if (LEGACY_COUNTS[resource] && resource !== 'pods') u.values[LEGACY_COUNTS[resource]] = 1;
  if (resource === 'pods' && chargesCompute(obj, nowMs)) {
    const c = podComputeUsage(podTotals(obj, 'requests'), podTotals(obj, 'limits'));
    for (const [k, v] of Object.entries(c.values)) { u.values[k] = v; if (c.binary.has(k)) u.binary.add(k); }
  }
  if (resource === 'services') {
    const type = obj.spec?.type;
    if (type === 'NodePort' || type === 'LoadBalancer') u.values['services.nodeports'] = (obj.spec?.ports ?? []).length;
    if (type === 'LoadBalancer') u.values['services.loadbalancers'] = 1;
  }
  if (resource === 'persistentvolumeclaims') {
    const storage = obj.spec?.resources?.requests?.storage;
    const cls = obj.spec?.storageClassName;
    if (storage !== undefined) add1(u, 'requests.storage', storage);
    if (cls) {
      u.values[`${cls}.storageclass.storage.k8s.io/persistentvolumeclaims`] = 1;
      if (storage !== undefined) add1(u, `${cls}.storageclass.storage.k8s.io/requests.storage`, storage);
    }
  }
  return u;
}

const POD_RESOURCES = new Set(['pods', 'cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage',
  'limits.cpu', 'limits.memory', 'limits.ephemeral-storage']);

/** The evaluator's MatchingResources: which of a quota's names this kind of object can use. */
export function matchingResources(info: { group: string; resource: string }, names: string[]): string[] {
  const { group, resource } = info;
  return names.filter((n) => {
    if (n === countName(group, resource)) return true;
    if (group !== '') return false;
    if (legacyCountResource(n) === resource) return true;
    if (resource === 'pods') return POD_RESOURCES.has(n) || n.startsWith('requests.hugepages-');
    if (resource === 'services') return n === 'services.nodeports' || n === 'services.loadbalancers';
    if (resource === 'persistentvolumeclaims') return n === 'requests.storage' || n.includes('.storageclass.storage.k8s.io/');
    return false;
  });
}

export const SCOPES = ['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort'];

const isBestEffort = (pod: KubeObject) =>
  [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].every((c: Obj) =>
    !Object.keys(c?.resources?.requests ?? {}).length && !Object.keys(c?.resources?.limits ?? {}).length);

/** Whether a quota with these scopes covers the object (scopes cover pods only). */
export function matchesScopes(scopes: string[] | undefined, resource: string, obj: KubeObject): boolean {
  if (!scopes?.length) return true;
  if (resource !== 'pods') return false;
  const ads = obj.spec?.activeDeadlineSeconds;
  return scopes.every((s) => {
    switch (s) {
      case 'Terminating': return typeof ads === 'number' && ads >= 0;
      case 'NotTerminating': return ads === undefined || ads === null;
      case 'BestEffort': return isBestEffort(obj);
      case 'NotBestEffort': return !isBestEffort(obj);
      default: return false;
    }
  });
}

/** The compute names a quota on which forces every container to state them (the pod evaluator's validationSet). */
const VALIDATION_SET = ['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'];

/** The pod evaluator's Constraints: `must specify limits.cpu for: app; requests.memory for: app,side`, or undefined. */
export function podConstraints(required: string[], pod: KubeObject): string | undefined {
  const req = VALIDATION_SET.filter((r) => required.includes(r));
  if (!req.length) return undefined;
  const missing = new Map<string, Set<string>>();
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])] as Obj[]) {
    const requests = emptyAmounts();
    for (const [k, v] of Object.entries(containerRequests(c))) add1(requests, k, v);
    const limits = emptyAmounts();
    for (const [k, v] of Object.entries(c?.resources?.limits ?? {})) add1(limits, k, v);
    const has = podComputeUsage(requests, limits).values;
    for (const r of req) if (has[r] === undefined) (missing.get(r) ?? missing.set(r, new Set()).get(r)!).add(c?.name);
  }
  if (!missing.size) return undefined;
  return `must specify ${[...missing.keys()].sort().map((r) => `${r} for: ${[...missing.get(r)!].sort().join(',')}`).join('; ')}`;
}
