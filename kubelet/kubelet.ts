// The kubelet: registers its Node and heartbeats; watches the pods bound to it; one worker per
// pod runs syncPod (serialized per pod, every second and on every change) and writes the status
// through the status subresource when it changed; a pod being deleted is stopped within its
// grace period and then removed from the API; containers of pods that are gone are removed.
import path from 'node:path';
import type { ClusterDNS } from './dns-config.ts';
import type { KubeObject } from '../api/types.ts';
import type { ApiClient } from '../client/api-client.ts';
import { Informer, keyOf } from '../client/informer.ts';
import { silentLogger, type Logger } from '../lib/logger.ts';
import { recordEvent } from '../client/events.ts';
import { LABELS, type ImageService, type RuntimeService } from './cri/types.ts';
import { nodeObject, registerNode, renewLease, updateNodeStatus, type NodeConfig } from './node-status.ts';
import { killPod, newMemory, pendingStatus, syncPod, type PodMemory, type SyncDeps } from './sync-pod.ts';

const PODS = { group: '', resource: 'pods' };

export interface KubeletOptions extends NodeConfig {
  client: ApiClient;
  runtime: RuntimeService;
  images: ImageService;
  rootDir: string;
  logger?: Logger;
  syncIntervalMs?: number;
  statusIntervalMs?: number;
  leaseDurationSeconds?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  allowRemotePull?: boolean;
  clusterDNS?: ClusterDNS;
  /** A hollow node (fake runtime): probes are simulated, never dialled. */
  simulateNetwork?: boolean;
}

export class Kubelet {
  private readonly o: KubeletOptions;
  private readonly logger: Logger;
  private readonly pods: Informer;
  private readonly memory = new Map<string, PodMemory>();
  private readonly busy = new Set<string>();
  private readonly again = new Set<string>();
  private readonly lastStatus = new Map<string, string>();
  private readonly deps: SyncDeps;

  constructor(opts: KubeletOptions) {
    if (!opts?.client || !opts.runtime || !opts.images || !opts.nodeName || !opts.rootDir) throw new Error('Kubelet: client, runtime, images, nodeName and rootDir are required');
    this.o = opts;
    this.logger = opts.logger ?? silentLogger();
    this.pods = new Informer(opts.client, PODS, { fieldSelector: `spec.nodeName=${opts.nodeName}`, logger: this.logger });
    this.deps = {
      rt: opts.runtime, images: opts.images, client: opts.client, nodeName: opts.nodeName, nodeIP: opts.nodeIP, clusterDNS: opts.clusterDNS, rootDir: opts.rootDir, simulateNetwork: opts.simulateNetwork, allocatable: { cpu: opts.cpu, memory: opts.memory },
      logger: this.logger, allowRemotePull: opts.allowRemotePull, backoffInitialMs: opts.backoffInitialMs ?? 10_000, backoffMaxMs: opts.backoffMaxMs ?? 300_000,
      event: (pod, type, reason, message) => recordEvent(opts.client, this.logger, { component: 'kubelet', host: opts.nodeName }, { ...pod, kind: 'Pod', apiVersion: 'v1' }, type, reason, message),
    };
  }

  /** The pods bound to this node, as last seen. */
  podList(): KubeObject[] { return this.pods.list(); }

  private node(): KubeObject {
    return nodeObject({ ...this.o, localPathDir: this.o.localPathDir ?? path.join(this.o.rootDir, 'local-path') });
  }

  async run(signal: AbortSignal): Promise<void> {
    await registerNode(this.o.client, this.node());
    await renewLease(this.o.client, this.o.nodeName, this.o.leaseDurationSeconds ?? 40, this.logger);
    this.logger.info({ node: this.o.nodeName }, 'node registered');
    const timers = [
      setInterval(() => void renewLease(this.o.client, this.o.nodeName, this.o.leaseDurationSeconds ?? 40, this.logger), Math.min(10_000, (this.o.leaseDurationSeconds ?? 40) * 250)),
      setInterval(() => void updateNodeStatus(this.o.client, this.node()).catch((err) => this.logger.warn({ err: String(err) }, 'node status update failed')), this.o.statusIntervalMs ?? 10_000),
      setInterval(() => { for (const p of this.pods.list()) this.kick(p); void this.housekeeping(); }, this.o.syncIntervalMs ?? 1000),
    ];
    this.pods.addHandlers({ onAdd: (p) => this.kick(p), onUpdate: (_o, p) => this.kick(p), onDelete: (p) => this.kick(p, true) });
    const informer = this.pods.run(signal);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    timers.forEach(clearInterval);
    await informer;
  }

