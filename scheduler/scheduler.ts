// kube-scheduler in small: informers on nodes and pods; one pod at a time from the queue →
// filter every node → score the feasible ones → bind to the best through pods/<name>/binding.
// A pod that fits nowhere gets PodScheduled=False (reason Unschedulable) and a FailedScheduling
// event, and waits until the cluster changes. A pod with schedulingGates is not queued at all
// (kube-scheduler's SchedulingGates PreEnqueue) until its last gate is removed.
// Namespaces are watched for their labels (pod affinity's namespaceSelector); claims, volumes and storage
// classes for the VolumeBinding plugin (volume-binding.ts).
import { now, type KubeObject } from '../api/types.ts';
import type { ApiClient } from '../client/api-client.ts';
import { Informer, keyOf } from '../client/informer.ts';
import { silentLogger, type Logger } from '../lib/logger.ts';
import { recordEvent } from '../client/events.ts';
import { newCycle, type Cycle } from './cycle.ts';
import { NodeInfo } from './node-info.ts';
import { FILTERS, SCORES, unschedulableMessage } from './plugins.ts';
import { SchedulingQueue, type QueueOptions } from './queue.ts';
import { claimsToSelect, volumePreFilter, type StorageView } from './volume-binding.ts';
import { SELECTED_NODE_ANNOTATION, podClaimNames } from '../api/storage.ts';

/** How long PreBind waits for a pod's claims to be bound (kube-scheduler's bindTimeoutSeconds is 600). */
const BIND_TIMEOUT_MS = 120_000;

const PODS = { group: '', resource: 'pods' };
const NODES = { group: '', resource: 'nodes' };
const NAMESPACES = { group: '', resource: 'namespaces' };
const PVCS = { group: '', resource: 'persistentvolumeclaims' };
const PVS = { group: '', resource: 'persistentvolumes' };
const CLASSES = { group: 'storage.k8s.io', resource: 'storageclasses' };

export interface SchedulerOptions {
  client: ApiClient;
  schedulerName?: string;
  logger?: Logger;
  queue?: QueueOptions;
  /** Tie-breaking among equally good nodes; injectable for tests. */
  random?: () => number;
}

export interface SchedulerMetrics { attempts: { scheduled: number; unschedulable: number; error: number } }

export class Scheduler {
  readonly metrics: SchedulerMetrics = { attempts: { scheduled: 0, unschedulable: 0, error: 0 } };
  private readonly client: ApiClient;
  private readonly name: string;
  private readonly logger: Logger;
  private readonly queue: SchedulingQueue;
  private readonly nodes: Informer;
  private readonly pods: Informer;
  private readonly namespaces: Informer;
  private readonly claims: Informer;
  private readonly volumes: Informer;
  private readonly classes: Informer;
  private readonly storage: StorageView;
  /** Pods we bound whose binding the informer has not shown yet: they count on their node. */
  private readonly assumed = new Map<string, KubeObject>();
  private readonly random: () => number;

  constructor(opts: SchedulerOptions) {
    if (!opts?.client) throw new Error('Scheduler: client is required');
    this.client = opts.client;
    this.name = opts.schedulerName ?? 'default-scheduler';
    this.logger = opts.logger ?? silentLogger();
    this.random = opts.random ?? Math.random;
    this.queue = new SchedulingQueue(opts.queue);
    this.nodes = new Informer(this.client, NODES, { logger: this.logger });
    this.pods = new Informer(this.client, PODS, { logger: this.logger, indexers: { byNode: (p) => [p.spec?.nodeName ?? ''] } });
    this.namespaces = new Informer(this.client, NAMESPACES, { logger: this.logger });
    this.claims = new Informer(this.client, PVCS, { logger: this.logger });
    this.volumes = new Informer(this.client, PVS, { logger: this.logger });
    this.classes = new Informer(this.client, CLASSES, { logger: this.logger });
    this.storage = {
      claim: (ns, name) => this.claims.get(name, ns), volume: (name) => this.volumes.get(name),
      volumes: () => this.volumes.list(), storageClass: (name) => (name ? this.classes.get(name) : undefined),
    };
  }

  private wants(pod: KubeObject): boolean {
    return !pod.spec?.nodeName && !pod.metadata.deletionTimestamp && (pod.spec?.schedulerName ?? 'default-scheduler') === this.name &&
      !['Succeeded', 'Failed'].includes(pod.status?.phase) && !(Array.isArray(pod.spec?.schedulingGates) && pod.spec.schedulingGates.length);
  }

