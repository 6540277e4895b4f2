// syncPod: level-triggered, like the real kubelet's. From the pod spec and what the runtime
// reports (found by the pod-uid labels, so a restarted kubelet adopts what already runs), make
// it so: one ready sandbox, each container running or restarted per restartPolicy with
// CrashLoopBackOff, then compute the status. killPod stops and removes everything.
import { podDNSConfig, resolvConfMount, type ClusterDNS } from './dns-config.ts';
import fs from 'node:fs';
import path from 'node:path';
import type { KubeObject } from '../api/types.ts';
import type { ApiClient } from '../client/api-client.ts';
import type { Logger } from '../lib/logger.ts';
import { LABELS, type Container, type ContainerConfig, type ContainerStatus, type Image, type ImageService, type Mount, type PodSandboxConfig, type RuntimeService } from './cri/types.ts';
import { containerStatuses, podConditions, podPhase, type ContainerView } from './pod-status.ts';
import { toBytes, toMillicores } from '../api/quantity.ts';
import { resolveSubPath } from './subpath.ts';
import { runHook, stopWithPreStop } from './lifecycle.ts';
import { unhonouredFields } from './pod-spec-support.ts';
import { terminationLogMount, terminationMessage } from './termination-message.ts';
import { REFRESH_MS, VolumeError, emptyDirOverLimit, memoryVolumes, refreshVolumes, setUpVolumes, volumeReadOnly } from './volumes.ts';
import { containerEnv, expandCommandAndArgs } from './env.ts';
import { simulatedProbe } from './fake-network.ts';
import { isLocalRegistry } from './cri/docker/image-ref.ts';
export { isLocalRegistry };
import { runProbe, tickProbe, type ProbeKind, type ProbeState } from './probes.ts';
import { containerSecurityContext, forbiddenSysctl, runAsNonRootError, sandboxLinuxConfig } from './security-context.ts';
import { hostsFileMount, sandboxHostname } from './hosts-file.ts';

type Obj = Record<string, any>;

