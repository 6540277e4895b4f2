// Endpoints: for every Service with a selector, an Endpoints object of the same name listing the
// selected pods' IPs (as Kubernetes' endpoint controller): ready pods under `addresses`, the
// others under `notReadyAddresses`, grouped into subsets by the ports they serve (a named
// targetPort resolves per pod). Services without a selector keep the Endpoints their users write.
import type { KubeObject } from '../../api/types.ts';
import { now } from '../../api/types.ts';
import { selectorFromLabelSelector } from '../../api/selectors.ts';
import { keyOf } from '../../client/informer.ts';
import { newQueue, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';
import { isPodReady, isTerminated } from '../pods.ts';

type Obj = Record<string, any>;

export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
/** Set on Endpoints of headless services (ClusterIP None), as Kubernetes does. */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
/** Endpoints used as leader-election locks are never cleaned up (Kubernetes' checkLeftoverEndpoints). */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

const hasSelector = (svc: KubeObject): boolean => Object.keys(svc.spec?.selector ?? {}).length > 0;

/** The pod's port for a service port: a number as is; a name looked up in the pod's containers (protocol too). */
export function findPort(pod: KubeObject, sp: Obj): number | undefined {
  const tp = sp.targetPort ?? sp.port;
  if (typeof tp === 'number') return tp;
  if (/^\d+$/.test(String(tp))) return Number(tp);
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === tp && (p.protocol ?? 'TCP') === (sp.protocol ?? 'TCP')) return p.containerPort;
  }
  return undefined;
}

/** Should the pod appear at all (Kubernetes' ShouldPodBeInEndpoints)? */
function inEndpoints(pod: KubeObject, includeTerminating: boolean): boolean {
  if (isTerminated(pod) || !pod.status?.podIP) return false;
  return includeTerminating || !pod.metadata.deletionTimestamp;
}

function address(pod: KubeObject, svc: KubeObject): Obj {
  const a: Obj = { ip: pod.status.podIP };
  // A pod with hostname + subdomain equal to a headless service's name gets a DNS name.
  if (pod.spec?.hostname && pod.spec?.subdomain === svc.metadata.name) a.hostname = pod.spec.hostname;
  if (pod.spec?.nodeName) a.nodeName = pod.spec.nodeName;
  a.targetRef = { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid };
  return a;
}

const byIp = (a: Obj, b: Obj) => a.ip.localeCompare(b.ip, 'en', { numeric: true }) || String(a.targetRef?.uid).localeCompare(String(b.targetRef?.uid));
const byPort = (a: Obj, b: Obj) => String(a.name ?? '').localeCompare(String(b.name ?? '')) || a.port - b.port || a.protocol.localeCompare(b.protocol);

/** The subsets for `svc` over `pods`: one per distinct port set, sorted so equal inputs give equal output. */
export function computeSubsets(svc: KubeObject, pods: KubeObject[]): Obj[] {
  const publishNotReady = Boolean(svc.spec?.publishNotReadyAddresses);
  const servicePorts: Obj[] = svc.spec?.ports ?? [];
  const headless = svc.spec?.clusterIP === 'None';
  const groups = new Map<string, { ports: Obj[]; addresses: Obj[]; notReadyAddresses: Obj[] }>();
  for (const pod of pods) {
    if (!inEndpoints(pod, publishNotReady)) continue;
    const ports: Obj[] = [];
    for (const sp of servicePorts) {
      const port = findPort(pod, sp);
      if (port === undefined) continue; // this pod lacks the named port: not an endpoint of it
      const ep: Obj = { ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? 'TCP' };
      if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
      ports.push(ep);
    }
    // A port-less headless service still lists its pods (for DNS); otherwise no port, no endpoint.
    if (!ports.length && !(headless && !servicePorts.length)) continue;
    ports.sort(byPort);
    const k = JSON.stringify(ports);
    if (!groups.has(k)) groups.set(k, { ports, addresses: [], notReadyAddresses: [] });
    const g = groups.get(k)!;
    (publishNotReady || isPodReady(pod) ? g.addresses : g.notReadyAddresses).push(address(pod, svc));
  }
  const subsets = [...groups.values()].map((g) => {
    const s: Obj = {};
    if (g.addresses.length) s.addresses = g.addresses.sort(byIp);
    if (g.notReadyAddresses.length) s.notReadyAddresses = g.notReadyAddresses.sort(byIp);
    if (g.ports.length) s.ports = g.ports;
    return s;
  });
  const first = (s: Obj) => (s.addresses ?? s.notReadyAddresses)[0].ip as string;
  return subsets.sort((a, b) => first(a).localeCompare(first(b), 'en', { numeric: true }));
}

