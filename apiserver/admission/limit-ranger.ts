// LimitRanger (plugin/pkg/admission/limitranger): the namespace's LimitRanges give a new pod's containers their
// default requests and limits (type Container: defaultRequest, default) and noted in the kubernetes.io/limit-ranger
// annotation; then, once the pod is defaulted, min, max and maxLimitRequestRatio are enforced per Container and per
// Pod, and min/max of requests.storage per PersistentVolumeClaim. Refusals are 403s worded as Kubernetes words them.
import { ApiError } from '../../api/errors.ts';
import { parseQuantity } from '../../api/quantity.ts';
import { podTotals, containerRequests } from '../../api/quota/evaluators.ts';
import { toList } from '../../api/quota/resources.ts';
import { findResource, storagePrefix } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import type { Store } from '../storage/store.ts';
import type { AdmissionPlugin } from './types.ts';

type Obj = Record<string, any>;
type List = Record<string, unknown>;
const LR = findResource('', 'limitranges')!;
const ANNOTATION = 'kubernetes.io/limit-ranger';

/** defaultContainerResourceRequirements: what every Container item of the namespace's LimitRanges defaults. */
function containerDefaults(ranges: KubeObject[]): { requests: List; limits: List } {
  const requests: List = {};
  const limits: List = {};
  for (const lr of ranges) for (const item of lr.spec?.limits ?? []) {
    if (item?.type !== 'Container') continue;
    Object.assign(requests, item.defaultRequest ?? {});
    Object.assign(limits, item.default ?? {});
  }
  return { requests, limits };
}

/** mergeContainerResources: fill what the container leaves out; the annotation's part for it, if anything was set. */
function mergeContainer(c: Obj, defaults: { requests: List; limits: List }, prefix: string): string[] {
  const res: Obj = c.resources = c.resources && typeof c.resources === 'object' ? c.resources : {};
  const limits: Obj = res.limits ??= {};
  const requests: Obj = res.requests ??= {};
  const setLimits = Object.keys(defaults.limits).filter((k) => limits[k] === undefined);
  // A limit the container sets is its request too (API defaulting, which kube-apiserver runs before admission).
  const setRequests = Object.keys(defaults.requests).filter((k) => requests[k] === undefined && limits[k] === undefined);
  for (const k of setLimits) limits[k] = defaults.limits[k];
  for (const k of setRequests) requests[k] = defaults.requests[k];
  if (!Object.keys(limits).length) delete res.limits;
  if (!Object.keys(requests).length) delete res.requests;
  const notes: string[] = [];
  if (setRequests.length) notes.push(`${setRequests.sort().join(', ')} request for ${prefix} ${c.name}`);
  if (setLimits.length) notes.push(`${setLimits.sort().join(', ')} limit for ${prefix} ${c.name}`);
  return notes;
}

const str = (q: unknown) => String(q);

function minConstraint(type: string, r: string, enforced: unknown, request: List, limit: List): string | undefined {
  const e = parseQuantity(enforced)!;
  if (request[r] === undefined) return `minimum ${r} usage per ${type} is ${str(enforced)}.  No request is specified`;
  if (parseQuantity(request[r])! < e) return `minimum ${r} usage per ${type} is ${str(enforced)}, but request is ${str(request[r])}`;
  if (limit[r] !== undefined && parseQuantity(limit[r])! < e) return `minimum ${r} usage per ${type} is ${str(enforced)}, but limit is ${str(limit[r])}`;
  return undefined;
}

function maxConstraint(type: string, r: string, enforced: unknown, request: List, limit: List): string | undefined {
  const e = parseQuantity(enforced)!;
  if (limit[r] === undefined) return `maximum ${r} usage per ${type} is ${str(enforced)}.  No limit is specified`;
  if (parseQuantity(limit[r])! > e) return `maximum ${r} usage per ${type} is ${str(enforced)}, but limit is ${str(limit[r])}`;
  if (request[r] !== undefined && parseQuantity(request[r])! > e) return `maximum ${r} usage per ${type} is ${str(enforced)}, but request is ${str(request[r])}`;
  return undefined;
}

function maxRequestConstraint(type: string, r: string, enforced: unknown, request: List): string | undefined {
  if (request[r] === undefined) return `maximum ${r} usage per ${type} is ${str(enforced)}.  No request is specified`;
  if (parseQuantity(request[r])! > parseQuantity(enforced)!) return `maximum ${r} usage per ${type} is ${str(enforced)}, but request is ${str(request[r])}`;
  return undefined;
}