export interface SyncDeps {
  /** Pull from registries off this machine too (default: only local registries). */
  allowRemotePull?: boolean;
  rt: RuntimeService;
  images: ImageService;
  client: ApiClient;
  nodeName: string;
  nodeIP: string;
  /** The cluster DNS pods resolve with under dnsPolicy ClusterFirst (none: the runtime default). */
  clusterDNS?: ClusterDNS;
  /** The node's allocatable cpu and memory (resourceFieldRef of an unset limit). */
  allocatable?: { cpu?: string; memory?: string };
  /** Hollow node: pod addresses lead nowhere, so httpGet/tcpSocket/grpc probes are simulated (fake-network.ts). */
  simulateNetwork?: boolean;
  rootDir: string;
  logger: Logger;
  backoffInitialMs: number;
  backoffMaxMs: number;
  event(pod: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** What the kubelet remembers about a pod between syncs: back-off per container, last waiting reasons. */
export interface PodMemory {
  backoff: Map<string, { delayMs: number; until: number }>;
  waiting: Map<string, { reason: string; message?: string }>;
  /** Probe state per "<containerId>/<kind>". */
  probes: Map<string, ProbeState>;
  /** When the data volumes were last rewritten from their sources. */
  volumesRefreshedAt?: number;
  /** The NotHonoured warnings have been posted (once per pod). */
  reportedUnhonoured?: boolean;
}
export const newMemory = (): PodMemory => ({ backoff: new Map(), waiting: new Map(), probes: new Map() });

/** Run the container's probes that are due: a failed liveness (or startup) probe kills it so it restarts. */
async function probeContainer(pod: KubeObject, c: Obj, s: ContainerStatus, podIP: string, deps: SyncDeps, mem: PodMemory): Promise<{ ready: boolean; started: boolean }> {
  const state = (kind: ProbeKind): ProbeState => {
    const key = `${s.id}/${kind}`;
    let st = mem.probes.get(key);
    if (!st) mem.probes.set(key, st = { lastRunAt: 0, successes: 0, failures: 0 });
    return st;
  };
  const run = (probe: Obj, kind: ProbeKind) => async () => (deps.simulateNetwork && !probe.exec
    ? simulatedProbe(pod, c.name, kind)
    : runProbe(probe, c, podIP, s.id, deps.rt));
  // A probe's own terminationGracePeriodSeconds, when set, replaces the pod's for the kill it causes.
  const kill = async (why: string, message: string, probe: Obj) => {
    deps.event(pod, 'Warning', 'Unhealthy', `${why} probe failed: ${message}`);
    deps.event(pod, 'Normal', 'Killing', `Container ${c.name} failed ${why.toLowerCase()} probe, will be restarted`);
    for (const k of mem.probes.keys()) if (k.startsWith(`${s.id}/`)) mem.probes.delete(k);
    await stopWithPreStop(c, s.id, podIP, probe.terminationGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30, deps.rt,
      (m) => deps.event(pod, 'Warning', 'FailedPreStopHook', m), deps.simulateNetwork);
  };
  if (c.startupProbe) {
    const st = await tickProbe(state('startup'), c.startupProbe, s.startedAtMs, run(c.startupProbe, 'startup'));
    if (st.result === false) { await kill('Startup', st.message ?? '', c.startupProbe); return { ready: false, started: false }; }
    if (st.result !== true) return { ready: false, started: false };
  }
  if (c.livenessProbe) {
    const st = await tickProbe(state('liveness'), c.livenessProbe, s.startedAtMs, run(c.livenessProbe, 'liveness'));
    if (st.result === false) { await kill('Liveness', st.message ?? '', c.livenessProbe); return { ready: false, started: true }; }
  }
  if (!c.readinessProbe) return { ready: true, started: true };
  const st = await tickProbe(state('readiness'), c.readinessProbe, s.startedAtMs, run(c.readinessProbe, 'readiness'));
  if (st.result === false && st.failures === (c.readinessProbe.failureThreshold ?? 3)) deps.event(pod, 'Warning', 'Unhealthy', `Readiness probe failed: ${st.message}`);
  return { ready: st.result === true, started: true };
}

const podLabels = (pod: KubeObject) => ({
  [LABELS.podUid]: pod.metadata.uid!, [LABELS.podName]: pod.metadata.name!, [LABELS.podNamespace]: pod.metadata.namespace!,
});

function sandboxConfig(pod: KubeObject, attempt: number, deps: SyncDeps): PodSandboxConfig {
  // A hostPort without a hostIP is bound on the node's address: kubemu's nodes share one machine, each with its own IP.
  const ports = (pod.spec?.containers ?? []).flatMap((c: Obj) => (c.ports ?? []).filter((p: Obj) => p.hostPort)
    .map((p: Obj) => ({ protocol: p.protocol ?? 'TCP', containerPort: p.containerPort, hostPort: p.hostPort, hostIp: p.hostIP || deps.nodeIP })));
  return {
    metadata: { name: pod.metadata.name!, namespace: pod.metadata.namespace!, uid: pod.metadata.uid!, attempt },
    hostname: sandboxHostname(pod, deps.clusterDNS?.domain),
    portMappings: ports,
    labels: podLabels(pod),
    dnsConfig: podDNSConfig(pod, deps.clusterDNS),
    tmpfsVolumes: memoryVolumes(pod, deps).map(({ name: _, ...m }) => m),
    linux: sandboxLinuxConfig(pod),
  };
}

/**
 * The pod's kubemu.io/fake-* annotations, for the fake runtime (which reads its exit plan from them). On a hollow node
 * a container meant to finish — an init container (not a sidecar), or any container of a restartPolicy Never or
 * OnFailure pod (Jobs) — exits 0 after FAKE_RUN_MS unless the pod says otherwise, so init containers, Jobs and
 * CronJobs complete there as they do on Docker.
 */
export const FAKE_RUN_MS = 3000;
function fakeRuntimeAnnotations(pod: KubeObject, c: Obj, deps: SyncDeps): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(pod.metadata.annotations ?? {})) if (k.startsWith('kubemu.io/fake-')) out[k] = String(v);
  const init = (pod.spec?.initContainers ?? []).some((x: Obj) => x.name === c.name);
  const finishes = init ? c.restartPolicy !== 'Always' : pod.spec?.restartPolicy === 'Never' || pod.spec?.restartPolicy === 'OnFailure';
  if (deps.simulateNetwork && finishes && out['kubemu.io/fake-exit-after-ms'] === undefined) out['kubemu.io/fake-exit-after-ms'] = String(FAKE_RUN_MS);
  return out;
}


function resources(c: Obj): ContainerConfig['resources'] {
  const lim = c.resources?.limits ?? {};
  const req = c.resources?.requests ?? {};
  const out: NonNullable<ContainerConfig['resources']> = {};
  if (lim.memory) out.memoryLimitInBytes = toBytes(lim.memory);
  if (lim.cpu) { out.cpuPeriod = 100_000; out.cpuQuota = Math.max(1000, Math.ceil(toMillicores(lim.cpu) * 100)); }
  if (req.cpu) out.cpuShares = Math.max(2, Math.floor((toMillicores(req.cpu) * 1024) / 1000));
  return out;
}