  /** Run until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    this.nodes.addHandlers({
      onAdd: () => this.queue.moveAllToActive(),
      onUpdate: (o, n) => { if (JSON.stringify([o.spec, o.metadata.labels, o.status?.allocatable, o.status?.conditions?.map((c: any) => c.status)]) !== JSON.stringify([n.spec, n.metadata.labels, n.status?.allocatable, n.status?.conditions?.map((c: any) => c.status)])) this.queue.moveAllToActive(); },
    });
    // A pod placed or relabelled may let others in (pod affinity) or keep them out (spread, anti-affinity).
    const placed = (o: KubeObject | undefined, p: KubeObject) => p.spec?.nodeName && (!o?.spec?.nodeName || JSON.stringify(o.metadata.labels) !== JSON.stringify(p.metadata.labels));
    this.pods.addHandlers({
      onAdd: (p) => {
        if (this.wants(p)) this.queue.add(keyOf(p), p); else this.assumed.delete(keyOf(p));
        if (placed(undefined, p)) this.queue.moveAllToActive();
      },
      onUpdate: (o, p) => {
        if (this.wants(p)) this.queue.add(keyOf(p), p);
        else { this.queue.remove(keyOf(p)); this.assumed.delete(keyOf(p)); }
        if (placed(o, p)) this.queue.moveAllToActive();
      },
      onDelete: (p) => { this.queue.remove(keyOf(p)); this.assumed.delete(keyOf(p)); if (p.spec?.nodeName) this.queue.moveAllToActive(); },
    });
    signal.addEventListener('abort', () => this.queue.close(), { once: true });
    this.namespaces.addHandlers({ onUpdate: (o, n) => { if (JSON.stringify(o.metadata.labels) !== JSON.stringify(n.metadata.labels)) this.queue.moveAllToActive(); } });
    // A claim bound or made, a volume made or freed, a class added: pods waiting on storage may fit now.
    for (const inf of [this.claims, this.volumes, this.classes]) inf.addHandlers({ onAdd: () => this.queue.moveAllToActive(), onUpdate: () => this.queue.moveAllToActive(), onDelete: () => this.queue.moveAllToActive() });
    const all = [this.nodes, this.pods, this.namespaces, this.claims, this.volumes, this.classes];
    const informers = all.map((i) => i.run(signal));
    await Promise.all(all.map((i) => i.waitForSync(signal))).catch(() => {});
    this.logger.info({ scheduler: this.name }, 'scheduler started');
    while (!signal.aborted) {
      const next = await this.queue.pop();
      if (!next) break;
      try {
        await this.scheduleOne(next.key);
      } catch (err) {
        this.metrics.attempts.error++;
        this.logger.error({ err: String(err), pod: next.key }, 'scheduling attempt failed');
        this.queue.requeueBackoff(next.key, next.pod);
      }
    }
    await Promise.all(informers);
  }

  /** NodeInfos from the informers plus assumed pods. */
  private snapshot(): NodeInfo[] {
    const infos = this.nodes.list().map((n) => new NodeInfo(n));
    const byName = new Map(infos.map((i) => [i.name, i]));
    for (const p of this.pods.list()) if (p.spec?.nodeName && !['Succeeded', 'Failed'].includes(p.status?.phase)) byName.get(p.spec.nodeName)?.addPod(p);
    for (const p of this.assumed.values()) byName.get(p.spec?.nodeName)?.addPod(p);
    return infos;
  }

  /** Pick a node: undefined + the reasons per node when none fits. */
  selectNode(pod: KubeObject, infos: NodeInfo[], cycle: Cycle = newCycle(infos, (ns) => this.namespaces.get(ns)?.metadata.labels, this.storage)): { node?: string; reasons: Map<string, string>; preFilter?: string } {
    const reasons = new Map<string, string>();
    const preFilter = volumePreFilter(pod, cycle.storage);
    if (preFilter) return { reasons, preFilter };
    const feasible: NodeInfo[] = [];
    for (const info of infos) {
      let reason: string | undefined;
      for (const f of FILTERS) { reason = f.filter(pod, info, cycle); if (reason) break; }
      if (reason) reasons.set(info.name, reason); else feasible.push(info);
    }
    if (!feasible.length) return { reasons };
    cycle.feasible = feasible;
    let best: NodeInfo[] = [];
    let bestScore = -Infinity;
    for (const info of feasible) {
      const s = SCORES.reduce((sum, p) => sum + p.weight * p.score(pod, info, infos, cycle), 0);
      if (s > bestScore + 1e-9) { bestScore = s; best = [info]; } else if (Math.abs(s - bestScore) <= 1e-9) best.push(info);
    }
    return { node: best[Math.floor(this.random() * best.length)].name, reasons };
  }

