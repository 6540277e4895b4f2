// Pods (pkg/registry/core/pod): defaults, the status a new pod starts with, spec validation and what an update may
// change, graceful deletion finished by the kubelet, field selectors, kubectl's columns, and the binding, eviction
// and ephemeralcontainers subresources.
import { ApiError, conflict, fieldForbidden, fieldNotSupported, fieldRequired, invalid, notFound, type FieldError } from '../../api/errors.ts';
import { defaultPodSpec } from '../../api/defaults/index.ts';
import { now, type KubeObject } from '../../api/types.ts';
import { isObj, podSpecChange, validatePodSpec } from '../../api/validation/index.ts';
import { validateEphemeralContainersUpdate } from '../../api/validation/ephemeral-containers.ts';
import type { CreateSubresource, Kind } from './kind.ts';
import { eviction } from './eviction.ts';
import { age, orNone, podStatus } from './printing.ts';

type Obj = Record<string, any>;
const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

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

const CREATED = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } as unknown as KubeObject;
const isCode = (err: unknown, code: string) => err instanceof ApiError && err.code === code;

/** POST pods/<name>/binding: set spec.nodeName once, add PodScheduled=True. */
const binding: CreateSubresource = async (env, _ctx, ref, body, opts) => {
  const { info, ns, name } = env.itemRef(ref);
  const target = (body as any)?.target;
  if (!target?.name) throw invalid('Binding', name, [fieldRequired('target.name')]);
  if (target.kind && target.kind !== 'Node') throw invalid('Binding', name, [{ type: 'FieldValueNotSupported', field: 'target.kind', detail: `Unsupported value: "${target.kind}": supported values: "Node"` }]);
  const wantUid = body.metadata?.uid;
  const why = (msg: string) => conflict('pods/binding', name, undefined, msg);
  const apply = (pod: KubeObject) => {
    if (wantUid && pod.metadata.uid !== wantUid) throw why(`Precondition failed: UID in precondition: ${wantUid}, UID in object meta: ${pod.metadata.uid}`);
    if (pod.metadata.deletionTimestamp) throw why(`pod ${name} is being deleted, cannot be assigned to a host`);
    if (pod.spec?.nodeName) throw why(`pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
    if (pod.spec?.schedulingGates?.length) throw why(`pod ${name} has non-empty .spec.schedulingGates`);
    pod.spec = { ...(pod.spec ?? {}), nodeName: target.name };
    const conditions = (pod.status?.conditions ?? []).filter((c: any) => c.type !== 'PodScheduled');
    conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now() });
    pod.status = { ...(pod.status ?? {}), conditions };
    return pod;
  };
  try {
    if (opts.dryRun) apply(await env.load(info, ns, name));
    else await env.store.guaranteedUpdate(env.key(info, ns, name), apply);
  } catch (err) {
    if (isCode(err, 'NotFound')) throw notFound('pods', name);
    throw err;
  }
  return CREATED;
};

/** Gates may only be removed once the pod exists (Kubernetes' validateOnlyDeletedSchedulingGates). */
function validateOnlyDeletedSchedulingGates(spec: Obj, old: Obj): FieldError[] {
  const before = new Set((Array.isArray(old.schedulingGates) ? old.schedulingGates : []).map((g: Obj) => g?.name));
  const errs: FieldError[] = [];
  (Array.isArray(spec.schedulingGates) ? spec.schedulingGates : []).forEach((g: Obj, i: number) => {
    if (!before.has(g?.name)) errs.push(fieldForbidden(`spec.schedulingGates[${i}].name`, `only deletion is allowed, but found new scheduling gate '${g?.name}'`));
  });
  return errs;
}

export const pods: Kind = {
  defaults(o) {
    defaultPodSpec(o.spec);
    // A pod on the node's network listens on the node: each container port is its host port (Pods only, not templates).
    if (o.spec?.hostNetwork) {
      for (const c of [...(o.spec.initContainers ?? []), ...(o.spec.containers ?? [])]) for (const p of c?.ports ?? []) if (p && !p.hostPort) p.hostPort = p.containerPort;
    }
  },
  prepareForCreate(obj) {
    obj.status = { phase: 'Pending', qosClass: podQOSClass(obj) };
    // As Kubernetes' pod strategy: a gated pod says so from the start (the scheduler never looks at it).
    if (Array.isArray(obj.spec?.schedulingGates) && obj.spec.schedulingGates.length) {
      obj.status.conditions = [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates', lastProbeTime: null, lastTransitionTime: null }];
    }
  },
  validate(o) {
    const errs: FieldError[] = [];
    validatePodSpec('spec', o.spec, errs);
    return errs;
  },
  validateCreate(o) {
    // Ephemeral containers come only through the pods/ephemeralcontainers subresource, later.
    const ephemeral = o.spec?.ephemeralContainers;
    return Array.isArray(ephemeral) && ephemeral.length ? [fieldForbidden('spec.ephemeralContainers', 'cannot be set on create')] : [];
  },
  validateUpdate(o, old) {
    if (!isObj(o.spec) || !isObj(old.spec)) return [];
    const errs = validateOnlyDeletedSchedulingGates(o.spec, old.spec);
    if (podSpecChange(o.spec, old.spec)) {
      errs.unshift(fieldForbidden('spec', 'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)'));
    }
    return errs;
  },
  validateStatus(o) {
    const st = (o as Obj).status;
    const phases = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];
    return isObj(st) && st.phase !== undefined && !phases.includes(st.phase) ? [fieldNotSupported('status.phase', st.phase, phases)] : [];
  },
  gracePeriod(obj, requested) {
    if (!obj.spec?.nodeName) return 0; // never scheduled: no kubelet will finish it
    const phase = obj.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return 0;
    return Math.max(0, requested ?? obj.spec?.terminationGracePeriodSeconds ?? 30);
  },
  finishedByOwner: true,
  fields: (o) => ({
    'spec.nodeName': str(o.spec?.nodeName),
    'spec.restartPolicy': str(o.spec?.restartPolicy),
    'spec.schedulerName': str(o.spec?.schedulerName),
    'spec.serviceAccountName': str(o.spec?.serviceAccountName),
    'spec.hostNetwork': str(o.spec?.hostNetwork ?? false),
    'status.phase': str(o.status?.phase),
    'status.podIP': str(o.status?.podIP),
    'status.nominatedNodeName': str(o.status?.nominatedNodeName),
  }),
  printer: {
    columns: [{ name: 'Ready' }, { name: 'Status' }, { name: 'Restarts' }, { name: 'Age' },
      { name: 'IP', priority: 1 }, { name: 'Node', priority: 1 }, { name: 'Nominated Node', priority: 1 }, { name: 'Readiness Gates', priority: 1 }],
    cells(o) {
      const p = podStatus(o);
      const gates: Obj[] = o.spec?.readinessGates ?? [];
      const gateText = gates.length
        ? `${gates.filter((g) => (o.status?.conditions ?? []).some((c: Obj) => c.type === g.conditionType && c.status === 'True')).length}/${gates.length}`
        : '<none>';
      return [p.ready, p.status, p.restarts, age(o.metadata.creationTimestamp), orNone(o.status?.podIP), orNone(o.spec?.nodeName), orNone(o.status?.nominatedNodeName), gateText];
    },
  },
  create: { binding, eviction },
  update: {
    // As Kubernetes' ephemeral-containers strategy: the stored pod with only spec.ephemeralContainers taken, and
    // ephemeral containers only added, never changed or removed.
    ephemeralcontainers: {
      merge(stored, incoming) {
        const next = structuredClone(stored);
        next.spec = { ...(next.spec ?? {}), ephemeralContainers: incoming.spec?.ephemeralContainers };
        if (next.spec.ephemeralContainers === undefined) delete next.spec.ephemeralContainers;
        return next;
      },
      validate: (next, stored) => validateEphemeralContainersUpdate(next as Obj, stored as Obj),
    },
  },
};