async function startContainer(pod: KubeObject, c: Obj, attempt: number, sandboxId: string, podIP: string, deps: SyncDeps, mem: PodMemory, extra: Partial<ContainerConfig> = {}): Promise<void> {
  const name = c.name as string;
  const policy = c.imagePullPolicy ?? 'IfNotPresent';
  try {
    const present = await deps.images.imageStatus(c.image);
    // Always: pulled at every start, from where kubemu may pull (an image of a registry off this machine that is
    // already here is used as it is — kubemu never contacts one unless --allow-remote-pull).
    const pullAnyway = present && policy === 'Always' && (deps.allowRemotePull || isLocalRegistry(c.image));
    if (present && !pullAnyway) deps.event(pod, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`);
    if (pullAnyway) {
      deps.event(pod, 'Normal', 'Pulling', `Pulling image "${c.image}"`);
      await deps.images.pullImage(c.image);
      deps.event(pod, 'Normal', 'Pulled', `Successfully pulled image "${c.image}"`);
    } else if (!present) {
      if (policy === 'Never') throw Object.assign(new Error(`Container image "${c.image}" is not present with pull policy of Never`), { reason: 'ErrImageNeverPull' });
      if (!deps.allowRemotePull && !isLocalRegistry(c.image)) {
        // Offline by default: a pull from a registry off this machine is never attempted.
        throw Object.assign(new Error(`image "${c.image}" is not present on the node and kubemu only pulls from registries on this machine (start the kubelet with --allow-remote-pull to change that)`), { reason: mem.waiting.get(name)?.reason === 'ErrImagePull' || mem.waiting.get(name)?.reason === 'ImagePullBackOff' ? 'ImagePullBackOff' : 'ErrImagePull' });
      }
      deps.event(pod, 'Normal', 'Pulling', `Pulling image "${c.image}"`);
      await deps.images.pullImage(c.image);
      deps.event(pod, 'Normal', 'Pulled', `Successfully pulled image "${c.image}"`);
    }
  } catch (err) {
    const reason = (err as { reason?: string }).reason ?? (mem.waiting.get(name)?.reason === 'ErrImagePull' ? 'ImagePullBackOff' : 'ErrImagePull');
    mem.waiting.set(name, { reason, message: (err as Error).message });
    deps.event(pod, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${(err as Error).message}`);
    throw err;
  }
  let volumes: Map<string, string>;
  try {
    volumes = await setUpVolumes(pod, deps);
  } catch (err) {
    // As the kubelet: the pod stays ContainerCreating, with a FailedMount warning naming what is missing.
    mem.waiting.set(name, { reason: 'ContainerCreating' });
    deps.event(pod, 'Warning', 'FailedMount', (err as Error).message);
    throw err;
  }
  let env;
  let mounts: Mount[];
  let image: Image | null = null;
  try {
    env = await containerEnv(pod, c, podIP, deps);
    const envMap = new Map(env.map((e) => [e.key, e.value]));
    const memory = new Map(memoryVolumes(pod, deps).map((v) => [v.name, v.tmpfsSizeBytes]));
    mounts = (c.volumeMounts ?? []).filter((m: Obj) => volumes.has(m.name)).map((m: Obj) => {
      if (!memory.has(m.name)) return { containerPath: m.mountPath, hostPath: resolveSubPath(volumes.get(m.name)!, m, envMap), readonly: Boolean(m.readOnly) || volumeReadOnly(pod, m.name) };
      if (m.subPath || m.subPathExpr) throw new Error(`subPath of the memory-backed emptyDir "${m.name}" is not supported by kubemu (its tmpfs is not a host directory)`);
      return { containerPath: m.mountPath, hostPath: volumes.get(m.name)!, readonly: Boolean(m.readOnly), tmpfsSizeBytes: memory.get(m.name) };
    });
    mounts.push(terminationLogMount(deps.rootDir, pod, c, attempt));
    const hosts = hostsFileMount(deps.rootDir, pod, c, podIP ? [podIP] : [], deps.clusterDNS?.domain);
    if (hosts) mounts.push(hosts);
    const resolv = resolvConfMount(deps.rootDir, pod, c, podDNSConfig(pod, deps.clusterDNS));
    if (resolv) mounts.push(resolv);
    image = await deps.images.imageStatus(c.image);
    const nonRoot = runAsNonRootError(pod, c, image);
    if (nonRoot) throw new Error(nonRoot);
  } catch (err) {
    mem.waiting.set(name, { reason: 'CreateContainerConfigError', message: (err as Error).message });
    deps.event(pod, 'Warning', 'Failed', `Error: ${(err as Error).message}`);
    throw err;
  }
  const config: ContainerConfig = {
    metadata: { name, attempt }, image: c.image, ...expandCommandAndArgs(c, env), workingDir: c.workingDir, envs: env, mounts,
    labels: { ...podLabels(pod), [LABELS.containerName]: name, [LABELS.restartCount]: String(attempt) },
    annotations: fakeRuntimeAnnotations(pod, c, deps),
    resources: resources(c),
    linux: { securityContext: containerSecurityContext(pod, c, image, deps.rootDir) },
    stdin: Boolean(c.stdin), stdinOnce: Boolean(c.stdinOnce), tty: Boolean(c.tty),
    ...extra,
  };
  let id: string | undefined;
  try {
    id = await deps.rt.createContainer(sandboxId, config, sandboxConfig(pod, 0, deps));
    await deps.rt.startContainer(id);
  } catch (err) {
    if (id) await deps.rt.removeContainer(id).catch(() => {});
    mem.waiting.set(name, { reason: id ? 'RunContainerError' : 'CreateContainerError', message: (err as Error).message });
    deps.event(pod, 'Warning', 'Failed', `Error: ${(err as Error).message}`);
    throw err;
  }
  mem.waiting.delete(name);
  deps.logger.info({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, container: name, id: id.slice(0, 12), attempt }, 'container started');
  deps.event(pod, 'Normal', 'Created', `Created container ${name}`);
  deps.event(pod, 'Normal', 'Started', `Started container ${name}`);
  // postStart runs right after the start; if it fails the container is killed (then restarted per restartPolicy).
  const failed = await runHook(c.lifecycle?.postStart, c, id, podIP, deps.rt, pod.spec?.terminationGracePeriodSeconds ?? 30, deps.simulateNetwork);
  if (failed) {
    deps.event(pod, 'Warning', 'FailedPostStartHook', failed);
    deps.event(pod, 'Normal', 'Killing', `FailedPostStartHook`);
    await stopWithPreStop(c, id, podIP, pod.spec?.terminationGracePeriodSeconds ?? 30, deps.rt,
      (m) => deps.event(pod, 'Warning', 'FailedPreStopHook', m), deps.simulateNetwork).catch(() => {});
  }
}

