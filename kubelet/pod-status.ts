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

/** `init.initialized`: every init container done (sidecars started); sidecars must be ready for the pod to be. */
export function podConditions(pod: KubeObject, statuses: Obj[], old: Obj[] = [], init: { initialized: boolean; sidecars: Obj[] } = { initialized: true, sidecars: [] }): Obj[] {
  const ready = init.initialized && statuses.length > 0 && statuses.every((s) => s.ready) && init.sidecars.every((s) => s.ready);
  const t = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const cond = (type: string, status: boolean, reason?: string) => {
    const prev = old.find((c) => c.type === type);
    const s = status ? 'True' : 'False';
    return { type, status: s, lastProbeTime: null, lastTransitionTime: prev && prev.status === s ? prev.lastTransitionTime : t, ...(reason && !status ? { reason } : {}) };
  };
  return [
    cond('PodReadyToStartContainers', true),
    cond('Initialized', init.initialized, 'ContainersNotInitialized'),
    cond('Ready', ready, 'ContainersNotReady'),
    cond('ContainersReady', ready, 'ContainersNotReady'),
    old.find((c) => c.type === 'PodScheduled') ?? cond('PodScheduled', true),
  ];
}