  private async scheduleOne(key: string): Promise<void> {
    const [ns, name] = key.split('/');
    const pod = this.pods.get(name, ns);
    if (!pod || !this.wants(pod) || this.assumed.has(key)) return;
    const infos = this.snapshot();
    const { node, reasons, preFilter } = this.selectNode(pod, infos);
    const source = { component: this.name };
    if (!node) {
      // A PreFilter rejection names no node: `0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims.`
      const message = preFilter ? `0/${infos.length} nodes are available: ${preFilter}.` : unschedulableMessage(infos.length, reasons);
      this.metrics.attempts.unschedulable++;
      this.logger.info({ pod: key, message }, 'pod unschedulable');
      this.queue.requeueUnschedulable(key, pod);
      recordEvent(this.client, this.logger, source, pod, 'Warning', 'FailedScheduling', message);
      await this.setUnschedulable(pod, message);
      return;
    }
    // Assume the pod is on the node and bind in the background, as kube-scheduler's binding cycle
    // does: the next pod is scheduled against the assumed state meanwhile.
    this.assumed.set(key, { ...pod, spec: { ...pod.spec, nodeName: node } });
    void this.bind(key, pod, node).catch((err) => {
      this.assumed.delete(key);
      this.metrics.attempts.error++;
      this.logger.warn({ pod: key, node, err: String(err) }, 'binding failed; retrying after back-off');
      this.queue.requeueBackoff(key, pod);
    });
  }

  private async bind(key: string, pod: KubeObject, node: string): Promise<void> {
    const [ns, name] = key.split('/');
    // VolumeBinding's PreBind: the chosen node goes onto each WaitForFirstConsumer claim for the provisioner.
    for (const c of claimsToSelect(pod, this.storage)) {
      if (c.metadata.annotations?.[SELECTED_NODE_ANNOTATION] === node) continue;
      await this.client.patch(PVCS, c.metadata.namespace, c.metadata.name!, { metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: node } } });
    }
    // …and, as PreBind does, the pod is bound only once its claims are: the kubelet then mounts at once.
    await this.waitForClaims(pod);
    try {
      await this.client.bind(ns, name, node, pod.metadata.uid);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'NotFound' || code === 'Conflict') { // gone, bound by someone else, or being deleted
        this.assumed.delete(key);
        this.queue.remove(key);
        return;
      }
      throw err;
    }
    this.queue.done(key);
    this.metrics.attempts.scheduled++;
    this.logger.info({ pod: key, node }, 'pod bound');
    recordEvent(this.client, this.logger, { component: this.name }, pod, 'Normal', 'Scheduled', `Successfully assigned ${key} to ${node}`);
  }

  /** Until every claim of the pod is bound (the informer shows it), or BIND_TIMEOUT_MS (then the pod is retried). */
  private async waitForClaims(pod: KubeObject): Promise<void> {
    const ns = pod.metadata.namespace ?? 'default';
    const names = podClaimNames(pod);
    const end = Date.now() + BIND_TIMEOUT_MS;
    for (;;) {
      const unbound = names.filter((n) => { const c = this.claims.get(n, ns); return !c?.spec?.volumeName || c.status?.phase !== 'Bound'; });
      if (!unbound.length) return;
      if (Date.now() > end) throw new Error(`binding volumes: timed out waiting for the condition (claims ${unbound.join(', ')} unbound)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async setUnschedulable(pod: KubeObject, message: string): Promise<void> {
    const conds = (pod.status?.conditions ?? []) as Array<Record<string, unknown>>;
    const old = conds.find((c) => c.type === 'PodScheduled');
    if (old?.status === 'False' && old.reason === 'Unschedulable' && old.message === message) return;
    const condition = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: old?.status === 'False' ? old.lastTransitionTime : now() };
    const conditions = [...conds.filter((c) => c.type !== 'PodScheduled'), condition];
    await this.client.patch(PODS, pod.metadata.namespace, pod.metadata.name!, { status: { conditions } }, { type: 'merge', subresource: 'status' })
      .catch((err) => this.logger.debug({ err: String(err) }, 'could not set PodScheduled=False'));
  }
}