function shouldRestart(policy: string, s: ContainerStatus): boolean {
  if (s.state !== 'CONTAINER_EXITED') return false;
  return policy === 'Always' || (policy === 'OnFailure' && s.exitCode !== 0);
}

/** Make the pod so, then return its status as the kubelet reports it. */
export async function syncPod(pod: KubeObject, mem: PodMemory, deps: SyncDeps): Promise<Obj> {
  const uid = pod.metadata.uid!;
  if (!mem.reportedUnhonoured) {
    // Nothing silently ignored: each field set that kubemu does not honour is a Warning on the pod.
    mem.reportedUnhonoured = true;
    for (const why of unhonouredFields(pod)) deps.event(pod, 'Warning', 'NotHonoured', `kubemu does not honour ${why} (see docs/pod-spec.md)`);
  }
  const deadline = pod.spec?.activeDeadlineSeconds;
  const startedAt = pod.status?.startTime ? Date.parse(pod.status.startTime) : NaN;
  if (typeof deadline === 'number' && Date.now() - startedAt >= deadline * 1000) return deadlineExceeded(pod, deps);
  const sandboxes = await deps.rt.listPodSandbox({ labelSelector: { [LABELS.podUid]: uid } });
  // The kubelet's admission of a new pod: an unsafe sysctl (or one the host's namespace would get) rejects it.
  const forbidden = sandboxes.length ? undefined : forbiddenSysctl(pod);
  if (forbidden) {
    deps.event(pod, 'Warning', 'SysctlForbidden', forbidden);
    return { ...(pod.status ?? {}), phase: 'Failed', reason: 'SysctlForbidden', message: `Pod was rejected: ${forbidden}`, conditions: pod.status?.conditions ?? [] };
  }
  const sandbox = sandboxes.find((s) => s.state === 'SANDBOX_READY');
  for (const s of sandboxes) {
    if (s === sandbox) continue;
    // A dead sandbox (its network namespace is gone): its containers go with it.
    for (const c of await deps.rt.listContainers({ podSandboxId: s.id })) await deps.rt.removeContainer(c.id).catch(() => {});
    await deps.rt.removePodSandbox(s.id).catch(() => {});
  }
  let sandboxId = sandbox?.id;
  if (!sandboxId) {
    const attempt = sandboxes.length ? Math.max(...sandboxes.map((s) => s.metadata.attempt)) + 1 : 0;
    try {
      sandboxId = await deps.rt.runPodSandbox(sandboxConfig(pod, attempt, deps));
    } catch (err) {
      deps.event(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(err as Error).message}`);
      throw err;
    }
    deps.logger.info({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, sandbox: sandboxId.slice(0, 12), attempt }, 'pod sandbox started');
    if (attempt > 0) deps.event(pod, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
  }
  // On the node's network the pod's IP is the node's, as in Kubernetes.
  const podIP = pod.spec?.hostNetwork ? deps.nodeIP : (await deps.rt.podSandboxStatus(sandboxId)).ip;
  const all = await deps.rt.listContainers({ labelSelector: { [LABELS.podUid]: uid } });
  // configMap/secret/downwardAPI volumes follow their sources (an atomic swap; subPath mounts keep what they had).
  if (all.length && Date.now() - (mem.volumesRefreshedAt ?? 0) >= REFRESH_MS) {
    mem.volumesRefreshedAt = Date.now();
    await refreshVolumes(pod, deps).catch((err) => deps.logger.warn({ err: String(err) }, 'volume refresh failed'));
    const over = emptyDirOverLimit(pod, deps);
    if (over) {
      // As the eviction manager: the pod is stopped and fails, with a DisruptionTarget condition saying why.
      deps.event(pod, 'Warning', 'Evicted', over);
      return endPod(pod, deps, 'Evicted', over, [{ type: 'DisruptionTarget', status: 'True', lastProbeTime: null,
        lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), reason: 'TerminationByKubelet', message: over }]);
    }
  }
  const policy = pod.spec?.restartPolicy ?? 'Always';
  const sid = sandboxId;
  const newest = (name: string) => all.filter((x) => x.labels[LABELS.containerName] === name && x.podSandboxId === sid)
    .sort((a, b) => Number(b.labels[LABELS.restartCount] ?? 0) - Number(a.labels[LABELS.restartCount] ?? 0))[0];
  const apps: Obj[] = pod.spec?.containers ?? [];
  const inits: Obj[] = pod.spec?.initContainers ?? [];
  // A pod meant to finish (Never/OnFailure) whose app containers have all ended for good: its sidecars stop too.
  let finished = false;
  if (policy !== 'Always' && apps.length) {
    const ends = await Promise.all(apps.map(async (c) => { const x = newest(c.name); return x ? deps.rt.containerStatus(x.id) : undefined; }));
    finished = ends.every((st) => st?.state === 'CONTAINER_EXITED' && !shouldRestart(policy, st));
  }

  // Init containers, in order: each to success before the next (sidecars — restartPolicy Always — started, and past
  // their startup probe, before the next, then kept running); app containers only once all of them are through.
  const initViews: ContainerView[] = [];
  let initialized = true;
  let initFailed = false;
  for (const c of inits) {
    const sidecar = c.restartPolicy === 'Always';
    if (!initialized) {
      initViews.push({ ...(await inspect(pod, c, all, sid, deps)), waiting: { reason: 'PodInitializing' } });
      continue;
    }
    if (sidecar) {
      if (finished) {
        const view = await inspect(pod, c, all, sid, deps);
        if (view.latest?.state === 'CONTAINER_RUNNING') {
          await stopWithPreStop(c, view.latest.id, podIP, pod.spec?.terminationGracePeriodSeconds ?? 30, deps.rt,
            (m) => deps.event(pod, 'Warning', 'FailedPreStopHook', m), deps.simulateNetwork).catch(() => {});
          // This status may be the pod's last (a finished pod is not synced again): report the sidecar stopped.
          initViews.push(await inspect(pod, c, all, sid, deps));
        } else initViews.push(view);
        continue;
      }
      const view = await reconcileContainer(pod, c, 'Always', all, sid, podIP, deps, mem);
      initViews.push(view);
      if (view.latest?.state !== 'CONTAINER_RUNNING' || view.started === false) initialized = false;
      continue;
    }
    const view = await reconcileContainer(pod, c, policy === 'Never' ? 'Never' : 'OnFailure', all, sid, podIP, deps, mem);
    initViews.push(view);
    const st = view.latest;
    if (st?.state === 'CONTAINER_EXITED' && st.exitCode === 0) continue;
    initialized = false;
    if (st?.state === 'CONTAINER_EXITED' && policy === 'Never') initFailed = true;
  }

  const views: ContainerView[] = [];
  for (const c of apps) {
    if (!initialized) { views.push({ ...(await inspect(pod, c, all, sid, deps)), waiting: { reason: 'PodInitializing' } }); continue; }
    views.push(await reconcileContainer(pod, c, policy, all, sid, podIP, deps, mem));
  }
  // Ephemeral containers (kubectl debug): started once, even before the pod is initialized, never restarted; one with a
  // targetContainerName joins that container's PID namespace, so it sees its processes.
  const ephemerals: Obj[] = pod.spec?.ephemeralContainers ?? [];
  const ephemeralViews: ContainerView[] = [];
  for (const c of ephemerals) {
    ephemeralViews.push(await reconcileContainer(pod, c, 'Never', all, sid, podIP, deps, mem, () => ephemeralTarget(c, all, sid, deps)));
  }
  // Containers no longer in the spec.
  const names = new Set([...apps, ...inits, ...ephemerals].map((c: Obj) => c.name));
  for (const x of all) if (!names.has(x.labels[LABELS.containerName])) await deps.rt.removeContainer(x.id).catch(() => {});

  const statuses = containerStatuses(views);
  const initStatuses = containerStatuses(initViews);
  return {
    ...(pod.status ?? {}),
    phase: initFailed ? 'Failed' : !initialized ? 'Pending' : finalPhase(podPhase(pod, statuses), finished, inits),
    conditions: podConditions(pod, statuses, pod.status?.conditions ?? [], { initialized, sidecars: initStatuses.filter((_, i) => inits[i]?.restartPolicy === 'Always') }),
    hostIP: deps.nodeIP, hostIPs: [{ ip: deps.nodeIP }],
    podIP, podIPs: podIP ? [{ ip: podIP }] : [],
    startTime: pod.status?.startTime ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(inits.length ? { initContainerStatuses: initStatuses } : {}),
    containerStatuses: statuses,
    // Ephemeral containers are never ready, and have no started flag (they have no probes).
    ...(ephemerals.length ? { ephemeralContainerStatuses: containerStatuses(ephemeralViews).map(({ started: _, ...st }) => ({ ...st, ready: false })) } : {}),
  };
}

/**
 * The status of a pod whose sync failed before it had any (the sandbox could not be made, the runtime did not
 * answer): Pending, every container waiting (ContainerCreating, or the reason it is known to wait for), no
 * sandbox yet — as `kubectl get pod` shows a pod the kubelet is still trying to start. Events say why.
 */
export function pendingStatus(pod: KubeObject, mem: PodMemory, nodeIP: string): Obj {
  const view = (c: Obj): ContainerView => ({ name: c.name, image: c.image, restartCount: 0, waiting: mem.waiting.get(c.name) ?? { reason: 'ContainerCreating' } });
  const inits: Obj[] = pod.spec?.initContainers ?? [];
  const statuses = containerStatuses((pod.spec?.containers ?? []).map(view));
  const conditions = podConditions(pod, statuses, pod.status?.conditions ?? [], { initialized: !inits.length, sidecars: [] })
    .map((c) => (c.type === 'PodReadyToStartContainers' ? { ...c, status: 'False' } : c));
  return {
    ...(pod.status ?? {}),
    phase: 'Pending', conditions, hostIP: nodeIP, hostIPs: [{ ip: nodeIP }],
    startTime: pod.status?.startTime ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(inits.length ? { initContainerStatuses: containerStatuses(inits.map(view)) } : {}),
    containerStatuses: statuses,
  };
}

/** The PID namespace an ephemeral container joins: its target's running container (none: the target is not running yet). */
async function ephemeralTarget(c: Obj, all: Container[], sandboxId: string, deps: SyncDeps): Promise<Partial<ContainerConfig>> {
  if (!c.targetContainerName) return {};
  const target = all.filter((x) => x.labels[LABELS.containerName] === c.targetContainerName && x.podSandboxId === sandboxId)
    .sort((a, b) => Number(b.labels[LABELS.restartCount] ?? 0) - Number(a.labels[LABELS.restartCount] ?? 0))[0];
  const st = target && await deps.rt.containerStatus(target.id);
  if (st?.state !== 'CONTAINER_RUNNING') throw new Error(`target container "${c.targetContainerName}" is not running`);
  return { pidNamespaceOf: target.id };
}

/**
 * A finished phase is reported only once the sidecars have been stopped (by a sync that saw the app containers
 * end at its start): a terminal pod is not synced again, so reporting it earlier would leave its sidecars running.
 */
function finalPhase(phase: string, sidecarsStopped: boolean, inits: Obj[]): string {
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  return terminal && !sidecarsStopped && inits.some((c) => c.restartPolicy === 'Always') ? 'Running' : phase;
}

/** The runtime's status of one container, with its termination message once it has exited. */
async function statusOf(pod: KubeObject, c: Obj, id: string, deps: SyncDeps): Promise<ContainerStatus> {
  const st = await deps.rt.containerStatus(id);
  const message = await terminationMessage(deps.rootDir, pod, c, st, deps.rt);
  return message ? { ...st, message } : st;
}

/** What the runtime has for one spec container in this sandbox: its newest container, the one before, restarts. */
async function inspect(pod: KubeObject, c: Obj, all: Container[], sandboxId: string, deps: SyncDeps): Promise<ContainerView> {
  const mine = all.filter((x) => x.labels[LABELS.containerName] === c.name && x.podSandboxId === sandboxId)
    .sort((a, b) => Number(b.labels[LABELS.restartCount] ?? 0) - Number(a.labels[LABELS.restartCount] ?? 0));
  const latest = mine[0] ? await statusOf(pod, c, mine[0].id, deps) : undefined;
  const previous = mine[1] ? await statusOf(pod, c, mine[1].id, deps) : undefined;
  const attempts = Math.max(0, ...all.filter((x) => x.labels[LABELS.containerName] === c.name).map((x) => Number(x.labels[LABELS.restartCount] ?? 0) + 1));
  return { name: c.name, image: c.image, latest, previous, restartCount: Math.max(0, attempts - 1) };
}

/** Start, restart (with back-off) or probe one container under `policy`; returns its view for the status. */
async function reconcileContainer(pod: KubeObject, c: Obj, policy: string, all: Container[], sandboxId: string, podIP: string, deps: SyncDeps, mem: PodMemory, extra?: () => Promise<Partial<ContainerConfig>>): Promise<ContainerView> {
  const uid = pod.metadata.uid!;
  const mine = all.filter((x) => x.labels[LABELS.containerName] === c.name && x.podSandboxId === sandboxId)
    .sort((a, b) => Number(b.labels[LABELS.restartCount] ?? 0) - Number(a.labels[LABELS.restartCount] ?? 0));
  // Containers of this pod in an older sandbox count towards restarts but are not reused.
  const older = all.filter((x) => x.labels[LABELS.containerName] === c.name && x.podSandboxId !== sandboxId);
  const view = await inspect(pod, c, all, sandboxId, deps);
  let latest = view.latest;
  const attempts = Math.max(0, ...all.filter((x) => x.labels[LABELS.containerName] === c.name).map((x) => Number(x.labels[LABELS.restartCount] ?? 0) + 1));
  const now = Date.now();
  const needsStart = !latest || latest.state === 'CONTAINER_CREATED' || shouldRestart(policy, latest);
  if (needsStart) {
    const bo = mem.backoff.get(c.name);
    if (latest && bo && now < bo.until) {
      mem.waiting.set(c.name, { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(bo.delayMs / 1000)}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${uid})` });
    } else if (!latest && bo && now < bo.until) {
      // an image or config error: keep its reason until the back-off passes
    } else {
      try {
        for (const old of [...mine.slice(1), ...older]) await deps.rt.removeContainer(old.id).catch(() => {}); // keep one for lastState
        if (latest && latest.state === 'CONTAINER_CREATED') await deps.rt.removeContainer(latest.id).catch(() => {});
        await startContainer(pod, c, latest ? attempts : Math.max(0, attempts), sandboxId, podIP, deps, mem, await extra?.());
        if (latest) {
          const delayMs = Math.min(deps.backoffMaxMs, bo ? bo.delayMs * 2 : deps.backoffInitialMs);
          mem.backoff.set(c.name, { delayMs, until: Date.now() + delayMs });
          view.previous = latest;
          view.restartCount = attempts;
        }
        const fresh = (await deps.rt.listContainers({ labelSelector: { [LABELS.podUid]: uid, [LABELS.containerName]: c.name }, podSandboxId: sandboxId }))
          .sort((a, b) => Number(b.labels[LABELS.restartCount] ?? 0) - Number(a.labels[LABELS.restartCount] ?? 0))[0];
        latest = fresh ? await statusOf(pod, c, fresh.id, deps) : latest;
        view.latest = latest;
      } catch (err) {
        deps.logger.warn({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, container: c.name, err: String((err as Error).message ?? err) }, 'container start failed');
        // A volume not ready yet (a claim the PV controller is still binding) is retried soon, as the kubelet's
        // volume manager keeps trying: from half a second, doubling up to the initial back-off.
        const first = err instanceof VolumeError ? Math.min(500, deps.backoffInitialMs) : deps.backoffInitialMs;
        const cap = err instanceof VolumeError ? deps.backoffInitialMs : deps.backoffMaxMs;
        const delayMs = Math.min(cap, bo ? bo.delayMs * 2 : first);
        mem.backoff.set(c.name, { delayMs, until: Date.now() + delayMs });
      }
    }
  } else if (latest?.state === 'CONTAINER_RUNNING') {
    mem.waiting.delete(c.name);
    // Running long enough resets the back-off, as the kubelet does after 10 minutes (here: 2× the cap).
    const bo = mem.backoff.get(c.name);
    if (bo && now - latest.startedAtMs > 2 * deps.backoffMaxMs) mem.backoff.delete(c.name);
    const probed = await probeContainer(pod, c, latest, podIP, deps, mem);
    view.ready = probed.ready;
    view.started = probed.started;
  }
  view.waiting = view.latest?.state === 'CONTAINER_RUNNING' ? undefined : mem.waiting.get(c.name);
  return view;
}