function ratioConstraint(type: string, r: string, enforced: unknown, request: List, limit: List): string | undefined {
  const req = request[r] === undefined ? 0 : parseQuantity(request[r])!;
  const lim = limit[r] === undefined ? 0 : parseQuantity(limit[r])!;
  if (!req) return `${r} max limit to request ratio per ${type} is ${str(enforced)}, but no request is specified or request is 0`;
  if (!lim) return `${r} max limit to request ratio per ${type} is ${str(enforced)}, but no limit is specified or limit is 0`;
  const ratio = lim / req;
  // Go's %f: six decimals.
  if (ratio > parseQuantity(enforced)! + 1e-9) return `${r} max limit to request ratio per ${type} is ${str(enforced)}, but provided ratio is ${ratio.toFixed(6)}`;
  return undefined;
}

/** The checks of one item against one requests/limits pair (a container's, or the pod's totals). */
function checkItem(item: Obj, type: string, request: List, limit: List, errs: string[]): void {
  const push = (m: string | undefined) => { if (m && !errs.includes(m)) errs.push(m); };
  for (const [r, q] of Object.entries(item.min ?? {})) push(minConstraint(type, r, q, request, limit));
  for (const [r, q] of Object.entries(item.max ?? {})) push(maxConstraint(type, r, q, request, limit));
  for (const [r, q] of Object.entries(item.maxLimitRequestRatio ?? {})) push(ratioConstraint(type, r, q, request, limit));
}

function podErrors(pod: KubeObject, ranges: KubeObject[]): string[] {
  const errs: string[] = [];
  const containers: Obj[] = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  for (const lr of ranges) for (const item of lr.spec?.limits ?? []) {
    if (item?.type === 'Container') for (const c of containers) checkItem(item, 'Container', containerRequests(c), c?.resources?.limits ?? {}, errs);
    if (item?.type === 'Pod') checkItem(item, 'Pod', toList(podTotals(pod, 'requests')), toList(podTotals(pod, 'limits')), errs);
  }
  return errs;
}

function claimErrors(pvc: KubeObject, ranges: KubeObject[]): string[] {
  const errs: string[] = [];
  const requests: List = pvc.spec?.resources?.requests ?? {};
  for (const lr of ranges) for (const item of lr.spec?.limits ?? []) {
    if (item?.type !== 'PersistentVolumeClaim') continue;
    for (const [r, q] of Object.entries(item.min ?? {})) { const m = minConstraint('PersistentVolumeClaim', r, q, requests, {}); if (m) errs.push(m); }
    for (const [r, q] of Object.entries(item.max ?? {})) { const m = maxRequestConstraint('PersistentVolumeClaim', r, q, requests); if (m) errs.push(m); }
  }
  return errs;
}

/** admission.NewForbidden with an aggregate of messages (one: as it is; several: in brackets). */
export function forbidden(resource: string, obj: KubeObject, messages: string[]): ApiError {
  const name = obj.metadata?.name || obj.metadata?.generateName || 'Unknown';
  const why = messages.length === 1 ? messages[0] : `[${messages.join(', ')}]`;
  return new ApiError('Forbidden', `${resource} "${name}" is forbidden: ${why}`, { name, kind: resource });
}

export function limitRanger(store: Store): AdmissionPlugin {
  const rangesIn = async (ns: string) => (await store.list(storagePrefix('/registry', LR, ns))).items;
  // The ranges a create's mutating phase read, for its validating phase: one etcd read per pod, not two.
  const seen = new WeakMap<object, KubeObject[]>();
  const handles = (info: { group: string; resource: string }) => info.group === '' && (info.resource === 'pods' || info.resource === 'persistentvolumeclaims');
  return {
    name: 'LimitRanger',
    async admit({ operation, info, namespace, object }) {
      if (operation !== 'CREATE' || info.group !== '' || info.resource !== 'pods' || !namespace) return;
      if (!Array.isArray(object.spec?.containers)) return;
      const ranges = await rangesIn(namespace);
      seen.set(object, ranges);
      if (!ranges.length) return;
      const defaults = containerDefaults(ranges);
      const notes = [
        ...object.spec.containers.flatMap((c: Obj) => (c && typeof c === 'object' ? mergeContainer(c, defaults, 'container') : [])),
        ...(Array.isArray(object.spec.initContainers) ? object.spec.initContainers : []).flatMap((c: Obj) => (c && typeof c === 'object' ? mergeContainer(c, defaults, 'init container') : [])),
      ];
      if (notes.length) object.metadata.annotations = { ...(object.metadata.annotations ?? {}), [ANNOTATION]: `LimitRanger plugin set: ${notes.join('; ')}` };
    },
    async validate({ info, namespace, object }) {
      if (!handles(info) || !namespace) return;
      const ranges = seen.get(object) ?? await rangesIn(namespace);
      if (!ranges.length) return;
      const errs = info.resource === 'pods' ? podErrors(object, ranges) : claimErrors(object, ranges);
      if (errs.length) throw forbidden(info.resource, object, errs);
    },
  };
}