  /** Run the pod's worker now, or right after its current sync. */
  private kick(pod: KubeObject, gone = false): void {
    const key = keyOf(pod);
    if (this.busy.has(key)) { this.again.add(key); return; }
    this.busy.add(key);
    void (async () => {
      try {
        do {
          this.again.delete(key);
          const current = gone ? undefined : this.pods.get(pod.metadata.name!, pod.metadata.namespace);
          await this.syncOne(current ?? pod, !current);
        } while (this.again.has(key));
      } catch (err) {
        this.logger.warn({ pod: key, err: String((err as Error).message ?? err) }, 'pod sync failed');
      } finally {
        this.busy.delete(key);
      }
    })();
  }

  private async syncOne(pod: KubeObject, gone: boolean): Promise<void> {
    const uid = pod.metadata.uid!;
    const key = keyOf(pod);
    if (gone) {
      // Deleted from the API (or moved away): make sure nothing of it keeps running.
      await killPod(uid, 0, this.deps);
      this.memory.delete(uid);
      this.lastStatus.delete(uid);
      return;
    }
    if (pod.metadata.deletionTimestamp) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      this.deps.event(pod, 'Normal', 'Killing', `Stopping container${(pod.spec?.containers ?? []).length > 1 ? 's' : ''} ${(pod.spec?.containers ?? []).map((c: { name: string }) => c.name).join(', ')}`);
      await killPod(uid, grace, this.deps, pod);
      await this.o.client.delete(PODS, pod.metadata.namespace, pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid } })
        .catch((err) => { if ((err as { code?: string }).code !== 'NotFound') throw err; });
      this.logger.info({ pod: key }, 'pod deleted');
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return; // finished: nothing restarts it
    let mem = this.memory.get(uid);
    if (!mem) this.memory.set(uid, mem = newMemory());
    let status: Record<string, any>;
    try {
      status = await syncPod(pod, mem, this.deps);
    } catch (err) {
      // A pod never reported yet still gets a status (Pending, ContainerCreating) while the kubelet retries.
      if (!pod.status?.containerStatuses) {
        await this.o.client.patch(PODS, pod.metadata.namespace, pod.metadata.name!, { status: pendingStatus(pod, mem, this.o.nodeIP) }, { type: 'merge', subresource: 'status' })
          .catch(() => {});
      }
      throw err;
    }
    const text = JSON.stringify({ ...status, conditions: status.conditions.map((c: Record<string, unknown>) => ({ ...c, lastTransitionTime: undefined })) });
    if (this.lastStatus.get(uid) === text) return;
    // A pod with readiness gates has conditions that controllers set: the write is conditional on the version read,
    // so one set meanwhile is never overwritten (a conflict is retried by the next sync).
    const precondition = pod.spec?.readinessGates?.length ? { metadata: { resourceVersion: pod.metadata.resourceVersion } } : {};
    await this.o.client.patch(PODS, pod.metadata.namespace, pod.metadata.name!, { ...precondition, status }, { type: 'merge', subresource: 'status' });
    this.lastStatus.set(uid, text);
    this.logger.info({ pod: key, phase: status.phase, podIP: status.podIP, ready: status.conditions.find((c: { type: string }) => c.type === 'Ready')?.status }, 'pod status updated');
  }

  /** The node shutting down with its container (docker compose): stop and remove every pod's containers,
   *  TERM first, KILL after at most `graceSeconds`. The pods stay bound here; started again, the kubelet
   *  makes them new sandboxes — as a rebooted node does. Returns how many pods were stopped. */
  async removeAllPods(graceSeconds: number): Promise<number> {
    // Syncs under way finish first (one may be starting a container), for at most 10 s.
    for (const end = Date.now() + 10_000; this.busy.size && Date.now() < end;) await new Promise((r) => setTimeout(r, 50));
    const uids = new Set((await this.o.runtime.listPodSandbox({})).map((s) => s.labels[LABELS.podUid]).filter(Boolean));
    await Promise.all([...uids].map((uid) => killPod(uid, graceSeconds, this.deps)));
    return uids.size;
  }

  /** Remove containers of pods this node no longer has. */
  private async housekeeping(): Promise<void> {
    if (!this.pods.hasSynced()) return;
    const known = new Set(this.pods.list().map((p) => p.metadata.uid));
    try {
      for (const s of await this.o.runtime.listPodSandbox({})) {
        const uid = s.labels[LABELS.podUid];
        if (uid && !known.has(uid) && ![...this.busy].length) {
          this.logger.info({ uid }, 'removing an orphaned pod sandbox');
          await killPod(uid, 0, this.deps);
        }
      }
    } catch (err) {
      this.logger.debug({ err: String(err) }, 'housekeeping failed');
    }
  }
}