/**
 * spec.activeDeadlineSeconds passed since status.startTime: as the kubelet's active deadline handler, every container
 * is stopped (preStop first, within the grace period) and the pod ends Failed with reason DeadlineExceeded. The
 * containers stay (stopped) for `kubectl logs` until the pod is deleted.
 */
async function deadlineExceeded(pod: KubeObject, deps: SyncDeps): Promise<Obj> {
  const message = 'Pod was active on the node longer than the specified deadline';
  deps.event(pod, 'Normal', 'DeadlineExceeded', message);
  return endPod(pod, deps, 'DeadlineExceeded', message);
}

/** Stop the pod's containers and report it Failed with `reason` (the kubelet does not sync a Failed pod again). */
async function endPod(pod: KubeObject, deps: SyncDeps, reason: string, message: string, extraConditions: Obj[] = []): Promise<Obj> {
  await stopContainers(pod.metadata.uid!, pod.spec?.terminationGracePeriodSeconds ?? 30, deps, pod);
  const all = await deps.rt.listContainers({ labelSelector: { [LABELS.podUid]: pod.metadata.uid! } });
  const sandboxId = (await deps.rt.listPodSandbox({ labelSelector: { [LABELS.podUid]: pod.metadata.uid! } }))[0]?.id ?? '';
  const views = async (list: Obj[]) => Promise.all(list.map((c) => inspect(pod, c, all, sandboxId, deps)));
  const inits = pod.spec?.initContainers ?? [];
  const statuses = containerStatuses(await views(pod.spec?.containers ?? []));
  const initStatuses = containerStatuses(await views(inits));
  return {
    ...(pod.status ?? {}), phase: 'Failed', reason, message,
    conditions: [...podConditions(pod, statuses, pod.status?.conditions ?? [], { initialized: pod.status?.conditions?.find((c: Obj) => c.type === 'Initialized')?.status === 'True', sidecars: [] }), ...extraConditions],
    ...(inits.length ? { initContainerStatuses: initStatuses } : {}),
    containerStatuses: statuses,
  };
}

