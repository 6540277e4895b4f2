// Pod status from what the runtime reports: container states, phase (Kubernetes' getPhase),
// and the Initialized / ContainersReady / Ready / PodScheduled conditions.
import type { KubeObject } from '../api/types.ts';
import type { ContainerStatus } from './cri/types.ts';

type Obj = Record<string, any>;

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface ContainerView {
  name: string;
  image: string;
  /** The newest container for this spec container, if any. */
  latest?: ContainerStatus;
  /** The one before it (lastState). */
  previous?: ContainerStatus;
  restartCount: number;
  /** Why it is not running (ErrImagePull, CrashLoopBackOff, …). */
  waiting?: { reason: string; message?: string };
  /** From the readiness and startup probes (default: ready when running). */
  ready?: boolean;
  started?: boolean;
}

function stateOf(s: ContainerStatus | undefined, waiting?: { reason: string; message?: string }): Obj {
  if (waiting && (!s || s.state !== 'CONTAINER_RUNNING')) return { waiting: { reason: waiting.reason, ...(waiting.message ? { message: waiting.message } : {}) } };
  if (!s) return { waiting: { reason: 'ContainerCreating' } };
  if (s.state === 'CONTAINER_RUNNING') return { running: { startedAt: iso(s.startedAtMs) } };
  if (s.state === 'CONTAINER_EXITED') {
    return { terminated: { exitCode: s.exitCode, reason: s.reason || (s.exitCode === 0 ? 'Completed' : 'Error'), ...(s.message ? { message: s.message } : {}), startedAt: s.startedAtMs ? iso(s.startedAtMs) : null, finishedAt: iso(s.finishedAtMs), containerID: `docker://${s.id}` } };
  }
  return { waiting: { reason: 'ContainerCreating' } };
}

export function containerStatuses(views: ContainerView[]): Obj[] {
  return views.map((v) => {
    const running = v.latest?.state === 'CONTAINER_RUNNING';
    return {
      name: v.name,
      state: stateOf(v.latest, v.waiting),
      lastState: v.previous ? stateOf(v.previous) : {},
      ready: running && (v.ready ?? true),
      restartCount: v.restartCount,
      image: v.image,
      imageID: v.latest ? `docker-pullable://${v.latest.image}` : '',
      started: running && (v.started ?? true),
      ...(v.latest ? { containerID: `docker://${v.latest.id}` } : {}),
    };
  });
}

/** Kubernetes' getPhase for a pod without init containers: a container waiting to restart after
 *  it terminated counts as stopped, one that never ran as waiting. */
export function podPhase(pod: KubeObject, statuses: Obj[]): string {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  let running = 0, waiting = 0, stopped = 0, failed = 0;
  for (const s of statuses) {
    const term = s.state.terminated ?? (s.state.waiting ? s.lastState?.terminated : undefined);
    if (s.state.running) running++;
    else if (term) { stopped++; if (term.exitCode !== 0) failed++; }
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (policy === 'OnFailure') return failed > 0 ? 'Running' : 'Succeeded';
    return failed > 0 ? 'Failed' : 'Succeeded';
  }
  return 'Pending';
}

/** The conditions the kubelet owns; any other type in the pod's status (a readiness gate's, set by a controller) is kept. */
const KUBELET_CONDITIONS = new Set(['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']);

/** Kubernetes' messages for each spec.readinessGates condition that is missing or not True. */
export function readinessGateMessages(pod: KubeObject, conditions: Obj[]): string[] {
  return (pod.spec?.readinessGates ?? []).flatMap((g: Obj) => {
    const c = conditions.find((x) => x.type === g.conditionType);
    if (!c) return [`corresponding condition of pod readiness gate "${g.conditionType}" does not exist.`];
    return c.status === 'True' ? [] : [`the status of pod readiness gate "${g.conditionType}" is not "True", but ${c.status}`];
  });
}

/** `init.initialized`: every init container done (sidecars started); sidecars must be ready for the pod to be.
 *  Ready also needs every readiness gate's condition True (ContainersReady does not). */
export function podConditions(pod: KubeObject, statuses: Obj[], old: Obj[] = [], init: { initialized: boolean; sidecars: Obj[] } = { initialized: true, sidecars: [] }): Obj[] {
  const containersReady = init.initialized && statuses.length > 0 && statuses.every((s) => s.ready) && init.sidecars.every((s) => s.ready);
  const foreign = old.filter((c) => !KUBELET_CONDITIONS.has(c.type));
  const gates = containersReady ? readinessGateMessages(pod, foreign) : [];
  const t = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const cond = (type: string, status: boolean, reason?: string, message?: string) => {
    const prev = old.find((c) => c.type === type);
    const s = status ? 'True' : 'False';
    return { type, status: s, lastProbeTime: null, lastTransitionTime: prev && prev.status === s ? prev.lastTransitionTime : t,
      ...(reason && !status ? { reason } : {}), ...(message && !status ? { message } : {}) };
  };
  return [
    cond('PodReadyToStartContainers', true),
    cond('Initialized', init.initialized, 'ContainersNotInitialized'),
    gates.length ? cond('Ready', false, 'ReadinessGatesNotReady', gates.join(', ')) : cond('Ready', containersReady, 'ContainersNotReady'),
    cond('ContainersReady', containersReady, 'ContainersNotReady'),
    old.find((c) => c.type === 'PodScheduled') ?? cond('PodScheduled', true),
    ...foreign,
  ];
}