export function newEndpointsController(ctx: ControllerContext): Controller {
  const { client, logger } = ctx;
  const services = ctx.informers.get('services');
  const pods = ctx.informers.get('pods');
  const endpoints = ctx.informers.get('endpoints');
  const queue = newQueue();
  /** Services with a selector deleted since their Endpoints were last reconciled: those Endpoints are ours to delete. */
  const deletedWithSelector = new Set<string>();

  services.addHandlers({
    onAdd: (s) => queue.add(keyOf(s)),
    onUpdate: (_o, s) => queue.add(keyOf(s)),
    onDelete: (s) => { if (hasSelector(s)) deletedWithSelector.add(keyOf(s)); queue.add(keyOf(s)); },
  });
  // A pod change concerns every service in its namespace that selects it, before or after.
  const enqueueServicesOf = (p: KubeObject) => {
    for (const s of services.byIndex('byNamespace', p.metadata.namespace ?? '')) {
      if (hasSelector(s) && selectorFromLabelSelector({ matchLabels: s.spec.selector }).matches(p.metadata.labels)) queue.add(keyOf(s));
    }
  };
  pods.addHandlers({
    onAdd: enqueueServicesOf,
    onUpdate: (o, n) => { enqueueServicesOf(o); enqueueServicesOf(n); },
    onDelete: enqueueServicesOf,
  });
  // Someone deleting or editing our Endpoints gets them rewritten. Endpoints created without a Service are the
  // user's (a selector-less Service may come later, as in "Kubernetes in Action" chapter 5): not ours to delete.
  endpoints.addHandlers({
    onUpdate: (_o, e) => queue.add(keyOf(e)),
    onDelete: (e) => queue.add(keyOf(e)),
  });

  async function reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = services.get(name, namespace);
    const current = endpoints.get(name, namespace);
    if (!svc) {
      // A Service with a selector was deleted: its Endpoints (ours) go too — except leader-election locks.
      if (!deletedWithSelector.delete(key)) return;
      if (current && !current.metadata.annotations?.[LEADER_ANNOTATION]) {
        await client.delete(R.endpoints, namespace, name, { preconditions: { uid: current.metadata.uid } }).catch(ignoreNotFound);
      }
      return;
    }
    if (!hasSelector(svc)) return; // selectorless: the user's Endpoints, not ours
    const selector = selectorFromLabelSelector({ matchLabels: svc.spec.selector });
    const selected = pods.byIndex('byNamespace', namespace ?? '').filter((p) => selector.matches(p.metadata.labels));
    const subsets = computeSubsets(svc, selected);
    const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
    if (svc.spec?.clusterIP === 'None') labels[HEADLESS_LABEL] = '';
    if (current && JSON.stringify(current.subsets ?? []) === JSON.stringify(subsets) && sameMap(current.metadata.labels, labels)) return;

    const annotations: Record<string, string> = { ...(current?.metadata.annotations ?? {}), [LAST_CHANGE_TRIGGER_TIME]: now() };
    if (!current) {
      const ep: KubeObject = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace, labels, annotations }, subsets };
      await client.create(R.endpoints, namespace, ep);
      logger.debug({ key, subsets: subsets.length }, 'endpoints created');
      return;
    }
    const next = structuredClone(current);
    next.metadata.labels = labels;
    next.metadata.annotations = annotations;
    next.subsets = subsets;
    // resourceVersion carried over: a concurrent writer makes this a Conflict and we try again.
    await client.update(R.endpoints, namespace, next);
  }

  return { name: 'endpoint', queue, reconcile, workers: 4 };
}

function sameMap(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b).length && ka.every((k) => a![k] === b[k]);
}

function ignoreNotFound(err: { code?: string }): void {
  if (err?.code !== 'NotFound' && err?.code !== 'Conflict') throw err;
}