/** Stop every running container of the pod: its preStop hook first when the pod is at hand, then SIGTERM, SIGKILL after the grace period. */
async function stopContainers(uid: string, graceSeconds: number, deps: SyncDeps, pod?: KubeObject): Promise<Container[]> {
  const containers = await deps.rt.listContainers({ labelSelector: { [LABELS.podUid]: uid } });
  const specs: Obj[] = [...(pod?.spec?.containers ?? []), ...(pod?.spec?.initContainers ?? [])];
  const sandbox = (await deps.rt.listPodSandbox({ labelSelector: { [LABELS.podUid]: uid }, state: 'SANDBOX_READY' }))[0];
  const podIP = pod?.spec?.hostNetwork ? deps.nodeIP : sandbox ? (await deps.rt.podSandboxStatus(sandbox.id).catch(() => undefined))?.ip ?? '' : '';
  await Promise.all(containers.map((c) => {
    if (c.state !== 'CONTAINER_RUNNING') return undefined;
    const spec = specs.find((x) => x.name === c.labels[LABELS.containerName]);
    if (!pod || !spec?.lifecycle?.preStop) return deps.rt.stopContainer(c.id, graceSeconds).catch(() => {});
    return stopWithPreStop(spec, c.id, podIP, graceSeconds, deps.rt, (m) => deps.event(pod, 'Warning', 'FailedPreStopHook', m), deps.simulateNetwork).catch(() => {});
  }));
  return containers;
}

/** Stop every container (SIGTERM, then SIGKILL after the grace period) and remove the sandbox. */
export async function killPod(uid: string, graceSeconds: number, deps: SyncDeps, pod?: KubeObject): Promise<void> {
  // With the pod at hand (a graceful delete), each running container's preStop hook runs before its SIGTERM.
  const containers = await stopContainers(uid, graceSeconds, deps, pod);
  for (const c of containers) await deps.rt.removeContainer(c.id).catch(() => {});
  for (const s of await deps.rt.listPodSandbox({ labelSelector: { [LABELS.podUid]: uid } })) {
    await deps.rt.stopPodSandbox(s.id).catch(() => {});
    await deps.rt.removePodSandbox(s.id).catch(() => {});
  }
  fs.rmSync(path.join(deps.rootDir, 'pods', uid), { recursive: true, force: true });
}
